using System;
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
        /// <summary>
        /// A real machine. <paramref name="modulesInMemory"/>: each module's bytes can be read at
        /// its Start address (true at boot, where GRUB loaded them; false for modules described by
        /// address and size alone).
        /// </summary>
        public MachineFacts(int cpuCount, MemoryRegion[] memoryMap, BootModule[] modules, bool modulesInMemory = false)
        {
            CpuCount = cpuCount;
            MemoryMap = memoryMap ?? new MemoryRegion[0];
            Modules = modules;
            IsDeclared = false;
            ModulesInMemory = modulesInMemory;
        }

        private MachineFacts(int cpuCount, MemoryRegion[] memoryMap, BootModule[] modules, bool declared, bool modulesInMemory)
        {
            CpuCount = cpuCount;
            MemoryMap = memoryMap;
            Modules = modules;
            IsDeclared = declared;
            ModulesInMemory = modulesInMemory;
        }

        public int CpuCount { get; }

        public MemoryRegion[] MemoryMap { get; }

        /// <summary>The boot modules, or null when images are not checked (partition check without --images).</summary>
        public BootModule[] Modules { get; }

        /// <summary>True when the facts are the config's own "machine" section rather than a real machine's.</summary>
        public bool IsDeclared { get; }

        /// <summary>
        /// True when the validator may read a module's contents at its Start address, to check
        /// what a guest image is (a Linux kernel's setup header). A module whose Start is 0 was
        /// only sized (the host tool reads only the images whose contents are checked) and is
        /// never read; at boot no module lies at 0, where the BIOS data area is.
        /// </summary>
        public bool ModulesInMemory { get; }

        /// <summary>
        /// The machine a config declares: its cores, and its memory as one available range from 0.
        /// <paramref name="modules"/> (optional) are the guest images as the host tool found them;
        /// <paramref name="modulesInMemory"/> as for a real machine (see <see cref="ModulesInMemory"/>).
        /// </summary>
        public static MachineFacts Declared(MachineConfig machine, BootModule[] modules = null, bool modulesInMemory = false) =>
            new MachineFacts(machine.Cores, new[] { new MemoryRegion(0, machine.Memory, MemoryRegionType.Available) }, modules, true, modulesInMemory);

        /// <summary>The bytes of <paramref name="module"/>, or empty if they cannot be read (see <see cref="ModulesInMemory"/>).</summary>
        public unsafe ReadOnlySpan<byte> Contents(BootModule module)
        {
            if (!ModulesInMemory || module.Start == 0 || module.End <= module.Start)
                return ReadOnlySpan<byte>.Empty;
            return new ReadOnlySpan<byte>((void*)module.Start, (int)Math.Min(module.Size, int.MaxValue));
        }

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
