using System;

namespace Partition.Kernel
{
    /// <summary>
    /// A partition's RAM as <see cref="IGuestPhysicalMemory"/>: its blocks as
    /// <see cref="VirtualMachine.Ram"/> lists them (or, for the tests, one block at guest-physical
    /// 0 at a host pointer). Shared regions and MMIO are not RAM: reads there fail, as do reads
    /// across the end of a block.
    /// </summary>
    public readonly unsafe struct GuestRam : IGuestPhysicalMemory
    {
        private readonly VirtualMachine _vm;
        private readonly byte* _hostBase;
        private readonly ulong _size;

        public GuestRam(byte* hostBase, ulong size)
        {
            _vm = null;
            _hostBase = hostBase;
            _size = size;
        }

        private GuestRam(VirtualMachine vm)
        {
            _vm = vm;
            _hostBase = null;
            _size = 0;
        }

        public static GuestRam Of(VirtualMachine vm) => new(vm);

        private byte* Pointer(ulong guestPhysical, ulong length)
        {
            if (_vm != null)
                return _vm.GuestPointer(guestPhysical, length);
            if (guestPhysical >= _size || _size - guestPhysical < length)
                return null;
            return _hostBase + guestPhysical;
        }

        public bool TryRead64(ulong guestPhysical, out ulong value)
        {
            byte* p = Pointer(guestPhysical, 8);
            value = p == null ? 0 : *(ulong*)p;
            return p != null;
        }

        public bool TryRead(ulong guestPhysical, Span<byte> destination)
        {
            byte* p = Pointer(guestPhysical, (ulong)destination.Length);
            if (p == null)
                return false;
            // REP MOVSB (an instruction's bytes at every MMIO exit): the span copy goes a byte at a time.
            fixed (byte* d = destination)
                Cpu.Copy(d, p, (ulong)destination.Length);
            return true;
        }
    }
}
