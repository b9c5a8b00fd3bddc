using Partition.Devices;

namespace Partition.Kernel
{
    /// <summary>What the run loop does after an exit was handled.</summary>
    public enum ExitAction
    {
        /// <summary>
        /// The guest goes on, and the handler changed nothing the run loop watches: no device,
        /// local APIC, partition or core state, only the guest's registers (and perhaps an
        /// exception to inject, which the vCPU's own flags show). The exit fast path then looks
        /// only at the time before it enters the guest again: whatever another CPU changes, it
        /// changes first and kicks this core after (<see cref="CoreRunner"/>'s kick invariant).
        /// </summary>
        ResumeQuiet,
        /// <summary>The guest goes on; the exit fast path may enter it again at once if nothing else is due.</summary>
        Resume,
        /// <summary>
        /// The guest goes on after the run loop has looked: the exits it acts on itself (the
        /// preemption timer, interrupt and NMI windows, an external interrupt, a kick's NMI).
        /// </summary>
        RunLoop,
        /// <summary>The vCPU halted with nothing to wake it: the partition is done.</summary>
        Halt,
        /// <summary>The partition is stopped (the handler has set the reason).</summary>
        Stop,
    }

    /// <summary>
    /// One VM exit, as the handlers see it. Handlers run between a VM exit and the next entry,
    /// with the vCPU's VMCS current on this CPU (the run loop guarantees it), so their VMREADs
    /// and VMWRITEs go straight to the instructions without <see cref="Vmcs"/>'s checks.
    /// </summary>
    public struct ExitContext
    {
        public VirtualCpu Vcpu;
        public int Cpu;
        /// <summary>The exit reason field as read (bit 31: the exit is a VM-entry failure).</summary>
        public uint ReasonField;

        /// <summary>The basic exit reason (bits 15:0).</summary>
        public ushort Reason => (ushort)ReasonField;

        public bool EntryFailure => (ReasonField & ExitReasons.EntryFailureBit) != 0;
        public ulong Qualification;

        // The run loop's state for its fast path (PartitionHost.ExitPath), set before each entry.

        /// <summary>An event was being injected by the entry that this exit ended.</summary>
        public bool Injected;

        /// <summary>The exit was followed by another entry without a return to the run loop.</summary>
        public bool EnteredAgain;

        /// <summary>The core's runner (its mailbox), or null.</summary>
        public CoreRunner Runner;

        /// <summary>The host's management line when this core serves the console (else null): looked at after each exit.</summary>
        public ManagementChannel ManagementLine;

        /// <summary>IA32_VMX_MISC[4:0]: the preemption timer counts every 2^rate TSC ticks.</summary>
        public int TimerRate;

        /// <summary>The host TSC the preemption timer is set for (the slice's end, the run's limit, the local APIC's timer), or 0.</summary>
        public ulong TimerEnd;

        /// <summary>
        /// When the fast path writes the preemption timer again. It restarts from the field at
        /// every entry, so each entry without a new value makes it fire later by the time since
        /// it was written; it is rewritten once that is more than 1/64 of what was left then
        /// (<see cref="TimerSlackShift"/>), so a slice or an APIC timer ends at most that late.
        /// </summary>
        public ulong RewriteTimerAfter { get; private set; }

        /// <summary>
        /// The sooner of <see cref="FastUntil"/> and <see cref="RewriteTimerAfter"/>: an exit
        /// before it compares the time once.
        /// </summary>
        public ulong LookAfter;

        /// <summary>Sets <see cref="RewriteTimerAfter"/> (after <see cref="FastUntil"/>) and <see cref="LookAfter"/> with it.</summary>
        public void SetRewriteAfter(ulong tsc)
        {
            RewriteTimerAfter = tsc;
            LookAfter = tsc < FastUntil ? tsc : FastUntil;
        }

        /// <summary>The timer may be late by the time left at its last write shifted right by this (1/64).</summary>
        public const int TimerSlackShift = 6;

        /// <summary>At or after this host TSC the run loop must look (TimerEnd, or the console script's next command if sooner).</summary>
        public ulong FastUntil;

        /// <summary>
        /// The local APIC timer's deadline that TimerEnd was computed from: when it has changed
        /// after a handler that is not quiet (only the APIC's own exits change it), the exit goes
        /// to the run loop, which sets the timer again.
        /// </summary>
        public ulong ApicDeadline;

        public Vmcs Vmcs => Vcpu.Vmcs;

        public ulong Read(VmcsField field) => Vmx.ReadValue(field);

        public void Write(VmcsField field, ulong value) => Vmx.Write(field, value);
    }

    /// <summary>
    /// Exit dispatch: a table of handlers indexed by basic exit reason (SDM appendix C),
    /// bounds-checked; a handler reads what it needs (the exit qualification among it), so no
    /// VMREAD is paid by an exit that does not use it. Counters are kept by the caller, per vCPU.
    /// A reason without a handler stops the partition with a report; the hypervisor goes on.
    /// </summary>
    public static unsafe class ExitDispatch
    {
        // Indexed by basic exit reason; NoHandler where there is none. A handler that needs
        // the exit qualification reads it (ReadQualification): VMREADs are paid only where used.
        // A fixed buffer in a static struct: the lookup is one load from the image's data, with
        // no array reference to load first and no array bounds to check.
        private struct HandlerTable
        {
            public fixed ulong Entries[ExitReasons.Count];
        }

        private static HandlerTable s_table;

        /// <summary>
        /// Fills the table. Called at boot, before any exit; again (the host tests) it writes
        /// the same values, and no slot ever holds another meanwhile.
        /// </summary>
        public static void Initialize()
        {
            Set(ExitReason.ExceptionOrNmi, &ExceptionOrNmi);
            Set(ExitReason.ExternalInterrupt, &ExternalInterrupt);
            Set(ExitReason.InterruptWindow, &RunLoop);
            Set(ExitReason.NmiWindow, &RunLoop);
            Set(ExitReason.PreemptionTimer, &RunLoop);
            Set(ExitReason.TripleFault, &TripleFault);
            Set(ExitReason.Cpuid, &Cpuid);
            Set(ExitReason.Hlt, &Hlt);
            Set(ExitReason.Vmcall, &Vmcall);
            Set(ExitReason.IoInstruction, &Io);
            Set(ExitReason.Rdmsr, &Msr);
            Set(ExitReason.Wrmsr, &Msr);
            // CPUID offers no MONITOR/MWAIT and no performance counters.
            Set(ExitReason.Monitor, &InjectInvalidOpcode);
            Set(ExitReason.Mwait, &InjectInvalidOpcode);
            Set(ExitReason.Rdpmc, &InjectGeneralProtection);
            Set(ExitReason.Wbinvd, &WriteBackCaches);
            Set(ExitReason.Xsetbv, &Xsetbv);
            Set(ExitReason.MovDr, &MovDr);
            Set(ExitReason.Invd, &WriteBackCaches);
            Set(ExitReason.ControlRegisterAccess, &ControlRegisterAccess);
            Set(ExitReason.EptViolation, &EptViolation);
            Set(ExitReason.EptMisconfiguration, &EptMisconfiguration);
            Set(ExitReason.InvalidGuestState, &EntryFailed);
            Set(ExitReason.MsrLoading, &EntryFailed);
            Set(ExitReason.MachineCheckDuringEntry, &EntryFailed);
            // VMX instructions in a guest: there is no nested VMX, so they raise #UD there.
            foreach (var reason in new[] { ExitReason.Vmclear, ExitReason.Vmlaunch, ExitReason.Vmptrld, ExitReason.Vmptrst,
                         ExitReason.Vmread, ExitReason.Vmresume, ExitReason.Vmwrite, ExitReason.Vmxoff, ExitReason.Vmxon,
                         ExitReason.Invept, ExitReason.Invvpid, ExitReason.Vmfunc })
                Set(reason, &InjectInvalidOpcode);
            for (int i = 0; i < ExitReasons.Count; i++)
                if (s_table.Entries[i] == 0)
                    s_table.Entries[i] = (ulong)(delegate*<ref ExitContext, ExitAction>)&NoHandler;
        }

        private static void Set(ExitReason reason, delegate*<ref ExitContext, ExitAction> handle)
            => s_table.Entries[(int)reason] = (ulong)handle;

        /// <summary>Reads the exit qualification into <see cref="ExitContext.Qualification"/> (for the handlers that use it, and the crash report).</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private static ulong ReadQualification(ref ExitContext c) => c.Qualification = c.Read(VmcsField.ExitQualification);

        public static ExitAction Dispatch(ref ExitContext c) => Prepare(c.Reason)(ref c);

        /// <summary>
        /// The first half of <see cref="Dispatch"/>: looks the exit's basic reason up (bits
        /// 15:0 of the field, <see cref="ExitContext.Reason"/>); the caller then calls the
        /// handler returned (the run loop times the halves apart, <see cref="ExitProfile"/>).
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public static delegate*<ref ExitContext, ExitAction> Prepare(uint basicReason)
            => basicReason < ExitReasons.Count ? (delegate*<ref ExitContext, ExitAction>)s_table.Entries[basicReason] : &NoHandler;

        private static ExitAction NoHandler(ref ExitContext c) => Stop(ref c, "an exit with no handler");

        private static ExitAction RunLoop(ref ExitContext c) => ExitAction.RunLoop;

        /// <summary>
        /// An interrupt arrived while the guest ran; the exit acknowledged it (SDM 25.7.1: its
        /// vector is in the exit interruption information), so it is handled and ended here: a
        /// device's goes to the host partition (<see cref="PhysicalInterrupts"/>).
        /// </summary>
        private static ExitAction ExternalInterrupt(ref ExitContext c)
        {
            PhysicalInterrupts.Handle((int)(c.Read(VmcsField.VmExitInterruptionInformation) & 0xFF), c.Cpu);
            return ExitAction.RunLoop;
        }

        private static void AdvanceRip(ref ExitContext c) => Vmx.SkipInstruction();

        private static ExitAction Stop(ref ExitContext c, string why)
        {
            ReadQualification(ref c);
            PartitionHost.Stop(c.Vcpu.Machine, why);
            CrashReport.Print(ref c, why);
            return ExitAction.Stop;
        }

        private static ExitAction TripleFault(ref ExitContext c) => Stop(ref c, "triple fault");

        private static ExitAction EntryFailed(ref ExitContext c) => Stop(ref c, "VM entry failed");

        private static ExitAction EptMisconfiguration(ref ExitContext c)
        {
            InterruptInjection.ReinjectInterrupted(c.Vcpu);
            return Stop(ref c, "EPT misconfiguration (a hypervisor bug)");
        }

        /// <summary>
        /// A host NMI arrived while the guest ran (NMI exiting): it was meant for the
        /// hypervisor (a kick), not the guest, and the guest goes on. A machine check while the
        /// guest ran stops it (<see cref="MachineCheck"/>). No other exception is intercepted, so
        /// one here is a hypervisor bug: stop the partition.
        /// </summary>
        private static ExitAction ExceptionOrNmi(ref ExitContext c)
        {
            InterruptInjection.ReinjectInterrupted(c.Vcpu);
            ulong info = c.Read(VmcsField.VmExitInterruptionInformation);
            if ((info >> 8 & 7) == 2)
            {
                // NMIs stay blocked after an NMI's VM exit until the next IRET (SDM Vol. 3C,
                // 28.2.1 / 26.7.1): one here unblocks them, or the next kick would never arrive.
                Cpu.UnblockNmis();
                return ExitAction.RunLoop;
            }
            if ((info & 0xFF) == MachineCheck.Vector)
                return Stop(ref c, "a machine check while it ran (the hardware reported an error; the others go on)");
            return Stop(ref c, "an exception the hypervisor did not ask to intercept");
        }

        /// <summary>
        /// HLT. With interrupts off nothing but INIT or an NMI can end it: the vCPU parks (a
        /// partition whose vCPUs are all parked has halted). With interrupts on, it waits for
        /// its local APIC's next interrupt, or goes on at once if one is already deliverable.
        /// </summary>
        private static ExitAction Hlt(ref ExitContext c)
        {
            AdvanceRip(ref c);
            // Past the HLT, an STI's one-instruction shadow ("sti; hlt") is over (SDM 26.3.1.5).
            ulong interruptibility = c.Read(VmcsField.GuestInterruptibilityState);
            if ((interruptibility & 1) != 0)
                c.Write(VmcsField.GuestInterruptibilityState, interruptibility & ~1UL);
            if ((c.Read(VmcsField.GuestRflags) & 1UL << 9) == 0)
                return ExitAction.Halt;
            var vcpu = c.Vcpu;
            vcpu.CheckWakeWhileRunning(Tsc.Now);
            return ExitAction.Resume;
        }

        private static ExitAction Vmcall(ref ExitContext c)
        {
            // CPL is SS.DPL (SDM Vol. 3A, 5.5; 3 in virtual-8086 mode, 0 in real mode).
            int cpl = (int)(c.Read(VmcsField.GuestSsAccessRights) >> 5 & 3);
            AdvanceRip(ref c);
            return Hypercall.Handle(c.Vcpu, cpl);
        }

        /// <summary>
        /// CPUID as <see cref="CpuidPolicy"/> answers it for this vCPU, plus the hypervisor
        /// leaves: 0x40000000 gives the highest hypervisor leaf and the signature "Partition HV";
        /// 0x40000001 the hypercall ABI version.
        /// </summary>
        private static ExitAction Cpuid(ref ExitContext c)
        {
            GuestRegisters* r = c.Vcpu.Registers;
            uint leaf = (uint)r->Rax;
            uint subleaf = (uint)r->Rcx;
            if (leaf == CpuidPolicy.HypervisorLeaf)
                Answer(r, 0x40000001, SignaturePart, SignatureItio, SignatureNHv);
            else if (leaf == CpuidPolicy.HypervisorLeaf + 1)
                Answer(r, (uint)Hypercall.Version, 0, 0, 0);
            else if (leaf >= CpuidPolicy.HypervisorLeaf && leaf <= 0x4FFFFFFF)
                Answer(r, 0, 0, 0, 0);
            else
            {
                var answer = ProcessorLeaf(c.Vcpu, leaf, subleaf);
                Answer(r, answer.Eax, answer.Ebx, answer.Ecx, answer.Edx);
            }
            AdvanceRip(ref c);
            return ExitAction.ResumeQuiet;
        }

        // CPUID's four results, zero-extended into the guest's registers.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private static void Answer(GuestRegisters* r, uint eax, uint ebx, uint ecx, uint edx)
        {
            r->Rax = eax;
            r->Rbx = ebx;
            r->Rcx = ecx;
            r->Rdx = edx;
        }

        // A processor leaf as the policy filters it (out of line: its large frame is not paid by the hypervisor's leaves).
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static CpuidResult ProcessorLeaf(VirtualCpu vcpu, uint leaf, uint subleaf)
        {
            // CPUID.1:ECX.OSXSAVE mirrors the guest's own CR4.OSXSAVE (its read shadow owns nothing there).
            bool osxsave = leaf == 1 && (Vmx.ReadValue(VmcsField.GuestCr4) & 1UL << 18) != 0;
            return CpuidPolicy.Answer(leaf, subleaf, HostCpuid.Leaf(leaf, subleaf), HostCpuid.MaxBasic, HostCpuid.MaxExtended,
                (uint)vcpu.Index, vcpu.Machine.Vcpus.Length, Tsc.TicksPerMillisecond * 1000,
                PartitionHost.Capabilities.SecondaryProcessorBased.CanSet(3), XsaveSupport.GuestMask, vcpu.Msrs.Xcr0, osxsave);
        }

        // "Partition HV" in EBX, ECX, EDX, four ASCII bytes each, first in the low byte.
        private const uint SignaturePart = 'P' | 'a' << 8 | 'r' << 16 | 't' << 24;
        private const uint SignatureItio = 'i' | 't' << 8 | 'i' << 16 | 'o' << 24;
        private const uint SignatureNHv = 'n' | ' ' << 8 | 'H' << 16 | 'V' << 24;

        /// <summary>
        /// Port I/O: the partition's own virtual devices answer; any other port is denied (reads
        /// give all ones, writes are dropped) and counted. String I/O is not emulated yet.
        /// </summary>
        private static ExitAction Io(ref ExitContext c)
        {
            var access = IoAccess.Decode(ReadQualification(ref c));
            var vm = c.Vcpu.Machine;
            var uart = vm.Uart;
            if (uart == null || access.IsString || !uart.Claims(access.Port))
                return IoElsewhere(ref c, access);
            // The partition's UART, the busiest port (kept short): its vCPUs on other cores and
            // the console reach the same UART. Its registers are bytes: a write takes AL.
            GuestRegisters* r = c.Vcpu.Registers;
            ulong deliveries = vm.Deliveries;
            vm.DeviceLock.Enter();
            if (access.IsIn)
                WriteIn(r, access, uart.Read(access.Port));
            else
                uart.Write(access.Port, (uint)r->Rax);
            vm.DeviceLock.Exit();
            Vmx.SkipInstruction();
            // Quiet unless its interrupt line raised an interrupt (perhaps for this very vCPU, which no kick announces).
            return vm.Deliveries == deliveries ? ExitAction.ResumeQuiet : ExitAction.Resume;
        }

        // Every other port: the partition's other devices, the host's ports, or a denial.
        private static ExitAction IoElsewhere(ref ExitContext c, IoAccess access)
        {
            if (access.IsString)
                return Stop(ref c, "string I/O (INS/OUTS) is not emulated");
            var vm = c.Vcpu.Machine;
            GuestRegisters* r = c.Vcpu.Registers;
            if (vm.ManagementLine != null && vm.ManagementLine.Uart.Claims(access.Port))
            {
                // The host's management line: a read makes room for the answers still to come.
                var channel = vm.ManagementLine;
                vm.DeviceLock.Enter();
                if (access.IsIn)
                {
                    WriteIn(r, access, channel.Uart.Read(access.Port));
                    channel.Refill();
                }
                else
                    channel.Uart.Write(access.Port, (uint)r->Rax & access.Mask);
                vm.DeviceLock.Exit();
            }
            else if (vm.Rtc.Claims(access.Port))
            {
                vm.DeviceLock.Enter();
                // The TSC under the lock: the partition's vCPUs see its clock only go forward.
                ulong now = Tsc.Now;
                if (access.IsIn)
                    WriteIn(r, access, vm.Rtc.Read(access.Port, access.Size, now));
                else
                    vm.Rtc.Write(access.Port, access.Size, (uint)r->Rax & access.Mask, now);
                vm.DeviceLock.Exit();
            }
            else if (vm.PmTimer != null && vm.PmTimer.Claims(access.Port))
            {
                // Read-only: a write is dropped, as the register ignores it, and not refused.
                if (access.IsIn)
                {
                    vm.DeviceLock.Enter();
                    // The TSC under the lock, as for the RTC: the count only goes forward.
                    WriteIn(r, access, vm.PmTimer.Read(access.Port, access.Size, Tsc.Now));
                    vm.DeviceLock.Exit();
                }
            }
            else if (vm.Pic != null && VirtualPic8259.Claims(access.Port) && access.Size == 1)
            {
                vm.DeviceLock.Enter();
                if (access.IsIn)
                    WriteIn(r, access, vm.Pic.Read(access.Port));
                else
                    vm.Pic.Write(access.Port, (byte)r->Rax);
                vm.DeviceLock.Exit();
            }
            else if (vm.Power != null && vm.Power.Claims(access.Port))
            {
                PowerRequest request = PowerRequest.None;
                vm.DeviceLock.Enter();
                if (access.IsIn)
                    WriteIn(r, access, vm.Power.Read(access.Port));
                else
                    request = vm.Power.Write(access.Port, (uint)r->Rax & access.Mask);
                vm.DeviceLock.Exit();
                if (request != PowerRequest.None)
                {
                    AdvanceRip(ref c);
                    vm.PowerDown(request == PowerRequest.Reset);
                    return ExitAction.Resume;
                }
            }
            else if (vm.PowerLines != null && vm.PowerLines.Claims(access.Port, access.Size))
            {
                uint value = (uint)r->Rax & access.Mask;
                vm.DeviceLock.Enter();
                PowerLineRequest request = vm.PowerLines.Access(access.Port, access.Size, access.IsIn, ref value);
                vm.DeviceLock.Exit();
                if (access.IsIn)
                    WriteIn(r, access, value);
                if (request != PowerLineRequest.None)
                {
                    AdvanceRip(ref c);
                    Management.HostPowerRequest(vm, request, vm.PowerLines.Why);
                    return ExitAction.Resume;
                }
            }
            else if (vm.Spec.HostPorts is { } host)
            {
                uint value = (uint)r->Rax & access.Mask;
                if (host.Handle(access, ref value) == HostPortOutcome.Denied)
                {
                    Management.ReportDenial(vm, DenialKind.Port, access.IsIn ? "IN from port " : "OUT to port ", access.Port, 4, " refused: ", host.Why);
                    value = access.Mask;
                }
                if (access.IsIn)
                    WriteIn(r, access, value);
            }
            else
            {
                Management.ReportDenial(vm, DenialKind.Port, access.IsIn ? "IN from port " : "OUT to port ", access.Port, 4,
                    access.IsIn ? " refused: not its device, reads all ones" : " refused: not its device, write dropped");
                if (access.IsIn)
                    WriteIn(r, access, access.Mask);
            }
            AdvanceRip(ref c);
            return ExitAction.Resume;
        }

        // IN writes AL or AX and leaves the rest of RAX; IN EAX, like every 32-bit result in
        // 64-bit mode, zero-extends into RAX (SDM Vol. 1, 3.4.1.1).
        private static void WriteIn(GuestRegisters* r, IoAccess access, uint value)
        {
            value &= access.Mask;
            r->Rax = access.Mask == 0xFFFFFFFF ? value : (r->Rax & ~(ulong)access.Mask) | value;
        }

        /// <summary>
        /// RDMSR and WRMSR that exit: the local APIC's MSRs go to the vCPU's virtual local APIC,
        /// the emulated ones to <see cref="MsrPolicy"/>; any other MSR outside
        /// <see cref="MsrPolicy.AllowList"/> is #GP, as for an MSR the processor lacks. An IPI the write sends is routed among the partition's vCPUs.
        /// </summary>
        private static ExitAction Msr(ref ExitContext c)
        {
            bool write = c.Reason == (ushort)ExitReason.Wrmsr;
            var vcpu = c.Vcpu;
            GuestRegisters* r = vcpu.Registers;
            uint msr = (uint)r->Rcx;
            ulong emulated = 0;
            if (VirtualLocalApic.Handles(msr))
            {
                ApicAccess outcome;
                ulong now = vcpu.GuestTsc(Tsc.Now);
                if (write)
                {
                    outcome = vcpu.Lapic.WriteMsr(msr, (r->Rdx << 32) | (uint)r->Rax, now, out var ipi, out var shorthand, out bool sends, out int levelEoi);
                    if (sends)
                        vcpu.Machine.SendIpi(vcpu, c.Cpu, ipi, shorthand);
                    if (levelEoi >= 0)
                        vcpu.Machine.EndOfInterrupt((byte)levelEoi);
                }
                else
                {
                    outcome = vcpu.Lapic.ReadMsr(msr, now, out ulong value);
                    if (outcome == ApicAccess.Done)
                    {
                        r->Rax = (uint)value;
                        r->Rdx = value >> 32;
                    }
                }
                if (outcome == ApicAccess.Done)
                {
                    AdvanceRip(ref c);
                    return ExitAction.Resume;
                }
            }
            else if (write ? MsrPolicy.TryWrite(vcpu.Msrs, msr, (r->Rdx << 32) | (uint)r->Rax) : MsrPolicy.TryRead(vcpu.Msrs, msr, out emulated))
            {
                if (write && msr == MsrPolicy.TscAdjust)
                {
                    vcpu.TscOffset = vcpu.Msrs.TscAdjust;
                    c.Write(VmcsField.TscOffset, vcpu.TscOffset);
                    // The local APIC's timer deadline, in the guest's time, is now another host
                    // time: the run loop sets the preemption timer for it again.
                    AdvanceRip(ref c);
                    return ExitAction.RunLoop;
                }
                if (!write)
                {
                    r->Rax = (uint)emulated;
                    r->Rdx = emulated >> 32;
                }
                AdvanceRip(ref c);
                return ExitAction.Resume;
            }
            Management.ReportDenial(vcpu.Machine, DenialKind.Msr, write ? "WRMSR " : "RDMSR ", msr, 8, " refused: #GP");
            InjectException(ref c, 13, hasErrorCode: true);
            return ExitAction.Resume;
        }

        /// <summary>
        /// WBINVD and INVD: the cache policy. A flush of every cache by one partition costs
        /// every other partition on the socket its cached data (on real hardware, milliseconds of
        /// their time), and INVD would throw away other partitions' dirty lines outright, so
        /// neither ever runs for a guest partition: its RAM is write-back and coherent and no
        /// device does DMA for it, so there is nothing a write-back could make visible, and the
        /// instruction completes as a no-op. The host partition drives the machine's devices,
        /// whose DMA may not snoop: for it both run as WBINVD (INVD's contents after it are
        /// undefined, so writing back is an allowed outcome of INVD too).
        /// </summary>
        private static ExitAction WriteBackCaches(ref ExitContext c)
        {
            if (c.Vcpu.Machine.Spec.HostPorts != null)
                Cpu.WriteBackAndInvalidateCaches();
            AdvanceRip(ref c);
            return ExitAction.ResumeQuiet;
        }

        /// <summary>
        /// XSETBV (it always exits): XCR0 may enable only what <see cref="XsaveSupport"/> offers,
        /// in a valid combination; anything else, or another XCR, is #GP as on a processor
        /// without those features. The vCPU owns this core's processor state now, so the value
        /// goes straight into XCR0, and with the vCPU's lazily switched state after that.
        /// </summary>
        private static ExitAction Xsetbv(ref ExitContext c)
        {
            GuestRegisters* r = c.Vcpu.Registers;
            ulong value = (r->Rdx << 32) | (uint)r->Rax;
            if ((uint)r->Rcx != 0 || !XsaveSupport.IsValidXcr0(value))
                return InjectGeneralProtection(ref c);
            c.Vcpu.Msrs.SetXcr0(value);
            AdvanceRip(ref c);
            return ExitAction.ResumeQuiet;
        }

        /// <summary>
        /// The guest's first MOV to or from a debug register: its DR0-DR3 go into the processor
        /// (<see cref="GuestMsrs.UseDebugRegisters"/>), MOV DR stops exiting, and the
        /// instruction runs again (RIP is not advanced), now on the processor's registers, with
        /// the processor's own checks (#GP at CPL &gt; 0, #UD for DR4/DR5 with CR4.DE).
        /// </summary>
        private static ExitAction MovDr(ref ExitContext c)
        {
            var vcpu = c.Vcpu;
            if (!PartitionHost.Capabilities.MovDrExitingOptional)
                return Stop(ref c, "MOV DR exits on this processor whatever the control says, and is not emulated");
            vcpu.Msrs.UseDebugRegisters();
            uint controls = vcpu.PrimaryControls & ~VmxControls.ProcMovDrExiting;
            c.Write(VmcsField.PrimaryProcessorBasedControls, controls);
            vcpu.PrimaryControls = controls;
            return ExitAction.ResumeQuiet;
        }

        private static ExitAction InjectGeneralProtection(ref ExitContext c)
        {
            InjectException(ref c, 13, hasErrorCode: true);
            return ExitAction.ResumeQuiet;
        }

        private static ExitAction InjectInvalidOpcode(ref ExitContext c)
        {
            InjectException(ref c, 6, hasErrorCode: false);
            return ExitAction.ResumeQuiet;
        }

        /// <summary>Delivers a hardware exception to the guest on the next entry (SDM Vol. 3C, 25.8.3).</summary>
        public static void InjectException(ref ExitContext c, uint vector, bool hasErrorCode)
        {
            // In real mode exceptions push no error code, and VM entry fails if one is asked
            // for there (SDM Vol. 3C, 27.2.1.3: CR0.PE = 0 needs "deliver error code" = 0).
            if (hasErrorCode && (c.Read(VmcsField.GuestCr0) & 1) == 0)
                hasErrorCode = false;
            const uint hardwareException = 3u << 8;
            const uint deliverErrorCode = 1u << 11;
            const uint valid = 1u << 31;
            c.Write(VmcsField.VmEntryInterruptionInformation, vector | hardwareException | (hasErrorCode ? deliverErrorCode : 0) | valid);
            c.Write(VmcsField.VmEntryExceptionErrorCode, 0);
            c.Vcpu.EntryEventPending = true;
        }

        /// <summary>
        /// MOV to CR0/CR4 touching a bit the hypervisor owns (SDM Vol. 3C, table 28-3). The
        /// guest's value goes to the read shadow; the real register keeps the bits VMX requires.
        /// Turning paging on with EFER.LME set activates IA-32e mode (EFER.LMA, entry control).
        /// </summary>
        private static ExitAction ControlRegisterAccess(ref ExitContext c)
        {
            ulong q = ReadQualification(ref c);
            int cr = (int)(q & 0xF);
            int accessType = (int)(q >> 4 & 3);
            int register = (int)(q >> 8 & 0xF);
            if (accessType != 0 || (cr != 0 && cr != 4))
                return Stop(ref c, "an intercepted control-register access that is not MOV to CR0 or CR4");
            ulong value = GeneralRegister(ref c, register);
            var caps = PartitionHost.Capabilities;
            if (cr == 0)
            {
                ulong required = caps.Cr0Fixed0 & ~(1UL | 1UL << 31);
                c.Write(VmcsField.Cr0ReadShadow, value);
                c.Write(VmcsField.GuestCr0, VmxRoot.ApplyFixedBits(value, required, caps.Cr0Fixed1));
                ulong efer = c.Read(VmcsField.GuestEfer);
                bool paging = (value & (1UL << 31)) != 0;
                bool lme = (efer & (1UL << 8)) != 0;
                ulong entry = c.Read(VmcsField.VmEntryControls);
                if (paging && lme)
                {
                    c.Write(VmcsField.GuestEfer, efer | 1UL << 10);
                    c.Write(VmcsField.VmEntryControls, entry | VmxControls.EntryIa32eModeGuest);
                }
                else if (!paging)
                {
                    c.Write(VmcsField.GuestEfer, efer & ~(1UL << 10));
                    c.Write(VmcsField.VmEntryControls, entry & ~(ulong)VmxControls.EntryIa32eModeGuest);
                }
            }
            else
            {
                c.Write(VmcsField.Cr4ReadShadow, value);
                c.Write(VmcsField.GuestCr4, VmxRoot.ApplyFixedBits(value, caps.Cr4Fixed0, caps.Cr4Fixed1));
            }
            AdvanceRip(ref c);
            return ExitAction.Resume;
        }

        // Register numbering of the exit qualification: 0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, ...
        private static ulong GeneralRegister(ref ExitContext c, int n)
        {
            GuestRegisters* r = c.Vcpu.Registers;
            return n switch
            {
                0 => r->Rax, 1 => r->Rcx, 2 => r->Rdx, 3 => r->Rbx, 4 => c.Read(VmcsField.GuestRsp), 5 => r->Rbp,
                6 => r->Rsi, 7 => r->Rdi, 8 => r->R8, 9 => r->R9, 10 => r->R10, 11 => r->R11,
                12 => r->R12, 13 => r->R13, 14 => r->R14, _ => r->R15,
            };
        }

        /// <summary>
        /// An access the EPT does not allow. Bits 3-5 of the qualification say what the address
        /// may be used for (SDM Vol. 3C, table 28-7): none at all is an address outside the
        /// partition's memory; some is a shared region used beyond its declared access.
        /// </summary>
        private static ExitAction EptViolation(ref ExitContext c)
        {
            InterruptInjection.ReinjectInterrupted(c.Vcpu);
            ulong q = ReadQualification(ref c);
            if ((q & 0x38) == 0)
            {
                // Not mapped at all: one of its own memory-mapped virtual devices, or outside it.
                ulong address = c.Read(VmcsField.GuestPhysicalAddress);
                var device = MmioEmulation.Find(c.Vcpu, address, out ulong offset);
                if ((q & 4) == 0 && device != MmioEmulation.Device.None)
                {
                    string failed = MmioEmulation.Emulate(ref c, device, offset);
                    return failed == null ? ExitAction.Resume : Stop(ref c, failed);
                }
                return Stop(ref c, "EPT violation: an access outside the partition's memory");
            }
            return Stop(ref c, (q & 2) != 0 ? "EPT violation: a write to shared memory it may only read"
                : (q & 4) != 0 ? "EPT violation: an instruction fetch from shared memory (never executable)"
                : "EPT violation: an access to shared memory it is not allowed");
        }
    }
}
