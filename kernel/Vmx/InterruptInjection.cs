namespace Partition.Kernel
{
    /// <summary>
    /// Delivers a vCPU's virtual interrupts by event injection (SDM Vol. 3C, 27.6 "Event
    /// Injection"): before each VM entry, the highest-priority interrupt its local APIC
    /// presents is injected if the guest can take it now (RFLAGS.IF set, no STI or MOV-SS
    /// blocking), otherwise an interrupt window is asked for (26.7.5) and the exit it causes
    /// comes back here. NMIs go first, with NMI-window exiting under virtual NMIs. An event
    /// whose delivery a VM exit interrupted is injected again (28.2.4, IDT-vectoring).
    /// Runs with the vCPU's VMCS current on this CPU.
    /// </summary>
    public static unsafe class InterruptInjection
    {
        private const uint Valid = 1u << 31;
        private const uint TypeNmi = 2u << 8;
        private const uint DeliverErrorCode = 1u << 11;
        private const ulong RflagsIf = 1UL << 9;

        // Guest interruptibility state (SDM Vol. 3C, table 25-3).
        private const ulong BlockingBySti = 1, BlockingByMovSs = 2, BlockingByNmi = 8;

        /// <summary>
        /// Before an entry: takes in what other vCPUs posted to the local APIC, fires its timer
        /// if due, and injects or asks for a window. When the VM-entry interruption field already
        /// holds an event (<see cref="VirtualCpu.EntryEventPending"/>: an exit handler's
        /// exception, a re-injection, or this injection from an entry that did not happen)
        /// nothing else may be injected this time, only a window asked for. Returns false when
        /// the vCPU must not be entered (an INIT parked it).
        /// </summary>
        public static bool BeforeEntry(VirtualCpu vcpu, ulong now)
        {
            var lapic = vcpu.Lapic;
            if (lapic.HasIncoming)
            {
                lapic.MergeIncoming(out bool init, out _);
                if (init)
                {
                    // A start-up IPI to a running CPU is ignored (SDM Vol. 3A, 9.4.4.1); an INIT stops it.
                    vcpu.Init();
                    return false;
                }
            }
            lapic.UpdateTimer(vcpu.GuestTsc(now));
            if (!lapic.HasPending)
            {
                // The common case: nothing to deliver, and no window was asked for.
                if (vcpu.InterruptWindowExiting || vcpu.NmiWindowExiting)
                    SetWindows(vcpu, false, false);
                return true;
            }
            bool nmi = lapic.PendingNmi;
            int vector = lapic.DeliverableVector;
            if (!nmi && vector < 0)
            {
                SetWindows(vcpu, false, false);
                return true;
            }
            if (vcpu.EntryEventPending)
            {
                SetWindows(vcpu, vector >= 0, nmi);
                return true;
            }
            ulong interruptibility = Vmx.ReadValue(VmcsField.GuestInterruptibilityState);
            if (nmi)
            {
                if ((interruptibility & (BlockingByNmi | BlockingByMovSs | BlockingBySti)) == 0)
                {
                    lapic.PendingNmi = false;
                    Vmx.Write(VmcsField.VmEntryInterruptionInformation, 2 | TypeNmi | Valid);
                    vcpu.EntryEventPending = true;
                    SetWindows(vcpu, vector >= 0, false);
                    return true;
                }
                SetWindows(vcpu, vector >= 0, true);
                return true;
            }
            ulong rflags = Vmx.ReadValue(VmcsField.GuestRflags);
            if ((rflags & RflagsIf) != 0 && (interruptibility & (BlockingBySti | BlockingByMovSs)) == 0)
            {
                lapic.Acknowledge(vector);
                Vmx.Write(VmcsField.VmEntryInterruptionInformation, (uint)vector | Valid);
                vcpu.EntryEventPending = true;
                vcpu.Injected++;
                SetWindows(vcpu, false, false);
                return true;
            }
            SetWindows(vcpu, true, false);
            return true;
        }

        /// <summary>
        /// After an exit that may have interrupted an event's delivery: puts the event back into
        /// the VM-entry fields so that the next entry delivers it (SDM 28.2.4, 27.6), and marks
        /// the field taken (<see cref="VirtualCpu.EntryEventPending"/>). Called by the exit path
        /// after an entry that injected, and by the handlers of the exits that the guest's own
        /// delivery can meet (an exception or NMI, an EPT violation or misconfiguration); a second
        /// call for one exit writes the same fields again.
        /// </summary>
        public static void ReinjectInterrupted(VirtualCpu vcpu)
        {
            ulong info = Vmx.ReadValue(VmcsField.IdtVectoringInformation);
            if ((info & Valid) == 0)
                return;
            vcpu.EntryEventPending = true;
            // Bit 12 is undefined in this field; the entry field has it reserved.
            Vmx.Write(VmcsField.VmEntryInterruptionInformation, info & ~(1UL << 12));
            if ((info & DeliverErrorCode) != 0)
            {
                ulong code = Vmx.ReadValue(VmcsField.IdtVectoringErrorCode);
                Vmx.Write(VmcsField.VmEntryExceptionErrorCode, code);
            }
            uint type = (uint)(info >> 8 & 7);
            if (type == 4 || type == 5 || type == 6)
            {
                // Software interrupts and exceptions: RIP is pushed past the instruction.
                ulong length = Vmx.ReadValue(VmcsField.VmExitInstructionLength);
                Vmx.Write(VmcsField.VmEntryInstructionLength, length);
            }
        }

        // Interrupt- and NMI-window exiting, written only when they change.
        private static void SetWindows(VirtualCpu vcpu, bool interrupt, bool nmi)
        {
            if (vcpu.InterruptWindowExiting == interrupt && vcpu.NmiWindowExiting == nmi)
                return;
            uint controls = vcpu.PrimaryControls & ~(VmxControls.ProcInterruptWindowExiting | VmxControls.ProcNmiWindowExiting);
            if (interrupt)
                controls |= VmxControls.ProcInterruptWindowExiting;
            if (nmi)
                controls |= VmxControls.ProcNmiWindowExiting;
            Vmx.Write(VmcsField.PrimaryProcessorBasedControls, controls);
            vcpu.PrimaryControls = controls;
            vcpu.InterruptWindowExiting = interrupt;
            vcpu.NmiWindowExiting = nmi;
        }
    }
}
