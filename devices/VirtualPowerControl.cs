using Partition.Kernel;

namespace Partition.Devices
{
    /// <summary>What a guest asked of its power control.</summary>
    public enum PowerRequest
    {
        None,
        /// <summary>Sleep state S5 (soft off): the partition is done.</summary>
        PowerOff,
        /// <summary>The reset register: the partition boots again.</summary>
        Reset,
    }

    /// <summary>
    /// The power registers a hardware-reduced ACPI platform describes in its FADT (ACPI 6.4,
    /// 4.8.3.6 and 4.8.3.7): the sleep control register, whose write of SLP_EN with the \_S5
    /// sleep type turns the partition off, the sleep status register (WAK_STS, written to
    /// clear before sleeping), and the reset register. One byte-wide I/O port each, where the
    /// partition's <see cref="AcpiPlatform"/> says. What the guest asks is returned to the
    /// caller, which decides for the partition; nothing here reaches the machine's own power
    /// or reset lines.
    /// </summary>
    public sealed class VirtualPowerControl
    {
        private readonly AcpiPlatform _platform;
        private byte _status;

        public VirtualPowerControl(in AcpiPlatform platform) { _platform = platform; }

        public bool Claims(ushort port) => port == _platform.SleepControlPort || port == _platform.SleepStatusPort || port == _platform.ResetPort;

        public uint Read(ushort port) => port == _platform.SleepStatusPort ? _status : 0u;

        public PowerRequest Write(ushort port, uint value)
        {
            byte b = (byte)value;
            if (port == _platform.SleepStatusPort)
            {
                // Write-one-to-clear (ACPI 4.8.3.7).
                _status &= (byte)~(b & AcpiPlatform.WakeStatus);
                return PowerRequest.None;
            }
            if (port == _platform.ResetPort)
                return b == _platform.ResetValue ? PowerRequest.Reset : PowerRequest.None;
            // Only \_S5 is described: another sleep type is not a state the partition has.
            return _platform.IsSoftOffRequest(b) ? PowerRequest.PowerOff : PowerRequest.None;
        }
    }
}
