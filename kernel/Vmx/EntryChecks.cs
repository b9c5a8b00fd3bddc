namespace Partition.Kernel
{
    /// <summary>
    /// A software check, before VM entry, of the VMX-control, host-state and guest-state rules
    /// that fail most often (SDM Vol. 3C, 27.2 "Checks on VMX Controls and Host-State Area" and
    /// 27.3 "Checking and Loading Guest State"). Each violation is reported by name, so that a
    /// broken VMCS says "guest CS.L set while IA-32e mode guest is off" instead of "VM-entry
    /// failure, exit reason 33". The CPU remains the authority: an entry that passes these and
    /// still fails is reported with its reason and qualification.
    /// </summary>
    public static class EntryChecks
    {
        public const int MaxViolations = 16;

        /// <summary>Checks the current VMCS of <paramref name="cpu"/>; fills <paramref name="violations"/>, returns how many.</summary>
        public static int Run(Vmcs vmcs, int cpu, VmxCapabilities caps, string[] violations)
        {
            var v = new Collector(violations);
            ulong Read(VmcsField f) => vmcs.Read(cpu, f);

            uint pin = (uint)Read(VmcsField.PinBasedControls);
            uint proc = (uint)Read(VmcsField.PrimaryProcessorBasedControls);
            uint proc2 = (proc & VmxControls.ProcActivateSecondary) != 0 ? (uint)Read(VmcsField.SecondaryProcessorBasedControls) : 0;
            uint exit = (uint)Read(VmcsField.VmExitControls);
            uint entry = (uint)Read(VmcsField.VmEntryControls);

            // 27.2.1: controls within the capability MSRs.
            CheckControls(ref v, "pin-based VM-execution controls", pin, caps.PinBased);
            CheckControls(ref v, "primary processor-based VM-execution controls", proc, caps.PrimaryProcessorBased);
            if ((proc & VmxControls.ProcActivateSecondary) != 0)
                CheckControls(ref v, "secondary processor-based VM-execution controls", proc2, caps.SecondaryProcessorBased);
            CheckControls(ref v, "VM-exit controls", exit, caps.Exit);
            CheckControls(ref v, "VM-entry controls", entry, caps.Entry);
            bool unrestricted = (proc2 & VmxControls.Proc2UnrestrictedGuest) != 0;
            bool ept = (proc2 & VmxControls.Proc2EnableEpt) != 0;
            v.Require(!unrestricted || ept, "unrestricted guest is set without enable EPT");
            if (ept)
            {
                ulong eptp = Read(VmcsField.EptPointer);
                v.Require((eptp & 7) == 0 || (eptp & 7) == 6, "EPT pointer memory type is neither UC (0) nor WB (6)");
                v.Require((eptp >> 3 & 7) == 3, "EPT pointer page-walk length is not 4");
            }
            if ((proc & VmxControls.ProcUseIoBitmaps) != 0)
                v.Require((Read(VmcsField.IoBitmapA) & 0xFFF) == 0 && (Read(VmcsField.IoBitmapB) & 0xFFF) == 0, "an I/O bitmap address is not 4 KiB aligned");
            if ((proc & VmxControls.ProcUseMsrBitmaps) != 0)
                v.Require((Read(VmcsField.MsrBitmaps) & 0xFFF) == 0, "the MSR bitmap address is not 4 KiB aligned");

            // 27.2.2 and 27.2.3: host state.
            v.Require((exit & VmxControls.ExitHostAddressSpaceSize) != 0, "host address-space size is clear: the hypervisor runs in 64-bit mode");
            ulong hostCr0 = Read(VmcsField.HostCr0);
            ulong hostCr4 = Read(VmcsField.HostCr4);
            v.Require(VmxRoot.ApplyFixedBits(hostCr0, caps.Cr0Fixed0, caps.Cr0Fixed1) == hostCr0, "host CR0 violates IA32_VMX_CR0_FIXED0/1");
            v.Require(VmxRoot.ApplyFixedBits(hostCr4, caps.Cr4Fixed0, caps.Cr4Fixed1) == hostCr4, "host CR4 violates IA32_VMX_CR4_FIXED0/1");
            v.Require(Read(VmcsField.HostCsSelector) != 0 && (Read(VmcsField.HostCsSelector) & 7) == 0, "host CS selector is null or has RPL/TI bits set");
            v.Require(Read(VmcsField.HostTrSelector) != 0 && (Read(VmcsField.HostTrSelector) & 7) == 0, "host TR selector is null or has RPL/TI bits set");
            v.Require(Canonical(Read(VmcsField.HostTrBase)) && Canonical(Read(VmcsField.HostGdtrBase)) && Canonical(Read(VmcsField.HostIdtrBase)),
                "a host TR, GDTR or IDTR base is not canonical");

            // 27.3.1: guest state.
            bool ia32e = (entry & VmxControls.EntryIa32eModeGuest) != 0;
            ulong cr0 = Read(VmcsField.GuestCr0);
            ulong cr4 = Read(VmcsField.GuestCr4);
            ulong cr0Fixed0 = unrestricted ? caps.Cr0Fixed0 & ~(1UL | 1UL << 31) : caps.Cr0Fixed0;
            v.Require(VmxRoot.ApplyFixedBits(cr0, cr0Fixed0, caps.Cr0Fixed1) == cr0, "guest CR0 violates IA32_VMX_CR0_FIXED0/1");
            v.Require((cr0 & 1UL << 31) == 0 || (cr0 & 1) != 0, "guest CR0.PG is set while CR0.PE is clear");
            v.Require(VmxRoot.ApplyFixedBits(cr4, caps.Cr4Fixed0, caps.Cr4Fixed1) == cr4, "guest CR4 violates IA32_VMX_CR4_FIXED0/1");
            if (ia32e)
            {
                v.Require((cr0 & 1UL << 31) != 0, "IA-32e mode guest is on but guest CR0.PG is clear");
                v.Require((cr4 & 1UL << 5) != 0, "IA-32e mode guest is on but guest CR4.PAE is clear");
            }
            if ((entry & VmxControls.EntryLoadEfer) != 0)
            {
                ulong efer = Read(VmcsField.GuestEfer);
                v.Require(((efer >> 10 & 1) != 0) == ia32e, "guest EFER.LMA differs from the IA-32e mode guest entry control");
                v.Require((cr0 & 1UL << 31) == 0 || ((efer >> 8 & 1) != 0) == ia32e, "guest EFER.LME differs from IA-32e mode guest while paging is on");
            }
            uint csAccess = (uint)Read(VmcsField.GuestCsAccessRights);
            bool csLong = (csAccess & 1u << 13) != 0;
            v.Require(!csLong || ia32e, "guest CS.L set while IA-32e mode guest is off");
            v.Require(!(ia32e && csLong && (csAccess & 1u << 14) != 0), "guest CS.L and CS.D are both set in IA-32e mode");
            v.Require((csAccess & 1u << 16) == 0 && (csAccess & 1u << 7) != 0, "guest CS is unusable or not present");
            uint trAccess = (uint)Read(VmcsField.GuestTrAccessRights);
            v.Require((trAccess & 1u << 16) == 0, "guest TR is unusable");
            v.Require((trAccess & 0xF) == 11 || (!ia32e && (trAccess & 0xF) == 3), "guest TR type is not a busy TSS");
            ulong rflags = Read(VmcsField.GuestRflags);
            v.Require((rflags & 2) != 0 && (rflags & 0xFFFFFFFFFFC08028UL) == 0, "guest RFLAGS bit 1 is clear or a reserved bit is set");
            v.Require(Read(VmcsField.VmcsLinkPointer) == ulong.MaxValue, "the VMCS link pointer is not FFFFFFFF_FFFFFFFFh (no VMCS shadowing is used)");
            v.Require(Read(VmcsField.GuestActivityState) <= 3, "guest activity state is not active, HLT, shutdown or wait-for-SIPI");
            return v.Count;
        }

        private static bool Canonical(ulong address) => (ulong)((long)(address << 16) >> 16) == address;

        private static void CheckControls(ref Collector v, string name, uint value, VmxControlCapability capability)
        {
            // The message is built only for a violation: these checks run at every VM launch.
            if ((value & capability.Allowed0) != capability.Allowed0)
                v.Require(false, string.Concat(name, ": a bit that must be 1 is clear"));
            if ((value & ~capability.Allowed1) != 0)
                v.Require(false, string.Concat(name, ": a bit this CPU does not allow is set"));
        }

        private struct Collector
        {
            private readonly string[] _violations;

            public Collector(string[] violations)
            {
                _violations = violations;
                Count = 0;
            }

            public int Count { get; private set; }

            public void Require(bool condition, string violation)
            {
                if (condition || Count == _violations.Length)
                    return;
                _violations[Count++] = violation;
            }
        }
    }
}
