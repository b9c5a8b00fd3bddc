namespace Partition.Configs
{
    public enum SharedAccess
    {
        Read,
        ReadWrite,
    }

    /// <summary>A region of RAM mapped into two or more partitions.</summary>
    public sealed class SharedMemoryConfig
    {
        public int Node = -1;
        public string Name = "";
        public ulong Size;
        public SharedMemorySide[] Sides = new SharedMemorySide[0];
    }

    /// <summary>One partition's view of a shared region: where it appears and what it may do.</summary>
    public sealed class SharedMemorySide
    {
        public int Node = -1;
        public string Partition = "";
        public SharedAccess Access = SharedAccess.Read;
        public bool HasGuestPhysical;
        public ulong GuestPhysical;
    }

    public enum SchedulePolicy
    {
        /// <summary>One vCPU owns the core.</summary>
        Dedicated,
        /// <summary>Each vCPU runs for its slice in turn.</summary>
        RoundRobin,
        /// <summary>Each vCPU gets a share of the period in proportion to its weight.</summary>
        Weighted,
    }

    /// <summary>How one physical core is shared.</summary>
    public sealed class ScheduleConfig
    {
        public int Node = -1;
        public int Core;
        public SchedulePolicy Policy = SchedulePolicy.RoundRobin;

        /// <summary>The period in microseconds within which every vCPU on the core gets its slice.</summary>
        public ulong PeriodMicroseconds = DefaultPeriodMicroseconds;

        /// <summary>A core with shared vCPUs and no schedule: round-robin (each vCPU its slice_us, default 1000) ...</summary>
        public const SchedulePolicy DefaultPolicy = SchedulePolicy.RoundRobin;

        /// <summary>... in a period of 10 ms.</summary>
        public const ulong DefaultPeriodMicroseconds = 10000;
    }
}
