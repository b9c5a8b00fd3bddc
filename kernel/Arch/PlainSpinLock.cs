using System.Runtime.CompilerServices;

namespace Partition.Kernel
{
    /// <summary>
    /// A spinlock for short critical sections that take no lock of their own kind inside (a
    /// partition's device lock, around one device access). Unlike <see cref="SpinLock"/> it
    /// does not know its owner, so an uncontended Enter is one LOCK CMPXCHG and Exit one store
    /// (no CPUID to learn who is asking); the price is that a CPU entering it twice would wait
    /// for itself, so after about a second of spinning it stops the hypervisor and says so,
    /// rather than hang without a word.
    /// </summary>
    public sealed unsafe class PlainSpinLock
    {
        private long _held;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Enter()
        {
            long* held = (long*)Unsafe.AsPointer(ref _held);
            if (Cpu.CompareExchange(held, 1, 0) != 0)
                Wait(held);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Exit() => Cpu.StoreRelease((long*)Unsafe.AsPointer(ref _held), 0);

        /// <summary>Spins on plain reads (no locked instruction while it is held) until it is free and taken.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Wait(long* held)
        {
            ulong spins = 0;
            do
            {
                while (*held != 0) // Pause is a call: the read is made again each time
                {
                    Cpu.Pause();
                    if (++spins == SpinLimit)
                        Panic.Stop("Lock", "a device lock was held for 2^28 spins: taken twice on one CPU, or its holder stopped");
                }
            }
            while (Cpu.CompareExchange(held, 1, 0) != 0);
        }

        // At tens of nanoseconds a PAUSE, several seconds; device accesses hold it for microseconds.
        private const ulong SpinLimit = 1UL << 28;
    }
}
