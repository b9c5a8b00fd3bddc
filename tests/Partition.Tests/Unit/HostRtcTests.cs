using System;
using System.Collections.Generic;
using NUnit.Framework;
using Partition.Devices;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The hypervisor's one read of the machine's RTC, against a port-level fake of the chip on
    /// the fake CPU's port bus: its coding as register B says, UIP, an update falling between
    /// two reads, a missing or broken RTC, the century byte; and against the partitions' own
    /// virtual RTC, which it must read back exactly.
    /// </summary>
    public class HostRtcTests
    {
        /// <summary>
        /// An RTC as the hypervisor sees it through ports 0x70/0x71: 128 bytes it can set, UIP
        /// set for the next <see cref="UipReads"/> reads of register A, and an optional update
        /// (<see cref="Tick"/>) after a given number of data-port reads.
        /// </summary>
        private sealed class FakeRtc : IFakePortDevice
        {
            public readonly byte[] Bytes = new byte[128];
            public int UipReads;
            public int ReadsUntilTick = -1;
            public Action<FakeRtc> Tick;
            public readonly List<byte> IndexWrites = new();
            private byte _index;

            public bool Claims(ushort port) => port == 0x70 || port == 0x71;

            public byte Read(ushort port)
            {
                if (port == 0x70)
                    return 0xFF;
                if (ReadsUntilTick >= 0 && ReadsUntilTick-- == 0)
                    Tick(this);
                if (_index == 0x0A && UipReads > 0)
                {
                    UipReads--;
                    return (byte)(Bytes[0x0A] | 0x80);
                }
                return Bytes[_index];
            }

            public void Write(ushort port, byte value)
            {
                if (port == 0x70)
                {
                    _index = (byte)(value & 0x7F);
                    IndexWrites.Add(value);
                }
                else
                {
                    Bytes[_index] = value;
                }
            }

            public void SetTime(byte b, byte seconds, byte minutes, byte hours, byte date, byte month, byte year, byte century)
            {
                Bytes[0x0A] = 0x26;
                Bytes[0x0B] = b;
                Bytes[0x0D] = 0x80;
                Bytes[0x00] = seconds;
                Bytes[0x02] = minutes;
                Bytes[0x04] = hours;
                Bytes[0x07] = date;
                Bytes[0x08] = month;
                Bytes[0x09] = year;
                Bytes[0x32] = century;
            }
        }

        private FakeCpu _cpu;
        private FakeRtc _rtc;

        [SetUp]
        public void Machine()
        {
            _cpu = FakeCpu.Reset();
            _rtc = new FakeRtc();
            _cpu.PortDevices.Add(_rtc);
        }

        private static CalendarTime Read()
        {
            Assert.That(HostRtc.TryRead(out var time), Is.True);
            return time;
        }

        [Test]
        public void BCD_24_hour_as_PC_firmware_keeps_it()
        {
            _rtc.SetTime(0x02, 0x34, 0x12, 0x00, 0x01, 0x12, 0x26, 0x20);
            Assert.That(Read(), Is.EqualTo(new CalendarTime(2026, 12, 1, 0, 12, 34)));
        }

        [TestCase((byte)0x81, 13, TestName = "1 PM")]
        [TestCase((byte)0x8C, 12, TestName = "12 PM is noon")]
        [TestCase((byte)0x0C, 0, TestName = "12 AM is midnight")]
        [TestCase((byte)0x0B, 11, TestName = "11 AM")]
        public void Binary_12_hour(byte hours, int hour24)
        {
            _rtc.SetTime(0x04, 59, 7, hours, 29, 2, 24, 20);
            Assert.That(Read(), Is.EqualTo(new CalendarTime(2024, 2, 29, hour24, 7, 59)));
        }

        [Test]
        public void BCD_12_hour_PM()
        {
            _rtc.SetTime(0x00, 0x07, 0x14, 0x91, 0x19, 0x01, 0x38, 0x20);
            Assert.That(Read(), Is.EqualTo(new CalendarTime(2038, 1, 19, 23, 14, 7)));
        }

        [TestCase((byte)0x20, 2099, TestName = "Century byte 20")]
        [TestCase((byte)0x21, 2199, TestName = "Century byte 21")]
        [TestCase((byte)0x19, 2099, TestName = "Century byte 19 (stale): 20xx assumed")]
        [TestCase((byte)0x00, 2099, TestName = "No century byte: 20xx assumed")]
        [TestCase((byte)0xFF, 2099, TestName = "A century byte that is not BCD: 20xx assumed")]
        public void The_century_byte_is_used_when_it_is_sane(byte century, int year)
        {
            _rtc.SetTime(0x02, 0x59, 0x59, 0x23, 0x31, 0x12, 0x99, century);
            Assert.That(Read().Year, Is.EqualTo(year));
        }

        [Test]
        public void It_waits_while_an_update_is_in_progress()
        {
            _rtc.SetTime(0x02, 0x34, 0x12, 0x00, 0x01, 0x12, 0x26, 0x20);
            _rtc.UipReads = 50;
            Assert.That(Read(), Is.EqualTo(new CalendarTime(2026, 12, 1, 0, 12, 34)));
            Assert.That(_rtc.UipReads, Is.Zero);
        }

        [Test]
        public void An_update_between_two_reads_makes_it_read_again()
        {
            // 23:59:59 on 31 December 2026 turns into 2027 in the middle of the first pass.
            _rtc.SetTime(0x02, 0x59, 0x59, 0x23, 0x31, 0x12, 0x26, 0x20);
            _rtc.ReadsUntilTick = 4;
            _rtc.Tick = r => r.SetTime(0x02, 0x00, 0x00, 0x00, 0x01, 0x01, 0x27, 0x20);
            Assert.That(Read(), Is.EqualTo(new CalendarTime(2027, 1, 1, 0, 0, 0)));
        }

        [Test]
        public void No_RTC_reads_all_ones_and_gives_up_in_bounded_time()
        {
            _cpu.PortDevices.Clear();
            Assert.That(HostRtc.TryRead(out _), Is.False);
            Assert.That(_cpu.Tsc, Is.LessThan(HostRtc.UipTimeoutMs * Tsc.TicksPerMillisecond * 2 + 100), "one UIP timeout, not one per attempt");
        }

        [Test]
        public void UIP_stuck_set_gives_up()
        {
            _rtc.SetTime(0x02, 0x34, 0x12, 0x00, 0x01, 0x12, 0x26, 0x20);
            _rtc.UipReads = int.MaxValue;
            Assert.That(HostRtc.TryRead(out _), Is.False);
        }

        [Test]
        public void Reads_that_never_agree_give_up()
        {
            _rtc.SetTime(0x02, 0x34, 0x12, 0x00, 0x01, 0x12, 0x26, 0x20);
            _rtc.ReadsUntilTick = 0;
            _rtc.Tick = r =>
            {
                r.Bytes[0x00] = (byte)((r.Bytes[0x00] + 1) & 0x0F);
                r.ReadsUntilTick = 3;
            };
            Assert.That(HostRtc.TryRead(out _), Is.False);
        }

        [TestCase((byte)0x13, (byte)0x01, TestName = "Month 13")]
        [TestCase((byte)0x02, (byte)0x30, TestName = "30 February")]
        [TestCase((byte)0x1A, (byte)0x01, TestName = "A BCD month with a digit above 9")]
        public void A_time_that_does_not_exist_is_no_time(byte month, byte date)
        {
            _rtc.SetTime(0x02, 0x00, 0x00, 0x00, date, month, 0x26, 0x20);
            Assert.That(HostRtc.TryRead(out _), Is.False);
        }

        [Test]
        public void It_leaves_NMIs_unmasked_and_the_index_at_register_D()
        {
            _rtc.SetTime(0x02, 0x34, 0x12, 0x00, 0x01, 0x12, 0x26, 0x20);
            Read();
            Assert.That(_rtc.IndexWrites, Has.All.LessThan(0x80), "bit 7 of every index written is clear");
            Assert.That(_rtc.IndexWrites[^1], Is.EqualTo(0x0D));
            Assert.That(_cpu.PortWrites, Has.None.Matches<(ushort Port, uint Value)>(w => w.Port == 0x71), "it never writes the RTC");
        }

        /// <summary>The partitions' RTC on the port bus, at a fixed TSC.</summary>
        private sealed class VirtualRtcOnBus : IFakePortDevice
        {
            public VirtualRtc Rtc;
            public bool Claims(ushort port) => Rtc.Claims(port);
            public byte Read(ushort port) => (byte)Rtc.Read(port, 1, 0);
            public void Write(ushort port, byte value) => Rtc.Write(port, 1, value, 0);
        }

        [TestCase((byte)0x02)]
        [TestCase((byte)0x06)]
        [TestCase((byte)0x00)]
        [TestCase((byte)0x04)]
        public void It_reads_the_virtual_RTC_back_exactly_in_any_mode(byte registerB)
        {
            var time = new CalendarTime(2026, 12, 1, 15, 12, 34);
            var rtc = new VirtualRtc(new ClockReference(time.ToUnixSeconds(), 0, 1000));
            rtc.Write(0x70, 1, 0x0B, 0);
            rtc.Write(0x71, 1, registerB, 0);
            _cpu.PortDevices.Clear();
            _cpu.PortDevices.Add(new VirtualRtcOnBus { Rtc = rtc });
            Assert.That(Read(), Is.EqualTo(time));
        }

        [Test]
        public void The_wall_clock_starts_from_the_RTC_and_prints_one_line()
        {
            _rtc.SetTime(0x02, 0x34, 0x12, 0x00, 0x01, 0x12, 0x26, 0x20);
            _cpu.Tsc = 1_000_000;
            Assert.That(WallClock.Initialize(), Is.True);
            WallClock.Print();
            Assert.That(_cpu.ConsoleText, Does.Contain("Wall clock: 2026-12-01 00:12:34 UTC (CMOS RTC)\n"));
            var reference = WallClock.Reference;
            Assert.That(reference.UnixSeconds, Is.EqualTo(new CalendarTime(2026, 12, 1, 0, 12, 34).ToUnixSeconds()));
            Assert.That(reference.Tsc, Is.GreaterThan(1_000_000UL), "the TSC after the read");
            Assert.That(reference.TicksPerSecond, Is.EqualTo(Tsc.TicksPerMillisecond * 1000));
        }

        [Test]
        public void Without_an_RTC_the_wall_clock_starts_at_the_epoch_and_says_so()
        {
            _cpu.PortDevices.Clear();
            Assert.That(WallClock.Initialize(), Is.False);
            WallClock.Print();
            Assert.That(_cpu.ConsoleText, Does.Contain(
                "Wall clock: 1970-01-01 00:00:00 UTC (no CMOS RTC could be read; partitions' clocks start at the Unix epoch)\n"));
            Assert.That(WallClock.Reference.UnixSeconds, Is.Zero);
        }
    }
}
