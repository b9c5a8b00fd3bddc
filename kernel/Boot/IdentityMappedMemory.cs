using System;

namespace Partition.Kernel
{
    /// <summary>
    /// Physical memory as the hypervisor sees it: identity mapped by the boot stub's page tables
    /// (boot.asm maps 0-4 GiB), so a physical address is a pointer. Reads outside
    /// [<see cref="MinimumAddress"/>, limit) fail instead of faulting: a firmware table whose
    /// address is 0 or lies above the mapping gives an error naming it.
    /// </summary>
    public readonly unsafe struct IdentityMappedMemory : IPhysicalMemoryReader
    {
        /// <summary>What the boot stub maps: the first 4 GiB.</summary>
        public const ulong BootMappingLimit = 1UL << 32;

        /// <summary>Page 0 is never a table: a null pointer is a missing address, not one to read.</summary>
        public const ulong MinimumAddress = 0x1000;

        private readonly ulong _limit;

        /// <param name="limit">The end of the identity mapping: <see cref="BootMappingLimit"/> in the image.</param>
        public IdentityMappedMemory(ulong limit) => _limit = limit;

        public bool TryRead(ulong physical, Span<byte> destination)
        {
            ulong length = (ulong)destination.Length;
            if (physical < MinimumAddress || physical >= _limit || _limit - physical < length)
                return false;
            new ReadOnlySpan<byte>((void*)physical, destination.Length).CopyTo(destination);
            return true;
        }
    }
}
