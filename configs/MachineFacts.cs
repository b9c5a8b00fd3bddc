using Partition.Kernel;

namespace Partition.Configs
{
    /// <summary>
    /// What the validator checks a configuration against: the CPUs, the RAM and the boot modules.
    /// At boot these are the real machine's (Multiboot2 memory map and modules); in
    /// <c>partition check</c> they come from the config's own "machine" section.
    /// </summary>
    public readonly struct MachineFacts
    {
        public MachineFacts(int cpuCount, MemoryRegion[] memoryMap, BootModule[] modules)
        {
            CpuCount = cpuCount;
            MemoryMap = memoryMap ?? new MemoryRegion[0];
            Modules = modules;
            IsDeclared = false;
        }

        private MachineFacts(int cpuCount, MemoryRegion[] memoryMap, BootModule[] modules, bool declared)
        {
            CpuCount = cpuCount;
            MemoryMap = memoryMap;
            Modules = modules;
            IsDeclared = declared;
        }

        public int CpuCount { get; }

        public MemoryRegion[] MemoryMap { get; }

        /// <summary>The boot modules, or null when images are not checked (partition check without --images).</summary>
        public BootModule[] Modules { get; }

        /// <summary>True when the facts are the config's own "machine" section rather than a real machine's.</summary>
        public bool IsDeclared { get; }

        /// <summary>
        /// The machine a config declares: its cores, and its memory as one available range from 0.
        /// <paramref name="modules"/> (optional) are the guest images as the host tool found them.
        /// </summary>
        public static MachineFacts Declared(MachineConfig machine, BootModule[] modules = null) =>
            new MachineFacts(machine.Cores, new[] { new MemoryRegion(0, machine.Memory, MemoryRegionType.Available) }, modules, true);

        public ulong AvailableMemory
        {
            get
            {
                ulong total = 0;
                for (int i = 0; i < MemoryMap.Length; i++)
                    if (MemoryMap[i].Type == MemoryRegionType.Available)
                        total += MemoryMap[i].Length;
                return total;
            }
        }
    }
}
