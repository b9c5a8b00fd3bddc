namespace Partition.Kernel
{
    /// <summary>The guest's paging mode (SDM Vol. 3A, 4.1.1, table 4-1).</summary>
    public enum GuestPagingMode : byte
    {
        /// <summary>CR0.PG = 0: linear addresses are physical addresses.</summary>
        Off,
        /// <summary>32-bit paging (CR4.PAE = 0), with 4 MiB pages if CR4.PSE = 1 (SDM 4.3).</summary>
        Bit32,
        /// <summary>PAE paging (CR4.PAE = 1, IA-32e mode off; SDM 4.4).</summary>
        Pae,
        /// <summary>4-level paging (IA-32e mode, CR4.LA57 = 0; SDM 4.5).</summary>
        Level4,
        /// <summary>5-level paging (IA-32e mode, CR4.LA57 = 1; SDM 4.5).</summary>
        Level5,
    }

    /// <summary>
    /// The guest state a page walk depends on: CR0, CR3, CR4, IA32_EFER as the VMCS holds
    /// them, the guest's MAXPHYADDR (CPUID.80000008H:EAX[7:0], which decides the reserved bits)
    /// and, for PAE paging, optionally the four PDPTEs the processor has loaded.
    /// </summary>
    public readonly struct GuestPaging
    {
        private const ulong Cr0Pg = 1UL << 31;
        private const ulong Cr4Pse = 1UL << 4;
        private const ulong Cr4Pae = 1UL << 5;
        private const ulong Cr4La57 = 1UL << 12;
        private const ulong EferNxe = 1UL << 11;
        private const ulong EferLma = 1UL << 10;

        /// <param name="maxPhysicalAddress">The guest's MAXPHYADDR, 32 to 52.</param>
        public GuestPaging(ulong cr0, ulong cr3, ulong cr4, ulong efer, int maxPhysicalAddress)
        {
            Cr3 = cr3;
            MaxPhysicalAddress = maxPhysicalAddress < 32 ? 32 : maxPhysicalAddress > 52 ? 52 : maxPhysicalAddress;
            Pse = (cr4 & Cr4Pse) != 0;
            Nxe = (efer & EferNxe) != 0;
            // Table 4-1. EFER.LMA, not LME: the VMCS's EFER says whether IA-32e mode is active.
            Mode = (cr0 & Cr0Pg) == 0 ? GuestPagingMode.Off
                : (cr4 & Cr4Pae) == 0 ? GuestPagingMode.Bit32
                : (efer & EferLma) == 0 ? GuestPagingMode.Pae
                : (cr4 & Cr4La57) == 0 ? GuestPagingMode.Level4
                : GuestPagingMode.Level5;
            HasPdptes = false;
            Pdpte0 = Pdpte1 = Pdpte2 = Pdpte3 = 0;
        }

        private GuestPaging(in GuestPaging paging, ulong pdpte0, ulong pdpte1, ulong pdpte2, ulong pdpte3)
        {
            this = paging;
            HasPdptes = true;
            Pdpte0 = pdpte0;
            Pdpte1 = pdpte1;
            Pdpte2 = pdpte2;
            Pdpte3 = pdpte3;
        }

        /// <summary>
        /// The same state with the PDPTEs taken from the VMCS (guest PDPTE0-3). With EPT and PAE
        /// paging the processor translates through the PDPTEs it loaded with CR3 or at VM entry,
        /// not the ones in memory, which the guest may have changed since (SDM Vol. 3A, 4.4.1;
        /// Vol. 3C, 26.3.2.4 and 28.3.4.1).
        /// </summary>
        public GuestPaging WithPdptes(ulong pdpte0, ulong pdpte1, ulong pdpte2, ulong pdpte3) =>
            new(this, pdpte0, pdpte1, pdpte2, pdpte3);

        public GuestPagingMode Mode { get; }
        public ulong Cr3 { get; }
        public int MaxPhysicalAddress { get; }
        /// <summary>CR4.PSE: 4 MiB pages in 32-bit paging.</summary>
        public bool Pse { get; }
        /// <summary>EFER.NXE: bit 63 of PAE and IA-32e entries is XD, not reserved.</summary>
        public bool Nxe { get; }
        public bool HasPdptes { get; }
        public ulong Pdpte0 { get; }
        public ulong Pdpte1 { get; }
        public ulong Pdpte2 { get; }
        public ulong Pdpte3 { get; }

        /// <summary>Bits MAXPHYADDR-1:12, the page-frame field of PAE and IA-32e entries and of CR3.</summary>
        internal ulong FrameMask => (1UL << MaxPhysicalAddress) - 4096;

        internal ulong Pdpte(int index) => index switch { 0 => Pdpte0, 1 => Pdpte1, 2 => Pdpte2, _ => Pdpte3 };
    }
}
