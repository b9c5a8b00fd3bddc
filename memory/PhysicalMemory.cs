using System;
using Partition.Kernel;

namespace Partition.Memory
{
    /// <summary>A half-open range of physical addresses [Start, End).</summary>
    public readonly struct PhysicalRange
    {
        public PhysicalRange(ulong start, ulong end)
        {
            Start = start;
            End = end;
        }

        public ulong Start { get; }
        public ulong End { get; }
        public ulong Length => End > Start ? End - Start : 0;
    }

    /// <summary>What <see cref="PhysicalMemory.TryClaim"/> did.</summary>
    public enum ClaimResult
    {
        Claimed,
        /// <summary>Not page aligned, empty, or wrapping around.</summary>
        Unaligned,
        /// <summary>Not all free RAM: outside the memory map's available regions, or reserved (the hypervisor image, a boot module, an earlier claim).</summary>
        NotFree,
        /// <summary>The allocator has already handed out pages there (to the hypervisor itself).</summary>
        InUse,
    }

    /// <summary>
    /// The RAM the hypervisor may hand out: the memory map's available regions minus what is
    /// already in use (the first MiB, the hypervisor image, its modules, the boot information),
    /// page-aligned inward, sorted by address, with a page allocator over it.
    /// </summary>
    public sealed class PhysicalMemory
    {
        public const ulong PageSize = 4096;
        private const ulong LowMemoryEnd = 0x100000;

        private PhysicalRange[] _free;
        private int _freeCount;
        private int _current;
        private ulong _next;

        private PhysicalMemory(PhysicalRange[] free, int count)
        {
            _free = free;
            _freeCount = count;
            _next = count > 0 ? free[0].Start : 0;
        }

        public int FreeRangeCount => _freeCount;
        public PhysicalRange FreeRange(int index) => _free[index];

        public ulong TotalFree
        {
            get
            {
                ulong total = 0;
                for (int i = 0; i < _freeCount; i++)
                    total += _free[i].Length;
                return total;
            }
        }

        /// <summary>Builds the free list from the memory map, excluding every reserved range given.</summary>
        public static PhysicalMemory Create(MemoryRegion[] map, ReadOnlySpan<PhysicalRange> reserved)
        {
            // Each reserved range can split one free range in two: bound the result up front.
            var free = new PhysicalRange[map.Length * (reserved.Length + 2) + 1];
            int count = 0;
            for (int i = 0; i < map.Length; i++)
            {
                if (map[i].Type != MemoryRegionType.Available)
                    continue;
                ulong start = AlignUp(Math.Max(map[i].Start, LowMemoryEnd));
                ulong end = map[i].End & ~(PageSize - 1);
                if (end > start)
                    free[count++] = new PhysicalRange(start, end);
            }
            SortByStart(free, count);
            foreach (var r in reserved)
                count = PhysicalRanges.Cut(free, count, AlignDown(r.Start), AlignUp(r.End));
            return new PhysicalMemory(free, count);
        }

        /// <summary>
        /// Takes the exact range [<paramref name="start"/>, <paramref name="start"/> + <paramref name="bytes"/>)
        /// (page aligned) out of the free list, for memory a configuration places at a fixed
        /// host-physical address. The allocators never hand it out afterwards.
        /// </summary>
        public ClaimResult TryClaim(ulong start, ulong bytes)
        {
            ulong end = start + bytes;
            if ((start | bytes) % PageSize != 0 || bytes == 0 || end < start)
                return ClaimResult.Unaligned;
            for (int i = 0; i < _freeCount; i++)
            {
                var r = _free[i];
                if (start < r.Start || end > r.End)
                    continue;
                // Below the allocation point pages may have been handed out already.
                if (i < _current || (i == _current && start < _next))
                    return ClaimResult.InUse;
                if (_freeCount == _free.Length)
                    Grow();
                _freeCount = PhysicalRanges.Cut(_free, _freeCount, start, end);
                return ClaimResult.Claimed;
            }
            return ClaimResult.NotFree;
        }

        private void Grow()
        {
            var larger = new PhysicalRange[_free.Length * 2];
            for (int k = 0; k < _freeCount; k++)
                larger[k] = _free[k];
            _free = larger;
        }

        /// <summary>Takes <paramref name="pages"/> contiguous pages, lowest address first; false when none is left.</summary>
        public bool TryAllocatePages(ulong pages, out ulong physical)
        {
            ulong bytes = pages * PageSize;
            while (_current < _freeCount)
            {
                if (_next < _free[_current].Start)
                    _next = _free[_current].Start;
                if (_free[_current].End - _next >= bytes)
                {
                    physical = _next;
                    _next += bytes;
                    return true;
                }
                _current++;
            }
            physical = 0;
            return false;
        }

        /// <summary>
        /// Takes <paramref name="pages"/> contiguous pages starting on an <paramref name="alignment"/>
        /// boundary (a power of two). The allocator only moves forward, so pages skipped to reach
        /// the boundary are not handed out later.
        /// </summary>
        public bool TryAllocateAligned(ulong pages, ulong alignment, out ulong physical)
        {
            ulong bytes = pages * PageSize;
            for (int i = _current; i < _freeCount; i++)
            {
                ulong start = i == _current && _next > _free[i].Start ? _next : _free[i].Start;
                ulong aligned = (start + alignment - 1) & ~(alignment - 1);
                if (aligned >= start && aligned <= _free[i].End && _free[i].End - aligned >= bytes)
                {
                    physical = aligned;
                    _current = i;
                    _next = aligned + bytes;
                    return true;
                }
            }
            physical = 0;
            return false;
        }

        private static void SortByStart(PhysicalRange[] ranges, int count)
        {
            for (int i = 1; i < count; i++)
            {
                var item = ranges[i];
                int j = i - 1;
                while (j >= 0 && ranges[j].Start > item.Start)
                {
                    ranges[j + 1] = ranges[j];
                    j--;
                }
                ranges[j + 1] = item;
            }
        }

        public static ulong AlignUp(ulong value) => (value + PageSize - 1) & ~(PageSize - 1);
        public static ulong AlignDown(ulong value) => value & ~(PageSize - 1);
    }
}
