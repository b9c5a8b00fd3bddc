using Partition.Kernel;

namespace Partition.Tests.Support
{
    /// <summary>The memory map GRUB reports for Bochs 2.7 with 128 MiB (as the system tests' boot logs print it).</summary>
    public static class BochsMemoryMap
    {
        public static readonly MemoryRegion[] Regions =
        {
            new(0x0, 0x9F000, MemoryRegionType.Available),
            new(0x9F000, 0x1000, MemoryRegionType.Reserved),
            new(0xE8000, 0x18000, MemoryRegionType.Reserved),
            new(0x100000, 0x7EF0000, MemoryRegionType.Available),
            new(0x7FF0000, 0x10000, MemoryRegionType.AcpiReclaimable),
            new(0xFFFC0000, 0x40000, MemoryRegionType.Reserved),
        };
    }
}
