using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// When the console's pump is due: the exit path asks at every exit, so an idle console must
    /// cost one compare there, and a writer's bytes must never wait for a pump that is not coming.
    /// </summary>
    public class HypervisorConsolePumpTests
    {
        [Test]
        public void A_pump_that_finds_the_ring_empty_is_not_due_again_until_a_writer_puts_bytes()
        {
            var cpu = FakeCpu.Reset();
            HypervisorConsole.Write("boot\n");
            HypervisorConsole.Flush();
            HypervisorConsole.PumpNow();
            Assert.That(HypervisorConsole.PumpDue(ulong.MaxValue - 1), Is.False, "the ring was found empty: parked");
            HypervisorConsole.Write("x");
            Assert.That(HypervisorConsole.PumpDue(0), Is.True, "a writer's bytes make it due at once");
            HypervisorConsole.PumpNow();
            Assert.That(cpu.Com1.ToString(), Is.EqualTo("boot\r\nx"));
        }

        [Test]
        public void A_pump_that_gave_the_uart_bytes_is_due_again_when_they_have_gone_out()
        {
            var cpu = FakeCpu.Reset();
            cpu.Tsc = 1_000_000;
            HypervisorConsole.Write(new string('a', 40));
            HypervisorConsole.PumpNow();
            Assert.That(cpu.Com1.Length, Is.EqualTo(16), "one FIFO's worth");
            // 16 bytes at 115200 baud (10 bits each) take 1.39 ms.
            Assert.That(HypervisorConsole.PumpDue(cpu.Tsc + Tsc.TicksPerMillisecond), Is.False, "the UART is still sending them");
            Assert.That(HypervisorConsole.PumpDue(cpu.Tsc + Tsc.TicksPerMillisecond * 14 / 10), Is.True, "once they have gone out");
        }
    }
}
