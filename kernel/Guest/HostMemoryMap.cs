using System;
using Partition.Memory;

namespace Partition.Kernel
{
    /// <summary>
    /// The memory a Linux host partition sees, which is the machine's own (identity mapped):
    /// its RAM, and the e820 map that tells it what is what. Built from the firmware's memory
    /// map (Multiboot2), so that the host finds its ACPI tables, NVS and device ranges where the
    /// firmware put them; every byte of usable RAM that is not the host's (the hypervisor, its
    /// boot modules, other partitions, shared memory) is marked reserved, so the host neither
    /// uses it nor places a device's BAR over it.
    /// </summary>
    public static class HostMemoryMap
    {
        /// <summary>Conventional memory ends here; above lie the VGA window and the ROMs.</summary>
        public const ulong LowMemoryEnd = 0xA0000;

        private const ulong Page = PhysicalMemory.PageSize;

        /// <summary>
        /// Page 0 holds the real-mode interrupt table and the BIOS data area, which Linux reads
        /// (the EBDA's segment at 0x40E, the base memory size at 0x413) and writes (the warm-reset
        /// vector at 0x467, before it starts each application processor). It is not RAM the
        /// hypervisor hands out or zeroes (nothing maps it for the hypervisor, which keeps address
        /// 0 unmapped to catch null pointers): the host gets it passed through, as firmware data,
        /// and its e820 map says reserved, as Linux treats page 0 anyway.
        /// </summary>
        public const ulong FirmwarePageEnd = 0x1000;

        /// <summary>
        /// The host's RAM below 1 MiB: the firmware's usable RAM under <see cref="LowMemoryEnd"/>,
        /// whole pages only, from page 1 on (<see cref="FirmwarePageEnd"/>), less <paramref name="kept"/> (the boot information, which the loader
        /// may put there). Linux needs some of it for its real-mode trampoline (the trampoline
        /// that starts its application processors must lie below 1 MiB), and the boot protocol's
        /// structures go there (<see cref="LinuxBoot"/>). Returns the number of ranges written
        /// (sorted), or -1 if <paramref name="output"/> is too small.
        /// </summary>
        public static int LowRam(ReadOnlySpan<MemoryRegion> map, PhysicalRange kept, Span<PhysicalRange> output)
        {
            int count = 0;
            foreach (var region in map)
            {
                if (region.Type != MemoryRegionType.Available)
                    continue;
                ulong start = Math.Max(PhysicalMemory.AlignUp(region.Start), FirmwarePageEnd);
                ulong end = PhysicalMemory.AlignDown(Math.Min(region.End, LowMemoryEnd));
                if (start >= end)
                    continue;
                if (count == output.Length)
                    return -1;
                output[count++] = new PhysicalRange(start, end);
            }
            Sort(output.Slice(0, count));
            if (kept.Length > 0)
                count = PhysicalRanges.Cut(output, count, PhysicalMemory.AlignDown(kept.Start), PhysicalMemory.AlignUp(kept.End));
            return count;
        }

        /// <summary>
        /// The host's e820 map: the firmware's map with its usable RAM split into the host's
        /// (<paramref name="hostRam"/>: RAM) and everything else (reserved), and
        /// <paramref name="acpiTables"/> (inside the host's RAM: the tables the hypervisor wrote
        /// for it) marked ACPI. The other types pass as they are (reserved, ACPI, NVS, unusable).
        /// Sorted, adjacent entries of one type merged. Returns the number of entries, or -1 if
        /// they do not fit in <paramref name="output"/> (boot_params holds 128).
        /// </summary>
        public static int Build(ReadOnlySpan<MemoryRegion> map, ReadOnlySpan<PhysicalRange> hostRam, PhysicalRange acpiTables, Span<E820Entry> output)
        {
            int count = 0;
            foreach (var region in map)
            {
                if (region.Length == 0)
                    continue;
                if (region.Type != MemoryRegionType.Available)
                {
                    if (!Add(output, ref count, region.Start, region.End, TypeOf(region.Type)))
                        return -1;
                    continue;
                }
                // Walk the region: the host's RAM inside it (and the ACPI tables inside that), reserved between.
                ulong at = region.Start;
                while (at < region.End)
                {
                    ulong next = region.End;
                    E820Type type = E820Type.Reserved;
                    foreach (var ram in hostRam)
                    {
                        if (ram.Start <= at && at < ram.End)
                        {
                            type = E820Type.Ram;
                            next = Math.Min(next, ram.End);
                        }
                        else if (ram.Start > at && ram.Start < next)
                        {
                            next = ram.Start;
                        }
                    }
                    if (type == E820Type.Ram && acpiTables.Length > 0)
                    {
                        if (acpiTables.Start <= at && at < acpiTables.End)
                        {
                            type = E820Type.Acpi;
                            next = Math.Min(next, acpiTables.End);
                        }
                        else if (acpiTables.Start > at && acpiTables.Start < next)
                        {
                            next = acpiTables.Start;
                        }
                    }
                    if (!Add(output, ref count, at, next, type))
                        return -1;
                    at = next;
                }
            }
            return SortAndMerge(output, count);
        }

        private static E820Type TypeOf(MemoryRegionType type) => type switch
        {
            MemoryRegionType.AcpiReclaimable => E820Type.Acpi,
            MemoryRegionType.AcpiNvs => E820Type.Nvs,
            MemoryRegionType.Defective => E820Type.Unusable,
            _ => E820Type.Reserved,
        };

        private static bool Add(Span<E820Entry> output, ref int count, ulong start, ulong end, E820Type type)
        {
            if (end <= start)
                return true;
            // Full before merging is not full: the firmware may split one range into many.
            if (count == output.Length)
                count = SortAndMerge(output, count);
            if (count == output.Length)
                return false;
            output[count++] = new E820Entry(start, end - start, type);
            return true;
        }

        private static int SortAndMerge(Span<E820Entry> entries, int count)
        {
            for (int i = 1; i < count; i++)
            {
                var entry = entries[i];
                int j = i - 1;
                while (j >= 0 && entries[j].Start > entry.Start)
                {
                    entries[j + 1] = entries[j];
                    j--;
                }
                entries[j + 1] = entry;
            }
            int merged = 0;
            for (int i = 0; i < count; i++)
            {
                if (merged > 0 && entries[merged - 1].Type == entries[i].Type && entries[merged - 1].End == entries[i].Start)
                    entries[merged - 1] = new E820Entry(entries[merged - 1].Start, entries[i].End - entries[merged - 1].Start, entries[i].Type);
                else
                    entries[merged++] = entries[i];
            }
            return merged;
        }

        private static void Sort(Span<PhysicalRange> ranges)
        {
            for (int i = 1; i < ranges.Length; i++)
            {
                var range = ranges[i];
                int j = i - 1;
                while (j >= 0 && ranges[j].Start > range.Start)
                {
                    ranges[j + 1] = ranges[j];
                    j--;
                }
                ranges[j + 1] = range;
            }
        }
    }
}
