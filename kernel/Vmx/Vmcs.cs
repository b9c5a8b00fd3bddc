namespace Partition.Kernel
{
    /// <summary>Launch state of a VMCS (SDM Vol. 3C, 25.1 "Overview").</summary>
    public enum VmcsLaunchState
    {
        Clear,
        Launched,
    }

    /// <summary>
    /// Why a VMCS operation did not happen. The first group are refusals by <see cref="Vmcs"/>
    /// itself, before the CPU would fail (or, worse, behave undefinedly); the last two are the
    /// CPU's own failures (for VMfailValid, <see cref="Vmcs.LastInstructionError"/> says why).
    /// </summary>
    public enum VmcsError
    {
        None,
        /// <summary>VMLAUNCH of a launched VMCS (the CPU's error 4): VMCLEAR it first, or VMRESUME.</summary>
        LaunchOnLaunched,
        /// <summary>VMRESUME of a clear VMCS (the CPU's error 5): VMLAUNCH it.</summary>
        ResumeOnClear,
        /// <summary>VMPTRLD of a VMCS still active on another CPU: VMCLEAR it there first (SDM 25.11.1).</summary>
        ActiveOnAnotherCpu,
        /// <summary>VMCLEAR on a CPU other than the one where the VMCS is active: its state is cached there.</summary>
        ClearOnAnotherCpu,
        /// <summary>VMREAD, VMWRITE or VM entry of a VMCS that is not the current VMCS of this CPU.</summary>
        NotCurrent,
        /// <summary>VMWRITE of a VM-exit information field.</summary>
        ReadOnlyField,
        /// <summary>The instruction failed with VMfailInvalid (no current VMCS to hold an error number).</summary>
        FailInvalid,
        /// <summary>The instruction failed with VMfailValid; the VM-instruction error field says why.</summary>
        FailValid,
    }

    /// <summary>
    /// A VMCS and the state the SDM gives it: launch state (clear or launched), the CPU on which
    /// it is active, and whether it is that CPU's current VMCS. Every transition is checked here
    /// against the SDM's rules and refused with a named error before the instruction runs.
    /// </summary>
    public sealed unsafe class Vmcs
    {
        public const int MaxCpus = 64;
        // Each CPU's current VMCS. Made with the first VMCS (Create), so that the class has no
        // static constructor to be checked for at every VMPTRLD.
        private static Vmcs[] s_current;

        private Vmcs(ulong region) { Region = region; }

        /// <summary>Physical address of the 4 KiB VMCS region.</summary>
        public ulong Region { get; }

        public VmcsLaunchState LaunchState { get; private set; } = VmcsLaunchState.Clear;

        /// <summary>The CPU on which this VMCS is active (loaded since its last VMCLEAR), or -1.</summary>
        public int ActiveCpu { get; private set; } = -1;

        /// <summary>The exit reason field after the last VM exit (read once, on the exit path).</summary>
        public ulong LastExitReason { get; private set; }

        /// <summary>The CPU's reason for the last VMfailValid, read from the VM-instruction error field.</summary>
        public VmInstructionError LastInstructionError { get; private set; }

        /// <summary>This CPU's current VMCS, or null.</summary>
        public static Vmcs CurrentOn(int cpu) => s_current?[cpu];

        public bool IsCurrentOn(int cpu) => _currentCpu == cpu;

        // The CPU whose current VMCS this is, or -1: s_current seen from this side, so that the
        // check before every entry is one field.
        private int _currentCpu = -1;

        /// <summary>A new VMCS region stamped with the revision identifier, then VMCLEARed on <paramref name="cpu"/> as the SDM asks before first use.</summary>
        public static VmcsError Create(VmxCapabilities capabilities, int cpu, out Vmcs vmcs)
        {
            s_current ??= new Vmcs[MaxCpus];
            ulong region = PageAllocator.AllocateZeroedPage();
            *(uint*)region = capabilities.RevisionId;
            vmcs = new Vmcs(region);
            return vmcs.Clear(cpu);
        }

        /// <summary>VMCLEAR: writes the VMCS back to memory and makes it clear, inactive and not current.</summary>
        public VmcsError Clear(int cpu)
        {
            if (ActiveCpu != -1 && ActiveCpu != cpu)
                return VmcsError.ClearOnAnotherCpu;
            var status = Vmx.Clear(Region);
            if (status != VmxInstructionStatus.Succeeded)
                return Failed(cpu, status);
            LaunchState = VmcsLaunchState.Clear;
            ActiveCpu = -1;
            if (s_current[cpu] == this)
                s_current[cpu] = null;
            _currentCpu = -1;
            return VmcsError.None;
        }

        /// <summary>VMPTRLD: makes this the current (and active) VMCS of <paramref name="cpu"/>.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public VmcsError Load(int cpu)
        {
            if (ActiveCpu != -1 && ActiveCpu != cpu)
                return VmcsError.ActiveOnAnotherCpu;
            var status = Vmx.PointerLoad(Region);
            if (status != VmxInstructionStatus.Succeeded)
                return Failed(cpu, status);
            ActiveCpu = cpu;
            ref Vmcs current = ref s_current[cpu];
            var previous = current;
            if (previous != this)
            {
                if (previous != null)
                    previous._currentCpu = -1;
                current = this;
                _currentCpu = cpu;
            }
            return VmcsError.None;
        }

        public VmcsError Read(int cpu, VmcsField field, out ulong value)
        {
            value = 0;
            if (!IsCurrentOn(cpu))
                return VmcsError.NotCurrent;
            var status = Vmx.Read(field, out value);
            return status == VmxInstructionStatus.Succeeded ? VmcsError.None : Failed(cpu, status);
        }

        /// <summary>VMREAD for callers that have already made this VMCS current (the exit path).</summary>
        public ulong Read(int cpu, VmcsField field)
        {
            Read(cpu, field, out ulong value);
            return value;
        }

        public VmcsError Write(int cpu, VmcsField field, ulong value)
        {
            if (!IsCurrentOn(cpu))
                return VmcsError.NotCurrent;
            if (field.IsReadOnly)
                return VmcsError.ReadOnlyField;
            var status = Vmx.Write(field, value);
            return status == VmxInstructionStatus.Succeeded ? VmcsError.None : Failed(cpu, status);
        }

        /// <summary>VMLAUNCH; returns None after the next VM exit.</summary>
        public VmcsError Launch(int cpu, GuestRegisters* guest)
        {
            if (LaunchState == VmcsLaunchState.Launched)
                return VmcsError.LaunchOnLaunched;
            return Enter(cpu, guest, launched: false);
        }

        /// <summary>VMRESUME; returns None after the next VM exit.</summary>
        public VmcsError Resume(int cpu, GuestRegisters* guest)
        {
            if (LaunchState == VmcsLaunchState.Clear)
                return VmcsError.ResumeOnClear;
            return Enter(cpu, guest, launched: true);
        }

        /// <summary>VMLAUNCH or VMRESUME, whichever the launch state calls for; returns after the first VM exit.</summary>
        public VmcsError Run(int cpu, GuestRegisters* guest) => Enter(cpu, guest, LaunchState == VmcsLaunchState.Launched);

        /// <summary>
        /// The run loop's entry: VMLAUNCH or VMRESUME, whichever the launch state calls for, then
        /// <paramref name="exited"/> after each VM exit, which handles it and says whether the
        /// guest goes on at once (VMRESUME without returning: the fast path, <see cref="Vmx.Enter(GuestRegisters*, bool, delegate*{ref ExitContext, int}, ref ExitContext)"/>).
        /// Returns None once it has said no.
        /// </summary>
        public VmcsError Run(int cpu, GuestRegisters* guest, delegate*<ref ExitContext, int> exited, ref ExitContext context) =>
            Enter(cpu, guest, LaunchState == VmcsLaunchState.Launched, exited, ref context);

        private VmcsError Enter(int cpu, GuestRegisters* guest, bool launched)
        {
            var context = default(ExitContext);
            return Enter(cpu, guest, launched, &Vmx.ReturnAtOnce, ref context);
        }

        private VmcsError Enter(int cpu, GuestRegisters* guest, bool launched, delegate*<ref ExitContext, int> exited, ref ExitContext context)
        {
            if (_currentCpu != cpu)
                return VmcsError.NotCurrent;
            context.EnteredAgain = false;
            var status = Vmx.Enter(guest, launched, exited, ref context);
            if (status != VmxInstructionStatus.Succeeded)
                return Failed(cpu, status);
            // A VM exit happened. Only an entry that got as far as the guest makes the VMCS
            // launched; a VM-entry failure (exit reason bit 31) leaves it clear (SDM 27.8). An
            // exit after which the guest was entered again came from a successful entry.
            ulong reason = Vmx.ReadValue(VmcsField.ExitReason);
            LastExitReason = reason;
            if (!launched && (context.EnteredAgain || (reason & ExitReasons.EntryFailureBit) == 0))
                LaunchState = VmcsLaunchState.Launched;
            return VmcsError.None;
        }

        private VmcsError Failed(int cpu, VmxInstructionStatus status)
        {
            if (status == VmxInstructionStatus.FailInvalid)
            {
                LastInstructionError = VmInstructionError.None;
                return VmcsError.FailInvalid;
            }
            Vmx.Read(VmcsField.VmInstructionError, out ulong error);
            LastInstructionError = (VmInstructionError)(uint)error;
            return VmcsError.FailValid;
        }

        public static string Describe(VmcsError error) => error switch
        {
            VmcsError.None => "done",
            VmcsError.LaunchOnLaunched => "VMLAUNCH refused: the VMCS is launched (VMCLEAR it first, or VMRESUME)",
            VmcsError.ResumeOnClear => "VMRESUME refused: the VMCS is clear (VMLAUNCH it)",
            VmcsError.ActiveOnAnotherCpu => "VMPTRLD refused: the VMCS is active on another CPU (VMCLEAR it there first)",
            VmcsError.ClearOnAnotherCpu => "VMCLEAR refused: the VMCS is active on another CPU (clear it there)",
            VmcsError.NotCurrent => "refused: the VMCS is not the current VMCS of this CPU (VMPTRLD it first)",
            VmcsError.ReadOnlyField => "VMWRITE refused: the field is VM-exit information (read-only)",
            VmcsError.FailInvalid => "VMfailInvalid",
            VmcsError.FailValid => "VMfailValid",
            _ => "unknown VMCS error",
        };
    }
}
