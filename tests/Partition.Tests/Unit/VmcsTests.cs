using NUnit.Framework;
using Partition.Kernel;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    /// <summary>The VMCS launch-state machine on the software VMX model (SDM Vol. 3C, 25.1 and chapter 31).</summary>
    public unsafe class VmcsTests
    {
        private HostPhysicalMemory _memory;
        private FakeCpu _cpu;
        private VmxCapabilities _caps;
        private GuestRegisters* _guest;

        [SetUp]
        public void EnterVmxRootOnTwoCpus()
        {
            _memory = new HostPhysicalMemory(32);
            _cpu = VmxTests.TigerLake();
            _caps = VmxCapabilities.Read();
            foreach (int index in new[] { 1, 0 })
            {
                _cpu.CpuIndex = index;
                Assert.That(VmxRoot.Enter(_caps, out _), Is.EqualTo(VmxEnableError.None));
            }
            _guest = (GuestRegisters*)PageAllocator.AllocateZeroedPage();
        }

        [TearDown]
        public void Release()
        {
            for (int i = 0; i < 2; i++)
                if (Vmcs.CurrentOn(i) is { } v)
                {
                    _cpu.CpuIndex = v.ActiveCpu;
                    v.Clear(v.ActiveCpu);
                }
            _memory.Dispose();
        }

        private Vmcs NewVmcs()
        {
            Assert.That(Vmcs.Create(_caps, _cpu.CpuIndex, out var vmcs), Is.EqualTo(VmcsError.None));
            return vmcs;
        }

        [Test]
        public void LaunchThenResumeThenClearAndLaunchAgain()
        {
            var vmcs = NewVmcs();
            Assert.That(vmcs.Load(0), Is.EqualTo(VmcsError.None));
            Assert.That(vmcs.LaunchState, Is.EqualTo(VmcsLaunchState.Clear));
            Assert.That(vmcs.Run(0, _guest), Is.EqualTo(VmcsError.None));
            Assert.That(vmcs.LaunchState, Is.EqualTo(VmcsLaunchState.Launched));
            Assert.That(vmcs.Run(0, _guest), Is.EqualTo(VmcsError.None));
            Assert.That(_cpu.Vmx.Log, Has.Some.StartsWith("cpu0 vmresume"));
            Assert.That(vmcs.Clear(0), Is.EqualTo(VmcsError.None));
            Assert.That(vmcs.IsCurrentOn(0), Is.False);
            Assert.That(vmcs.Load(0), Is.EqualTo(VmcsError.None));
            Assert.That(vmcs.Launch(0, _guest), Is.EqualTo(VmcsError.None));
        }

        [Test]
        public void LaunchOfALaunchedVmcsIsRefusedBeforeTheCpuSeesIt()
        {
            var vmcs = NewVmcs();
            vmcs.Load(0);
            vmcs.Launch(0, _guest);
            int executed = _cpu.Vmx.Log.Count;
            Assert.That(vmcs.Launch(0, _guest), Is.EqualTo(VmcsError.LaunchOnLaunched));
            Assert.That(_cpu.Vmx.Log, Has.Count.EqualTo(executed), "no VMLAUNCH was executed");
            Assert.That(Vmcs.Describe(VmcsError.LaunchOnLaunched), Does.Contain("VMLAUNCH refused"));
        }

        [Test]
        public void ResumeOfAClearVmcsIsRefused()
        {
            var vmcs = NewVmcs();
            vmcs.Load(0);
            Assert.That(vmcs.Resume(0, _guest), Is.EqualTo(VmcsError.ResumeOnClear));
        }

        [Test]
        public void ModelAgreesWithTheSdmWhenTheChecksAreBypassed()
        {
            // The same mistakes made directly on the instructions give the SDM's error numbers.
            var vmcs = NewVmcs();
            vmcs.Load(0);
            Assert.That(Vmx.Enter(_guest, launched: true), Is.EqualTo(VmxInstructionStatus.FailValid));
            Vmx.Read(VmcsField.VmInstructionError, out ulong error);
            Assert.That((VmInstructionError)error, Is.EqualTo(VmInstructionError.VmresumeNonLaunchedVmcs));
            Assert.That(Vmx.Enter(_guest, launched: false), Is.EqualTo(VmxInstructionStatus.Succeeded));
            Assert.That(Vmx.Enter(_guest, launched: false), Is.EqualTo(VmxInstructionStatus.FailValid));
            Vmx.Read(VmcsField.VmInstructionError, out error);
            Assert.That((VmInstructionError)error, Is.EqualTo(VmInstructionError.VmlaunchNonClearVmcs));
        }

        [Test]
        public void LoadOfAVmcsActiveOnAnotherCpuIsRefused()
        {
            var vmcs = NewVmcs();
            vmcs.Load(0);
            _cpu.CpuIndex = 1;
            Assert.That(vmcs.Load(1), Is.EqualTo(VmcsError.ActiveOnAnotherCpu));
            Assert.That(vmcs.Clear(1), Is.EqualTo(VmcsError.ClearOnAnotherCpu));
        }

        [Test]
        public void MigrationIsClearOnTheSourceThenLoadAndLaunchOnTheDestination()
        {
            var vmcs = NewVmcs();
            vmcs.Load(0);
            vmcs.Run(0, _guest);
            Assert.That(vmcs.Clear(0), Is.EqualTo(VmcsError.None));
            _cpu.CpuIndex = 1;
            Assert.That(vmcs.Load(1), Is.EqualTo(VmcsError.None));
            Assert.That(vmcs.LaunchState, Is.EqualTo(VmcsLaunchState.Clear), "VMCLEAR made it clear: the destination launches");
            Assert.That(vmcs.Run(1, _guest), Is.EqualTo(VmcsError.None));
            Assert.That(_cpu.Vmx.Log, Has.Some.StartsWith("cpu1 vmlaunch"));
        }

        [Test]
        public void ReadAndWriteNeedTheVmcsToBeCurrentOnThisCpu()
        {
            var a = NewVmcs();
            var b = NewVmcs();
            a.Load(0);
            b.Load(0);
            Assert.That(a.Write(0, VmcsField.GuestRip, 0x1000), Is.EqualTo(VmcsError.NotCurrent));
            Assert.That(b.Write(0, VmcsField.GuestRip, 0x1000), Is.EqualTo(VmcsError.None));
            Assert.That(b.Read(0, VmcsField.GuestRip), Is.EqualTo(0x1000UL));
            Assert.That(b.Write(0, VmcsField.ExitReason, 1), Is.EqualTo(VmcsError.ReadOnlyField));
            Assert.That(b.Write(0, VmcsField.GuestCsSelector, 0x12345), Is.EqualTo(VmcsError.None));
            Assert.That(b.Read(0, VmcsField.GuestCsSelector), Is.EqualTo(0x2345UL), "a 16-bit field keeps 16 bits");
        }

        [Test]
        public void WrongRevisionIsReportedByNameAndNumber()
        {
            var vmcs = NewVmcs();
            var other = NewVmcs();
            other.Load(0); // a current VMCS, so the failure is VMfailValid with a number
            *(uint*)vmcs.Region = 99;
            Assert.That(vmcs.Load(0), Is.EqualTo(VmcsError.FailValid));
            Assert.That(vmcs.LastInstructionError, Is.EqualTo(VmInstructionError.VmptrldIncorrectRevision));
            Assert.That((int)vmcs.LastInstructionError, Is.EqualTo(11));
            Assert.That(VmInstructionErrors.Describe(vmcs.LastInstructionError), Is.EqualTo("VMPTRLD with incorrect VMCS revision identifier"));
        }

        [Test]
        public void EntryFailureLeavesTheVmcsClear()
        {
            _cpu.Vmx.Guest = (m, v, r) => m.SetExit(v, ExitReason.InvalidGuestState, 0, entryFailure: true);
            var vmcs = NewVmcs();
            vmcs.Load(0);
            Assert.That(vmcs.Run(0, _guest), Is.EqualTo(VmcsError.None));
            Assert.That(vmcs.LaunchState, Is.EqualTo(VmcsLaunchState.Clear));
        }
    }

    public class VmxControlsTests
    {
        private static readonly VmxControlCapability TigerLakePin = new(0x0000007F_00000016UL);
        private static readonly VmxControlCapability TigerLakeSecondary = new(0x02977FFF_00000000UL);

        [Test]
        public void MustBeOneBitsAreSet()
        {
            uint value = VmxControls.Adjust(TigerLakePin, VmxControls.PinPreemptionTimer, out uint unsupported);
            Assert.That(value, Is.EqualTo(0x16u | VmxControls.PinPreemptionTimer));
            Assert.That(unsupported, Is.Zero);
        }

        [Test]
        public void BitsThatMayNotBeOneAreReportedAndLeftClear()
        {
            const uint notAllowed = 1u << 30;
            uint value = VmxControls.Adjust(TigerLakeSecondary, VmxControls.Proc2EnableEpt | notAllowed, out uint unsupported);
            Assert.That(value, Is.EqualTo(VmxControls.Proc2EnableEpt));
            Assert.That(unsupported, Is.EqualTo(notAllowed));
        }

        [TestCase(0x00000000_00000000UL, 0xFFFFFFFFu, 0u)]
        [TestCase(0xFFFFFFFF_FFFFFFFFUL, 0u, 0xFFFFFFFFu)]
        [TestCase(0x0000F0F0_000000F0UL, 0x0000FF00u, 0x0000F0F0u)]
        public void AdjustmentTable(ulong msr, uint desired, uint expected)
        {
            Assert.That(VmxControls.Adjust(new VmxControlCapability(msr), desired, out _), Is.EqualTo(expected));
        }
    }
}
