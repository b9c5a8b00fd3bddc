namespace Partition.Configs
{
    public enum PartitionRole
    {
        /// <summary>The one privileged partition: it owns whatever no other partition is given.</summary>
        Host,
        Guest,
    }

    /// <summary>One partition: a virtual machine with its vCPUs, memory, boot image and devices.</summary>
    public sealed class PartitionConfig
    {
        public int Node = -1;
        public string Name = "";
        public PartitionRole Role = PartitionRole.Guest;
        public VcpuConfig[] Vcpus = new VcpuConfig[0];
        public MemoryRegionConfig[] Memory = new MemoryRegionConfig[0];
        public BootConfig Boot;
        public DeviceConfig Devices = new DeviceConfig();

        /// <summary>The sum of the sizes of the partition's memory regions.</summary>
        public ulong TotalMemory
        {
            get
            {
                ulong total = 0;
                for (int i = 0; i < Memory.Length; i++)
                    total += Memory[i].Size;
                return total;
            }
        }
    }

    public enum VcpuPlacement
    {
        /// <summary>The vCPU has the core to itself.</summary>
        Dedicated,
        /// <summary>The vCPU shares the core with others, by that core's schedule.</summary>
        Shared,
    }

    /// <summary>A virtual CPU and the physical core it runs on.</summary>
    public sealed class VcpuConfig
    {
        public int Node = -1;
        public int Core;
        public VcpuPlacement Placement = VcpuPlacement.Dedicated;

        /// <summary>Time slice on a shared core, in microseconds.</summary>
        public ulong SliceMicroseconds;

        /// <summary>Share of a weighted core (1 or more).</summary>
        public ulong Weight = 1;
    }

    /// <summary>A range of guest RAM, optionally at fixed guest- and host-physical addresses.</summary>
    public sealed class MemoryRegionConfig
    {
        public int Node = -1;
        public ulong Size;
        public bool HasGuestPhysical;
        public ulong GuestPhysical;
        public bool HasHostPhysical;
        public ulong HostPhysical;
    }
}
