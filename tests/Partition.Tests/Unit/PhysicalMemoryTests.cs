using NUnit.Framework;
using Partition.Kernel;
using Partition.Memory;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    public class PhysicalMemoryTests
    {
        private static readonly MemoryRegion[] BochsMap = BochsMemoryMap.Regions;

        [Test]
        public void ExcludesLowMemoryTheImageModulesAndReservedRegions()
        {
            var memory = PhysicalMemory.Create(BochsMap, new[]
            {
                new PhysicalRange(0x100000, 0x1123158),     // image, end not page aligned
                new PhysicalRange(0x2000000, 0x2000400),    // a module
                new PhysicalRange(0x10000, 0x10400),        // boot information in low memory
            });

            Assert.That(memory.FreeRangeCount, Is.EqualTo(2));
            Assert.That(memory.FreeRange(0).Start, Is.EqualTo(0x1124000UL), "image end rounded up to a page");
            Assert.That(memory.FreeRange(0).End, Is.EqualTo(0x2000000UL));
            Assert.That(memory.FreeRange(1).Start, Is.EqualTo(0x2001000UL));
            Assert.That(memory.FreeRange(1).End, Is.EqualTo(0x7FF0000UL));
        }

        [Test]
        public void AllocatesAscendingPagesAndMovesToTheNextRange()
        {
            var memory = PhysicalMemory.Create(BochsMap, new[] { new PhysicalRange(0x100000, 0x7FEE000) });
            // One range left: [0x7FEE000, 0x7FF0000) is two pages.
            Assert.That(memory.TryAllocatePages(1, out ulong first), Is.True);
            Assert.That(memory.TryAllocatePages(1, out ulong second), Is.True);
            Assert.That(first, Is.EqualTo(0x7FEE000UL));
            Assert.That(second, Is.EqualTo(0x7FEF000UL));
            Assert.That(memory.TryAllocatePages(1, out _), Is.False, "exhausted");
        }

        [Test]
        public void ContiguousRequestSkipsARangeThatIsTooSmall()
        {
            var map = new[]
            {
                new MemoryRegion(0x100000, 0x2000, MemoryRegionType.Available),
                new MemoryRegion(0x200000, 0x10000, MemoryRegionType.Available),
            };
            var memory = PhysicalMemory.Create(map, new PhysicalRange[0]);
            Assert.That(memory.TryAllocatePages(4, out ulong pages), Is.True);
            Assert.That(pages, Is.EqualTo(0x200000UL));
        }

        [Test]
        public void RangesComeOutSortedWhateverTheMapOrder()
        {
            var map = new[]
            {
                new MemoryRegion(0x4000000, 0x100000, MemoryRegionType.Available),
                new MemoryRegion(0x1000000, 0x100000, MemoryRegionType.Available),
            };
            var memory = PhysicalMemory.Create(map, new PhysicalRange[0]);
            Assert.That(memory.FreeRange(0).Start, Is.LessThan(memory.FreeRange(1).Start));
            Assert.That(memory.TotalFree, Is.EqualTo(0x200000UL));
        }

        [Test]
        public void A_claimed_range_is_never_handed_out_and_splits_its_free_range()
        {
            var memory = PhysicalMemory.Create(BochsMap, new[] { new PhysicalRange(0x100000, 0x1200000) });
            Assert.That(memory.TryClaim(0x2000000, 0x400000), Is.EqualTo(ClaimResult.Claimed));
            Assert.That(memory.FreeRangeCount, Is.EqualTo(2));
            Assert.That(memory.FreeRange(0).End, Is.EqualTo(0x2000000UL));
            Assert.That(memory.FreeRange(1).Start, Is.EqualTo(0x2400000UL));

            // 14 MiB up to the claim, then the allocator must jump over it.
            Assert.That(memory.TryAllocateAligned(0xE00000 / PhysicalMemory.PageSize, 1UL << 21, out ulong below), Is.True);
            Assert.That(below, Is.EqualTo(0x1200000UL));
            Assert.That(memory.TryAllocateAligned(0x200000 / PhysicalMemory.PageSize, 1UL << 21, out ulong above), Is.True);
            Assert.That(above, Is.EqualTo(0x2400000UL));
        }

        [Test]
        public void Claims_are_refused_by_name()
        {
            var memory = PhysicalMemory.Create(BochsMap, new[] { new PhysicalRange(0x100000, 0x1200000) });
            Assert.That(memory.TryAllocatePages(16, out _), Is.True);
            Assert.That(memory.TryClaim(0x1200000, 0x1000), Is.EqualTo(ClaimResult.InUse), "already handed out");
            Assert.That(memory.TryClaim(0x1000000, 0x1000), Is.EqualTo(ClaimResult.NotFree), "the hypervisor image");
            Assert.That(memory.TryClaim(0x7FE0000, 0x20000), Is.EqualTo(ClaimResult.NotFree), "runs into ACPI memory");
            Assert.That(memory.TryClaim(0x3000800, 0x1000), Is.EqualTo(ClaimResult.Unaligned));
            Assert.That(memory.TryClaim(0x3000000, 0x1000), Is.EqualTo(ClaimResult.Claimed));
            Assert.That(memory.TryClaim(0x3000000, 0x1000), Is.EqualTo(ClaimResult.NotFree), "claimed twice");
        }

        [Test]
        public void Claims_at_the_ends_of_a_range_and_of_a_whole_range_leave_no_empty_ranges()
        {
            var memory = PhysicalMemory.Create(BochsMap, new[] { new PhysicalRange(0x100000, 0x7000000) });
            Assert.That(memory.TryClaim(0x7000000, 0x100000), Is.EqualTo(ClaimResult.Claimed));
            Assert.That(memory.FreeRange(0).Start, Is.EqualTo(0x7100000UL));
            Assert.That(memory.TryClaim(0x7F00000, 0xF0000), Is.EqualTo(ClaimResult.Claimed));
            Assert.That(memory.FreeRange(0).End, Is.EqualTo(0x7F00000UL));
            Assert.That(memory.TryClaim(0x7100000, 0xE00000), Is.EqualTo(ClaimResult.Claimed));
            Assert.That(memory.FreeRangeCount, Is.Zero);
            Assert.That(memory.TryAllocatePages(1, out _), Is.False);
        }

        [Test]
        public void Many_claims_grow_the_free_list()
        {
            var memory = PhysicalMemory.Create(BochsMap, new[] { new PhysicalRange(0x100000, 0x1000000) });
            for (ulong i = 0; i < 40; i++)
                Assert.That(memory.TryClaim(0x2000000 + i * 0x20000, 0x1000), Is.EqualTo(ClaimResult.Claimed));
            Assert.That(memory.FreeRangeCount, Is.EqualTo(41));
            Assert.That(memory.TotalFree, Is.EqualTo(0x7FF0000UL - 0x1000000 - 40 * 0x1000));
        }
    }
}
