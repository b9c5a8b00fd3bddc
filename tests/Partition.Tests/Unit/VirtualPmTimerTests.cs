using NUnit.Framework;
using Partition.Devices;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The virtual ACPI PM timer read as its users read it: memtest86+ 6.10's TSC calibration
    /// (system/timers.c, correct_tsc: DWORD reads until 178977 ticks, 50 ms, have passed) and
    /// Linux's acpi_pm clocksource (DWORD reads masked to 24 bits); its rate, its 32-bit wrap,
    /// narrower reads, and that it never runs backwards.
    /// </summary>
    public class VirtualPmTimerTests
    {
        private const ushort Port = 0x608;
        private const ulong TscHz = 3_000_000_000;
        private const ulong T0 = 123_456_789;

        private static VirtualPmTimer Timer(ulong tscHz = TscHz) => new(Port, tscHz, T0);

        [Test]
        public void ClaimsItsFourPortsOnly()
        {
            var timer = Timer();
            Assert.That(timer.Claims(0x607), Is.False);
            for (ushort p = 0x608; p < 0x60C; p++)
                Assert.That(timer.Claims(p), Is.True, p.ToString("X"));
            Assert.That(timer.Claims(0x60C), Is.False);
        }

        [Test]
        public void StartsAtZero()
        {
            Assert.That(Timer().Read(Port, 4, T0), Is.Zero);
        }

        [TestCase(3_000_000_000UL)]
        [TestCase(10_001_000UL)]      // Bochs' TSC, as Linux reports it there
        [TestCase(3_579_545UL)]       // the timer's own rate
        [TestCase(1_000_000UL)]
        public void CountsAt3579545HzWhateverTheTscRate(ulong tscHz)
        {
            var timer = Timer(tscHz);
            Assert.That(timer.Read(Port, 4, T0 + tscHz), Is.EqualTo(3_579_545u), "one second");
            Assert.That(timer.Read(Port, 4, T0 + tscHz * 7 + tscHz / 2), Is.EqualTo(7 * 3_579_545u + 3_579_545u / 2), "7.5 seconds");
        }

        [Test]
        public void RateIsExactOverHoursWithoutOverflow()
        {
            // 10 hours at 5 GHz: elapsed * 3579545 would overflow 64 bits (1.8e14 * 3.6e6).
            ulong tscHz = 5_000_000_000;
            var timer = Timer(tscHz);
            ulong ticks = timer.TicksAt(T0 + tscHz * 36_000 + tscHz / 4);
            Assert.That(ticks, Is.EqualTo(3_579_545UL * 36_000 + 3_579_545UL / 4));
        }

        /// <summary>TMR_VAL_EXT: 32 bits, so the count wraps after 2^32 ticks (about 1200 s), not 2^24.</summary>
        [Test]
        public void WrapsAt32Bits()
        {
            ulong tscHz = 3_579_545; // one TSC tick per timer tick
            var timer = Timer(tscHz);
            Assert.That(timer.Read(Port, 4, T0 + (1UL << 24)), Is.EqualTo(1u << 24), "no wrap at 24 bits");
            Assert.That(timer.Read(Port, 4, T0 + 0xFFFF_FFFFUL), Is.EqualTo(0xFFFF_FFFFu));
            Assert.That(timer.Read(Port, 4, T0 + 0x1_0000_0000UL), Is.Zero);
            Assert.That(timer.Read(Port, 4, T0 + 0x1_0000_0005UL), Is.EqualTo(5u));
        }

        [Test]
        public void NeverGoesBackwardsWhenATscBehindIsPassed()
        {
            var timer = Timer();
            uint later = timer.Read(Port, 4, T0 + TscHz);
            Assert.That(timer.Read(Port, 4, T0 + TscHz - 1000), Is.EqualTo(later), "another core's TSC a little behind");
            Assert.That(timer.Read(Port, 4, T0 - 5), Is.EqualTo(later), "even one behind the start");
            Assert.That(timer.Read(Port, 4, T0 + 2 * TscHz), Is.GreaterThan(later));
        }

        [Test]
        public void ResetStartsTheCountAgain()
        {
            var timer = Timer();
            Assert.That(timer.Read(Port, 4, T0 + TscHz), Is.Not.Zero);
            timer.Reset(T0 + 10 * TscHz);
            Assert.That(timer.Read(Port, 4, T0 + 10 * TscHz), Is.Zero);
            Assert.That(timer.Read(Port, 4, T0 + 11 * TscHz), Is.EqualTo(3_579_545u));
        }

        /// <summary>Byte and word reads get the count's bytes by lane; past the block's end reads all ones.</summary>
        [Test]
        public void NarrowAndOffsetReadsGetTheBytesOfTheCount()
        {
            ulong tscHz = 3_579_545;
            var timer = Timer(tscHz);
            ulong at = T0 + 0x12345678;
            Assert.That(timer.Read(0x608, 4, at), Is.EqualTo(0x12345678u));
            Assert.That(timer.Read(0x608, 1, at), Is.EqualTo(0x78u));
            Assert.That(timer.Read(0x609, 1, at), Is.EqualTo(0x56u));
            Assert.That(timer.Read(0x60A, 1, at), Is.EqualTo(0x34u));
            Assert.That(timer.Read(0x60B, 1, at), Is.EqualTo(0x12u));
            Assert.That(timer.Read(0x608, 2, at), Is.EqualTo(0x5678u));
            Assert.That(timer.Read(0x60A, 2, at), Is.EqualTo(0x1234u));
            Assert.That(timer.Read(0x60A, 4, at), Is.EqualTo(0xFFFF1234u));
            Assert.That(timer.Read(0x60B, 2, at), Is.EqualTo(0xFF12u));
        }

        /// <summary>
        /// memtest86+ 6.10, system/timers.c correct_tsc, with a guest whose reads each take
        /// <paramref name="tscPerRead"/> TSC ticks (a VM exit): it must see the timer move, run
        /// at least 10 loops, and measure the TSC's rate within 2% (memtest's own error: the
        /// reads before the start and after the end each add up to a read's cost, 1% of 50 ms
        /// when an exit costs 0.2 ms, as in Bochs).
        /// </summary>
        [TestCase(3_000_000_000UL, 3_000UL)]   // a 3 GHz machine, 1 µs an exit
        [TestCase(10_001_000UL, 2_000UL)]      // Bochs: 10 MHz TSC, 0.2 ms an exit
        public void MemtestCalibratesItsTscAgainstIt(ulong tscHz, ulong tscPerRead)
        {
            const uint ApicTicks50ms = 178977; // memtest's APIC_TICKS_50mS
            var timer = Timer(tscHz);
            ulong tsc = T0 + 5 * tscHz; // some seconds after the partition started
            uint Inl()
            {
                tsc += tscPerRead;
                return timer.Read(Port, 4, tsc);
            }

            uint startTime = (uint)tsc;
            uint counter = Inl();
            Assert.That(Inl(), Is.GreaterThan(counter), "the counter increments");
            int loops = 0;
            while (true)
            {
                if (Inl() > counter + ApicTicks50ms || loops > 1000000)
                    break;
                loops++;
            }
            uint runTime = (uint)tsc - startTime;
            Assert.That(loops, Is.GreaterThanOrEqualTo(10));
            Assert.That(runTime, Is.GreaterThanOrEqualTo(50000u));
            ulong clksPerMsec = runTime / 50;
            Assert.That((double)clksPerMsec, Is.EqualTo(tscHz / 1000.0).Within(2).Percent);
        }

        /// <summary>Linux's acpi_pm: DWORD reads masked to 24 bits, delta taken modulo 2^24.</summary>
        [Test]
        public void LinuxSees24BitDeltasAcrossA24BitBoundary()
        {
            ulong tscHz = 3_579_545;
            var timer = Timer(tscHz);
            uint a = timer.Read(Port, 4, T0 + 0xFFFFF0) & 0xFFFFFF;
            uint b = timer.Read(Port, 4, T0 + 0x1000010) & 0xFFFFFF;
            Assert.That((b - a) & 0xFFFFFF, Is.EqualTo(0x20u));
        }
    }
}
