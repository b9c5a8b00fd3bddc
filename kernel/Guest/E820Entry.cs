namespace Partition.Kernel
{
    /// <summary>
    /// Address range types of the BIOS INT 15h, E820h memory map, as a guest reads them in
    /// boot_params.e820_table (ACPI 6.4, 15.1 "INT 15H, E820H - Query System Address Map";
    /// arch/x86/include/asm/e820/types.h).
    /// </summary>
    public enum E820Type : uint
    {
        /// <summary>AddressRangeMemory: RAM the OS may use.</summary>
        Ram = 1,
        /// <summary>AddressRangeReserved: not to be used by the OS.</summary>
        Reserved = 2,
        /// <summary>AddressRangeACPI: ACPI tables, reclaimable once the OS has read them.</summary>
        Acpi = 3,
        /// <summary>AddressRangeNVS: ACPI NVS memory, preserved across sleep.</summary>
        Nvs = 4,
        Unusable = 5,
    }

    /// <summary>One entry of a guest's e820 memory map (struct boot_e820_entry: addr, size, type).</summary>
    public readonly struct E820Entry
    {
        /// <summary>Bytes per entry in boot_params.e820_table (packed: u64, u64, u32).</summary>
        public const int Size = 20;

        public E820Entry(ulong start, ulong length, E820Type type)
        {
            Start = start;
            Length = length;
            Type = type;
        }

        public ulong Start { get; }
        public ulong Length { get; }
        public ulong End => Start + Length;
        public E820Type Type { get; }

        /// <summary>True if [start, end) lies wholly inside this entry.</summary>
        public bool Contains(ulong start, ulong end) => start >= Start && end <= End && start <= end;
    }
}
