using Partition.Configs;
using Partition.Scheduler;

namespace Partition.Kernel
{
    /// <summary>A request to a core, posted by any CPU and carried out by the core itself.</summary>
    public struct CoreRequest
    {
        public CoreRequestKind Kind;
        public VirtualCpu Vcpu;
        public int TargetCore;
        public ulong CommandTsc;
    }

    public enum CoreRequestKind
    {
        /// <summary>Source side of a migration: VMCLEAR here, then hand the vCPU to the target core.</summary>
        Evict,
        /// <summary>Destination side: schedule the vCPU here (VMPTRLD, host state, VMLAUNCH when it runs).</summary>
        Adopt,
        /// <summary>
        /// Its partition was paused, resumed or stopped: the core's sweep looks at the vCPU
        /// again (and a guest running there has exited to let it).
        /// </summary>
        Notice,
        /// <summary>A partition to restart (sent to its vCPU 0's core, which rebuilds it).</summary>
        Revive,
        /// <summary>A vCPU of a restarted partition: back on this core's schedule.</summary>
        Rejoin,
        /// <summary>
        /// Another CPU posted an interrupt to a vCPU waiting in HLT on this shared core: the
        /// slice running here ends once its vCPU has had its least run, and the sweep wakes the
        /// waiting one (<see cref="CoreRunner.InterruptPosted"/>).
        /// </summary>
        Wake,
    }

    /// <summary>
    /// One CPU's run loop: its scheduler (<see cref="CoreControlBlock"/>), a mailbox through
    /// which other CPUs ask it to give up, take, pause or resume a vCPU (only the core itself
    /// changes its scheduling state, and only it executes VMCLEAR on a VMCS active there), and
    /// the switch: VMPTRLD, host state for this CPU when a VMCS arrives from another, the
    /// preemption timer, VM entry. CPU 0 also serves the hypervisor console between slices.
    /// </summary>
    /// <remarks>
    /// <para>The kick invariant, which the whole cross-core protocol rests on: a CPU that
    /// changes something a core's run loop must act on before its guest runs on (a request in
    /// its mailbox, an interrupt posted to the vCPU whose VMCS is current there, a partition of
    /// its vCPUs stopped, paused or halted) makes the change first and then kicks the core
    /// (<see cref="Kick"/>, an NMI; <see cref="Post"/>, <see cref="VirtualMachine.Deliver"/> and
    /// <see cref="VirtualMachine.NoticeEveryCore"/> do both). The NMI makes a guest running
    /// there exit to the run loop; if it finds the CPU in the hypervisor instead,
    /// <see cref="NmiReceived"/> sets the current VMCS's preemption timer to 0, so that the next
    /// entry exits before the guest's first instruction. Whoever writes the preemption timer
    /// after that may have undone a kick, so every timer write is followed by the looks it
    /// could have hidden (the run loop's entry: mailbox and local APIC; the exit fast path:
    /// everything, <c>PartitionHost.ExitPath</c>). An interrupt's poster decides whether to
    /// kick from the vCPU's Core and Activity and the core's current VMCS (<see cref="CoreControlBlock.Loaded"/>),
    /// read after its post (<see cref="InterruptPosted"/>); the core that changes them (a
    /// migration's arrival, a wake, a switch) fences before its last look at the posts, so that
    /// one of the two always sees the other's store. A vCPU waiting in HLT on a shared core is
    /// not kicked but sent a wake-up request, which ends its neighbour's slice after that one's
    /// least run (<see cref="EndsSliceForRequests"/>).</para>
    /// <para>Hence the exit fast path, after a handler that changed nothing itself
    /// (<see cref="ExitAction.ResumeQuiet"/>), needs to look at none of that state: a change
    /// from another CPU arrives with its kick.</para>
    /// </remarks>
    public sealed unsafe class CoreRunner
    {
        private static readonly CoreRunner[] s_runners = new CoreRunner[Smp.MaxCpus];
        private static long s_active;
        private static ulong s_deadline;
        // The run's deadline, or ulong.MaxValue if it has none (the sweep's starting point for a slice's limit).
        private static ulong s_runLimit = ulong.MaxValue;

        /// <summary>
        /// "switch=clear": VMCLEAR after every slice, so each switch is VMCLEAR, VMPTRLD and
        /// VMLAUNCH (what a vCPU free to float between cores would pay), to measure against the
        /// resume-based switch (VMPTRLD and VMRESUME).
        /// </summary>
        public static bool ClearBasedSwitch { get; set; }

        /// <summary>The longest CPU 0 stays in a guest without looking at the console.</summary>
        public const ulong ConsolePollMs = 100;

        private ulong _lastSliceEnd;

        // When the slice now running began (0 between slices): a dedicated core's one slice lasts the whole run.
        private ulong _sliceStart;

        /// <summary>Guest ticks so far, the slice running now included (read by the console on another CPU).</summary>
        public ulong GuestTicksSoFar
        {
            get
            {
                ulong start = _sliceStart;
                return Core.GuestTicks + (start == 0 ? 0 : Tsc.Now - start);
            }
        }
        // The vCPU whose GuestMsrs (SYSCALL MSRs, KERNEL_GS_BASE, TSC_AUX, debug registers) are in this processor now.
        private VirtualCpu _processorStateOwner;

        /// <summary>Ticks from the end of one vCPU's slice to the start of another's on this core (its state changing hands in the processor), summed.</summary>
        public ulong SwitchTicks { get; private set; }

        public ulong MeasuredSwitches { get; private set; }

        private readonly PlainSpinLock _lock = new PlainSpinLock();
        private readonly CoreRequest[] _requests = new CoreRequest[32];
        private readonly CoreRequest[] _draining = new CoreRequest[32];
        private int _requestCount;

        private CoreRunner(int cpu, CoreControlBlock core)
        {
            Cpu = cpu;
            Core = core;
            ulong slice = core.Policy.SliceTicks;
            ulong consolePoll = cpu == 0 ? ConsolePollMs * Tsc.TicksPerMillisecond : 0;
            _longestSlice = slice == 0 ? consolePoll : consolePoll == 0 ? slice : System.Math.Min(slice, consolePoll);
            _sliceLimit = s_runLimit;
        }

        // The longest a slice here lasts (0: no limit but the run's deadline): the policy's
        // slice, and on CPU 0 ConsolePollMs at most, so that the console is served even when
        // every core runs a guest that never exits.
        private readonly ulong _longestSlice;

        public int Cpu { get; }
        public CoreControlBlock Core { get; }
        public ulong Migrations { get; private set; }

        /// <summary>Wake IPIs sent to this core (so that its guest exits and it reads its mailbox).</summary>
        public ulong WakesSent { get; private set; }
        public ulong StartTsc { get; private set; }

        public static CoreRunner Of(int cpu) => cpu >= 0 && cpu < s_runners.Length ? s_runners[cpu] : null;

        /// <summary>No core has a runner any more (for the host tests: one test's cores are not the next one's).</summary>
        internal static void ForgetAll()
        {
            for (int cpu = 0; cpu < s_runners.Length; cpu++)
                s_runners[cpu] = null;
        }

        /// <summary>Creates every core's runner with its policy and its vCPUs (before any runs).</summary>
        public static void Prepare(VirtualMachine[] machines, int cpuCount, ScheduleConfig[] schedules, ulong deadline)
        {
            s_deadline = deadline;
            s_runLimit = deadline == 0 ? ulong.MaxValue : deadline;
            s_idleWaitTicks = Tsc.FromMicroseconds(IdleWaitMicroseconds);
            s_minimumRunBeforeWake = Tsc.FromMicroseconds(MinimumRunBeforeWakeMicroseconds);
            for (int cpu = 0; cpu < cpuCount; cpu++)
            {
                int n = 0;
                foreach (var vm in machines)
                    foreach (var vcpu in vm.Vcpus)
                        if (vcpu.Core == cpu)
                            n++;
                var mine = new VirtualCpu[n];
                n = 0;
                foreach (var vm in machines)
                    foreach (var vcpu in vm.Vcpus)
                        if (vcpu.Core == cpu)
                            mine[n++] = vcpu;
                s_runners[cpu] = new CoreRunner(cpu, PartitionHost.CreateCore(mine, cpu, schedules));
            }
            long active = 0;
            foreach (var vm in machines)
            {
                if (vm.State == VirtualMachineState.Runnable)
                    active += vm.Vcpus.Length;
                else
                    foreach (var vcpu in vm.Vcpus)
                        vcpu.Retired = true;
            }
            s_active = active;
        }

        /// <summary>
        /// Posts a request to this core; any CPU may call it. If the core is another CPU, an NMI
        /// (<see cref="Kick"/>) makes its guest exit at once, whatever the guest's RFLAGS.IF: a
        /// fixed-vector IPI would not do for a guest with interrupts off (Bochs 2.7 takes the
        /// external-interrupt exit only when the guest has IF = 1; MigrationTests records it).
        /// </summary>
        public bool Post(CoreRequest request)
        {
            bool posted = Enqueue(request);
            // Kicked even when full: the core then drains what it has and sees the rest.
            if (Smp.CpuCount > 1 && (uint)global::Partition.Kernel.Cpu.CurrentApicId() != Smp.ApicIdOf(Cpu))
                Kick();
            return posted;
        }

        private bool Enqueue(CoreRequest request)
        {
            _lock.Enter();
            bool posted = _requestCount < _requests.Length;
            if (posted)
            {
                // The count of urgent ones first: a reader that sees the request counted sees it too.
                if (request.Kind != CoreRequestKind.Wake)
                    _urgentRequests++;
                _requests[_requestCount++] = request;
            }
            _lock.Exit();
            return posted;
        }

        /// <summary>
        /// Posts a request that must not be lost (the second half of a migration, a restarted
        /// vCPU's return): while the core's mailbox is full, waits for it to drain, draining this
        /// core's own meanwhile (two cores posting to each other cannot wait on each other).
        /// </summary>
        private void PostSurely(CoreRunner target, CoreRequest request)
        {
            while (!target.Post(request))
            {
                if (target == this)
                {
                    // Its own mailbox: handle what is there first (this is the run loop's CPU).
                    DrainRequests();
                    continue;
                }
                DrainRequests();
                global::Partition.Kernel.Cpu.Pause();
            }
        }

        /// <summary>
        /// Makes this core's guest exit (a wake IPI) so that its run loop looks at it again: an
        /// interrupt was posted to the vCPU running there. Any CPU may call it.
        /// </summary>
        public void Kick()
        {
            if (Smp.CpuCount > 1)
            {
                Lapic.SendNmi(Smp.ApicIdOf(Cpu));
                WakesSent++;
            }
        }

        private static readonly ulong[] s_nmis = new ulong[Smp.MaxCpus];

        /// <summary>
        /// A kick (NMI) that found this CPU in the hypervisor, not in a guest (called from the
        /// NMI handler: no locks, no console). It may have come after the run loop's last look
        /// at its mailbox and before its next VM entry, so the VMX-preemption timer of whatever
        /// VMCS is current is set to 0: that entry then exits at once and the loop looks again
        /// (SDM Vol. 3C, 26.7.4). Without a current VMCS the VMWRITE simply fails.
        /// </summary>
        public static void NmiReceived(int cpu)
        {
            if ((uint)cpu < (uint)s_nmis.Length)
                s_nmis[cpu]++;
            Vmx.Write(VmcsField.VmxPreemptionTimerValue, 0);
        }

        /// <summary>Kicks that arrived while this CPU was in the hypervisor.</summary>
        public ulong NmisInRoot => s_nmis[Cpu];

        /// <summary>
        /// Restarts a partition whose vCPUs have all left their cores: vCPU 0's core rebuilds it
        /// (memory, image, every VMCS), then puts each vCPU back on its core's schedule.
        /// </summary>
        public static void Revive(VirtualMachine vm)
        {
            global::Partition.Kernel.Cpu.AtomicAdd(ref s_active, vm.Vcpus.Length);
            Of(vm.Cpu0.Core).Post(new CoreRequest { Kind = CoreRequestKind.Revive, Vcpu = vm.Cpu0 });
        }

        /// <summary>True when requests wait (read without the lock: a stale answer only delays them).</summary>
        public bool HasRequests => _requestCount != 0;

        // Requests waiting that are not wake-ups (under the mailbox's lock; read without it: a
        // request's poster kicks after its post, so a stale 0 is looked at again at once).
        private int _urgentRequests;

        // 1 while a wake-up request is on its way to this core (set by its poster, cleared when
        // drained): an IPI flood at a waiting vCPU costs its neighbour one kick, not one an IPI.
        private long _wakePending;

        /// <summary>
        /// Another CPU posted an interrupt to <paramref name="vcpu"/>, one of this core's vCPUs
        /// (<see cref="VirtualMachine.Deliver"/>, after its post). If the vCPU's VMCS is the one
        /// current here, it may be in its guest: kicked, so that it exits and takes the
        /// interrupt. If it is runnable but another vCPU's VMCS is current, its next entry looks
        /// at its posts: no kick, which would only make its neighbour exit. If it waits in HLT on
        /// a shared core, a neighbour may hold the core for the rest of a slice: a wake-up
        /// request ends that slice once it has had its least run (<see cref="EndsSliceForRequests"/>).
        /// On a dedicated core the idle wait watches the posts itself.
        /// </summary>
        public void InterruptPosted(VirtualCpu vcpu)
        {
            var activity = vcpu.Activity;
            if (activity == VcpuActivity.Running)
            {
                // The core makes a VMCS current before its last look at the posts (a fence between).
                if (Core.Loaded == vcpu.Entity)
                    Kick();
            }
            else if (activity == VcpuActivity.WaitingForInterrupt && Core.Policy.Count > 1
                && global::Partition.Kernel.Cpu.CompareExchange(ref _wakePending, 1, 0) == 0)
            {
                Enqueue(new CoreRequest { Kind = CoreRequestKind.Wake, Vcpu = vcpu });
                // Kicked only during a slice: between slices the loop sweeps, or looks at its
                // mailbox before the next entry (having stored the slice's start before that
                // look), and a kick would only cost that entry an exit.
                global::Partition.Kernel.Cpu.FullFence();
                if (_sliceStart != 0)
                    Kick();
            }
        }

        /// <summary>
        /// Requests wait at the last look before a VM entry (<c>PartitionHost.RunSlice</c>):
        /// true if the slice must end now for them. Any request but a wake-up ends it at once;
        /// wake-ups alone end it once the running vCPU has had its least run of the slice
        /// (<see cref="MinimumRunBeforeWakeMicroseconds"/>), lowering <paramref name="until"/> to
        /// then if that is later than <paramref name="now"/>.
        /// </summary>
        internal bool EndsSliceForRequests(ulong now, ref ulong until)
        {
            ulong start = _sliceStart;
            if (_urgentRequests != 0 || start == 0)
                return true;
            ulong leastRunEnd = start + s_minimumRunBeforeWake;
            if (now >= leastRunEnd)
                return true;
            if (until == 0 || until > leastRunEnd)
                until = leastRunEnd;
            return false;
        }

        // Read at every turn of every core's loop: a plain aligned 64-bit load (atomic on x86-64;
        // a stale value only delays the end by a turn), not a locked instruction.
        private static bool AllDone => s_active == 0;

        private static void Finished()
        {
            global::Partition.Kernel.Cpu.AtomicAdd(ref s_active, -1);
        }

        // The vCPU the last Adopt brought here: preferred at the next pick.
        private SchedulerEntity _arrived;

        // Whether the next turn sweeps. Everything the sweep acts on changes either on this core
        // (a slice that ends with its vCPU halted, parked or its partition ended) or through a
        // request in this core's mailbox (another CPU's stop, pause, resume, restart, migration:
        // Notice, Adopt, Rejoin, Revive), or else it only matters for a vCPU that is not
        // runnable (an interrupt posted to a halted vCPU, its local APIC timer coming due), and
        // while one is not runnable every turn sweeps. So a sweep is due after a request was
        // handled, after a slice that left its vCPU not runnable, and after a sweep that left
        // one so; while every vCPU here runs and nothing arrives, none is (an interrupt posted
        // to a runnable vCPU is taken at its next entry, InterruptInjection.BeforeEntry). A
        // notice that found the mailbox full is dropped, but the requests that filled it make
        // the turn that drains them sweep, and the poster's change came before its try (both
        // take the mailbox's lock), so that sweep sees it.
        private bool _sweepDue = true;

        /// <summary>Sweeps so far (for the host tests: a core whose vCPUs all run sweeps only when something arrives).</summary>
        internal ulong Sweeps { get; private set; }

        // The earliest local APIC timer expiry (processor TSC) among the vCPUs the last sweep
        // left waiting for an interrupt: when the idle wait ends (ulong.MaxValue: none).
        private ulong _earliestWake = ulong.MaxValue;

        // The latest any slice here may end, whatever the policy's slice (ulong.MaxValue: no
        // such limit): the run's deadline, and on a shared core the earliest timer of a vCPU
        // waiting in HLT here, but not before the vCPU that runs has had
        // MinimumRunBeforeWakeMicroseconds. So a waiting vCPU's timer interrupt is taken when
        // it is due, not when the running vCPU's slice ends. Set by each sweep (every turn
        // sweeps while a vCPU here waits).
        private ulong _sliceLimit;

        // The least a running vCPU keeps of its slice when a waiting one's timer comes: a
        // guest re-arming a short timer and halting costs its neighbour a switch per this
        // much time at most, never the slice.
        private const ulong MinimumRunBeforeWakeMicroseconds = 100;
        private static ulong s_minimumRunBeforeWake;

        // The longest the idle wait watches only the wake-ups before the loop takes a whole turn again.
        private const ulong IdleWaitMicroseconds = 50;
        private static ulong s_idleWaitTicks;

        /// <summary>
        /// No vCPU here may run. Instead of taking whole turns of the loop (a turn sweeps every
        /// vCPU: a wake-up waited for up to a turn), waits in a loop of a few instructions for
        /// the first thing that can make one runnable: a request in the mailbox, an interrupt
        /// posted to one of them (another vCPU's IPI, a device interrupt taken here for the
        /// host partition while interrupts are let in), or the earliest of their local APIC
        /// timers. Everything else the loop serves (the console, the run's deadline) waits at
        /// most twice <see cref="IdleWaitMicroseconds"/> longer.
        /// </summary>
        internal void WaitIdle(ulong now)
        {
            // A wake-up due before the limit, or within another limit after it, is waited for
            // here: a turn of the loop taken just before it would make it later by the rest of
            // that turn (its latency would depend on where in the loop its time fell).
            ulong until = now + s_idleWaitTicks;
            if (_earliestWake < until + s_idleWaitTicks)
                until = _earliestWake;
            var policy = Core.Policy;
            while (true)
            {
                global::Partition.Kernel.Cpu.AcceptInterrupts();
                if (HasRequests)
                    return;
                for (int i = 0; i < policy.Count; i++)
                {
                    // (A retired vCPU's posts wait for its partition's restart.)
                    var vcpu = System.Runtime.CompilerServices.Unsafe.As<VirtualCpu>(policy[i].Owner);
                    if (vcpu.Lapic.HasIncoming && !vcpu.Retired)
                        return;
                }
                if (Tsc.Now >= until)
                    return;
                global::Partition.Kernel.Cpu.Pause();
            }
        }

        /// <summary>Runs until every partition has halted or stopped, or the deadline passes.</summary>
        public void Run()
        {
            StartTsc = Tsc.Now;
            bool timedOut = false;
            while (!AllDone)
            {
                ulong now = Tsc.Now;
                if (s_deadline != 0 && now >= s_deadline)
                {
                    timedOut = true;
                    break;
                }
                // Device interrupts that came while this core was in the hypervisor (those that
                // come while a guest runs make it exit): forwarded before the sweep looks.
                global::Partition.Kernel.Cpu.AcceptInterrupts();
                DrainRequests();
                // Any core in its loop serves the console (one at a time), so it answers
                // whichever cores run dedicated guests.
                Management.Poll(now);
                if (HypervisorConsole.PumpDue(now))
                    HypervisorConsole.PumpNow();
                if (_sweepDue)
                    Sweep();
                if (_arrived != null)
                {
                    // A vCPU migrated here on command runs first (the sweep has made it runnable, or it waits for an interrupt).
                    Core.Policy.Prefer(_arrived);
                    _arrived = null;
                }
                SchedulerEntity next = Core.Policy.PickNext();
                if (next == null)
                {
                    WaitIdle(now);
                    continue;
                }
                RunOneSlice(next);
            }
            if (timedOut)
            {
                HypervisorConsole.BeginLine();
                HypervisorConsole.Write("CPU ");
                HypervisorConsole.WriteDecimal((ulong)Cpu);
                HypervisorConsole.Write(": run time limit reached after ");
                HypervisorConsole.WriteDecimal((Tsc.Now - StartTsc) / Tsc.TicksPerMillisecond);
                HypervisorConsole.WriteLine(" ms (stop_after_ms)");
                HypervisorConsole.EndLine();
            }
            HypervisorConsole.BeginLine();
            for (int i = 0; i < Core.Policy.Count; i++)
            {
                var vcpu = (VirtualCpu)Core.Policy[i].Owner;
                // A partition's summary once: by the core of its vCPU 0.
                if (vcpu.Index != 0)
                    continue;
                vcpu.Machine.Uart?.Flush();
                PartitionHost.PrintSummary(vcpu.Machine, atEnd: true);
            }
            PartitionHost.PrintCoreStatistics(Core, Migrations, GuestTicksSoFar);
            ExitProfile.Print(Cpu);
            HypervisorConsole.Write("  kicks (NMIs) to this core: ");
            HypervisorConsole.WriteDecimal(WakesSent);
            HypervisorConsole.Write(", of which found it in the hypervisor: ");
            HypervisorConsole.WriteDecimal(NmisInRoot);
            HypervisorConsole.WriteLine();
            if (PhysicalInterrupts.TakenOn(Cpu) != 0)
            {
                HypervisorConsole.Write("  device interrupts taken for the host partition: ");
                HypervisorConsole.WriteDecimal(PhysicalInterrupts.TakenOn(Cpu));
                HypervisorConsole.WriteLine();
            }
            if (MeasuredSwitches != 0)
            {
                HypervisorConsole.Write("  mean switch: ");
                HypervisorConsole.WriteDecimal(SwitchTicks / MeasuredSwitches);
                HypervisorConsole.Write(ClearBasedSwitch ? " ticks, clear-based (VMCLEAR, VMPTRLD, VMLAUNCH) over " : " ticks, resume-based (VMPTRLD, VMRESUME) over ");
                HypervisorConsole.WriteDecimal(MeasuredSwitches);
                HypervisorConsole.WriteLine(" switches");
            }
            HypervisorConsole.EndLine();
        }

        /// <summary>
        /// Brings each vCPU's schedulability up to date: retires those whose partition has
        /// halted or been stopped (from whichever core), and makes runnable those that were
        /// waiting and may run now, or not runnable those that were paused or parked. This is
        /// the one place that makes an entity runnable. Run only when due (<c>_sweepDue</c>).
        /// </summary>
        private void Sweep()
        {
            Sweeps++;
            _sweepDue = false;
            ulong earliestWake = ulong.MaxValue;
            var policy = Core.Policy;
            for (int i = 0; i < policy.Count; i++)
            {
                var entity = policy[i];
                // Every entity of a core's policy is a vCPU (CreateCore): no cast check here.
                var vcpu = System.Runtime.CompilerServices.Unsafe.As<VirtualCpu>(entity.Owner);
                if (vcpu.Retired)
                    continue;
                // The common case first, with nothing to change: runnable and running, nothing
                // posted to it, its partition neither stopped nor paused.
                var machine = vcpu.Machine;
                if (entity.Runnable && vcpu.Activity == VcpuActivity.Running && !vcpu.Lapic.HasIncoming
                    && machine.State == VirtualMachineState.Runnable && !machine.Paused)
                    continue;
                if (machine.State != VirtualMachineState.Runnable)
                {
                    Retire(entity);
                    continue;
                }
                bool waited = vcpu.Activity == VcpuActivity.WaitingForInterrupt;
                if (vcpu.Activity != VcpuActivity.Running || vcpu.Lapic.HasIncoming)
                {
                    vcpu.CheckWake(Tsc.Now, out int startup);
                    if (startup >= 0)
                        StartUp(entity, startup);
                }
                if (machine.Paused && machine.NotePausedOff(vcpu))
                    ReportPaused(machine);
                bool runnable = !machine.Paused && vcpu.Activity == VcpuActivity.Running;
                bool woke = runnable && !entity.Runnable;
                if (woke && policy is WeightedPolicy weighted)
                    weighted.Wake(entity);
                entity.Runnable = runnable;
                // A vCPU woken from HLT (its timer came, or an interrupt was posted to it) runs
                // at the next pick: it waited for that event and handles it while it is news.
                if (woke && waited && policy.Count > 1)
                    policy.Prefer(entity);
                if (!runnable)
                {
                    _sweepDue = true;
                    ulong wake = vcpu.Activity == VcpuActivity.WaitingForInterrupt ? vcpu.TimerDeadlineOnHost : 0;
                    if (wake != 0 && wake < earliestWake)
                        earliestWake = wake;
                }
            }
            _earliestWake = earliestWake;
            ulong limit = s_runLimit;
            if (earliestWake < limit && policy.Count > 1)
            {
                ulong wakeAt = System.Math.Max(earliestWake, Tsc.Now + s_minimumRunBeforeWake);
                if (wakeAt < limit)
                    limit = wakeAt;
            }
            _sliceLimit = limit;
        }

        // "NAME: paused (every vCPU off its core, N ticks after the command)".
        private static void ReportPaused(VirtualMachine vm)
        {
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write(vm.Name);
            HypervisorConsole.Write(": paused (every vCPU off its core, ");
            HypervisorConsole.WriteDecimal(Tsc.Now - vm.PauseCommandTsc);
            HypervisorConsole.WriteLine(" ticks after the command)");
            HypervisorConsole.EndLine();
        }

        /// <summary>One turn of the run loop (for the host tests): the mailbox, then one slice if any vCPU is runnable.</summary>
        internal void RunOnce()
        {
            DrainRequests();
            if (_sweepDue)
                Sweep();
            var next = Core.Policy.PickNext();
            if (next != null)
                RunOneSlice(next);
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private void RunOneSlice(SchedulerEntity next)
        {
            // Every entity of a core's policy is a vCPU (CreateCore): no cast check here.
            var vcpu = System.Runtime.CompilerServices.Unsafe.As<VirtualCpu>(next.Owner);
            if (!MakeCurrent(next, vcpu))
                return;
            var owner = _processorStateOwner;
            if (owner != vcpu || vcpu.Msrs.LoadPending)
                TakeProcessorState(vcpu, owner);
            if (vcpu.MigrationCommandTsc != 0)
                ReportMigration(vcpu, arrivedIdle: false);
            ulong sliceStart = Tsc.Now;
            _sliceStart = sliceStart;
            if (owner != vcpu && owner != null)
            {
                SwitchTicks += sliceStart - _lastSliceEnd;
                MeasuredSwitches++;
            }
            // The timer counts the guest's time only; the time the hypervisor spends on its exits
            // is charged to the slice too, or a guest that exits all the time (a hypercall
            // flood) would hold the core for as long as it liked.
            ulong longest = _longestSlice;
            ulong until = longest == 0 ? s_deadline : System.Math.Min(_sliceLimit, sliceStart + longest);
            // (The exit count is a sum over the reasons: taken only for the trace.)
            ulong exitsBefore = ScheduleTrace.Enabled ? vcpu.Exits : 0;
            PartitionHost.RunSlice(vcpu, Cpu, until, Cpu == 0, this);
            ulong end = Tsc.Now;
            _lastSliceEnd = end;
            if (ScheduleTrace.Enabled)
                ScheduleTrace.Record(Cpu, TraceKind.Slice, vcpu, sliceStart, end, 0, vcpu.Exits - exitsBefore);
            _sliceStart = 0;
            Core.EndSlice(next, end - sliceStart);
            if (vcpu.Machine.State != VirtualMachineState.Runnable)
            {
                Retire(next);
                _sweepDue = true;
            }
            else if (vcpu.Activity != VcpuActivity.Running)
            {
                next.Runnable = false;
                _sweepDue = true;
            }
            else if (ClearBasedSwitch && Core.Policy.Kind != PolicyKind.Dedicated)
            {
                vcpu.Vmcs.Clear(Cpu);
                Core.Loaded = null;
            }
        }

        /// <summary>
        /// Makes the vCPU's VMCS the current one here: VMPTRLD alone when switching between
        /// VMCSs on one core (the one switched away from stays active here, so it resumes with
        /// VMRESUME, not a new launch), and host state for this CPU if it last ran elsewhere.
        /// False, with its partition stopped, if the VMCS cannot be loaded.
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private bool MakeCurrent(SchedulerEntity entity, VirtualCpu vcpu)
        {
            if (Core.Loaded != entity)
            {
                if (Core.Loaded != null)
                    Core.Switches++;
                VmcsError loaded = vcpu.Vmcs.Load(Cpu);
                if (loaded != VmcsError.None)
                {
                    PartitionHost.Stop(vcpu.Machine, Vmcs.Describe(loaded));
                    Retire(entity);
                    return false;
                }
                Core.Loaded = entity;
                if (vcpu.MigrationCommandTsc != 0)
                    vcpu.MigrationLoadedTsc = Tsc.Now;
            }
            if (vcpu.HostCpu != Cpu)
                TakeHostState(vcpu);
            if (vcpu.FlushTlbOnEntry)
                FlushTlb(vcpu);
            return true;
        }

        // The vCPU last ran on another CPU: this one's host state into its VMCS.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private void TakeHostState(VirtualCpu vcpu)
        {
            var writer = new VmcsSetup.FieldWriter(vcpu.Vmcs, Cpu);
            VmcsSetup.WriteHostState(ref writer, PartitionHost.TablesOf(Cpu));
            vcpu.HostCpu = Cpu;
            // What this core's TLB holds for its VPID is from before it ran elsewhere.
            vcpu.FlushTlbOnEntry = true;
            if (vcpu.MigrationCommandTsc != 0)
                vcpu.MigrationHostStateTsc = Tsc.Now;
        }

        // The vCPU's translations (its VPID's, its EPT's) may be stale here: dropped before it enters.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void FlushTlb(VirtualCpu vcpu)
        {
            if (PartitionHost.Capabilities.UsesVpid)
            {
                Vmx.InvalidateVpid(1, vcpu.Vpid);
                Vmx.InvalidateEpt(1, vcpu.Machine.Ept.Pointer);
            }
            vcpu.FlushTlbOnEntry = false;
        }

        /// <summary>
        /// Puts the vCPU's own MSRs and debug registers (<see cref="GuestMsrs"/>) into this
        /// processor, saving those of the vCPU that had it. The caller has found that they are
        /// not there already, or were reset since (an INIT).
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private void TakeProcessorState(VirtualCpu vcpu, VirtualCpu owner)
        {
            if (owner != vcpu && owner != null)
                vcpu.Msrs.TakeOver(owner.Msrs);
            else
                vcpu.Msrs.Load();
            _processorStateOwner = vcpu;
        }

        // The vCPU leaves this core: its values come out of the processor with it.
        private void ReleaseProcessorState(VirtualCpu vcpu, bool save)
        {
            if (_processorStateOwner != vcpu)
                return;
            if (save)
                vcpu.Msrs.Save();
            _processorStateOwner = null;
        }

        /// <summary>
        /// A start-up IPI reached a vCPU waiting for one: real mode at the vector's page, with
        /// registers and local APIC as after INIT (SDM Vol. 3A, 9.4.4.1, table 10-1).
        /// </summary>
        private void StartUp(SchedulerEntity entity, int vector)
        {
            var vcpu = (VirtualCpu)entity.Owner;
            if (!MakeCurrent(entity, vcpu))
                return;
            GuestRegisters.Reset(vcpu.Registers);
            var writer = new VmcsSetup.FieldWriter(vcpu.Vmcs, Cpu);
            VmcsSetup.WriteGuestState(ref writer, vcpu, PartitionHost.Capabilities, GuestStartState.Startup((byte)vector));
            if (writer.FirstError != VmcsError.None)
            {
                PartitionHost.Stop(vcpu.Machine, string.Concat("start-up IPI: ", Vmcs.Describe(writer.FirstError)));
                return;
            }
            vcpu.WaitingForStartup = false;
            vcpu.Machine.Unpark(vcpu);
        }

        // A vCPU that is on no core's schedule (a migration found no room): counted done as Retire
        // counts one, so that the run still ends and the partition can restart.
        private void RetireOffSchedule(VirtualCpu vcpu)
        {
            vcpu.Retired = true;
            vcpu.MigrationCommandTsc = 0;
            if (vcpu.Machine.VcpuLeft())
                vcpu.Machine.Scrub();
            Finished();
        }

        // A vCPU of a partition that halted or was stopped: written back, off the schedule,
        // counted done. The last of its partition's vCPUs to leave scrubs its memory.
        private void Retire(SchedulerEntity entity)
        {
            var vcpu = (VirtualCpu)entity.Owner;
            entity.Runnable = false;
            vcpu.Retired = true;
            ReleaseProcessorState(vcpu, save: false);
            // A migration under way ends here too: the partition stays migratable and restartable.
            if (vcpu.MigrationCommandTsc != 0)
            {
                vcpu.MigrationCommandTsc = 0;
                vcpu.EndMigration();
            }
            if (vcpu.Vmcs.ActiveCpu == Cpu)
                vcpu.Vmcs.Clear(Cpu);
            if (Core.Loaded == entity)
                Core.Loaded = null;
            var vm = vcpu.Machine;
            if (vm.VcpuLeft())
            {
                vm.Uart?.Flush();
                vm.Scrub();
                // A guest's own reset: boot it again (counted running before this vCPU is counted done).
                if (vm.RestartWhenDown && vm.Cpu0.TryBeginMigration())
                {
                    Management.Report(vm.Name, ": reset by its guest; restarting");
                    Revive(vm);
                }
            }
            Finished();
        }

        // The empty mailbox (nearly every loop turn) costs one compare where it is called.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private void DrainRequests()
        {
            if (_requestCount != 0)
                DrainRequestsNow();
        }

        private void DrainRequestsNow()
        {
            _lock.Enter();
            int count = _requestCount;
            for (int i = 0; i < count; i++)
                _draining[i] = _requests[i];
            _requestCount = 0;
            _urgentRequests = 0;
            _lock.Exit();
            _sweepDue = true;
            for (int i = 0; i < count; i++)
                Handle(ref _draining[i]);
        }

        private void Handle(ref CoreRequest request)
        {
            var vcpu = request.Vcpu;
            var entity = vcpu.Entity;
            switch (request.Kind)
            {
                case CoreRequestKind.Wake:
                    // The sweep that follows every drain wakes it (or finds it woken already).
                    _wakePending = 0;
                    break;
                case CoreRequestKind.Evict:
                    // VMCLEAR where the VMCS is active (this CPU), then let the target load it.
                    vcpu.MigrationSourceTsc = Tsc.Now;
                    vcpu.MigrationAdoptedTsc = vcpu.MigrationLoadedTsc = vcpu.MigrationHostStateTsc = 0;
                    if (vcpu.Vmcs.ActiveCpu == Cpu)
                        vcpu.Vmcs.Clear(Cpu);
                    if (Core.Loaded == entity)
                        Core.Loaded = null;
                    ReleaseProcessorState(vcpu, save: true);
                    Core.Policy.Remove(entity);
                    Migrations++;
                    ScheduleTrace.Mark(Cpu, TraceKind.MigrateOut, vcpu, request.TargetCore);
                    vcpu.MigrationClearedTsc = Tsc.Now;
                    PostSurely(Of(request.TargetCore), new CoreRequest { Kind = CoreRequestKind.Adopt, Vcpu = vcpu, TargetCore = request.TargetCore, CommandTsc = request.CommandTsc });
                    break;
                case CoreRequestKind.Adopt:
                    if (!Core.Policy.TryAdd(entity))
                    {
                        if (Cpu != vcpu.Core)
                        {
                            // The core filled up since the command was checked: back where it came from.
                            Management.Report(vcpu.Name, ": the destination core has no room any more; it stays where it was");
                            PostSurely(Of(vcpu.Core), new CoreRequest { Kind = CoreRequestKind.Adopt, Vcpu = vcpu, TargetCore = vcpu.Core });
                            break;
                        }
                        // Its own core filled up meanwhile too (another vCPU took a dedicated
                        // core): it cannot run anywhere now. The partition stops, with the reason,
                        // rather than a vCPU being lost; restart puts it back on this core.
                        PartitionHost.Stop(vcpu.Machine, "a migration found no core with room for its vCPU");
                        vcpu.EndMigration();
                        RetireOffSchedule(vcpu);
                        break;
                    }
                    vcpu.MigrationAdoptedTsc = Tsc.Now;
                    _arrived = entity;
                    vcpu.PreviousCore = vcpu.Core;
                    vcpu.Core = Cpu;
                    // The host's device interrupts follow its vCPU 0.
                    if (vcpu.Index == 0)
                        PhysicalInterrupts.Retarget(vcpu.Machine, Cpu);
                    ScheduleTrace.Mark(Cpu, TraceKind.MigrateIn, vcpu, vcpu.PreviousCore);
                    // Shares are of this core's time since it arrived: what it ran elsewhere does not count here.
                    Core.Arrived(entity);
                    vcpu.MigrationCommandTsc = request.CommandTsc;
                    // An idle vCPU runs here only from its next interrupt, which may be far off:
                    // its migration is done when it has arrived.
                    if (vcpu.Activity != VcpuActivity.Running)
                        ReportMigration(vcpu, arrivedIdle: true);
                    // Its virtual time counted another core's clock: the sweep's wake gives it
                    // the least of those here, neither ahead of them nor behind.
                    entity.VirtualTime = 0;
                    entity.Runnable = false;
                    break;
                case CoreRequestKind.Notice:
                    break; // the sweep acts on the partition's state

                case CoreRequestKind.Revive:
                {
                    // Rebuilding the VMCSs loads each here: whatever was current is not any more.
                    Core.Loaded = null;
                    var vm = vcpu.Machine;
                    bool restarted = vm.TryRestart(Cpu, out string error);
                    vcpu.EndMigration();
                    if (!restarted)
                    {
                        global::Partition.Kernel.Cpu.AtomicAdd(ref s_active, -vm.Vcpus.Length);
                        Management.Report(vm.Name, string.Concat(": could not restart: ", error));
                        break;
                    }
                    Management.Report(vm.Name, ": restarted from its image, memory scrubbed");
                    ScheduleTrace.Mark(Cpu, TraceKind.Restart, vm.Cpu0, -1);
                    foreach (var each in vm.Vcpus)
                        PostSurely(Of(each.Core), new CoreRequest { Kind = CoreRequestKind.Rejoin, Vcpu = each });
                    break;
                }
                case CoreRequestKind.Rejoin:
                    // Back on this core's schedule (after a failed migration it is not in the
                    // policy yet); the sweep decides whether it may run.
                    if (!Core.Policy.Contains(entity) && !Core.Policy.TryAdd(entity))
                    {
                        PartitionHost.Stop(vcpu.Machine, "its core has no room for its vCPU any more");
                        RetireOffSchedule(vcpu);
                        break;
                    }
                    vcpu.Retired = false;
                    break;
            }
        }

        // "  phases: source took it N, VMCLEAR and hand-over N, destination took it N, VMPTRLD N,
        // host state N, to the entry N (ticks)": where a migration's time went, phase by phase.
        private static void WriteMigrationPhases(VirtualCpu vcpu, ulong command, ulong end, bool arrivedIdle)
        {
            if (command == 0 || vcpu.MigrationSourceTsc < command || vcpu.MigrationClearedTsc < vcpu.MigrationSourceTsc
                || vcpu.MigrationAdoptedTsc < vcpu.MigrationClearedTsc)
                return;
            HypervisorConsole.Write("  phases (ticks): the source core took the request ");
            HypervisorConsole.WriteDecimal(vcpu.MigrationSourceTsc - command);
            HypervisorConsole.Write(", VMCLEAR and hand-over ");
            HypervisorConsole.WriteDecimal(vcpu.MigrationClearedTsc - vcpu.MigrationSourceTsc);
            HypervisorConsole.Write(", the destination took it ");
            HypervisorConsole.WriteDecimal(vcpu.MigrationAdoptedTsc - vcpu.MigrationClearedTsc);
            if (!arrivedIdle && vcpu.MigrationHostStateTsc >= vcpu.MigrationAdoptedTsc)
            {
                // VMPTRLD may come after the host state (a VMCS already current here) or not at all.
                ulong loaded = vcpu.MigrationLoadedTsc >= vcpu.MigrationAdoptedTsc ? vcpu.MigrationLoadedTsc : vcpu.MigrationAdoptedTsc;
                HypervisorConsole.Write(", until its turn and VMPTRLD ");
                HypervisorConsole.WriteDecimal(loaded - vcpu.MigrationAdoptedTsc);
                HypervisorConsole.Write(", host state ");
                HypervisorConsole.WriteDecimal(vcpu.MigrationHostStateTsc - loaded);
                HypervisorConsole.Write(", to the entry ");
                HypervisorConsole.WriteDecimal(end - vcpu.MigrationHostStateTsc);
            }
            HypervisorConsole.WriteLine();
        }

        // The destination's first entry of a migrated vCPU: the command-to-guest latency; or, for
        // a vCPU that waits for an interrupt, its arrival.
        private void ReportMigration(VirtualCpu vcpu, bool arrivedIdle)
        {
            ulong end = Tsc.Now, command = vcpu.MigrationCommandTsc;
            ulong latency = end - command;
            vcpu.MigrationCommandTsc = 0;
            vcpu.LastMigrationTicks = latency;
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write("Migrated ");
            HypervisorConsole.Write(vcpu.Name);
            HypervisorConsole.Write(" from core ");
            HypervisorConsole.WriteDecimal((ulong)vcpu.PreviousCore);
            HypervisorConsole.Write(" to core ");
            HypervisorConsole.WriteDecimal((ulong)Cpu);
            HypervisorConsole.Write(": ");
            HypervisorConsole.WriteDecimal(latency);
            HypervisorConsole.WriteLine(arrivedIdle ? " ticks from the command to its arrival (idle: it runs there from its next interrupt)"
                : " ticks from the command to its next guest instruction");
            WriteMigrationPhases(vcpu, command, end, arrivedIdle);
            HypervisorConsole.EndLine();
            vcpu.EndMigration();
        }
    }
}
