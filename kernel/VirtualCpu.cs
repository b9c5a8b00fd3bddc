using Partition.Devices;

namespace Partition.Kernel
{
    /// <summary>What a vCPU is doing, as far as its core's scheduler is concerned.</summary>
    public enum VcpuActivity : byte
    {
        /// <summary>Executing guest code (or ready to).</summary>
        Running,
        /// <summary>HLT with interrupts enabled: runnable again when its local APIC has an interrupt for it.</summary>
        WaitingForInterrupt,
        /// <summary>
        /// HLT with interrupts disabled, or an AP before its first start-up IPI: only INIT and
        /// SIPI (from another vCPU of the partition) bring it back. A partition whose vCPUs
        /// are all parked has halted.
        /// </summary>
        Parked,
    }

    /// <summary>One vCPU: its VMCS, its register block, and where it runs.</summary>
    public sealed unsafe class VirtualCpu
    {
        public VirtualCpu(VirtualMachine machine, int index, Vmcs vmcs, GuestRegisters* registers)
        {
            Machine = machine;
            Index = index;
            Vmcs = vmcs;
            Registers = registers;
            Msrs = new GuestMsrs(registers == null ? null : (byte*)registers + GuestRegisters.FxsaveOffset);
            Lapic = new VirtualLocalApic((uint)index, bootstrap: index == 0, VirtualLocalApic.InputClockDivider(Tsc.TicksPerMillisecond * 1000));
        }

        /// <summary>Its MSRs, debug registers and AVX registers that the VMCS does not switch, and its emulated MSRs.</summary>
        public GuestMsrs Msrs { get; }

        /// <summary>Its local APIC (x2APIC mode; APIC ID = <see cref="Index"/>).</summary>
        public VirtualLocalApic Lapic { get; }

        /// <summary>After INIT (or reset, for an AP): parked until a start-up IPI, which starts it in real mode at the vector's page.</summary>
        public bool WaitingForStartup { get; set; }

        /// <summary>
        /// Added to the processor's TSC for this vCPU (VMCS "use TSC offsetting"; SDM Vol. 3C,
        /// 26.3): what IA32_TSC_ADJUST says, 0 unless the guest changes it. The local APIC runs
        /// on the guest's TSC, so its deadlines are converted with it.
        /// </summary>
        public ulong TscOffset { get; set; }

        /// <summary>The guest's TSC at the processor's TSC value <paramref name="hostTsc"/>.</summary>
        public ulong GuestTsc(ulong hostTsc) => hostTsc + TscOffset;

        /// <summary>The local APIC timer's next expiry on the processor's TSC, or 0 if it is not armed.</summary>
        public ulong TimerDeadlineOnHost
        {
            get
            {
                ulong deadline = Lapic.TimerDeadline;
                return deadline == 0 ? 0 : deadline - TscOffset;
            }
        }

        private static long s_nextVpid;

        /// <summary>Its VPID: unique among all vCPUs, never 0 (which is the hypervisor's).</summary>
        public ushort Vpid { get; } = NextVpid();

        private static ushort NextVpid()
        {
            return (ushort)(Cpu.AtomicAdd(ref s_nextVpid, 1) % 0xFFFF + 1);
        }

        /// <summary>
        /// Its TLB entries (VPID-tagged, and EPT-tagged combined ones) on the core it next runs
        /// on may be stale: it has run elsewhere since, or was reset (a restart, a new VMCS
        /// configuration). The next entry there flushes them first (INVVPID, INVEPT).
        /// </summary>
        public bool FlushTlbOnEntry { get; set; }

        /// <summary>The VM-entry controls without "IA-32e mode guest", which follows the guest's mode.</summary>
        public uint EntryControls { get; set; }

        /// <summary>
        /// Its VMCS's VM-entry interruption field holds an event for the next entry: an
        /// interrupt or NMI from its local APIC, an exception an exit handler raised, or an event
        /// whose delivery an exit interrupted. It belongs to the vCPU, not to one run of its
        /// loop: the event waits in the VMCS across the end of a slice, a migration or a pause,
        /// and nothing else may be injected over it. Every VM exit clears the field's valid bit
        /// (SDM Vol. 3C, 25.8.3), so the run loop clears this after each exit; a VMCS written
        /// afresh has the field 0.
        /// </summary>
        public bool EntryEventPending { get => _entry.EventPending; set => _entry.EventPending = value; }

        /// <summary>
        /// Activity, EntryEventPending and the two window flags, in one word: each is 0 (false,
        /// Running) when the guest may simply be entered again, so the exit fast path tests the
        /// four with one load (<see cref="MayResumeAtOnce"/>).
        /// </summary>
        [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Explicit)]
        private struct EntryFlags
        {
            [System.Runtime.InteropServices.FieldOffset(0)] public VcpuActivity Activity;
            [System.Runtime.InteropServices.FieldOffset(1)] public bool EventPending;
            [System.Runtime.InteropServices.FieldOffset(2)] public bool InterruptWindow;
            [System.Runtime.InteropServices.FieldOffset(3)] public bool NmiWindow;
            [System.Runtime.InteropServices.FieldOffset(0)] public uint All;
        }

        private EntryFlags _entry;

        /// <summary>Running, with no event to inject and no interrupt or NMI window asked for.</summary>
        public bool MayResumeAtOnce => _entry.All == 0;

        /// <summary>Interrupts injected into it.</summary>
        public ulong Injected { get; set; }

        /// <summary>
        /// INIT (SDM Vol. 3A, 9.4.4.1): the local APIC is reset and the vCPU waits for a
        /// start-up IPI, parked. (Its VMCS is rewritten when the start-up comes.)
        /// </summary>
        public void Init()
        {
            Lapic.Reset();
            Msrs.Init();
            FlushTlbOnEntry = true;
            EntryEventPending = false; // INIT discards pending events; the start-up writes the VMCS afresh
            WaitingForStartup = true;
            Machine.Park(this);
        }

        /// <summary>
        /// On its own core (<paramref name="now"/> is the processor's TSC), for a vCPU that is not running: takes in what was posted to its
        /// local APIC and decides whether it may run again. An INIT parks it; a start-up IPI
        /// to a vCPU waiting for one comes back in <paramref name="startupVector"/> (the caller
        /// sets its real-mode state and unparks it); an interrupt the APIC would deliver, a due
        /// timer or an NMI ends a HLT.
        /// </summary>
        public void CheckWake(ulong now, out int startupVector)
        {
            startupVector = -1;
            if (Lapic.HasIncoming)
            {
                Lapic.MergeIncoming(out bool init, out int startup);
                if (init)
                    Init();
                if (startup >= 0 && WaitingForStartup)
                    startupVector = startup;
            }
            if (Activity == VcpuActivity.WaitingForInterrupt)
            {
                Lapic.UpdateTimer(GuestTsc(now));
                if (Lapic.DeliverableVector >= 0 || Lapic.PendingNmi)
                    Activity = VcpuActivity.Running;
            }
            else if (Activity == VcpuActivity.Parked && !WaitingForStartup && Lapic.PendingNmi)
            {
                // An NMI ends a HLT even with interrupts off.
                Machine.Unpark(this);
            }
        }

        /// <summary>
        /// HLT with interrupts on: the vCPU waits unless its local APIC already has something
        /// to deliver (an interrupt posted while it ran, or a timer that is due).
        /// </summary>
        public void CheckWakeWhileRunning(ulong now)
        {
            if (Lapic.HasIncoming)
            {
                Lapic.MergeIncoming(out bool init, out _);
                if (init)
                {
                    Init();
                    return;
                }
            }
            Lapic.UpdateTimer(GuestTsc(now));
            if (Lapic.DeliverableVector < 0 && !Lapic.PendingNmi)
                Activity = VcpuActivity.WaitingForInterrupt;
        }

        /// <summary>The primary processor-based controls as last written (kept here to spare a VMREAD when a window is asked for).</summary>
        public uint PrimaryControls { get; set; }

        /// <summary>Interrupt-window exiting is on in its VMCS (kept here to spare a VMREAD before each entry).</summary>
        public bool InterruptWindowExiting { get => _entry.InterruptWindow; set => _entry.InterruptWindow = value; }

        /// <summary>NMI-window exiting is on in its VMCS.</summary>
        public bool NmiWindowExiting { get => _entry.NmiWindow; set => _entry.NmiWindow = value; }

        public VirtualMachine Machine { get; }

        /// <summary>The vCPU's number in its partition, which is also its APIC ID.</summary>
        public int Index { get; }
        public Vmcs Vmcs { get; }
        public GuestRegisters* Registers { get; }
        public bool Launched => Vmcs.LaunchState == VmcsLaunchState.Launched;

        /// <summary>"name" for a partition's only vCPU, "name.N" when it has several.</summary>
        public string Name { get; set; }

        public VcpuActivity Activity { get => _entry.Activity; set => _entry.Activity = value; }

        /// <summary>Its partition is paused and its core has taken it off (VirtualMachine.NotePausedOff).</summary>
        public bool PausedOff { get; set; }

        /// <summary>Off its core's schedule because its partition halted or was stopped (until a restart).</summary>
        public bool Retired { get; set; }

        /// <summary>The CPU whose host state (GDT, TSS, IDT) the VMCS holds; rewritten when it runs elsewhere.</summary>
        public int HostCpu { get; set; } = -1;

        /// <summary>The vCPU as its core's scheduler sees it.</summary>
        public Partition.Scheduler.SchedulerEntity Entity { get; set; }

        /// <summary>The core whose scheduler holds this vCPU.</summary>
        public int Core { get; set; }

        public int PreviousCore { get; set; }

        /// <summary>TSC of the migrate command until the destination first enters the guest; 0 otherwise.</summary>
        public ulong MigrationCommandTsc { get; set; }

        /// <summary>
        /// The phases of the migration under way, as TSC stamps (0: not reached): the source core
        /// took the request, had VMCLEARed the VMCS and handed it over; the destination took it,
        /// had loaded it (VMPTRLD) and had written its host state. <see cref="MigrationCommandTsc"/>
        /// is the command; the report is printed just before the entry.
        /// </summary>
        public ulong MigrationSourceTsc, MigrationClearedTsc, MigrationAdoptedTsc, MigrationLoadedTsc, MigrationHostStateTsc;

        /// <summary>VM exits this vCPU has taken (for the schedule trace's slices): the sum of <see cref="ExitCounts"/>.</summary>
        public ulong Exits => ExitCounts.Total;

        /// <summary>Its exits by basic reason, counted on its own core (the partition's summary adds its vCPUs').</summary>
        public ExitCounters ExitCounts;

        /// <summary>Exits after which the guest was entered again at once, without the run loop (PartitionHost.ExitPath).</summary>
        public ulong ResumedAtOnce;

        public ulong LastMigrationTicks { get; set; }

        private long _migrating;

        /// <summary>Claims the vCPU for one migration; false if one is already under way.</summary>
        public bool TryBeginMigration()
        {
            return Cpu.CompareExchange(ref _migrating, 1, 0) == 0;
        }

        public void EndMigration()
        {
            Cpu.CompareExchange(ref _migrating, 0, 1);
        }
    }
}
