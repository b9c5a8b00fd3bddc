namespace Partition.Kernel
{
    public sealed unsafe partial class ConsoleRing
    {
        private static ConsoleRing s_shared;

        public static partial ConsoleRing Shared => s_shared ??= new ConsoleRing(HypervisorConsole.RingCapacity);

        public static partial bool SharedMayHavePending => s_shared != null && s_shared.MayHavePending;
    }
}
