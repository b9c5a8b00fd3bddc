using Partition.Memory;

namespace Partition.Kernel
{
    /// <summary>
    /// The hypervisor's own source of physical pages (VMXON regions, and later VMCSs and page
    /// tables). Physical memory is identity mapped, so a page's physical address is also where
    /// the hypervisor reads and writes it.
    /// </summary>
    public static unsafe class PageAllocator
    {
        private static PhysicalMemory s_memory;

        public static void Initialize(PhysicalMemory memory) => s_memory = memory;

        public static PhysicalMemory Memory => s_memory;

        /// <summary>One zeroed 4 KiB page; running out at boot is fatal.</summary>
        public static ulong AllocateZeroedPage()
        {
            if (s_memory == null || !s_memory.TryAllocatePages(1, out ulong page))
            {
                Panic.Stop("out of physical memory for the hypervisor's own pages");
                return 0;
            }
            Cpu.Zero((void*)page, PhysicalMemory.PageSize);
            return page;
        }
    }
}
