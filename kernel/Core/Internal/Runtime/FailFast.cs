using System;
using System.Runtime;
using System.Runtime.CompilerServices;

namespace Internal.Runtime
{
    /// <summary>
    /// The one way out of the core library when something cannot go on: an unhandled throw, an
    /// exhausted heap, a broken runtime invariant. The kernel supplies the console routine
    /// (symbol partition_fail_fast) and it never returns.
    /// </summary>
    internal static unsafe class FailFast
    {
        [RuntimeImport("*", "partition_fail_fast")]
        [MethodImpl(MethodImplOptions.InternalCall)]
        private static extern void Report(char* kind, int kindLength, char* message, int messageLength);

        internal static void Stop(string kind, string message)
        {
            fixed (char* k = kind)
            fixed (char* m = message)
                Report(k, kind == null ? 0 : kind.Length, m, message == null ? 0 : message.Length);
            while (true) { }
        }
    }
}
