using System;

namespace Partition.Kernel
{
    /// <summary>
    /// The firmware FADT's fixed registers that act on the whole machine (ACPI 6.5, 5.2.9, Table
    /// 5.9): the reset register, the PM1 control blocks (SLP_TYP/SLP_EN: S3, S5) and, on
    /// hardware-reduced platforms, the sleep control register. The host partition sees the
    /// firmware's FADT unchanged (<see cref="HostAcpi"/>), so the hypervisor must trap these
    /// registers to keep a host that reboots or powers off from taking the other partitions
    /// with it. Each is taken as ACPICA takes it (tbfadt.c): the 64-bit X_ form when it is set,
    /// otherwise the ACPI 1.0 port with the block length as its width.
    /// </summary>
    public struct FadtRegisters
    {
        /// <summary>The ACPI 1.0 FADT, the shortest there is; RESET_REG and the X_ fields came with 2.0.</summary>
        public const int Acpi10Length = 116;

        /// <summary>The most ports <see cref="TrappedPorts"/> fills: reset, PM1a and PM1b control, sleep control.</summary>
        public const int MaxTrappedPorts = 4;

        // Field offsets, ACPI 6.5 Table 5.9.
        private const int FirmwareControl = 36, Dsdt32 = 40, SmiCommandOffset = 48, AcpiEnableOffset = 52, AcpiDisableOffset = 53;
        private const int Pm1aControlBlock = 64, Pm1bControlBlock = 68, Pm1ControlLength = 89;
        private const int FlagsOffset = 112, ResetRegisterOffset = 116, ResetValueOffset = 128;
        private const int XFirmwareControl = 132, XDsdt = 140, XPm1aControlBlock = 172, XPm1bControlBlock = 184;
        private const int SleepControlOffset = 244, SleepStatusOffset = 256;

        // Flags, ACPI 6.5 Table 5.10.
        public const uint FlagResetRegisterSupported = 1u << 10;
        public const uint FlagHardwareReduced = 1u << 20;

        public byte Revision { get; private set; }
        public int Length { get; private set; }
        public uint Flags { get; private set; }

        /// <summary>The DSDT's address: X_DSDT when set, else DSDT.</summary>
        public ulong Dsdt { get; private set; }

        /// <summary>The FACS's address: X_FIRMWARE_CTRL when set, else FIRMWARE_CTRL; 0 for none.</summary>
        public ulong Facs { get; private set; }

        /// <summary>SMI_CMD: the port whose write of <see cref="AcpiEnable"/> hands the hardware to the OS (0: already in ACPI mode, or hardware-reduced).</summary>
        public uint SmiCommand { get; private set; }
        public byte AcpiEnable { get; private set; }
        public byte AcpiDisable { get; private set; }

        /// <summary>PM1a_CNT (ACPI 6.5, 4.8.3.2.1): SLP_TYP and SLP_EN put the machine to sleep or off.</summary>
        public AcpiGenericAddress Pm1aControl { get; private set; }

        /// <summary>PM1b_CNT, written with SLP_TYPb together with PM1a; not present on most machines.</summary>
        public AcpiGenericAddress Pm1bControl { get; private set; }

        /// <summary>RESET_REG (ACPI 6.5, 4.8.3.6), valid when <see cref="ResetRegisterSupported"/>: writing <see cref="ResetValue"/> there resets the machine.</summary>
        public AcpiGenericAddress ResetRegister { get; private set; }
        public byte ResetValue { get; private set; }

        /// <summary>SLEEP_CONTROL_REG and SLEEP_STATUS_REG (ACPI 6.5, 4.8.3.7), the hardware-reduced form of PM1 control; FADT revision 5 on.</summary>
        public AcpiGenericAddress SleepControl { get; private set; }
        public AcpiGenericAddress SleepStatus { get; private set; }

        public readonly bool HardwareReduced => (Flags & FlagHardwareReduced) != 0;

        /// <summary>RESET_REG_SUP set in a FADT long enough to hold RESET_REG (Linux's acpi_reboot needs both).</summary>
        public readonly bool ResetRegisterSupported => (Flags & FlagResetRegisterSupported) != 0 && Length > ResetValueOffset;

        /// <summary>
        /// Parses a FADT from its header on (its first 512 bytes are enough: every field read lies
        /// below 280); returns null, or why it cannot be read.
        /// </summary>
        public static string TryParse(ReadOnlySpan<byte> fadt, out FadtRegisters registers)
        {
            registers = default;
            if (fadt.Length < Acpi10Length || HostAcpi.U32(fadt, 4) < Acpi10Length)
                return "the firmware's FADT is shorter than ACPI 1.0's 116 bytes";
            // Fields are present as far as the table's length says and the caller read.
            uint declared = HostAcpi.U32(fadt, 4);
            if (declared < (uint)fadt.Length)
                fadt = fadt.Slice(0, (int)declared);
            var r = new FadtRegisters
            {
                Revision = fadt[8],
                Length = declared > int.MaxValue ? int.MaxValue : (int)declared,
                Flags = HostAcpi.U32(fadt, FlagsOffset),
                SmiCommand = HostAcpi.U32(fadt, SmiCommandOffset),
                AcpiEnable = fadt[AcpiEnableOffset],
                AcpiDisable = fadt[AcpiDisableOffset],
            };
            r.Dsdt = Wide(fadt, XDsdt, HostAcpi.U32(fadt, Dsdt32));
            r.Facs = Wide(fadt, XFirmwareControl, HostAcpi.U32(fadt, FirmwareControl));
            byte controlLength = fadt[Pm1ControlLength];
            r.Pm1aControl = Block(fadt, XPm1aControlBlock, HostAcpi.U32(fadt, Pm1aControlBlock), controlLength);
            r.Pm1bControl = Block(fadt, XPm1bControlBlock, HostAcpi.U32(fadt, Pm1bControlBlock), controlLength);
            if (fadt.Length > ResetValueOffset)
            {
                r.ResetRegister = AcpiGenericAddress.Read(fadt, ResetRegisterOffset);
                r.ResetValue = fadt[ResetValueOffset];
            }
            if (fadt.Length >= SleepStatusOffset + AcpiGenericAddress.Length)
            {
                r.SleepControl = AcpiGenericAddress.Read(fadt, SleepControlOffset);
                r.SleepStatus = AcpiGenericAddress.Read(fadt, SleepStatusOffset);
            }
            registers = r;
            return null;
        }

        /// <summary>
        /// The I/O ports among these registers that the hypervisor must trap for the host
        /// partition: the reset register (when supported), PM1a and PM1b control, the sleep
        /// control register, each where it is in System I/O space. Registers in memory or PCI
        /// configuration space are not ports: see <see cref="ResetRegister"/> and the others.
        /// Returns how many, or -1 if <paramref name="ports"/> holds fewer than needed
        /// (<see cref="MaxTrappedPorts"/> is always enough).
        /// </summary>
        public readonly int TrappedPorts(Span<IoPortRange> ports)
        {
            int count = 0;
            if (ResetRegisterSupported && !Add(ports, ref count, ResetRegister))
                return -1;
            if (!Add(ports, ref count, Pm1aControl) || !Add(ports, ref count, Pm1bControl) || !Add(ports, ref count, SleepControl))
                return -1;
            return count;
        }

        private static bool Add(Span<IoPortRange> ports, ref int count, AcpiGenericAddress register)
        {
            if (!register.IsPresent || !register.IsSystemIo || register.Address > 0xFFFF)
                return true;
            if (count == ports.Length)
                return false;
            int length = register.ByteLength;
            if (register.Address + (ulong)length > 0x10000)
                length = (int)(0x10000 - register.Address);
            ports[count++] = new IoPortRange((ushort)register.Address, length);
            return true;
        }

        // An X_ address when the table is long enough to have it and it is set, else the 32-bit one.
        private static ulong Wide(ReadOnlySpan<byte> fadt, int at, uint narrow)
        {
            ulong wide = fadt.Length >= at + 8 ? HostAcpi.U64(fadt, at) : 0;
            return wide != 0 ? wide : narrow;
        }

        // A PM1 block: its X_ GAS when set (with the length byte as its width if the GAS has
        // none, as ACPICA's acpi_tb_convert_fadt does), else the ACPI 1.0 port.
        private static AcpiGenericAddress Block(ReadOnlySpan<byte> fadt, int extended, uint port, byte length)
        {
            byte width = length >= 32 ? (byte)255 : (byte)(length * 8);
            if (fadt.Length >= extended + AcpiGenericAddress.Length)
            {
                var gas = AcpiGenericAddress.Read(fadt, extended);
                if (gas.IsPresent)
                    return gas.BitWidth != 0 ? gas : new AcpiGenericAddress(gas.SpaceId, width, gas.BitOffset, gas.AccessSize, gas.Address);
            }
            return port == 0 ? default : new AcpiGenericAddress(AcpiGenericAddress.SystemIo, width, 0, 0, port);
        }
    }
}
