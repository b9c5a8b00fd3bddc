using System;

namespace Partition.Kernel
{
    /// <summary>
    /// Writes the ACPI tables a partition's OS reads (ACPI 6.4, chapter 5): RSDP, XSDT, FADT,
    /// MADT and DSDT, one after another in one area of the partition's RAM, each at a 16-byte
    /// aligned guest-physical address, all checksums set.
    ///
    /// The platform is hardware-reduced ACPI (ACPI 6.4, 4.1; FADT flag HW_REDUCED_ACPI): no
    /// PM1/GPE register blocks, no SCI, no FACS. A partition has no PIC, PIT or
    /// HPET (its CMOS RTC has ports but no interrupt: see IAPC_BOOT_ARCH below), and this is
    /// how Linux is told: with the flag set it takes the null legacy PIC and skips the
    /// PIT/HPET timer set-up (arch/x86/kernel/acpi/boot.c, acpi_generic_reduced_hw_init),
    /// installs no SCI handler and no fixed-feature buttons,
    /// and sleeps through SLEEP_CONTROL_REG (hwesleep.c). Each vCPU has a local APIC (x2APIC,
    /// ID = vCPU index) listed in the MADT; one I/O APIC carries the UART's interrupt; the DSDT
    /// declares the UART and \_S5 so that Linux's PNPACPI finds ttyS0 and power-off works.
    ///
    /// The one legacy register it still names is the PM timer, when the platform has one
    /// (<see cref="AcpiPlatform.PmTimerPort"/>): PM_TMR_BLK, PM_TMR_LEN, X_PM_TMR_BLK and
    /// TMR_VAL_EXT. A hardware-reduced OSPM ignores those fields ("If the HW_REDUCED_ACPI flag
    /// in the table is set, OSPM will ignore fields related to the ACPI HW register interface:
    /// Fields at offsets 46 through 108 and 148 through 232, as well as FADT Flag bits 1, 2, 3,
    /// 7, 8, ...", 5.2.9), so they do not contradict the flag; programs that calibrate their
    /// TSC against the timer read them anyway (memtest86+, system/acpi.c parse_fadt, which
    /// looks at no flag), and so does Linux (arch/x86/kernel/acpi/boot.c acpi_parse_fadt takes
    /// X_PM_TMR_BLK whatever the flag, registers the acpi_pm clocksource, rated below the TSC
    /// it keeps, and ACPICA's acpi_tb_convert_fadt returns before checking X blocks on a
    /// hardware-reduced FADT). Dropping the flag instead would make Linux expect a PIC, a PIT,
    /// an SCI and PM1 blocks (acpi_generic_reduced_hw_init would not run).
    ///
    /// Put the area at 0xE0000-0xFFFFF (<see cref="LegacyAreaStart"/>) and the RSDP, first in
    /// it, is also where older kernels scan for it; newer ones take the address from
    /// boot_params.acpi_rsdp_addr. The guest's memory map must not give the area to the OS as
    /// free RAM (E820 reserved or ACPI; Linux also reserves the first MiB on its own).
    /// </summary>
    public static class AcpiTables
    {
        /// <summary>Build's result when the area cannot hold the tables.</summary>
        public const int AreaTooSmall = -1;

        /// <summary>Build's result when the platform is not one the tables can describe (see <see cref="Check"/>).</summary>
        public const int InvalidPlatform = -2;

        /// <summary>The BIOS read-only area an OS scans for the RSDP on 16-byte boundaries (ACPI 6.4, 5.2.5.1).</summary>
        public const ulong LegacyAreaStart = 0xE0000;
        public const ulong LegacyAreaEnd = 0x100000;

        public const string OemId = "PARTN ";
        public const string OemTableId = "PARTITIO";
        public const uint OemRevision = 1;
        public const string CreatorId = "PTHV";
        public const uint CreatorRevision = 1;

        /// <summary>FADT Hypervisor Vendor Identity (ACPI 6.4, 5.2.9: offset 268, eight bytes, no version in it).</summary>
        public const string HypervisorVendorId = "PARTN HV";

        // Sizes and revisions. ACPI 6.4: RSDP 5.2.5.3, header 5.2.6, XSDT 5.2.8, FADT 5.2.9
        // (revision 6, minor 4 for 6.4, 276 bytes), MADT 5.2.12 (revision 5 since 6.3), DSDT
        // 5.2.11.1 (revision 2: integers are 64 bits).
        public const int RsdpLength = 36;
        public const int HeaderLength = 36;
        public const int FadtLength = 276;
        private const byte XsdtRevision = 1;
        private const byte FadtRevision = 6;
        private const byte FadtMinorRevision = 4;
        private const byte MadtRevision = 5;
        private const byte DsdtRevision = 2;
        private const int XsdtEntries = 2; // FADT and MADT; the DSDT is reached through the FADT
        private const int Alignment = 16;

        // MADT (ACPI 6.4, 5.2.12): the local APIC address at 36, flags at 40, entries from 44.
        private const int MadtEntriesOffset = 44;
        private const int LocalApicEntryLength = 8;     // type 0, 5.2.12.2
        private const int IoApicEntryLength = 12;       // type 1, 5.2.12.3
        private const int LocalX2ApicEntryLength = 16;  // type 9, 5.2.12.12
        private const int MaxLocalApicId = 254;         // 255 in a type 0 entry means "not a processor"

        // FADT field offsets (ACPI 6.4, 5.2.9, Table 5.9).
        private const int FadtFirmwareControl = 36;
        private const int FadtDsdt = 40;
        private const int FadtPreferredPmProfile = 45;
        private const int FadtSciInterrupt = 46;
        private const int FadtPmTimerBlock = 76;        // PM_TMR_BLK, 32-bit port
        private const int FadtPmTimerLength = 91;       // PM_TMR_LEN
        private const int FadtCStateLatency2 = 96;      // P_LVL2_LAT
        private const int FadtCStateLatency3 = 98;      // P_LVL3_LAT
        private const int FadtIaPcBootArchitecture = 109;
        private const int FadtFlags = 112;
        private const int FadtResetRegister = 116;
        private const int FadtResetValue = 128;
        private const int FadtMinorVersion = 131;
        private const int FadtXFirmwareControl = 132;
        private const int FadtXDsdt = 140;
        private const int FadtXPmTimerBlock = 208;      // X_PM_TMR_BLK
        private const int FadtSleepControlRegister = 244;
        private const int FadtSleepStatusRegister = 256;
        private const int FadtHypervisorVendorId = 268;

        // FADT Flags (ACPI 6.4, 5.2.9, Table 5.10).
        public const uint FlagWbinvd = 1u << 0;          // WBINVD works: the OS needs no other cache flush
        public const uint FlagPowerButton = 1u << 4;     // 1: no fixed-feature power button
        public const uint FlagSleepButton = 1u << 5;     // 1: no fixed-feature sleep button
        public const uint FlagTimerValueExtended = 1u << 8; // TMR_VAL_EXT: the PM timer counts 32 bits, not 24
        public const uint FlagResetRegisterSupported = 1u << 10;
        public const uint FlagHeadless = 1u << 12;       // no monitor, keyboard or mouse to detect
        public const uint FlagHardwareReduced = 1u << 20;

        public const uint Flags = FlagWbinvd | FlagPowerButton | FlagSleepButton | FlagResetRegisterSupported |
                                  FlagHeadless | FlagHardwareReduced;

        // IA-PC Boot Architecture Flags (ACPI 6.4, 5.2.9.3, Table 5.11). LEGACY_DEVICES (bit 0)
        // and 8042 (bit 1) clear: no ISA devices the OS could probe, no keyboard controller.
        // Linux honours 0, 1, 2 and 5 in acpi_parse_fadt: no PnP BIOS probing, i8042 absent,
        // no VGA probing, no CMOS RTC platform device. It reads MSI Not Supported nowhere on
        // x86 (6.1); the partition has no PCI, so there is nothing to enable MSI on anyway.
        // CMOS RTC Not Present although every partition has an RTC at 0x70/0x71 (VirtualRtc):
        // Linux still reads the wall clock there at boot (mach_get_cmos_time ignores the flag)
        // but registers no rtc_cmos device, so nothing waits for the RTC's interrupt (IRQ 8),
        // which the model does not raise. CENTURY (offset 108) stays 0, as the flag implies no
        // RTC to name a byte of: Linux then takes years 00-69 as 2000-2069.
        public const ushort BootVgaNotPresent = 1 << 2;
        public const ushort BootMsiNotSupported = 1 << 3;
        public const ushort BootCmosRtcNotPresent = 1 << 5;

        public const ushort BootArchitectureFlags = BootVgaNotPresent | BootMsiNotSupported | BootCmosRtcNotPresent;

        // Generic Address Structure (ACPI 6.4, 5.2.3.2): address space 1 is System I/O; access
        // size 1 means byte accesses.
        private const byte SystemIo = 1;
        private const byte ByteAccess = 1;
        private const byte DwordAccess = 3;

        /// <summary>PM_TMR_LEN: the PM timer decodes four ports (5.2.9).</summary>
        public const byte PmTimerLength = 4;

        /// <summary>The I/O APIC entry's GSI base: its pins are GSIs 0-23, so ISA IRQ n is GSI n.</summary>
        public const uint IoApicGsiBase = 0;

        /// <summary>
        /// Writes the tables into <paramref name="area"/>, which the guest sees at
        /// <paramref name="areaGuestPhysical"/>. Returns the bytes used from the area's start,
        /// or <see cref="AreaTooSmall"/> or <see cref="InvalidPlatform"/>; on success
        /// <paramref name="rsdpGuestPhysical"/> is the RSDP's address (for boot_params.acpi_rsdp_addr).
        /// </summary>
        public static int Build(Span<byte> area, ulong areaGuestPhysical, in AcpiPlatform platform, out ulong rsdpGuestPhysical)
        {
            rsdpGuestPhysical = 0;
            if (Check(in platform) != null)
                return InvalidPlatform;

            var layout = new Layout(areaGuestPhysical, in platform);
            if (layout.DsdtOffset + HeaderLength > area.Length)
                return AreaTooSmall;
            area.Slice(0, layout.DsdtOffset + HeaderLength).Clear();

            // The DSDT first: it is last in the area, and only its body's length is open.
            var aml = new AmlWriter(area.Slice(layout.DsdtOffset + HeaderLength));
            WriteDsdtBody(ref aml, in platform);
            if (aml.Failed)
                return AreaTooSmall;
            int dsdtLength = HeaderLength + aml.Length;
            Span<byte> dsdt = area.Slice(layout.DsdtOffset, dsdtLength);
            WriteHeader(dsdt, "DSDT", dsdtLength, DsdtRevision);
            SetChecksum(dsdt, 9);

            WriteMadt(area.Slice(layout.MadtOffset, layout.MadtLength), in platform);
            WriteFadt(area.Slice(layout.FadtOffset, FadtLength), in platform, layout.Address(layout.DsdtOffset));
            WriteXsdt(area.Slice(layout.XsdtOffset, layout.XsdtLength), layout.Address(layout.FadtOffset), layout.Address(layout.MadtOffset));
            WriteRsdp(area.Slice(layout.RsdpOffset, RsdpLength), layout.Address(layout.XsdtOffset), layout.XsdtLength);

            rsdpGuestPhysical = layout.Address(layout.RsdpOffset);
            return layout.DsdtOffset + dsdtLength;
        }

        /// <summary>
        /// The bytes <see cref="Build"/> will use for this platform in an area at
        /// <paramref name="areaGuestPhysical"/>, so that a partition's memory is reserved when
        /// it is created; <see cref="InvalidPlatform"/> if the platform cannot be described.
        /// </summary>
        public static int RequiredSize(ulong areaGuestPhysical, in AcpiPlatform platform)
        {
            if (Check(in platform) != null)
                return InvalidPlatform;
            var layout = new Layout(areaGuestPhysical, in platform);
            // The DSDT's body is about 100 bytes and does not grow with the platform: measure
            // it in a scratch buffer, ample for it (a test compares with Build).
            Span<byte> scratch = stackalloc byte[512];
            var aml = new AmlWriter(scratch);
            WriteDsdtBody(ref aml, in platform);
            if (aml.Failed)
                return InvalidPlatform;
            return layout.DsdtOffset + HeaderLength + aml.Length;
        }

        /// <summary>
        /// Why the tables cannot describe <paramref name="platform"/>, or null if they can: at
        /// least one vCPU; an I/O APIC address that is not 0 and is 1 KiB aligned (the
        /// register window); SLP_TYP within its three bits; sleep and reset ports that are set
        /// and do not fall inside the UART's eight.
        /// </summary>
        public static string Check(in AcpiPlatform platform)
        {
            if (platform.VcpuCount < 1)
                return "an ACPI platform needs at least one vCPU";
            // 16 bytes per x2APIC entry: keep the MADT far below what a 32-bit length field holds.
            if (platform.VcpuCount > 65536)
                return "more than 65536 vCPUs";
            if (platform.HasIoApic && (platform.IoApicAddress == 0 || (platform.IoApicAddress & 0x3FF) != 0))
                return "the I/O APIC address must be non-zero and 1 KiB aligned";
            if (platform.SoftOffSleepType > 7)
                return "SLP_TYP for S5 must fit in three bits (0-7)";
            if (platform.SleepControlPort == 0 || platform.SleepStatusPort == 0 || platform.ResetPort == 0)
                return "the sleep control, sleep status and reset ports must be set";
            if (platform.HasUart && platform.UartPort > 0xFFFF - 7)
                return "the UART's eight ports must lie below 0x10000";
            if (platform.HasUart && (InUart(in platform, platform.SleepControlPort) || InUart(in platform, platform.SleepStatusPort) ||
                                     InUart(in platform, platform.ResetPort)))
                return "the sleep and reset ports must not be among the UART's eight";
            if (platform.HasPmTimer)
            {
                if (platform.PmTimerPort > 0xFFFF - (PmTimerLength - 1))
                    return "the PM timer's four ports must lie below 0x10000";
                if (InPmTimer(in platform, platform.SleepControlPort) || InPmTimer(in platform, platform.SleepStatusPort) ||
                    InPmTimer(in platform, platform.ResetPort))
                    return "the sleep and reset ports must not be among the PM timer's four";
                if (platform.HasUart && platform.PmTimerPort < platform.UartPort + 8 && platform.UartPort < platform.PmTimerPort + PmTimerLength)
                    return "the PM timer's four ports must not overlap the UART's eight";
            }
            return null;
        }

        private static bool InUart(in AcpiPlatform platform, ushort port) =>
            port >= platform.UartPort && port < platform.UartPort + 8;

        private static bool InPmTimer(in AcpiPlatform platform, ushort port) =>
            port >= platform.PmTimerPort && port < platform.PmTimerPort + PmTimerLength;

        /// <summary>Whether an OS scanning the BIOS area for the RSDP (ACPI 6.4, 5.2.5.1) finds one at this address.</summary>
        public static bool FoundByLegacyScan(ulong rsdpGuestPhysical) =>
            rsdpGuestPhysical >= LegacyAreaStart && rsdpGuestPhysical + RsdpLength <= LegacyAreaEnd &&
            rsdpGuestPhysical % Alignment == 0;

        /// <summary>Where each table goes: RSDP, XSDT, FADT, MADT, DSDT, each 16-byte aligned in guest-physical terms.</summary>
        private readonly struct Layout
        {
            private readonly ulong _base;

            public Layout(ulong areaGuestPhysical, in AcpiPlatform platform)
            {
                _base = areaGuestPhysical;
                int padding = (int)((Alignment - areaGuestPhysical % Alignment) % Alignment);
                RsdpOffset = padding;
                XsdtOffset = Align(RsdpOffset + RsdpLength);
                XsdtLength = HeaderLength + 8 * XsdtEntries;
                FadtOffset = Align(XsdtOffset + XsdtLength);
                MadtOffset = Align(FadtOffset + FadtLength);
                MadtLength = MadtSize(in platform);
                DsdtOffset = Align(MadtOffset + MadtLength);
            }

            public int RsdpOffset { get; }
            public int XsdtOffset { get; }
            public int XsdtLength { get; }
            public int FadtOffset { get; }
            public int MadtOffset { get; }
            public int MadtLength { get; }
            public int DsdtOffset { get; }

            public ulong Address(int offset) => _base + (ulong)offset;

            // Offsets are relative to an area whose start is at _base; the padding above makes
            // _base + RsdpOffset aligned, and every length rounded up keeps the rest aligned.
            private static int Align(int offset) => (offset + Alignment - 1) & ~(Alignment - 1);
        }

        private static int MadtSize(in AcpiPlatform platform)
        {
            int local = platform.VcpuCount <= MaxLocalApicId + 1 ? platform.VcpuCount : MaxLocalApicId + 1;
            int x2 = platform.VcpuCount - local;
            return MadtEntriesOffset + local * LocalApicEntryLength + x2 * LocalX2ApicEntryLength +
                   (platform.HasIoApic ? IoApicEntryLength : 0);
        }

        /// <summary>
        /// RSDP (ACPI 6.4, 5.2.5.3): revision 2, the XSDT's address and length, no RSDT (its
        /// address is 0: every table is found through the XSDT). The checksum covers the
        /// first 20 bytes (the ACPI 1.0 structure), the extended checksum all 36.
        /// </summary>
        private static void WriteRsdp(Span<byte> rsdp, ulong xsdt, int xsdtLength)
        {
            PutAscii(rsdp, 0, "RSD PTR ");
            PutAscii(rsdp, 9, OemId);
            rsdp[15] = 2;
            Put32(rsdp, 16, 0);
            Put32(rsdp, 20, RsdpLength);
            Put64(rsdp, 24, xsdt);
            SetChecksum(rsdp.Slice(0, 20), 8);
            SetChecksum(rsdp, 32);
        }

        /// <summary>XSDT (ACPI 6.4, 5.2.8): the header, then 64-bit addresses of the FADT and the MADT.</summary>
        private static void WriteXsdt(Span<byte> xsdt, ulong fadt, ulong madt)
        {
            WriteHeader(xsdt, "XSDT", xsdt.Length, XsdtRevision);
            Put64(xsdt, HeaderLength, fadt);
            Put64(xsdt, HeaderLength + 8, madt);
            SetChecksum(xsdt, 9);
        }

        /// <summary>
        /// FADT (ACPI 6.4, 5.2.9). Hardware-reduced: every PM1, PM2 and GPE block and its X_
        /// twin stays 0 (the PM timer's are set when the platform has one: see the class remarks), as do SCI_INT, SMI_CMD and the ACPI_ENABLE/DISABLE values (there is
        /// no legacy mode to leave). FIRMWARE_CTRL and X_FIRMWARE_CTRL are 0 too: with
        /// HW_REDUCED_ACPI set and both 0 there is no FACS (5.2.9, FIRMWARE_CTRL), and ACPICA
        /// does not look for one (tbfadt.c, acpi_tb_parse_fadt; tbutils.c, acpi_tb_initialize_facs),
        /// so there is no global lock and no waking vector, which only S1-S4 would need.
        /// </summary>
        private static void WriteFadt(Span<byte> fadt, in AcpiPlatform platform, ulong dsdt)
        {
            WriteHeader(fadt, "FACP", FadtLength, FadtRevision);
            Put32(fadt, FadtFirmwareControl, 0);
            // The 32-bit DSDT field too, when the DSDT lies below 4 GiB: an OS prefers X_DSDT
            // when it is set (5.2.9), and ACPICA accepts both when they agree.
            Put32(fadt, FadtDsdt, dsdt <= uint.MaxValue ? (uint)dsdt : 0);
            fadt[FadtPreferredPmProfile] = 0; // unspecified
            Put16(fadt, FadtSciInterrupt, 0);  // no SCI in a hardware-reduced platform
            // No C2 or C3 through P_BLK: latencies above 100 and 1000 us mean "not supported".
            Put16(fadt, FadtCStateLatency2, 101);
            Put16(fadt, FadtCStateLatency3, 1001);
            Put16(fadt, FadtIaPcBootArchitecture, BootArchitectureFlags);
            Put32(fadt, FadtFlags, platform.HasPmTimer ? Flags | FlagTimerValueExtended : Flags);
            if (platform.HasPmTimer)
            {
                // PM_TMR_BLK for ACPI 1.0 readers, X_PM_TMR_BLK for the rest: memtest86+ takes
                // the timer to be in I/O space only if X_PM_TMR_BLK's space ID says so
                // (parse_fadt), and Linux only then too (acpi_parse_fadt). 32 bits (TMR_VAL_EXT),
                // read as a DWORD (4.8.3.3).
                Put32(fadt, FadtPmTimerBlock, platform.PmTimerPort);
                fadt[FadtPmTimerLength] = PmTimerLength;
                PutGas(fadt, FadtXPmTimerBlock, SystemIo, 32, 0, DwordAccess, platform.PmTimerPort);
            }
            // RESET_REG (4.8.3.6): an 8-bit register at offset 0, in System I/O; Linux writes
            // RESET_VALUE to it first when rebooting (acpi_reboot).
            PutGas(fadt, FadtResetRegister, SystemIo, 8, 0, ByteAccess, platform.ResetPort);
            fadt[FadtResetValue] = platform.ResetValue;
            fadt[FadtMinorVersion] = FadtMinorRevision;
            Put64(fadt, FadtXFirmwareControl, 0);
            Put64(fadt, FadtXDsdt, dsdt);
            // SLEEP_CONTROL_REG and SLEEP_STATUS_REG (4.8.3.7): 8-bit registers in System I/O
            // that a hardware-reduced OS uses instead of PM1 control. Linux offers S5 only when
            // both are set (acpi_sleep_state_supported) and powers off by writing
            // SLP_TYP << 2 | SLP_EN to the control register (AcpiPlatform.IsSoftOffRequest).
            PutGas(fadt, FadtSleepControlRegister, SystemIo, 8, 0, ByteAccess, platform.SleepControlPort);
            PutGas(fadt, FadtSleepStatusRegister, SystemIo, 8, 0, ByteAccess, platform.SleepStatusPort);
            PutAscii(fadt, FadtHypervisorVendorId, HypervisorVendorId);
            SetChecksum(fadt, 9);
        }

        /// <summary>
        /// MADT (ACPI 6.4, 5.2.12). Flags are 0: PCAT_COMPAT clear, there are no 8259s to mask.
        /// vCPU i has APIC ID i: a Processor Local APIC entry (type 0) for IDs 0-254, a
        /// Processor Local x2APIC entry (type 9) from 255 on, whose ID does not fit a byte
        /// (5.2.12.12); both enabled, vCPU 0 (the boot processor) first. Then the I/O APIC
        /// (type 1) with GSIs 0-23, and no Interrupt Source Overrides: the UART's ISA IRQ 4 is
        /// GSI 4 by identity.
        /// </summary>
        private static void WriteMadt(Span<byte> madt, in AcpiPlatform platform)
        {
            WriteHeader(madt, "APIC", madt.Length, MadtRevision);
            Put32(madt, 36, AcpiPlatform.LocalApicAddress);
            Put32(madt, 40, 0);
            int at = MadtEntriesOffset;
            for (int vcpu = 0; vcpu < platform.VcpuCount; vcpu++)
            {
                if (vcpu <= MaxLocalApicId)
                {
                    // Type, length, ACPI processor UID, APIC ID, flags (bit 0: enabled).
                    madt[at] = 0;
                    madt[at + 1] = LocalApicEntryLength;
                    madt[at + 2] = (byte)vcpu;
                    madt[at + 3] = (byte)vcpu;
                    Put32(madt, at + 4, 1);
                    at += LocalApicEntryLength;
                }
                else
                {
                    // Type, length, reserved (2), x2APIC ID, flags, ACPI processor UID.
                    madt[at] = 9;
                    madt[at + 1] = LocalX2ApicEntryLength;
                    Put32(madt, at + 4, (uint)vcpu);
                    Put32(madt, at + 8, 1);
                    Put32(madt, at + 12, (uint)vcpu);
                    at += LocalX2ApicEntryLength;
                }
            }
            if (platform.HasIoApic)
            {
                // Type, length, I/O APIC ID, reserved, address, GSI base.
                madt[at] = 1;
                madt[at + 1] = IoApicEntryLength;
                madt[at + 2] = platform.IoApicId;
                Put32(madt, at + 4, platform.IoApicAddress);
                Put32(madt, at + 8, IoApicGsiBase);
            }
            SetChecksum(madt, 9);
        }

        /// <summary>
        /// The DSDT's AML, as this ASL (ACPI 6.4, 5.2.11.1 and chapter 19):
        /// <code>
        /// Scope (\_SB) {
        ///     Device (COM1) {
        ///         Name (_HID, EisaId ("PNP0501"))      // 16550A-compatible COM port
        ///         Name (_UID, 1)
        ///         Method (_STA, 0, NotSerialized) { Return (0x0F) }   // present, enabled, shown, working
        ///         Name (_CRS, ResourceTemplate () {
        ///             IO (Decode16, port, port, 1, 8)
        ///             IRQNoFlags () {4}
        ///         })
        ///     }
        /// }
        /// Name (\_S5, Package (4) { SLP_TYP, SLP_TYP, 0, 0 })
        /// </code>
        /// The COM1 device only when the partition has a UART. Linux's PNPACPI then registers
        /// ttyS0 at the port, and its IRQ as GSI 4 through the I/O APIC: with no PIC there is no
        /// ISA IRQ 4 to fall back on. Without an I/O APIC the IRQ is left out, so that the 8250
        /// driver polls the UART rather than fail to claim an interrupt nothing can deliver.
        /// \_S5's first integer is what Linux writes to the sleep control register; the second
        /// (SLP_TYPb, for a PM1b block) is unused here.
        /// </summary>
        private static void WriteDsdtBody(ref AmlWriter aml, in AcpiPlatform platform)
        {
            if (platform.HasUart)
            {
                int scope = aml.BeginScope("\\_SB");
                int device = aml.BeginDevice("COM1");
                aml.Name("_HID");
                aml.EisaId("PNP0501");
                aml.Name("_UID");
                aml.Integer(1);
                int status = aml.BeginMethod("_STA", 0, serialized: false);
                aml.Return();
                aml.Integer(0x0F);
                aml.End(status);
                aml.Name("_CRS");
                int resources = aml.BeginResourceTemplate();
                aml.IoPort(decode16: true, platform.UartPort, platform.UartPort, 1, 8);
                if (platform.HasIoApic)
                    aml.IrqNoFlags(1 << AcpiPlatform.UartGsi);
                aml.EndResourceTemplate(resources);
                aml.End(device);
                aml.End(scope);
            }
            aml.Name("\\_S5");
            int package = aml.BeginPackage(4);
            aml.Integer(platform.SoftOffSleepType);
            aml.Integer(platform.SoftOffSleepType);
            aml.Integer(0);
            aml.Integer(0);
            aml.End(package);
        }

        /// <summary>The System Description Table Header (ACPI 6.4, 5.2.6); the checksum (offset 9) is set last.</summary>
        private static void WriteHeader(Span<byte> table, string signature, int length, byte revision)
        {
            PutAscii(table, 0, signature);
            Put32(table, 4, (uint)length);
            table[8] = revision;
            table[9] = 0;
            PutAscii(table, 10, OemId);
            PutAscii(table, 16, OemTableId);
            Put32(table, 24, OemRevision);
            PutAscii(table, 28, CreatorId);
            Put32(table, 32, CreatorRevision);
        }

        /// <summary>Generic Address Structure (ACPI 6.4, 5.2.3.2): space, bit width, bit offset, access size, 64-bit address.</summary>
        private static void PutGas(Span<byte> table, int at, byte space, byte bitWidth, byte bitOffset, byte accessSize, ulong address)
        {
            table[at] = space;
            table[at + 1] = bitWidth;
            table[at + 2] = bitOffset;
            table[at + 3] = accessSize;
            Put64(table, at + 4, address);
        }

        /// <summary>Sets the byte at <paramref name="at"/> so that all of <paramref name="bytes"/> sums to 0 modulo 256.</summary>
        internal static void SetChecksum(Span<byte> bytes, int at)
        {
            bytes[at] = 0;
            byte sum = 0;
            for (int i = 0; i < bytes.Length; i++)
                sum += bytes[i];
            bytes[at] = (byte)(0 - sum);
        }

        internal static void PutAscii(Span<byte> bytes, int at, string text)
        {
            for (int i = 0; i < text.Length; i++)
                bytes[at + i] = (byte)text[i];
        }

        internal static void Put16(Span<byte> bytes, int at, ushort value)
        {
            bytes[at] = (byte)value;
            bytes[at + 1] = (byte)(value >> 8);
        }

        internal static void Put32(Span<byte> bytes, int at, uint value)
        {
            for (int i = 0; i < 4; i++)
                bytes[at + i] = (byte)(value >> (8 * i));
        }

        internal static void Put64(Span<byte> bytes, int at, ulong value)
        {
            for (int i = 0; i < 8; i++)
                bytes[at + i] = (byte)(value >> (8 * i));
        }
    }
}
