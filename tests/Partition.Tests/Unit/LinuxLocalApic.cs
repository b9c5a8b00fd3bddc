using System.Collections.Generic;
using NUnit.Framework;
using Partition.Devices;

namespace Partition.Tests.Unit
{
    /// <summary>Which of Linux 6.1's APIC drivers a <see cref="LinuxLocalApic"/> replays.</summary>
    public enum LinuxApicDriver
    {
        /// <summary>apic_flat_64.c "flat": xAPIC, logical destinations, one LDR bit per CPU.</summary>
        Flat,
        /// <summary>apic_flat_64.c "physical flat": xAPIC, physical destinations (more than 8 CPUs).</summary>
        PhysFlat,
        /// <summary>x2apic_phys.c: x2APIC, physical destinations.</summary>
        X2apicPhys,
        /// <summary>x2apic_cluster.c: x2APIC, logical destinations from the read-only LDR.</summary>
        X2apicCluster,
    }

    /// <summary>
    /// The local APIC accesses of Linux 6.1 on one CPU, each method named after the function it
    /// replays (arch/x86/kernel/apic/apic.c, ipi.c, apic_flat_64.c, x2apic_phys.c,
    /// x2apic_cluster.c; arch/x86/kernel/smpboot.c) and keeping its order of accesses. apic_read
    /// and apic_write are native_apic_mem_read/write (32 bits at the page offset) for the xAPIC
    /// drivers and native_apic_msr_read/write (RDMSR/WRMSR of 0x800 + offset / 16) for the
    /// x2APIC ones. An access the APIC refuses is recorded in <see cref="Faults"/>: on the real
    /// machine it is a #GP that Linux reports as an unchecked MSR access.
    /// </summary>
    public sealed class LinuxLocalApic
    {
        // arch/x86/include/asm/apicdef.h
        public const uint ApicId = 0x20, ApicLvr = 0x30, ApicTaskPri = 0x80, ApicEoi = 0xB0, ApicLdr = 0xD0, ApicDfr = 0xE0,
            ApicSpiv = 0xF0, ApicIsr = 0x100, ApicTmr = 0x180, ApicIrr = 0x200, ApicEsr = 0x280, ApicIcr = 0x300,
            ApicIcr2 = 0x310, ApicLvtt = 0x320, ApicLvtThmr = 0x330, ApicLvtPc = 0x340, ApicLvt0 = 0x350, ApicLvt1 = 0x360,
            ApicLvtErr = 0x370, ApicTmict = 0x380, ApicTmcct = 0x390, ApicTdcr = 0x3E0, ApicSelfIpi = 0x3F0;
        public const uint ApicDfrFlat = 0xFFFFFFFF, ApicDfrCluster = 0x0FFFFFFF;
        public const uint ApicLdrMask = 0xFFu << 24;
        public const uint ApicSpivApicEnabled = 1 << 8, ApicVectorMask = 0xFF, ApicTpriMask = 0xFF;
        public const uint ApicDestSelf = 0x40000, ApicDestAllInc = 0x80000, ApicDestAllBut = 0xC0000;
        public const uint ApicIcrBusy = 0x1000, ApicIntLevelTrig = 0x8000, ApicIntAssert = 0x4000;
        public const uint ApicDestLogical = 0x800, ApicDestPhysical = 0;
        public const uint ApicDmFixed = 0, ApicDmNmi = 0x400, ApicDmInit = 0x500, ApicDmStartup = 0x600, ApicDmExtInt = 0x700;
        public const uint ApicLvtMasked = 1 << 16, ApicLvtTimerPeriodic = 1 << 17, ApicLvtTimerTscDeadline = 2 << 17;
        public const uint ApicTdrDiv1 = 0xB, ApicTdrDivTmBase = 1 << 2, ApicTdrDiv16 = 0x3;
        public const uint ApicDivisor = 16, TscDivisor = 8;
        public const ulong X2apicEnable = 1UL << 10, XapicEnable = 1UL << 11;
        public const uint MsrIa32ApicBase = 0x1B, MsrIa32TscDeadline = 0x6E0, ApicBaseMsr = 0x800;

        // arch/x86/include/asm/irq_vectors.h
        public const int NmiVector = 0x02, LocalTimerVector = 0xEC, CallFunctionSingleVector = 0xFB,
            CallFunctionVector = 0xFC, RescheduleVector = 0xFD, ErrorApicVector = 0xFE, SpuriousApicVector = 0xFF;

        public LinuxLocalApic(VirtualLocalApic apic, LinuxApicDriver driver)
        {
            Apic = apic;
            Driver = driver;
        }

        public VirtualLocalApic Apic { get; }
        public LinuxApicDriver Driver { get; }

        /// <summary>The TSC, as RDTSC reads it and as the APIC's clock: the test moves it.</summary>
        public ulong Now { get; set; }

        /// <summary>IPIs the writes sent, with their shorthand, in order.</summary>
        public List<(InterruptMessage Ipi, IpiShorthand Shorthand)> Sent { get; } = new();

        /// <summary>Level-triggered vectors whose EOI the APIC reported (for the I/O APIC).</summary>
        public List<int> LevelEois { get; } = new();

        /// <summary>Accesses the APIC refused (#GP on a real machine).</summary>
        public List<string> Faults { get; } = new();

        public bool X2apicMode => Driver is LinuxApicDriver.X2apicPhys or LinuxApicDriver.X2apicCluster;

        public ulong Rdmsr(uint msr)
        {
            if (Apic.ReadMsr(msr, Now, out ulong value) == ApicAccess.Fault)
                Faults.Add($"RDMSR 0x{msr:X}");
            return value;
        }

        public void Wrmsr(uint msr, ulong value)
        {
            var outcome = Apic.WriteMsr(msr, value, Now, out var ipi, out var shorthand, out bool sends, out int levelEoi);
            if (outcome == ApicAccess.Fault)
                Faults.Add($"WRMSR 0x{msr:X} 0x{value:X}");
            Record(ipi, shorthand, sends, levelEoi);
        }

        private void Record(in InterruptMessage ipi, IpiShorthand shorthand, bool sends, int levelEoi)
        {
            if (sends)
                Sent.Add((ipi, shorthand));
            if (levelEoi >= 0)
                LevelEois.Add(levelEoi);
        }

        /// <summary>apic_read: native_apic_mem_read, or native_apic_msr_read (DFR reads all ones there).</summary>
        public uint Read(uint reg)
        {
            if (!X2apicMode)
                return Apic.ReadMmio(reg, Now);
            if (reg == ApicDfr)
                return 0xFFFFFFFF;
            return (uint)Rdmsr(ApicBaseMsr + (reg >> 4));
        }

        /// <summary>apic_write: native_apic_mem_write, or native_apic_msr_write (which skips DFR, ID, LDR and LVR).</summary>
        public void Write(uint reg, uint value)
        {
            if (!X2apicMode)
            {
                Apic.WriteMmio(reg, value, Now, out var ipi, out var shorthand, out bool sends, out int levelEoi);
                Record(ipi, shorthand, sends, levelEoi);
                return;
            }
            if (reg == ApicDfr || reg == ApicId || reg == ApicLdr || reg == ApicLvr)
                return;
            Wrmsr(ApicBaseMsr + (reg >> 4), value);
        }

        /// <summary>ack_APIC_irq: apic->eoi_write, native_apic_mem_write(APIC_EOI, APIC_EOI_ACK) or native_apic_msr_eoi_write.</summary>
        public void AckApicIrq()
        {
            if (X2apicMode)
                Wrmsr(ApicBaseMsr + (ApicEoi >> 4), 0);
            else
                Write(ApicEoi, 0);
        }

        /// <summary>apic_icr_write: native_apic_icr_write (ICR2 then ICR) or native_x2apic_icr_write (one 64-bit WRMSR).</summary>
        public void IcrWrite(uint low, uint id)
        {
            if (X2apicMode)
            {
                Wrmsr(ApicBaseMsr + (ApicIcr >> 4), (ulong)id << 32 | low);
                return;
            }
            Write(ApicIcr2, id << 24);
            Write(ApicIcr, low);
        }

        /// <summary>safe_apic_wait_icr_idle: 0 once the ICR's delivery status is idle (x2APIC has none).</summary>
        public uint SafeApicWaitIcrIdle()
        {
            if (X2apicMode)
                return 0;
            for (int timeout = 0; timeout < 1000; timeout++)
                if ((Read(ApicIcr) & ApicIcrBusy) == 0)
                    return 0;
            return ApicIcrBusy;
        }

        /// <summary>__x2apic_enable: EXTD on, keeping the rest of IA32_APIC_BASE.</summary>
        public void X2apicEnableSequence()
        {
            ulong msr = Rdmsr(MsrIa32ApicBase);
            if ((msr & X2apicEnable) != 0)
                return;
            Wrmsr(MsrIa32ApicBase, msr | X2apicEnable);
        }

        /// <summary>__x2apic_disable: "Disable xapic and x2apic first and then reenable xapic mode".</summary>
        public void X2apicDisableSequence()
        {
            ulong msr = Rdmsr(MsrIa32ApicBase);
            if ((msr & X2apicEnable) == 0)
                return;
            Wrmsr(MsrIa32ApicBase, msr & ~(X2apicEnable | XapicEnable));
            Wrmsr(MsrIa32ApicBase, msr & ~X2apicEnable);
        }

        /// <summary>apic->init_apic_ldr for the driver; returns what x2apic_cluster's init_x2apic_ldr reads as this CPU's logical ID (else 0).</summary>
        public uint InitApicLdr(int cpu)
        {
            switch (Driver)
            {
                case LinuxApicDriver.Flat:                  // flat_init_apic_ldr
                    Write(ApicDfr, ApicDfrFlat);
                    uint value = Read(ApicLdr) & ~ApicLdrMask;
                    value |= (1u << cpu) << 24;             // SET_APIC_LOGICAL_ID
                    Write(ApicLdr, value);
                    return 0;
                case LinuxApicDriver.X2apicCluster:         // init_x2apic_ldr
                    return Read(ApicLdr);
                default:                                    // physflat_init_apic_ldr, init_x2apic_ldr (phys): nothing
                    return 0;
            }
        }

        /// <summary>
        /// apic_pending_intr_clear: reads IRR and ISR, acknowledges every in-service bit, and
        /// runs again until both are empty; false if 512 rounds did not get there ("APIC:
        /// Stale IRR").
        /// </summary>
        public bool ApicPendingIntrClear()
        {
            for (int round = 0; round < 512; round++)
            {
                bool irr = false, isr = false;
                for (uint i = 0; i < 8; i++)
                    irr |= Read(ApicIrr + i * 0x10) != 0;
                var inService = new List<int>();
                for (uint i = 0; i < 8; i++)
                {
                    uint word = Read(ApicIsr + i * 0x10);
                    isr |= word != 0;
                    for (int bit = 0; bit < 32; bit++)
                        if ((word & 1u << bit) != 0)
                            inService.Add((int)i * 32 + bit);
                }
                if (isr)
                {
                    foreach (int _ in inService)
                        AckApicIrq();
                    continue;
                }
                if (!irr)
                    return true;
            }
            return false;
        }

        /// <summary>setup_local_APIC (64-bit, no PIC mode, apic_extnmi on the boot CPU only), then end_local_APIC_setup's lapic_setup_esr.</summary>
        public (uint OldEsr, uint Esr) SetupLocalApic(int cpu, bool picMode = false)
        {
            uint value = Read(ApicSpiv);
            value &= ~ApicSpivApicEnabled;
            Write(ApicSpiv, value);

            InitApicLdr(cpu);

            value = Read(ApicTaskPri);
            value &= ~ApicTpriMask;
            value |= 0x10;
            Write(ApicTaskPri, value);

            Assert.That(ApicPendingIntrClear(), Is.True, "apic_pending_intr_clear: APIC: Stale IRR");

            value = Read(ApicSpiv);
            value &= ~ApicVectorMask;
            value |= ApicSpivApicEnabled;
            value |= SpuriousApicVector;
            Write(ApicSpiv, value);

            value = Read(ApicLvt0) & ApicLvtMasked;
            if (cpu == 0 && (picMode || value == 0))
                value = ApicDmExtInt;
            else
                value = ApicDmExtInt | ApicLvtMasked;
            Write(ApicLvt0, value);

            value = cpu == 0 ? ApicDmNmi : ApicDmNmi | ApicLvtMasked;
            Write(ApicLvt1, value);

            return LapicSetupEsr();
        }

        /// <summary>lapic_get_maxlvt: LVR bits 23:16.</summary>
        public uint LapicGetMaxlvt() => Read(ApicLvr) >> 16 & 0xFF;

        /// <summary>lapic_setup_esr: clears the ESR, enables the error vector, clears again; returns both ESR reads.</summary>
        public (uint OldValue, uint Value) LapicSetupEsr()
        {
            uint maxlvt = LapicGetMaxlvt();
            if (maxlvt > 3)
                Write(ApicEsr, 0);
            uint oldvalue = Read(ApicEsr);
            Write(ApicLvtErr, ErrorApicVector);
            if (maxlvt > 3)
                Write(ApicEsr, 0);
            uint value = Read(ApicEsr);
            return (oldvalue, value);
        }

        /// <summary>__setup_APIC_LVTT(clocks, oneshot, irqen) on an integrated APIC; <paramref name="tscDeadline"/> is boot_cpu_has(X86_FEATURE_TSC_DEADLINE_TIMER).</summary>
        public void SetupApicLvtt(uint clocks, bool oneshot, bool irqen, bool tscDeadline)
        {
            uint lvttValue = LocalTimerVector;
            if (!oneshot)
                lvttValue |= ApicLvtTimerPeriodic;
            else if (tscDeadline)
                lvttValue |= ApicLvtTimerTscDeadline;
            if (!irqen)
                lvttValue |= ApicLvtMasked;
            Write(ApicLvtt, lvttValue);
            if ((lvttValue & ApicLvtTimerTscDeadline) != 0)
                return;                                     // mfence
            uint tmpValue = Read(ApicTdcr);
            Write(ApicTdcr, (tmpValue & ~(ApicTdrDiv1 | ApicTdrDivTmBase)) | ApicTdrDiv16);
            if (!oneshot)
                Write(ApicTmict, clocks / ApicDivisor);
        }

        /// <summary>lapic_next_event: the count for the next one-shot event.</summary>
        public void LapicNextEvent(uint delta) => Write(ApicTmict, delta);

        /// <summary>lapic_next_deadline: IA32_TSC_DEADLINE = rdtsc() + delta * TSC_DIVISOR.</summary>
        public void LapicNextDeadline(ulong delta) => Wrmsr(MsrIa32TscDeadline, Now + delta * TscDivisor);

        /// <summary>lapic_timer_shutdown: mask the LVT timer and zero the deadline or the count.</summary>
        public void LapicTimerShutdown()
        {
            uint v = Read(ApicLvtt);
            v |= ApicLvtMasked | LocalTimerVector;
            Write(ApicLvtt, v);
            if ((v & ApicLvtTimerTscDeadline) != 0)
                Wrmsr(MsrIa32TscDeadline, 0);
            else
                Write(ApicTmict, 0);
        }

        // __prepare_ICR: an NMI's vector field is its delivery mode.
        private static uint PrepareIcr(uint shortcut, int vector, uint dest) =>
            shortcut | dest | (vector == NmiVector ? ApicDmNmi : ApicDmFixed | (uint)vector);

        /// <summary>
        /// apic->send_IPI(cpu, vector) for the driver: flat_send_IPI_mask (logical, one LDR bit
        /// per CPU), default_send_IPI_single_phys, x2apic_phys's or x2apic_cluster's
        /// __x2apic_send_IPI_dest. <paramref name="apicId"/> is per_cpu(x86_cpu_to_apicid),
        /// <paramref name="logicalId"/> x86_cpu_to_logical_apicid (x2APIC cluster).
        /// </summary>
        public void SendIpi(int cpu, uint apicId, uint logicalId, int vector)
        {
            switch (Driver)
            {
                case LinuxApicDriver.Flat:
                    DefaultSendIpiDestField(1u << cpu, vector, ApicDestLogical);
                    break;
                case LinuxApicDriver.PhysFlat:
                    DefaultSendIpiDestField(apicId, vector, ApicDestPhysical);
                    break;
                case LinuxApicDriver.X2apicPhys:
                    IcrWrite(PrepareIcr(0, vector, ApicDestPhysical), apicId);
                    break;
                case LinuxApicDriver.X2apicCluster:
                    IcrWrite(PrepareIcr(0, vector, ApicDestLogical), logicalId);
                    break;
            }
        }

        /// <summary>__default_send_IPI_dest_field: wait for idle, ICR2, then ICR.</summary>
        public void DefaultSendIpiDestField(uint mask, int vector, uint dest)
        {
            Assert.That(SafeApicWaitIcrIdle(), Is.Zero, "__xapic_wait_icr_idle never saw the ICR idle");
            Write(ApicIcr2, mask << 24);
            Write(ApicIcr, PrepareIcr(0, vector, dest));
        }

        /// <summary>__default_send_IPI_shortcut (xAPIC: ICR only) or __x2apic_send_IPI_shorthand (ICR with destination 0).</summary>
        public void SendIpiShortcut(uint shortcut, int vector)
        {
            if (X2apicMode)
            {
                Wrmsr(ApicBaseMsr + (ApicIcr >> 4), PrepareIcr(shortcut, vector, 0));
                return;
            }
            Assert.That(SafeApicWaitIcrIdle(), Is.Zero);
            Write(ApicIcr, PrepareIcr(shortcut, vector, 0));
        }

        /// <summary>apic->send_IPI_self: the SELF shorthand, or x2apic_send_IPI_self's SELF IPI register.</summary>
        public void SendIpiSelf(int vector)
        {
            if (X2apicMode)
                Write(ApicSelfIpi, (uint)vector);
            else
                SendIpiShortcut(ApicDestSelf, vector);
        }

        /// <summary>
        /// wakeup_secondary_cpu_via_init: clear the ESR, INIT assert, INIT de-assert, then two
        /// STARTUP IPIs each followed by an ESR check. Returns send_status | accept_status.
        /// </summary>
        public uint WakeupSecondaryCpuViaInit(uint physApicId, ulong startEip)
        {
            uint maxlvt = LapicGetMaxlvt();
            if (maxlvt > 3)
                Write(ApicEsr, 0);
            Read(ApicEsr);

            IcrWrite(ApicIntLevelTrig | ApicIntAssert | ApicDmInit, physApicId);
            uint sendStatus = SafeApicWaitIcrIdle();
            IcrWrite(ApicIntLevelTrig | ApicDmInit, physApicId);
            sendStatus = SafeApicWaitIcrIdle();

            uint acceptStatus = 0;
            for (int j = 1; j <= 2; j++)
            {
                if (maxlvt > 3)
                    Write(ApicEsr, 0);
                Read(ApicEsr);
                IcrWrite(ApicDmStartup | (uint)(startEip >> 12), physApicId);
                sendStatus = SafeApicWaitIcrIdle();
                if (maxlvt > 3)
                    Write(ApicEsr, 0);
                acceptStatus = Read(ApicEsr) & 0xEF;
                if (sendStatus != 0 || acceptStatus != 0)
                    break;
            }
            return sendStatus | acceptStatus;
        }
    }
}
