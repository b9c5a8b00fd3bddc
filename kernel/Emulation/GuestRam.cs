using System;

namespace Partition.Kernel
{
    /// <summary>
    /// A partition's RAM as <see cref="IGuestPhysicalMemory"/>: guest-physical 0 up to its size,
    /// contiguous at a host pointer (how <see cref="VirtualMachine"/> allocates it). Shared
    /// regions and MMIO are not RAM: reads there fail.
    /// </summary>
    public readonly unsafe struct GuestRam : IGuestPhysicalMemory
    {
        private readonly byte* _hostBase;
        private readonly ulong _size;

        public GuestRam(byte* hostBase, ulong size)
        {
            _hostBase = hostBase;
            _size = size;
        }

        public static GuestRam Of(VirtualMachine vm) => new((byte*)vm.HostBase, vm.MemorySize);

        public bool TryRead64(ulong guestPhysical, out ulong value)
        {
            if (guestPhysical >= _size || _size - guestPhysical < 8)
            {
                value = 0;
                return false;
            }
            value = *(ulong*)(_hostBase + guestPhysical);
            return true;
        }

        public bool TryRead(ulong guestPhysical, Span<byte> destination)
        {
            ulong length = (ulong)destination.Length;
            if (guestPhysical >= _size || _size - guestPhysical < length)
                return false;
            new ReadOnlySpan<byte>(_hostBase + guestPhysical, destination.Length).CopyTo(destination);
            return true;
        }
    }
}
