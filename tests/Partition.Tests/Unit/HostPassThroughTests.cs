using System;
using System.Linq;
using NUnit.Framework;
using Partition.Kernel;
using Partition.Memory;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    public class HostPassThroughTests
    {
        private static readonly MemoryRegion[] BochsMap = BochsMemoryMap.Regions;

        private static EptMapping[] Build(ulong hostRam, params PhysicalRange[] excluded)
        {
            var mappings = new EptMapping[HostPassThrough.MaxMappings];
            int n = HostPassThrough.Build(BochsMap, hostRam, excluded, mappings);
            return mappings.Take(n).ToArray();
        }

        [Test]
        public void Everything_but_RAM_and_the_APICs_above_its_own_RAM_identity_mapped_ACPI_write_back()
        {
            var m = Build(4 << 20);
            Assert.That(m.Select(x => (x.GuestPhysical, x.GuestPhysical + x.Size, x.Type)), Is.EqualTo(new[]
            {
                (0x7FF0000UL, 0x8000000UL, EptMemoryType.WriteBack),       // ACPI tables
                (0x8000000UL, 0xFEC00000UL, EptMemoryType.Uncacheable),    // PCI hole
                (0xFEC01000UL, 0xFEE00000UL, EptMemoryType.Uncacheable),   // I/O APIC page left out
                (0xFEE01000UL, 0x100000000UL, EptMemoryType.Uncacheable),  // local APIC page left out; ROM up to 4 GiB
            }));
            Assert.That(m.All(x => x.HostPhysical == x.GuestPhysical && x.Access == EptAccess.ReadWrite), Is.True, "identity, never executable");
        }

        [Test]
        public void Other_partitions_MMIO_and_its_own_shared_memory_are_cut_out()
        {
            var m = Build(4 << 20, new PhysicalRange(0xE0000000, 0xE1000000), new PhysicalRange(0x10000000, 0x10010000));
            Assert.That(m.Any(x => x.GuestPhysical < 0xE1000000 && x.GuestPhysical + x.Size > 0xE0000000), Is.False);
            Assert.That(m.Any(x => x.GuestPhysical < 0x10010000 && x.GuestPhysical + x.Size > 0x10000000), Is.False);
            Assert.That(m.Sum(x => (long)x.Size), Is.EqualTo((long)(0x100000000UL - 0x7FF0000 - 0x2000 - 0x1000000 - 0x10000)));
        }

        [Test]
        public void The_result_builds_an_EPT_beside_the_host_RAM()
        {
            var m = Build(4 << 20);
            var all = new[] { new EptMapping(0, 0x1200000, 4 << 20, EptAccess.All, EptMemoryType.WriteBack) }.Concat(m).ToArray();
            using var memory = new Partition.Tests.Support.HostPhysicalMemory(512);
            Assert.That(EptTables.TryBuild(all, true, out var ept), Is.EqualTo(EptError.None));
            Assert.That(ept.Translate(0xFFFFFFF0, out ulong host, out _, out var type), Is.True);
            Assert.That((host, type), Is.EqualTo((0xFFFFFFF0UL, EptMemoryType.Uncacheable)));
            Assert.That(ept.Translate(0xFEE00300, out _, out _, out _), Is.False, "the local APIC stays unmapped");
            Assert.That(ept.Translate(0x2000000, out _, out _, out _), Is.False, "RAM is never passed through");
        }
    
        // ---- An identity-mapped host (from = 0) ---------------------------------------------

        [Test]
        public void An_identity_mapped_host_gets_the_device_ranges_between_RAM_blocks_too()
        {
            var m = Build(0);
            Assert.That(m.Select(x => (x.GuestPhysical, x.GuestPhysical + x.Size, x.Type)), Is.EqualTo(new[]
            {
                (0x9F000UL, 0x100000UL, EptMemoryType.Uncacheable),       // EBDA, VGA window, ROMs
                (0x7FF0000UL, 0x8000000UL, EptMemoryType.WriteBack),
                (0x8000000UL, 0xFEC00000UL, EptMemoryType.Uncacheable),
                (0xFEC01000UL, 0xFEE00000UL, EptMemoryType.Uncacheable),
                (0xFEE01000UL, 0x100000000UL, EptMemoryType.Uncacheable),
            }), "page 0 is usable RAM in the map: never passed through here (the caller maps it as firmware data)");
        }

        [Test]
        public void A_host_with_RAM_at_0_gets_nothing_below_1_MiB_however_small_its_RAM()
        {
            var m = Build(0x80000);
            Assert.That(m.Min(x => x.GuestPhysical), Is.EqualTo(0x7FF0000UL), "RAM from 1 MiB in this map: the ACPI tables come first");
            Assert.That(Build(0x100001).Min(x => x.GuestPhysical), Is.EqualTo(0x7FF0000UL), "its end is rounded up to a page");
        }

        [Test]
        public void RAM_is_cut_out_in_whole_pages_outward_and_ACPI_memory_of_both_kinds_is_write_back()
        {
            var map = new[]
            {
                new MemoryRegion(0x0, 0x9FC00, MemoryRegionType.Available),
                new MemoryRegion(0x100000, 0x3F00800, MemoryRegionType.Available),   // ends mid-page at 0x4000800
                new MemoryRegion(0x4001000, 0xF000, MemoryRegionType.AcpiReclaimable),
                new MemoryRegion(0x4010000, 0x10000, MemoryRegionType.AcpiNvs),
                new MemoryRegion(0x4020800, 0x1000, MemoryRegionType.Available),      // straddles two pages
            };
            var mappings = new EptMapping[HostPassThrough.MaxMappings];
            int n = HostPassThrough.Build(map, 0, ReadOnlySpan<PhysicalRange>.Empty, mappings);
            var m = mappings.Take(n).ToArray();
            Assert.That(m.Select(x => (x.GuestPhysical, x.GuestPhysical + x.Size, x.Type)).Take(5), Is.EqualTo(new[]
            {
                (0xA0000UL, 0x100000UL, EptMemoryType.Uncacheable),      // the partial page at 0x9F000 is RAM's
                (0x4001000UL, 0x4010000UL, EptMemoryType.WriteBack),     // ACPI reclaimable (the page at 0x4000000 is RAM's)
                (0x4010000UL, 0x4020000UL, EptMemoryType.WriteBack),     // ACPI NVS
                (0x4022000UL, 0xFEC00000UL, EptMemoryType.Uncacheable),  // both pages the last RAM region touches are left out
                (0xFEC01000UL, 0xFEE00000UL, EptMemoryType.Uncacheable),
            }));
        }

        [Test]
        public void Excluded_ranges_are_cut_out_in_whole_pages_outward()
        {
            var m = Build(0, new PhysicalRange(0xE0000800, 0xE0001001));
            Assert.That(m.Any(x => x.GuestPhysical < 0xE0002000 && x.GuestPhysical + x.Size > 0xE0000000), Is.False);
            Assert.That(m.Any(x => x.GuestPhysical + x.Size == 0xE0000000), Is.True);
            Assert.That(m.Any(x => x.GuestPhysical == 0xE0002000), Is.True);
        }

        [Test]
        public void Nothing_at_or_above_4_GiB_is_passed_through()
        {
            var map = BochsMap.Append(new MemoryRegion(0x100000000, 0x40000000, MemoryRegionType.Available)).ToArray();
            var mappings = new EptMapping[HostPassThrough.MaxMappings];
            int n = HostPassThrough.Build(map, 0, ReadOnlySpan<PhysicalRange>.Empty, mappings);
            Assert.That(mappings.Take(n).Max(x => x.GuestPhysical + x.Size), Is.EqualTo(0x100000000UL));
            Assert.That(HostPassThrough.Build(BochsMap, 0x100000000, ReadOnlySpan<PhysicalRange>.Empty, mappings), Is.Zero,
                "RAM up to 4 GiB leaves nothing");
        }

        [Test]
        public void No_ranges_at_all_when_they_do_not_all_fit()
        {
            var mappings = new EptMapping[HostPassThrough.MaxMappings];
            Assert.That(HostPassThrough.Build(BochsMap, 0, ReadOnlySpan<PhysicalRange>.Empty, new EptMapping[4]), Is.Zero, "five are needed");
            Assert.That(HostPassThrough.Build(BochsMap, 0, ReadOnlySpan<PhysicalRange>.Empty, new EptMapping[5]), Is.EqualTo(5));
            // Seventy pages of other partitions' MMIO, apart from one another: more ranges than it keeps.
            var scattered = Enumerable.Range(0, 70).Select(i => new PhysicalRange(0xC0000000 + (ulong)i * 0x2000, 0xC0001000 + (ulong)i * 0x2000)).ToArray();
            Assert.That(HostPassThrough.Build(BochsMap, 0, scattered, mappings), Is.Zero);
        }

        // ---- Exclude ------------------------------------------------------------------------

        [Test]
        public void Exclude_cuts_whole_pages_out_of_each_mapping_and_keeps_the_rest_as_it_was()
        {
            var mappings = new[]
            {
                new EptMapping(0x9F000, 0x9F000, 0x61000, EptAccess.ReadWrite, EptMemoryType.Uncacheable),
                new EptMapping(0x7FF0000, 0x7FF0000, 0x10000, EptAccess.ReadWrite, EptMemoryType.WriteBack),
                new EptMapping(0x8000000, 0x8000000, 0xF6C00000, EptAccess.ReadWrite, EptMemoryType.Uncacheable),
                new EptMapping(0xFEC01000, 0xFEC01000, 0x1FF000, EptAccess.ReadWrite, EptMemoryType.Uncacheable),
            };
            // A second I/O APIC given unaligned, and a lone 4 KiB page in the middle of a mapping.
            var kept = HostPassThrough.Exclude(mappings, new[] { new PhysicalRange(0xFEC10000, 0xFEC10020), new PhysicalRange(0xE0018000, 0xE0019000) });
            Assert.That(kept.Select(x => (x.GuestPhysical, x.HostPhysical, x.Size, x.Access, x.Type)), Is.EqualTo(new[]
            {
                (0x9F000UL, 0x9F000UL, 0x61000UL, EptAccess.ReadWrite, EptMemoryType.Uncacheable),
                (0x7FF0000UL, 0x7FF0000UL, 0x10000UL, EptAccess.ReadWrite, EptMemoryType.WriteBack),
                (0x8000000UL, 0x8000000UL, 0xE0018000UL - 0x8000000, EptAccess.ReadWrite, EptMemoryType.Uncacheable),
                (0xE0019000UL, 0xE0019000UL, 0xFEC00000UL - 0xE0019000, EptAccess.ReadWrite, EptMemoryType.Uncacheable),
                (0xFEC01000UL, 0xFEC01000UL, 0xFEC10000UL - 0xFEC01000, EptAccess.ReadWrite, EptMemoryType.Uncacheable),
                (0xFEC11000UL, 0xFEC11000UL, 0xFEE00000UL - 0xFEC11000, EptAccess.ReadWrite, EptMemoryType.Uncacheable),
            }));
        }

        [Test]
        public void Exclude_keeps_each_pieces_host_address_at_its_offset_in_the_mapping()
        {
            var mapping = new EptMapping(0x10000000, 0x30000000, 0x100000, EptAccess.Read, EptMemoryType.WriteBack);
            var kept = HostPassThrough.Exclude(new[] { mapping }, new[] { new PhysicalRange(0x10040800, 0x10040900) });
            Assert.That(kept.Select(x => (x.GuestPhysical, x.HostPhysical, x.Size, x.Access, x.Type)), Is.EqualTo(new[]
            {
                (0x10000000UL, 0x30000000UL, 0x40000UL, EptAccess.Read, EptMemoryType.WriteBack),
                (0x10041000UL, 0x30041000UL, 0xBF000UL, EptAccess.Read, EptMemoryType.WriteBack),
            }));
        }

        [Test]
        public void Exclude_drops_a_mapping_wholly_excluded_and_leaves_mappings_with_nothing_excluded_alone()
        {
            var mappings = Build(0);
            Assert.That(HostPassThrough.Exclude(mappings, ReadOnlySpan<PhysicalRange>.Empty), Is.EqualTo(mappings));
            Assert.That(HostPassThrough.Exclude(mappings, new[] { new PhysicalRange(0x200000, 0x300000) }), Is.EqualTo(mappings), "RAM: in no mapping");
            var kept = HostPassThrough.Exclude(mappings, new[] { new PhysicalRange(0x7FF0000, 0x8000000) });
            Assert.That(kept, Is.EqualTo(mappings.Where(x => x.GuestPhysical != 0x7FF0000).ToArray()));
            Assert.That(HostPassThrough.Exclude(ReadOnlySpan<EptMapping>.Empty, new[] { new PhysicalRange(0, 0x1000) }), Is.Empty);
        }

        [Test]
        public void Exclude_gives_null_when_more_than_MaxMappings_would_remain()
        {
            var one = new[] { new EptMapping(0x80000000, 0x80000000, 0x40000000, EptAccess.ReadWrite, EptMemoryType.Uncacheable) };
            PhysicalRange[] Holes(int count) => Enumerable.Range(0, count).Select(i => new PhysicalRange(0x80001000 + (ulong)i * 0x2000, 0x80002000 + (ulong)i * 0x2000)).ToArray();
            Assert.That(HostPassThrough.Exclude(one, Holes(HostPassThrough.MaxMappings - 1)), Has.Length.EqualTo(HostPassThrough.MaxMappings));
            Assert.That(HostPassThrough.Exclude(one, Holes(HostPassThrough.MaxMappings)), Is.Null, "one mapping, 65 pieces");

            // Many mappings, each cut in two: the total counts.
            var many = Enumerable.Range(0, 40).Select(i => new EptMapping(0x90000000 + (ulong)i * 0x100000, 0x90000000 + (ulong)i * 0x100000, 0x10000, EptAccess.ReadWrite, EptMemoryType.Uncacheable)).ToArray();
            var middles = Enumerable.Range(0, 40).Select(i => new PhysicalRange(0x90008000 + (ulong)i * 0x100000, 0x90009000 + (ulong)i * 0x100000)).ToArray();
            Assert.That(HostPassThrough.Exclude(many, middles), Is.Null, "80 pieces");
            Assert.That(HostPassThrough.Exclude(many.Take(32).ToArray(), middles), Has.Length.EqualTo(64));
        }
}
}
