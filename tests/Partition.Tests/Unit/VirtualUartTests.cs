using System.Collections.Generic;
using NUnit.Framework;
using Partition.Devices;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The virtual 16550A register by register, against the PC16550D data sheet. How Linux's
    /// 8250 driver sees it is in <see cref="VirtualUartLinuxTests"/>.
    /// </summary>
    public class VirtualUartTests
    {
        private const ushort Com1 = 0x3F8;
        private const ushort Rbr = Com1, Ier = Com1 + 1, Iir = Com1 + 2, Fcr = Com1 + 2, Lcr = Com1 + 3,
            Mcr = Com1 + 4, Lsr = Com1 + 5, Msr = Com1 + 6;

        /// <summary>Records the levels an interrupt controller's pins are driven to.</summary>
        private sealed class RecordingPins : IInterruptController
        {
            public readonly List<(int Pin, bool Level)> Changes = new List<(int, bool)>();
            public void SetLevel(int pin, bool asserted) => Changes.Add((pin, asserted));
        }

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

        [Test]
        public void At_reset_nothing_is_pending_FIFOs_are_off_and_the_line_is_low()
        {
            FakeCpu.Reset();
            var uart = new VirtualUart16550("x", Com1);
            Assert.That(uart.Read(Iir), Is.EqualTo(0x01u), "no interrupt pending, FIFOs off (PC16550D table VIII)");
            Assert.That(uart.Read(Ier), Is.Zero);
            Assert.That(uart.Read(Mcr), Is.Zero);
            Assert.That(uart.Read(Msr), Is.EqualTo(0xB0u), "CTS, DSR, DCD from the always-ready far end, no deltas");
            Assert.That(uart.InterruptLine, Is.False);
        }

        [Test]
        public void IIR_reports_the_FIFO_state_in_bits_7_6_and_FCR_is_write_only()
        {
            FakeCpu.Reset();
            var uart = new VirtualUart16550("x", Com1);
            uart.Write(Fcr, 0x01);
            Assert.That(uart.Read(Iir), Is.EqualTo(0xC1u), "16550A: both bits set with FIFOs enabled");
            uart.Write(Fcr, 0x21);                              // bit 5 (64-byte FIFO) is a 16750's, not ours
            Assert.That(uart.Read(Iir), Is.EqualTo(0xC1u));
            uart.Write(Fcr, 0x00);
            Assert.That(uart.Read(Iir), Is.EqualTo(0x01u));
        }

        [Test]
        public void THRE_interrupt_is_raised_by_enabling_ETBEI_and_cleared_by_reading_IIR_when_it_is_the_source()
        {
            FakeCpu.Reset();
            var uart = new VirtualUart16550("x", Com1);
            uart.Write(Ier, 0x02);
            Assert.That(uart.Read(Iir), Is.EqualTo(0x02u), "THR empty and ETBEI just set");
            Assert.That(uart.Read(Iir), Is.EqualTo(0x01u), "reading IIR cleared it");
            uart.Write(Ier, 0x02);
            Assert.That(uart.Read(Iir), Is.EqualTo(0x01u), "ETBEI already set: no new interrupt");
            uart.Write(Rbr, 'a');
            Assert.That(uart.Read(Iir), Is.EqualTo(0x02u), "a written byte leaves at once: THR empty again");
            uart.Write(Ier, 0x00);
            uart.Write(Ier, 0x02);
            Assert.That(uart.Read(Lsr), Is.EqualTo(0x60u), "reading LSR does not clear it");
            Assert.That(uart.Read(Iir), Is.EqualTo(0x02u), "set again by ETBEI going 0 to 1");
        }

        [Test]
        public void Interrupts_are_reported_by_priority_and_each_cleared_by_its_own_access()
        {
            FakeCpu.Reset();
            var uart = new VirtualUart16550("x", Com1);
            uart.Write(Mcr, 0x10);                              // loopback, all outputs off: DSR, CTS, DCD drop
            uart.Write(Ier, 0x0F);
            uart.Write(Rbr, 'x');                               // 16450 mode: the second byte overruns the first
            uart.Write(Rbr, 'y');
            Assert.That(uart.Read(Iir), Is.EqualTo(0x06u), "receiver line status first");
            Assert.That(uart.Read(Lsr), Is.EqualTo(0x63u), "overrun, data ready, THR and transmitter empty");
            Assert.That(uart.Read(Iir), Is.EqualTo(0x04u), "then received data");
            Assert.That(uart.Read(Iir), Is.EqualTo(0x04u), "reading IIR does not clear it");
            Assert.That(uart.Read(Rbr), Is.EqualTo((uint)'y'), "16450 mode: the overrunning byte replaced the unread one");
            Assert.That(uart.Read(Iir), Is.EqualTo(0x02u), "then THR empty");
            Assert.That(uart.Read(Iir), Is.EqualTo(0x00u), "then modem status");
            Assert.That(uart.Read(Msr), Is.EqualTo(0x0Bu), "DCTS, DDSR, DDCD; all inputs low in loopback");
            Assert.That(uart.Read(Iir), Is.EqualTo(0x01u));
            Assert.That(uart.Read(Msr), Is.Zero, "reading MSR cleared the deltas");
        }

        [Test]
        public void Loopback_returns_transmitted_bytes_and_the_modem_outputs_without_touching_the_console()
        {
            var cpu = FakeCpu.Reset();
            var uart = new VirtualUart16550("x", Com1);
            uart.Write(Fcr, 0x07);
            uart.Write(Mcr, 0x10 | 0x0A);                      // Linux's autoconfig: LOOP | OUT2 | RTS
            Assert.That(uart.Read(Msr) & 0xF0, Is.EqualTo(0x90u), "RTS to CTS, OUT2 to DCD");
            uart.Write(Mcr, 0x10 | 0x05);
            Assert.That(uart.Read(Msr), Is.EqualTo(0x6Bu), "DTR to DSR, OUT1 to RI; CTS, DSR and DCD changed");
            uart.Write(Mcr, 0x10);
            Assert.That(uart.Read(Msr), Is.EqualTo(0x06u), "RI's trailing edge (TERI), DSR changed");
            foreach (char c in "loop\n")
                uart.Write(Rbr, c);
            var back = "";
            while ((uart.Read(Lsr) & 1) != 0)
                back += (char)uart.Read(Rbr);
            Assert.That(back, Is.EqualTo("loop\n"));
            Assert.That(uart.Receive((byte)'z'), Is.False, "the serial input is disconnected in loopback");
            Assert.That(cpu.ConsoleText, Is.Empty);
            Assert.That(uart.Transmitted, Is.Zero);
            uart.Write(Mcr, 0x00);
            Assert.That(uart.Read(Msr), Is.EqualTo(0xBBu), "back to the far end's lines, with their deltas");
        }

        [Test]
        public void Loopback_in_FIFO_mode_keeps_sixteen_bytes_and_drops_the_rest_as_an_overrun()
        {
            FakeCpu.Reset();
            var uart = new VirtualUart16550("x", Com1);
            uart.Write(Fcr, 0x07);
            uart.Write(Mcr, 0x10);
            for (int i = 0; i < 20; i++)
                uart.Write(Rbr, (uint)i);
            Assert.That(uart.Read(Lsr), Is.EqualTo(0x63u));
            Assert.That(uart.Read(Lsr), Is.EqualTo(0x61u), "OE is cleared by reading LSR");
            for (int i = 0; i < 16; i++)
                Assert.That(uart.Read(Rbr), Is.EqualTo((uint)i));
            Assert.That(uart.Read(Lsr) & 1, Is.Zero);
        }

        [Test]
        public void The_receive_FIFO_holds_sixteen_bytes_in_order()
        {
            FakeCpu.Reset();
            var uart = new VirtualUart16550("x", Com1);
            uart.Write(Fcr, 0xC1);                              // FIFOs on, trigger level 14
            uart.Write(Ier, 0x01);
            Assert.That(uart.Read(Iir), Is.EqualTo(0xC1u));
            for (int i = 0; i < 16; i++)
            {
                Assert.That(uart.Receive((byte)('a' + i)), Is.True);
                Assert.That(uart.Read(Iir), Is.EqualTo(i + 1 < 14 ? 0xCCu : 0xC4u),
                    "character timeout below the trigger level, received data from it on");
            }
            Assert.That(uart.Receive((byte)'!'), Is.False, "full");
            Assert.That(uart.Received, Is.EqualTo(16));
            Assert.That(uart.Read(Lsr), Is.EqualTo(0x61u), "data ready, no overrun: the hypervisor never overruns");
            for (int i = 0; i < 16; i++)
                Assert.That(uart.Read(Rbr), Is.EqualTo((uint)('a' + i)));
            Assert.That(uart.Read(Lsr), Is.EqualTo(0x60u));
            Assert.That(uart.Read(Iir), Is.EqualTo(0xC1u));

            uart.Receive((byte)'q');
            uart.Write(Fcr, 0xC3);                              // clear the receive FIFO
            Assert.That(uart.Read(Lsr), Is.EqualTo(0x60u));
            uart.Write(Fcr, 0x00);                              // 16450 mode: one byte
            Assert.That(uart.Receive((byte)'1'), Is.True);
            Assert.That(uart.Receive((byte)'2'), Is.False);
            Assert.That(uart.Read(Iir), Is.EqualTo(0x04u));
            Assert.That(uart.Read(Rbr), Is.EqualTo((uint)'1'));
            Assert.That(uart.Read(Rbr), Is.EqualTo((uint)'1'), "an empty RBR reads its last byte again");
        }

        [Test]
        public void The_interrupt_line_follows_pending_interrupts_gated_by_OUT2_and_drives_the_connected_pin()
        {
            FakeCpu.Reset();
            var uart = new VirtualUart16550("x", Com1);
            var pins = new RecordingPins();
            uart.ConnectInterrupt(pins, 4);
            Assert.That(pins.Changes, Is.EqualTo(new[] { (4, false) }), "connecting sets the current level once");
            uart.Write(Ier, 0x01);
            uart.Receive((byte)'k');
            Assert.That(uart.InterruptLine, Is.False, "pending, but OUT2 is off");
            uart.Write(Mcr, 0x08);
            Assert.That(uart.InterruptLine, Is.True);
            uart.Write(Mcr, 0x18);
            Assert.That(uart.InterruptLine, Is.False, "loopback forces the OUT2 pin inactive");
            uart.Write(Mcr, 0x0B);
            uart.Read(Lsr);
            uart.Read(Iir);
            Assert.That(uart.InterruptLine, Is.True, "neither LSR nor IIR clears received data");
            uart.Read(Rbr);
            Assert.That(uart.InterruptLine, Is.False);
            Assert.That(pins.Changes, Is.EqualTo(new[] { (4, false), (4, true), (4, false), (4, true), (4, false) }),
                "only changes are propagated");
        }

        [Test]
        public void Registers_without_side_effects_leave_a_pending_interrupt_as_it_is()
        {
            // LCR (DLAB included), MCR and IER reads, and LCR and scratch writes, change nothing an
            // interrupt depends on: the line stays up, with no new edge (the exit path skips the
            // interrupt line for them).
            FakeCpu.Reset();
            var uart = new VirtualUart16550("x", Com1);
            var pins = new RecordingPins();
            uart.ConnectInterrupt(pins, 4);
            uart.Write(Mcr, 0x08);
            uart.Write(Ier, 0x01);
            uart.Receive((byte)'k');
            Assert.That(uart.InterruptLine, Is.True);
            uart.Write(Com1 + 7, 0x5A);
            uart.Write(Lcr, 0x83);
            Assert.That(uart.Read(Ier), Is.EqualTo(0u), "DLAB set: the divisor's high byte");
            uart.Write(Lcr, 0x03);
            Assert.That((uart.Read(Com1 + 7), uart.Read(Lcr), uart.Read(Mcr), uart.Read(Ier)), Is.EqualTo((0x5Au, 0x03u, 0x08u, 0x01u)));
            Assert.That(uart.InterruptLine, Is.True);
            Assert.That(pins.Changes, Is.EqualTo(new[] { (4, false), (4, true) }));
            uart.Read(Rbr);
            Assert.That(uart.InterruptLine, Is.False, "reading the byte still ends it");
        }

        [Test]
        public void A_THR_write_while_THRE_is_pending_makes_no_new_edge()
        {
            FakeCpu.Reset();
            var uart = new VirtualUart16550("x", Com1);
            var pins = new RecordingPins();
            uart.ConnectInterrupt(pins, 4);
            uart.Write(Mcr, 0x08);
            uart.Write(Ier, 0x02);
            uart.Write(Rbr, 'a');
            uart.Write(Rbr, 'b');
            Assert.That(pins.Changes, Is.EqualTo(new[] { (4, false), (4, true) }));
            uart.Read(Iir);
            uart.Write(Rbr, 'c');
            Assert.That(pins.Changes, Is.EqualTo(new[] { (4, false), (4, true), (4, false), (4, true) }),
                "cleared by IIR, then THR empty again after the write: a new edge, as on a real 16550");
        }

        [Test]
        public void Reset_returns_the_registers_to_their_reset_values_and_lowers_the_line()
        {
            var cpu = FakeCpu.Reset();
            var uart = new VirtualUart16550("x", Com1);
            var pins = new RecordingPins();
            uart.ConnectInterrupt(pins, 4);
            uart.Write(Fcr, 0x07);
            uart.Write(Mcr, 0x0B);
            uart.Write(Ier, 0x0F);
            uart.Receive((byte)'r');
            uart.Write(Rbr, 'p');
            Assert.That(uart.InterruptLine, Is.True);
            uart.Reset();
            Assert.That(cpu.ConsoleText, Is.EqualTo("[x] p\n"), "the unfinished line is written out first");
            Assert.That(uart.InterruptLine, Is.False);
            Assert.That(pins.Changes[pins.Changes.Count - 1], Is.EqualTo((4, false)));
            Assert.That((uart.Read(Ier), uart.Read(Iir), uart.Read(Mcr), uart.Read(Lsr), uart.Read(Msr)),
                Is.EqualTo((0u, 0x01u, 0u, 0x60u, 0xB0u)));
            Assert.That(uart.Received, Is.EqualTo(1), "statistics are kept");
        }
    }
}
