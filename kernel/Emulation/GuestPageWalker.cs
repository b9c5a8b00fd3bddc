using System;

namespace Partition.Kernel
{
    /// <summary>Why a guest page walk stopped (SDM Vol. 3A, 4.7: the causes of a page fault the walk itself finds).</summary>
    public enum GuestWalkStatus : byte
    {
        Ok,
        /// <summary>An entry on the way had P = 0.</summary>
        NotPresent,
        /// <summary>A present entry had a reserved bit set (SDM 4.3, 4.4.2, 4.5.4).</summary>
        ReservedBit,
        /// <summary>A paging structure, or the bytes read, lie outside the guest's RAM.</summary>
        OutsideGuestMemory,
        /// <summary>An IA-32e linear address that is not canonical (SDM Vol. 3A, 4.5; Vol. 1, 3.3.7.1).</summary>
        NonCanonical,
    }

    /// <summary>
    /// The paging structure an entry lives in, numbered as in SDM Vol. 3A, chapter 4: the entry
    /// that failed, or the one that mapped the page (PageDirectory with a large page: 2 MiB or
    /// 4 MiB; PageDirectoryPointerTable: 1 GiB).
    /// </summary>
    public enum GuestPagingLevel : byte
    {
        None = 0,
        PageTable = 1,
        PageDirectory = 2,
        PageDirectoryPointerTable = 3,
        Pml4 = 4,
        Pml5 = 5,
    }

    /// <summary>
    /// Translates guest-linear addresses to guest-physical ones through the guest's own page
    /// tables, as its processor did: paging off, 32-bit paging (4 MiB pages with CR4.PSE), PAE
    /// paging, 4- and 5-level paging (1 GiB and 2 MiB pages). Only what decides the translation
    /// is checked, present bits and reserved bits: access rights are not (the guest already ran
    /// the instruction whose exit is being handled). The walk neither sets accessed or dirty
    /// bits nor consults the guest's TLB.
    /// </summary>
    public static class GuestPageWalker
    {
        private const ulong Present = 1;
        private const ulong PageSize = 1UL << 7;
        private const ulong ExecuteDisable = 1UL << 63;

        /// <summary>
        /// Translates <paramref name="linear"/>. On success, <paramref name="level"/> is the level
        /// of the entry that mapped the page; on failure, the level where the walk stopped
        /// (<see cref="GuestPagingLevel.None"/> with paging off or for a non-canonical address).
        /// The physical address itself is not checked: an MMIO address is a valid result.
        /// </summary>
        public static GuestWalkStatus Translate<TMemory>(ref TMemory memory, in GuestPaging paging, ulong linear,
            out ulong physical, out GuestPagingLevel level) where TMemory : struct, IGuestPhysicalMemory
        {
            switch (paging.Mode)
            {
                case GuestPagingMode.Off:
                    // IA-32e mode needs paging, so without it linear addresses have 32 bits.
                    physical = linear & 0xFFFF_FFFF;
                    level = GuestPagingLevel.None;
                    return GuestWalkStatus.Ok;
                case GuestPagingMode.Bit32:
                    return Walk32(ref memory, in paging, (uint)linear, out physical, out level);
                case GuestPagingMode.Pae:
                    return WalkPae(ref memory, in paging, (uint)linear, out physical, out level);
                default:
                    return WalkIa32e(ref memory, in paging, linear, out physical, out level);
            }
        }

        /// <summary>
        /// Reads the bytes at <paramref name="linear"/> into <paramref name="destination"/> (an
        /// instruction: at most 15 bytes, SDM Vol. 2A, 2.3.11), translating each page separately,
        /// since they may cross into a page mapped elsewhere. <paramref name="fetched"/> counts the
        /// bytes read before a failure: the page after a short instruction may well be unmapped,
        /// so a failure with <paramref name="fetched"/> &gt; 0 is for a later page, and the
        /// decoder says whether it needed those bytes.
        /// </summary>
        public static GuestWalkStatus Fetch<TMemory>(ref TMemory memory, in GuestPaging paging, ulong linear,
            Span<byte> destination, out int fetched) where TMemory : struct, IGuestPhysicalMemory
        {
            fetched = 0;
            while (fetched < destination.Length)
            {
                ulong address = linear + (ulong)fetched;
                if (paging.Mode < GuestPagingMode.Level4)
                    address &= 0xFFFF_FFFF;   // linear addresses wrap at 4 GiB outside IA-32e mode
                var status = Translate(ref memory, in paging, address, out ulong physical, out _);
                if (status != GuestWalkStatus.Ok)
                    return status;
                int chunk = (int)Math.Min((ulong)(destination.Length - fetched), 4096 - (address & 0xFFF));
                if (!memory.TryRead(physical, destination.Slice(fetched, chunk)))
                    return GuestWalkStatus.OutsideGuestMemory;
                fetched += chunk;
            }
            return GuestWalkStatus.Ok;
        }

        /// <summary>
        /// The linear address of the guest's next instruction: CS.base + RIP, where 64-bit mode
        /// treats the CS base as 0 (SDM Vol. 3A, 3.4.4) and other modes wrap at 4 GiB.
        /// </summary>
        public static ulong InstructionLinearAddress(ulong csBase, ulong rip, InstructionMode mode) =>
            mode == InstructionMode.Bits64 ? rip : (csBase + rip) & 0xFFFF_FFFF;

        /// <summary>32-bit paging (SDM 4.3, tables 4-4 to 4-6).</summary>
        private static GuestWalkStatus Walk32<TMemory>(ref TMemory memory, in GuestPaging paging, uint linear,
            out ulong physical, out GuestPagingLevel level) where TMemory : struct, IGuestPhysicalMemory
        {
            physical = 0;
            level = GuestPagingLevel.PageDirectory;
            ulong directory = paging.Cr3 & 0xFFFF_F000;
            if (!TryRead32(ref memory, directory + (linear >> 22) * 4, out uint pde))
                return GuestWalkStatus.OutsideGuestMemory;
            if ((pde & Present) == 0)
                return GuestWalkStatus.NotPresent;
            if (paging.Pse && (pde & PageSize) != 0)
            {
                // A 4 MiB page: PDE bits 20:13 give physical bits M-1:32 (PSE-36), M being at most
                // 40 here; bits 21:(M-19) are reserved (table 4-4).
                int m = Math.Min(paging.MaxPhysicalAddress, 40);
                uint reserved = (1u << 22) - (1u << (m - 19));
                if ((pde & reserved) != 0)
                    return GuestWalkStatus.ReservedBit;
                ulong high = (ulong)(pde >> 13) & ((1UL << (m - 32)) - 1);
                physical = high << 32 | (pde & 0xFFC0_0000u) | (linear & 0x003F_FFFFu);
                return GuestWalkStatus.Ok;
            }
            // Without CR4.PSE the PS bit is ignored: the PDE references a page table.
            level = GuestPagingLevel.PageTable;
            if (!TryRead32(ref memory, (pde & 0xFFFF_F000u) + (linear >> 12 & 0x3FF) * 4, out uint pte))
                return GuestWalkStatus.OutsideGuestMemory;
            if ((pte & Present) == 0)
                return GuestWalkStatus.NotPresent;
            physical = (pte & 0xFFFF_F000u) | (linear & 0xFFFu);
            return GuestWalkStatus.Ok;
        }

        /// <summary>PAE paging (SDM 4.4, tables 4-7 to 4-11).</summary>
        private static GuestWalkStatus WalkPae<TMemory>(ref TMemory memory, in GuestPaging paging, uint linear,
            out ulong physical, out GuestPagingLevel level) where TMemory : struct, IGuestPhysicalMemory
        {
            physical = 0;
            level = GuestPagingLevel.PageDirectoryPointerTable;
            int index = (int)(linear >> 30);
            ulong pdpte;
            if (paging.HasPdptes)
                pdpte = paging.Pdpte(index);
            else if (!memory.TryRead64((paging.Cr3 & 0xFFFF_FFE0) + (ulong)index * 8, out pdpte))
                return GuestWalkStatus.OutsideGuestMemory;
            if ((pdpte & Present) == 0)
                return GuestWalkStatus.NotPresent;
            // PDPTE: bits 63:M, 8:5 and 2:1 are reserved (table 4-8).
            ulong frame = paging.FrameMask;
            if ((pdpte & (~(frame | 0xFFFUL) | 0x1E6)) != 0)
                return GuestWalkStatus.ReservedBit;
            // PDE and PTE: bits 62:M are reserved, and bit 63 unless EFER.NXE (tables 4-9 to 4-11).
            ulong reserved = ~(frame | 0xFFFUL) & ~(paging.Nxe ? ExecuteDisable : 0);

            level = GuestPagingLevel.PageDirectory;
            if (!memory.TryRead64((pdpte & frame) + (linear >> 21 & 0x1FF) * 8, out ulong pde))
                return GuestWalkStatus.OutsideGuestMemory;
            if ((pde & Present) == 0)
                return GuestWalkStatus.NotPresent;
            if ((pde & PageSize) != 0)
                return Leaf(pde, reserved, frame, 21, linear, out physical);
            if ((pde & reserved) != 0)
                return GuestWalkStatus.ReservedBit;

            level = GuestPagingLevel.PageTable;
            if (!memory.TryRead64((pde & frame) + (linear >> 12 & 0x1FF) * 8, out ulong pte))
                return GuestWalkStatus.OutsideGuestMemory;
            if ((pte & Present) == 0)
                return GuestWalkStatus.NotPresent;
            return Leaf(pte, reserved, frame, 12, linear, out physical);
        }

        /// <summary>4-level and 5-level paging (SDM 4.5, tables 4-14 to 4-20).</summary>
        private static GuestWalkStatus WalkIa32e<TMemory>(ref TMemory memory, in GuestPaging paging, ulong linear,
            out ulong physical, out GuestPagingLevel level) where TMemory : struct, IGuestPhysicalMemory
        {
            physical = 0;
            int top = paging.Mode == GuestPagingMode.Level5 ? 5 : 4;
            // Canonical: bits 63:47 (63:56 with LA57) all equal.
            int width = top == 5 ? 57 : 48;
            if ((ulong)((long)(linear << (64 - width)) >> (64 - width)) != linear)
            {
                level = GuestPagingLevel.None;
                return GuestWalkStatus.NonCanonical;
            }
            ulong frame = paging.FrameMask;
            // Bits 51:M are reserved in every entry, bit 63 too unless EFER.NXE; bits 62:52 are
            // ignored (or protection keys), never reserved.
            ulong reserved = ((1UL << 52) - 1) & ~(frame | 0xFFFUL) | (paging.Nxe ? 0 : ExecuteDisable);
            ulong table = paging.Cr3 & frame;
            for (int n = top; n >= 1; n--)
            {
                level = (GuestPagingLevel)n;
                int shift = 12 + 9 * (n - 1);
                if (!memory.TryRead64(table + (linear >> shift & 0x1FF) * 8, out ulong entry))
                    return GuestWalkStatus.OutsideGuestMemory;
                if ((entry & Present) == 0)
                    return GuestWalkStatus.NotPresent;
                // PS is reserved in a PML4E and a PML5E (tables 4-14, 4-15); in a PDPTE it maps a
                // 1 GiB page, in a PDE a 2 MiB page; a PTE's bit 7 is PAT.
                if (n >= 4 && (entry & PageSize) != 0)
                    return GuestWalkStatus.ReservedBit;
                if (n == 1 || (n <= 3 && (entry & PageSize) != 0))
                    return Leaf(entry, reserved, frame, shift, linear, out physical);
                if ((entry & reserved) != 0)
                    return GuestWalkStatus.ReservedBit;
                table = entry & frame;
            }
            level = GuestPagingLevel.None;
            return GuestWalkStatus.Ok;   // not reached: level 1 always ends the walk
        }

        /// <summary>
        /// An entry that maps a page of 2^<paramref name="shift"/> bytes. In a large page, the bits
        /// between PAT (bit 12) and the page's base are reserved as well (tables 4-9, 4-17, 4-18).
        /// </summary>
        private static GuestWalkStatus Leaf(ulong entry, ulong reserved, ulong frame, int shift, ulong linear, out ulong physical)
        {
            ulong offset = (1UL << shift) - 1;
            if (shift > 12)
                reserved |= offset & ~0x1FFFUL;
            if ((entry & reserved) != 0)
            {
                physical = 0;
                return GuestWalkStatus.ReservedBit;
            }
            physical = (entry & frame & ~offset) | (linear & offset);
            return GuestWalkStatus.Ok;
        }

        /// <summary>
        /// A 32-bit paging entry. Entries are 4-byte aligned, so the aligned 8 bytes holding one
        /// lie in the same 4 KiB table: one seam method serves both entry sizes.
        /// </summary>
        private static bool TryRead32<TMemory>(ref TMemory memory, ulong address, out uint value)
            where TMemory : struct, IGuestPhysicalMemory
        {
            bool ok = memory.TryRead64(address & ~7UL, out ulong pair);
            value = (uint)(pair >> (int)((address & 4) * 8));
            return ok;
        }
    }
}
