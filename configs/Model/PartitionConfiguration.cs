namespace Partition.Configs
{
    /// <summary>
    /// A whole configuration (format version 1): the machine it expects, the hypervisor's own
    /// resources, the partitions, the memory they share and the schedule of each shared core.
    /// Every object keeps <c>Node</c>, its JSON node, so that later checks can name its place.
    /// </summary>
    public sealed class PartitionConfiguration
    {
        public const int FormatVersion = 1;

        /// <summary>The Multiboot2 module command line that marks the configuration on a boot image.</summary>
        public const string ModuleCommandLine = "partition-config";

        public int Version;
        public MachineConfig Machine = new MachineConfig();
        public HypervisorConfig Hypervisor = new HypervisorConfig();
        public PartitionConfig[] Partitions = new PartitionConfig[0];
        public SharedMemoryConfig[] SharedMemory = new SharedMemoryConfig[0];
        public ScheduleConfig[] Schedules = new ScheduleConfig[0];

        /// <summary>The partition called <paramref name="name"/>, or -1.</summary>
        public int IndexOfPartition(string name)
        {
            for (int i = 0; i < Partitions.Length; i++)
                if (Partitions[i].Name == name)
                    return i;
            return -1;
        }
    }

    /// <summary>The machine a configuration is written for.</summary>
    public sealed class MachineConfig
    {
        public int Node = -1;

        /// <summary>Logical CPUs (cores) the machine has; vCPUs name cores 0 .. Cores-1.</summary>
        public int Cores;

        /// <summary>Bytes of RAM the machine has.</summary>
        public ulong Memory;
    }

    /// <summary>What the hypervisor keeps for itself.</summary>
    public sealed class HypervisorConfig
    {
        public int Node = -1;

        /// <summary>The I/O port of the hypervisor's console UART (default COM1, 0x3F8).</summary>
        public int ConsolePort = 0x3F8;

        /// <summary>Bytes of RAM kept for the hypervisor itself (default 16 MiB).</summary>
        public ulong Memory = 16UL << 20;
    }
}
