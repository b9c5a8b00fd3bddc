using System.Threading;

namespace Internal.Runtime
{
    /// <summary>The host tests' atomics for the core library files they compile (BootHeap).</summary>
    internal static unsafe class Atomic
    {
        internal static long Add(long* location, long value) => Interlocked.Add(ref *location, value) - value;

        internal static long CompareExchange(long* location, long value, long comparand) => Interlocked.CompareExchange(ref *location, value, comparand);

        internal static int CurrentCpuId() => Thread.CurrentThread.ManagedThreadId;
    }
}
