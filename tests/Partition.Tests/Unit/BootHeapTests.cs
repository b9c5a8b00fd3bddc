using Internal.Runtime;
using NUnit.Framework;

namespace Partition.Tests.Unit
{
    public unsafe class BootHeapTests
    {
        [Test]
        public void AllocatesZeroedAlignedBlocksUntilTheArenaIsFull()
        {
            byte* arena = stackalloc byte[64];
            for (int i = 0; i < 64; i++)
                arena[i] = 0xCC;
            var heap = new BootHeap();
            heap.Initialize(arena, arena + 64);

            byte* a = heap.TryAllocate(5);
            byte* b = heap.TryAllocate(16);
            Assert.That((ulong)(b - a), Is.EqualTo(8), "sizes round up to 8");
            for (int i = 0; i < 16; i++)
                Assert.That(b[i], Is.Zero);
            Assert.That(heap.Used, Is.EqualTo(24UL));
            Assert.That(heap.TryAllocate(40) != null, Is.True, "exactly the rest fits");
            Assert.That(heap.TryAllocate(1) == null, Is.True, "exhausted: null, not memory past the end");
            Assert.That(heap.Used, Is.EqualTo(heap.Capacity));
        }

        [Test]
        public void HugeRequestsDoNotWrapAround()
        {
            byte* arena = stackalloc byte[16];
            var heap = new BootHeap();
            heap.Initialize(arena, arena + 16);
            Assert.That(heap.TryAllocate(ulong.MaxValue - 3) == null, Is.True);
            Assert.That(heap.Used, Is.Zero);
        }
    }
}
