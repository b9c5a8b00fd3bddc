using System;

namespace Partition.Kernel
{
    /// <summary>
    /// The seam through which emulation code reads a guest's physical memory. Implemented by
    /// structs and passed as a generic <c>ref TMemory</c>, so that the calls are direct in the
    /// image (no interface dispatch): <see cref="GuestRam"/> in the hypervisor, byte arrays in
    /// the tests. A read fails, rather than faults, when the range is not the guest's RAM.
    /// </summary>
    public interface IGuestPhysicalMemory
    {
        /// <summary>The 8 bytes at <paramref name="guestPhysical"/>, little-endian.</summary>
        bool TryRead64(ulong guestPhysical, out ulong value);

        /// <summary>Fills <paramref name="destination"/> from <paramref name="guestPhysical"/> on.</summary>
        bool TryRead(ulong guestPhysical, Span<byte> destination);
    }
}
