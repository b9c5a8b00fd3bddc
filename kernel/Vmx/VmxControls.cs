namespace Partition.Kernel
{
    /// <summary>
    /// Control bits named by the SDM (Vol. 3C, 25.6-25.8) and their adjustment to what the CPU
    /// allows (SDM Vol. 3D, A.3-A.5): bits the capability says must be 1 are set, bits that may
    /// not be 1 are reported as unsupported and left clear.
    /// </summary>
    public static class VmxControls
    {
        // Pin-based VM-execution controls.
        public const uint PinExternalInterruptExiting = 1u << 0;
        public const uint PinNmiExiting = 1u << 3;
        public const uint PinVirtualNmis = 1u << 5;
        public const uint PinPreemptionTimer = 1u << 6;

        // Primary processor-based VM-execution controls.
        public const uint ProcInterruptWindowExiting = 1u << 2;
        public const uint ProcHltExiting = 1u << 7;
        public const uint ProcMwaitExiting = 1u << 10;
        public const uint ProcRdpmcExiting = 1u << 11;
        public const uint ProcNmiWindowExiting = 1u << 22;
        public const uint ProcMovDrExiting = 1u << 23;
        public const uint ProcMonitorExiting = 1u << 29;
        public const uint ProcUseTscOffsetting = 1u << 3;
        public const uint ProcCr3LoadExiting = 1u << 15;
        public const uint ProcCr3StoreExiting = 1u << 16;
        public const uint ProcUseIoBitmaps = 1u << 25;
        public const uint ProcUseMsrBitmaps = 1u << 28;
        public const uint ProcActivateSecondary = 1u << 31;

        // Secondary processor-based VM-execution controls.
        public const uint Proc2EnableEpt = 1u << 1;
        public const uint Proc2EnableRdtscp = 1u << 3;
        public const uint Proc2WbinvdExiting = 1u << 6;
        public const uint Proc2EnableVpid = 1u << 5;
        public const uint Proc2UnrestrictedGuest = 1u << 7;

        // VM-exit controls.
        public const uint ExitSaveDebugControls = 1u << 2;
        public const uint ExitHostAddressSpaceSize = 1u << 9;
        public const uint ExitAcknowledgeInterrupt = 1u << 15;
        public const uint ExitSavePat = 1u << 18;
        public const uint ExitLoadPat = 1u << 19;
        public const uint ExitSaveEfer = 1u << 20;
        public const uint ExitLoadEfer = 1u << 21;
        /// <summary>Saves the timer's remaining value on exit, so a slice survives the exits inside it.</summary>
        public const uint ExitSavePreemptionTimer = 1u << 22;

        // VM-entry controls.
        public const uint EntryLoadDebugControls = 1u << 2;
        public const uint EntryIa32eModeGuest = 1u << 9;
        public const uint EntryLoadPat = 1u << 14;
        public const uint EntryLoadEfer = 1u << 15;

        /// <summary>
        /// The control value to write for <paramref name="desired"/>: with every must-be-1 bit
        /// set, and without bits the CPU cannot set (returned in <paramref name="unsupported"/>).
        /// </summary>
        public static uint Adjust(VmxControlCapability capability, uint desired, out uint unsupported)
        {
            unsupported = desired & ~capability.Allowed1;
            return (desired | capability.Allowed0) & capability.Allowed1;
        }
    }
}
