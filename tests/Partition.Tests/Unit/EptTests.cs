using NUnit.Framework;
using Partition.Memory;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    public class EptTests
    {
        private HostPhysicalMemory _memory;

        [SetUp]
        public void GivePages() => _memory = new HostPhysicalMemory(64);

        [TearDown]
        public void Release() => _memory.Dispose();

        private const ulong MiB = 1UL << 20;
        private const ulong GiB = 1UL << 30;

        private static EptTables Build(bool allow1G, params EptMapping[] mappings)
        {
            Assert.That(EptTables.TryBuild(mappings, allow1G, out var tables), Is.EqualTo(EptError.None));
            return tables;
        }

        [Test]
        public void RamIsWriteBackAndTranslatesWithItsOffset()
        {
            var ept = Build(false, new EptMapping(0, 0x4000_0000, 16 * MiB, EptAccess.All, EptMemoryType.WriteBack));
            Assert.That(ept.Translate(0x12345, out ulong host, out var access, out var type), Is.True);
            Assert.That(host, Is.EqualTo(0x4001_2345UL));
            Assert.That(access, Is.EqualTo(EptAccess.All));
            Assert.That(type, Is.EqualTo(EptMemoryType.WriteBack));
            Assert.That(ept.LargePages2M, Is.EqualTo(8), "16 MiB of aligned RAM is eight 2 MiB pages");
            Assert.That(ept.Pages4K, Is.Zero);
        }

        [Test]
        public void MmioIsUncacheableWithItsOwnPermissions()
        {
            var ept = Build(false,
                new EptMapping(0, 0x100000, 2 * MiB, EptAccess.All, EptMemoryType.WriteBack),
                new EptMapping(0xFEC0_0000, 0xFEC0_0000, 4096, EptAccess.ReadWrite, EptMemoryType.Uncacheable));
            Assert.That(ept.Translate(0xFEC0_0010, out ulong host, out var access, out var type), Is.True);
            Assert.That(host, Is.EqualTo(0xFEC0_0010UL));
            Assert.That(access, Is.EqualTo(EptAccess.ReadWrite));
            Assert.That(type, Is.EqualTo(EptMemoryType.Uncacheable));
        }

        [Test]
        public void UnmappedAddressesAreAbsent()
        {
            var ept = Build(false, new EptMapping(0, 0x100000, 2 * MiB, EptAccess.All, EptMemoryType.WriteBack));
            Assert.That(ept.Translate(2 * MiB, out _, out _, out _), Is.False);
            Assert.That(ept.Translate(GiB, out _, out _, out _), Is.False);
        }

        [Test]
        public void UsesOneGigabytePagesOnlyWhenAllowedAndAligned()
        {
            var with = Build(true, new EptMapping(GiB, 2 * GiB, GiB + 2 * MiB + 4096, EptAccess.All, EptMemoryType.WriteBack));
            Assert.That((with.LargePages1G, with.LargePages2M, with.Pages4K), Is.EqualTo((1, 1, 1)));
            var without = Build(false, new EptMapping(GiB, 2 * GiB, GiB, EptAccess.All, EptMemoryType.WriteBack));
            Assert.That((without.LargePages1G, without.LargePages2M), Is.EqualTo((0, 512)));
        }

        [Test]
        public void MisalignedHostAddressFallsBackToSmallPages()
        {
            // Guest 2 MiB aligned but host only 4 KiB aligned: no large page may be used.
            var ept = Build(false, new EptMapping(0, 0x101000, 2 * MiB, EptAccess.All, EptMemoryType.WriteBack));
            Assert.That(ept.LargePages2M, Is.Zero);
            Assert.That(ept.Pages4K, Is.EqualTo(512));
            Assert.That(ept.Translate(0x1FFFFF, out ulong host, out _, out _), Is.True);
            Assert.That(host, Is.EqualTo(0x300FFFUL));
        }

        [TestCase(0UL, 0x2000UL, 0x1000UL, 0x1000UL, EptError.Overlap)]
        [TestCase(0UL, 2 * MiB, MiB, 4096UL, EptError.Overlap)]
        [TestCase(MiB, 4096UL, 0UL, 2 * MiB, EptError.Overlap)]
        [TestCase(0UL, 0x1000UL, 0x1000UL, 0x1000UL, EptError.None)]
        public void OverlappingMappingsAreRefused(ulong firstGuest, ulong firstSize, ulong secondGuest, ulong secondSize, EptError expected)
        {
            var mappings = new[]
            {
                new EptMapping(firstGuest, 0x10_0000_0000, firstSize, EptAccess.All, EptMemoryType.WriteBack),
                new EptMapping(secondGuest, 0x20_0000_0000, secondSize, EptAccess.All, EptMemoryType.WriteBack),
            };
            Assert.That(EptTables.TryBuild(mappings, false, out _), Is.EqualTo(expected));
        }

        [Test]
        public void MisalignedMappingIsRefused()
        {
            var mapping = new EptMapping(0x800, 0, 4096, EptAccess.All, EptMemoryType.WriteBack);
            Assert.That(EptTables.TryBuild(new[] { mapping }, false, out _), Is.EqualTo(EptError.Misaligned));
        }

        [Test]
        public void PointerNamesAFourLevelWriteBackWalk()
        {
            var ept = Build(false, new EptMapping(0, 0, 4096, EptAccess.All, EptMemoryType.WriteBack));
            Assert.That(ept.Pointer & 0xFFF, Is.EqualTo(0x1EUL));
            Assert.That(ept.Pointer & ~0xFFFUL, Is.EqualTo(ept.Pml4));
        }
    }
}
