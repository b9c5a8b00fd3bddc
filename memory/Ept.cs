using System;
using Partition.Kernel;

namespace Partition.Memory
{
    /// <summary>EPT memory types (SDM Vol. 3C, 29.3.7): write-back for RAM, uncacheable for MMIO.</summary>
    public enum EptMemoryType : ulong
    {
        Uncacheable = 0,
        WriteBack = 6,
    }

    /// <summary>Access a guest gets to a mapping (EPT entry bits 0, 1, 2).</summary>
    [Flags]
    public enum EptAccess : ulong
    {
        None = 0,
        Read = 1,
        Write = 2,
        Execute = 4,
        ReadWrite = Read | Write,
        All = Read | Write | Execute,
    }

    /// <summary>One contiguous guest-physical to host-physical mapping.</summary>
    public readonly struct EptMapping
    {
        public EptMapping(ulong guestPhysical, ulong hostPhysical, ulong size, EptAccess access, EptMemoryType type)
        {
            GuestPhysical = guestPhysical;
            HostPhysical = hostPhysical;
            Size = size;
            Access = access;
            Type = type;
        }

        public ulong GuestPhysical { get; }
        public ulong HostPhysical { get; }
        public ulong Size { get; }
        public EptAccess Access { get; }
        public EptMemoryType Type { get; }
    }

    /// <summary>Why an EPT could not be built.</summary>
    public enum EptError
    {
        None,
        Misaligned,
        Overlap,
        OutOfMemory,
        BeyondAddressWidth,
    }

    /// <summary>
    /// A partition's extended page tables (SDM Vol. 3C, 29.3): four levels, built from its
    /// mappings with the largest pages alignment allows (1 GiB, 2 MiB, else 4 KiB). Anything not
    /// mapped is absent, so a guest access there is an EPT violation. Table pages come from the
    /// hypervisor's page allocator and are identity mapped, so their physical address is also
    /// where they are written.
    /// </summary>
    public sealed unsafe class EptTables
    {
        private const ulong Page4K = 1UL << 12;
        private const ulong Page2M = 1UL << 21;
        private const ulong Page1G = 1UL << 30;
        private const ulong AddressMask = 0x000F_FFFF_FFFF_F000UL;
        private const ulong LargePage = 1UL << 7;
        private const ulong IgnorePat = 1UL << 6;
        private const ulong MaxGuestPhysical = 1UL << 48;

        private readonly bool _allow1G;

        private EptTables(ulong pml4, bool allow1G)
        {
            Pml4 = pml4;
            _allow1G = allow1G;
        }

        /// <summary>Physical address of the top table.</summary>
        public ulong Pml4 { get; }

        /// <summary>
        /// The EPT pointer for the VMCS: write-back paging structures, a 4-level walk
        /// (SDM Vol. 3C, 25.6.11: bits 2:0 type, bits 5:3 walk length minus one).
        /// </summary>
        public ulong Pointer => Pml4 | (3UL << 3) | (ulong)EptMemoryType.WriteBack;

        public int PagesUsed { get; private set; } = 1;
        public int LargePages1G { get; private set; }
        public int LargePages2M { get; private set; }
        public int Pages4K { get; private set; }

        /// <summary>Builds tables for the mappings; 1 GiB pages only if the CPU has them.</summary>
        public static EptError TryBuild(ReadOnlySpan<EptMapping> mappings, bool allow1G, out EptTables tables)
        {
            tables = null;
            if (!PageAllocatorHasPage(out ulong pml4))
                return EptError.OutOfMemory;
            var built = new EptTables(pml4, allow1G);
            for (int i = 0; i < mappings.Length; i++)
            {
                EptError error = built.Map(mappings[i]);
                if (error != EptError.None)
                    return error;
            }
            tables = built;
            return EptError.None;
        }

        private static bool PageAllocatorHasPage(out ulong page)
        {
            page = 0;
            if (PageAllocator.Memory == null || !PageAllocator.Memory.TryAllocatePages(1, out page))
                return false;
            Zero(page);
            return true;
        }

        private static void Zero(ulong page) => Cpu.Zero((void*)page, 4096);

        private EptError Map(in EptMapping m)
        {
            if ((m.GuestPhysical | m.HostPhysical | m.Size) % Page4K != 0)
                return EptError.Misaligned;
            if (m.GuestPhysical + m.Size > MaxGuestPhysical || m.GuestPhysical + m.Size < m.GuestPhysical)
                return EptError.BeyondAddressWidth;
            ulong leafBits = (ulong)m.Access | ((ulong)m.Type << 3) | IgnorePat;
            ulong done = 0;
            while (done < m.Size)
            {
                ulong guest = m.GuestPhysical + done;
                ulong host = m.HostPhysical + done;
                ulong left = m.Size - done;
                int level;
                ulong size;
                if (_allow1G && left >= Page1G && guest % Page1G == 0 && host % Page1G == 0) { level = 2; size = Page1G; }
                else if (left >= Page2M && guest % Page2M == 0 && host % Page2M == 0) { level = 1; size = Page2M; }
                else { level = 0; size = Page4K; }
                EptError error = SetLeaf(guest, host, level, leafBits);
                if (error != EptError.None)
                    return error;
                done += size;
            }
            return EptError.None;
        }

        // level: 2 = 1 GiB (PDPTE), 1 = 2 MiB (PDE), 0 = 4 KiB (PTE).
        private EptError SetLeaf(ulong guest, ulong host, int level, ulong leafBits)
        {
            ulong table = Pml4;
            for (int depth = 3; depth > level; depth--)
            {
                ulong* entry = (ulong*)table + Index(guest, depth);
                if (*entry == 0)
                {
                    if (!PageAllocatorHasPage(out ulong next))
                        return EptError.OutOfMemory;
                    PagesUsed++;
                    *entry = next | (ulong)EptAccess.All;
                }
                else if ((*entry & LargePage) != 0)
                {
                    return EptError.Overlap;
                }
                table = *entry & AddressMask;
            }
            ulong* leaf = (ulong*)table + Index(guest, level);
            if (*leaf != 0)
                return EptError.Overlap;
            *leaf = host | leafBits | (level > 0 ? LargePage : 0);
            if (level == 2) LargePages1G++;
            else if (level == 1) LargePages2M++;
            else Pages4K++;
            return EptError.None;
        }

        private static int Index(ulong address, int depth) => (int)(address >> (12 + 9 * depth) & 0x1FF);

        /// <summary>Walks the tables like the CPU: the host address, access and type of a guest-physical address.</summary>
        public bool Translate(ulong guest, out ulong host, out EptAccess access, out EptMemoryType type)
        {
            host = 0;
            access = EptAccess.None;
            type = EptMemoryType.Uncacheable;
            ulong table = Pml4;
            for (int depth = 3; depth >= 0; depth--)
            {
                ulong entry = ((ulong*)table)[Index(guest, depth)];
                if ((entry & 7) == 0)
                    return false;
                bool leaf = depth == 0 || (entry & LargePage) != 0;
                if (leaf)
                {
                    ulong pageSize = 1UL << (12 + 9 * depth);
                    host = (entry & AddressMask & ~(pageSize - 1)) + (guest & (pageSize - 1));
                    access = (EptAccess)(entry & 7);
                    type = (EptMemoryType)(entry >> 3 & 7);
                    return true;
                }
                table = entry & AddressMask;
            }
            return false;
        }

        /// <summary>INVEPT (single context) for these tables, after a change while they are in use.</summary>
        public VmxInstructionStatus Invalidate() => Vmx.InvalidateEpt(1, Pointer);

        public static string Describe(EptError error) => error switch
        {
            EptError.None => "built",
            EptError.Misaligned => "a mapping is not 4 KiB aligned",
            EptError.Overlap => "two mappings cover the same guest-physical page",
            EptError.OutOfMemory => "no physical page left for the tables",
            EptError.BeyondAddressWidth => "a mapping ends beyond the 48-bit guest-physical address space",
            _ => "unknown EPT error",
        };
    }
}
