namespace Partition.Kernel
{
    /// <summary>
    /// The virtual machine a partition's ACPI tables describe (<see cref="AcpiTables"/>): its
    /// vCPUs, its I/O APIC, its UART and the ports of the sleep and reset registers the
    /// hypervisor emulates. Start from <see cref="Create"/>, which fills in the defaults, and
    /// change fields as the partition's configuration says.
    /// </summary>
    public struct AcpiPlatform
    {
        /// <summary>Where the I/O APIC's registers appear, as on PCs (82093AA data sheet, 3.0).</summary>
        public const uint DefaultIoApicAddress = 0xFEC00000;

        /// <summary>Where every local APIC appears in xAPIC mode (SDM Vol. 3A, 11.4.1); MADT offset 36.</summary>
        public const uint LocalApicAddress = 0xFEE00000;

        /// <summary>
        /// Default ports of the FADT's SLEEP_CONTROL_REG, SLEEP_STATUS_REG and RESET_REG: free on
        /// PCs (0x600-0x6FF is not a legacy ISA range), and unlike QEMU's 0xB2 or 0xCF9 never
        /// claimed by a chipset driver.
        /// </summary>
        public const ushort DefaultSleepControlPort = 0x600;
        public const ushort DefaultSleepStatusPort = 0x601;
        public const ushort DefaultResetPort = 0x604;
        public const byte DefaultResetValue = 1;

        /// <summary>
        /// Default base of the ACPI PM timer's four ports (FADT PM_TMR_BLK): after the sleep and
        /// reset registers, where QEMU's PIIX4 and ICH9 put theirs too (PM base 0x600 + 8).
        /// </summary>
        public const ushort DefaultPmTimerPort = 0x608;

        /// <summary>
        /// SLP_TYP of the soft-off state S5, the first integer of \_S5 (ACPI 6.4, 7.4.2). Any
        /// value 0-7 would do: the sleep control register has three bits for it.
        /// </summary>
        public const byte DefaultSoftOffSleepType = 5;

        /// <summary>
        /// The UART's interrupt: ISA IRQ 4 as on a PC's COM1, on I/O APIC pin 4 with no
        /// Interrupt Source Override (ISA IRQs map to the same GSI unless overridden, ACPI 6.4,
        /// 5.2.12.5).
        /// </summary>
        public const byte UartGsi = 4;

        /// <summary>
        /// I/O APIC redirection entries (pins), as on the 82093AA: GSIs 0-23. The MADT does not
        /// carry the count; the OS reads it from the I/O APIC's version register (bits 23:16
        /// hold 23), so the virtual I/O APIC must report this.
        /// </summary>
        public const int IoApicPins = 24;

        // Bits of the sleep control and status registers (ACPI 6.4, 4.8.3.7).
        public const byte SleepTypeShift = 2;
        public const byte SleepTypeMask = 0x1C;
        public const byte SleepEnable = 0x20;
        public const byte WakeStatus = 0x80;

        /// <summary>vCPUs, 1 or more; vCPU i has local APIC ID i and ACPI processor UID i, vCPU 0 boots.</summary>
        public int VcpuCount;

        /// <summary>Whether the partition has the virtual I/O APIC (MADT type 1, GSIs 0-23).</summary>
        public bool HasIoApic;

        public uint IoApicAddress;

        /// <summary>The base of the partition's 16550 (eight ports), or 0 for none.</summary>
        public ushort UartPort;

        public ushort SleepControlPort;
        public ushort SleepStatusPort;
        public ushort ResetPort;
        public byte ResetValue;
        public byte SoftOffSleepType;

        /// <summary>
        /// The base of the partition's ACPI PM timer (four ports, <c>VirtualPmTimer</c>), or 0
        /// for none. The FADT names it in PM_TMR_BLK and X_PM_TMR_BLK, although it is
        /// hardware-reduced: see <see cref="AcpiTables"/> for why.
        /// </summary>
        public ushort PmTimerPort;

        /// <summary>A platform with the defaults: an I/O APIC at 0xFEC00000, sleep registers at 0x600/0x601, reset at 0x604, the PM timer at 0x608.</summary>
        public static AcpiPlatform Create(int vcpuCount, ushort uartPort) => new AcpiPlatform
        {
            VcpuCount = vcpuCount,
            HasIoApic = true,
            IoApicAddress = DefaultIoApicAddress,
            UartPort = uartPort,
            SleepControlPort = DefaultSleepControlPort,
            SleepStatusPort = DefaultSleepStatusPort,
            ResetPort = DefaultResetPort,
            ResetValue = DefaultResetValue,
            SoftOffSleepType = DefaultSoftOffSleepType,
            PmTimerPort = DefaultPmTimerPort,
        };

        public readonly bool HasUart => UartPort != 0;

        public readonly bool HasPmTimer => PmTimerPort != 0;

        /// <summary>
        /// The I/O APIC's ID: the vCPU count, the first ID no local APIC has. The MADT field is
        /// one byte, so from 256 vCPUs on it stays at 255 and equals the x2APIC ID of vCPU 255;
        /// a 64-bit Linux only keeps I/O APIC IDs apart from each other (io_apic_unique_id),
        /// so that does no harm. The virtual I/O APIC's ID register must report the same.
        /// </summary>
        public readonly byte IoApicId => VcpuCount < 255 ? (byte)VcpuCount : (byte)255;

        /// <summary>
        /// Whether a byte the guest wrote to the sleep control register asks for soft-off: SLP_EN
        /// set and SLP_TYP equal to \_S5's (ACPI 6.4, 4.8.3.7; Linux writes exactly this,
        /// acpi_hw_extended_sleep).
        /// </summary>
        public readonly bool IsSoftOffRequest(byte sleepControlValue) =>
            (sleepControlValue & SleepEnable) != 0 &&
            (sleepControlValue & SleepTypeMask) >> SleepTypeShift == SoftOffSleepType;
    }
}
