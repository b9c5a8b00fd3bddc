using NUnit.Framework;
using Partition.Kernel;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    public unsafe class VmxTests
    {
        /// <summary>The IA32_VMX_* values Bochs 2.7 reports for cpu model "tigerlake" (read in a boot of the image).</summary>
        public static FakeCpu TigerLake()
        {
            var cpu = FakeCpu.Reset();
            cpu.Cpuid[(1, 0)] = (0x806C1, 0, 1u << 5, 0);
            cpu.Msrs[Msr.FeatureControl] = 0x5;
            cpu.Msrs[Msr.VmxBasic] = 4UL | (4096UL << 32) | (6UL << 50) | (1UL << 54) | (1UL << 55);
            cpu.Msrs[Msr.VmxTruePinbasedCtls] = 0x0000007F_00000016UL;
            cpu.Msrs[Msr.VmxTrueProcbasedCtls] = 0xFFF9FFFE_04006172UL;
            cpu.Msrs[Msr.VmxProcbasedCtls2] = 0x02977FFF_00000000UL;
            cpu.Msrs[Msr.VmxTrueExitCtls] = 0x107FFFFF_00036DFBUL;
            cpu.Msrs[Msr.VmxTrueEntryCtls] = 0x0010FFFF_000011FBUL;
            cpu.Msrs[Msr.VmxMisc] = 0;
            cpu.Msrs[Msr.VmxCr0Fixed0] = 0x80000021;
            cpu.Msrs[Msr.VmxCr0Fixed1] = 0xFFFFFFFF;
            cpu.Msrs[Msr.VmxCr4Fixed0] = 0x00002000;
            cpu.Msrs[Msr.VmxCr4Fixed1] = 0x00F72FFF;
            cpu.Msrs[Msr.VmxEptVpidCap] = 0x00000F0106B34141UL;
            cpu.Msrs[0xC0000080] = 0x500;            // IA32_EFER: LME, LMA
            cpu.Msrs[0x1B] = 0xFEE00000 | 1 << 11 | 1 << 10; // IA32_APIC_BASE: enabled, x2APIC (IPIs are MSR writes)
            cpu.Msrs[0x277] = 0x0007040600070406UL;  // IA32_PAT at its reset value
            cpu.Cr0 = 0xE0010013;
            cpu.Cr4 = 0x620;
            return cpu;
        }

        private HostPhysicalMemory _memory;

        [SetUp]
        public void GivePhysicalPages() => _memory = new HostPhysicalMemory(16);

        [TearDown]
        public void ReleasePhysicalPages() => _memory.Dispose();

        [Test]
        public void DecodesTigerLakeCapabilities()
        {
            TigerLake();
            var caps = VmxCapabilities.Read();
            Assert.Multiple(() =>
            {
                Assert.That(caps.RevisionId, Is.EqualTo(4));
                Assert.That(caps.RegionSize, Is.EqualTo(4096));
                Assert.That(caps.VmcsMemoryType, Is.EqualTo(6));
                Assert.That(caps.HasTrueControls, Is.True);
                Assert.That(caps.HasEpt && caps.HasVpid && caps.HasUnrestrictedGuest, Is.True);
                Assert.That(caps.HasVmcsShadowing && caps.HasPageModificationLog && caps.HasVmfunc, Is.True);
                Assert.That(caps.HasPreemptionTimer, Is.True);
                Assert.That(caps.PreemptionTimerRate, Is.Zero);
                Assert.That(caps.EptPageWalkLength4 && caps.EptWriteBack && caps.EptLargePages2M && caps.EptLargePages1G, Is.True);
                Assert.That(caps.InveptSingleContext && caps.InveptAllContext && caps.HasInvvpid, Is.True);
            });
        }

        [Test]
        public void ReadsTheTrueControlMsrsOnlyWhenBasicSaysSo()
        {
            var cpu = TigerLake();
            cpu.Msrs[Msr.VmxBasic] &= ~(1UL << 55);
            cpu.Msrs[Msr.VmxPinbasedCtls] = 0x0000007F_0000003EUL;
            cpu.Msrs[Msr.VmxProcbasedCtls] = 0xFFF9FFFE_0401E172UL;
            cpu.Msrs[Msr.VmxExitCtls] = 0x107FFFFF_00036DFFUL;
            cpu.Msrs[Msr.VmxEntryCtls] = 0x0010FFFF_000011FFUL;
            var caps = VmxCapabilities.Read();
            Assert.That(caps.PinBased.Allowed0, Is.EqualTo(0x3E));
            Assert.That(caps.PrimaryProcessorBased.Allowed0, Is.EqualTo(0x0401E172));
        }

        [Test]
        public void DoesNotReadAbsentMsrs()
        {
            // No secondary controls: IA32_VMX_PROCBASED_CTLS2 and EPT_VPID_CAP would raise #GP.
            var cpu = TigerLake();
            cpu.Msrs[Msr.VmxTrueProcbasedCtls] &= ~(1UL << (32 + 31));
            cpu.Msrs.Remove(Msr.VmxProcbasedCtls2);
            cpu.Msrs.Remove(Msr.VmxEptVpidCap);
            var caps = VmxCapabilities.Read();
            Assert.That(caps.HasSecondaryControls || caps.HasEpt || caps.HasUnrestrictedGuest, Is.False);
        }

        [Test]
        public void ReportNamesEveryCapabilityTheIssueAsksFor()
        {
            var cpu = TigerLake();
            VmxCapabilities.Read().Print();
            string report = cpu.ConsoleText;
            Assert.That(report, Does.Contain("VMX: VMCS revision 0x00000004, region 4096 bytes, memory type write-back, TRUE controls yes"));
            Assert.That(report, Does.Contain("VMX: secondary processor-based controls: must be 1 0x00000000, may be 1 0x02977FFF"));
            Assert.That(report, Does.Contain("VMX: EPT yes (4-level walk, WB, UC, 2 MiB pages, 1 GiB pages"));
            Assert.That(report, Does.Contain("VPID yes (INVVPID), EPT/VPID capability MSR 0x00000F0106B34141"));
            Assert.That(report, Does.Contain("VMX: unrestricted guest yes"));
            Assert.That(report, Does.Contain("VMX: preemption timer yes, one tick per 2^0 TSC cycles"));
            Assert.That(report.Split('\n'), Has.All.Empty.Or.StartWith("VMX: "));
        }

        [TestCase(0x0UL, true, 0x5UL)]   // unlocked: we allow VMXON outside SMX and lock
        [TestCase(0x5UL, true, 0x5UL)]   // locked and allowed (what Bochs reports)
        [TestCase(0x1UL, false, 0x1UL)]  // locked with VMX off: firmware disabled VT-x
        [TestCase(0x2UL, true, 0x7UL)]   // unlocked, SMX bit kept
        public void FeatureControl(ulong current, bool allowed, ulong toWrite)
        {
            Assert.That(VmxRoot.TryPrepareFeatureControl(current, out ulong written), Is.EqualTo(allowed));
            Assert.That(written, Is.EqualTo(toWrite));
        }

        [TestCase(0x60000010UL, 0x80000021UL, 0xFFFFFFFFUL, 0xE0000031UL)]
        [TestCase(0xFFFFFFFFUL, 0x0UL, 0x00F72FFFUL, 0x00F72FFFUL)]
        public void FixedBits(ulong value, ulong fixed0, ulong fixed1, ulong expected)
        {
            Assert.That(VmxRoot.ApplyFixedBits(value, fixed0, fixed1), Is.EqualTo(expected));
        }

        [Test]
        public void EnterSetsCr4VmxeAndRunsVmxonOnARegionWithTheRevision()
        {
            var cpu = TigerLake();
            var error = VmxRoot.Enter(VmxCapabilities.Read(), out ulong region);
            Assert.That(error, Is.EqualTo(VmxEnableError.None));
            Assert.That(region % 4096, Is.Zero, "VMXON region is page aligned");
            Assert.That(*(uint*)region, Is.EqualTo(4), "starts with the VMCS revision identifier");
            Assert.That(cpu.Cr4 & VmxRoot.Cr4Vmxe, Is.Not.Zero);
            Assert.That(cpu.Cr0 & 0x20, Is.Not.Zero, "CR0.NE forced by IA32_VMX_CR0_FIXED0");
            Assert.That(cpu.Log, Has.Member($"vmxon 0x{region:X}"));
            Assert.That(cpu.MsrWrites, Is.Empty, "a locked, enabled feature control MSR is left alone");
        }

        [Test]
        public void EnterLocksAnUnlockedFeatureControl()
        {
            var cpu = TigerLake();
            cpu.Msrs[Msr.FeatureControl] = 0;
            Assert.That(VmxRoot.Enter(VmxCapabilities.Read(), out _), Is.EqualTo(VmxEnableError.None));
            Assert.That(cpu.MsrWrites, Is.EqualTo(new[] { (Msr.FeatureControl, 0x5UL) }));
        }

        [Test]
        public void EnterRefusesWhenFirmwareDisabledVmx()
        {
            var cpu = TigerLake();
            cpu.Msrs[Msr.FeatureControl] = 0x1;
            Assert.That(VmxRoot.Enter(VmxCapabilities.Read(), out _), Is.EqualTo(VmxEnableError.DisabledByFirmware));
            Assert.That(cpu.Log, Has.None.StartWith("vmxon"));
        }

        [Test]
        public void EnterRefusesWithoutVmxInCpuid()
        {
            var cpu = TigerLake();
            cpu.Cpuid[(1, 0)] = (0x806C1, 0, 0, 0);
            Assert.That(VmxRoot.Enter(VmxCapabilities.Read(), out _), Is.EqualTo(VmxEnableError.NotSupported));
            Assert.That(VmxRoot.Describe(VmxEnableError.NotSupported), Does.Contain("VT-x is not available"));
        }

        [Test]
        public void VmxonFailureIsReported()
        {
            var cpu = TigerLake();
            cpu.VmxOnResult = VmxInstructionStatus.FailInvalid;
            Assert.That(VmxRoot.Enter(VmxCapabilities.Read(), out _), Is.EqualTo(VmxEnableError.VmxonFailed));
        }
    }
}
