using Partition.Memory;

namespace Partition.Kernel
{
    /// <summary>
    /// What the firmware and the boot loader told the hypervisor about the machine, kept for
    /// the host partition, which is given the machine's own description (filtered): the memory
    /// map, the boot information's place (the hypervisor keeps it, wherever the loader put it)
    /// and the ACPI RSDP as the Multiboot2 information carries it.
    /// </summary>
    public sealed class Firmware
    {
        public Firmware(MemoryRegion[] memoryMap, PhysicalRange bootInformation, byte[] rsdp)
        {
            MemoryMap = memoryMap ?? new MemoryRegion[0];
            BootInformation = bootInformation;
            Rsdp = rsdp ?? new byte[0];
        }

        /// <summary>The Multiboot2 memory map (BIOS e820 or UEFI, as the loader reports it).</summary>
        public MemoryRegion[] MemoryMap { get; }

        /// <summary>The Multiboot2 information: the hypervisor's, never a partition's RAM.</summary>
        public PhysicalRange BootInformation { get; }

        /// <summary>The RSDP (ACPI 1.0 or 2.0+) from the Multiboot2 information; empty if the loader gave none.</summary>
        public byte[] Rsdp { get; }
    }
}
