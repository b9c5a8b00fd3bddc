using System;

namespace Partition.Kernel
{
    /// <summary>The host tests' console ring: one per test thread, as each has its own fake CPU and UART.</summary>
    public sealed unsafe partial class ConsoleRing
    {
        [ThreadStatic] private static ConsoleRing t_shared;

        public static partial ConsoleRing Shared => t_shared ??= new ConsoleRing(HypervisorConsole.RingCapacity);

        public static partial bool SharedMayHavePending => t_shared != null && t_shared.MayHavePending;

        /// <summary>A fresh, empty ring for a fresh fake CPU (what an earlier test left unpumped is gone with its CPU).</summary>
        internal static void Discard() => t_shared = null;
    }
}
