using Partition.Devices;

namespace Partition.Kernel
{
    /// <summary>
    /// What CPUID tells a guest (SDM Vol. 2A, CPUID; Vol. 3A, chapter 8 for topology): the host
    /// processor's answer, less every feature the hypervisor does not give the guest, plus the
    /// ones it emulates, and the partition's own topology and clocks. The rule is an allow-list:
    /// a feature bit reaches the guest only if the guest can really use it under Partition.
    /// <list type="bullet">
    /// <item>Emulated: the local APIC (xAPIC and x2APIC) with the TSC-deadline timer (always
    /// running, ARAT), IA32_TSC_ADJUST, the hypervisor bit and the "Partition HV" leaves.</item>
    /// <item>Withheld: VMX and SMX (no nested virtualization), the PMU, MONITOR/MWAIT (their
    /// instructions exit), machine-check architecture, thermal and power management, debug
    /// store, the XSAVE components nothing switches (AVX-512, MPX, PKU, AMX: XSAVE offers x87,
    /// SSE and AVX, <see cref="XsaveSupport"/>), XSAVES, PCID and INVPCID, TSX, SGX, processor trace, speculation-control
    /// MSRs, 5-level paging.</item>
    /// <item>Topology: vCPU <c>i</c> has APIC ID <c>i</c>; the partition is one package of
    /// single-threaded cores (leaves 1, 4 and 0xB agree).</item>
    /// <item>Clocks: leaf 0x15 reports a crystal at the TSC's rate (ratio 1/1; below 2^32 Hz,
    /// else TSC/2, TSC/3, ...), which is also the virtual APIC timer's input, and leaf 0x16 the TSC's MHz, so that a guest knows both
    /// without calibrating against a PIT or HPET it does not have.</item>
    /// </list>
    /// </summary>
    public static class CpuidPolicy
    {
        /// <summary>The highest basic leaf a guest sees: 0x16 (the frequency leaf), or the host's if higher is not needed.</summary>
        public const uint MaxBasicLeaf = 0x16;
        public const uint MaxExtendedLeaf = 0x8000_0008;
        public const uint HypervisorLeaf = 0x4000_0000;

        // Leaf 1 ECX and EDX: the bits passed through from the host (everything else is 0).
        private const uint Leaf1EcxKept = 1u << 0 | 1u << 1 | 1u << 9 | 1u << 13 | 1u << 19 | 1u << 20 | 1u << 22 | 1u << 23 | 1u << 25 | 1u << 30;
        private const uint Leaf1EcxX2Apic = 1u << 21, Leaf1EcxTscDeadline = 1u << 24, Leaf1EcxHypervisor = 1u << 31;
        private const uint Leaf1EcxXsave = 1u << 26, Leaf1EcxOsxsave = 1u << 27;
        // AVX and the VEX-encoded extensions built on its state: FMA, AVX, F16C.
        private const uint Leaf1EcxAvxFamily = 1u << 12 | 1u << 28 | 1u << 29;
        private const uint Leaf7EbxAvx2 = 1u << 5;
        // FPU VME DE PSE TSC MSR PAE CX8 APIC SEP MTRR PGE CMOV PAT PSE36 CLFSH MMX FXSR SSE SSE2 SS
        // (not MCE, MCA, PSN, DS, ACPI, TM, PBE); APIC is set whatever the host says (emulated).
        private const uint Leaf1EdxKept = 0x0F8B_BB7F;
        private const uint Leaf1EdxApic = 1u << 9;
        private const uint Leaf1EdxHtt = 1u << 28;

        // Leaf 7.0 EBX: FSGSBASE BMI1 SMEP BMI2 ERMS FDP_EXCPTN_ONLY deprecated-FPU-CS/DS RDSEED ADX SMAP CLFLUSHOPT CLWB SHA.
        private const uint Leaf7EbxKept = 1u << 0 | 1u << 3 | 1u << 6 | 1u << 7 | 1u << 8 | 1u << 9 | 1u << 13 | 1u << 18 | 1u << 19 | 1u << 20 | 1u << 23 | 1u << 24 | 1u << 29;
        /// <summary>
        /// IA32_TSC_ADJUST, emulated through TSC offsetting. With an invariant TSC it also tells
        /// Linux that the TSC needs no clocksource watchdog (arch/x86/kernel/tsc.c): a partition
        /// has no HPET or PM timer to check it against, and its jiffies lag whenever its own
        /// interrupts are off for longer than a tick.
        /// </summary>
        private const uint Leaf7EbxTscAdjust = 1u << 1;

        // Leaf 7.0 ECX: UMIP GFNI RDPID CLDEMOTE MOVDIRI MOVDIR64B.
        private const uint Leaf7EcxKept = 1u << 2 | 1u << 8 | 1u << 22 | 1u << 25 | 1u << 27 | 1u << 28;
        // Leaf 7.0 EDX: FSRM, MD_CLEAR, SERIALIZE, and ARCH_CAPABILITIES if the host has it
        // (its value is the host's: what the guest may rely on about the processor is true of it).
        public const uint Leaf7EdxArchCapabilities = 1u << 29;
        private const uint Leaf7EdxKept = 1u << 4 | 1u << 10 | 1u << 14 | Leaf7EdxArchCapabilities;

        // Leaf 0x80000001: LAHF/SAHF, LZCNT, PREFETCHW; SYSCALL, NX, 1-GiB pages, RDTSCP, long mode.
        private const uint Extended1EcxKept = 1u << 0 | 1u << 5 | 1u << 8;
        private const uint Extended1EdxKept = 1u << 11 | 1u << 20 | 1u << 26 | 1u << 27 | 1u << 29;

        /// <summary>
        /// The answer for vCPU <paramref name="apicId"/> of a partition of
        /// <paramref name="vcpuCount"/> vCPUs, given the host's answer for the same leaf
        /// (<paramref name="host"/>, which the caller gets from the real CPUID) and the TSC's
        /// rate. Hypervisor leaves (0x40000000–0x4FFFFFFF) are answered by the caller.
        /// </summary>
        /// <remarks>
        /// <paramref name="rdtscp"/>: the VMCS enables RDTSCP (and with it RDPID); without that
        /// control both raise #UD in a guest, so CPUID must not offer them.
        /// </remarks>
        /// <remarks>
        /// <paramref name="xsaveMask"/>: the XCR0 bits guests may set (0: no XSAVE offered);
        /// <paramref name="xcr0"/> the vCPU's XCR0 now; <paramref name="osxsave"/> its CR4.OSXSAVE.
        /// </remarks>
        public static CpuidResult Answer(uint leaf, uint subleaf, CpuidResult host, uint hostMaxBasic, uint hostMaxExtended,
            uint apicId, int vcpuCount, ulong tscHz, bool rdtscp, ulong xsaveMask, ulong xcr0, bool osxsave)
        {
            var r = new CpuidResult();
            uint maxExtended = hostMaxExtended < MaxExtendedLeaf ? hostMaxExtended : MaxExtendedLeaf;
            if (leaf >= 0x8000_0000 && leaf <= maxExtended)
            {
                switch (leaf)
                {
                    case 0x8000_0000:
                        r.Eax = maxExtended;
                        return r;
                    case 0x8000_0001:
                        r.Ecx = host.Ecx & Extended1EcxKept;
                        r.Edx = host.Edx & Extended1EdxKept & (rdtscp ? ~0u : ~(1u << 27));
                        return r;
                    case 0x8000_0002:
                    case 0x8000_0003:
                    case 0x8000_0004:
                    case 0x8000_0006:
                        return host;                          // brand string, L2 cache
                    case 0x8000_0007:
                        r.Edx = 1u << 8;                      // invariant TSC: the TSC runs at one rate, always
                        return r;
                    case 0x8000_0008:
                        r.Eax = host.Eax & 0xFFFF;            // physical and linear address sizes
                        return r;
                    default:
                        return r;
                }
            }
            // Leaves above the highest, basic or extended, are answered as the highest basic
            // leaf (SDM Vol. 2A, CPUID: "the data for the highest basic information leaf is
            // returned"); here, the frequency leaf.
            if (leaf > MaxBasicLeaf)
                leaf = MaxBasicLeaf;
            switch (leaf)
            {
                case 0:
                    r.Eax = MaxBasicLeaf;
                    r.Ebx = host.Ebx;                         // vendor string
                    r.Ecx = host.Ecx;
                    r.Edx = host.Edx;
                    return r;
                case 1:
                    r.Eax = host.Eax;                         // family, model, stepping
                    r.Ebx = (host.Ebx & 0xFFFF) | (uint)LogicalCountField(vcpuCount) << 16 | apicId << 24;
                    r.Ecx = host.Ecx & Leaf1EcxKept | Leaf1EcxX2Apic | Leaf1EcxTscDeadline | Leaf1EcxHypervisor;
                    if (xsaveMask != 0)
                        r.Ecx |= Leaf1EcxXsave | (osxsave ? Leaf1EcxOsxsave : 0);
                    if ((xsaveMask & XsaveSupport.Avx) != 0)
                        r.Ecx |= host.Ecx & Leaf1EcxAvxFamily;
                    r.Edx = host.Edx & Leaf1EdxKept | Leaf1EdxApic | (vcpuCount > 1 ? Leaf1EdxHtt : 0);
                    return r;
                case 2:
                    return host;                              // cache and TLB descriptors
                case 4:
                {
                    if ((host.Eax & 0x1F) == 0)
                        return r;                             // no more caches
                    // Cores per package in 31:26; threads sharing the cache in 25:14 (the
                    // package-wide last level is shared by all vCPUs, the others by one).
                    uint level = host.Eax >> 5 & 7;
                    uint sharing = level >= 3 ? (uint)vcpuCount - 1 : 0;
                    uint cores = (uint)(vcpuCount > 64 ? 64 : vcpuCount) - 1;
                    r.Eax = (host.Eax & 0x3FFF) | sharing << 14 | cores << 26;
                    r.Ebx = host.Ebx;
                    r.Ecx = host.Ecx;
                    r.Edx = host.Edx;
                    return r;
                }
                case 6:
                    r.Eax = 1u << 2;                          // ARAT: the APIC timer runs in every C-state
                    return r;
                case 7:
                    if (subleaf != 0)
                        return r;
                    r.Ebx = host.Ebx & Leaf7EbxKept | Leaf7EbxTscAdjust | ((xsaveMask & XsaveSupport.Avx) != 0 ? host.Ebx & Leaf7EbxAvx2 : 0);
                    r.Ecx = host.Ecx & Leaf7EcxKept & (rdtscp ? ~0u : ~(1u << 22));
                    r.Edx = host.Edx & Leaf7EdxKept;
                    return r;
                case 0xB:
                    return Topology(subleaf, apicId, vcpuCount);
                case 0xD:
                    return Xsave(subleaf, host, xsaveMask, xcr0);
                case 0x15:
                {
                    // TSC = crystal × EBX / EAX; the crystal is the APIC timer's input clock.
                    uint divider = VirtualLocalApic.InputClockDivider(tscHz);
                    r.Eax = 1;
                    r.Ebx = divider;
                    r.Ecx = (uint)(tscHz / divider);
                    return r;
                }
                case 0x16:
                {
                    ulong mhz = tscHz / 1_000_000;
                    r.Eax = mhz == 0 ? 1 : (uint)mhz;         // base frequency
                    r.Ebx = r.Eax;                            // maximum
                    r.Ecx = 100;                              // bus (reference) frequency
                    return r;
                }
                default:
                    return r;                                 // 3, 5, 8-0xA, 0xC-0x14: nothing offered
            }
        }

        // Leaf 0xD (SDM Vol. 1, 13.2): the components offered, the standard-format sizes for the
        // current XCR0 and for all offered, XSAVEOPT only among the extensions (XSAVEC and
        // XSAVES need more than is switched), and AVX's place in the area.
        private static CpuidResult Xsave(uint subleaf, CpuidResult host, ulong xsaveMask, ulong xcr0)
        {
            var r = new CpuidResult();
            if (xsaveMask == 0)
                return r;
            if (subleaf == 0)
            {
                r.Eax = (uint)xsaveMask;
                r.Ebx = XsaveSupport.AreaSize(xcr0);
                r.Ecx = XsaveSupport.AreaSize(xsaveMask);
            }
            else if (subleaf == 1)
            {
                r.Eax = host.Eax & 1u;
            }
            else if (subleaf == 2 && (xsaveMask & XsaveSupport.Avx) != 0)
            {
                r.Eax = 256;
                r.Ebx = 576;
            }
            return r;
        }

        // Leaf 1 EBX[23:16]: addressable logical processor IDs in the package, a power of two.
        private static int LogicalCountField(int vcpuCount)
        {
            int count = 1;
            while (count < vcpuCount && count < 128)
                count <<= 1;
            return count;
        }

        // Leaf 0xB (SDM Vol. 3A, 8.9.2): level 0 is SMT (one thread per core), level 1 the core
        // level (every vCPU a core of one package); EDX is always the x2APIC ID.
        private static CpuidResult Topology(uint subleaf, uint apicId, int vcpuCount)
        {
            var r = new CpuidResult { Ecx = subleaf & 0xFF, Edx = apicId };
            if (subleaf == 0)
            {
                r.Eax = 0;
                r.Ebx = 1;
                r.Ecx |= 1u << 8;
            }
            else if (subleaf == 1)
            {
                int shift = 0;
                while ((1 << shift) < vcpuCount)
                    shift++;
                r.Eax = (uint)shift;
                r.Ebx = (uint)vcpuCount;
                r.Ecx |= 2u << 8;
            }
            return r;
        }
    }

    /// <summary>The four registers of a CPUID answer.</summary>
    public struct CpuidResult
    {
        public uint Eax, Ebx, Ecx, Edx;

        public CpuidResult(uint eax, uint ebx, uint ecx, uint edx)
        {
            Eax = eax;
            Ebx = ebx;
            Ecx = ecx;
            Edx = edx;
        }
    }
}
