using System;

namespace Partition.Kernel
{
    /// <summary>
    /// The seam through which firmware tables are read at their host-physical addresses
    /// (<see cref="HostAcpi"/>). Implemented by structs and passed as a generic
    /// <c>ref TMemory</c>, as <see cref="IGuestPhysicalMemory"/> is, so that the image calls it
    /// directly: <see cref="IdentityMappedMemory"/> in the hypervisor, byte arrays placed at
    /// addresses in the tests. A read fails, rather than faults, where nothing can be read.
    /// </summary>
    public interface IPhysicalMemoryReader
    {
        /// <summary>Fills <paramref name="destination"/> from <paramref name="physical"/> on; false if any of it cannot be read.</summary>
        bool TryRead(ulong physical, Span<byte> destination);
    }
}
