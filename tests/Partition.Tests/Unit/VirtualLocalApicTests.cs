using System.Collections.Generic;
using System.Threading;
using NUnit.Framework;
using Partition.Devices;
using static Partition.Tests.Unit.LinuxLocalApic;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The virtual local APIC against the SDM (Vol. 3A, chapter 11) and against the register
    /// sequences of Linux 6.1 (<see cref="LinuxLocalApic"/>), in xAPIC mode (the page at
    /// 0xFEE00000) and in x2APIC mode (MSRs 0x800-0x8FF). Time is a TSC value the test moves.
    /// </summary>
    public class VirtualLocalApicTests
    {
        private const ulong T0 = 1_000_000;
        private const ulong Base = 0xFEE00000, Bsp = 1UL << 8, Extd = 1UL << 10, En = 1UL << 11;
        private const uint Masked = 1u << 16;

        private static VirtualLocalApic Bootstrap() => new VirtualLocalApic(0, bootstrap: true);

        /// <summary>An APIC software-enabled through SVR (spurious vector 0xFF), in xAPIC mode or switched to x2APIC.</summary>
        private static VirtualLocalApic Enabled(uint id = 0, bool x2apic = false)
        {
            var apic = new VirtualLocalApic(id, bootstrap: id == 0);
            if (x2apic)
                Assert.That(apic.WriteMsr(0x1B, Base | (id == 0 ? Bsp : 0) | En | Extd, T0, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Done));
            WriteRegister(apic, ApicSpiv, 0x1FF);
            return apic;
        }

        private static void WriteRegister(VirtualLocalApic apic, uint offset, uint value, ulong now = T0)
        {
            if (apic.Mode == ApicMode.X2Apic)
                Assert.That(apic.WriteMsr(0x800 + (offset >> 4), value, now, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Done), $"WRMSR 0x{0x800 + (offset >> 4):X}");
            else
                apic.WriteMmio(offset, value, now, out _, out _, out _, out _);
        }

        private static uint ReadRegister(VirtualLocalApic apic, uint offset, ulong now = T0)
        {
            if (apic.Mode != ApicMode.X2Apic)
                return apic.ReadMmio(offset, now);
            Assert.That(apic.ReadMsr(0x800 + (offset >> 4), now, out ulong value), Is.EqualTo(ApicAccess.Done), $"RDMSR 0x{0x800 + (offset >> 4):X}");
            return (uint)value;
        }

        private static InterruptMessage Fixed(byte vector, bool level = false) => new InterruptMessage(vector, DeliveryMode.Fixed, false, 0, level);

        /// <summary>Another CPU posts, the owner merges: the vector is then in the IRR.</summary>
        private static void Deliver(VirtualLocalApic apic, byte vector, bool level = false)
        {
            apic.Post(Fixed(vector, level));
            apic.MergeIncoming(out _, out _);
        }

        /// <summary>The vector is delivered and the CPU takes it (the hypervisor injects it): it is then in service.</summary>
        private static void Service(VirtualLocalApic apic, byte vector, bool level = false)
        {
            Deliver(apic, vector, level);
            apic.Acknowledge(vector);
        }

        private static bool Bit(VirtualLocalApic apic, uint firstOffset, int vector) =>
            (ReadRegister(apic, firstOffset + (uint)(vector >> 5) * 0x10) & 1u << (vector & 31)) != 0;

        private static uint Esr(VirtualLocalApic apic)
        {
            WriteRegister(apic, ApicEsr, 0);   // a write latches the errors since the last one (SDM 11.5.3)
            return ReadRegister(apic, ApicEsr);
        }

        // ---- Reset state (SDM 11.4.7.1) and INIT (11.4.7.3) ------------------------------------

        [TestCase(ApicId, 0x0300_0000u, TestName = "Reset: ID holds the APIC ID in bits 31:24")]
        [TestCase(ApicLvr, 0x0005_0014u, TestName = "Reset: version 0x14, six LVT entries (max LVT 5), no EOI-broadcast suppression")]
        [TestCase(ApicTaskPri, 0u, TestName = "Reset: TPR 0")]
        [TestCase(0x90u, 0u, TestName = "Reset: APR 0")]
        [TestCase(0xA0u, 0u, TestName = "Reset: PPR 0")]
        [TestCase(ApicLdr, 0u, TestName = "Reset: LDR 0")]
        [TestCase(ApicDfr, 0xFFFF_FFFFu, TestName = "Reset: DFR all ones (flat model)")]
        [TestCase(ApicSpiv, 0xFFu, TestName = "Reset: SVR 0xFF (software disabled)")]
        [TestCase(ApicIsr, 0u, TestName = "Reset: ISR empty")]
        [TestCase(ApicTmr + 0x70, 0u, TestName = "Reset: TMR empty")]
        [TestCase(ApicIrr + 0x30, 0u, TestName = "Reset: IRR empty")]
        [TestCase(ApicEsr, 0u, TestName = "Reset: ESR 0")]
        [TestCase(ApicIcr, 0u, TestName = "Reset: ICR low 0")]
        [TestCase(ApicIcr2, 0u, TestName = "Reset: ICR high 0")]
        [TestCase(ApicLvtt, Masked, TestName = "Reset: LVT timer masked, all else 0")]
        [TestCase(ApicLvtThmr, Masked, TestName = "Reset: LVT thermal masked")]
        [TestCase(ApicLvtPc, Masked, TestName = "Reset: LVT performance counter masked")]
        [TestCase(ApicLvt0, Masked, TestName = "Reset: LVT LINT0 masked")]
        [TestCase(ApicLvt1, Masked, TestName = "Reset: LVT LINT1 masked")]
        [TestCase(ApicLvtErr, Masked, TestName = "Reset: LVT error masked")]
        [TestCase(ApicTmict, 0u, TestName = "Reset: initial count 0")]
        [TestCase(ApicTmcct, 0u, TestName = "Reset: current count 0")]
        [TestCase(ApicTdcr, 0u, TestName = "Reset: divide configuration 0")]
        public void After_reset_the_xAPIC_page_reads_as_the_SDM_says(uint offset, uint expected)
        {
            var apic = new VirtualLocalApic(3, bootstrap: false);
            Assert.That(apic.Mode, Is.EqualTo(ApicMode.XApic));
            Assert.That(apic.ReadMmio(offset, T0), Is.EqualTo(expected));
        }

        [TestCase(0u, true, 0xFEE0_0900UL, TestName = "Reset: IA32_APIC_BASE of the BSP is 0xFEE00000, BSP and EN")]
        [TestCase(1u, false, 0xFEE0_0800UL, TestName = "Reset: IA32_APIC_BASE of an AP is 0xFEE00000 and EN")]
        public void After_reset_IA32_APIC_BASE_is_enabled_xAPIC_at_the_default_base(uint id, bool bootstrap, ulong expected)
        {
            var apic = new VirtualLocalApic(id, bootstrap);
            Assert.That(apic.ReadMsr(0x1B, T0, out ulong value), Is.EqualTo(ApicAccess.Done));
            Assert.That(value, Is.EqualTo(expected));
            Assert.That(apic.Enabled, Is.False, "software-disabled until SVR bit 8 is set");
        }

        [Test]
        public void In_xAPIC_mode_the_x2APIC_MSRs_raise_GP()
        {
            var apic = Bootstrap();
            Assert.That(apic.ReadMsr(0x802, T0, out _), Is.EqualTo(ApicAccess.Fault), "RDMSR of the x2APIC ID (SDM 11.12.1.2)");
            Assert.That(apic.WriteMsr(0x808, 0, T0, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Fault), "WRMSR of the x2APIC TPR");
        }

        [Test]
        public void INIT_clears_the_registers_but_keeps_x2APIC_mode_and_the_ID()
        {
            var apic = Enabled(5, x2apic: true);
            WriteRegister(apic, ApicTaskPri, 0x30);
            WriteRegister(apic, ApicLvtt, 0x200EC);
            WriteRegister(apic, ApicTmict, 100);
            Service(apic, 0x41);
            Deliver(apic, 0x51);

            apic.Reset();

            Assert.That(apic.Mode, Is.EqualTo(ApicMode.X2Apic), "the mode survives INIT (SDM 11.12.5.1)");
            Assert.That(ReadRegister(apic, ApicId), Is.EqualTo(5u));
            Assert.That(ReadRegister(apic, ApicTaskPri), Is.Zero);
            Assert.That(ReadRegister(apic, ApicSpiv), Is.EqualTo(0xFFu));
            Assert.That(ReadRegister(apic, ApicLvtt), Is.EqualTo(Masked));
            Assert.That(Bit(apic, ApicIsr, 0x41) || Bit(apic, ApicIrr, 0x51), Is.False, "ISR and IRR cleared");
            Assert.That(apic.TimerDeadline, Is.Zero, "the timer is stopped");
            Assert.That(apic.HasPending, Is.False);
        }

        // ---- IA32_APIC_BASE (SDM 11.12.5, figure 11-27) -------------------------------------------

        private static VirtualLocalApic InMode(ApicMode mode)
        {
            var apic = Bootstrap();
            if (mode == ApicMode.X2Apic)
                Assert.That(apic.WriteMsr(0x1B, Base | Bsp | En | Extd, T0, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Done));
            else if (mode == ApicMode.Disabled)
                Assert.That(apic.WriteMsr(0x1B, Base | Bsp, T0, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Done));
            Assert.That(apic.Mode, Is.EqualTo(mode));
            return apic;
        }

        private static IEnumerable<TestCaseData> ApicBaseTransitions()
        {
            TestCaseData Case(ApicMode from, ulong value, ApicAccess outcome, ApicMode to, string name) =>
                new TestCaseData(from, value, outcome, to).SetName("IA32_APIC_BASE: " + name);
            yield return Case(ApicMode.XApic, Base | Bsp | En | Extd, ApicAccess.Done, ApicMode.X2Apic, "xAPIC to x2APIC is allowed");
            yield return Case(ApicMode.XApic, Base | Bsp, ApicAccess.Done, ApicMode.Disabled, "xAPIC to disabled is allowed");
            yield return Case(ApicMode.XApic, Base | Bsp | En, ApicAccess.Done, ApicMode.XApic, "xAPIC to xAPIC changes nothing");
            yield return Case(ApicMode.XApic, Base | Bsp | Extd, ApicAccess.Fault, ApicMode.XApic, "EXTD without EN is #GP (from xAPIC)");
            yield return Case(ApicMode.X2Apic, Base | Bsp | En, ApicAccess.Fault, ApicMode.X2Apic, "x2APIC to xAPIC directly is #GP");
            yield return Case(ApicMode.X2Apic, Base | Bsp, ApicAccess.Done, ApicMode.Disabled, "x2APIC to disabled is allowed");
            yield return Case(ApicMode.X2Apic, Base | Bsp | Extd, ApicAccess.Fault, ApicMode.X2Apic, "EXTD without EN is #GP (from x2APIC)");
            yield return Case(ApicMode.X2Apic, Base | Bsp | En | Extd, ApicAccess.Done, ApicMode.X2Apic, "x2APIC to x2APIC changes nothing");
            yield return Case(ApicMode.Disabled, Base | Bsp | En, ApicAccess.Done, ApicMode.XApic, "disabled to xAPIC is allowed");
            yield return Case(ApicMode.Disabled, Base | Bsp | En | Extd, ApicAccess.Fault, ApicMode.Disabled, "disabled to x2APIC directly is #GP");
            yield return Case(ApicMode.Disabled, Base | Bsp | Extd, ApicAccess.Fault, ApicMode.Disabled, "EXTD without EN is #GP (from disabled)");
            yield return Case(ApicMode.XApic, Base | Bsp | En | 1UL << 9, ApicAccess.Fault, ApicMode.XApic, "reserved bit 9 is #GP");
            yield return Case(ApicMode.XApic, Base | Bsp | En | 1UL << 52, ApicAccess.Fault, ApicMode.XApic, "a base beyond the physical-address width is #GP");
            yield return Case(ApicMode.XApic, 0xFED0_0000UL | Bsp | En, ApicAccess.Fault, ApicMode.XApic, "another base is refused (no relocation)");
        }

        [TestCaseSource(nameof(ApicBaseTransitions))]
        public void Mode_transitions_follow_the_SDM(ApicMode from, ulong value, ApicAccess outcome, ApicMode to)
        {
            var apic = InMode(from);
            Assert.That(apic.WriteMsr(0x1B, value, T0, out _, out _, out _, out _), Is.EqualTo(outcome));
            Assert.That(apic.Mode, Is.EqualTo(to));
            apic.ReadMsr(0x1B, T0, out ulong readBack);
            ulong expected = Base | Bsp | (to == ApicMode.Disabled ? 0 : En) | (to == ApicMode.X2Apic ? Extd : 0);
            Assert.That(readBack, Is.EqualTo(expected), "IA32_APIC_BASE reads the mode it is in");
        }

        [Test]
        public void Disabling_then_enabling_gives_the_reset_state_and_a_disabled_APIC_answers_nothing()
        {
            var apic = Enabled();
            WriteRegister(apic, ApicTaskPri, 0x20);
            WriteRegister(apic, ApicLdr, 0x0400_0000);
            WriteRegister(apic, ApicLvtt, 0xEC);
            WriteRegister(apic, ApicTmict, 1000);
            Deliver(apic, 0x41);

            Assert.That(apic.WriteMsr(0x1B, Base | Bsp, T0, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Done));
            Assert.That(apic.ReadMmio(ApicLvr, T0), Is.EqualTo(0xFFFF_FFFFu), "the page is not the APIC's while it is disabled");
            Assert.That(apic.IsAddressedBy(0xFF, logical: false), Is.False, "a disabled APIC takes no interrupts, not even broadcasts");
            Assert.That(apic.TimerDeadline, Is.Zero);

            Assert.That(apic.WriteMsr(0x1B, Base | Bsp | En, T0, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Done));
            Assert.That(apic.ReadMmio(ApicTaskPri, T0), Is.Zero);
            Assert.That(apic.ReadMmio(ApicLdr, T0), Is.Zero);
            Assert.That(apic.ReadMmio(ApicSpiv, T0), Is.EqualTo(0xFFu));
            Assert.That(apic.ReadMmio(ApicLvtt, T0), Is.EqualTo(Masked));
            Assert.That(Bit(apic, ApicIrr, 0x41), Is.False);
            Assert.That(apic.HasPending, Is.False);
        }

        [Test]
        public void Linux_x2apic_enable_then_nox2apic_disable_sequence_goes_back_to_xAPIC_without_a_fault()
        {
            var linux = new LinuxLocalApic(Bootstrap(), LinuxApicDriver.PhysFlat);
            linux.X2apicEnableSequence();
            Assert.That(linux.Apic.Mode, Is.EqualTo(ApicMode.X2Apic));
            linux.X2apicEnableSequence();                      // already on: no second write
            linux.X2apicDisableSequence();
            Assert.That(linux.Faults, Is.Empty);
            Assert.That(linux.Apic.Mode, Is.EqualTo(ApicMode.XApic));
            Assert.That(linux.Rdmsr(0x1B), Is.EqualTo(Base | Bsp | En));
        }

        // ---- x2APIC registers (SDM 11.12.1.2, table 11-6) -----------------------------------------

        [TestCase(0x802u, 37UL, TestName = "x2APIC read: ID is the full 32-bit x2APIC ID")]
        [TestCase(0x803u, 0x50014UL, TestName = "x2APIC read: version")]
        [TestCase(0x808u, 0UL, TestName = "x2APIC read: TPR")]
        [TestCase(0x80Au, 0UL, TestName = "x2APIC read: PPR")]
        [TestCase(0x80Du, 0x0002_0020UL, TestName = "x2APIC read: LDR is cluster (ID 31:4) in 31:16 and 1 << ID 3:0 (SDM 11.12.10.2)")]
        [TestCase(0x80Fu, 0xFFUL, TestName = "x2APIC read: SVR")]
        [TestCase(0x828u, 0UL, TestName = "x2APIC read: ESR")]
        [TestCase(0x830u, 0UL, TestName = "x2APIC read: ICR (64 bits)")]
        [TestCase(0x832u, 0x10000UL, TestName = "x2APIC read: LVT timer")]
        [TestCase(0x837u, 0x10000UL, TestName = "x2APIC read: LVT error")]
        [TestCase(0x838u, 0UL, TestName = "x2APIC read: initial count")]
        [TestCase(0x839u, 0UL, TestName = "x2APIC read: current count")]
        [TestCase(0x83Eu, 0UL, TestName = "x2APIC read: divide configuration")]
        public void x2APIC_registers_read_as_table_11_6_says(uint msr, ulong expected)
        {
            var apic = new VirtualLocalApic(37, bootstrap: false);
            Assert.That(apic.WriteMsr(0x1B, Base | En | Extd, T0, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Done));
            Assert.That(apic.ReadMsr(msr, T0, out ulong value), Is.EqualTo(ApicAccess.Done));
            Assert.That(value, Is.EqualTo(expected));
        }

        [TestCase(0x800u, TestName = "x2APIC RDMSR #GP: 0x800 is reserved")]
        [TestCase(0x809u, TestName = "x2APIC RDMSR #GP: no APR in x2APIC mode")]
        [TestCase(0x80Bu, TestName = "x2APIC RDMSR #GP: EOI is write-only")]
        [TestCase(0x80Cu, TestName = "x2APIC RDMSR #GP: no remote read register")]
        [TestCase(0x80Eu, TestName = "x2APIC RDMSR #GP: no DFR in x2APIC mode")]
        [TestCase(0x82Fu, TestName = "x2APIC RDMSR #GP: no LVT CMCI (max LVT 5)")]
        [TestCase(0x831u, TestName = "x2APIC RDMSR #GP: no separate ICR high")]
        [TestCase(0x83Fu, TestName = "x2APIC RDMSR #GP: SELF IPI is write-only")]
        [TestCase(0x840u, TestName = "x2APIC RDMSR #GP: 0x840 is reserved")]
        [TestCase(0x8FFu, TestName = "x2APIC RDMSR #GP: 0x8FF is reserved")]
        public void x2APIC_reads_of_absent_or_write_only_registers_raise_GP(uint msr)
        {
            var apic = InMode(ApicMode.X2Apic);
            Assert.That(apic.ReadMsr(msr, T0, out _), Is.EqualTo(ApicAccess.Fault));
        }

        [TestCase(0x802u, 1UL, TestName = "x2APIC WRMSR #GP: ID is read-only")]
        [TestCase(0x803u, 0UL, TestName = "x2APIC WRMSR #GP: version is read-only")]
        [TestCase(0x80Au, 0UL, TestName = "x2APIC WRMSR #GP: PPR is read-only")]
        [TestCase(0x80Du, 1UL, TestName = "x2APIC WRMSR #GP: LDR is read-only")]
        [TestCase(0x80Eu, 0xFFFF_FFFFUL, TestName = "x2APIC WRMSR #GP: no DFR")]
        [TestCase(0x810u, 0UL, TestName = "x2APIC WRMSR #GP: ISR is read-only")]
        [TestCase(0x818u, 0UL, TestName = "x2APIC WRMSR #GP: TMR is read-only")]
        [TestCase(0x820u, 0UL, TestName = "x2APIC WRMSR #GP: IRR is read-only")]
        [TestCase(0x839u, 0UL, TestName = "x2APIC WRMSR #GP: current count is read-only")]
        [TestCase(0x831u, 0UL, TestName = "x2APIC WRMSR #GP: no ICR high")]
        [TestCase(0x808u, 0x100UL, TestName = "x2APIC WRMSR #GP: TPR bits 31:8 are reserved")]
        [TestCase(0x80Bu, 1UL, TestName = "x2APIC WRMSR #GP: EOI of a non-zero value")]
        [TestCase(0x80Fu, 0x1000UL, TestName = "x2APIC WRMSR #GP: SVR bit 12 (EOI-broadcast suppression is not offered)")]
        [TestCase(0x80Fu, 0x4FFUL, TestName = "x2APIC WRMSR #GP: SVR bit 10 is reserved")]
        [TestCase(0x828u, 1UL, TestName = "x2APIC WRMSR #GP: ESR of a non-zero value")]
        [TestCase(0x838u, 1UL << 32, TestName = "x2APIC WRMSR #GP: initial count is 32 bits")]
        [TestCase(0x83Eu, 0x4UL, TestName = "x2APIC WRMSR #GP: divide configuration bit 2 is reserved")]
        [TestCase(0x83Eu, 0x10UL, TestName = "x2APIC WRMSR #GP: divide configuration bit 4 is reserved")]
        [TestCase(0x83Fu, 0x100UL, TestName = "x2APIC WRMSR #GP: SELF IPI bits 31:8 are reserved")]
        [TestCase(0x832u, 1UL << 32, TestName = "x2APIC WRMSR #GP: LVT bits 63:32 are reserved")]
        public void x2APIC_writes_to_read_only_registers_or_reserved_bits_raise_GP(uint msr, ulong value)
        {
            var apic = InMode(ApicMode.X2Apic);
            Assert.That(apic.WriteMsr(msr, value, T0, out _, out _, out bool sends, out _), Is.EqualTo(ApicAccess.Fault));
            Assert.That(sends, Is.False);
        }

        [TestCase(0x832u, 1UL << 19, TestName = "x2APIC WRMSR #GP: LVT timer bit 19 is reserved")]
        [TestCase(0x832u, 0x700UL, TestName = "x2APIC WRMSR #GP: LVT timer has no delivery mode")]
        [TestCase(0x837u, 0x400UL, TestName = "x2APIC WRMSR #GP: LVT error has no delivery mode")]
        [TestCase(0x835u, 1UL << 17, TestName = "x2APIC WRMSR #GP: LVT LINT0 bit 17 is reserved")]
        [TestCase(0x833u, 1UL << 13, TestName = "x2APIC WRMSR #GP: LVT thermal bit 13 is reserved")]
        public void x2APIC_writes_to_reserved_LVT_bits_raise_GP(uint msr, ulong value)
        {
            // SDM 11.12.1.3: "Non-zero writes (by WRMSR instruction) to reserved bits to these
            // registers will raise a general protection fault exception."
            var apic = Enabled(x2apic: true);
            Assert.That(apic.WriteMsr(msr, value, T0, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Fault));
            Assert.That(ReadRegister(apic, (msr - 0x800) << 4), Is.EqualTo(Masked), "and the register keeps its value");
        }

        // ---- Linux's set-up (setup_local_APIC, lapic_setup_esr) --------------------------------

        [TestCase(0, TestName = "Linux flat xAPIC setup_local_APIC on CPU 0")]
        [TestCase(1, TestName = "Linux flat xAPIC setup_local_APIC on CPU 1")]
        public void Linux_flat_set_up_leaves_the_registers_it_wrote(int cpu)
        {
            var linux = new LinuxLocalApic(new VirtualLocalApic((uint)cpu, cpu == 0), LinuxApicDriver.Flat);
            var (oldEsr, esr) = linux.SetupLocalApic(cpu);

            Assert.That(linux.Faults, Is.Empty);
            Assert.That((oldEsr, esr), Is.EqualTo((0u, 0u)), "no APIC errors");
            Assert.That(linux.LapicGetMaxlvt(), Is.EqualTo(5u), "lapic_get_maxlvt: so Linux takes the maxlvt > 3 ESR path");
            Assert.That(linux.Apic.Enabled, Is.True);
            Assert.That(linux.Read(ApicDfr), Is.EqualTo(ApicDfrFlat));
            Assert.That(linux.Read(ApicLdr), Is.EqualTo((1u << cpu) << 24), "flat_init_apic_ldr: one bit per CPU");
            Assert.That(linux.Read(ApicTaskPri), Is.EqualTo(0x10u));
            Assert.That(linux.Read(ApicSpiv), Is.EqualTo(0x1FFu), "enabled, spurious vector 0xFF");
            Assert.That(linux.Read(ApicLvt0), Is.EqualTo(ApicDmExtInt | Masked), "LINT0: ExtINT, masked (the reset value was masked)");
            Assert.That(linux.Read(ApicLvt1), Is.EqualTo(cpu == 0 ? ApicDmNmi : ApicDmNmi | Masked), "LINT1: NMI on the boot CPU only");
            Assert.That(linux.Read(ApicLvtErr), Is.EqualTo((uint)ErrorApicVector));
            Assert.That(linux.Apic.ProcessorPriority, Is.EqualTo(0x10u));
            Assert.That(linux.Sent, Is.Empty);
        }

        [TestCase(LinuxApicDriver.X2apicPhys, 2u, 0u, TestName = "Linux x2apic_phys setup_local_APIC: no faults, no LDR involved")]
        [TestCase(LinuxApicDriver.X2apicCluster, 37u, 0x0002_0020u, TestName = "Linux x2apic_cluster setup_local_APIC: init_x2apic_ldr reads the logical ID")]
        public void Linux_x2APIC_set_up_works_through_MSRs_only(LinuxApicDriver driver, uint apicId, uint logicalId)
        {
            var linux = new LinuxLocalApic(new VirtualLocalApic(apicId, false), driver);
            linux.X2apicEnableSequence();
            Assert.That(linux.InitApicLdr(1), Is.EqualTo(logicalId));
            var (oldEsr, esr) = linux.SetupLocalApic(1);

            Assert.That(linux.Faults, Is.Empty, "every RDMSR and WRMSR Linux does is one the x2APIC has");
            Assert.That((oldEsr, esr), Is.EqualTo((0u, 0u)));
            Assert.That(linux.Read(ApicId), Is.EqualTo(apicId));
            Assert.That(linux.Read(ApicTaskPri), Is.EqualTo(0x10u));
            Assert.That(linux.Read(ApicSpiv), Is.EqualTo(0x1FFu));
            Assert.That(linux.Read(ApicLvt1), Is.EqualTo(ApicDmNmi | Masked));
            Assert.That(linux.Read(ApicLvtErr), Is.EqualTo((uint)ErrorApicVector));
        }

        [Test]
        public void Linux_apic_pending_intr_clear_ends_stale_in_service_vectors_with_one_EOI_each()
        {
            // As after kexec: two vectors still in service, the higher nested in the lower.
            var apic = Enabled();
            Service(apic, 0x31);
            Service(apic, 0x41);
            var linux = new LinuxLocalApic(apic, LinuxApicDriver.Flat);
            linux.SetupLocalApic(0);
            Assert.That(Bit(apic, ApicIsr, 0x31) || Bit(apic, ApicIsr, 0x41), Is.False);
            Assert.That(apic.ProcessorPriority, Is.EqualTo(0x10u), "PPR back to the TPR");
        }

        // ---- Priorities (SDM 11.8.3) -----------------------------------------------------------

        private static IEnumerable<TestCaseData> Priorities()
        {
            TestCaseData Case(uint tpr, int[] inService, int[] pending, uint ppr, int deliverable, string name) =>
                new TestCaseData(tpr, inService, pending, ppr, deliverable).SetName("Priority: " + name);
            var none = new int[0];
            yield return Case(0x00, none, new[] { 0x20 }, 0x00, 0x20, "TPR 0 lets everything through");
            yield return Case(0x00, none, new[] { 0x30, 0x80, 0x41 }, 0x00, 0x80, "the highest vector in the IRR goes first");
            yield return Case(0x20, none, new[] { 0x2F }, 0x20, -1, "a vector in the TPR's class is held");
            yield return Case(0x20, none, new[] { 0x30 }, 0x20, 0x30, "a vector in a class above the TPR's goes");
            yield return Case(0x25, none, new[] { 0x2F }, 0x25, -1, "the TPR's subclass does not matter: same class, held");
            yield return Case(0xF0, none, new[] { 0xFF }, 0xF0, -1, "TPR 0xF0 holds everything");
            yield return Case(0x00, new[] { 0x41 }, new[] { 0x45 }, 0x40, -1, "a vector of the in-service class waits for its EOI");
            yield return Case(0x00, new[] { 0x41 }, new[] { 0x51 }, 0x40, 0x51, "a higher class nests");
            yield return Case(0x35, new[] { 0x41 }, new[] { 0x4F }, 0x40, -1, "PPR is the in-service class when above the TPR's (subclass 0)");
            yield return Case(0x45, new[] { 0x41 }, new[] { 0x50 }, 0x45, 0x50, "PPR is the TPR when its class is not below the in-service one");
            yield return Case(0x50, new[] { 0x41 }, new[] { 0x5F }, 0x50, -1, "TPR above the in-service class holds its own class");
            yield return Case(0x00, new[] { 0x31, 0x61 }, new[] { 0x55 }, 0x60, -1, "PPR follows the highest in-service vector");
        }

        [TestCaseSource(nameof(Priorities))]
        public void Only_a_vector_whose_class_is_above_the_PPR_is_deliverable(uint tpr, int[] inService, int[] pending, uint ppr, int deliverable)
        {
            foreach (bool x2apic in new[] { false, true })
            {
                var apic = Enabled(x2apic: x2apic);
                foreach (int v in inService)
                    Service(apic, (byte)v);
                WriteRegister(apic, ApicTaskPri, tpr);
                foreach (int v in pending)
                    Deliver(apic, (byte)v);
                Assert.That(ReadRegister(apic, 0xA0), Is.EqualTo(ppr), x2apic ? "x2APIC PPR" : "xAPIC PPR");
                Assert.That(apic.DeliverableVector, Is.EqualTo(deliverable), x2apic ? "x2APIC" : "xAPIC");
                Assert.That(apic.HasPending, Is.True, "something is in the IRR, deliverable or not");
            }
        }

        // ---- IRR, ISR, EOI (SDM 11.8.4, 11.8.5) --------------------------------------------------

        [Test]
        public void Acknowledge_moves_a_vector_from_IRR_to_ISR_and_EOI_ends_the_highest_in_service()
        {
            var linux = new LinuxLocalApic(Enabled(), LinuxApicDriver.Flat);
            var apic = linux.Apic;
            Deliver(apic, 0x31);
            Assert.That(Bit(apic, ApicIrr, 0x31), Is.True);
            apic.Acknowledge(0x31);
            Assert.That(Bit(apic, ApicIrr, 0x31), Is.False, "IRR bit cleared");
            Assert.That(Bit(apic, ApicIsr, 0x31), Is.True, "ISR bit set");
            Assert.That(apic.HasPending, Is.False, "nothing left in the IRR");

            Deliver(apic, 0x61);                                // a higher class nests
            Assert.That(apic.DeliverableVector, Is.EqualTo(0x61));
            apic.Acknowledge(0x61);
            Deliver(apic, 0x35);                                // same class as 0x31: waits
            Assert.That(apic.DeliverableVector, Is.EqualTo(-1));

            linux.AckApicIrq();
            Assert.That(Bit(apic, ApicIsr, 0x61), Is.False, "the first EOI ends the highest, 0x61");
            Assert.That(Bit(apic, ApicIsr, 0x31), Is.True);
            Assert.That(apic.DeliverableVector, Is.EqualTo(-1), "0x35 still waits for 0x31");
            linux.AckApicIrq();
            Assert.That(Bit(apic, ApicIsr, 0x31), Is.False);
            Assert.That(apic.DeliverableVector, Is.EqualTo(0x35));
            Assert.That(linux.LevelEois, Is.Empty, "all edge-triggered");

            apic.Acknowledge(0x35);
            linux.AckApicIrq();
            linux.AckApicIrq();                                 // nothing in service: harmless
            Assert.That(apic.ProcessorPriority, Is.Zero);
        }

        [TestCase(false, TestName = "A level-triggered vector's EOI is reported for the I/O APIC (xAPIC)")]
        [TestCase(true, TestName = "A level-triggered vector's EOI is reported for the I/O APIC (x2APIC)")]
        public void The_EOI_of_a_level_triggered_vector_is_reported(bool x2apic)
        {
            var linux = new LinuxLocalApic(Enabled(x2apic: x2apic), x2apic ? LinuxApicDriver.X2apicPhys : LinuxApicDriver.Flat);
            var apic = linux.Apic;
            Service(apic, 0x41, level: true);
            Assert.That(Bit(apic, ApicTmr, 0x41), Is.True, "TMR set for a level-triggered vector (SDM 11.8.4)");
            Service(apic, 0x51);
            Assert.That(Bit(apic, ApicTmr, 0x51), Is.False);

            linux.AckApicIrq();
            Assert.That(linux.LevelEois, Is.Empty, "0x51 is edge-triggered");
            linux.AckApicIrq();
            Assert.That(linux.LevelEois, Is.EqualTo(new[] { 0x41 }));

            Deliver(apic, 0x41);                                // the same vector, now edge-triggered
            Assert.That(Bit(apic, ApicTmr, 0x41), Is.False, "an edge-triggered acceptance clears the TMR bit");
            Assert.That(linux.Faults, Is.Empty);
        }

        // ---- Illegal vectors (SDM 11.5.3) ------------------------------------------------------

        [TestCase(0, TestName = "Receiving vector 0 sets ESR bit 6 and drops it")]
        [TestCase(2, TestName = "Receiving vector 2 sets ESR bit 6 and drops it")]
        [TestCase(15, TestName = "Receiving vector 15 sets ESR bit 6 and drops it")]
        public void An_illegal_vector_received_is_dropped_and_reported_in_the_ESR(int vector)
        {
            var apic = Enabled();
            Deliver(apic, (byte)vector);
            Assert.That(Bit(apic, ApicIrr, vector), Is.False);
            Assert.That(apic.HasPending, Is.False);
            Assert.That(ReadRegister(apic, ApicEsr), Is.Zero, "the ESR shows errors only after a write");
            Assert.That(Esr(apic), Is.EqualTo(0x40u), "Receive Illegal Vector");
            Assert.That(Esr(apic), Is.Zero, "the next write latches no new errors");
        }

        [TestCase(false, 0x00u, TestName = "Sending fixed vector 0 (xAPIC ICR) sets ESR bit 5 and sends nothing")]
        [TestCase(false, 0x10Fu, TestName = "Sending lowest-priority vector 15 (xAPIC ICR) sets ESR bit 5 and sends nothing")]
        [TestCase(true, 0x0Eu, TestName = "Sending fixed vector 14 (x2APIC ICR) sets ESR bit 5 and sends nothing")]
        public void An_illegal_vector_sent_is_not_sent_and_reported_in_the_ESR(bool x2apic, uint icrLow)
        {
            var linux = new LinuxLocalApic(Enabled(x2apic: x2apic), x2apic ? LinuxApicDriver.X2apicPhys : LinuxApicDriver.PhysFlat);
            linux.IcrWrite(icrLow, 1);
            Assert.That(linux.Sent, Is.Empty);
            Assert.That(linux.Faults, Is.Empty, "not a #GP: an APIC error");
            Assert.That(Esr(linux.Apic), Is.EqualTo(0x20u), "Send Illegal Vector");
        }

        [Test]
        public void An_illegal_vector_written_to_the_x2APIC_SELF_IPI_register_sets_ESR_bit_5()
        {
            var apic = Enabled(x2apic: true);
            Assert.That(apic.WriteMsr(0x83F, 7, T0, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Done));
            Assert.That(apic.HasPending, Is.False);
            Assert.That(Esr(apic), Is.EqualTo(0x20u));
        }

        [TestCase(false, TestName = "An illegal vector received raises the LVT error interrupt (xAPIC)")]
        [TestCase(true, TestName = "An illegal vector received raises the LVT error interrupt (x2APIC)")]
        public void An_APIC_error_raises_the_LVT_error_interrupt_when_it_is_unmasked(bool x2apic)
        {
            // SDM 11.5.3: "An APIC error interrupt is generated when the local APIC sets one of
            // the error bits in the ESR." Linux unmasks it (lapic_setup_esr: ERROR_APIC_VECTOR)
            // and reports "APIC error on CPUn: 00(40), Received illegal vector".
            var linux = new LinuxLocalApic(Enabled(x2apic: x2apic), x2apic ? LinuxApicDriver.X2apicPhys : LinuxApicDriver.Flat);
            linux.SetupLocalApic(0);
            Deliver(linux.Apic, 3);
            Assert.That(linux.Apic.DeliverableVector, Is.EqualTo(ErrorApicVector));
            Assert.That(Esr(linux.Apic), Is.EqualTo(0x40u));
        }

        // ---- The timer (SDM 11.5.4) ----------------------------------------------------------

        [TestCase(0x0u, 2UL)]
        [TestCase(0x1u, 4UL)]
        [TestCase(0x2u, 8UL)]
        [TestCase(0x3u, 16UL)]
        [TestCase(0x8u, 32UL)]
        [TestCase(0x9u, 64UL)]
        [TestCase(0xAu, 128UL)]
        [TestCase(0xBu, 1UL)]
        public void The_divide_configuration_divides_the_TSC_as_figure_11_10_says(uint dcr, ulong divisor)
        {
            foreach (bool x2apic in new[] { false, true })
            {
                var apic = Enabled(x2apic: x2apic);
                WriteRegister(apic, ApicTdcr, dcr);
                WriteRegister(apic, ApicLvtt, 0xEC);
                WriteRegister(apic, ApicTmict, 1000, T0);
                Assert.That(apic.TimerDeadline, Is.EqualTo(T0 + 1000 * divisor));
                Assert.That(ReadRegister(apic, ApicTdcr), Is.EqualTo(dcr));
                Assert.That(ReadRegister(apic, ApicTmcct, T0 + 250 * divisor), Is.EqualTo(750u), "the current count after a quarter");
            }
        }

        [Test]
        public void Linux_one_shot_event_fires_at_the_TSC_the_count_and_divider_give()
        {
            var linux = new LinuxLocalApic(Enabled(), LinuxApicDriver.Flat) { Now = T0 };
            linux.SetupApicLvtt(0, oneshot: true, irqen: true, tscDeadline: false);
            Assert.That(linux.Read(ApicLvtt), Is.EqualTo((uint)LocalTimerVector), "one-shot, unmasked");
            Assert.That(linux.Read(ApicTdcr), Is.EqualTo(ApicTdrDiv16));
            Assert.That(linux.Apic.TimerDeadline, Is.Zero, "no count written yet: not armed");

            linux.LapicNextEvent(1000);
            var apic = linux.Apic;
            Assert.That(apic.TimerDeadline, Is.EqualTo(T0 + 16_000));
            Assert.That(linux.Read(ApicTmict), Is.EqualTo(1000u));
            Assert.That(ReadRegister(apic, ApicTmcct, T0), Is.EqualTo(1000u));
            Assert.That(ReadRegister(apic, ApicTmcct, T0 + 16 * 250), Is.EqualTo(750u));
            Assert.That(ReadRegister(apic, ApicTmcct, T0 + 15_999), Is.EqualTo(1u));

            Assert.That(apic.UpdateTimer(T0 + 15_999), Is.False, "not before its time");
            Assert.That(apic.HasPending, Is.False);
            Assert.That(apic.UpdateTimer(T0 + 16_000), Is.True);
            Assert.That(apic.DeliverableVector, Is.EqualTo(LocalTimerVector));
            Assert.That(apic.TimerDeadline, Is.Zero, "a one-shot timer fires once");
            Assert.That(ReadRegister(apic, ApicTmcct, T0 + 16_001), Is.Zero, "and its count stays at 0");
            Assert.That(apic.UpdateTimer(T0 + 100_000), Is.False);
        }

        [Test]
        public void Linux_periodic_timer_fires_every_period_and_catches_up_after_missed_ones_with_one_interrupt()
        {
            // lapic_timer_period for a 9.999 MHz crystal and HZ=250, as Linux computes it from CPUID 0x15.
            const uint clocks = 9_999_000 / 250;
            const ulong period = clocks / ApicDivisor * ApicDivisor;
            var linux = new LinuxLocalApic(Enabled(x2apic: true), LinuxApicDriver.X2apicPhys) { Now = T0 };
            linux.SetupApicLvtt(clocks, oneshot: false, irqen: true, tscDeadline: true);
            var apic = linux.Apic;
            Assert.That(linux.Read(ApicLvtt), Is.EqualTo(ApicLvtTimerPeriodic | LocalTimerVector));
            Assert.That(linux.Read(ApicTmict), Is.EqualTo(clocks / ApicDivisor));
            Assert.That(apic.TimerDeadline, Is.EqualTo(T0 + period));

            Assert.That(apic.UpdateTimer(T0 + period), Is.True);
            Assert.That(apic.TimerDeadline, Is.EqualTo(T0 + 2 * period), "re-armed for the next period");
            Assert.That(ReadRegister(apic, ApicTmcct, T0 + period + 625 * ApicDivisor), Is.EqualTo(clocks / ApicDivisor - 625),
                "the count reloads each period");
            apic.Acknowledge(LocalTimerVector);
            linux.AckApicIrq();

            // Three and a half periods unseen (the vCPU did not run): one interrupt, and the
            // next expiry stays on the period grid.
            Assert.That(apic.UpdateTimer(T0 + 5 * period + period / 2), Is.True);
            Assert.That(apic.DeliverableVector, Is.EqualTo(LocalTimerVector));
            Assert.That(apic.TimerDeadline, Is.EqualTo(T0 + 6 * period));
            apic.Acknowledge(LocalTimerVector);
            Assert.That(apic.HasPending, Is.False, "one IRR bit: the missed periods are one interrupt");
            Assert.That(apic.UpdateTimer(T0 + 6 * period - 1), Is.False);
            Assert.That(apic.UpdateTimer(T0 + 6 * period), Is.True);
            Assert.That(apic.TimerDeadline, Is.EqualTo(T0 + 7 * period));

            linux.LapicTimerShutdown();
            Assert.That(linux.Read(ApicLvtt) & Masked, Is.Not.Zero);
            Assert.That(apic.TimerDeadline, Is.Zero, "TMICT 0 stops the timer");
            Assert.That(linux.Faults, Is.Empty);
        }

        [Test]
        public void Linux_TSC_deadline_timer_fires_at_the_deadline_and_then_reads_0()
        {
            var linux = new LinuxLocalApic(Enabled(), LinuxApicDriver.Flat) { Now = T0 };
            linux.SetupApicLvtt(0, oneshot: true, irqen: true, tscDeadline: true);
            var apic = linux.Apic;
            Assert.That(linux.Read(ApicLvtt), Is.EqualTo(ApicLvtTimerTscDeadline | LocalTimerVector));
            linux.LapicNextDeadline(500);
            Assert.That(linux.Rdmsr(MsrIa32TscDeadline), Is.EqualTo(T0 + 500 * TscDivisor));
            Assert.That(apic.TimerDeadline, Is.EqualTo(T0 + 4000));
            Assert.That(ReadRegister(apic, ApicTmcct, T0 + 1), Is.Zero, "the current count reads 0 in TSC-deadline mode");

            Assert.That(apic.UpdateTimer(T0 + 3999), Is.False);
            Assert.That(apic.UpdateTimer(T0 + 4000), Is.True);
            Assert.That(apic.DeliverableVector, Is.EqualTo(LocalTimerVector));
            Assert.That(linux.Rdmsr(MsrIa32TscDeadline), Is.Zero, "the timer disarms itself and clears the MSR (SDM 11.5.4.1)");

            linux.LapicNextDeadline(100);
            linux.LapicTimerShutdown();                        // masks, then writes 0 to the MSR
            Assert.That(apic.TimerDeadline, Is.Zero);
            Assert.That(linux.Faults, Is.Empty);
        }

        [Test]
        public void A_deadline_already_past_fires_at_the_next_look()
        {
            var apic = Enabled(x2apic: true);
            WriteRegister(apic, ApicLvtt, ApicLvtTimerTscDeadline | 0x40);
            apic.WriteMsr(MsrIa32TscDeadline, T0 - 10, T0, out _, out _, out _, out _);
            Assert.That(apic.UpdateTimer(T0), Is.True);
            Assert.That(apic.DeliverableVector, Is.EqualTo(0x40));
        }

        [Test]
        public void IA32_TSC_DEADLINE_reads_0_and_ignores_writes_outside_TSC_deadline_mode()
        {
            var apic = Enabled();
            WriteRegister(apic, ApicLvtt, 0xEC);                  // one-shot
            Assert.That(apic.WriteMsr(MsrIa32TscDeadline, T0 + 100, T0, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Done));
            Assert.That(apic.ReadMsr(MsrIa32TscDeadline, T0, out ulong value), Is.EqualTo(ApicAccess.Done));
            Assert.That(value, Is.Zero);
            Assert.That(apic.TimerDeadline, Is.Zero, "not armed");
        }

        [Test]
        public void A_write_to_the_initial_count_does_not_arm_the_timer_in_TSC_deadline_mode()
        {
            var apic = Enabled(x2apic: true);
            WriteRegister(apic, ApicLvtt, ApicLvtTimerTscDeadline | 0xEC);
            WriteRegister(apic, ApicTmict, 100);
            Assert.That(apic.TimerDeadline, Is.Zero);
            Assert.That(apic.UpdateTimer(T0 + 1_000_000), Is.False);
        }

        [Test]
        public void A_masked_timer_still_counts_and_re_arms_but_raises_nothing()
        {
            var apic = Enabled();
            WriteRegister(apic, ApicTdcr, ApicTdrDiv1);
            WriteRegister(apic, ApicLvtt, Masked | ApicLvtTimerPeriodic | 0xEC);
            WriteRegister(apic, ApicTmict, 100, T0);
            Assert.That(ReadRegister(apic, ApicTmcct, T0 + 150), Is.EqualTo(50u), "counting while masked");
            Assert.That(apic.UpdateTimer(T0 + 100), Is.True, "it expires");
            Assert.That(apic.HasPending, Is.False, "but the masked LVT raises nothing");
            Assert.That(apic.TimerDeadline, Is.EqualTo(T0 + 200), "and the period goes on");

            WriteRegister(apic, ApicLvtt, ApicLvtTimerPeriodic | 0xEC, T0 + 250);   // unmasked, same mode: keeps counting
            Assert.That(apic.TimerDeadline, Is.EqualTo(T0 + 200));
            Assert.That(apic.UpdateTimer(T0 + 250), Is.True);
            Assert.That(apic.DeliverableVector, Is.EqualTo(0xEC));
        }

        [Test]
        public void A_write_of_0_to_the_initial_count_stops_the_timer()
        {
            var apic = Enabled(x2apic: true);
            WriteRegister(apic, ApicLvtt, ApicLvtTimerPeriodic | 0xEC);
            WriteRegister(apic, ApicTmict, 100);
            Assert.That(apic.TimerDeadline, Is.Not.Zero);
            WriteRegister(apic, ApicTmict, 0);
            Assert.That(apic.TimerDeadline, Is.Zero);
            Assert.That(ReadRegister(apic, ApicTmcct, T0 + 10), Is.Zero);
        }

        [TestCase(0u, ApicLvtTimerTscDeadline, TestName = "Timer mode one-shot to TSC-deadline disarms")]
        [TestCase(ApicLvtTimerPeriodic, ApicLvtTimerTscDeadline, TestName = "Timer mode periodic to TSC-deadline disarms")]
        [TestCase(ApicLvtTimerTscDeadline, 0u, TestName = "Timer mode TSC-deadline to one-shot disarms")]
        [TestCase(ApicLvtTimerTscDeadline, ApicLvtTimerPeriodic, TestName = "Timer mode TSC-deadline to periodic disarms")]
        public void Changing_between_TSC_deadline_and_counting_modes_disarms_the_timer(uint from, uint to)
        {
            var apic = Enabled(x2apic: true);
            WriteRegister(apic, ApicTdcr, ApicTdrDiv1);
            WriteRegister(apic, ApicLvtt, from | 0xEC);
            if (from == ApicLvtTimerTscDeadline)
                apic.WriteMsr(MsrIa32TscDeadline, T0 + 100, T0, out _, out _, out _, out _);
            else
                WriteRegister(apic, ApicTmict, 100);
            Assert.That(apic.TimerDeadline, Is.EqualTo(T0 + 100), "armed");
            WriteRegister(apic, ApicLvtt, to | 0xEC, T0 + 10);
            Assert.That(apic.TimerDeadline, Is.Zero, "SDM 11.5.4.1: a write that changes the timer mode disarms the timer");
            Assert.That(apic.UpdateTimer(T0 + 1000), Is.False);
            Assert.That(apic.HasPending, Is.False);
        }

        [TestCase(0u, ApicLvtTimerPeriodic, TestName = "Timer mode one-shot to periodic disarms")]
        [TestCase(ApicLvtTimerPeriodic, 0u, TestName = "Timer mode periodic to one-shot disarms")]
        public void Changing_between_the_counting_modes_disarms_the_timer(uint from, uint to)
        {
            // SDM 11.5.4.1: "A write to the LVT Timer Register that changes the timer mode
            // disarms the local APIC timer." Linux always writes TMICT after LVTT, so it cannot tell.
            var apic = Enabled(x2apic: true);
            WriteRegister(apic, ApicTdcr, ApicTdrDiv1);
            WriteRegister(apic, ApicLvtt, from | 0xEC);
            WriteRegister(apic, ApicTmict, 100);
            Assert.That(apic.TimerDeadline, Is.EqualTo(T0 + 100), "armed");
            WriteRegister(apic, ApicLvtt, to | 0xEC, T0 + 10);
            Assert.That(apic.TimerDeadline, Is.Zero, "the mode change disarms the timer");
            Assert.That(apic.UpdateTimer(T0 + 1000), Is.False);
        }

        [Test]
        public void In_TSC_deadline_mode_a_write_to_the_initial_count_is_ignored()
        {
            // SDM 11.5.4.1: "In TSC-deadline mode, writes to the initial-count register are ignored."
            var apic = Enabled(x2apic: true);
            WriteRegister(apic, ApicLvtt, ApicLvtTimerTscDeadline | 0xEC);
            WriteRegister(apic, ApicTmict, 100);
            Assert.That(ReadRegister(apic, ApicTmict), Is.Zero, "the ignored write leaves the initial count as it was");
            WriteRegister(apic, ApicLvtt, 0xEC, T0 + 10);        // back to one-shot: the mode change disarms
            Assert.That(apic.TimerDeadline, Is.Zero, "nothing counts from the ignored write");
            Assert.That(apic.UpdateTimer(T0 + 1_000_000), Is.False);
        }

        [Test]
        public void A_software_disabled_APIC_keeps_every_LVT_masked()
        {
            var apic = Enabled(x2apic: true);
            WriteRegister(apic, ApicLvtt, 0xEC);
            WriteRegister(apic, ApicSpiv, 0xFF);                    // SVR bit 8 clear: software disabled
            Assert.That(ReadRegister(apic, ApicLvtt) & Masked, Is.Not.Zero, "disabling masks every LVT (SDM 11.4.7.2)");
            WriteRegister(apic, ApicLvtt, 0xEC);
            Assert.That(ReadRegister(apic, ApicLvtt), Is.EqualTo(Masked | 0xEC), "and the mask cannot be cleared while disabled");
            WriteRegister(apic, ApicTmict, 10);
            Assert.That(apic.UpdateTimer(T0 + 1_000), Is.True);
            Assert.That(apic.HasPending, Is.False);
            Deliver(apic, 0x41);
            Assert.That(apic.HasPending, Is.False, "and it accepts no fixed interrupts");
        }

        // ---- IPIs out (SDM 11.6.1, 11.12.9) ---------------------------------------------------

        private static IEnumerable<TestCaseData> LinuxSendIpi()
        {
            TestCaseData Case(LinuxApicDriver driver, uint apicId, uint logicalId, bool logical, uint destination) =>
                new TestCaseData(driver, apicId, logicalId, logical, destination)
                    .SetName($"Linux {driver} send_IPI to APIC ID {apicId}: destination 0x{destination:X} {(logical ? "logical" : "physical")}");
            yield return Case(LinuxApicDriver.Flat, 2, 0, true, 0x04);
            yield return Case(LinuxApicDriver.PhysFlat, 2, 0, false, 2);
            yield return Case(LinuxApicDriver.X2apicPhys, 2, 0, false, 2);
            yield return Case(LinuxApicDriver.X2apicPhys, 300, 0, false, 300);
            yield return Case(LinuxApicDriver.X2apicCluster, 2, 0x0000_0004, true, 0x0000_0004);
            yield return Case(LinuxApicDriver.X2apicCluster, 300, 0x0012_1000, true, 0x0012_1000);
        }

        [TestCaseSource(nameof(LinuxSendIpi))]
        public void An_IPI_goes_out_with_the_destination_of_ICR_high_or_the_x2APIC_ICR(LinuxApicDriver driver, uint apicId, uint logicalId, bool logical, uint destination)
        {
            bool x2apic = driver is LinuxApicDriver.X2apicPhys or LinuxApicDriver.X2apicCluster;
            var linux = new LinuxLocalApic(Enabled(x2apic: x2apic), driver);
            linux.SendIpi((int)apicId, apicId, logicalId, RescheduleVector);
            Assert.That(linux.Faults, Is.Empty);
            Assert.That(linux.Sent, Has.Count.EqualTo(1));
            var (ipi, shorthand) = linux.Sent[0];
            Assert.That(shorthand, Is.EqualTo(IpiShorthand.None));
            Assert.That((ipi.Vector, ipi.Mode, ipi.Logical, ipi.Destination, ipi.LevelTriggered),
                Is.EqualTo(((byte)RescheduleVector, DeliveryMode.Fixed, logical, destination, false)));
            if (!x2apic)
            {
                Assert.That(linux.Read(ApicIcr2), Is.EqualTo(destination << 24), "ICR high reads back the destination");
                Assert.That(linux.Read(ApicIcr) & ApicIcrBusy, Is.Zero, "delivery status idle: __xapic_wait_icr_idle returns");
                Assert.That(linux.Read(ApicIcr) & 0xFFF, Is.EqualTo((logical ? ApicDestLogical : 0) | RescheduleVector));
            }
            else
            {
                Assert.That(linux.Rdmsr(0x830), Is.EqualTo((ulong)destination << 32 | (logical ? ApicDestLogical : 0) | RescheduleVector));
            }
        }

        [TestCase(false, ApicDestSelf, IpiShorthand.Self)]
        [TestCase(false, ApicDestAllInc, IpiShorthand.AllIncludingSelf)]
        [TestCase(false, ApicDestAllBut, IpiShorthand.AllExcludingSelf)]
        [TestCase(true, ApicDestSelf, IpiShorthand.Self)]
        [TestCase(true, ApicDestAllInc, IpiShorthand.AllIncludingSelf)]
        [TestCase(true, ApicDestAllBut, IpiShorthand.AllExcludingSelf)]
        public void Shorthands_come_out_with_the_IPI(bool x2apic, uint shortcut, IpiShorthand expected)
        {
            var linux = new LinuxLocalApic(Enabled(x2apic: x2apic), x2apic ? LinuxApicDriver.X2apicPhys : LinuxApicDriver.Flat);
            linux.SendIpiShortcut(shortcut, CallFunctionVector);
            linux.SendIpiShortcut(shortcut, NmiVector);
            Assert.That(linux.Sent, Has.Count.EqualTo(2));
            Assert.That(linux.Sent[0].Shorthand, Is.EqualTo(expected));
            Assert.That((linux.Sent[0].Ipi.Vector, linux.Sent[0].Ipi.Mode), Is.EqualTo(((byte)CallFunctionVector, DeliveryMode.Fixed)));
            Assert.That(linux.Sent[1].Shorthand, Is.EqualTo(expected));
            Assert.That(linux.Sent[1].Ipi.Mode, Is.EqualTo(DeliveryMode.Nmi), "NMI_VECTOR goes out as delivery mode NMI");
        }

        [Test]
        public void The_x2APIC_SELF_IPI_register_raises_the_vector_here_and_sends_nothing()
        {
            var linux = new LinuxLocalApic(Enabled(x2apic: true), LinuxApicDriver.X2apicPhys);
            linux.SendIpiSelf(0xF6);
            Assert.That(linux.Sent, Is.Empty);
            Assert.That(linux.Faults, Is.Empty);
            Assert.That(linux.Apic.DeliverableVector, Is.EqualTo(0xF6));
        }

        [TestCase(false, TestName = "Linux wakeup_secondary_cpu_via_init (xAPIC): INIT, then two start-up IPIs; the de-assert sends nothing")]
        [TestCase(true, TestName = "Linux wakeup_secondary_cpu_via_init (x2APIC): INIT, then two start-up IPIs; the de-assert sends nothing")]
        public void Linux_wakes_an_AP_with_INIT_and_two_start_up_IPIs(bool x2apic)
        {
            var bsp = new LinuxLocalApic(Enabled(x2apic: x2apic), x2apic ? LinuxApicDriver.X2apicPhys : LinuxApicDriver.PhysFlat);
            var ap = new VirtualLocalApic(1, bootstrap: false);
            Assert.That(bsp.WakeupSecondaryCpuViaInit(1, 0x9A000), Is.Zero, "send_status | accept_status");
            Assert.That(bsp.Faults, Is.Empty);
            Assert.That(bsp.Sent, Has.Count.EqualTo(3));
            var (init, _) = bsp.Sent[0];
            Assert.That((init.Mode, init.Logical, init.Destination), Is.EqualTo((DeliveryMode.Init, false, 1u)));
            foreach (var (sipi, _) in bsp.Sent.GetRange(1, 2))
                Assert.That((sipi.Mode, sipi.Vector, sipi.Destination), Is.EqualTo((DeliveryMode.Startup, (byte)0x9A, 1u)));

            // The AP's side: what the hypervisor merges before it decides what the AP does.
            foreach (var (ipi, _) in bsp.Sent)
            {
                Assert.That(ap.IsAddressedBy(ipi.Destination, ipi.Logical), Is.True);
                ap.Post(ipi);
            }
            Assert.That(ap.HasIncoming, Is.True);
            ap.MergeIncoming(out bool initSeen, out int startupVector);
            Assert.That(initSeen, Is.True);
            Assert.That(startupVector, Is.EqualTo(0x9A));
            Assert.That(ap.HasIncoming, Is.False);
        }

        [TestCase(12, TestName = "x2APIC ICR bit 12 (no delivery status in x2APIC) is reserved: #GP")]
        [TestCase(13, TestName = "x2APIC ICR bit 13 is reserved: #GP")]
        [TestCase(16, TestName = "x2APIC ICR bit 16 is reserved: #GP")]
        [TestCase(17, TestName = "x2APIC ICR bit 17 is reserved: #GP")]
        [TestCase(20, TestName = "x2APIC ICR bit 20 is reserved: #GP")]
        [TestCase(31, TestName = "x2APIC ICR bit 31 is reserved: #GP")]
        public void Reserved_x2APIC_ICR_bits_raise_GP_and_send_nothing(int bit)
        {
            var linux = new LinuxLocalApic(Enabled(x2apic: true), LinuxApicDriver.X2apicPhys);
            linux.Wrmsr(0x830, 1UL << 32 | 0x30 | 1UL << bit);
            Assert.That(linux.Faults, Has.Count.EqualTo(1));
            Assert.That(linux.Sent, Is.Empty);
        }

        [TestCase(false, 13, TestName = "xAPIC ICR low reserved bit 13 is ignored, the IPI goes")]
        [TestCase(false, 12, TestName = "xAPIC ICR delivery status (read-only) is ignored, the IPI goes")]
        [TestCase(false, 20, TestName = "xAPIC ICR low reserved bit 20 is ignored, the IPI goes")]
        public void Reserved_xAPIC_ICR_bits_are_ignored(bool x2apic, int bit)
        {
            var linux = new LinuxLocalApic(Enabled(x2apic: x2apic), LinuxApicDriver.PhysFlat);
            linux.IcrWrite(0x30 | 1u << bit, 1);
            Assert.That(linux.Sent, Has.Count.EqualTo(1));
            Assert.That(linux.Sent[0].Ipi.Vector, Is.EqualTo(0x30));
            Assert.That(linux.Read(ApicIcr) & ApicIcrBusy, Is.Zero, "the delivery status still reads idle");
        }

        [TestCase(0x200u, TestName = "An SMI IPI is not sent (partitions have no SMM)")]
        [TestCase(0x300u, TestName = "Delivery mode 011b (reserved) is not sent")]
        [TestCase(0x700u, TestName = "An ExtINT IPI is not sent")]
        public void IPIs_of_modes_partitions_do_not_have_are_not_sent(uint mode)
        {
            foreach (bool x2apic in new[] { false, true })
            {
                var linux = new LinuxLocalApic(Enabled(x2apic: x2apic), x2apic ? LinuxApicDriver.X2apicPhys : LinuxApicDriver.PhysFlat);
                linux.IcrWrite(mode | 0x30, 1);
                Assert.That(linux.Sent, Is.Empty);
            }
        }

        [Test]
        public void An_INIT_level_de_assert_sends_nothing_in_either_mode()
        {
            foreach (bool x2apic in new[] { false, true })
            {
                var linux = new LinuxLocalApic(Enabled(x2apic: x2apic), x2apic ? LinuxApicDriver.X2apicPhys : LinuxApicDriver.PhysFlat);
                linux.IcrWrite(ApicIntLevelTrig | ApicDmInit, 1);
                Assert.That(linux.Sent, Is.Empty);
                Assert.That(linux.Faults, Is.Empty);
            }
        }

        // ---- Destinations (SDM 11.6.2, 11.12.10) ---------------------------------------------

        private static IEnumerable<TestCaseData> Destinations()
        {
            TestCaseData Case(string model, uint destination, bool logical, bool addressed, string name) =>
                new TestCaseData(model, destination, logical, addressed).SetName($"Destination ({model}): {name}");
            // x2APIC, ID 37: cluster 2, member bit 5, logical ID 0x00020020.
            yield return Case("x2APIC", 37, false, true, "physical: its ID");
            yield return Case("x2APIC", 36, false, false, "physical: another ID");
            yield return Case("x2APIC", 37 | 0x100, false, false, "physical: all 32 bits compare");
            yield return Case("x2APIC", 0xFF, false, false, "physical 0xFF is an ordinary ID, not a broadcast");
            yield return Case("x2APIC", 0xFFFF_FFFF, false, true, "physical 0xFFFFFFFF is the broadcast");
            yield return Case("x2APIC", 0x0002_0020, true, true, "logical: its cluster and bit");
            yield return Case("x2APIC", 0x0002_00A1, true, true, "logical: its bit among others");
            yield return Case("x2APIC", 0x0002_FFDF, true, false, "logical: its cluster without its bit");
            yield return Case("x2APIC", 0x0001_0020, true, false, "logical: its bit in another cluster");
            yield return Case("x2APIC", 0xFFFF_FFFF, true, true, "logical 0xFFFFFFFF is the broadcast");
            // xAPIC flat, ID 2, LDR 0x04 (Linux's CPU 2).
            yield return Case("xAPIC flat", 2, false, true, "physical: its ID");
            yield return Case("xAPIC flat", 3, false, false, "physical: another ID");
            yield return Case("xAPIC flat", 0xFF, false, true, "physical 0xFF is the broadcast");
            yield return Case("xAPIC flat", 0x04, true, true, "logical: its LDR bit");
            yield return Case("xAPIC flat", 0x0E, true, true, "logical: its bit among others");
            yield return Case("xAPIC flat", 0x0B, true, false, "logical: other CPUs' bits");
            yield return Case("xAPIC flat", 0xFF, true, true, "logical 0xFF is the broadcast");
            // xAPIC cluster, ID 2, LDR 0x12 (cluster 1, member bit 1).
            yield return Case("xAPIC cluster", 0x12, true, true, "logical: its cluster and bit");
            yield return Case("xAPIC cluster", 0x1A, true, true, "logical: its bit among others in its cluster");
            yield return Case("xAPIC cluster", 0x22, true, false, "logical: its bit in another cluster");
            yield return Case("xAPIC cluster", 0x11, true, false, "logical: its cluster, another member");
            yield return Case("xAPIC cluster", 0xFF, true, true, "logical 0xFF is the broadcast");
        }

        [TestCaseSource(nameof(Destinations))]
        public void IsAddressedBy_follows_the_destination_model(string model, uint destination, bool logical, bool addressed)
        {
            VirtualLocalApic apic;
            if (model == "x2APIC")
            {
                apic = new VirtualLocalApic(37, false);
                apic.WriteMsr(0x1B, Base | En | Extd, T0, out _, out _, out _, out _);
            }
            else
            {
                apic = new VirtualLocalApic(2, false);
                bool flat = model == "xAPIC flat";
                WriteRegister(apic, ApicDfr, flat ? ApicDfrFlat : ApicDfrCluster);
                WriteRegister(apic, ApicLdr, (flat ? 0x04u : 0x12u) << 24);
                Assert.That(apic.ReadMmio(ApicDfr, T0), Is.EqualTo(flat ? ApicDfrFlat : ApicDfrCluster), "DFR bits 27:0 read as ones");
            }
            Assert.That(apic.IsAddressedBy(destination, logical), Is.EqualTo(addressed));
        }

        // ---- Interrupts in from other CPUs (Post, MergeIncoming) -----------------------------

        [Test]
        public void Posted_NMI_INIT_start_up_and_fixed_vectors_are_merged_by_the_owner()
        {
            var apic = Enabled(1);
            Assert.That(apic.HasIncoming || apic.HasPending, Is.False);

            apic.Post(new InterruptMessage(0, DeliveryMode.Nmi, false, 1, false));
            apic.Post(Fixed(0x41, level: true));
            apic.Post(new InterruptMessage(0x52, DeliveryMode.LowestPriority, false, 1, false));
            Assert.That(apic.HasIncoming, Is.True, "posted, not merged");
            Assert.That(apic.HasPending || apic.PendingNmi, Is.False, "nothing reaches the APIC's state before the owner merges");

            apic.MergeIncoming(out bool init, out int startup);
            Assert.That((init, startup), Is.EqualTo((false, -1)));
            Assert.That(apic.HasIncoming, Is.False);
            Assert.That(apic.PendingNmi, Is.True);
            Assert.That(apic.HasPending, Is.True);
            Assert.That(Bit(apic, ApicIrr, 0x41) && Bit(apic, ApicIrr, 0x52), Is.True);
            Assert.That(Bit(apic, ApicTmr, 0x41), Is.True, "level-triggered");
            Assert.That(Bit(apic, ApicTmr, 0x52), Is.False);
            Assert.That(apic.DeliverableVector, Is.EqualTo(0x52));

            apic.Post(new InterruptMessage(0, DeliveryMode.Init, false, 1, true));
            apic.Post(new InterruptMessage(0x9A, DeliveryMode.Startup, false, 1, false));
            apic.MergeIncoming(out init, out startup);
            Assert.That((init, startup), Is.EqualTo((true, 0x9A)));
            apic.MergeIncoming(out init, out startup);
            Assert.That((init, startup), Is.EqualTo((false, -1)), "each event is handed over once");
        }

        [Test]
        public void Of_two_start_up_IPIs_posted_before_the_owner_looks_the_first_one_starts_the_CPU()
        {
            // The first SIPI takes the CPU out of wait-for-SIPI; a later one finds it running
            // and is ignored (SDM 9.4.4.1). The mailbox must not mix the two vectors.
            var apic = new VirtualLocalApic(1, false);
            apic.Post(new InterruptMessage(0x10, DeliveryMode.Startup, false, 1, false));
            apic.Post(new InterruptMessage(0x01, DeliveryMode.Startup, false, 1, false));
            apic.MergeIncoming(out _, out int startup);
            Assert.That(startup, Is.EqualTo(0x10));
        }

        [Test]
        public void A_software_disabled_APIC_takes_NMI_INIT_and_start_up_but_no_fixed_interrupts()
        {
            var apic = new VirtualLocalApic(1, false);             // SVR 0xFF after reset
            apic.Post(Fixed(0x41));
            apic.Post(new InterruptMessage(0, DeliveryMode.Nmi, false, 1, false));
            apic.Post(new InterruptMessage(0, DeliveryMode.Init, false, 1, true));
            apic.Post(new InterruptMessage(0x10, DeliveryMode.Startup, false, 1, false));
            apic.MergeIncoming(out bool init, out int startup);
            Assert.That((init, startup, apic.PendingNmi), Is.EqualTo((true, 0x10, true)), "SDM 11.4.7.2");
            Assert.That(Bit(apic, ApicIrr, 0x41), Is.False);
        }

        [Test]
        public void Vectors_posted_from_another_thread_while_the_owner_merges_are_never_lost()
        {
            var apic = Enabled(1);
            const int rounds = 200;
            for (int round = 0; round < rounds; round++)
            {
                var poster = new Thread(() =>
                {
                    for (int v = 32; v < 256; v++)
                        apic.Post(Fixed((byte)v));
                });
                poster.Start();
                while (poster.IsAlive)
                    if (apic.HasIncoming)
                        apic.MergeIncoming(out _, out _);
                poster.Join();
                if (apic.HasIncoming)
                    apic.MergeIncoming(out _, out _);
                for (int v = 32; v < 256; v++)
                    Assert.That(Bit(apic, ApicIrr, v), Is.True, $"round {round}: vector 0x{v:X2} lost");
                Assert.That(apic.HasIncoming, Is.False);
                // Take them all: the IRR count must come back to zero with the IRR.
                for (int v = apic.DeliverableVector; v >= 0; v = apic.DeliverableVector)
                {
                    apic.Acknowledge(v);
                    WriteRegister(apic, ApicEoi, 0);
                }
                Assert.That(apic.HasPending, Is.False, $"round {round}: the pending count drifted");
            }
        }
    }
}
