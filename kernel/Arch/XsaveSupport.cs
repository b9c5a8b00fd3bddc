namespace Partition.Kernel
{
    /// <summary>
    /// The extended processor state guests may use (SDM Vol. 1, chapter 13): x87 and SSE, whose
    /// registers the VM exit and entry save and restore with FXSAVE/FXRSTOR around the
    /// hypervisor's own code (which uses SSE registers), and AVX (XSAVE component 2, the upper
    /// halves of YMM0-15) when the processor has it. The hypervisor has no VEX instructions and
    /// legacy SSE leaves the upper halves alone, so those stay the running vCPU's across its
    /// exits: GuestMsrs saves and restores them with XSAVE/XRSTOR only when a core changes
    /// vCPU, with XCR0. Guests get XSAVE in CPUID and may set XCR0 to any valid combination of
    /// these (XSETBV exits: ExitDispatch checks it). Later components (AVX-512, AMX, PKRU) are
    /// not offered: nothing switches them.
    /// </summary>
    public static class XsaveSupport
    {
        public const ulong X87 = 1, Sse = 2, Avx = 4;
        private const ulong Cr4Osxsave = 1UL << 18;

        /// <summary>The XCR0 bits a guest may set: 0 when the processor has no XSAVE (then CPUID offers none).</summary>
        public static ulong GuestMask { get; private set; }

        /// <summary>On the boot CPU, after <see cref="HostCpuid.Initialize"/>: what to offer, and XSAVE on for this CPU.</summary>
        public static void Initialize()
        {
            var leaf1 = HostCpuid.Leaf(1, 0);
            GuestMask = 0;
            if ((leaf1.Ecx & 1u << 26) == 0)
                return;
            ulong supported = HostCpuid.Leaf(0xD, 0).Eax;
            GuestMask = X87 | Sse;
            if ((leaf1.Ecx & 1u << 28) != 0 && (supported & Avx) != 0)
                GuestMask |= Avx;
            EnableOnThisCpu();
        }

        /// <summary>CR4.OSXSAVE on the calling CPU (every CPU, before its VMCSs take CR4 as host state).</summary>
        public static void EnableOnThisCpu()
        {
            if (GuestMask != 0)
                Cpu.WriteCr4(Cpu.ReadCr4() | Cr4Osxsave);
        }

        /// <summary>
        /// Whether XSETBV may set XCR0 to <paramref name="value"/> (SDM Vol. 2D, XSETBV: x87 always,
        /// AVX only with SSE, nothing outside what is offered).
        /// </summary>
        public static bool IsValidXcr0(ulong value) =>
            GuestMask != 0 && (value & X87) != 0 && (value & ~GuestMask) == 0 && ((value & Avx) == 0 || (value & Sse) != 0);

        /// <summary>The size of a standard-format XSAVE area for the components in <paramref name="xcr0"/> (CPUID 0xD: 576, plus 256 with AVX).</summary>
        public static uint AreaSize(ulong xcr0) => (xcr0 & Avx) != 0 ? 832u : 576u;
    }
}
