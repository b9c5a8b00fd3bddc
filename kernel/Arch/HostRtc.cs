using Partition.Devices;
using static Partition.Devices.Mc146818;

namespace Partition.Kernel
{
    /// <summary>
    /// The machine's own CMOS real-time clock, read once at boot for the wall clock
    /// (<see cref="WallClock"/>), through the Cpu seam's port I/O. After that the hypervisor
    /// never touches it, and no partition can (ports 0x70-0x77 are each partition's virtual
    /// RTC's, or refused).
    /// </summary>
    public static class HostRtc
    {
        /// <summary>
        /// How long UIP may stay set before the RTC is taken to be absent or broken: UIP rises
        /// 244 µs before an update, which takes at most 1984 µs with a 32.768 kHz time base
        /// (MC146818A data sheet, "Update Cycle"), so 10 ms is plenty. An absent RTC reads all
        /// ones, UIP included.
        /// </summary>
        public const ulong UipTimeoutMs = 10;

        /// <summary>How often a read is tried before giving up when two reads in a row keep differing.</summary>
        public const int Attempts = 5;

        /// <summary>
        /// Reads the date and time: waits for UIP to clear (bounded), reads every time byte and
        /// register B, and again, until two reads agree (an update, an SMI or an NMI can fall
        /// between the UIP check and the reads); decodes them as register B says (BCD or
        /// binary, 12- or 24-hour). The century comes from byte 0x32 when it holds one from 20
        /// to 99; otherwise (many firmwares keep it elsewhere, or nowhere) the year is taken to
        /// be in 2000-2099. The RTC is taken to keep UTC, as Linux keeps it. False if there is
        /// no RTC, UIP never clears, the reads never agree or they do not make a valid time.
        /// Leaves the index at register D (read-only), so that a stray write to port 0x71
        /// changes nothing, and NMIs unmasked (index bit 7 clear, as Linux writes it).
        /// </summary>
        public static bool TryRead(out CalendarTime time)
        {
            time = default;
            bool agreed = false;
            Snapshot first = default, second = default;
            for (int attempt = 0; attempt < Attempts && !agreed; attempt++)
            {
                if (!TryReadSnapshot(out first) || !TryReadSnapshot(out second))
                    break;
                agreed = first.SameAs(second);
            }
            ReadRegister(RegisterD);
            if (!agreed)
                return false;

            byte b = first.RegisterB;
            if (!TryDecodeField(first.Century, b, out int century) || century < 20 || century > 99)
                century = 20;
            return TryDecodeTime(first.Seconds, first.Minutes, first.Hours, first.Date, first.Month, first.Year, century, b, out time);
        }

        private struct Snapshot
        {
            public byte Seconds, Minutes, Hours, Date, Month, Year, Century, RegisterB;

            public bool SameAs(in Snapshot other) =>
                Seconds == other.Seconds && Minutes == other.Minutes && Hours == other.Hours && Date == other.Date
                && Month == other.Month && Year == other.Year && Century == other.Century && RegisterB == other.RegisterB;
        }

        // One pass over the time bytes and register B, as soon as no update is in progress.
        private static bool TryReadSnapshot(out Snapshot s)
        {
            s = default;
            if (!WaitWhileUpdating())
                return false;
            s.RegisterB = ReadRegister(RegisterB);
            s.Century = ReadRegister(Century);
            s.Year = ReadRegister(Year);
            s.Month = ReadRegister(Month);
            s.Date = ReadRegister(DateOfMonth);
            s.Hours = ReadRegister(Hours);
            s.Minutes = ReadRegister(Minutes);
            s.Seconds = ReadRegister(Seconds);
            return true;
        }

        private static bool WaitWhileUpdating()
        {
            ulong deadline = Tsc.Now + UipTimeoutMs * Tsc.TicksPerMillisecond;
            while ((ReadRegister(RegisterA) & Uip) != 0)
            {
                if (Tsc.Now >= deadline)
                    return false;
                Cpu.Pause();
            }
            return true;
        }

        private static byte ReadRegister(byte register)
        {
            Cpu.Out8(IndexPort, register);
            return Cpu.In8(DataPort);
        }
    }
}
