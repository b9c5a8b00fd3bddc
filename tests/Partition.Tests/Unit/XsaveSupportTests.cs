using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// What XSAVE state guests get (<see cref="XsaveSupport"/>), from the host's CPUID, and which
    /// XCR0 values XSETBV may set: the SDM's rules (Vol. 2D, XSETBV; Vol. 1, 13.3) restricted to
    /// the components the hypervisor switches (x87, SSE, AVX).
    /// </summary>
    public class XsaveSupportTests
    {
        private const uint Xsave = 1u << 26, Avx = 1u << 28;
        private const ulong Cr4Osxsave = 1UL << 18;

        /// <summary>A host whose leaf 1 ECX is <paramref name="leaf1Ecx"/> and whose XCR0 may hold Bochs tigerlake's components (x87 SSE AVX, AVX-512, PKRU).</summary>
        private static FakeCpu Host(uint leaf1Ecx)
        {
            var cpu = FakeCpu.Reset();
            cpu.Cpuid[(0, 0)] = (0x1B, 0x756E6547, 0x6C65746E, 0x49656E69);
            cpu.Cpuid[(1, 0)] = (0x806C1, 0x800, leaf1Ecx, 0xBFEBFBFF);
            cpu.Cpuid[(0xD, 0)] = (0x2E7, 0x240, 0xAC0, 0);
            cpu.Cpuid[(0x8000_0000, 0)] = (0x8000_0008, 0, 0, 0);
            HostCpuid.Initialize();
            XsaveSupport.Initialize();
            return cpu;
        }

        [TearDown]
        public void NoXsaveForTheNextTest()
        {
            // GuestMask is static: leave it as a machine without XSAVE has it.
            FakeCpu.Reset();
            HostCpuid.Initialize();
            XsaveSupport.Initialize();
        }

        [Test]
        public void A_host_with_AVX_offers_x87_SSE_and_AVX_and_turns_XSAVE_on()
        {
            var cpu = Host(Xsave | Avx);
            Assert.That(XsaveSupport.GuestMask, Is.EqualTo(7UL), "not AVX-512 or PKRU, though the host has them: nothing switches them");
            Assert.That(cpu.Cr4 & Cr4Osxsave, Is.Not.Zero, "CR4.OSXSAVE on this CPU, for XSAVE/XRSTOR when a core changes vCPU");
        }

        [Test]
        public void A_host_with_XSAVE_but_no_AVX_offers_x87_and_SSE()
        {
            var cpu = Host(Xsave);
            Assert.That(XsaveSupport.GuestMask, Is.EqualTo(3UL));
            Assert.That(cpu.Cr4 & Cr4Osxsave, Is.Not.Zero);
        }

        [Test]
        public void A_host_without_XSAVE_offers_nothing_and_leaves_CR4_alone()
        {
            var cpu = Host(Avx);
            Assert.That(XsaveSupport.GuestMask, Is.Zero);
            Assert.That(cpu.Cr4 & Cr4Osxsave, Is.Zero);
            Assert.That(XsaveSupport.IsValidXcr0(1), Is.False, "XSETBV is #GP: CPUID offers no XSAVE");
        }

        [TestCase(0x1UL, true, TestName = "XCR0 = 1 (x87): valid")]
        [TestCase(0x3UL, true, TestName = "XCR0 = 3 (x87 SSE): valid")]
        [TestCase(0x7UL, true, TestName = "XCR0 = 7 (x87 SSE AVX): valid")]
        [TestCase(0x0UL, false, TestName = "XCR0 = 0: #GP, bit 0 (x87) must be 1")]
        [TestCase(0x2UL, false, TestName = "XCR0 = 2: #GP, bit 0 (x87) must be 1")]
        [TestCase(0x6UL, false, TestName = "XCR0 = 6: #GP, bit 0 (x87) must be 1")]
        [TestCase(0x5UL, false, TestName = "XCR0 = 5: #GP, AVX without SSE (XCR0[2:1] = 10b)")]
        [TestCase(0xFUL, false, TestName = "XCR0 = 0xF: #GP, MPX BNDREGS is not offered")]
        [TestCase(0x1FUL, false, TestName = "XCR0 = 0x1F: #GP, MPX is not offered")]
        [TestCase(0xE7UL, false, TestName = "XCR0 = 0xE7: #GP, AVX-512 is not offered (though the host has it)")]
        [TestCase(0x207UL, false, TestName = "XCR0 = 0x207: #GP, PKRU is not offered (though the host has it)")]
        [TestCase(0x60007UL, false, TestName = "XCR0 = 0x60007: #GP, AMX is not offered")]
        [TestCase(0x8000_0000_0000_0007UL, false, TestName = "XCR0 bit 63: #GP, reserved")]
        [TestCase(0x1_0000_0007UL, false, TestName = "XCR0 bit 32: #GP, reserved")]
        public void XSETBV_accepts_exactly_the_valid_combinations_of_what_is_offered(ulong xcr0, bool valid)
        {
            Host(Xsave | Avx);
            Assert.That(XsaveSupport.IsValidXcr0(xcr0), Is.EqualTo(valid));
        }

        [TestCase(0x1UL, true)]
        [TestCase(0x3UL, true)]
        [TestCase(0x7UL, false)]
        [TestCase(0x5UL, false)]
        public void Without_AVX_in_the_host_XCR0_may_hold_x87_and_SSE_only(ulong xcr0, bool valid)
        {
            Host(Xsave);
            Assert.That(XsaveSupport.IsValidXcr0(xcr0), Is.EqualTo(valid));
        }

        // The AVX registers are switched with the vCPU, not at its exits (the hypervisor has no VEX
        // instructions): saved when it gives up the processor, restored when it takes it, under its XCR0.
        [Test]
        public unsafe void A_switch_saves_and_restores_the_AVX_registers_of_vCPUs_whose_XCR0_has_AVX()
        {
            var cpu = Host(Xsave | Avx);
            byte* areas = stackalloc byte[2 * 1024];
            var leaving = new GuestMsrs(areas);
            var coming = new GuestMsrs(areas + 1024);
            leaving.SetXcr0(7);
            coming.SetXcr0(7);
            cpu.Msrs[MsrPolicy.KernelGsBase] = 0;
            cpu.Log.Clear();
            leaving.Save();
            coming.Load(leaving);
            Assert.That(cpu.Log, Is.EqualTo(new[] { "xsave avx (xcr0 7)", "xrstor avx (xcr0 7)" }));

            // Without AVX in its XCR0 there is nothing of it to keep, and nothing to load.
            var plain = new GuestMsrs(areas);
            plain.SetXcr0(3);
            cpu.Log.Clear();
            plain.Save();
            coming.Load(plain);
            Assert.That(cpu.Log, Is.EqualTo(new[] { "xrstor avx (xcr0 7)" }), "XCR0 written first, then the AVX state under it");
            cpu.Log.Clear();
            plain.Load(coming);
            Assert.That(cpu.Log, Is.Empty);
            NoXsaveForTheNextTest();
        }

        [Test]
        public unsafe void Turning_AVX_on_loads_the_vCPUs_own_AVX_registers_not_the_last_vCPUs()
        {
            // While its XCR0 had no AVX another vCPU's values stayed in the registers: XSETBV
            // that turns AVX on must load its own (the initial state, if it never had any).
            var cpu = Host(Xsave | Avx);
            byte* area = stackalloc byte[1024];
            var msrs = new GuestMsrs(area);
            msrs.SetXcr0(3);
            Assert.That(cpu.Log, Has.No.Member("xrstor avx (xcr0 3)"));
            msrs.SetXcr0(7);
            Assert.That(cpu.Log, Has.Member("xrstor avx (xcr0 7)"));
            cpu.Log.Clear();
            msrs.SetXcr0(7);
            Assert.That(cpu.Log, Is.Empty, "AVX on already: its registers are its own");
            NoXsaveForTheNextTest();
        }

        [TestCase(1UL, 576u)]
        [TestCase(3UL, 576u)]
        [TestCase(7UL, 832u)]
        public void The_standard_area_is_576_bytes_plus_256_with_AVX(ulong xcr0, uint size) =>
            Assert.That(XsaveSupport.AreaSize(xcr0), Is.EqualTo(size), "legacy region 512 + header 64, AVX at 576 (SDM Vol. 1, 13.4)");
    }
}
