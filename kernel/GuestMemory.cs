namespace Partition.Kernel
{
    /// <summary>
    /// Reading a guest's memory the way its CPU would: linear to guest-physical through the
    /// guest's own page tables (none, or 4-level paging in long mode; SDM Vol. 3A, 4.5), with
    /// every table read checked against the partition's memory.
    /// </summary>
    public static unsafe class GuestMemory
    {
        private const ulong Present = 1;
        private const ulong LargePage = 1UL << 7;
        private const ulong AddressMask = 0x000F_FFFF_FFFF_F000UL;

        public static bool TryTranslate(VirtualMachine vm, ulong linear, ulong cr0, ulong cr3, ulong cr4, ulong efer, out ulong physical)
        {
            physical = 0;
            bool paging = (cr0 & 1UL << 31) != 0;
            if (!paging)
            {
                physical = linear & 0xFFFF_FFFF;
                return vm.IsRam(physical);
            }
            bool longMode = (efer & 1UL << 10) != 0 && (cr4 & 1UL << 5) != 0;
            if (!longMode)
                return false;   // 32-bit paging and PAE without long mode: not decoded
            ulong table = cr3 & AddressMask;
            for (int level = 3; level >= 0; level--)
            {
                ulong* entries = (ulong*)vm.GuestPointer(table, 4096);
                if (entries == null)
                    return false;
                ulong entry = entries[linear >> (12 + 9 * level) & 0x1FF];
                if ((entry & Present) == 0)
                    return false;
                if (level == 0 || (level <= 2 && (entry & LargePage) != 0))
                {
                    ulong size = 1UL << (12 + 9 * level);
                    physical = (entry & AddressMask & ~(size - 1)) + (linear & (size - 1));
                    return vm.IsRam(physical);
                }
                table = entry & AddressMask;
            }
            return false;
        }
    }
}
