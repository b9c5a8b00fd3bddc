using System;
using System.Collections.Generic;
using System.Linq;
using NUnit.Framework;
using Partition.Kernel;
using Partition.Memory;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The Linux host partition's memory: its RAM below 640 KiB (<see cref="HostMemoryMap.LowRam"/>)
    /// and its e820 map (<see cref="HostMemoryMap.Build"/>), which is the firmware's with every
    /// byte of usable RAM that is not the host's reserved.
    /// </summary>
    public class HostMemoryMapTests
    {
        private static readonly MemoryRegion[] BochsMap = BochsMemoryMap.Regions;

        private static PhysicalRange R(ulong start, ulong end) => new PhysicalRange(start, end);

        private static MemoryRegion M(ulong start, ulong end, MemoryRegionType type) => new MemoryRegion(start, end - start, type);

        private static (ulong, ulong)[] LowRam(MemoryRegion[] map, PhysicalRange kept, int room = 8)
        {
            var output = new PhysicalRange[room];
            int n = HostMemoryMap.LowRam(map, kept, output);
            Assert.That(n, Is.GreaterThanOrEqualTo(0), "room enough");
            return output.Take(n).Select(r => (r.Start, r.End)).ToArray();
        }

        private static E820Entry[] Build(MemoryRegion[] map, PhysicalRange[] hostRam, PhysicalRange acpi, int room = LinuxBoot.MaxE820Entries)
        {
            var output = new E820Entry[room];
            int n = HostMemoryMap.Build(map, hostRam, acpi, output);
            Assert.That(n, Is.GreaterThanOrEqualTo(0), "room enough");
            return output.Take(n).ToArray();
        }

        private static string[] Describe(IEnumerable<E820Entry> map) =>
            map.Select(e => $"0x{e.Start:X}-0x{e.End:X} {e.Type}").ToArray();

        // ---- LowRam ------------------------------------------------------------------------

        [Test]
        public void Low_RAM_is_the_firmwares_usable_RAM_below_640_KiB_from_page_1_on()
        {
            Assert.That(LowRam(BochsMap, default), Is.EqualTo(new[] { (0x1000UL, 0x9F000UL) }),
                "page 0 (IVT, BIOS data area) is firmware data; the EBDA at 0x9F000 is reserved; RAM above 1 MiB is not low");
        }

        [Test]
        public void Low_RAM_is_whole_pages_and_stops_at_640_KiB_whatever_the_map_says()
        {
            var map = new[]
            {
                M(0x0, 0x9FC00, MemoryRegionType.Available),                // a common BIOS: 639 KiB
                M(0x9FC00, 0xA0000, MemoryRegionType.Reserved),
                M(0x100000, 0x8000000, MemoryRegionType.Available),
            };
            Assert.That(LowRam(map, default), Is.EqualTo(new[] { (0x1000UL, 0x9F000UL) }), "the partial page at 0x9F000 is left out");

            var generous = new[] { M(0x0, 0x100000, MemoryRegionType.Available) };
            Assert.That(LowRam(generous, default), Is.EqualTo(new[] { (0x1000UL, HostMemoryMap.LowMemoryEnd) }), "never the VGA window or the ROMs");

            var ragged = new[] { M(0x1800, 0x7FF00, MemoryRegionType.Available) };
            Assert.That(LowRam(ragged, default), Is.EqualTo(new[] { (0x2000UL, 0x7F000UL) }), "aligned inward");
        }

        [Test]
        public void Low_RAM_leaves_out_what_is_not_usable_and_ranges_too_small_for_a_page()
        {
            var map = new[]
            {
                M(0x0, 0x1000, MemoryRegionType.Available),                 // page 0 only
                M(0x1000, 0x8000, MemoryRegionType.AcpiNvs),
                M(0x8000, 0x8800, MemoryRegionType.Available),              // less than a page
                M(0x9000, 0x9800, MemoryRegionType.Available),              // not a whole page either
                M(0x10000, 0x20000, MemoryRegionType.Reserved),
                M(0x20000, 0x30000, MemoryRegionType.Defective),
                M(0x30000, 0x9F000, MemoryRegionType.Available),
            };
            Assert.That(LowRam(map, default), Is.EqualTo(new[] { (0x30000UL, 0x9F000UL) }));
        }

        [Test]
        public void Low_RAM_is_sorted_whatever_the_order_of_the_firmwares_map()
        {
            var map = new[]
            {
                M(0x100000, 0x8000000, MemoryRegionType.Available),
                M(0x60000, 0x9F000, MemoryRegionType.Available),
                M(0x50000, 0x60000, MemoryRegionType.Reserved),
                M(0x0, 0x50000, MemoryRegionType.Available),
            };
            Assert.That(LowRam(map, default), Is.EqualTo(new[] { (0x1000UL, 0x50000UL), (0x60000UL, 0x9F000UL) }));
        }

        [Test]
        public void Low_RAM_leaves_out_the_boot_information_in_whole_pages()
        {
            // GRUB may put the Multiboot2 information in low memory.
            Assert.That(LowRam(BochsMap, R(0x10100, 0x10900)), Is.EqualTo(new[] { (0x1000UL, 0x10000UL), (0x11000UL, 0x9F000UL) }));
            Assert.That(LowRam(BochsMap, R(0x9E800, 0x9E900)), Is.EqualTo(new[] { (0x1000UL, 0x9E000UL) }));
            Assert.That(LowRam(BochsMap, R(0x800, 0x1100)), Is.EqualTo(new[] { (0x2000UL, 0x9F000UL) }));
            Assert.That(LowRam(BochsMap, R(0x200000, 0x201000)), Is.EqualTo(new[] { (0x1000UL, 0x9F000UL) }), "boot information above 1 MiB takes nothing low");
        }

        [Test]
        public void Low_RAM_says_so_when_the_output_has_no_room()
        {
            var map = new[] { M(0x0, 0x50000, MemoryRegionType.Available), M(0x60000, 0x9F000, MemoryRegionType.Available) };
            Assert.That(HostMemoryMap.LowRam(map, default, new PhysicalRange[1]), Is.EqualTo(-1));
            Assert.That(HostMemoryMap.LowRam(BochsMap, R(0x10000, 0x11000), new PhysicalRange[1]), Is.EqualTo(-1),
                "cutting out the boot information needs a second range");
            Assert.That(HostMemoryMap.LowRam(BochsMap, R(0x10000, 0x11000), new PhysicalRange[2]), Is.EqualTo(2));
        }

        [Test]
        public void Low_RAM_is_empty_when_the_firmware_reports_none_below_640_KiB()
        {
            var map = new[] { M(0x0, 0xA0000, MemoryRegionType.Reserved), M(0x100000, 0x8000000, MemoryRegionType.Available) };
            Assert.That(HostMemoryMap.LowRam(map, default, new PhysicalRange[8]), Is.Zero);
        }

        // ---- Build -------------------------------------------------------------------------

        [Test]
        public void The_e820_map_is_the_firmwares_with_the_RAM_that_is_not_the_hosts_reserved()
        {
            // The host: low RAM from page 1, and 32 MiB at 32 MiB, whose last 64 KiB hold the ACPI
            // tables the hypervisor wrote for it. Below it: the hypervisor and its modules; above
            // it: other partitions.
            var hostRam = new[] { R(0x1000, 0x9F000), R(0x2000000, 0x4000000) };
            var map = Build(BochsMap, hostRam, R(0x3FF0000, 0x4000000));
            Assert.That(Describe(map), Is.EqualTo(new[]
            {
                "0x0-0x1000 Reserved",              // page 0: firmware data, passed through
                "0x1000-0x9F000 Ram",
                "0x9F000-0xA0000 Reserved",         // the firmware's (EBDA)
                "0xE8000-0x2000000 Reserved",       // the firmware's ROM, then RAM not the host's: one entry
                "0x2000000-0x3FF0000 Ram",
                "0x3FF0000-0x4000000 Acpi",         // the host's ACPI tables
                "0x4000000-0x7FF0000 Reserved",     // other partitions' RAM
                "0x7FF0000-0x8000000 Acpi",         // the firmware's ACPI tables pass as they are
                "0xFFFC0000-0x100000000 Reserved",  // the BIOS ROM
            }));
        }

        [Test]
        public void Firmware_types_other_than_usable_RAM_pass_as_their_e820_types_even_inside_the_hosts_RAM()
        {
            var map = new[]
            {
                M(0x0, 0x9F000, MemoryRegionType.Available),
                M(0x100000, 0x1000000, MemoryRegionType.Available),
                M(0x1000000, 0x1010000, MemoryRegionType.AcpiReclaimable),
                M(0x1010000, 0x1020000, MemoryRegionType.AcpiNvs),
                M(0x1020000, 0x1030000, MemoryRegionType.Defective),
                M(0x1030000, 0x1040000, MemoryRegionType.Reserved),
                M(0x1040000, 0x1050000, (MemoryRegionType)0x20),            // a type Multiboot2 does not define
                M(0x1050000, 0x4000000, MemoryRegionType.Available),
            };
            // The host's RAM block as configured covers them all; only usable RAM becomes Ram.
            var e820 = Build(map, new[] { R(0x1000, 0x9F000), R(0x100000, 0x4000000) }, default);
            Assert.That(Describe(e820), Is.EqualTo(new[]
            {
                "0x0-0x1000 Reserved",
                "0x1000-0x9F000 Ram",
                "0x100000-0x1000000 Ram",
                "0x1000000-0x1010000 Acpi",
                "0x1010000-0x1020000 Nvs",
                "0x1020000-0x1030000 Unusable",
                "0x1030000-0x1050000 Reserved",
                "0x1050000-0x4000000 Ram",
            }));
        }

        [Test]
        public void Zero_length_regions_are_dropped_and_adjacent_usable_regions_merge()
        {
            var map = new[]
            {
                M(0x0, 0x9F000, MemoryRegionType.Available),
                M(0x9F000, 0x9F000, MemoryRegionType.AcpiNvs),
                M(0x100000, 0x800000, MemoryRegionType.Available),
                M(0x800000, 0x2000000, MemoryRegionType.Available),         // split by the firmware
            };
            var e820 = Build(map, new[] { R(0x1000, 0x9F000), R(0x400000, 0x1000000) }, default);
            Assert.That(Describe(e820), Is.EqualTo(new[]
            {
                "0x0-0x1000 Reserved",
                "0x1000-0x9F000 Ram",
                "0x100000-0x400000 Reserved",
                "0x400000-0x1000000 Ram",
                "0x1000000-0x2000000 Reserved",
            }));
        }

        [Test]
        public void The_e820_map_is_sorted_whatever_the_order_of_the_firmwares_map_and_of_the_hosts_RAM()
        {
            var shuffled = new[] { BochsMap[4], BochsMap[1], BochsMap[5], BochsMap[3], BochsMap[0], BochsMap[2] };
            var hostRam = new[] { R(0x2000000, 0x4000000), R(0x1000, 0x9F000) };
            var expected = Build(BochsMap, hostRam.Reverse().ToArray(), R(0x3FF0000, 0x4000000));
            Assert.That(Describe(Build(shuffled, hostRam, R(0x3FF0000, 0x4000000))), Is.EqualTo(Describe(expected)));
        }

        [Test]
        public void Without_ACPI_tables_of_its_own_the_hosts_RAM_is_all_RAM()
        {
            var e820 = Build(BochsMap, new[] { R(0x1000, 0x9F000), R(0x2000000, 0x4000000) }, default);
            Assert.That(e820.Any(e => e.Type == E820Type.Ram && e.Start == 0x2000000 && e.End == 0x4000000), Is.True);
            Assert.That(e820.Count(e => e.Type == E820Type.Acpi), Is.EqualTo(1), "only the firmware's");
        }

        [Test]
        public void The_e820_map_says_so_when_the_output_has_no_room()
        {
            var hostRam = new[] { R(0x1000, 0x9F000), R(0x2000000, 0x4000000) };
            Assert.That(HostMemoryMap.Build(BochsMap, hostRam, R(0x3FF0000, 0x4000000), new E820Entry[8]), Is.EqualTo(-1), "it has nine");

            // A fragmented map: 200 usable pages with holes between them, all the host's.
            var fragmented = Enumerable.Range(0, 200).Select(i => M(0x100000 + (ulong)i * 0x2000, 0x101000 + (ulong)i * 0x2000, MemoryRegionType.Available)).ToArray();
            var all = new[] { R(0x100000, 0x300000) };
            Assert.That(HostMemoryMap.Build(fragmented, all, default, new E820Entry[LinuxBoot.MaxE820Entries]), Is.EqualTo(-1),
                "boot_params holds 128 entries");
            Assert.That(HostMemoryMap.Build(fragmented, all, default, new E820Entry[200]), Is.EqualTo(200));
        }

        [Test]
        public void What_fits_once_merged_fits()
        {
            // Nine entries (see above) in room for nine, though the firmware's map and the host's
            // RAM split them into ten before merging.
            var hostRam = new[] { R(0x1000, 0x9F000), R(0x2000000, 0x4000000) };
            Assert.That(HostMemoryMap.Build(BochsMap, hostRam, R(0x3FF0000, 0x4000000), new E820Entry[9]), Is.EqualTo(9));

            // Firmware that reports its usable RAM in 200 adjacent pieces, all the host's: one entry.
            var pieces = Enumerable.Range(0, 200).Select(i => M(0x100000 + (ulong)i * 0x1000, 0x101000 + (ulong)i * 0x1000, MemoryRegionType.Available)).ToArray();
            var output = new E820Entry[LinuxBoot.MaxE820Entries];
            Assert.That(HostMemoryMap.Build(pieces, new[] { R(0x100000, 0x300000) }, default, output), Is.EqualTo(1));
            Assert.That(Describe(output.Take(1)), Is.EqualTo(new[] { "0x100000-0x1C8000 Ram" }));
        }

        /// <summary>
        /// Random firmware maps (non-overlapping, page-granular, some gaps) and random host RAM:
        /// at every boundary, the e820 type must be what the contract says, and the map sorted,
        /// non-overlapping and merged.
        /// </summary>
        [Test]
        public void Every_address_has_the_type_the_contract_gives_it([Range(1, 40)] int seed)
        {
            var random = new Random(seed);
            var types = new[] { MemoryRegionType.Available, MemoryRegionType.Available, MemoryRegionType.Available, MemoryRegionType.Reserved,
                MemoryRegionType.AcpiReclaimable, MemoryRegionType.AcpiNvs, MemoryRegionType.Defective };
            var map = new List<MemoryRegion>();
            ulong at = 0;
            for (int i = random.Next(1, 12); i > 0; i--)
            {
                at += (ulong)random.Next(0, 3) * 0x10000;                   // a gap, or none
                ulong end = at + (ulong)random.Next(1, 64) * 0x10000;
                map.Add(M(at, end, types[random.Next(types.Length)]));
                at = end;
            }
            var hostRam = new List<PhysicalRange>();
            at = 0;
            for (int i = random.Next(0, 5); i > 0; i--)
            {
                at += (ulong)random.Next(0, 40) * 0x8000;
                ulong end = at + (ulong)random.Next(1, 60) * 0x8000;
                hostRam.Add(R(at, end));
                at = end + 0x8000;
            }
            var acpi = default(PhysicalRange);
            if (hostRam.Count > 0 && random.Next(2) == 0)
            {
                var block = hostRam[random.Next(hostRam.Count)];
                ulong start = block.Start + (ulong)random.Next(0, (int)(block.Length / 0x1000)) * 0x1000;
                acpi = R(start, Math.Min(block.End, start + 0x10000));
            }
            var mapArray = map.OrderBy(_ => random.Next()).ToArray();       // the firmware's order is not guaranteed

            var e820 = Build(mapArray, hostRam.ToArray(), acpi);

            for (int i = 1; i < e820.Length; i++)
            {
                Assert.That(e820[i - 1].End, Is.LessThanOrEqualTo(e820[i].Start), $"sorted, not overlapping: {e820[i - 1].Start:X} {e820[i].Start:X}");
                Assert.That(e820[i - 1].End == e820[i].Start && e820[i - 1].Type == e820[i].Type, Is.False, "adjacent entries of one type are merged");
            }
            Assert.That(e820.All(e => e.Length > 0), Is.True);

            var probes = new SortedSet<ulong>();
            foreach (var r in map) { probes.Add(r.Start); probes.Add(r.End - 1); }
            foreach (var r in hostRam) { if (r.Start > 0) probes.Add(r.Start - 1); probes.Add(r.Start); probes.Add(r.End - 1); probes.Add(r.End); }
            if (acpi.Length > 0) { probes.Add(acpi.Start - 1); probes.Add(acpi.Start); probes.Add(acpi.End - 1); probes.Add(acpi.End); }
            foreach (ulong address in probes)
            {
                E820Type? expected = null;
                foreach (var r in map)
                {
                    if (address < r.Start || address >= r.End)
                        continue;
                    if (r.Type != MemoryRegionType.Available)
                        expected = r.Type switch
                        {
                            MemoryRegionType.AcpiReclaimable => E820Type.Acpi,
                            MemoryRegionType.AcpiNvs => E820Type.Nvs,
                            MemoryRegionType.Defective => E820Type.Unusable,
                            _ => E820Type.Reserved,
                        };
                    else if (!hostRam.Any(h => h.Start <= address && address < h.End))
                        expected = E820Type.Reserved;
                    else
                        expected = acpi.Start <= address && address < acpi.End ? E820Type.Acpi : E820Type.Ram;
                }
                var found = e820.Where(e => e.Start <= address && address < e.End).Select(e => (E820Type?)e.Type).ToArray();
                Assert.That(found.Length, Is.LessThanOrEqualTo(1));
                Assert.That(found.FirstOrDefault(), Is.EqualTo(expected), $"0x{address:X}");
            }
        }
    }
}
