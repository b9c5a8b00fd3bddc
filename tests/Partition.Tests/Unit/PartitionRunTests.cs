using System.Collections.Generic;
using NUnit.Framework;
using Partition.Kernel;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// Creating and running a partition on the software VMX model: the real VMCS set-up, exit
    /// dispatch and run loop, with the guest's exits scripted by the test.
    /// </summary>
    public unsafe class PartitionRunTests
    {
        private HostPhysicalMemory _memory;
        private FakeCpu _cpu;

        [SetUp]
        public void CreateMachine()
        {
            _memory = new HostPhysicalMemory(2048);
            _cpu = VmxTests.TigerLake();
            var caps = VmxCapabilities.Read();
            Assert.That(VmxRoot.Enter(caps, out _), Is.EqualTo(VmxEnableError.None));
            PartitionHost.Initialize(caps, new ProcessorTables(0));
        }

        [TearDown]
        public void Release() => _memory.Dispose();

        private static VirtualMachine Create(GuestMode mode = GuestMode.Protected32)
        {
            var spec = new PartitionSpec("alpha", mode, 1UL << 20, 0x1000, 0x1000, 0x3F8);
            Assert.That(VirtualMachine.TryCreate(spec, new byte[] { 0xF4 }, PartitionHost.Capabilities, PartitionHost.HostTables, 0, out var vm, out string error), Is.True, error);
            return vm;
        }

        /// <summary>RAX as the guest saw it at each VM entry (what the hypervisor left there).</summary>
        private readonly List<ulong> _raxAtEntry = new();

        /// <summary>Scripts the guest: each entry makes the next exit, after setting registers.</summary>
        private void Script(params (ExitReason Reason, ulong Qualification, ulong Rax)[] exits) =>
            Run(System.Array.ConvertAll(exits, e => (e.Reason, e.Qualification, e.Rax, (ulong?)null)));

        /// <summary>As above, with RCX too (the MSR number of RDMSR and WRMSR).</summary>
        private void Script(params (ExitReason Reason, ulong Qualification, ulong Rax, ulong Rcx)[] exits) =>
            Run(System.Array.ConvertAll(exits, e => (e.Reason, e.Qualification, e.Rax, (ulong?)e.Rcx)));

        private void Run((ExitReason Reason, ulong Qualification, ulong Rax, ulong? Rcx)[] exits)
        {
            var queue = new Queue<(ExitReason, ulong, ulong, ulong?)>(exits);
            _raxAtEntry.Clear();
            _injectedAtEntry.Clear();
            _cpu.Vmx.Guest = (model, vmcs, registers) =>
            {
                _raxAtEntry.Add(registers->Rax);
                _injectedAtEntry.Add(vmcs.Fields.GetValueOrDefault(VmcsField.VmEntryInterruptionInformation.Encoding));
                vmcs.Fields[VmcsField.VmEntryInterruptionInformation.Encoding] = 0;
                var (reason, qualification, rax, rcx) = queue.Count > 0 ? queue.Dequeue() : (ExitReason.Hlt, 0UL, 0UL, null);
                registers->Rax = rax;
                if (rcx is { } value)
                    registers->Rcx = value;
                vmcs.Fields[VmcsField.VmExitInstructionLength.Encoding] = 1;
                model.SetExit(vmcs, reason, qualification);
            };
        }

        /// <summary>The VM-entry interruption information at each entry: what was injected.</summary>
        private readonly List<ulong> _injectedAtEntry = new();

        // I/O exit qualification: size 1, OUT, port in bits 31:16.
        private static ulong Out8(ushort port) => (ulong)port << 16;

        [Test]
        public void GuestOutputCpuidAndHypercallGoThroughTheDispatchTable()
        {
            var vm = Create();
            Script(
                (ExitReason.IoInstruction, Out8(0x3F8), 'h'),
                (ExitReason.IoInstruction, Out8(0x3F8), 'i'),
                (ExitReason.IoInstruction, Out8(0x3F8), '\n'),
                (ExitReason.Cpuid, 0, 0x40000000),
                (ExitReason.Vmcall, 0, Hypercall.GetVersion),
                (ExitReason.Hlt, 0, 0));
            PartitionHost.Run(vm.Cpu0, 0);

            Assert.That(vm.State, Is.EqualTo(VirtualMachineState.Halted));
            Assert.That(_cpu.ConsoleText, Does.Contain("[alpha] hi\n"));
            Assert.That(vm.ExitCounts[(int)ExitReason.IoInstruction], Is.EqualTo(3));
            Assert.That(vm.ExitCounts[(int)ExitReason.Cpuid], Is.EqualTo(1));
            Assert.That(vm.ExitCounts[(int)ExitReason.Vmcall], Is.EqualTo(1));
            Assert.That(vm.Cpu0.Registers->Rbx, Is.EqualTo(Hypercall.Version), "the VMCALL's result");
            Assert.That(_cpu.Vmx.Log, Has.Exactly(1).StartsWith("cpu0 vmlaunch"));
            Assert.That(_cpu.Vmx.Log, Has.Exactly(5).StartsWith("cpu0 vmresume"));
        }

        [Test]
        public void A_guests_WBINVD_and_INVD_complete_without_flushing_the_machines_caches()
        {
            var vm = Create();
            Script((ExitReason.Wbinvd, 0, 0), (ExitReason.Invd, 0, 0));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(vm.State, Is.EqualTo(VirtualMachineState.Halted), "the guest went on after both");
            Assert.That(_cpu.Log, Has.No.Member("wbinvd"), "a guest partition's cache flush is a no-op");
            Assert.That(vm.ExitCounts[(int)ExitReason.Wbinvd] + vm.ExitCounts[(int)ExitReason.Invd], Is.EqualTo(2UL));
        }

        [Test]
        public void A_CPU_whose_EPT_cannot_walk_write_back_tables_runs_no_partition()
        {
            _cpu.Msrs[Msr.VmxEptVpidCap] &= ~(1UL << 14); // no write-back paging structures
            PartitionHost.Initialize(VmxCapabilities.Read(), new ProcessorTables(0));
            var spec = new PartitionSpec("alpha", GuestMode.Protected32, 1UL << 20, 0x1000, 0x1000, 0x3F8);
            Assert.That(VirtualMachine.TryCreate(spec, new byte[] { 0xF4 }, PartitionHost.Capabilities, PartitionHost.HostTables, 0, out _, out string error), Is.False);
            Assert.That(error, Does.Contain("write-back"));
        }

        [Test]
        public void CpuidHypervisorLeafSaysPartitionHv()
        {
            var vm = Create();
            Script((ExitReason.Cpuid, 0, 0x40000000));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_raxAtEntry[1], Is.EqualTo(0x40000001UL), "EAX: the highest hypervisor leaf");
            var r = vm.Cpu0.Registers;
            string signature = string.Concat(Four((uint)r->Rbx), Four((uint)r->Rcx), Four((uint)r->Rdx));
            Assert.That(signature, Is.EqualTo("Partition HV"));

            static string Four(uint v) => new string(new[] { (char)(v & 0xFF), (char)(v >> 8 & 0xFF), (char)(v >> 16 & 0xFF), (char)(v >> 24) });
        }

        [Test]
        public void UnassignedPortReadsAllOnesAndIsCounted()
        {
            var vm = Create();
            const ulong in8FromPort61 = (0x61UL << 16) | (1 << 3);
            Script((ExitReason.IoInstruction, in8FromPort61, 0x1234_5600));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_raxAtEntry[1], Is.EqualTo(0x1234_56FFUL), "AL all ones, the rest of RAX kept");
            Assert.That(vm.Denials.Count(DenialKind.Port), Is.EqualTo(1));
            Assert.That(_cpu.ConsoleText, Does.Contain("partition alpha: IN from port 0x0061 refused: not its device, reads all ones\n"));
        }

        [Test]
        public void Ports_0x70_and_0x71_are_the_partitions_own_RTC_and_restart_resets_it()
        {
            var vm = Create();
            const ulong in8FromPort71 = (0x71UL << 16) | (1 << 3);
            Script(
                (ExitReason.IoInstruction, Out8(0x70), 0x8D),             // register D, NMI bit set
                (ExitReason.IoInstruction, in8FromPort71, 0x1234_5600),
                (ExitReason.IoInstruction, Out8(0x70), 0x40),
                (ExitReason.IoInstruction, Out8(0x71), 0x5A),             // a CMOS RAM byte
                (ExitReason.IoInstruction, in8FromPort71, 0));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_raxAtEntry[2], Is.EqualTo(0x1234_5680UL), "register D: VRT, the rest of RAX kept");
            Assert.That(_raxAtEntry[5], Is.EqualTo(0x5AUL));
            Assert.That(vm.Rtc.NmiDisabled, Is.False, "the last index written had bit 7 clear");
            Assert.That(vm.Denials.Count(DenialKind.Port), Is.Zero, "nothing refused");
            Assert.That(_cpu.PortWrites, Has.None.Matches<(ushort Port, uint Value)>(w => w.Port == 0x70 || w.Port == 0x71),
                "the machine's RTC was never touched");

            Assert.That(vm.TryRestart(0, out string error), Is.True, error);
            vm.Rtc.Write(0x70, 1, 0x40, Tsc.Now);
            Assert.That(vm.Rtc.Read(0x71, 1, Tsc.Now), Is.Zero, "the CMOS RAM was cleared by the restart");
        }

        [Test]
        public void A_dword_IN_zero_extends_into_RAX_as_every_32_bit_result_does()
        {
            var vm = Create();
            const ulong in32FromPortCfc = (0xCFCUL << 16) | (1 << 3) | 3;
            Script((ExitReason.IoInstruction, in32FromPortCfc, 0xDEAD_BEEF_1234_5678));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_raxAtEntry[1], Is.EqualTo(0x0000_0000_FFFF_FFFFUL));
        }

        [Test]
        public void An_MSR_outside_the_allow_list_raises_GP_in_the_guest_and_is_reported_once_per_budget()
        {
            var vm = Create();
            const ulong gpWithErrorCode = 13 | 3u << 8 | 1u << 11 | 1u << 31;
            var exits = new (ExitReason, ulong, ulong, ulong)[DenialLog.ReportLimit + 2];
            for (int i = 0; i < exits.Length; i++)
                exits[i] = (i % 2 == 0 ? ExitReason.Wrmsr : ExitReason.Rdmsr, 0, 0, Msr.FeatureControl);
            Script(exits);
            PartitionHost.Run(vm.Cpu0, 0);

            Assert.That(vm.State, Is.EqualTo(VirtualMachineState.Halted), "a refused MSR access does not stop the guest");
            Assert.That(_injectedAtEntry.GetRange(1, exits.Length), Is.All.EqualTo(gpWithErrorCode));
            Assert.That(vm.Denials.Count(DenialKind.Msr), Is.EqualTo((ulong)exits.Length));
            Assert.That(_cpu.ConsoleText, Does.Contain("partition alpha: WRMSR 0x0000003A refused: #GP\n"));
            Assert.That(_cpu.ConsoleText, Does.Contain("partition alpha: RDMSR 0x0000003A refused: #GP\n"));
            Assert.That(System.Text.RegularExpressions.Regex.Matches(_cpu.ConsoleText, "refused: #GP").Count, Is.EqualTo(DenialLog.ReportLimit));
            Assert.That(_cpu.ConsoleText, Does.Contain("partition alpha: further refused MSR accesses are counted, not reported ('stats' shows them)\n"));
        }

        [Test]
        public void A_management_hypercall_from_a_guest_is_refused_and_counted()
        {
            var vm = Create();
            Script((ExitReason.Vmcall, 0, Hypercall.PausePartition));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_raxAtEntry[1], Is.EqualTo(Hypercall.NotPermitted));
            Assert.That(vm.Denials.Count(DenialKind.Hypercall), Is.EqualTo(1));
            Assert.That(_cpu.ConsoleText, Does.Contain("partition alpha: management hypercall pause refused: only the host partition may\n"));
        }

        [Test]
        public void AnExitWithoutHandlerStopsOnlyThatPartitionWithAReport()
        {
            var vm = Create();
            Script((ExitReason.Getsec, 0, 0));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(vm.State, Is.EqualTo(VirtualMachineState.Stopped));
            Assert.That(_cpu.ConsoleText, Does.Contain("*** partition alpha vCPU 0 stopped: an exit with no handler"));
            Assert.That(_cpu.ConsoleText, Does.Contain("exit reason 11 (other)"));
            Assert.That(vm.Cpu0.Vmcs.ActiveCpu, Is.EqualTo(-1), "its VMCS was cleared");
        }

        [Test]
        public void EptViolationStopsThePartitionNamingTheAddress()
        {
            var vm = Create();
            _cpu.Vmx.Guest = (model, vmcs, registers) =>
            {
                vmcs.Fields[VmcsField.GuestPhysicalAddress.Encoding] = 0x4000_0000;
                model.SetExit(vmcs, ExitReason.EptViolation, 0x2);
            };
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(vm.State, Is.EqualTo(VirtualMachineState.Stopped));
            Assert.That(_cpu.ConsoleText, Does.Contain("guest-physical 0x0000000040000000 write"));
        }

        [Test]
        public void A_shared_region_is_mapped_with_its_declared_access_and_a_write_to_a_read_only_one_stops_the_partition()
        {
            var spec = new PartitionSpec("reader", GuestMode.Long64, 1UL << 20, 0x1000, 0x1000, 0x3F8);
            ulong backing = PageAllocator.AllocateZeroedPage();
            var shared = new[] { new SharedMapping("ring", 0x1000_0000, backing, 0x1000, writable: false) };
            Assert.That(VirtualMachine.TryCreate(spec, new byte[] { 0xF4 }, System.ReadOnlySpan<GuestModule>.Empty, shared,
                PartitionHost.Capabilities, PartitionHost.HostTables, 0, out var vm, out string error), Is.True, error);

            Assert.That(vm.Ept.Translate(0x1000_0010, out ulong host, out var access, out _), Is.True);
            Assert.That(host, Is.EqualTo(backing + 0x10));
            Assert.That(access, Is.EqualTo(Partition.Memory.EptAccess.Read), "read-only and never executable");
            Assert.That(vm.Ept.Translate(0x1000_1000, out _, out _, out _), Is.False, "nothing past the region");

            _cpu.Vmx.Guest = (model, vmcs, registers) =>
            {
                vmcs.Fields[VmcsField.GuestPhysicalAddress.Encoding] = 0x1000_0008;
                model.SetExit(vmcs, ExitReason.EptViolation, 0x2 | 0x8); // a write; the address is readable
            };
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(vm.State, Is.EqualTo(VirtualMachineState.Stopped));
            Assert.That(vm.StopReason, Is.EqualTo("EPT violation: a write to shared memory it may only read"));
            Assert.That(_cpu.ConsoleText, Does.Contain("guest-physical 0x0000000010000008 write\n    in shared memory ring, read-only here\n"));
        }

        [Test]
        public void ConfiguredVmcsPassesThePreEntryChecks()
        {
            foreach (var mode in new[] { GuestMode.Real, GuestMode.Protected32, GuestMode.Long64 })
            {
                var vm = Create(mode);
                vm.Cpu0.Vmcs.Load(0);
                var violations = new string[EntryChecks.MaxViolations];
                int count = EntryChecks.Run(vm.Cpu0.Vmcs, 0, PartitionHost.Capabilities, violations);
                Assert.That(count, Is.Zero, $"{mode}: {string.Join("; ", violations)}");
                vm.Cpu0.Vmcs.Clear(0);
            }
        }

        [Test]
        public void BrokenVmcsGetsANamedPreEntryErrorAndIsNeverLaunched()
        {
            var vm = Create(GuestMode.Protected32);
            vm.Cpu0.Vmcs.Load(0);
            ulong cs = vm.Cpu0.Vmcs.Read(0, VmcsField.GuestCsAccessRights);
            vm.Cpu0.Vmcs.Write(0, VmcsField.GuestCsAccessRights, cs | 1UL << 13); // CS.L without IA-32e mode
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(vm.State, Is.EqualTo(VirtualMachineState.Stopped));
            Assert.That(vm.StopReason, Is.EqualTo("guest CS.L set while IA-32e mode guest is off"));
            Assert.That(_cpu.ConsoleText, Does.Contain("fails the pre-entry checks:\n    guest CS.L set while IA-32e mode guest is off\n"));
            Assert.That(_cpu.Vmx.Log, Has.None.Contains("vmlaunch"));
        }

        [TestCase(0x00000000UL, 1, false, 0x0000, 0xFFu)]
        [TestCase(0x03F80008UL, 1, true, 0x03F8, 0xFFu)]
        [TestCase(0x00610001UL, 2, false, 0x0061, 0xFFFFu)]
        [TestCase(0xCF800003UL, 4, false, 0xCF80, 0xFFFFFFFFu)]
        public void IoQualificationDecoding(ulong qualification, int size, bool isIn, int port, uint mask)
        {
            var access = IoAccess.Decode(qualification);
            Assert.That((access.Size, access.IsIn, (int)access.Port, access.Mask), Is.EqualTo((size, isIn, port, mask)));
            var built = new IoAccess((ushort)port, size, isIn, false, false);
            Assert.That((built.Size, built.IsIn, built.Port, built.Mask, built.IsString), Is.EqualTo((size, isIn, (ushort)port, mask, false)),
                "an access built from its parts reads back the same");
        }

        [Test]
        public void StringAndRepPrefixesAreDecoded()
        {
            var access = IoAccess.Decode((0x3F8UL << 16) | (1 << 4) | (1 << 5));
            Assert.That(access.IsString && access.IsRep, Is.True);
        }
    }
}
