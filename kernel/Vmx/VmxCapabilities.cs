namespace Partition.Kernel
{
    /// <summary>
    /// A VMX control MSR pair: a control bit may be 0 only if its allowed-0 bit is 0, and may
    /// be 1 only if its allowed-1 bit is 1 (SDM Vol. 3D, A.3 "VM-Execution Controls").
    /// </summary>
    public readonly struct VmxControlCapability
    {
        public VmxControlCapability(ulong msrValue)
        {
            Allowed0 = (uint)msrValue;
            Allowed1 = (uint)(msrValue >> 32);
        }

        /// <summary>Bits that must be 1.</summary>
        public uint Allowed0 { get; }

        /// <summary>Bits that may be 1.</summary>
        public uint Allowed1 { get; }

        public bool CanSet(int bit) => (Allowed1 & (1u << bit)) != 0;
        public bool MustSet(int bit) => (Allowed0 & (1u << bit)) != 0;
    }

    /// <summary>
    /// What the CPU's VMX implementation offers, decoded from the IA32_VMX_* MSRs
    /// (SDM Vol. 3D, appendix A). The TRUE_* control MSRs are used where IA32_VMX_BASIC[55]
    /// says they exist; MSRs that may be absent are read only when a capability bit says they
    /// exist (reading an absent one raises #GP).
    /// </summary>
    public sealed class VmxCapabilities
    {
        // Control bits named by the decode below.
        private const int PinPreemptionTimer = 6;
        private const int ProcActivateSecondary = 31;
        private const int ProcMovDrExiting = 23;
        private const int ProcActivateTertiary = 17;
        private const int Proc2Ept = 1;
        private const int Proc2Vpid = 5;
        private const int Proc2UnrestrictedGuest = 7;
        private const int Proc2Vmfunc = 13;
        private const int Proc2VmcsShadowing = 14;
        private const int Proc2Pml = 17;

        public ulong Basic { get; private set; }
        public ulong Misc { get; private set; }
        public ulong EptVpid { get; private set; }
        public ulong Cr0Fixed0 { get; private set; }
        public ulong Cr0Fixed1 { get; private set; }
        public ulong Cr4Fixed0 { get; private set; }
        public ulong Cr4Fixed1 { get; private set; }
        public VmxControlCapability PinBased { get; private set; }
        public VmxControlCapability PrimaryProcessorBased { get; private set; }
        public VmxControlCapability SecondaryProcessorBased { get; private set; }
        public VmxControlCapability Exit { get; private set; }
        public VmxControlCapability Entry { get; private set; }

        /// <summary>VMCS revision identifier: the first 31 bits of every VMXON region and VMCS.</summary>
        public uint RevisionId => (uint)Basic & 0x7FFFFFFF;

        /// <summary>Bytes to allocate for the VMXON region and each VMCS (at most 4096).</summary>
        public uint RegionSize => (uint)(Basic >> 32) & 0x1FFF;

        /// <summary>Memory type for the VMCS and structures it points to: 6 = write-back.</summary>
        public uint VmcsMemoryType => (uint)(Basic >> 50) & 0xF;

        public bool HasTrueControls => (Basic & (1UL << 55)) != 0;
        public bool ReportsInsOutsInformation => (Basic & (1UL << 54)) != 0;

        public bool HasSecondaryControls => PrimaryProcessorBased.CanSet(ProcActivateSecondary);

        /// <summary>MOV-DR exiting may be set and cleared: the debug registers can be switched lazily (GuestMsrs).</summary>
        public bool MovDrExitingOptional => PrimaryProcessorBased.CanSet(ProcMovDrExiting) && !PrimaryProcessorBased.MustSet(ProcMovDrExiting);
        public bool HasEpt => HasSecondaryControls && SecondaryProcessorBased.CanSet(Proc2Ept);
        public bool HasVpid => HasSecondaryControls && SecondaryProcessorBased.CanSet(Proc2Vpid);
        public bool HasUnrestrictedGuest => HasSecondaryControls && SecondaryProcessorBased.CanSet(Proc2UnrestrictedGuest);
        public bool HasVmcsShadowing => HasSecondaryControls && SecondaryProcessorBased.CanSet(Proc2VmcsShadowing);
        public bool HasPageModificationLog => HasSecondaryControls && SecondaryProcessorBased.CanSet(Proc2Pml);
        public bool HasVmfunc => HasSecondaryControls && SecondaryProcessorBased.CanSet(Proc2Vmfunc);
        public bool HasTertiaryControls => PrimaryProcessorBased.CanSet(ProcActivateTertiary);
        public bool HasPreemptionTimer => PinBased.CanSet(PinPreemptionTimer);

        /// <summary>The preemption timer counts down once every 2^rate TSC ticks (IA32_VMX_MISC[4:0]).</summary>
        public int PreemptionTimerRate => (int)(Misc & 0x1F);

        // IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D, A.10).
        public bool EptExecuteOnly => (EptVpid & (1UL << 0)) != 0;
        public bool EptPageWalkLength4 => (EptVpid & (1UL << 6)) != 0;
        public bool EptUncacheable => (EptVpid & (1UL << 8)) != 0;
        public bool EptWriteBack => (EptVpid & (1UL << 14)) != 0;
        public bool EptLargePages2M => (EptVpid & (1UL << 16)) != 0;
        public bool EptLargePages1G => (EptVpid & (1UL << 17)) != 0;
        public bool HasInvept => (EptVpid & (1UL << 20)) != 0;
        public bool EptAccessedDirty => (EptVpid & (1UL << 21)) != 0;
        public bool InveptSingleContext => (EptVpid & (1UL << 25)) != 0;
        public bool InveptAllContext => (EptVpid & (1UL << 26)) != 0;
        public bool HasInvvpid => (EptVpid & (1UL << 32)) != 0;
        public bool InvvpidSingleContext => (EptVpid & (1UL << 41)) != 0;

        /// <summary>
        /// VPIDs are used only with what keeping them coherent needs: INVVPID single-context,
        /// and INVEPT single-context for the EPT-tagged mappings (SDM Vol. 3C, 29.4.3).
        /// </summary>
        public bool UsesVpid => HasVpid && HasInvvpid && InvvpidSingleContext && HasInvept && InveptSingleContext;

        /// <summary>Reads every VMX capability MSR that this CPU says it has.</summary>
        public static VmxCapabilities Read()
        {
            var c = new VmxCapabilities();
            c.Basic = Cpu.ReadMsr(Msr.VmxBasic);
            bool useTrue = c.HasTrueControls;
            c.PinBased = new VmxControlCapability(Cpu.ReadMsr(useTrue ? Msr.VmxTruePinbasedCtls : Msr.VmxPinbasedCtls));
            c.PrimaryProcessorBased = new VmxControlCapability(Cpu.ReadMsr(useTrue ? Msr.VmxTrueProcbasedCtls : Msr.VmxProcbasedCtls));
            c.Exit = new VmxControlCapability(Cpu.ReadMsr(useTrue ? Msr.VmxTrueExitCtls : Msr.VmxExitCtls));
            c.Entry = new VmxControlCapability(Cpu.ReadMsr(useTrue ? Msr.VmxTrueEntryCtls : Msr.VmxEntryCtls));
            c.Misc = Cpu.ReadMsr(Msr.VmxMisc);
            c.Cr0Fixed0 = Cpu.ReadMsr(Msr.VmxCr0Fixed0);
            c.Cr0Fixed1 = Cpu.ReadMsr(Msr.VmxCr0Fixed1);
            c.Cr4Fixed0 = Cpu.ReadMsr(Msr.VmxCr4Fixed0);
            c.Cr4Fixed1 = Cpu.ReadMsr(Msr.VmxCr4Fixed1);
            if (c.HasSecondaryControls)
                c.SecondaryProcessorBased = new VmxControlCapability(Cpu.ReadMsr(Msr.VmxProcbasedCtls2));
            // IA32_VMX_EPT_VPID_CAP exists only if EPT or VPID can be enabled (SDM Vol. 3D, A.10).
            if (c.HasEpt || c.HasVpid)
                c.EptVpid = Cpu.ReadMsr(Msr.VmxEptVpidCap);
            return c;
        }

        /// <summary>Prints the capability report, one "VMX:" line per topic.</summary>
        public void Print()
        {
            var o = new ReportLine();
            o.Start("VMCS revision ");
            HypervisorConsole.WriteHex(RevisionId, 8);
            HypervisorConsole.Write(", region ");
            HypervisorConsole.WriteDecimal((ulong)RegionSize);
            HypervisorConsole.Write(" bytes, memory type ");
            HypervisorConsole.Write(VmcsMemoryType == 6 ? "write-back" : VmcsMemoryType == 0 ? "uncacheable" : "other");
            HypervisorConsole.Write(", TRUE controls ");
            HypervisorConsole.Write(HasTrueControls ? "yes" : "no");
            HypervisorConsole.WriteLine();

            Controls("pin-based controls", PinBased);
            Controls("primary processor-based controls", PrimaryProcessorBased);
            if (HasSecondaryControls)
                Controls("secondary processor-based controls", SecondaryProcessorBased);
            else
                HypervisorConsole.WriteLine("VMX: secondary processor-based controls: none");
            Controls("VM-exit controls", Exit);
            Controls("VM-entry controls", Entry);

            o.Start("EPT ");
            if (HasEpt)
            {
                HypervisorConsole.Write("yes (");
                o.Item(EptPageWalkLength4, "4-level walk");
                o.Item(EptWriteBack, "WB");
                o.Item(EptUncacheable, "UC");
                o.Item(EptLargePages2M, "2 MiB pages");
                o.Item(EptLargePages1G, "1 GiB pages");
                o.Item(EptExecuteOnly, "execute-only");
                o.Item(EptAccessedDirty, "accessed/dirty flags");
                o.Item(HasInvept, "INVEPT");
                o.Item(InveptSingleContext, "single-context");
                o.Item(InveptAllContext, "all-context");
                HypervisorConsole.Write(")");
            }
            else
            {
                HypervisorConsole.Write("no");
            }
            HypervisorConsole.Write(", VPID ");
            HypervisorConsole.Write(HasVpid ? (HasInvvpid ? "yes (INVVPID)" : "yes") : "no");
            HypervisorConsole.Write(", EPT/VPID capability MSR ");
            HypervisorConsole.WriteHex(EptVpid, 16);
            HypervisorConsole.WriteLine();

            o.Start("unrestricted guest ");
            HypervisorConsole.Write(HasUnrestrictedGuest ? "yes" : "no");
            HypervisorConsole.Write(", VMCS shadowing ");
            HypervisorConsole.Write(HasVmcsShadowing ? "yes" : "no");
            HypervisorConsole.Write(", PML ");
            HypervisorConsole.Write(HasPageModificationLog ? "yes" : "no");
            HypervisorConsole.Write(", VMFUNC ");
            HypervisorConsole.Write(HasVmfunc ? "yes" : "no");
            HypervisorConsole.WriteLine();

            o.Start("preemption timer ");
            if (HasPreemptionTimer)
            {
                HypervisorConsole.Write("yes, one tick per 2^");
                HypervisorConsole.WriteDecimal((ulong)PreemptionTimerRate);
                HypervisorConsole.Write(" TSC cycles");
            }
            else
            {
                HypervisorConsole.Write("no");
            }
            HypervisorConsole.WriteLine();

            o.Start("CR0 fixed0 ");
            HypervisorConsole.WriteHex(Cr0Fixed0, 8);
            HypervisorConsole.Write(" fixed1 ");
            HypervisorConsole.WriteHex(Cr0Fixed1, 8);
            HypervisorConsole.Write(", CR4 fixed0 ");
            HypervisorConsole.WriteHex(Cr4Fixed0, 8);
            HypervisorConsole.Write(" fixed1 ");
            HypervisorConsole.WriteHex(Cr4Fixed1, 8);
            HypervisorConsole.WriteLine();
        }

        private static void Controls(string name, VmxControlCapability capability)
        {
            HypervisorConsole.Write("VMX: ");
            HypervisorConsole.Write(name);
            HypervisorConsole.Write(": must be 1 ");
            HypervisorConsole.WriteHex(capability.Allowed0, 8);
            HypervisorConsole.Write(", may be 1 ");
            HypervisorConsole.WriteHex(capability.Allowed1, 8);
            HypervisorConsole.WriteLine();
        }

        // Writes "VMX: " line starts and comma-separated lists of present features.
        private struct ReportLine
        {
            private bool _any;

            public void Start(string text)
            {
                _any = false;
                HypervisorConsole.Write("VMX: ");
                HypervisorConsole.Write(text);
            }

            public void Item(bool present, string name)
            {
                if (!present)
                    return;
                if (_any)
                    HypervisorConsole.Write(", ");
                HypervisorConsole.Write(name);
                _any = true;
            }
        }
    }
}
