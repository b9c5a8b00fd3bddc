using System.Collections.Generic;
using NUnit.Framework;
using Partition.Devices;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The virtual CMOS RTC driven through its ports as guests drive it: Linux's boot-time read
    /// (arch/x86/kernel/rtc.c mach_get_cmos_time, drivers/rtc/rtc-mc146818-lib.c
    /// mc146818_get_time) and its mc146818_set_time, in every data mode; the CMOS RAM; the
    /// index port's NMI bit.
    /// </summary>
    public class VirtualRtcTests
    {
        private const ulong TicksPerSecond = 1_000_000;
        private const ulong T0 = 5_000_000;

        // 2026-12-01 00:12:34 UTC, a Tuesday.
        private static readonly CalendarTime Supplied = new(2026, 12, 1, 0, 12, 34);

        private static VirtualRtc Rtc(CalendarTime time) =>
            new(new ClockReference(time.ToUnixSeconds(), T0, TicksPerSecond));

        private static ulong After(double seconds) => T0 + (ulong)(seconds * TicksPerSecond);

        /// <summary>
        /// A guest's view of ports 0x70/0x71 with its own TSC, which moves on 1 µs per access
        /// (about what an emulated port access costs), so that a read sequence takes time as it would.
        /// </summary>
        private sealed class Guest
        {
            private readonly VirtualRtc _rtc;
            public ulong Tsc;

            public Guest(VirtualRtc rtc, ulong tsc)
            {
                _rtc = rtc;
                Tsc = tsc;
            }

            public void Out(ushort port, byte value) => _rtc.Write(port, 1, value, Tsc++);
            public byte In(ushort port) => (byte)_rtc.Read(port, 1, Tsc++);

            // CMOS_READ and CMOS_WRITE: the index (NMI bit clear), then the data port.
            public byte Read(byte register)
            {
                Out(0x70, register);
                return In(0x71);
            }

            public void Write(byte register, byte value)
            {
                Out(0x70, register);
                Out(0x71, value);
            }
        }

        private static int Bcd2Bin(int value) => (value & 0x0F) + (value >> 4) * 10;
        private static byte Bin2Bcd(int value) => (byte)(value / 10 << 4 | value % 10);

        /// <summary>
        /// The boot-time read the way mc146818_get_time makes it: poll until a pass sees UIP
        /// clear both before and after reading the time bytes with the seconds unchanged
        /// (retrying every 100 µs for up to <paramref name="timeoutMs"/>), then convert as
        /// register B says. Linux itself assumes 24-hour mode (the BIOS's); the 12-hour
        /// decoding here is the data sheet's, so that the model's 12-hour mode is checked too.
        /// <paramref name="centuryRegister"/> is the FADT's CENTURY (0: none). Returns false
        /// on a timeout, as Linux's "Unable to read current time from RTC".
        /// </summary>
        private static bool LinuxGetTime(Guest g, out CalendarTime time, int centuryRegister = 0, int timeoutMs = 1000)
        {
            time = default;
            for (int attempt = 0; attempt < timeoutMs * 10; attempt++)
            {
                int seconds = g.Read(0x00);
                if ((g.Read(0x0A) & 0x80) != 0 || seconds != g.Read(0x00))
                {
                    g.Tsc += 100;
                    continue;
                }
                int minutes = g.Read(0x02), hours = g.Read(0x04), day = g.Read(0x07), month = g.Read(0x08), year = g.Read(0x09);
                int century = centuryRegister != 0 ? g.Read((byte)centuryRegister) : 0;
                int control = g.Read(0x0B);
                if ((g.Read(0x0A) & 0x80) != 0 || seconds != g.Read(0x00))
                {
                    g.Tsc += 100;
                    continue;
                }
                bool pm = (control & 0x02) == 0 && (hours & 0x80) != 0;
                hours &= (control & 0x02) == 0 ? 0x7F : 0xFF;
                if ((control & 0x04) == 0)
                {
                    seconds = Bcd2Bin(seconds);
                    minutes = Bcd2Bin(minutes);
                    hours = Bcd2Bin(hours);
                    day = Bcd2Bin(day);
                    month = Bcd2Bin(month);
                    year = Bcd2Bin(year);
                    century = Bcd2Bin(century);
                }
                if ((control & 0x02) == 0)
                    hours = hours % 12 + (pm ? 12 : 0);
                // tm_year counts from 1900: a century above 19 is added, else years up to 69 are 20xx.
                int tmYear = year;
                if (century > 19)
                    tmYear += (century - 19) * 100;
                if (tmYear <= 69)
                    tmYear += 100;
                time = new CalendarTime(1900 + tmYear, month, day, hours, minutes, seconds);
                return true;
            }
            return false;
        }

        /// <summary>mc146818_set_time: SET in B, the divider held in reset in A, the time bytes, then B and A back.</summary>
        private static void LinuxSetTime(Guest g, CalendarTime time, int centuryRegister = 0)
        {
            int year = time.Year - 1900;
            int century = 0;
            if (centuryRegister != 0)
            {
                century = (year + 1900) / 100;
                year %= 100;
            }
            if (year >= 100)
                year -= 100;
            byte control = g.Read(0x0B);
            bool bcd = (control & 0x04) == 0;
            byte Code(int v) => bcd ? Bin2Bcd(v) : (byte)v;
            g.Write(0x0B, (byte)(control | 0x80));
            byte freqSelect = g.Read(0x0A);
            g.Write(0x0A, (byte)(freqSelect | 0x70));
            g.Write(0x09, Code(year));
            g.Write(0x08, Code(time.Month));
            g.Write(0x07, Code(time.Day));
            g.Write(0x04, Code(time.Hour));
            g.Write(0x02, Code(time.Minute));
            g.Write(0x00, Code(time.Second));
            if (centuryRegister != 0)
                g.Write((byte)centuryRegister, Code(century));
            g.Write(0x0B, control);
            g.Write(0x0A, freqSelect);
        }

        public static IEnumerable<TestCaseData> ModesAndTimes()
        {
            var modes = new (byte B, string Name)[] { (0x02, "BCD 24-hour (the BIOS's)"), (0x06, "binary 24-hour"), (0x00, "BCD 12-hour"), (0x04, "binary 12-hour") };
            var times = new[]
            {
                Supplied,
                new CalendarTime(2026, 6, 30, 12, 0, 0),        // noon: 12 PM
                new CalendarTime(2026, 7, 1, 0, 30, 0),         // half past midnight: 12 AM
                new CalendarTime(2000, 2, 29, 23, 59, 30),
                new CalendarTime(2038, 1, 19, 3, 14, 7),
                new CalendarTime(2069, 12, 31, 13, 45, 10),     // the last year Linux maps to 20xx without a century register
            };
            foreach (var (b, name) in modes)
                foreach (var time in times)
                    yield return new TestCaseData(b, time).SetName($"Linux reads {time.Year:D4}-{time.Month:D2}-{time.Day:D2} {time.Hour:D2}:{time.Minute:D2}:{time.Second:D2} in {name}");
        }

        [TestCaseSource(nameof(ModesAndTimes))]
        public void Linux_reads_the_time_it_was_given(byte registerB, CalendarTime time)
        {
            var rtc = Rtc(time);
            var g = new Guest(rtc, After(0.25));
            g.Write(0x0B, registerB);
            Assert.That(LinuxGetTime(g, out var read), Is.True, "UIP clears at once");
            Assert.That(read, Is.EqualTo(time));
            Assert.That(g.Tsc - After(0.25), Is.LessThan(100UL), "the first pass succeeds: no retry");
        }

        [Test]
        public void The_century_register_gives_the_years_Linux_would_otherwise_take_for_the_1900s()
        {
            var time = new CalendarTime(2075, 3, 4, 5, 6, 7);
            var g = new Guest(Rtc(time), T0);
            Assert.That(g.Read(0x32), Is.EqualTo(0x20));
            Assert.That(LinuxGetTime(g, out var read, centuryRegister: 0x32), Is.True);
            Assert.That(read, Is.EqualTo(time));
            Assert.That(LinuxGetTime(g, out read), Is.True);
            Assert.That(read.Year, Is.EqualTo(1975), "without the FADT's CENTURY, year 75 is 1975 to Linux");
        }

        [Test]
        public void The_registers_read_as_a_BIOS_leaves_them()
        {
            var g = new Guest(Rtc(Supplied), T0);
            Assert.That(g.Read(0x0A), Is.EqualTo(0x26), "A: 32.768 kHz divider, 1.024 kHz rate, UIP clear");
            Assert.That(g.Read(0x0B), Is.EqualTo(0x02), "B: 24-hour, BCD, no interrupts");
            Assert.That(g.Read(0x0C), Is.EqualTo(0x00), "C: no interrupt pending");
            Assert.That(g.Read(0x0D), Is.EqualTo(0x80), "D: VRT, valid RAM and time");
            Assert.That(g.Read(0x00), Is.EqualTo(0x34));
            Assert.That(g.Read(0x02), Is.EqualTo(0x12));
            Assert.That(g.Read(0x04), Is.EqualTo(0x00));
            Assert.That(g.Read(0x06), Is.EqualTo(0x03), "day of week: Tuesday, Sunday = 1");
            Assert.That(g.Read(0x07), Is.EqualTo(0x01));
            Assert.That(g.Read(0x08), Is.EqualTo(0x12));
            Assert.That(g.Read(0x09), Is.EqualTo(0x26));
            Assert.That(g.Read(0x32), Is.EqualTo(0x20));
        }

        [Test]
        public void UIP_never_reads_set_and_register_C_never_reports_an_interrupt()
        {
            var rtc = Rtc(Supplied);
            var g = new Guest(rtc, T0);
            g.Write(0x0B, 0x02 | 0x40 | 0x20 | 0x10);                       // PIE, AIE and UIE on: still nothing pending
            for (ulong t = T0; t < After(3); t += TicksPerSecond / 64)
            {
                g.Tsc = t;
                Assert.That(g.Read(0x0A) & 0x80, Is.Zero);
                Assert.That(g.Read(0x0C), Is.Zero);
            }
            g.Write(0x0A, 0xA6);
            Assert.That(g.Read(0x0A), Is.EqualTo(0x26), "UIP is read-only");
            g.Write(0x0C, 0xF0);
            g.Write(0x0D, 0x00);
            Assert.That(g.Read(0x0C), Is.Zero, "C is read-only");
            Assert.That(g.Read(0x0D), Is.EqualTo(0x80), "D is read-only");
        }

        [Test]
        public void The_clock_runs_with_the_TSC_across_seconds_midnight_and_the_year()
        {
            var rtc = Rtc(new CalendarTime(2026, 12, 31, 23, 59, 58));
            var g = new Guest(rtc, After(0.999));
            Assert.That(g.Read(0x00), Is.EqualTo(0x58));
            g.Tsc = After(1.0);
            Assert.That(g.Read(0x00), Is.EqualTo(0x59));
            g.Tsc = After(2.5);
            Assert.That(LinuxGetTime(g, out var read), Is.True);
            Assert.That(read, Is.EqualTo(new CalendarTime(2027, 1, 1, 0, 0, 0)));
            Assert.That(g.Read(0x06), Is.EqualTo(0x06), "2027-01-01 is a Friday");
        }

        [Test]
        public void Linux_setting_the_clock_moves_this_partitions_clock_only()
        {
            var reference = new ClockReference(Supplied.ToUnixSeconds(), T0, TicksPerSecond);
            var mine = new VirtualRtc(reference);
            var neighbours = new VirtualRtc(reference);
            var g = new Guest(mine, After(10));
            var set = new CalendarTime(2031, 5, 17, 8, 9, 10);
            LinuxSetTime(g, set);

            g.Tsc = After(10.5);
            Assert.That(LinuxGetTime(g, out var read), Is.True);
            Assert.That(read, Is.EqualTo(set));
            g.Tsc = After(75.5);
            Assert.That(LinuxGetTime(g, out read), Is.True);
            Assert.That(read, Is.EqualTo(new CalendarTime(2031, 5, 17, 8, 10, 15)), "and runs on from there");
            Assert.That(g.Read(0x0A), Is.EqualTo(0x26));
            Assert.That(g.Read(0x0B), Is.EqualTo(0x02));

            Assert.That(LinuxGetTime(new Guest(neighbours, After(75.5)), out read), Is.True);
            Assert.That(read, Is.EqualTo(new CalendarTime(2026, 12, 1, 0, 13, 49)), "another partition's clock is the wall clock");

            mine.Reset();
            Assert.That(LinuxGetTime(new Guest(mine, After(75.5)), out read), Is.True);
            Assert.That(read, Is.EqualTo(new CalendarTime(2026, 12, 1, 0, 13, 49)), "a restarted partition starts from the wall clock again");
        }

        [Test]
        public void Setting_the_clock_in_binary_mode_with_a_century_register()
        {
            var g = new Guest(Rtc(Supplied), T0);
            g.Write(0x0B, 0x06);
            var set = new CalendarTime(2102, 2, 28, 23, 59, 59);
            LinuxSetTime(g, set, centuryRegister: 0x32);
            Assert.That(g.Read(0x32), Is.EqualTo(21));
            g.Tsc = T0 + TicksPerSecond;
            Assert.That(LinuxGetTime(g, out var read, centuryRegister: 0x32), Is.True);
            Assert.That(read, Is.EqualTo(new CalendarTime(2102, 3, 1, 0, 0, 0)), "2102 is no leap year");
        }

        [Test]
        public void With_SET_the_time_bytes_hold_still_and_the_clock_goes_on_from_them()
        {
            var g = new Guest(Rtc(Supplied), T0);
            g.Write(0x0B, 0x82 | 0x10);
            Assert.That(g.Read(0x0B), Is.EqualTo(0x82), "SET going to 1 clears UIE (DS12887)");
            g.Tsc = After(30);
            Assert.That(g.Read(0x00), Is.EqualTo(0x34), "no update while SET");
            g.Write(0x02, 0x40);
            Assert.That(g.Read(0x02), Is.EqualTo(0x40), "the written byte reads back");
            g.Write(0x0B, 0x02);
            g.Tsc = After(32);
            Assert.That(LinuxGetTime(g, out var read), Is.True);
            Assert.That(read, Is.EqualTo(new CalendarTime(2026, 12, 1, 0, 40, 36)), "30 s lost while stopped, 2 s counted since");
        }

        [Test]
        public void The_divider_held_in_reset_stops_the_clock_too()
        {
            var g = new Guest(Rtc(Supplied), T0);
            g.Write(0x0A, 0x76);
            g.Tsc = After(5);
            Assert.That(g.Read(0x00), Is.EqualTo(0x34));
            g.Write(0x0A, 0x26);
            g.Tsc = After(6);
            Assert.That(g.Read(0x00), Is.EqualTo(0x35));
        }

        [Test]
        public void A_time_byte_written_while_the_clock_runs_takes_effect_at_once()
        {
            var g = new Guest(Rtc(Supplied), T0);
            g.Write(0x04, 0x17);
            g.Write(0x09, 0x30);
            g.Tsc = After(1);
            Assert.That(LinuxGetTime(g, out var read), Is.True);
            Assert.That(read, Is.EqualTo(new CalendarTime(2030, 12, 1, 17, 12, 35)));
        }

        [TestCase((byte)0x02, (byte)0x08, (byte)0x13, TestName = "Month 13 (BCD)")]
        [TestCase((byte)0x02, (byte)0x00, (byte)0x5A, TestName = "A BCD digit above 9 in the seconds")]
        [TestCase((byte)0x02, (byte)0x04, (byte)0x24, TestName = "Hour 24")]
        [TestCase((byte)0x00, (byte)0x04, (byte)0x00, TestName = "Hour 0 in 12-hour mode")]
        [TestCase((byte)0x06, (byte)0x07, (byte)32, TestName = "Day 32 (binary)")]
        [TestCase((byte)0x06, (byte)0x08, (byte)0x0D, TestName = "Month 13 (binary)")]
        public void An_invalid_time_written_is_not_taken(byte registerB, byte register, byte value)
        {
            var g = new Guest(Rtc(Supplied), T0);
            g.Write(0x0B, registerB);
            g.Write(register, value);
            g.Tsc = After(1);
            Assert.That(LinuxGetTime(g, out var read), Is.True);
            Assert.That(read, Is.EqualTo(new CalendarTime(2026, 12, 1, 0, 12, 35)), "the clock went on as before");
        }

        [Test]
        public void A_new_data_mode_shows_at_once_in_every_time_byte()
        {
            var g = new Guest(Rtc(new CalendarTime(2026, 12, 1, 15, 12, 34)), T0);
            Assert.That(g.Read(0x04), Is.EqualTo(0x15));
            g.Write(0x0B, 0x06);
            Assert.That(g.Read(0x04), Is.EqualTo(15));
            Assert.That(g.Read(0x08), Is.EqualTo(12));
            g.Write(0x0B, 0x04);
            Assert.That(g.Read(0x04), Is.EqualTo(0x83), "3 PM, binary 12-hour");
            g.Write(0x0B, 0x00);
            Assert.That(g.Read(0x04), Is.EqualTo(0x83), "3 PM, BCD 12-hour");
        }

        [Test]
        public void The_day_of_week_is_a_counter_of_its_own_that_follows_midnights()
        {
            var rtc = Rtc(new CalendarTime(2026, 12, 1, 23, 59, 59));
            var g = new Guest(rtc, T0);
            Assert.That(g.Read(0x06), Is.EqualTo(3), "Tuesday");
            g.Write(0x06, 0x07);
            Assert.That(g.Read(0x06), Is.EqualTo(7), "as written");
            g.Tsc = After(1);
            Assert.That(g.Read(0x06), Is.EqualTo(1), "after Saturday (7), Sunday (1)");
            g.Write(0x07, 0x05);
            Assert.That(g.Read(0x06), Is.EqualTo(1), "writing the date leaves the day of the week alone, as on the chip");
        }

        [Test]
        public void CMOS_RAM_keeps_what_is_written_and_starts_zeroed()
        {
            var rtc = Rtc(Supplied);
            var g = new Guest(rtc, T0);
            for (int i = 0x0E; i < 0x80; i++)
                if (i != 0x32)
                    Assert.That(g.Read((byte)i), Is.Zero, $"byte 0x{i:X2}");
            for (int i = 0x0E; i < 0x80; i++)
                if (i != 0x32)
                    g.Write((byte)i, (byte)(i ^ 0xA5));
            g.Write(0x01, 0x45);
            g.Write(0x03, 0xC0);
            g.Write(0x05, 0x81);
            for (int i = 0x0E; i < 0x80; i++)
                if (i != 0x32)
                    Assert.That(g.Read((byte)i), Is.EqualTo(i ^ 0xA5), $"byte 0x{i:X2}");
            Assert.That((g.Read(0x01), g.Read(0x03), g.Read(0x05)), Is.EqualTo((0x45, 0xC0, 0x81)), "the alarm bytes are kept");
            Assert.That(LinuxGetTime(g, out var read), Is.True);
            Assert.That(read, Is.EqualTo(Supplied), "RAM writes leave the clock alone");

            rtc.Reset();
            Assert.That(g.Read(0x40), Is.Zero, "a restart clears the CMOS RAM");
        }

        [Test]
        public void The_index_port_keeps_the_NMI_bit_apart_from_the_index_and_reads_as_all_ones()
        {
            var rtc = Rtc(Supplied);
            var g = new Guest(rtc, T0);
            g.Write(0x0F, 0x5A);
            g.Out(0x70, 0x8F);
            Assert.That(rtc.NmiDisabled, Is.True);
            Assert.That(rtc.Index, Is.EqualTo(0x0F));
            Assert.That(g.In(0x71), Is.EqualTo(0x5A), "index 0x8F is register 0x0F");
            g.Out(0x70, 0x8D);
            Assert.That(g.In(0x71), Is.EqualTo(0x80), "index 0x8D is register D");
            Assert.That(g.In(0x70), Is.EqualTo(0xFF), "port 0x70 is write-only on PCs");
            g.Out(0x70, 0x0D);
            Assert.That(rtc.NmiDisabled, Is.False);
        }

        [Test]
        public void A_word_OUT_to_port_0x70_selects_and_writes_and_a_word_IN_reads_both_ports()
        {
            var rtc = Rtc(Supplied);
            rtc.Write(0x70, 2, 0x5A_20, T0);
            Assert.That(rtc.Index, Is.EqualTo(0x20));
            Assert.That(rtc.Read(0x70, 2, T0), Is.EqualTo(0x5AFFu), "0x70 reads 0xFF, 0x71 register 0x20");
            Assert.That(rtc.Read(0x71, 2, T0), Is.EqualTo(0xFF5Au), "beyond 0x71 is not the RTC's");
            Assert.That(rtc.Claims(0x70) && rtc.Claims(0x71), Is.True);
            Assert.That(rtc.Claims(0x6F) || rtc.Claims(0x72), Is.False);
        }

        [Test]
        public void Two_digit_years_wrap_and_the_century_follows()
        {
            var g = new Guest(Rtc(new CalendarTime(2099, 12, 31, 23, 59, 59)), T0);
            g.Tsc = After(1);
            Assert.That((g.Read(0x09), g.Read(0x32)), Is.EqualTo((0x00, 0x21)));
        }
    }
}
