namespace Partition.Kernel
{
    /// <summary>Width of a VMCS field: bits 14:13 of its encoding (SDM Vol. 3C, 25.11.2).</summary>
    public enum VmcsFieldWidth : uint
    {
        Bits16 = 0,
        Bits64 = 1,
        Bits32 = 2,
        Natural = 3,
    }

    /// <summary>Type of a VMCS field: bits 11:10 of its encoding.</summary>
    public enum VmcsFieldType : uint
    {
        Control = 0,
        /// <summary>VM-exit information: read-only.</summary>
        ExitInformation = 1,
        GuestState = 2,
        HostState = 3,
    }

    /// <summary>
    /// A VMCS field, identified by its encoding, which is computed here from width, type and
    /// index (SDM Vol. 3C, 25.11.2 "VMREAD, VMWRITE, and Encodings of VMCS Fields"; bit 0 = 0
    /// selects full access). This is the one place field numbers come from; a host test checks
    /// every field against the table in SDM Vol. 3D, appendix B.
    /// </summary>
    public readonly struct VmcsField
    {
        public VmcsField(VmcsFieldWidth width, VmcsFieldType type, uint index)
        {
            Encoding = (uint)width << 13 | (uint)type << 10 | index << 1;
        }

        public uint Encoding { get; }
        public VmcsFieldWidth Width => (VmcsFieldWidth)(Encoding >> 13 & 3);
        public VmcsFieldType Type => (VmcsFieldType)(Encoding >> 10 & 3);
        public uint Index => Encoding >> 1 & 0x1FF;
        public bool IsReadOnly => Type == VmcsFieldType.ExitInformation;

        /// <summary>The bits a VMWRITE of this width keeps (natural width is 64 bits in long mode).</summary>
        public ulong WidthMask => Width switch
        {
            VmcsFieldWidth.Bits16 => 0xFFFF,
            VmcsFieldWidth.Bits32 => 0xFFFFFFFF,
            _ => ulong.MaxValue,
        };

        public static VmcsField VirtualProcessorId => new(VmcsFieldWidth.Bits16, VmcsFieldType.Control, 0);
        public static VmcsField PostedInterruptNotificationVector => new(VmcsFieldWidth.Bits16, VmcsFieldType.Control, 1);
        public static VmcsField EptpIndex => new(VmcsFieldWidth.Bits16, VmcsFieldType.Control, 2);
        public static VmcsField GuestEsSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.GuestState, 0);
        public static VmcsField GuestCsSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.GuestState, 1);
        public static VmcsField GuestSsSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.GuestState, 2);
        public static VmcsField GuestDsSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.GuestState, 3);
        public static VmcsField GuestFsSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.GuestState, 4);
        public static VmcsField GuestGsSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.GuestState, 5);
        public static VmcsField GuestLdtrSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.GuestState, 6);
        public static VmcsField GuestTrSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.GuestState, 7);
        public static VmcsField GuestInterruptStatus => new(VmcsFieldWidth.Bits16, VmcsFieldType.GuestState, 8);
        public static VmcsField PmlIndex => new(VmcsFieldWidth.Bits16, VmcsFieldType.GuestState, 9);
        public static VmcsField HostEsSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.HostState, 0);
        public static VmcsField HostCsSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.HostState, 1);
        public static VmcsField HostSsSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.HostState, 2);
        public static VmcsField HostDsSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.HostState, 3);
        public static VmcsField HostFsSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.HostState, 4);
        public static VmcsField HostGsSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.HostState, 5);
        public static VmcsField HostTrSelector => new(VmcsFieldWidth.Bits16, VmcsFieldType.HostState, 6);
        public static VmcsField IoBitmapA => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 0);
        public static VmcsField IoBitmapB => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 1);
        public static VmcsField MsrBitmaps => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 2);
        public static VmcsField VmExitMsrStoreAddress => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 3);
        public static VmcsField VmExitMsrLoadAddress => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 4);
        public static VmcsField VmEntryMsrLoadAddress => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 5);
        public static VmcsField ExecutiveVmcsPointer => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 6);
        public static VmcsField PmlAddress => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 7);
        public static VmcsField TscOffset => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 8);
        public static VmcsField VirtualApicAddress => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 9);
        public static VmcsField ApicAccessAddress => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 10);
        public static VmcsField PostedInterruptDescriptorAddress => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 11);
        public static VmcsField VmFunctionControls => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 12);
        public static VmcsField EptPointer => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 13);
        public static VmcsField EoiExitBitmap0 => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 14);
        public static VmcsField EoiExitBitmap1 => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 15);
        public static VmcsField EoiExitBitmap2 => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 16);
        public static VmcsField EoiExitBitmap3 => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 17);
        public static VmcsField EptpListAddress => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 18);
        public static VmcsField VmreadBitmapAddress => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 19);
        public static VmcsField VmwriteBitmapAddress => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 20);
        public static VmcsField VirtualizationExceptionInformationAddress => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 21);
        public static VmcsField XssExitingBitmap => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 22);
        public static VmcsField TscMultiplier => new(VmcsFieldWidth.Bits64, VmcsFieldType.Control, 25);
        public static VmcsField GuestPhysicalAddress => new(VmcsFieldWidth.Bits64, VmcsFieldType.ExitInformation, 0);
        public static VmcsField VmcsLinkPointer => new(VmcsFieldWidth.Bits64, VmcsFieldType.GuestState, 0);
        public static VmcsField GuestDebugCtl => new(VmcsFieldWidth.Bits64, VmcsFieldType.GuestState, 1);
        public static VmcsField GuestPat => new(VmcsFieldWidth.Bits64, VmcsFieldType.GuestState, 2);
        public static VmcsField GuestEfer => new(VmcsFieldWidth.Bits64, VmcsFieldType.GuestState, 3);
        public static VmcsField GuestPerfGlobalCtrl => new(VmcsFieldWidth.Bits64, VmcsFieldType.GuestState, 4);
        public static VmcsField GuestPdpte0 => new(VmcsFieldWidth.Bits64, VmcsFieldType.GuestState, 5);
        public static VmcsField GuestPdpte1 => new(VmcsFieldWidth.Bits64, VmcsFieldType.GuestState, 6);
        public static VmcsField GuestPdpte2 => new(VmcsFieldWidth.Bits64, VmcsFieldType.GuestState, 7);
        public static VmcsField GuestPdpte3 => new(VmcsFieldWidth.Bits64, VmcsFieldType.GuestState, 8);
        public static VmcsField GuestBndcfgs => new(VmcsFieldWidth.Bits64, VmcsFieldType.GuestState, 9);
        public static VmcsField HostPat => new(VmcsFieldWidth.Bits64, VmcsFieldType.HostState, 0);
        public static VmcsField HostEfer => new(VmcsFieldWidth.Bits64, VmcsFieldType.HostState, 1);
        public static VmcsField HostPerfGlobalCtrl => new(VmcsFieldWidth.Bits64, VmcsFieldType.HostState, 2);
        public static VmcsField PinBasedControls => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 0);
        public static VmcsField PrimaryProcessorBasedControls => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 1);
        public static VmcsField ExceptionBitmap => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 2);
        public static VmcsField PageFaultErrorCodeMask => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 3);
        public static VmcsField PageFaultErrorCodeMatch => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 4);
        public static VmcsField Cr3TargetCount => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 5);
        public static VmcsField VmExitControls => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 6);
        public static VmcsField VmExitMsrStoreCount => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 7);
        public static VmcsField VmExitMsrLoadCount => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 8);
        public static VmcsField VmEntryControls => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 9);
        public static VmcsField VmEntryMsrLoadCount => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 10);
        public static VmcsField VmEntryInterruptionInformation => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 11);
        public static VmcsField VmEntryExceptionErrorCode => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 12);
        public static VmcsField VmEntryInstructionLength => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 13);
        public static VmcsField TprThreshold => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 14);
        public static VmcsField SecondaryProcessorBasedControls => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 15);
        public static VmcsField PleGap => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 16);
        public static VmcsField PleWindow => new(VmcsFieldWidth.Bits32, VmcsFieldType.Control, 17);
        public static VmcsField VmInstructionError => new(VmcsFieldWidth.Bits32, VmcsFieldType.ExitInformation, 0);
        public static VmcsField ExitReason => new(VmcsFieldWidth.Bits32, VmcsFieldType.ExitInformation, 1);
        public static VmcsField VmExitInterruptionInformation => new(VmcsFieldWidth.Bits32, VmcsFieldType.ExitInformation, 2);
        public static VmcsField VmExitInterruptionErrorCode => new(VmcsFieldWidth.Bits32, VmcsFieldType.ExitInformation, 3);
        public static VmcsField IdtVectoringInformation => new(VmcsFieldWidth.Bits32, VmcsFieldType.ExitInformation, 4);
        public static VmcsField IdtVectoringErrorCode => new(VmcsFieldWidth.Bits32, VmcsFieldType.ExitInformation, 5);
        public static VmcsField VmExitInstructionLength => new(VmcsFieldWidth.Bits32, VmcsFieldType.ExitInformation, 6);
        public static VmcsField VmExitInstructionInformation => new(VmcsFieldWidth.Bits32, VmcsFieldType.ExitInformation, 7);
        public static VmcsField GuestEsLimit => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 0);
        public static VmcsField GuestCsLimit => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 1);
        public static VmcsField GuestSsLimit => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 2);
        public static VmcsField GuestDsLimit => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 3);
        public static VmcsField GuestFsLimit => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 4);
        public static VmcsField GuestGsLimit => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 5);
        public static VmcsField GuestLdtrLimit => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 6);
        public static VmcsField GuestTrLimit => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 7);
        public static VmcsField GuestGdtrLimit => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 8);
        public static VmcsField GuestIdtrLimit => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 9);
        public static VmcsField GuestEsAccessRights => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 10);
        public static VmcsField GuestCsAccessRights => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 11);
        public static VmcsField GuestSsAccessRights => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 12);
        public static VmcsField GuestDsAccessRights => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 13);
        public static VmcsField GuestFsAccessRights => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 14);
        public static VmcsField GuestGsAccessRights => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 15);
        public static VmcsField GuestLdtrAccessRights => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 16);
        public static VmcsField GuestTrAccessRights => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 17);
        public static VmcsField GuestInterruptibilityState => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 18);
        public static VmcsField GuestActivityState => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 19);
        public static VmcsField GuestSmbase => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 20);
        public static VmcsField GuestSysenterCs => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 21);
        public static VmcsField VmxPreemptionTimerValue => new(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 23);
        public static VmcsField HostSysenterCs => new(VmcsFieldWidth.Bits32, VmcsFieldType.HostState, 0);
        public static VmcsField Cr0GuestHostMask => new(VmcsFieldWidth.Natural, VmcsFieldType.Control, 0);
        public static VmcsField Cr4GuestHostMask => new(VmcsFieldWidth.Natural, VmcsFieldType.Control, 1);
        public static VmcsField Cr0ReadShadow => new(VmcsFieldWidth.Natural, VmcsFieldType.Control, 2);
        public static VmcsField Cr4ReadShadow => new(VmcsFieldWidth.Natural, VmcsFieldType.Control, 3);
        public static VmcsField Cr3TargetValue0 => new(VmcsFieldWidth.Natural, VmcsFieldType.Control, 4);
        public static VmcsField Cr3TargetValue1 => new(VmcsFieldWidth.Natural, VmcsFieldType.Control, 5);
        public static VmcsField Cr3TargetValue2 => new(VmcsFieldWidth.Natural, VmcsFieldType.Control, 6);
        public static VmcsField Cr3TargetValue3 => new(VmcsFieldWidth.Natural, VmcsFieldType.Control, 7);
        public static VmcsField ExitQualification => new(VmcsFieldWidth.Natural, VmcsFieldType.ExitInformation, 0);
        public static VmcsField IoRcx => new(VmcsFieldWidth.Natural, VmcsFieldType.ExitInformation, 1);
        public static VmcsField IoRsi => new(VmcsFieldWidth.Natural, VmcsFieldType.ExitInformation, 2);
        public static VmcsField IoRdi => new(VmcsFieldWidth.Natural, VmcsFieldType.ExitInformation, 3);
        public static VmcsField IoRip => new(VmcsFieldWidth.Natural, VmcsFieldType.ExitInformation, 4);
        public static VmcsField GuestLinearAddress => new(VmcsFieldWidth.Natural, VmcsFieldType.ExitInformation, 5);
        public static VmcsField GuestCr0 => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 0);
        public static VmcsField GuestCr3 => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 1);
        public static VmcsField GuestCr4 => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 2);
        public static VmcsField GuestEsBase => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 3);
        public static VmcsField GuestCsBase => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 4);
        public static VmcsField GuestSsBase => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 5);
        public static VmcsField GuestDsBase => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 6);
        public static VmcsField GuestFsBase => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 7);
        public static VmcsField GuestGsBase => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 8);
        public static VmcsField GuestLdtrBase => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 9);
        public static VmcsField GuestTrBase => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 10);
        public static VmcsField GuestGdtrBase => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 11);
        public static VmcsField GuestIdtrBase => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 12);
        public static VmcsField GuestDr7 => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 13);
        public static VmcsField GuestRsp => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 14);
        public static VmcsField GuestRip => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 15);
        public static VmcsField GuestRflags => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 16);
        public static VmcsField GuestPendingDebugExceptions => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 17);
        public static VmcsField GuestSysenterEsp => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 18);
        public static VmcsField GuestSysenterEip => new(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 19);
        public static VmcsField HostCr0 => new(VmcsFieldWidth.Natural, VmcsFieldType.HostState, 0);
        public static VmcsField HostCr3 => new(VmcsFieldWidth.Natural, VmcsFieldType.HostState, 1);
        public static VmcsField HostCr4 => new(VmcsFieldWidth.Natural, VmcsFieldType.HostState, 2);
        public static VmcsField HostFsBase => new(VmcsFieldWidth.Natural, VmcsFieldType.HostState, 3);
        public static VmcsField HostGsBase => new(VmcsFieldWidth.Natural, VmcsFieldType.HostState, 4);
        public static VmcsField HostTrBase => new(VmcsFieldWidth.Natural, VmcsFieldType.HostState, 5);
        public static VmcsField HostGdtrBase => new(VmcsFieldWidth.Natural, VmcsFieldType.HostState, 6);
        public static VmcsField HostIdtrBase => new(VmcsFieldWidth.Natural, VmcsFieldType.HostState, 7);
        public static VmcsField HostSysenterEsp => new(VmcsFieldWidth.Natural, VmcsFieldType.HostState, 8);
        public static VmcsField HostSysenterEip => new(VmcsFieldWidth.Natural, VmcsFieldType.HostState, 9);
        public static VmcsField HostRsp => new(VmcsFieldWidth.Natural, VmcsFieldType.HostState, 10);
        public static VmcsField HostRip => new(VmcsFieldWidth.Natural, VmcsFieldType.HostState, 11);
    }
}
