using Partition.Kernel;

namespace Partition.Devices
{
    /// <summary>
    /// The Motorola MC146818A real-time clock plus RAM as PCs have it since the IBM PC AT: its
    /// register numbers and bits, and the encoding of its time registers (BCD or binary,
    /// 12- or 24-hour, as register B says). One source for the virtual RTC every partition
    /// has (<see cref="VirtualRtc"/>) and for the hypervisor's one read of the machine's own
    /// (<see cref="HostRtc"/>).
    /// </summary>
    /// <remarks>
    /// References: the MC146818A data sheet (Motorola), sections "Address Map", "Time, Calendar
    /// and Alarm Locations", "Register A" to "Register D"; where it is silent or PCs differ,
    /// the Dallas DS12887 data sheet (the part PCs carried after it, register-compatible).
    /// </remarks>
    public static class Mc146818
    {
        /// <summary>
        /// The PC's ports: an OUT to <see cref="IndexPort"/> selects a register (bits 6:0; bit 7
        /// masks NMI on PCs, <see cref="NmiDisable"/>), <see cref="DataPort"/> reads or writes it.
        /// </summary>
        public const ushort IndexPort = 0x70, DataPort = 0x71;

        /// <summary>Bit 7 of an index written to port 0x70: the PC's NMI mask, not the RTC's.</summary>
        public const byte NmiDisable = 0x80;

        /// <summary>
        /// Bytes behind the index: the MC146818A has 64 (14 clock and control registers, 50 of
        /// RAM); PC chipsets and the DS12887 give 128 through the same 7-bit index.
        /// </summary>
        public const int RamSize = 128;

        // Address map (data sheet, "Address Map"): time, alarm and calendar bytes, then the
        // four control registers.
        public const byte Seconds = 0x00;
        public const byte SecondsAlarm = 0x01;
        public const byte Minutes = 0x02;
        public const byte MinutesAlarm = 0x03;
        public const byte Hours = 0x04;
        public const byte HoursAlarm = 0x05;
        public const byte DayOfWeek = 0x06;
        public const byte DateOfMonth = 0x07;
        public const byte Month = 0x08;
        public const byte Year = 0x09;
        public const byte RegisterA = 0x0A;
        public const byte RegisterB = 0x0B;
        public const byte RegisterC = 0x0C;
        public const byte RegisterD = 0x0D;

        /// <summary>
        /// The century, in the same code as the year: not the chip's but a RAM byte by the IBM
        /// PC AT's convention, which ACPI's FADT CENTURY field names (ACPI 6.4, 5.2.9).
        /// </summary>
        public const byte Century = 0x32;

        // Register A: UIP (read-only), the divider DV2-DV0, the rate select RS3-RS0.
        public const byte Uip = 0x80;
        public const byte DividerMask = 0x70;
        /// <summary>DV2-DV0 = 010: the 32.768 kHz time base, the only pattern with which the clock keeps time (DS12887, "Register A").</summary>
        public const byte DividerOperating = 0x20;

        // Register B.
        /// <summary>SET: updates are inhibited so that the time can be written ("Register B").</summary>
        public const byte Set = 0x80;
        public const byte PeriodicInterruptEnable = 0x40;
        public const byte AlarmInterruptEnable = 0x20;
        public const byte UpdateEndedInterruptEnable = 0x10;
        public const byte SquareWaveEnable = 0x08;
        /// <summary>DM: 1 binary, 0 BCD.</summary>
        public const byte DataModeBinary = 0x04;
        /// <summary>24/12: 1 24-hour, 0 12-hour (the hours bytes then carry <see cref="Pm"/>).</summary>
        public const byte Hours24 = 0x02;
        public const byte DaylightSavingsEnable = 0x01;

        /// <summary>Bit 7 of an hours byte in 12-hour mode: PM ("Time, Calendar and Alarm Locations", table of data modes).</summary>
        public const byte Pm = 0x80;

        // Register C: the interrupt flags, cleared by reading it.
        public const byte InterruptRequestFlag = 0x80;
        public const byte PeriodicInterruptFlag = 0x40;
        public const byte AlarmInterruptFlag = 0x20;
        public const byte UpdateEndedInterruptFlag = 0x10;

        /// <summary>Register D bit 7, VRT: valid RAM and time (the battery is good); read-only.</summary>
        public const byte ValidRamAndTime = 0x80;

        /// <summary>
        /// Register A as a PC BIOS leaves it: the 32.768 kHz divider and rate 0110 (1.024 kHz,
        /// 976.562 µs periodic rate).
        /// </summary>
        public const byte BiosRegisterA = DividerOperating | 0x06;

        /// <summary>Register B as a PC BIOS leaves it: 24-hour, BCD, no interrupts, no square wave, no daylight saving.</summary>
        public const byte BiosRegisterB = Hours24;

        /// <summary>Whether <paramref name="register"/> is one of the clock's counters (including the PC's century byte), not an alarm, control or RAM byte.</summary>
        public static bool IsTimeRegister(byte register) =>
            register == Seconds || register == Minutes || register == Hours || register == DayOfWeek
            || register == DateOfMonth || register == Month || register == Year || register == Century;

        /// <summary>A number 0-99 in the data mode register B selects: binary, or two BCD digits.</summary>
        public static byte EncodeField(int value, byte registerB) =>
            (registerB & DataModeBinary) != 0 ? (byte)value : (byte)(value / 10 << 4 | value % 10);

        /// <summary>
        /// A byte in the data mode register B selects; false for a BCD byte with a digit above
        /// 9 (the data sheet leaves what the chip makes of those undefined).
        /// </summary>
        public static bool TryDecodeField(byte raw, byte registerB, out int value)
        {
            if ((registerB & DataModeBinary) != 0)
            {
                value = raw;
                return true;
            }
            value = (raw >> 4) * 10 + (raw & 0x0F);
            return (raw >> 4) <= 9 && (raw & 0x0F) <= 9;
        }

        /// <summary>An hour 0-23 as the hours byte holds it: 0-23, or in 12-hour mode 1-12 with <see cref="Pm"/> (12 AM is midnight).</summary>
        public static byte EncodeHours(int hour24, byte registerB)
        {
            if ((registerB & Hours24) != 0)
                return EncodeField(hour24, registerB);
            int hour12 = hour24 % 12 == 0 ? 12 : hour24 % 12;
            return (byte)(EncodeField(hour12, registerB) | (hour24 >= 12 ? Pm : 0));
        }

        /// <summary>The inverse of <see cref="EncodeHours"/>; false for an hour that does not exist in the mode.</summary>
        public static bool TryDecodeHours(byte raw, byte registerB, out int hour24)
        {
            hour24 = 0;
            if ((registerB & Hours24) != 0)
                return TryDecodeField(raw, registerB, out hour24) && hour24 < 24;
            if (!TryDecodeField((byte)(raw & ~Pm), registerB, out int hour12) || hour12 < 1 || hour12 > 12)
                return false;
            hour24 = hour12 % 12 + ((raw & Pm) != 0 ? 12 : 0);
            return true;
        }

        /// <summary>
        /// The time the clock's bytes say, in the mode register B selects, with the century
        /// given as a number (0-99); false unless every byte is valid in that mode and the date
        /// exists.
        /// </summary>
        public static bool TryDecodeTime(byte seconds, byte minutes, byte hours, byte date, byte month, byte year, int century,
            byte registerB, out CalendarTime time)
        {
            time = default;
            if (!TryDecodeField(seconds, registerB, out int s) || !TryDecodeField(minutes, registerB, out int m)
                || !TryDecodeHours(hours, registerB, out int h) || !TryDecodeField(date, registerB, out int d)
                || !TryDecodeField(month, registerB, out int mo) || !TryDecodeField(year, registerB, out int y)
                || y > 99 || century < 0 || century > 99)
                return false;
            time = new CalendarTime(century * 100 + y, mo, d, h, m, s);
            return time.IsValid;
        }
    }
}
