namespace Partition.Kernel
{
    /// <summary>Why VMX root operation could not be entered.</summary>
    public enum VmxEnableError
    {
        None,
        /// <summary>CPUID.1:ECX.VMX[bit 5] = 0: the CPU (or the emulator) has no VT-x.</summary>
        NotSupported,
        /// <summary>IA32_FEATURE_CONTROL is locked with VMXON outside SMX disabled: firmware turned VT-x off.</summary>
        DisabledByFirmware,
        /// <summary>VMXON failed (VMfailInvalid): a bad VMXON region, or already in VMX operation.</summary>
        VmxonFailed,
    }

    /// <summary>
    /// Entering VMX root operation on one CPU (SDM Vol. 3C, 24.7 "Enabling and Entering VMX
    /// Operation"): check CPUID, make IA32_FEATURE_CONTROL allow VMXON, bring CR0 and CR4 to
    /// the values IA32_VMX_CR{0,4}_FIXED{0,1} require (CR4.VMXE included), then VMXON with a
    /// region that starts with the VMCS revision identifier.
    /// </summary>
    public static unsafe class VmxRoot
    {
        private const int CpuidVmxBit = 5;
        public const ulong FeatureControlLock = 1UL << 0;
        public const ulong FeatureControlVmxOutsideSmx = 1UL << 2;
        public const ulong Cr4Vmxe = 1UL << 13;

        /// <summary>CPUID.1:ECX.VMX.</summary>
        public static bool IsSupported()
        {
            Cpu.Cpuid(1, 0, out _, out _, out uint ecx, out _);
            return (ecx & (1u << CpuidVmxBit)) != 0;
        }

        /// <summary>
        /// What to write to IA32_FEATURE_CONTROL so that VMXON is allowed outside SMX, or that
        /// it cannot be allowed. Firmware may leave the MSR unlocked; then we lock it with the
        /// bit set (a locked MSR with the bit clear means VT-x was turned off in the firmware).
        /// </summary>
        public static bool TryPrepareFeatureControl(ulong current, out ulong toWrite)
        {
            if ((current & FeatureControlLock) != 0)
            {
                toWrite = current;
                return (current & FeatureControlVmxOutsideSmx) != 0;
            }
            toWrite = current | FeatureControlVmxOutsideSmx | FeatureControlLock;
            return true;
        }

        /// <summary>
        /// A control register value with every bit the FIXED MSRs require: bits set in fixed0
        /// must be 1, bits clear in fixed1 must be 0 (SDM Vol. 3D, A.7 and A.8).
        /// </summary>
        public static ulong ApplyFixedBits(ulong value, ulong fixed0, ulong fixed1) => (value | fixed0) & fixed1;

        /// <summary>Enters VMX root operation on the calling CPU with a fresh VMXON region.</summary>
        public static VmxEnableError Enter(VmxCapabilities capabilities, out ulong vmxonRegion)
        {
            vmxonRegion = 0;
            if (!IsSupported())
                return VmxEnableError.NotSupported;
            vmxonRegion = AllocateRegion(capabilities);
            return EnterWithRegion(capabilities, vmxonRegion);
        }

        /// <summary>
        /// A VMXON region: a zeroed page starting with the revision identifier (bits 30:0; bit 31
        /// must be 0, SDM Vol. 3C, 25.11.5). Allocated by the boot CPU for every CPU, so that a
        /// starting CPU allocates nothing.
        /// </summary>
        public static ulong AllocateRegion(VmxCapabilities capabilities)
        {
            ulong region = PageAllocator.AllocateZeroedPage();
            *(uint*)region = capabilities.RevisionId;
            return region;
        }

        /// <summary>Enters VMX root operation on the calling CPU with a prepared region.</summary>
        public static VmxEnableError EnterWithRegion(VmxCapabilities capabilities, ulong vmxonRegion)
        {
            if (!IsSupported())
                return VmxEnableError.NotSupported;

            ulong featureControl = Cpu.ReadMsr(Msr.FeatureControl);
            if (!TryPrepareFeatureControl(featureControl, out ulong newFeatureControl))
                return VmxEnableError.DisabledByFirmware;
            if (newFeatureControl != featureControl)
                Cpu.WriteMsr(Msr.FeatureControl, newFeatureControl);

            Cpu.WriteCr0(ApplyFixedBits(Cpu.ReadCr0(), capabilities.Cr0Fixed0, capabilities.Cr0Fixed1));
            Cpu.WriteCr4(ApplyFixedBits(Cpu.ReadCr4() | Cr4Vmxe, capabilities.Cr4Fixed0, capabilities.Cr4Fixed1));

            return Vmx.On(vmxonRegion) == VmxInstructionStatus.Succeeded ? VmxEnableError.None : VmxEnableError.VmxonFailed;
        }

        public static string Describe(VmxEnableError error) => error switch
        {
            VmxEnableError.None => "entered",
            VmxEnableError.NotSupported => "VT-x is not available on this CPU (CPUID.1:ECX.VMX[bit 5] = 0)",
            VmxEnableError.DisabledByFirmware => "VT-x is disabled by the firmware (IA32_FEATURE_CONTROL is locked without VMXON outside SMX)",
            VmxEnableError.VmxonFailed => "VMXON failed (VMfailInvalid)",
            _ => "unknown error",
        };
    }
}
