namespace Partition.Kernel
{
    public sealed unsafe partial class ConsoleRing
    {
        private static ConsoleRing s_shared;

        public static partial ConsoleRing Shared => s_shared ??= new ConsoleRing(HypervisorConsole.RingCapacity);

        public static partial bool SharedMayHavePending
        {
            // Asked by the run loop after each exit it sees (HypervisorConsole.HasPending): inlined there.
            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
            get => s_shared != null && s_shared.MayHavePending;
        }
    }
}
