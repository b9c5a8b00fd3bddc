using System;
using Partition.Kernel;

namespace Partition.Memory
{
    /// <summary>
    /// The physical address space the host partition sees at the same guest-physical address:
    /// everything below 4 GiB that is not RAM (device registers, ROM, ACPI tables), above its own
    /// RAM, less the local APIC and the I/O APIC (they decide which cores get interrupts and IPIs:
    /// other partitions' cores are not the host's) and less the MMIO the config gives to other
    /// partitions. RAM is never included: the hypervisor and every partition live there.
    /// </summary>
    /// <remarks>
    /// Nothing above 4 GiB is passed through yet (64-bit BARs). A host with RAM at guest-physical 0
    /// has nothing passed through below its RAM's end; an identity-mapped one (a Linux host) has
    /// the machine's own layout, its RAM blocks mapped apart (<see cref="Exclude"/> then cuts
    /// what its ACPI view says it must not reach: other I/O APICs, IOMMU registers, the ECAM
    /// windows).
    /// </remarks>
    public static class HostPassThrough
    {
        public const ulong LocalApic = 0xFEE0_0000, IoApic = 0xFEC0_0000;
        private const ulong FourGiB = 1UL << 32;
        private const ulong Page = PhysicalMemory.PageSize;

        /// <summary>
        /// Fills <paramref name="mappings"/> (identity, read-write, never executable; ACPI
        /// regions write-back, the rest uncacheable) and returns how many; 0 ranges if there is
        /// no room for them all (the caller passes room for <see cref="MaxMappings"/>).
        /// </summary>
        /// <param name="excluded">MMIO given to other partitions, and the guest-physical ranges where the host has shared memory.</param>
        /// <param name="from">Where pass-through begins: the end of RAM at guest-physical 0 (at least 1 MiB), or 0 for an identity-mapped host, whose RAM is its own blocks of the machine's.</param>
        public static int Build(MemoryRegion[] map, ulong from, ReadOnlySpan<PhysicalRange> excluded, Span<EptMapping> mappings)
        {
            // Start from one range [from, 4 GiB) and cut out what is not the host's.
            Span<PhysicalRange> ranges = stackalloc PhysicalRange[MaxMappings];
            int count = 0;
            ulong start = from == 0 ? 0 : Math.Max(PhysicalMemory.AlignUp(from), 0x10_0000);
            if (start < FourGiB)
                ranges[count++] = new PhysicalRange(start, FourGiB);
            foreach (var region in map)
                if (region.Type == MemoryRegionType.Available)
                    count = PhysicalRanges.Cut(ranges, count, PhysicalMemory.AlignDown(region.Start), PhysicalMemory.AlignUp(region.End));
            count = PhysicalRanges.Cut(ranges, count, LocalApic, LocalApic + Page);
            count = PhysicalRanges.Cut(ranges, count, IoApic, IoApic + Page);
            foreach (var r in excluded)
                count = PhysicalRanges.Cut(ranges, count, PhysicalMemory.AlignDown(r.Start), PhysicalMemory.AlignUp(r.End));
            if (count < 0)
                return 0;

            int n = 0;
            for (int i = 0; i < count; i++)
            {
                // Split at ACPI regions, which are memory (write-back), from device space (uncacheable).
                ulong at = ranges[i].Start;
                while (at < ranges[i].End)
                {
                    ulong end = ranges[i].End;
                    bool acpi = false;
                    foreach (var region in map)
                    {
                        bool isAcpi = region.Type == MemoryRegionType.AcpiReclaimable || region.Type == MemoryRegionType.AcpiNvs;
                        if (isAcpi && region.Start <= at && at < region.End)
                        {
                            acpi = true;
                            end = Math.Min(end, PhysicalMemory.AlignUp(region.End));
                        }
                        else if (isAcpi && region.Start > at && region.Start < end)
                        {
                            end = PhysicalMemory.AlignDown(region.Start);
                        }
                    }
                    if (n == mappings.Length)
                        return 0;
                    mappings[n++] = new EptMapping(at, at, end - at, EptAccess.ReadWrite, acpi ? EptMemoryType.WriteBack : EptMemoryType.Uncacheable);
                    at = end;
                }
            }
            return n;
        }

        public const int MaxMappings = 64;

        /// <summary>
        /// Cuts <paramref name="excluded"/> out of identity <paramref name="mappings"/> (each keeps
        /// its access and memory type). Returns the mappings that remain, or null if more than
        /// <see cref="MaxMappings"/> would.
        /// </summary>
        public static EptMapping[] Exclude(ReadOnlySpan<EptMapping> mappings, ReadOnlySpan<PhysicalRange> excluded)
        {
            Span<EptMapping> result = stackalloc EptMapping[MaxMappings];
            Span<PhysicalRange> pieces = stackalloc PhysicalRange[MaxMappings];
            int n = 0;
            foreach (var mapping in mappings)
            {
                int count = 1;
                pieces[0] = new PhysicalRange(mapping.GuestPhysical, mapping.GuestPhysical + mapping.Size);
                foreach (var r in excluded)
                    count = PhysicalRanges.Cut(pieces, count, PhysicalMemory.AlignDown(r.Start), PhysicalMemory.AlignUp(r.End));
                if (count < 0)
                    return null;
                for (int i = 0; i < count; i++)
                {
                    if (n == MaxMappings)
                        return null;
                    ulong offset = pieces[i].Start - mapping.GuestPhysical;
                    result[n++] = new EptMapping(pieces[i].Start, mapping.HostPhysical + offset, pieces[i].Length, mapping.Access, mapping.Type);
                }
            }
            return result.Slice(0, n).ToArray();
        }
    }
}
