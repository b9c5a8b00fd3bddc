using NUnit.Framework;
using Partition.Kernel;
using Partition.Memory;

namespace Partition.Tests.Unit
{
    public class PhysicalMemoryTests
    {
        private static readonly MemoryRegion[] BochsMap =
        {
            new(0x0, 0x9F000, MemoryRegionType.Available),
            new(0x9F000, 0x1000, MemoryRegionType.Reserved),
            new(0xE8000, 0x18000, MemoryRegionType.Reserved),
            new(0x100000, 0x7EF0000, MemoryRegionType.Available),
            new(0x7FF0000, 0x10000, MemoryRegionType.AcpiReclaimable),
        };

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
    }
}
