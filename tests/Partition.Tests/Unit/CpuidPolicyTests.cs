using System.Collections.Generic;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>A host processor's CPUID answers, as <see cref="HostCpuid.Leaf"/> gives them to the policy (zeros beyond its highest leaves).</summary>
    public sealed class HostCpuidModel
    {
        private readonly Dictionary<(uint, uint), CpuidResult> _leaves = new();
        private readonly CpuidResult? _everyOtherLeaf;

        public HostCpuidModel(uint maxBasic, uint maxExtended, CpuidResult? everyOtherLeaf = null)
        {
            MaxBasic = maxBasic;
            MaxExtended = maxExtended;
            _everyOtherLeaf = everyOtherLeaf;
        }

        public uint MaxBasic { get; }
        public uint MaxExtended { get; }

        public HostCpuidModel With(uint leaf, uint subleaf, uint eax, uint ebx, uint ecx, uint edx)
        {
            _leaves[(leaf, subleaf)] = new CpuidResult(eax, ebx, ecx, edx);
            return this;
        }

        public CpuidResult Leaf(uint leaf, uint subleaf)
        {
            if (leaf < 0x8000_0000 ? leaf > MaxBasic : leaf > MaxExtended)
                return default;
            return _leaves.TryGetValue((leaf, subleaf), out var r) ? r : _everyOtherLeaf ?? default;
        }

        /// <summary>
        /// Bochs 2.7's "tigerlake" model (cpu/cpudb/intel/tigerlake.cc), as its log prints it
        /// for the machine the system tests boot, with the hypervisor's CR4.OSXSAVE on (leaf 1
        /// ECX bit 27), XCR0 = 7 (leaf 0xD) and long mode (SYSCALL in 0x80000001 EDX).
        /// </summary>
        public static HostCpuidModel BochsTigerLake() => new HostCpuidModel(0x1B, 0x8000_0008)
            .With(0, 0, 0x0000001B, 0x756E6547, 0x6C65746E, 0x49656E69)                 // GenuineIntel
            .With(1, 0, 0x000806C1, 0x00010800, 0x7FFAF3BF, 0xBFEBFBFF)
            .With(2, 0, 0x00FEFF01, 0x000000F0, 0, 0)
            .With(4, 0, 0x1C004121, 0x02C0003F, 0x0000003F, 0)
            .With(4, 1, 0x1C004122, 0x01C0003F, 0x0000003F, 0)
            .With(4, 2, 0x1C004143, 0x04C0003F, 0x000003FF, 0)
            .With(4, 3, 0x1C03C163, 0x01C0003F, 0x00003FFF, 0x00000004)
            .With(5, 0, 0x00000040, 0x00000040, 0x00000003, 0x11121020)
            .With(6, 0, 0x0017EFF7, 0x00000002, 0x00000009, 0)
            .With(7, 0, 0, 0xF1BF27EB, 0x00405FCE, 0xFC100510)
            .With(0xA, 0, 0x08300805, 0, 0x0000000F, 0x00008604)
            .With(0xB, 0, 0x00000002, 0x00000003, 0, 0)
            .With(0xD, 0, 0x000002E7, 0x00000340, 0x00000AC0, 0)
            .With(0xD, 1, 0x0000000F, 0x00000340, 0x00001800, 0)
            .With(0xD, 2, 0x00000100, 0x00000240, 0, 0)
            .With(0xD, 5, 0x00000040, 0x00000440, 0, 0)
            .With(0xD, 6, 0x00000200, 0x00000480, 0, 0)
            .With(0xD, 7, 0x00000400, 0x00000680, 0, 0)
            .With(0xD, 9, 0x00000008, 0x00000A80, 0, 0)
            .With(0x15, 0, 0x00000002, 0x0000007E, 0x0249F000, 0)
            .With(0x16, 0, 0x00000960, 0x00001068, 0x00000064, 0)
            .With(0x18, 0, 0x00000008, 0, 0, 0)
            .With(0x8000_0000, 0, 0x80000008, 0, 0, 0)
            .With(0x8000_0001, 0, 0, 0, 0x00000121, 0x2C100800)
            .With(0x8000_0002, 0, 0x68743131, 0x6E654720, 0x746E4920, 0x52286C65)         // "11th Gen Intel(R"
            .With(0x8000_0003, 0, 0x6F432029, 0x54286572, 0x6920294D, 0x31312D35)
            .With(0x8000_0004, 0, 0x37473533, 0x32204020, 0x4730342E, 0x00007A48)
            .With(0x8000_0006, 0, 0, 0, 0x01007040, 0)
            .With(0x8000_0007, 0, 0, 0, 0, 0x00000100)
            .With(0x8000_0008, 0, 0x00003028, 0, 0, 0);

        /// <summary>A processor that says yes to everything: what reaches the guest from it is exactly the allow-list.</summary>
        public static HostCpuidModel EveryBitSet() =>
            new HostCpuidModel(0x1F, 0x8000_0008, new CpuidResult(0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF))
                .With(0, 0, 0x1F, 0x756E6547, 0x6C65746E, 0x49656E69)
                .With(0x8000_0000, 0, 0x8000_0008, 0, 0, 0);
    }

    /// <summary>
    /// CPUID as <see cref="CpuidPolicy"/> answers a guest, rule by rule of its doc comment:
    /// withheld features are 0 whatever the host says, emulated ones are there whatever the
    /// host says, the topology is one package of single-threaded cores that leaves 1, 4 and 0xB
    /// agree on, and leaves 0x15/0x16 give the TSC's rate. Hosts: Bochs' tigerlake model (what
    /// the system tests run on) and a processor with every bit set (the allow-list proof).
    /// </summary>
    public class CpuidPolicyTests
    {
        private const ulong BochsTscHz = 9_999_000;                // "TSC: 9999 ticks per ms" at 10 M instructions/s
        private const uint Eax = 0, Ebx = 1, Ecx = 2, Edx = 3;

        private static uint Register(CpuidResult r, uint register) => register switch { Eax => r.Eax, Ebx => r.Ebx, Ecx => r.Ecx, _ => r.Edx };

        private static CpuidResult Ask(HostCpuidModel host, uint leaf, uint subleaf = 0, uint apicId = 0, int vcpus = 1,
            ulong tscHz = BochsTscHz, bool rdtscp = true, ulong xsaveMask = 7, ulong xcr0 = 1, bool osxsave = false) =>
            CpuidPolicy.Answer(leaf, subleaf, host.Leaf(leaf, subleaf), host.MaxBasic, host.MaxExtended,
                apicId, vcpus, tscHz, rdtscp, xsaveMask, xcr0, osxsave);

        private static IEnumerable<HostCpuidModel> Hosts()
        {
            yield return HostCpuidModel.BochsTigerLake();
            yield return HostCpuidModel.EveryBitSet();
        }

        // ---- Withheld -------------------------------------------------------------------------

        private static IEnumerable<TestCaseData> Withheld()
        {
            TestCaseData Bit(uint leaf, uint subleaf, uint register, int bit, string name) =>
                new TestCaseData(leaf, subleaf, register, 1u << bit).SetName($"Withheld: {name} (CPUID 0x{leaf:X}.{subleaf} {"ABCD"[(int)register]}X[{bit}])");
            yield return Bit(1, 0, Ecx, 5, "VMX, no nested virtualization");
            yield return Bit(1, 0, Ecx, 6, "SMX");
            yield return Bit(1, 0, Ecx, 3, "MONITOR/MWAIT");
            yield return Bit(1, 0, Ecx, 17, "PCID");
            yield return Bit(1, 0, Ecx, 15, "PDCM (perfmon capabilities MSR)");
            yield return Bit(1, 0, Ecx, 2, "DTES64 (debug store)");
            yield return Bit(1, 0, Ecx, 4, "DS-CPL");
            yield return Bit(1, 0, Ecx, 7, "EST (power management)");
            yield return Bit(1, 0, Ecx, 8, "TM2 (thermal monitor)");
            yield return Bit(1, 0, Ecx, 14, "xTPR update control");
            yield return Bit(1, 0, Ecx, 18, "DCA");
            yield return Bit(1, 0, Edx, 7, "MCE");
            yield return Bit(1, 0, Edx, 14, "MCA");
            yield return Bit(1, 0, Edx, 18, "PSN");
            yield return Bit(1, 0, Edx, 21, "DS (debug store)");
            yield return Bit(1, 0, Edx, 22, "ACPI thermal control");
            yield return Bit(1, 0, Edx, 29, "TM (thermal monitor)");
            yield return Bit(1, 0, Edx, 31, "PBE");
            yield return Bit(7, 0, Ebx, 2, "SGX");
            yield return Bit(7, 0, Ebx, 4, "HLE (TSX)");
            yield return Bit(7, 0, Ebx, 11, "RTM (TSX)");
            yield return Bit(7, 0, Ebx, 10, "INVPCID");
            yield return Bit(7, 0, Ebx, 12, "RDT monitoring");
            yield return Bit(7, 0, Ebx, 14, "MPX");
            yield return Bit(7, 0, Ebx, 15, "RDT allocation");
            yield return Bit(7, 0, Ebx, 16, "AVX512F");
            yield return Bit(7, 0, Ebx, 17, "AVX512DQ");
            yield return Bit(7, 0, Ebx, 21, "AVX512_IFMA");
            yield return Bit(7, 0, Ebx, 25, "Intel PT");
            yield return Bit(7, 0, Ebx, 26, "AVX512PF");
            yield return Bit(7, 0, Ebx, 27, "AVX512ER");
            yield return Bit(7, 0, Ebx, 28, "AVX512CD");
            yield return Bit(7, 0, Ebx, 30, "AVX512BW");
            yield return Bit(7, 0, Ebx, 31, "AVX512VL");
            yield return Bit(7, 0, Ecx, 1, "AVX512_VBMI");
            yield return Bit(7, 0, Ecx, 3, "PKU");
            yield return Bit(7, 0, Ecx, 4, "OSPKE");
            yield return Bit(7, 0, Ecx, 5, "WAITPKG");
            yield return Bit(7, 0, Ecx, 6, "AVX512_VBMI2");
            yield return Bit(7, 0, Ecx, 7, "CET shadow stacks");
            yield return Bit(7, 0, Ecx, 11, "AVX512_VNNI");
            yield return Bit(7, 0, Ecx, 12, "AVX512_BITALG");
            yield return Bit(7, 0, Ecx, 14, "AVX512_VPOPCNTDQ");
            yield return Bit(7, 0, Ecx, 16, "LA57 (5-level paging)");
            yield return Bit(7, 0, Ecx, 30, "SGX_LC");
            yield return Bit(7, 0, Ecx, 31, "PKS");
            yield return Bit(7, 0, Edx, 2, "AVX512_4VNNIW");
            yield return Bit(7, 0, Edx, 3, "AVX512_4FMAPS");
            yield return Bit(7, 0, Edx, 8, "AVX512_VP2INTERSECT");
            yield return Bit(7, 0, Edx, 11, "RTM_ALWAYS_ABORT (TSX)");
            yield return Bit(7, 0, Edx, 13, "TSX_FORCE_ABORT");
            yield return Bit(7, 0, Edx, 16, "TSXLDTRK");
            yield return Bit(7, 0, Edx, 20, "CET IBT");
            yield return Bit(7, 0, Edx, 22, "AMX-BF16");
            yield return Bit(7, 0, Edx, 23, "AVX512_FP16");
            yield return Bit(7, 0, Edx, 24, "AMX-TILE");
            yield return Bit(7, 0, Edx, 25, "AMX-INT8");
            yield return Bit(7, 0, Edx, 26, "IBRS/IBPB (speculation control)");
            yield return Bit(7, 0, Edx, 27, "STIBP (speculation control)");
            yield return Bit(7, 0, Edx, 28, "L1D_FLUSH (speculation control)");
            yield return Bit(7, 0, Edx, 30, "CORE_CAPABILITIES");
            yield return Bit(7, 0, Edx, 31, "SSBD (speculation control)");
            yield return Bit(0xD, 1, Eax, 1, "XSAVEC");
            yield return Bit(0xD, 1, Eax, 2, "XGETBV with ECX=1");
            yield return Bit(0xD, 1, Eax, 3, "XSAVES/XRSTORS and IA32_XSS");
            yield return Bit(0xD, 0, Eax, 3, "XCR0 MPX BNDREGS");
            yield return Bit(0xD, 0, Eax, 5, "XCR0 AVX-512 opmask");
            yield return Bit(0xD, 0, Eax, 6, "XCR0 AVX-512 ZMM_Hi256");
            yield return Bit(0xD, 0, Eax, 7, "XCR0 AVX-512 Hi16_ZMM");
            yield return Bit(0xD, 0, Eax, 9, "XCR0 PKRU");
            yield return Bit(0xD, 0, Eax, 17, "XCR0 AMX TILECFG");
            yield return Bit(0xD, 0, Eax, 18, "XCR0 AMX TILEDATA");
            yield return Bit(6, 0, Eax, 0, "digital thermal sensor");
            yield return Bit(6, 0, Eax, 1, "Turbo Boost");
            yield return Bit(6, 0, Eax, 7, "HWP");
            yield return Bit(6, 0, Ecx, 0, "hardware coordination feedback (APERF/MPERF)");
            yield return Bit(0x8000_0007, 0, Edx, 9, "anything of 0x80000007 but invariant TSC");
        }

        [TestCaseSource(nameof(Withheld))]
        public void A_withheld_feature_is_0_whatever_the_host_says(uint leaf, uint subleaf, uint register, uint bit)
        {
            foreach (var host in Hosts())
                Assert.That(Register(Ask(host, leaf, subleaf, vcpus: 4, osxsave: true, xcr0: 7), register) & bit, Is.Zero,
                    host.MaxBasic == 0x1F ? "every-bit host" : "Bochs tigerlake host");
        }

        [TestCase(5u, 0u, TestName = "Withheld leaf: 5 (MONITOR/MWAIT) answers zeros")]
        [TestCase(0xAu, 0u, TestName = "Withheld leaf: 0xA (architectural PMU) answers zeros")]
        [TestCase(7u, 1u, TestName = "Withheld leaf: 7 subleaf 1 (AVX-VNNI, AVX512_BF16, ...) answers zeros")]
        [TestCase(0xDu, 5u, TestName = "Withheld leaf: 0xD subleaf 5 (AVX-512 opmask) answers zeros")]
        [TestCase(0xDu, 7u, TestName = "Withheld leaf: 0xD subleaf 7 (AVX-512 Hi16_ZMM) answers zeros")]
        [TestCase(0xDu, 8u, TestName = "Withheld leaf: 0xD subleaf 8 (PT state) answers zeros")]
        [TestCase(0xDu, 9u, TestName = "Withheld leaf: 0xD subleaf 9 (PKRU) answers zeros")]
        [TestCase(0xFu, 0u, TestName = "Withheld leaf: 0xF (RDT monitoring) answers zeros")]
        [TestCase(0x10u, 0u, TestName = "Withheld leaf: 0x10 (RDT allocation) answers zeros")]
        [TestCase(0x12u, 0u, TestName = "Withheld leaf: 0x12 (SGX) answers zeros")]
        [TestCase(0x14u, 0u, TestName = "Withheld leaf: 0x14 (processor trace) answers zeros")]
        public void A_withheld_leaf_answers_zeros(uint leaf, uint subleaf)
        {
            foreach (var host in Hosts())
            {
                var r = Ask(host, leaf, subleaf, xcr0: 7, osxsave: true);
                Assert.That((r.Eax, r.Ebx, r.Ecx, r.Edx), Is.EqualTo((0u, 0u, 0u, 0u)));
            }
        }

        // Everything CPUID may offer, register by register, written from the policy's doc comment
        // and the SDM's bit names, not from its constants.
        private static IEnumerable<TestCaseData> AllowLists()
        {
            static uint Bits(params int[] bits)
            {
                uint mask = 0;
                foreach (int b in bits)
                    mask |= 1u << b;
                return mask;
            }
            TestCaseData Case(uint leaf, uint subleaf, uint register, uint allowed, string name) =>
                new TestCaseData(leaf, subleaf, register, allowed).SetName($"Allow-list: CPUID 0x{leaf:X}.{subleaf} {"ABCD"[(int)register]}X holds only {name}");
            yield return Case(1, 0, Ecx, Bits(0, 1, 9, 12, 13, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31),
                "SSE3 PCLMULQDQ SSSE3 FMA CX16 SSE4.1 SSE4.2 x2APIC MOVBE POPCNT TSC-deadline AES XSAVE OSXSAVE AVX F16C RDRAND hypervisor");
            yield return Case(1, 0, Edx, Bits(0, 1, 2, 3, 4, 5, 6, 8, 9, 11, 12, 13, 15, 16, 17, 19, 23, 24, 25, 26, 27, 28),
                "FPU VME DE PSE TSC MSR PAE CX8 APIC SEP MTRR PGE CMOV PAT PSE36 CLFSH MMX FXSR SSE SSE2 SS HTT");
            yield return Case(6, 0, Eax, Bits(2), "ARAT");
            yield return Case(6, 0, Ebx, 0, "nothing");
            yield return Case(6, 0, Ecx, 0, "nothing");
            yield return Case(6, 0, Edx, 0, "nothing");
            yield return Case(7, 0, Eax, 0, "nothing (no subleaf beyond 0)");
            yield return Case(7, 0, Ebx, Bits(0, 1, 3, 5, 6, 7, 8, 9, 13, 18, 19, 20, 23, 24, 29),
                "FSGSBASE TSC_ADJUST BMI1 AVX2 FDP_EXCPTN_ONLY SMEP BMI2 ERMS FPU-CS/DS RDSEED ADX SMAP CLFLUSHOPT CLWB SHA");
            yield return Case(7, 0, Ecx, Bits(2, 8, 22, 25, 27, 28), "UMIP GFNI RDPID CLDEMOTE MOVDIRI MOVDIR64B");
            yield return Case(7, 0, Edx, Bits(4, 10, 14, 29), "FSRM MD_CLEAR SERIALIZE ARCH_CAPABILITIES");
            yield return Case(0xD, 0, Eax, Bits(0, 1, 2), "x87 SSE AVX");
            yield return Case(0xD, 0, Edx, 0, "nothing (no XCR0 bit above 31)");
            yield return Case(0xD, 1, Eax, Bits(0), "XSAVEOPT");
            yield return Case(0xD, 1, Ecx, 0, "nothing (no IA32_XSS component)");
            yield return Case(0x8000_0001, 0, Ecx, Bits(0, 5, 8), "LAHF/SAHF LZCNT PREFETCHW");
            yield return Case(0x8000_0001, 0, Edx, Bits(11, 20, 26, 27, 29), "SYSCALL NX 1-GiB pages RDTSCP LM");
            yield return Case(0x8000_0007, 0, Edx, Bits(8), "invariant TSC");
            yield return Case(0x8000_0008, 0, Eax, 0xFFFF, "the physical and linear address widths");
            yield return Case(0x8000_0008, 0, Ebx, 0, "nothing (no WBNOINVD, no AMD speculation bits)");
        }

        [TestCaseSource(nameof(AllowLists))]
        public void Nothing_outside_the_allow_list_reaches_the_guest(uint leaf, uint subleaf, uint register, uint allowed)
        {
            var r = Ask(HostCpuidModel.EveryBitSet(), leaf, subleaf, vcpus: 2, xcr0: 7, osxsave: true);
            uint value = Register(r, register);
            Assert.That(value & ~allowed, Is.Zero, $"offered: 0x{value:X8}, outside the allow-list: 0x{value & ~allowed:X8}");
        }

        // ---- Offered --------------------------------------------------------------------------

        [Test]
        public void Emulated_features_are_offered_even_by_a_host_without_them()
        {
            var bare = new HostCpuidModel(0x16, 0x8000_0008);   // every leaf zeros
            var leaf1 = Ask(bare, 1);
            Assert.That(leaf1.Ecx & 1u << 21, Is.Not.Zero, "x2APIC");
            Assert.That(leaf1.Ecx & 1u << 24, Is.Not.Zero, "TSC-deadline timer");
            Assert.That(leaf1.Ecx & 1u << 31, Is.Not.Zero, "hypervisor present");
            Assert.That(leaf1.Edx & 1u << 9, Is.Not.Zero, "APIC on chip");
            Assert.That(Ask(bare, 6).Eax, Is.EqualTo(1u << 2), "ARAT: the APIC timer runs in every C-state");
            Assert.That(Ask(bare, 7).Ebx, Is.EqualTo(1u << 1), "IA32_TSC_ADJUST");
            Assert.That(Ask(bare, 0x8000_0007).Edx, Is.EqualTo(1u << 8), "invariant TSC");
        }

        [Test]
        public void What_the_Bochs_host_has_and_the_policy_keeps_is_offered()
        {
            var host = HostCpuidModel.BochsTigerLake();
            var leaf1 = Ask(host, 1);
            Assert.That(leaf1.Eax, Is.EqualTo(0x000806C1u), "family, model, stepping: the host's");
            Assert.That(leaf1.Ebx & 0xFFFF, Is.EqualTo(0x0800u), "CLFLUSH line size: the host's");
            Assert.That(leaf1.Ecx & (1u << 0 | 1u << 19 | 1u << 20 | 1u << 23 | 1u << 25 | 1u << 30), Is.EqualTo(1u << 0 | 1u << 19 | 1u << 20 | 1u << 23 | 1u << 25 | 1u << 30),
                "SSE3, SSE4.1, SSE4.2, POPCNT, AES, RDRAND");
            Assert.That(leaf1.Edx & (1u << 0 | 1u << 4 | 1u << 25 | 1u << 26), Is.EqualTo(1u << 0 | 1u << 4 | 1u << 25 | 1u << 26), "FPU, TSC, SSE, SSE2");
            var leaf7 = Ask(host, 7);
            Assert.That(leaf7.Ebx & (1u << 0 | 1u << 7 | 1u << 20), Is.EqualTo(1u << 0 | 1u << 7 | 1u << 20), "FSGSBASE, SMEP, SMAP");
            Assert.That(leaf7.Edx & (1u << 10 | 1u << 29), Is.EqualTo(1u << 10 | 1u << 29), "MD_CLEAR, ARCH_CAPABILITIES (the host has it)");
            Assert.That(Ask(host, 0x8000_0001).Edx & (1u << 20 | 1u << 29), Is.EqualTo(1u << 20 | 1u << 29), "NX, long mode");
            var vendor = Ask(host, 0);
            Assert.That((vendor.Ebx, vendor.Edx, vendor.Ecx), Is.EqualTo((0x756E6547u, 0x49656E69u, 0x6C65746Eu)), "GenuineIntel");
            Assert.That(Ask(host, 0x8000_0002).Eax, Is.EqualTo(0x68743131u), "the brand string is the host's");
            Assert.That(Ask(host, 0x8000_0008).Eax, Is.EqualTo(0x3028u), "40-bit physical, 48-bit linear addresses");
        }

        [TestCase(0UL, false, false, false, false, TestName = "XSAVE not offered: no XSAVE, OSXSAVE, AVX, FMA, F16C or AVX2")]
        [TestCase(0UL, true, false, false, false, TestName = "XSAVE not offered: OSXSAVE stays 0 even with CR4.OSXSAVE")]
        [TestCase(3UL, false, true, false, false, TestName = "x87 and SSE offered: XSAVE, no AVX family; OSXSAVE 0 while CR4.OSXSAVE is 0")]
        [TestCase(3UL, true, true, true, false, TestName = "x87 and SSE offered: OSXSAVE follows CR4.OSXSAVE")]
        [TestCase(7UL, false, true, false, true, TestName = "AVX offered: AVX, FMA, F16C, AVX2; OSXSAVE 0 while CR4.OSXSAVE is 0")]
        [TestCase(7UL, true, true, true, true, TestName = "AVX offered with CR4.OSXSAVE: everything")]
        public void XSAVE_and_AVX_follow_what_XsaveSupport_offers_and_OSXSAVE_the_guests_CR4(ulong mask, bool osxsave, bool xsave, bool osxsaveBit, bool avx)
        {
            foreach (var host in Hosts())
            {
                var leaf1 = Ask(host, 1, xsaveMask: mask, osxsave: osxsave);
                Assert.That((leaf1.Ecx & 1u << 26) != 0, Is.EqualTo(xsave), "XSAVE");
                Assert.That((leaf1.Ecx & 1u << 27) != 0, Is.EqualTo(osxsaveBit), "OSXSAVE (never the host's)");
                Assert.That((leaf1.Ecx & 1u << 28) != 0, Is.EqualTo(avx), "AVX");
                Assert.That((leaf1.Ecx & 1u << 12) != 0, Is.EqualTo(avx), "FMA (VEX, AVX state)");
                Assert.That((leaf1.Ecx & 1u << 29) != 0, Is.EqualTo(avx), "F16C (VEX, AVX state)");
                Assert.That((Ask(host, 7, xsaveMask: mask).Ebx & 1u << 5) != 0, Is.EqualTo(avx), "AVX2");
            }
        }

        [TestCase(true, TestName = "RDTSCP and RDPID are offered when the VMCS enables RDTSCP")]
        [TestCase(false, TestName = "RDTSCP and RDPID are withheld when the VMCS cannot enable RDTSCP (they would #UD)")]
        public void RDTSCP_and_RDPID_only_when_the_VMX_control_allows(bool rdtscp)
        {
            foreach (var host in Hosts())
            {
                Assert.That((Ask(host, 0x8000_0001, rdtscp: rdtscp).Edx & 1u << 27) != 0, Is.EqualTo(rdtscp), "RDTSCP");
                Assert.That((Ask(host, 7, rdtscp: rdtscp).Ecx & 1u << 22) != 0, Is.EqualTo(rdtscp), "RDPID");
            }
        }

        [Test]
        public void ARCH_CAPABILITIES_is_offered_only_when_the_host_has_it()
        {
            var host = new HostCpuidModel(0x1B, 0x8000_0008).With(7, 0, 0, 0, 0, 1u << 10);
            Assert.That(Ask(host, 7).Edx, Is.EqualTo(1u << 10), "MD_CLEAR only");
        }

        // ---- Topology (SDM Vol. 3A, 8.9; leaves 1, 4, 0xB) -----------------------------------

        [TestCase(1, 1, 0)]
        [TestCase(2, 2, 1)]
        [TestCase(3, 4, 2)]
        [TestCase(16, 16, 4)]
        public void Leaves_1_4_and_0xB_describe_one_package_of_single_threaded_cores(int vcpus, int addressable, int coreShift)
        {
            var host = HostCpuidModel.BochsTigerLake();
            for (uint id = 0; id < vcpus; id++)
            {
                string who = $"vCPU {id} of {vcpus}";
                var leaf1 = Ask(host, 1, apicId: id, vcpus: vcpus);
                Assert.That(leaf1.Ebx >> 24, Is.EqualTo(id), $"{who}: leaf 1 EBX[31:24], the initial APIC ID");
                Assert.That(leaf1.Ebx >> 16 & 0xFF, Is.EqualTo((uint)addressable), $"{who}: leaf 1 EBX[23:16], addressable IDs in the package");
                Assert.That((leaf1.Edx & 1u << 28) != 0, Is.EqualTo(vcpus > 1), $"{who}: HTT (EBX[23:16] valid) with more than one vCPU");

                var smt = Ask(host, 0xB, 0, id, vcpus);
                var core = Ask(host, 0xB, 1, id, vcpus);
                var invalid = Ask(host, 0xB, 2, id, vcpus);
                Assert.That((smt.Eax & 0x1F, smt.Ebx & 0xFFFF, smt.Ecx & 0xFFFF, smt.Edx), Is.EqualTo((0u, 1u, 0x100u, id)),
                    $"{who}: 0xB level 0 is SMT, one thread, shift 0");
                Assert.That((core.Eax & 0x1F, core.Ebx & 0xFFFF, core.Ecx & 0xFFFF, core.Edx), Is.EqualTo(((uint)coreShift, (uint)vcpus, 0x201u, id)),
                    $"{who}: 0xB level 1 is the core level, every vCPU a core");
                Assert.That((invalid.Eax, invalid.Ebx, invalid.Ecx & 0xFF00, invalid.Ecx & 0xFF, invalid.Edx), Is.EqualTo((0u, 0u, 0u, 2u, id)),
                    $"{who}: 0xB level 2 is invalid (type 0), ECX[7:0] the level asked for");
                Assert.That(1 << coreShift, Is.GreaterThanOrEqualTo(vcpus));
                Assert.That(id >> coreShift, Is.Zero, $"{who}: package ID (x2APIC ID >> core shift) 0: one package");
                Assert.That(1 << coreShift, Is.EqualTo(addressable), $"{who}: leaf 1 and leaf 0xB agree on the ID space");

                for (uint level = 0; level < 4; level++)
                {
                    var cache = Ask(host, 4, level, id, vcpus);
                    var hostCache = host.Leaf(4, level);
                    Assert.That(cache.Eax & 0x3FFF, Is.EqualTo(hostCache.Eax & 0x3FFF), $"{who}: cache {level} type and level are the host's");
                    Assert.That((cache.Ebx, cache.Ecx, cache.Edx), Is.EqualTo((hostCache.Ebx, hostCache.Ecx, hostCache.Edx)), $"{who}: cache {level} geometry");
                    Assert.That((cache.Eax >> 26) + 1, Is.EqualTo((uint)vcpus), $"{who}: leaf 4 EAX[31:26] + 1 cores in the package");
                    uint sharing = (cache.Eax >> 14 & 0xFFF) + 1;
                    Assert.That(sharing, Is.EqualTo(level == 3 ? (uint)vcpus : 1u), $"{who}: cache {level}: shared by the package (L3) or private");
                    Assert.That(NextPowerOfTwo((cache.Eax >> 26) + 1), Is.EqualTo(1u << coreShift), $"{who}: leaf 4 and leaf 0xB agree on core IDs");
                }
                var end = Ask(host, 4, 4, id, vcpus);
                Assert.That(end.Eax & 0x1F, Is.Zero, $"{who}: leaf 4 ends where the host's does");
            }
        }

        private static uint NextPowerOfTwo(uint n)
        {
            uint p = 1;
            while (p < n)
                p <<= 1;
            return p;
        }

        // ---- Clocks (leaves 0x15, 0x16) ----------------------------------------------------------

        [TestCase(9_999_000UL, 9u, TestName = "Clocks: Bochs' 9.999 MHz TSC")]
        [TestCase(10_000_000UL, 10u, TestName = "Clocks: a 10 MHz TSC")]
        [TestCase(2_400_000_000UL, 2400u, TestName = "Clocks: Tiger Lake's 2.4 GHz TSC")]
        [TestCase(4_000_000_000UL, 4000u, TestName = "Clocks: a 4 GHz TSC")]
        public void Leaf_0x15_gives_the_TSC_rate_exactly_and_0x16_its_MHz(ulong tscHz, uint mhz)
        {
            foreach (var host in Hosts())
            {
                var leaf15 = Ask(host, 0x15, tscHz: tscHz);
                Assert.That(leaf15.Eax, Is.Not.Zero, "a ratio denominator (EAX 0 means no ratio)");
                Assert.That(leaf15.Ebx, Is.Not.Zero, "a ratio numerator");
                Assert.That(leaf15.Ecx, Is.Not.Zero, "a crystal frequency (so Linux need not guess one)");
                Assert.That((ulong)leaf15.Ecx * leaf15.Ebx / leaf15.Eax, Is.EqualTo(tscHz), "TSC = crystal x EBX / EAX (SDM, CPUID leaf 15H)");
                var leaf16 = Ask(host, 0x16, tscHz: tscHz);
                Assert.That((leaf16.Eax, leaf16.Ebx, leaf16.Ecx), Is.EqualTo((mhz, mhz, 100u)), "base and maximum MHz, 100 MHz bus");
            }
        }

        [Test]
        public void Leaf_0x15_gives_a_TSC_faster_than_4_295_GHz_exactly()
        {
            // Leaf 0x15's ECX is 32 bits: a TSC of 2^32 Hz or more needs a ratio other than 1/1
            // (or Linux computes a wrong TSC and APIC timer rate from it).
            const ulong tscHz = 5_000_000_000;
            var leaf15 = Ask(HostCpuidModel.BochsTigerLake(), 0x15, tscHz: tscHz);
            Assert.That((ulong)leaf15.Ecx * leaf15.Ebx / leaf15.Eax, Is.EqualTo(tscHz));
        }

        [Test]
        public void Leaf_0x15s_crystal_is_the_local_APIC_timers_input_clock()
        {
            // Linux (native_calibrate_tsc) takes lapic_timer_period from the crystal:
            // crystal_khz * 1000 / HZ; the virtual APIC counts TSC ticks (divided by TDCR).
            var leaf15 = Ask(HostCpuidModel.BochsTigerLake(), 0x15, tscHz: BochsTscHz);
            Assert.That((ulong)leaf15.Ecx, Is.EqualTo(BochsTscHz));
        }

        // ---- XSAVE sizes (leaf 0xD) -------------------------------------------------------

        [TestCase(3UL, 3UL, 576u, 576u, TestName = "Leaf 0xD: x87+SSE offered, XCR0 = 3: 576 bytes")]
        [TestCase(7UL, 1UL, 576u, 832u, TestName = "Leaf 0xD: AVX offered, XCR0 = 1 (after reset): 576 bytes now, 832 at most")]
        [TestCase(7UL, 3UL, 576u, 832u, TestName = "Leaf 0xD: AVX offered, XCR0 = 3: 576 bytes now, 832 at most")]
        [TestCase(7UL, 7UL, 832u, 832u, TestName = "Leaf 0xD: AVX offered, XCR0 = 7: 832 bytes")]
        public void Leaf_0xD_gives_the_standard_XSAVE_area_sizes(ulong mask, ulong xcr0, uint current, uint maximum)
        {
            foreach (var host in Hosts())
            {
                var main = Ask(host, 0xD, 0, xsaveMask: mask, xcr0: xcr0);
                Assert.That(main.Eax, Is.EqualTo((uint)mask), "EAX: the XCR0 bits a guest may set");
                Assert.That(main.Ebx, Is.EqualTo(current), "EBX: the size for what XCR0 enables now");
                Assert.That(main.Ecx, Is.EqualTo(maximum), "ECX: the size for everything offered");
                Assert.That(main.Edx, Is.Zero);
                var avx = Ask(host, 0xD, 2, xsaveMask: mask, xcr0: xcr0);
                if ((mask & 4) != 0)
                    Assert.That((avx.Eax, avx.Ebx), Is.EqualTo((256u, 576u)), "AVX: 256 bytes at offset 576 (SDM Vol. 1, 13.4.3)");
                else
                    Assert.That((avx.Eax, avx.Ebx, avx.Ecx, avx.Edx), Is.EqualTo((0u, 0u, 0u, 0u)), "no AVX component");
                Assert.That(Ask(host, 0xD, 1, xsaveMask: mask, xcr0: xcr0).Eax, Is.EqualTo(1u), "XSAVEOPT, as the host has it");
            }
        }

        [Test]
        public void Leaf_0xD_is_all_zeros_when_XSAVE_is_not_offered()
        {
            foreach (var host in Hosts())
                for (uint subleaf = 0; subleaf < 3; subleaf++)
                {
                    var r = Ask(host, 0xD, subleaf, xsaveMask: 0);
                    Assert.That((r.Eax, r.Ebx, r.Ecx, r.Edx), Is.EqualTo((0u, 0u, 0u, 0u)), $"subleaf {subleaf}");
                }
        }

        [Test]
        public void XSAVEOPT_is_offered_only_when_the_host_has_it()
        {
            var host = HostCpuidModel.BochsTigerLake().With(0xD, 1, 0xE, 0, 0, 0);
            Assert.That(Ask(host, 0xD, 1).Eax, Is.Zero);
        }

        // ---- Leaves above the maximum (SDM Vol. 2A, CPUID) -----------------------------------

        [Test]
        public void The_highest_leaves_are_0x16_and_0x80000008()
        {
            foreach (var host in Hosts())
            {
                Assert.That(Ask(host, 0).Eax, Is.EqualTo(CpuidPolicy.MaxBasicLeaf));
                Assert.That(CpuidPolicy.MaxBasicLeaf, Is.EqualTo(0x16u));
                Assert.That(Ask(host, 0x8000_0000).Eax, Is.EqualTo(0x8000_0008u));
            }
            var older = new HostCpuidModel(0xD, 0x8000_0004);
            Assert.That(Ask(older, 0x8000_0000).Eax, Is.EqualTo(0x8000_0004u), "never more extended leaves than the host has");
        }

        [TestCase(0x17u)]
        [TestCase(0x18u)]
        [TestCase(0x1Bu)]
        [TestCase(0x20u)]
        [TestCase(0x3FFF_FFFFu)]
        [TestCase(0x5000_0000u)]
        [TestCase(0x7FFF_FFFFu)]
        public void A_basic_leaf_above_the_maximum_answers_as_the_highest_basic_leaf(uint leaf)
        {
            foreach (var host in Hosts())
            {
                var highest = Ask(host, CpuidPolicy.MaxBasicLeaf);
                var r = Ask(host, leaf);
                Assert.That((r.Eax, r.Ebx, r.Ecx, r.Edx), Is.EqualTo((highest.Eax, highest.Ebx, highest.Ecx, highest.Edx)));
            }
        }
        [TestCase(0x8000_0009u)]
        [TestCase(0x8000_000Au)]
        [TestCase(0x8000_001Fu)]
        [TestCase(0x8FFF_FFFFu)]
        public void An_extended_leaf_above_the_maximum_answers_as_the_highest_basic_leaf(uint leaf)
        {
            // SDM Vol. 2A, CPUID: "If a value entered for CPUID.EAX is higher than the maximum
            // input value for basic or extended function for that processor then the data for
            // the highest basic information leaf is returned" (its example: 8000000AH).
            foreach (var host in Hosts())
            {
                var highest = Ask(host, CpuidPolicy.MaxBasicLeaf);
                var r = Ask(host, leaf);
                Assert.That((r.Eax, r.Ebx, r.Ecx, r.Edx), Is.EqualTo((highest.Eax, highest.Ebx, highest.Ecx, highest.Edx)));
            }
        }
    }
}
