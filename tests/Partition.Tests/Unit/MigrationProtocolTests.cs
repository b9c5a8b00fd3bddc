using System.Linq;
using NUnit.Framework;
using Partition.Configs;
using Partition.Devices;
using Partition.Kernel;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The migration protocol on the software VMX model, two CPUs: the source core VMCLEARs
    /// the vCPU and hands it over; the destination VMPTRLDs it, rewrites its host state and
    /// VMLAUNCHes it. Corner cases are refused by name before anything moves.
    /// </summary>
    public unsafe class MigrationProtocolTests
    {
        private HostPhysicalMemory _memory;
        private FakeCpu _cpu;
        private VirtualMachine _alpha, _beta, _gamma;

        [SetUp]
        public void TwoCpusThreePartitions()
        {
            _memory = new HostPhysicalMemory(4096);
            _cpu = VmxTests.TigerLake();
            var caps = VmxCapabilities.Read();
            foreach (int index in new[] { 1, 0 })
            {
                _cpu.CpuIndex = index;
                Assert.That(VmxRoot.Enter(caps, out _), Is.EqualTo(VmxEnableError.None));
            }
            var bootTables = new ProcessorTables(0);
            PartitionHost.Initialize(caps, bootTables);
            Smp.AssumeOnline(2, bootTables);
            _alpha = Create(new PartitionSpec("alpha", GuestMode.Long64, 1 << 20, 0x1000, 0x1000, 0x3F8).Placed(1, shared: false, isHost: true));
            _beta = Create(new PartitionSpec("beta", GuestMode.Long64, 1 << 20, 0x1000, 0x1000, 0x3F8).Placed(0, shared: true));
            _gamma = Create(new PartitionSpec("gamma", GuestMode.Long64, 1 << 20, 0x1000, 0x1000, 0x3F8).Placed(0, shared: true));
            var machines = new[] { _alpha, _beta, _gamma };
            CoreRunner.Prepare(machines, 2, new ScheduleConfig[0], 0);
            Management.Start(machines, _cpu.Tsc);
            // Every entry ends its slice at once (the timer), so each RunOnce is one slice.
            _cpu.Vmx.Guest = (model, vmcs, registers) => model.SetExit(vmcs, ExitReason.PreemptionTimer, 0);
        }

        [TearDown]
        public void Release()
        {
            // The next fixture's partitions are on no core of these (a stopped partition notices its cores).
            CoreRunner.ForgetAll();
            Smp.AssumeOnline(1, PartitionHost.HostTables);
            _memory.Dispose();
        }

        private static VirtualMachine Create(PartitionSpec spec)
        {
            Assert.That(VirtualMachine.TryCreate(spec, new byte[] { 0xF4 }, PartitionHost.Capabilities, PartitionHost.HostTables, 0, out var vm, out string error), Is.True, error);
            return vm;
        }

        private void RunOn(int cpu)
        {
            _cpu.CpuIndex = cpu;
            CoreRunner.Of(cpu).RunOnce();
        }

        private static string Migrate(string name, ulong core)
        {
            var outcome = new TextBuffer();
            Management.Migrate(name, core, outcome);
            return outcome.ToString();
        }

        [Test]
        public void RunningVcpuMovesWithClearOnTheSourceAndLaunchOnTheDestination()
        {
            RunOn(1);                                       // alpha launched on CPU 1
            ulong alphaRegion = _alpha.Cpu0.Vmcs.Region;
            Assert.That(_alpha.Cpu0.Vmcs.ActiveCpu, Is.EqualTo(1));
            _cpu.CpuIndex = 0;                              // the console runs on CPU 0
            Assert.That(Migrate("alpha", 0), Is.EqualTo("alpha: moving from core 1 to core 0"));
            Assert.That(_cpu.MsrWrites, Has.Some.Matches<(uint Msr, ulong Value)>(w => w.Msr == 0x830 && w.Value == (1UL << 32 | 0x4400)),
                "a kick to CPU 1: an NMI (delivery mode 100b, level assert) through the x2APIC ICR");

            RunOn(1);                                       // the source handles its mailbox
            Assert.That(_cpu.Vmx.Log, Has.Member($"cpu1 vmclear 0x{alphaRegion:X}"), "VMCLEAR on the source CPU");
            Assert.That(_alpha.Cpu0.Vmcs.ActiveCpu, Is.EqualTo(-1));
            Assert.That(CoreRunner.Of(1).Core.Policy.Count, Is.Zero);

            for (int i = 0; i < 4; i++)
                RunOn(0);                                   // adopt, then round-robin over three vCPUs
            Assert.That(_alpha.Cpu0.Core, Is.EqualTo(0));
            Assert.That(_alpha.Cpu0.HostCpu, Is.EqualTo(0), "host state rewritten for CPU 0");
            Assert.That(_cpu.Vmx.Log, Has.Member($"cpu0 vmptrld 0x{alphaRegion:X}"));
            Assert.That(_cpu.Vmx.Log, Has.Member($"cpu0 vmlaunch 0x{alphaRegion:X}"), "a cleared VMCS is launched again");
            // Its VPID's TLB entries on CPU 0 are from before it ran on CPU 1: flushed before it runs here.
            int flush = _cpu.Vmx.Log.IndexOf($"cpu0 invvpid 1 {_alpha.Cpu0.Vpid}", _cpu.Vmx.Log.IndexOf($"cpu1 vmclear 0x{alphaRegion:X}"));
            Assert.That(flush, Is.GreaterThan(0), "INVVPID single-context of its VPID on the destination");
            Assert.That(flush, Is.LessThan(_cpu.Vmx.Log.IndexOf($"cpu0 vmlaunch 0x{alphaRegion:X}")), "before its first entry there");
            Assert.That(_cpu.Vmx.Log, Has.Member($"cpu0 invept 1 0x{_alpha.Ept.Pointer:X}"), "and its EPT-tagged mappings");
            Assert.That(_cpu.Vmx.Regions[alphaRegion].Fields[VmcsField.VirtualProcessorId.Encoding], Is.EqualTo((ulong)_alpha.Cpu0.Vpid));
            Assert.That(_cpu.ConsoleText, Does.Match(@"Migrated alpha from core 1 to core 0: \d+ ticks"));
            var region = _cpu.Vmx.Regions[alphaRegion];
            Assert.That(region.Fields[VmcsField.HostTrBase.Encoding], Is.EqualTo(PartitionHost.HostTables.TssBase), "CPU 0's TSS");
            Assert.That(region.Fields[VmcsField.PinBasedControls.Encoding] & VmxControls.PinPreemptionTimer, Is.Not.Zero, "time-sliced on a shared core");
        }

        [Test]
        public void A_partition_stopped_from_another_core_makes_its_running_vcpu_exit_and_leave()
        {
            // A vCPU whose guest never exits would otherwise run on after its partition ended
            // (a fault of another of its vCPUs, a power-off through a device): nothing else makes it exit.
            RunOn(1);                                       // alpha launched on CPU 1
            _cpu.CpuIndex = 0;
            _cpu.MsrWrites.Clear();
            PartitionHost.Stop(_alpha, "a fault on another core");
            Assert.That(_cpu.MsrWrites, Has.Some.Matches<(uint Msr, ulong Value)>(w => w.Msr == 0x830 && w.Value == (1UL << 32 | 0x4400)),
                "a kick to CPU 1 (NMI through the x2APIC ICR)");
            Assert.That(CoreRunner.Of(1).HasRequests, Is.True, "a notice in CPU 1's mailbox");
            RunOn(1);
            Assert.That(_alpha.Cpu0.Retired, Is.True, "CPU 1's run loop retired it");
            Assert.That(_alpha.Cpu0.Vmcs.ActiveCpu, Is.EqualTo(-1), "its VMCS cleared there");
        }

        [Test]
        public void A_core_whose_vcpus_all_run_sweeps_only_when_a_request_arrives()
        {
            RunOn(0);                                       // the first turn sweeps: beta and gamma runnable
            var core = CoreRunner.Of(0);
            ulong sweeps = core.Sweeps;
            for (int i = 0; i < 4; i++)
                RunOn(0);
            Assert.That(core.Sweeps, Is.EqualTo(sweeps), "both run, nothing arrived: no sweep between their slices");

            var outcome = new TextBuffer();
            Assert.That(Management.PauseOrResume("gamma", true, outcome), Is.True, outcome.ToString());
            Assert.That(core.HasRequests, Is.True, "the pause is a notice in core 0's mailbox");
            RunOn(0);
            Assert.That(core.Sweeps, Is.EqualTo(sweeps + 1), "the notice makes the next turn sweep");
            Assert.That(_gamma.Cpu0.Entity.Runnable, Is.False, "gamma is off its core");
            ulong gammaRegion = _gamma.Cpu0.Vmcs.Region;
            int gammaEntries = _cpu.Vmx.Log.Count(line => line.EndsWith($" 0x{gammaRegion:X}") && line.Contains("vmresume"));
            for (int i = 0; i < 3; i++)
                RunOn(0);
            Assert.That(_cpu.Vmx.Log.Count(line => line.EndsWith($" 0x{gammaRegion:X}") && line.Contains("vmresume")), Is.EqualTo(gammaEntries), "paused: never entered");
            Assert.That(core.Sweeps, Is.EqualTo(sweeps + 4), "while a vCPU here is not runnable, every turn sweeps");

            Assert.That(Management.PauseOrResume("gamma", false, outcome), Is.True, outcome.ToString());
            for (int i = 0; i < 3; i++)
                RunOn(0);
            Assert.That(_gamma.Cpu0.Entity.Runnable, Is.True, "resumed");
            Assert.That(_cpu.Vmx.Log.Count(line => line.EndsWith($" 0x{gammaRegion:X}") && line.Contains("vmresume")), Is.GreaterThan(gammaEntries), "and entered again");
        }

        [Test]
        public void A_stop_whose_notice_finds_the_mailbox_full_still_takes_the_vcpu_off_at_the_next_turn()
        {
            RunOn(0);                                       // beta's slice
            RunOn(0);                                       // gamma's: beta's turn is next
            var core = CoreRunner.Of(0);
            _cpu.CpuIndex = 1;
            int posted = 0;
            while (core.Post(new CoreRequest { Kind = CoreRequestKind.Notice, Vcpu = _beta.Cpu0 }))
                posted++;
            Assert.That(posted, Is.GreaterThan(0));
            PartitionHost.Stop(_gamma, "stopped while core 0's mailbox is full");
            Assert.That(core.Post(new CoreRequest { Kind = CoreRequestKind.Notice, Vcpu = _gamma.Cpu0 }), Is.False, "its notice found no room");
            RunOn(0);                                       // one turn: the drain, a sweep, beta's slice
            Assert.That(_gamma.Cpu0.Retired, Is.True, "the requests that filled the mailbox made the turn sweep, which saw the stop");
        }

        [Test]
        public void A_vcpu_waiting_in_HLT_on_a_shared_core_is_woken_by_an_interrupt_posted_to_it()
        {
            // beta waits in HLT with interrupts on; gamma runs. Nothing kicks core 0 for beta
            // (it is not running): the sweep, due while beta is not runnable, finds the post.
            ulong betaRegion = _beta.Cpu0.Vmcs.Region;
            bool betaHalts = true;
            _cpu.Vmx.Guest = (model, vmcs, registers) =>
            {
                if (vmcs == model.Regions[betaRegion] && betaHalts)
                {
                    vmcs.Fields[VmcsField.GuestRflags.Encoding] = 0x202;
                    model.SetExit(vmcs, ExitReason.Hlt, 0);
                }
                else
                    model.SetExit(vmcs, ExitReason.PreemptionTimer, 0);
            };
            for (int i = 0; i < 3; i++)
                RunOn(0);
            Assert.That(_beta.Cpu0.Activity, Is.EqualTo(VcpuActivity.WaitingForInterrupt));
            int Entries() => _cpu.Vmx.Log.Count(line => line.EndsWith($" 0x{betaRegion:X}") && (line.Contains("vmresume") || line.Contains("vmlaunch")));
            int before = Entries();
            for (int i = 0; i < 3; i++)
                RunOn(0);
            Assert.That(Entries(), Is.EqualTo(before), "waiting: not entered");

            betaHalts = false;
            _cpu.CpuIndex = 1;                              // posted from the other core
            _beta.Deliver(_beta.Cpu0, 1, new InterruptMessage(0, DeliveryMode.Nmi, false, 0, false));   // its APIC is not enabled: an NMI ends a HLT all the same
            RunOn(0);
            RunOn(0);
            Assert.That(_beta.Cpu0.Activity, Is.EqualTo(VcpuActivity.Running), "the post ended its HLT");
            Assert.That(Entries(), Is.GreaterThan(before), "and it ran again");
        }

        [Test]
        public void An_idle_core_waits_for_its_halted_vcpus_timer_or_a_post_to_it_not_longer()
        {
            // beta and gamma both wait in HLT on core 0; beta's TSC-deadline timer is armed.
            _cpu.Vmx.Guest = (model, vmcs, registers) =>
            {
                vmcs.Fields[VmcsField.GuestRflags.Encoding] = 0x202;
                model.SetExit(vmcs, ExitReason.Hlt, 0);
            };
            var lapic = _beta.Cpu0.Lapic;
            Assert.That(lapic.WriteMsr(0x1B, 0xFEE0_0D00, 0, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Done), "x2APIC");
            lapic.WriteMsr(0x80F, 0x1FF, 0, out _, out _, out _, out _);                 // SVR: enabled
            lapic.WriteMsr(0x832, 0x4_00EC, 0, out _, out _, out _, out _);              // LVT timer: TSC-deadline, vector 0xEC
            RunOn(0);
            RunOn(0);
            Assert.That((_beta.Cpu0.Activity, _gamma.Cpu0.Activity), Is.EqualTo((VcpuActivity.WaitingForInterrupt, VcpuActivity.WaitingForInterrupt)));
            ulong deadline = _cpu.Tsc + 200;                // sooner than the idle wait's limit (50 us)
            lapic.WriteMsr(0x6E0, deadline + _beta.Cpu0.TscOffset, _beta.Cpu0.GuestTsc(_cpu.Tsc), out _, out _, out _, out _);
            RunOn(0);                                       // the sweep notes the earliest wake; nothing runs
            var core = CoreRunner.Of(0);

            core.WaitIdle(_cpu.Tsc);
            Assert.That(_cpu.Tsc, Is.GreaterThanOrEqualTo(deadline).And.LessThan(deadline + 20), "it ends at beta's timer (the fake TSC moves by one a read)");

            RunOn(0);                                       // beta's timer wakes it; it runs and waits again
            RunOn(0);
            Assert.That(_beta.Cpu0.TimerDeadlineOnHost, Is.Zero, "the TSC-deadline timer fired once");
            ulong start = _cpu.Tsc;
            core.WaitIdle(_cpu.Tsc);
            Assert.That(_cpu.Tsc - start, Is.GreaterThanOrEqualTo(500UL), "with no timer and no post it waits its limit (50 us), then the loop takes a turn");

            // A timer due just after the limit is waited for too, not left to the next turn of the loop.
            RunOn(0);
            ulong limit = Tsc.FromMicroseconds(50);
            deadline = _cpu.Tsc + limit + limit / 2;
            lapic.WriteMsr(0x6E0, deadline + _beta.Cpu0.TscOffset, _beta.Cpu0.GuestTsc(_cpu.Tsc), out _, out _, out _, out _);
            RunOn(0);
            core.WaitIdle(_cpu.Tsc);
            Assert.That(_cpu.Tsc, Is.GreaterThanOrEqualTo(deadline).And.LessThan(deadline + 20), "it ends at beta's timer, half a limit after the limit");
            RunOn(0);
            RunOn(0);
            Assert.That(_beta.Cpu0.TimerDeadlineOnHost, Is.Zero);
            start = _cpu.Tsc;
            core.WaitIdle(_cpu.Tsc);
            Assert.That(_cpu.Tsc - start, Is.InRange(limit, limit + 20), "with nothing due, its limit again");

            start = _cpu.Tsc;
            _gamma.Deliver(_gamma.Cpu0, 1, new InterruptMessage(0, DeliveryMode.Nmi, false, 0, false));
            core.WaitIdle(_cpu.Tsc);
            Assert.That(_cpu.Tsc - start, Is.LessThan(20), "a post to a waiting vCPU ends it at once");
        }

        [Test]
        public void A_waiting_vcpus_timer_ends_its_neighbours_slice_when_due_and_it_runs_next()
        {
            // Three vCPUs share core 0 (alpha moved there); beta waits in HLT, the others compute
            // until the preemption timer ends their slice (the fake CPU's guest takes all the time it is given).
            ulong betaRegion = _beta.Cpu0.Vmcs.Region;
            bool betaHalts = true;
            var ran = new System.Collections.Generic.List<ulong>();
            _cpu.Vmx.Guest = (model, vmcs, registers) =>
            {
                ran.Add(model.Regions.First(r => r.Value == vmcs).Key);
                if (vmcs == model.Regions[betaRegion] && betaHalts)
                {
                    vmcs.Fields[VmcsField.GuestRflags.Encoding] = 0x202;
                    model.SetExit(vmcs, ExitReason.Hlt, 0);
                    return;
                }
                _cpu.Tsc += vmcs.Fields[VmcsField.VmxPreemptionTimerValue.Encoding];
                model.SetExit(vmcs, ExitReason.PreemptionTimer, 0);
            };
            Assert.That(Migrate("alpha", 0), Is.EqualTo("alpha: moving from core 1 to core 0"));
            RunOn(1);
            for (int i = 0; i < 4; i++)
                RunOn(0);
            Assert.That(CoreRunner.Of(0).Core.Policy.Count, Is.EqualTo(3));
            Assert.That(_beta.Cpu0.Activity, Is.EqualTo(VcpuActivity.WaitingForInterrupt));
            var lapic = _beta.Cpu0.Lapic;
            Assert.That(lapic.WriteMsr(0x1B, 0xFEE0_0D00, 0, out _, out _, out _, out _), Is.EqualTo(ApicAccess.Done), "x2APIC");
            lapic.WriteMsr(0x80F, 0x1FF, 0, out _, out _, out _, out _);                 // SVR: enabled
            lapic.WriteMsr(0x832, 0x4_00EC, 0, out _, out _, out _, out _);              // LVT timer: TSC-deadline, vector 0xEC
            ulong slice = CoreRunner.Of(0).Core.Policy.SliceTicks;
            ulong minimumRun = Tsc.FromMicroseconds(100);
            Assert.That(slice, Is.GreaterThan(4 * minimumRun), "the test needs a slice well over the least run");

            // Due a third of a slice from now: the neighbour that runs stops then, not at its slice's end.
            RunOn(0);
            ulong deadline = _cpu.Tsc + slice / 3;
            lapic.WriteMsr(0x6E0, deadline + _beta.Cpu0.TscOffset, _beta.Cpu0.GuestTsc(_cpu.Tsc), out _, out _, out _, out _);
            RunOn(0);                                       // the sweep sees the timer; a neighbour runs until it
            ulong neighbour = ran[^1];
            Assert.That(neighbour, Is.Not.EqualTo(betaRegion));
            Assert.That(_cpu.Tsc, Is.InRange(deadline, deadline + 200), "the neighbour's slice ended at beta's timer");
            betaHalts = false;
            int before = ran.Count;
            RunOn(0);
            Assert.That(ran[before], Is.EqualTo(betaRegion), "beta, woken, runs next (whoever the ring had next)");
            Assert.That(_beta.Cpu0.TimerDeadlineOnHost, Is.Zero, "its timer fired");

            // A timer sooner than the least run: the neighbour still has that much of its slice.
            betaHalts = true;
            for (int i = 0; i < 3 && _beta.Cpu0.Activity == VcpuActivity.Running; i++)
                RunOn(0);
            Assert.That(_beta.Cpu0.Activity, Is.EqualTo(VcpuActivity.WaitingForInterrupt));
            RunOn(0);
            deadline = _cpu.Tsc + 10;
            lapic.WriteMsr(0x6E0, deadline + _beta.Cpu0.TscOffset, _beta.Cpu0.GuestTsc(_cpu.Tsc), out _, out _, out _, out _);
            ulong start = _cpu.Tsc;
            RunOn(0);
            Assert.That(ran[^1], Is.Not.EqualTo(betaRegion));
            Assert.That(_cpu.Tsc - start, Is.InRange(minimumRun, minimumRun + 400), "the neighbour ran its least run, then beta's timer was served");
        }

        [Test]
        public void An_interrupt_for_a_vcpu_waiting_for_its_turn_does_not_kick_its_neighbour()
        {
            // beta and gamma both run on core 0, a slice each in turn; an interrupt from CPU 1 to
            // the one whose VMCS is not current waits for its next entry: no NMI for the other.
            RunOn(0);
            RunOn(0);
            var core = CoreRunner.Of(0);
            var loaded = (VirtualCpu)core.Core.Loaded.Owner;
            var waiting = loaded == _beta.Cpu0 ? _gamma.Cpu0 : _beta.Cpu0;
            ulong kicks = core.WakesSent;
            _cpu.CpuIndex = 1;
            waiting.Machine.Deliver(waiting, 1, new InterruptMessage(0, DeliveryMode.Nmi, false, 0, false));
            Assert.That(core.WakesSent, Is.EqualTo(kicks), "not current: no kick");
            loaded.Machine.Deliver(loaded, 1, new InterruptMessage(0, DeliveryMode.Nmi, false, 0, false));
            Assert.That(core.WakesSent, Is.EqualTo(kicks + 1), "current: kicked");
            Assert.That(core.HasRequests, Is.False, "a runnable vCPU needs no request");
        }

        // The kick's exit: its NMI came while gamma ran (an exit to the run loop), or it found the
        // CPU in the hypervisor and zeroed the preemption timer, so that the entry exits at once.
        [TestCase(ExitReason.ExternalInterrupt)]
        [TestCase(ExitReason.PreemptionTimer)]
        public void An_interrupt_for_a_vcpu_waiting_in_HLT_ends_its_neighbours_slice_after_its_least_run(ExitReason kickExit)
        {
            // beta waits in HLT on core 0; gamma computes. While gamma runs, CPU 1 posts beta two
            // NMIs early in the slice (one wake-up request, one kick), later one more.
            ulong betaRegion = _beta.Cpu0.Vmcs.Region;
            bool betaHalts = true;
            ulong postAfter = ulong.MaxValue, sliceStart = 0;
            var ran = new System.Collections.Generic.List<ulong>();
            var core = CoreRunner.Of(0);
            _cpu.Vmx.Guest = (model, vmcs, registers) =>
            {
                ran.Add(model.Regions.First(r => r.Value == vmcs).Key);
                if (vmcs == model.Regions[betaRegion])
                {
                    vmcs.Fields[VmcsField.GuestRflags.Encoding] = 0x202;
                    model.SetExit(vmcs, betaHalts ? ExitReason.Hlt : ExitReason.PreemptionTimer, 0);
                    return;
                }
                if (postAfter != ulong.MaxValue && sliceStart == 0)
                {
                    // gamma's first entry of the slice: it computes a while, then CPU 1 posts and kicks.
                    sliceStart = _cpu.Tsc;
                    _cpu.Tsc += postAfter;
                    _cpu.CpuIndex = 1;
                    for (int i = 0; i < 2; i++)
                        _beta.Deliver(_beta.Cpu0, 1, new InterruptMessage(0, DeliveryMode.Nmi, false, 0, false));
                    _cpu.CpuIndex = 0;
                    model.SetExit(vmcs, kickExit, 0);
                    return;
                }
                _cpu.Tsc += vmcs.Fields[VmcsField.VmxPreemptionTimerValue.Encoding];
                model.SetExit(vmcs, ExitReason.PreemptionTimer, 0);
            };
            for (int i = 0; i < 3; i++)
                RunOn(0);
            Assert.That(_beta.Cpu0.Activity, Is.EqualTo(VcpuActivity.WaitingForInterrupt));
            ulong slice = core.Core.Policy.SliceTicks, minimumRun = Tsc.FromMicroseconds(100);
            // Core 0 serves the console: no typed input is due during these slices (0 would say it came).
            ulong inputPoll = ConsoleDue.NextInputPoll;
            ConsoleDue.NextInputPoll = ulong.MaxValue;
            try
            {
                // Early in gamma's slice: it goes on until its least run, then its slice ends.
                postAfter = 10;
                ulong kicks = core.WakesSent;
                RunOn(0);
                Assert.That(ran[^1], Is.Not.EqualTo(betaRegion));
                Assert.That(core.WakesSent, Is.EqualTo(kicks + 1), "two posts, one wake-up request and its kick");
                Assert.That(_cpu.Tsc - sliceStart, Is.InRange(minimumRun, minimumRun + 300), "gamma kept its least run, not its whole slice");
                Assert.That(slice, Is.GreaterThan(2 * minimumRun));
                betaHalts = false;
                int before = ran.Count;
                RunOn(0);
                Assert.That(ran[before], Is.EqualTo(betaRegion), "beta, woken, runs next");
                Assert.That(core.HasRequests, Is.False);

                // Past gamma's least run: its slice ends at that exit.
                betaHalts = true;
                for (int i = 0; i < 3 && _beta.Cpu0.Activity == VcpuActivity.Running; i++)
                    RunOn(0);
                Assert.That(_beta.Cpu0.Activity, Is.EqualTo(VcpuActivity.WaitingForInterrupt));
                (postAfter, sliceStart) = (minimumRun + 50, 0);
                before = ran.Count;
                RunOn(0);
                Assert.That(ran.Count - before, Is.EqualTo(1), "no entry after the post");
                Assert.That(_cpu.Tsc - sliceStart, Is.LessThan(minimumRun + 100));
            }
            finally
            {
                ConsoleDue.NextInputPoll = inputPoll;
            }
        }

        [Test]
        public void CornerCasesAreRefusedByName()
        {
            RunOn(1);
            RunOn(0);
            Assert.That(Migrate("alpha", 1), Is.EqualTo("alpha: already on core 1; nothing to do"));
            Assert.That(Migrate("beta", 1), Is.EqualTo("beta: refused: core 1 is dedicated to another vCPU"));
            Assert.That(Migrate("beta", 7), Is.EqualTo("beta: refused: there is no core 7 (cores 0-1)"));
            Assert.That(Migrate("beta", 1UL << 32), Is.EqualTo("beta: refused: there is no core 4294967296 (cores 0-1)"), "not truncated to core 0");
            Assert.That(Migrate("beta", ulong.MaxValue), Is.EqualTo("beta: refused: there is no core 18446744073709551615 (cores 0-1)"));
            Assert.That(Migrate("nobody", 0), Is.EqualTo("nobody: no such partition"));
            Assert.That(Migrate("alpha", 0), Is.EqualTo("alpha: moving from core 1 to core 0"));
            Assert.That(Migrate("alpha", 0), Is.EqualTo("alpha: refused: a migration of it is already under way"), "two commands for one vCPU at once");
            _gamma.State = VirtualMachineState.Stopped;
            Assert.That(Migrate("gamma", 1), Is.EqualTo("gamma: refused: the partition has been stopped"));
            _gamma.State = VirtualMachineState.Halted;
            Assert.That(Migrate("gamma", 1), Is.EqualTo("gamma: refused: the partition has halted"));
        }

        [Test]
        public void PausedPartitionIsNotScheduledUntilResumed()
        {
            var outcome = new TextBuffer();
            Management.PauseOrResume("beta", true, outcome);
            Assert.That(outcome.ToString(), Is.EqualTo("beta: pausing (its vCPUs leave their cores)"), "what was asked, not yet what happened");
            Assert.That(_cpu.ConsoleText, Does.Not.Contain("beta: paused"));
            for (int i = 0; i < 4; i++)
                RunOn(0);
            Assert.That(_beta.Cpu0.Entity.Slices, Is.Zero);
            Assert.That(_cpu.ConsoleText, Does.Match(@"beta: paused \(every vCPU off its core, \d+ ticks after the command\)\n"), "reported once its core has taken it off");
            Assert.That(_gamma.Cpu0.Entity.Slices, Is.EqualTo(4));
            Management.PauseOrResume("beta", false, outcome);
            Assert.That(outcome.ToString(), Is.EqualTo("beta: resumed"));
            for (int i = 0; i < 4; i++)
                RunOn(0);
            Assert.That(_beta.Cpu0.Entity.Slices, Is.EqualTo(2));
        }

        [Test]
        public void SameCoreSwitchIsVmptrldAndVmresumeWithoutVmclear()
        {
            int before = _cpu.Vmx.Log.Count; // creation VMCLEARs each VMCS once; not part of switching
            for (int i = 0; i < 6; i++)
                RunOn(0);
            var log = _cpu.Vmx.Log.Skip(before).Where(l => l.StartsWith("cpu0")).ToList();
            Assert.That(log.Count(l => l.StartsWith("cpu0 vmlaunch")), Is.EqualTo(2), "each vCPU launched once");
            Assert.That(log.Count(l => l.StartsWith("cpu0 vmresume")), Is.EqualTo(4));
            Assert.That(log.Count(l => l.StartsWith("cpu0 vmclear")), Is.Zero, "no VMCLEAR between slices");
            Assert.That(CoreRunner.Of(0).Core.Switches, Is.EqualTo(5));
            Assert.That(CoreRunner.Of(0).MeasuredSwitches, Is.EqualTo(5), "every slice after the first took the processor's state from the other vCPU");
        }

        [Test]
        public void A_guest_that_exits_all_the_time_is_charged_for_the_hypervisors_time_and_cannot_keep_the_core()
        {
            // beta floods hypercalls; each exit costs the hypervisor a quarter of a slice, and the
            // preemption timer (guest time only) never fires.
            ulong slice = CoreRunner.Of(0).Core.Policy.SliceTicks;
            int entries = 0;
            _cpu.Vmx.Guest = (model, vmcs, registers) =>
            {
                entries++;
                _cpu.Tsc += slice / 4;
                registers->Rax = Hypercall.GetVersion;
                model.SetExit(vmcs, entries < 1000 ? ExitReason.Vmcall : ExitReason.PreemptionTimer, 0);
            };
            RunOn(0);
            Assert.That(_beta.ExitCounts[(int)ExitReason.Vmcall], Is.InRange(3UL, 5UL), "the slice ends at the first exit after its time is up");
            Assert.That(_beta.ExitCounts[(int)ExitReason.PreemptionTimer], Is.Zero);
            RunOn(0);
            Assert.That(_gamma.ExitCounts[(int)ExitReason.Vmcall], Is.GreaterThan(0UL), "gamma gets its turn");
        }
    }
}
