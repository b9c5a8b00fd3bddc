using Partition.Configs;

namespace Partition.Kernel
{
    /// <summary>
    /// Where a flat binary goes: copied as it is to its load address in the partition's RAM (one
    /// block at guest-physical 0), and for a long64 partition below the identity-mapping page
    /// tables the hypervisor builds at the top of that RAM. What does not fit is refused before
    /// any memory is taken, at boot (<c>VirtualMachine.TryCreate</c>)
    /// and by 'partition check --images', in the same words.
    /// </summary>
    public static class FlatImage
    {
        /// <summary>PML4, PDPT and four page directories: the first 4 GiB identity mapped.</summary>
        public const ulong LongModePageTablesSize = 6 * 4096;

        /// <summary>
        /// True if an image of <paramref name="imageSize"/> bytes loaded at
        /// <paramref name="loadAddress"/> lies inside <paramref name="memorySize"/> bytes of RAM
        /// (and, for <paramref name="long64"/>, below the page tables at its top); otherwise
        /// <paramref name="error"/> says why. Subtractions only, on checked operands: a load
        /// address near 2^64 must not wrap into range.
        /// </summary>
        public static bool Fits(ulong imageSize, ulong loadAddress, ulong memorySize, bool long64, out string error)
        {
            if (loadAddress >= memorySize)
            {
                error = string.Concat("the load address ", ConfigText.Hex(loadAddress), string.Concat(" is outside the partition's memory (",
                    ConfigText.Size(memorySize), " from guest-physical 0)"));
                return false;
            }
            if (imageSize > memorySize - loadAddress)
            {
                error = "the image does not fit between its load address and the end of the partition's memory";
                return false;
            }
            if (long64 && memorySize < LongModePageTablesSize)
            {
                error = string.Concat("a long64 partition's memory (", ConfigText.Size(memorySize), string.Concat(") is smaller than the page tables (",
                    ConfigText.Size(LongModePageTablesSize), ") the hypervisor builds at its top"));
                return false;
            }
            if (long64 && loadAddress + imageSize > memorySize - LongModePageTablesSize)
            {
                error = "the image overlaps the page tables at the top of a long64 partition's memory";
                return false;
            }
            error = null;
            return true;
        }

        /// <summary>
        /// True if <paramref name="entry"/> is one of the image's own bytes as loaded (from
        /// <paramref name="loadAddress"/>, <paramref name="imageSize"/> of them); otherwise
        /// <paramref name="error"/> says why: anywhere else the guest would start in zeroed RAM.
        /// </summary>
        public static bool EntryInside(ulong entry, ulong imageSize, ulong loadAddress, out string error)
        {
            if (entry >= loadAddress && entry - loadAddress < imageSize)
            {
                error = null;
                return true;
            }
            error = string.Concat("the entry point ", ConfigText.Hex(entry), string.Concat(" is not inside the image (", ConfigText.Size(imageSize),
                string.Concat(" loaded at ", ConfigText.Hex(loadAddress), "): the guest would start in zeroed memory")));
            return false;
        }
    }
}
