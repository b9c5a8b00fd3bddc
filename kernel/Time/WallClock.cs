namespace Partition.Kernel
{
    /// <summary>
    /// The machine's date and time, read once at boot from its CMOS real-time clock
    /// (<see cref="HostRtc"/>) and carried on by the TSC from then on: what every partition's
    /// virtual RTC starts from. The hypervisor never touches the real RTC again, and no
    /// partition reaches it (each has its own, <see cref="Devices.VirtualRtc"/>).
    /// </summary>
    public static class WallClock
    {
        /// <summary>Until <see cref="Initialize"/>: the Unix epoch at TSC 0, at the TSC's uncalibrated rate (10 MHz).</summary>
        private static ClockReference s_reference = new ClockReference(0, 0, 10_000_000);

        /// <summary>The wall clock as the TSC carries it.</summary>
        public static ClockReference Reference => s_reference;

        /// <summary>Whether a real-time clock was found and read at boot; if not, the clock started at the Unix epoch.</summary>
        public static bool IsFromRtc { get; private set; }

        /// <summary>
        /// Reads the machine's RTC (the TSC must be calibrated: its rate is taken from
        /// <see cref="Tsc.TicksPerMillisecond"/>). Without a readable RTC the clock starts at
        /// 1970-01-01 00:00:00 UTC now; returns whether one was read.
        /// </summary>
        public static bool Initialize()
        {
            IsFromRtc = HostRtc.TryRead(out CalendarTime time);
            // The TSC right after the read: the RTC's second has begun at most one read earlier.
            ulong tsc = Tsc.Now;
            long seconds = IsFromRtc ? time.ToUnixSeconds() : 0;
            s_reference = new ClockReference(seconds, tsc, Tsc.TicksPerMillisecond * 1000);
            return IsFromRtc;
        }

        /// <summary>The boot line: "Wall clock: 2026-12-01 00:12:34 UTC (CMOS RTC)", or that there was none.</summary>
        public static void Print()
        {
            System.Span<char> text = stackalloc char[CalendarTime.FormattedLength];
            CalendarTime.FromUnixSeconds(s_reference.UnixSeconds).Format(text);
            HypervisorConsole.Write("Wall clock: ");
            HypervisorConsole.Write(text);
            HypervisorConsole.WriteLine(IsFromRtc
                ? " UTC (CMOS RTC)"
                : " UTC (no CMOS RTC could be read; partitions' clocks start at the Unix epoch)");
        }
    }
}
