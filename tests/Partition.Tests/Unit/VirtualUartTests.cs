using NUnit.Framework;
using Partition.Devices;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    public class VirtualUartTests
    {
        private static void Send(VirtualUart16550 uart, string text)
        {
            foreach (char c in text)
                uart.Write(0x3F8, c);
        }

        [Test]
        public void WholeLinesWithThePartitionPrefixAndNoCarriageReturns()
        {
            var cpu = FakeCpu.Reset();
            var uart = new VirtualUart16550("alpha", 0x3F8);
            Send(uart, "one\r\ntwo\n");
            Assert.That(cpu.ConsoleText, Is.EqualTo("[alpha] one\n[alpha] two\n"));
            Assert.That(uart.Lines, Is.EqualTo(2));
            Assert.That(uart.Transmitted, Is.EqualTo(9));
        }

        [Test]
        public void TwoPartitionsNeverInterleaveMidLine()
        {
            var cpu = FakeCpu.Reset();
            var a = new VirtualUart16550("a", 0x3F8);
            var b = new VirtualUart16550("b", 0x3F8);
            Send(a, "hel");
            Send(b, "wor");
            Send(a, "lo\n");
            Send(b, "ld\n");
            Assert.That(cpu.ConsoleText, Is.EqualTo("[a] hello\n[b] world\n"));
        }

        [Test]
        public void LongLinesAreCutAndUnfinishedOnesFlushedWhenAsked()
        {
            var cpu = FakeCpu.Reset();
            var uart = new VirtualUart16550("x", 0x3F8);
            Send(uart, new string('z', 170));
            uart.Flush();
            var lines = cpu.ConsoleText.TrimEnd('\n').Split('\n');
            Assert.That(lines, Has.Length.EqualTo(2));
            Assert.That(lines[0], Is.EqualTo("[x] " + new string('z', 160)));
            Assert.That(lines[1], Is.EqualTo("[x] " + new string('z', 10)));
        }

        [Test]
        public void RegistersBehaveLikeA16550()
        {
            FakeCpu.Reset();
            var uart = new VirtualUart16550("x", 0x2F8);
            Assert.That(uart.Claims(0x2F8) && uart.Claims(0x2FF) && !uart.Claims(0x300), Is.True);
            Assert.That(uart.Read(0x2FD), Is.EqualTo(0x60u), "LSR: transmitter ready and empty");
            uart.Write(0x2FB, 0x80);                    // DLAB
            uart.Write(0x2F8, 0x01);
            uart.Write(0x2F9, 0x00);
            Assert.That(uart.Read(0x2F8), Is.EqualTo(1u), "divisor latch low");
            uart.Write(0x2FB, 0x03);
            uart.Write(0x2FF, 0x5A);
            Assert.That(uart.Read(0x2FF), Is.EqualTo(0x5Au), "scratch register");
            Assert.That(uart.Transmitted, Is.Zero, "divisor writes are not data");
        }
    }
}
