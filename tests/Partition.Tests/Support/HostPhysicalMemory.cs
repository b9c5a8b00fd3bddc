using System;
using System.Runtime.InteropServices;
using Partition.Kernel;
using Partition.Memory;

namespace Partition.Tests.Support
{
    /// <summary>
    /// Page-aligned native memory handed to the kernel's page allocator as "physical" memory:
    /// the image identity-maps RAM, so the host tests give it plain addresses.
    /// </summary>
    public sealed unsafe class HostPhysicalMemory : IDisposable
    {
        private readonly void* _block;

        public HostPhysicalMemory(int pages)
        {
            _block = NativeMemory.AlignedAlloc((nuint)pages * 4096, 4096);
            NativeMemory.Clear(_block, (nuint)pages * 4096);
            Start = (ulong)_block;
            Length = (ulong)pages * 4096;
            PageAllocator.Initialize(PhysicalMemory.Create(
                new[] { new MemoryRegion(Start, Length, MemoryRegionType.Available) }, new PhysicalRange[0]));
        }

        public ulong Start { get; }
        public ulong Length { get; }

        public void Dispose() => NativeMemory.AlignedFree(_block);
    }
}
