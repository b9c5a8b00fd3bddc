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
    }
}
