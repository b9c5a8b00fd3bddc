namespace Partition.Kernel
{
    /// <summary>
    /// One vCPU's share of the MSRs and debug registers a 64-bit OS owns that the VMCS does
    /// not switch: the SYSCALL MSRs (STAR, LSTAR, FMASK), KERNEL_GS_BASE and TSC_AUX, and
    /// DR0–DR3 and DR6. The hypervisor itself uses none of them, so they stay in the processor
    /// while the vCPU's core runs only it, and are saved and loaded here when the core switches
    /// to another vCPU or the vCPU leaves the core (lazy switching: the exit path pays
    /// nothing). XCR0 and the AVX registers are switched the same way
    /// (<see cref="XsaveSupport"/>). Also the values of the MSRs the hypervisor emulates for it.
    /// </summary>
    /// <remarks>
    /// The guest reads the MSRs directly (<see cref="MsrPolicy.AllowList"/>) and writes
    /// KERNEL_GS_BASE directly too (an OS changes it at its own context switches), and the
    /// debug registers once it has used them (<see cref="DebugRegistersInUse"/>). Its writes
    /// of STAR, LSTAR, FMASK and TSC_AUX, which an OS makes once per CPU at boot, exit and
    /// are checked and carried out here (<see cref="Write"/>), so their values here are always
    /// the processor's: a switch reads none of them back, and writes only those that differ
    /// between the two vCPUs (none when partitions run the same kernel, or none of them uses
    /// SYSCALL).
    /// </remarks>
    public sealed unsafe class GuestMsrs
    {
        // The switched MSRs' values, as fields (no bounds checks: this runs at every switch).
        // _tscAux is the passed-through TSC_AUX; TscAux below the emulated one (no such MSR in the host).
        private ulong _star, _lstar, _fmask, _kernelGsBase, _tscAux;

        // DR0-DR3 and DR6 in the order arch_read/write_debug_registers take them.
        [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
        private struct DebugRegisters
        {
            public ulong Dr0, Dr1, Dr2, Dr3, Dr6;
        }

        private DebugRegisters _debug;

        // The vCPU's XSAVE area (in its GuestRegisters): where its AVX state is kept while
        // another vCPU has the processor. Null: no AVX state is switched (host tests).
        private readonly byte* _xsaveArea;

        /// <summary>Without an XSAVE area: no AVX state is switched.</summary>
        public GuestMsrs() : this(null) { }

        public GuestMsrs(byte* xsaveArea)
        {
            _xsaveArea = xsaveArea;
            Reset();
        }

        // Whether the processor's AVX state is switched with this vCPU's values.
        private bool SwitchesAvx => _xsaveArea != null && (XsaveSupport.GuestMask & XsaveSupport.Avx) != 0;

        /// <summary>IA32_MISC_ENABLE as the guest sees it: fast strings; no branch trace store or PEBS.</summary>
        public ulong MiscEnable;

        /// <summary>IA32_MTRR_DEF_TYPE: MTRRs enabled, everything write-back (EPT decides the real memory type).</summary>
        public ulong MtrrDefaultType;

        /// <summary>IA32_CSTAR, which Intel processors never use (SYSCALL in compatibility mode is #UD): kept here, never loaded.</summary>
        public ulong Cstar;

        /// <summary>XCR0 as the guest set it with XSETBV (1 after reset: x87 only); the processor's while the vCPU owns its core.</summary>
        public ulong Xcr0 { get; private set; }

        // The number of this vCPU's setup (GuestMsrSetups): equal numbers, nothing to compare at a switch.
        private ulong _setup;

        // STAR, LSTAR, FMASK, TSC_AUX, XCR0 or the debug registers' use changed: a new number.
        private void SetupChanged() =>
            _setup = GuestMsrSetups.Change(_setup, _star, _lstar, _fmask, _tscAux, Xcr0,
                shareable: !DebugRegistersInUse && (Xcr0 & XsaveSupport.Avx) == 0);

        /// <summary>IA32_TSC_ADJUST: the vCPU's TSC offset (<see cref="VirtualCpu.TscOffset"/>).</summary>
        public ulong TscAdjust;

        /// <summary>IA32_TSC_AUX when the host has no such MSR (no RDTSCP or RDPID is then offered either).</summary>
        public ulong TscAux;

        /// <summary>
        /// As at power-on (a partition's start or restart): the switched MSRs 0, debug registers
        /// as after reset, MISC_ENABLE and MTRR_DEF_TYPE at their defaults, XCR0 = 1 (x87 only).
        /// IA32_TSC_ADJUST is the caller's (it goes with the vCPU's TSC offset).
        /// </summary>
        public void Reset()
        {
            _star = _lstar = _fmask = _kernelGsBase = _tscAux = 0;
            MiscEnable = MsrPolicy.MiscEnableFastStrings | MsrPolicy.MiscEnableBtsUnavailable | MsrPolicy.MiscEnablePebsUnavailable;
            MtrrDefaultType = MsrPolicy.MtrrEnable | MsrPolicy.MemoryTypeWriteBack;
            Cstar = TscAux = 0;
            Xcr0 = XsaveSupport.X87;
            Init();
            SetupChanged();
        }

        /// <summary>
        /// As after INIT: "the internal caches, MSRs, MTRRs, and x87 FPU state are left
        /// unchanged" (SDM Vol. 3A, 10.1), and so is XCR0; the debug registers are reset (DR0-DR3
        /// 0, DR6 0xFFFF0FF0; table 10-1).
        /// </summary>
        public void Init()
        {
            _debug = new DebugRegisters { Dr6 = 0xFFFF0FF0 };
            LoadPending = true;
        }

        /// <summary>
        /// Set by <see cref="Reset"/> and <see cref="Init"/>: the values here are newer than the
        /// processor's, even on a core whose processor already holds this vCPU's (an INIT while
        /// it owned them), so the next run must load them rather than keep what is there.
        /// </summary>
        public bool LoadPending { get; private set; }

        /// <summary>
        /// Reads the vCPU's values out of the processor (it is leaving it, or another vCPU
        /// comes): those the guest writes without an exit, and its AVX state if its XCR0 has
        /// AVX (XSAVE of what XCR0 enables). STAR, LSTAR, FMASK and TSC_AUX need no read (their
        /// writes exit: <see cref="Write"/>), nor does XCR0 (XSETBV always exits: <see cref="SetXcr0"/>).
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Save()
        {
            _kernelGsBase = Cpu.ReadMsr(MsrPolicy.KernelGsBase);
            if (DebugRegistersInUse)
            {
                fixed (ulong* debug = &_debug.Dr0)
                    Cpu.ReadDebugRegisters(debug);
            }
            else
                _debug.Dr6 = Cpu.ReadDr6();
            if ((Xcr0 & XsaveSupport.Avx) != 0 && SwitchesAvx)
                Cpu.SaveAvx(_xsaveArea);
        }

        /// <summary>
        /// Whether the guest has used its debug registers (a MOV to or from any of them, which
        /// exits until then: VmcsSetup sets MOV-DR exiting, <see cref="UseDebugRegisters"/> ends
        /// it). Until it has, DR0-DR3 are not switched: the guest cannot read them without that
        /// exit, and its DR7 (in the VMCS, written only by a MOV to DR7) enables no breakpoint,
        /// so whatever another vCPU left there neither shows nor fires. DR6 is switched always:
        /// a #DB in the guest (single-step, INT1) sets it.
        /// </summary>
        public bool DebugRegistersInUse { get; private set; }

        /// <summary>
        /// The guest's first MOV to or from a debug register (the processor holds this vCPU's
        /// state): its DR0-DR3 into the processor, where DR6 is its own already. From now on all
        /// five are switched, and the caller stops MOV-DR exiting.
        /// </summary>
        public void UseDebugRegisters()
        {
            _debug.Dr6 = Cpu.ReadDr6();
            fixed (ulong* debug = &_debug.Dr0)
                Cpu.WriteDebugRegisters(debug);
            DebugRegistersInUse = true;
            SetupChanged();
        }

        /// <summary>
        /// Sets whether the guest's MOV DR exits (a VMCS's controls being written: its start or
        /// restart, when the debug registers are at their reset values): if it does, they count
        /// as unused until <see cref="UseDebugRegisters"/>; if the processor cannot make it exit,
        /// they are switched whole from the start.
        /// </summary>
        public void InterceptDebugRegisters(bool movDrExits)
        {
            DebugRegistersInUse = !movDrExits;
            SetupChanged();
        }

        /// <summary>
        /// The guest's XSETBV of XCR0, checked by the caller (<see cref="XsaveSupport.IsValidXcr0"/>):
        /// into the processor, which holds this vCPU's state. When it turns AVX on, the AVX
        /// registers are loaded from the vCPU's XSAVE area (their initial state if it never had
        /// any): while its XCR0 had no AVX they were left as another vCPU had them.
        /// </summary>
        public void SetXcr0(ulong value)
        {
            bool avxOn = (value & XsaveSupport.Avx) != 0 && (Xcr0 & XsaveSupport.Avx) == 0;
            Cpu.WriteXcr(0, value);
            Xcr0 = value;
            SetupChanged();
            if (avxOn && SwitchesAvx)
                Cpu.RestoreAvx(_xsaveArea);
        }

        /// <summary>
        /// The guest's WRMSR of STAR, LSTAR, FMASK or TSC_AUX, checked by <see cref="MsrPolicy.TryWrite"/>:
        /// kept here and written to the processor, which holds this vCPU's values while it runs.
        /// </summary>
        public void Write(uint msr, ulong value)
        {
            switch (msr)
            {
                case MsrPolicy.Star:
                    _star = value;
                    break;
                case MsrPolicy.Lstar:
                    _lstar = value;
                    break;
                case MsrPolicy.Fmask:
                    _fmask = value;
                    break;
                case MsrPolicy.TscAux:
                    _tscAux = value;
                    break;
                default:
                    return;
            }
            Cpu.WriteMsr(msr, value);
            SetupChanged();
        }

        /// <summary>
        /// Puts the vCPU's values into the processor before it runs there. <paramref name="inProcessor"/>
        /// is the vCPU whose values the processor holds (just saved), or null if unknown: an MSR
        /// that has the same value in both is not written again (partitions running the same
        /// kernel share STAR, LSTAR and FMASK; WRMSR is not cheap on hardware).
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Load(GuestMsrs inProcessor = null)
        {
            bool all = inProcessor == null;
            var held = inProcessor ?? this;
            if (all || held._star != _star)
                Cpu.WriteMsr(MsrPolicy.Star, _star);
            if (all || held._lstar != _lstar)
                Cpu.WriteMsr(MsrPolicy.Lstar, _lstar);
            if (all || held._fmask != _fmask)
                Cpu.WriteMsr(MsrPolicy.Fmask, _fmask);
            if (all || held._kernelGsBase != _kernelGsBase)
                Cpu.WriteMsr(MsrPolicy.KernelGsBase, _kernelGsBase);
            if (MsrPolicy.HostHasTscAux && (all || held._tscAux != _tscAux))
                Cpu.WriteMsr(MsrPolicy.TscAux, _tscAux);
            if (DebugRegistersInUse)
            {
                fixed (ulong* debug = &_debug.Dr0)
                    Cpu.WriteDebugRegisters(debug);
            }
            else if (all || held._debug.Dr6 != _debug.Dr6)
                Cpu.WriteDr6(_debug.Dr6);
            if (XsaveSupport.GuestMask != 0 && (all || held.Xcr0 != Xcr0))
                Cpu.WriteXcr(0, Xcr0);
            // The AVX registers hold the last vCPU's: this one's come back under its own XCR0
            // (without AVX in it they stay unreachable until SetXcr0 turns AVX on and loads them).
            if ((Xcr0 & XsaveSupport.Avx) != 0 && SwitchesAvx)
                Cpu.RestoreAvx(_xsaveArea);
            LoadPending = false;
        }

        /// <summary>
        /// A switch: the processor holds <paramref name="held"/>'s values (another vCPU's), which
        /// are saved (<see cref="Save"/>), and this vCPU's go in, only those that differ
        /// (<see cref="Load"/>). One call at every switch.
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void TakeOver(GuestMsrs held)
        {
            if (!SameSetupAs(held))
            {
                held.Save();
                Load(held);
                return;
            }
            // The common case, Save and Load fused: only what the guest changes without an exit
            // can differ (KERNEL_GS_BASE, DR6).
            ulong kernelGsBase = Cpu.ReadMsr(MsrPolicy.KernelGsBase);
            held._kernelGsBase = kernelGsBase;
            if (kernelGsBase != _kernelGsBase)
                Cpu.WriteMsr(MsrPolicy.KernelGsBase, _kernelGsBase);
            ulong dr6 = Cpu.ReadDr6();
            held._debug.Dr6 = dr6;
            if (dr6 != _debug.Dr6)
                Cpu.WriteDr6(_debug.Dr6);
            LoadPending = false;
        }

        // Whether this vCPU and the one that holds the processor have the same SYSCALL MSRs,
        // TSC_AUX and XCR0 (their writes exit, so these are the processor's), and neither has
        // AVX state to move nor uses its debug registers: then a switch moves only
        // KERNEL_GS_BASE and DR6. One compare (GuestMsrSetups numbers the setups): partitions
        // running one kernel share them.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private bool SameSetupAs(GuestMsrs held) => held._setup == _setup;

        /// <summary>This vCPU's setup number (<see cref="GuestMsrSetups"/>; for tests).</summary>
        internal ulong SetupNumber => _setup;

        /// <summary>The saved value of a switched MSR (for tests and reports).</summary>
        public ulong Saved(uint msr) => msr switch
        {
            MsrPolicy.Star => _star,
            MsrPolicy.Lstar => _lstar,
            MsrPolicy.Fmask => _fmask,
            MsrPolicy.KernelGsBase => _kernelGsBase,
            MsrPolicy.TscAux => _tscAux,
            _ => 0,
        };
    }
}
