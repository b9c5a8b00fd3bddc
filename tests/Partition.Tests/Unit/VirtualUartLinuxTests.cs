using System.Collections.Generic;
using System.Text;
using NUnit.Framework;
using Partition.Devices;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The virtual 16550A as Linux 6.1's 8250 driver (drivers/tty/serial/8250/8250_port.c and
    /// 8250_core.c) sees it: <see cref="Linux8250Port"/> replays the driver's register accesses,
    /// function by function, and the tests assert what the driver would conclude. The UART's
    /// interrupt goes through a <see cref="VirtualIoApic"/> programmed as Linux programs ISA
    /// IRQ 4, into a sink standing for the local APIC.
    /// </summary>
    public class VirtualUartLinuxTests
    {
        private const ushort Com1 = 0x3F8;
        private const byte Vector = 0x24;

        private FakeCpu _cpu;
        private VirtualUart16550 _uart;
        private VirtualIoApic _ioApic;
        private LocalApic _lapic;
        private Linux8250Port _linux;

        /// <summary>
        /// A local APIC's view of one vector: deliveries set IRR; while the handler runs (ISR),
        /// further deliveries only set IRR again, so any number of edges during a handler is
        /// one more interrupt afterwards (SDM Vol. 3A, 11.8.4).
        /// </summary>
        private sealed class LocalApic : IInterruptSink
        {
            public readonly List<InterruptMessage> Messages = new List<InterruptMessage>();
            public bool Irr;

            public void Deliver(in InterruptMessage message)
            {
                Messages.Add(message);
                Irr = true;
            }
        }

        [SetUp]
        public void Partition()
        {
            _cpu = FakeCpu.Reset();
            _lapic = new LocalApic();
            _ioApic = new VirtualIoApic(1, _lapic);
            _uart = new VirtualUart16550("linux", Com1);
            _uart.ConnectInterrupt(_ioApic, 4);
            _linux = new Linux8250Port(_uart);
        }

        /// <summary>Linux's ioapic_write_entry for ISA IRQ 4: edge, active high, fixed, physical destination 0; high word first.</summary>
        private void ProgramIoApicPin4()
        {
            _ioApic.Write(VirtualIoApic.IoRegSel, 4, 0x19);
            _ioApic.Write(VirtualIoApic.IoWin, 4, 0);
            _ioApic.Write(VirtualIoApic.IoRegSel, 4, 0x18);
            _ioApic.Write(VirtualIoApic.IoWin, 4, Vector);
        }

        /// <summary>
        /// The guest takes the interrupts the local APIC holds, as the CPU would with interrupts
        /// enabled: serial8250_interrupt, then an EOI (edge-triggered: the local APIC's only).
        /// Returns how many invocations found nothing to do (IRQ_NONE).
        /// </summary>
        private int TakeInterrupts()
        {
            int unhandled = 0;
            for (int i = 0; _lapic.Irr; i++)
            {
                Assert.That(i, Is.LessThan(100), "an interrupt storm");
                _lapic.Irr = false;
                if (!_linux.Serial8250Interrupt())
                    unhandled++;
            }
            return unhandled;
        }

        private void BootToInit()
        {
            // Early console (console=ttyS0,115200): uart_set_options -> serial8250_set_termios, MCR = DTR.
            _linux.Serial8250SetTermios(divisor: 1, lcr: 0x03, mctrl: Linux8250Port.McrDtr);
            _linux.Serial8250ConsoleWrite("Linux version 6.1\n", useFifo: false);
            // The PNP0501 device from the DSDT: UPF_SKIP_TEST | UPF_BOOT_AUTOCONF (8250_pnp.c).
            Assert.That(_linux.Autoconfig(skipTest: true, variants: false), Is.EqualTo("16550A"));
            ProgramIoApicPin4();
            _linux.Serial8250ConsoleWrite("00:01: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A\n", useFifo: false);
            // /init opens /dev/console: uart_port_startup -> serial8250_do_startup, set_termios, DTR/RTS.
            Assert.That(_linux.Serial8250DoStartup(hasIrq: true), Is.EqualTo(Linux8250Port.Bugs.None));
            _linux.Serial8250SetTermios(divisor: 1, lcr: 0x03, mctrl: Linux8250Port.McrOut2 | Linux8250Port.McrDtr | Linux8250Port.McrRts);
            // The TXEN test sets ETBEI with OUT2 already on: an edge the CPU takes after
            // spin_unlock_irqrestore, when the IIR read has cleared it. A real 16550 on a PC does
            // the same; one IRQ_NONE is far from what note_interrupt calls "nobody cared".
            Assert.That(_lapic.Messages, Has.Count.EqualTo(1));
            Assert.That(TakeInterrupts(), Is.EqualTo(1));
            _lapic.Messages.Clear();
        }

        [TestCase(false, false, TestName = "Autoconfig finds a 16550A (x86 defaults: loopback test skipped, no 16550A variants)")]
        [TestCase(true, false, TestName = "Autoconfig finds a 16550A with the loopback test (legacy COM ports without UPF_SKIP_TEST)")]
        [TestCase(true, true, TestName = "Autoconfig finds a 16550A with SERIAL_8250_16550A_VARIANTS: no EFR, not NatSemi, not 16750, not XScale, 16-byte FIFO")]
        public void Autoconfig_identifies_a_16550A(bool loopbackTest, bool variants)
        {
            Assert.That(_linux.Autoconfig(skipTest: !loopbackTest, variants: variants), Is.EqualTo("16550A"));
            Assert.That(_cpu.ConsoleText, Is.Empty, "nothing of the probing (size_fifo's 256 bytes) reaches the console");
            Assert.That(_uart.Transmitted, Is.Zero);
            Assert.That(_uart.Read(Com1 + 1), Is.Zero, "IER cleared at the end");
            Assert.That(_uart.Read(Com1 + 4), Is.Zero, "MCR restored");
        }

        [Test]
        public void Start_up_flags_neither_UART_BUG_THRE_nor_UART_BUG_TXEN()
        {
            Assert.That(_linux.Autoconfig(skipTest: true, variants: false), Is.EqualTo("16550A"));
            ProgramIoApicPin4();
            Assert.That(_linux.Serial8250DoStartup(hasIrq: true), Is.EqualTo(Linux8250Port.Bugs.None));
            Assert.That(_linux.ThreTestIir, Is.EqualTo((0x02, 0x02)),
                "THRE reported at the first ETBEI and again after ETBEI went 0 to 1 (FIFOs are off at that point)");
            Assert.That(_linux.LineDuringThreTest, Is.False, "OUT2 is still off during the THRE test");
            Assert.That(_lapic.Messages, Has.Count.EqualTo(1), "the TXEN test's edge, with OUT2 on");
            Assert.That(_uart.InterruptLine, Is.False, "start-up ends with nothing pending");
        }

        [Test]
        public void The_polled_console_writes_whole_lines_and_restores_IER()
        {
            BootToInit();
            _linux.Serial8250ConsoleWrite("Run /init as init process\nwith arguments:\n", useFifo: true);
            Assert.That(_cpu.ConsoleText, Is.EqualTo(
                "[linux] Linux version 6.1\n" +
                "[linux] 00:01: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A\n" +
                "[linux] Run /init as init process\n" +
                "[linux] with arguments:\n"));
            Assert.That(_uart.Read(Com1 + 1), Is.EqualTo((uint)(Linux8250Port.IerRlsi | Linux8250Port.IerRdi | Linux8250Port.IerMsi)));
            Assert.That(_lapic.Messages, Is.Empty, "console output is polled, with IER cleared");
        }

        [Test]
        public void The_tty_of_init_transmits_by_THRE_interrupts_through_the_IO_APIC()
        {
            BootToInit();
            _linux.UartWrite("/ # echo this line is longer than sixteen bytes\r\n");
            Assert.That(_lapic.Messages, Has.Count.EqualTo(1), "ETBEI 0 to 1 with THR empty: one edge on pin 4");
            var m = _lapic.Messages[0];
            Assert.That((m.Vector, m.Destination, m.Logical, m.LevelTriggered), Is.EqualTo((Vector, 0u, false, false)));
            int unhandled = TakeInterrupts();
            Assert.That(_cpu.ConsoleText, Does.EndWith("[linux] / # echo this line is longer than sixteen bytes\n"));
            Assert.That(_linux.PendingTransmit, Is.Zero);
            Assert.That(_uart.Read(Com1 + 1) & Linux8250Port.IerThri, Is.Zero, "__stop_tx cleared ETBEI");
            Assert.That(_uart.InterruptLine, Is.False, "the handler left the line low, so the next edge can be seen");
            Assert.That(unhandled, Is.LessThanOrEqualTo(1),
                "at most one interrupt after the burst finds nothing to do (an edge raised while the handler ran)");
            Assert.That(_ioApic.Delivered(4), Is.EqualTo((ulong)_lapic.Messages.Count + 1), "and the TXEN test's");

            _linux.UartWrite("# ");
            TakeInterrupts();
            _linux.Serial8250ConsoleWrite("\n", useFifo: true);
            Assert.That(_cpu.ConsoleText, Does.EndWith("[linux] # \n"));
        }

        [Test]
        public void A_console_write_during_interrupt_driven_output_does_not_lose_the_THRE_interrupt()
        {
            BootToInit();
            _linux.UartWrite("0123456789abcdefghijklmnopqrstuvwxyz\n");
            _lapic.Irr = false;                                 // the CPU takes the interrupt; one pass
            Assert.That(_linux.Serial8250DefaultHandleIrq(), Is.True);     // of the handler sends sixteen bytes
            Assert.That(_cpu.ConsoleText, Does.Not.Contain("0123"), "no whole line yet");
            _lapic.Irr = false;
            // printk from another context: console_write saves IER (THRI set), clears it, writes, restores it.
            _linux.Serial8250ConsoleWrite("", useFifo: true);
            Assert.That(_lapic.Irr, Is.True, "restoring ETBEI with THR empty raises THRE again: a new edge");
            TakeInterrupts();
            Assert.That(_cpu.ConsoleText, Does.EndWith("[linux] 0123456789abcdefghijklmnopqrstuvwxyz\n"));
            Assert.That(_linux.PendingTransmit, Is.Zero);
        }

        [Test]
        public void Keystrokes_fed_by_the_hypervisor_arrive_by_received_data_interrupts()
        {
            BootToInit();
            foreach (char c in "ls -l\r")
                Assert.That(_uart.Receive((byte)c), Is.True);
            Assert.That(_lapic.Messages, Has.Count.EqualTo(1), "one edge when the first byte arrived");
            Assert.That(TakeInterrupts(), Is.Zero);
            Assert.That(_linux.ReceivedText, Is.EqualTo("ls -l\r"));
            Assert.That(_uart.InterruptLine, Is.False);

            // More than the FIFO holds: the hypervisor offers the rest after the guest read some.
            string text = "cat /proc/interrupts\r";
            int sent = 0;
            while (sent < text.Length)
            {
                while (sent < text.Length && _uart.Receive((byte)text[sent]))
                    sent++;
                TakeInterrupts();
            }
            Assert.That(_linux.ReceivedText, Is.EqualTo("ls -l\rcat /proc/interrupts\r"));
            Assert.That(_linux.Overruns, Is.Zero);
        }
    }

    /// <summary>
    /// The register accesses of Linux 6.1's 8250 driver for a PORT_16550A on I/O ports, each
    /// method named after the function it replays and keeping its order of accesses. What the
    /// driver only computes (termios, the circular buffer) is reduced to what reaches the UART.
    /// </summary>
    public sealed class Linux8250Port
    {
        // include/uapi/linux/serial_reg.h
        private const int UartRx = 0, UartTx = 0, UartDll = 0, UartDlm = 1, UartIer = 1, UartIir = 2, UartFcr = 2,
            UartEfr = 2, UartLcr = 3, UartMcr = 4, UartLsr = 5, UartMsr = 6, UartScr = 7;
        public const byte IerRdi = 0x01, IerThri = 0x02, IerRlsi = 0x04, IerMsi = 0x08, IerUue = 0x40;
        private const byte IirNoInt = 0x01;
        private const byte FcrEnableFifo = 0x01, FcrClearRcvr = 0x02, FcrClearXmit = 0x04, Fcr7_64Byte = 0x20, FcrRTrig10 = 0x80;
        private const byte LcrWlen8 = 0x03, LcrDlab = 0x80, LcrConfModeA = 0x80, LcrConfModeB = 0xBF;
        public const byte McrDtr = 0x01, McrRts = 0x02, McrOut2 = 0x08, McrLoop = 0x10;
        private const byte LsrDr = 0x01, LsrOe = 0x02, LsrBi = 0x10, LsrThre = 0x20, LsrTemt = 0x40, LsrBothEmpty = 0x60;
        private const int TxLoadSize = 16;      // uart_config[PORT_16550A].tx_loadsz

        [System.Flags]
        public enum Bugs { None = 0, Thre = 1, Txen = 2 }

        private readonly VirtualUart16550 _uart;
        private readonly Queue<byte> _xmit = new Queue<byte>();
        private readonly StringBuilder _received = new StringBuilder();
        private byte _ier;      // up->ier, the driver's shadow of IER
        private byte _fcr;      // up->fcr

        public Linux8250Port(VirtualUart16550 uart) => _uart = uart;

        public (int, int) ThreTestIir { get; private set; }
        public bool LineDuringThreTest { get; private set; }
        public int PendingTransmit => _xmit.Count;
        public string ReceivedText => _received.ToString();
        public int Overruns { get; private set; }

        private byte In(int offset) => (byte)_uart.Read((ushort)(_uart.BasePort + offset));
        private void Out(int offset, int value) => _uart.Write((ushort)(_uart.BasePort + offset), (byte)value);

        private void ClearFifos()       // serial8250_clear_fifos
        {
            Out(UartFcr, FcrEnableFifo);
            Out(UartFcr, FcrEnableFifo | FcrClearRcvr | FcrClearXmit);
            Out(UartFcr, 0);
        }

        private int DlRead() => In(UartDll) | In(UartDlm) << 8;        // default_serial_dl_read

        private void DlWrite(int value)                                 // default_serial_dl_write
        {
            Out(UartDll, value & 0xFF);
            Out(UartDlm, value >> 8 & 0xFF);
        }

        private void WaitForLsr(int bits)                               // wait_for_lsr, wait_for_xmitr
        {
            for (int tmout = 10000; tmout > 0; tmout--)
                if ((In(UartLsr) & bits) == bits)
                    return;
            Assert.Fail("wait_for_lsr timed out: LSR never showed " + bits.ToString("x2"));
        }

        /// <summary>autoconfig: returns uart_config[port->type].name, or why it gave up.</summary>
        public string Autoconfig(bool skipTest, bool variants)
        {
            byte scratch = In(UartIer);
            Out(UartIer, 0);
            byte scratch2 = (byte)(In(UartIer) & 0x0F);
            Out(UartIer, 0x0F);
            byte scratch3 = (byte)(In(UartIer) & 0x0F);
            Out(UartIer, scratch);
            if (scratch2 != 0 || scratch3 != 0x0F)
                return "IER test failed";

            byte saveMcr = In(UartMcr);
            byte saveLcr = In(UartLcr);
            if (!skipTest)
            {
                Out(UartMcr, McrLoop | 0x0A);
                byte status1 = (byte)(In(UartMsr) & 0xF0);
                Out(UartMcr, saveMcr);
                if (status1 != 0x90)
                    return "LOOP test failed";
            }

            Out(UartLcr, LcrConfModeB);
            Out(UartEfr, 0);
            Out(UartLcr, 0);
            Out(UartFcr, FcrEnableFifo);
            byte iir = In(UartIir);
            string type = (iir >> 6) switch
            {
                0 => "8250/16450",          // autoconfig_8250
                1 => "unknown",
                2 => "16550",
                _ => Autoconfig16550A(variants),
            };
            Out(UartLcr, saveLcr);
            if (type == "unknown")
                return type;

            Out(UartMcr, saveMcr);          // "Reset the UART."
            ClearFifos();
            In(UartRx);
            Out(UartIer, 0);                // serial8250_clear_IER
            return type;
        }

        private string Autoconfig16550A(bool variants)
        {
            if (!variants)
                return "16550A";

            // EFR with DLAB set: only ST16C650V1.
            Out(UartLcr, LcrConfModeA);
            if (In(UartEfr) == 0)
                return "16650 or FSL64 (EFR read 0 in conf mode A)";

            Out(UartLcr, LcrConfModeB);
            if (In(UartEfr) == 0)
                return "EFRv2 (EFR read 0 in conf mode B)";

            // National Semiconductor SuperIO: EXCR1 in bank 2 mirrors MCR.LOOP.
            Out(UartLcr, 0);
            byte status1 = In(UartMcr);
            Out(UartLcr, 0xE0);
            byte status2 = In(0x02);
            if (((status2 ^ status1) & McrLoop) == 0)
            {
                Out(UartLcr, 0);
                Out(UartMcr, status1 ^ McrLoop);
                Out(UartLcr, 0xE0);
                status2 = In(0x02);
                Out(UartLcr, 0);
                Out(UartMcr, status1);
                if (((status2 ^ status1) & McrLoop) != 0)
                    return "NS16550A";
            }

            // TI16750: IIR bit 5 follows FCR's 64-byte bit only with DLAB set.
            Out(UartLcr, 0);
            Out(UartFcr, FcrEnableFifo | Fcr7_64Byte);
            status1 = (byte)(In(UartIir) >> 5);
            Out(UartFcr, FcrEnableFifo);
            Out(UartLcr, LcrConfModeA);
            Out(UartFcr, FcrEnableFifo | Fcr7_64Byte);
            status2 = (byte)(In(UartIir) >> 5);
            Out(UartFcr, FcrEnableFifo);
            Out(UartLcr, 0);
            if (status1 == 6 && status2 == 7)
                return "TI16750";

            // XScale: IER bit 6 (UUE) sticks.
            byte iersave = In(UartIer);
            Out(UartIer, iersave & ~IerUue);
            if ((In(UartIer) & IerUue) == 0)
            {
                Out(UartIer, iersave | IerUue);
                if ((In(UartIer) & IerUue) != 0)
                    return "XScale";
            }
            Out(UartIer, iersave);

            int fifo = SizeFifo();
            return fifo == 64 ? "U6_16550A" : fifo == 16 ? "16550A" : "16550A with a " + fifo + "-byte FIFO?";
        }

        private int SizeFifo()                                          // size_fifo
        {
            byte oldLcr = In(UartLcr);
            Out(UartLcr, 0);
            byte oldFcr = In(UartFcr);
            byte oldMcr = In(UartMcr);
            Out(UartFcr, FcrEnableFifo | FcrClearRcvr | FcrClearXmit);
            Out(UartMcr, McrLoop);
            Out(UartLcr, LcrConfModeA);
            int oldDl = DlRead();
            DlWrite(0x0001);
            Out(UartLcr, LcrWlen8);
            for (int i = 0; i < 256; i++)
                Out(UartTx, i);
            int count;
            for (count = 0; (In(UartLsr) & LsrDr) != 0 && count < 256; count++)
                In(UartRx);
            Out(UartFcr, oldFcr);
            Out(UartMcr, oldMcr);
            Out(UartLcr, LcrConfModeA);
            DlWrite(oldDl);
            Out(UartLcr, oldLcr);
            return count;
        }

        /// <summary>serial8250_do_startup for a PORT_16550A: returns the bugs it would set.</summary>
        public Bugs Serial8250DoStartup(bool hasIrq)
        {
            Bugs bugs = Bugs.None;
            ClearFifos();
            In(UartLsr);
            In(UartRx);
            In(UartIir);
            In(UartMsr);
            Assert.That(In(UartLsr), Is.Not.EqualTo(0xFF), "LSR safety check engaged");

            if (hasIrq)
            {
                // The THRE test: "Real 16550s should always reassert this interrupt whenever the
                // transmitter is idle and the interrupt is enabled."
                WaitForLsr(LsrThre);
                Out(UartIer, IerThri);
                LineDuringThreTest = _uart.InterruptLine;
                byte iir1 = In(UartIir);
                Out(UartIer, 0);
                Out(UartIer, IerThri);
                byte iir = In(UartIir);
                Out(UartIer, 0);
                ThreTestIir = (iir1, iir);
                if ((iir1 & IirNoInt) == 0 && (iir & IirNoInt) != 0)
                    bugs |= Bugs.Thre;
            }

            Out(UartLcr, LcrWlen8);
            // "Most PC uarts need OUT2 raised to enable interrupts": port->mctrl |= TIOCM_OUT2 and
            // serial8250_set_mctrl; DTR and RTS come later, from uart_port_dtr_rts.
            Out(UartMcr, hasIrq ? McrOut2 : 0);

            // The TXEN test: is THRE reported at once when ETBEI is set?
            Out(UartIer, IerThri);
            byte lsr = In(UartLsr);
            byte iir2 = In(UartIir);
            Out(UartIer, 0);
            if ((lsr & LsrTemt) != 0 && (iir2 & IirNoInt) != 0)
                bugs |= Bugs.Txen;

            In(UartLsr);
            In(UartRx);
            In(UartIir);
            In(UartMsr);
            _ier = IerRlsi | IerRdi;        // the shadow only; IER is written by set_termios
            return bugs;
        }

        /// <summary>serial8250_do_set_termios (and the set_mctrl that follows), 16550A, no flow control.</summary>
        public void Serial8250SetTermios(int divisor, byte lcr, byte mctrl)
        {
            _fcr = FcrEnableFifo | FcrRTrig10;      // uart_config[PORT_16550A].fcr
            // The tty has no CLOCAL (tty_std_termios), so UART_ENABLE_MS: modem status interrupts.
            _ier |= IerMsi;
            Out(UartIer, _ier);
            Out(UartLcr, lcr | LcrDlab);            // serial8250_do_set_divisor
            DlWrite(divisor);
            Out(UartLcr, lcr);                      // "reset DLAB"
            Out(UartFcr, FcrEnableFifo);            // "emulated UARTs (Lucent Venus 167x) need two steps"
            Out(UartFcr, _fcr);
            Out(UartMcr, mctrl);
        }

        /// <summary>
        /// serial8250_console_write: save IER and clear it, write (serial8250_console_fifo_write
        /// once the tty port is initialised, else uart_console_write with serial8250_console_putchar),
        /// wait for both empty, restore IER.
        /// </summary>
        public void Serial8250ConsoleWrite(string s, bool useFifo)
        {
            byte ier = In(UartIer);
            Out(UartIer, 0);
            if (useFifo)
            {
                int i = 0, txCount = 0;
                bool crSent = false;
                while (i < s.Length)
                {
                    WaitForLsr(LsrThre);            // fifo_wait_for_lsr
                    int n;
                    for (n = 0; n < TxLoadSize && i < s.Length; n++)
                    {
                        if (s[i] == '\n' && !crSent)
                        {
                            Out(UartTx, '\r');
                            crSent = true;
                        }
                        else
                        {
                            Out(UartTx, s[i++]);
                            crSent = false;
                        }
                    }
                    txCount = n;
                }
                if (txCount > 0)
                    WaitForLsr(LsrThre);
            }
            else
            {
                foreach (char c in s)               // uart_console_write: '\n' becomes "\r\n"
                {
                    if (c == '\n')
                    {
                        WaitForLsr(LsrThre);
                        Out(UartTx, '\r');
                    }
                    WaitForLsr(LsrThre);            // serial8250_console_putchar
                    Out(UartTx, c);
                }
            }
            WaitForLsr(LsrBothEmpty);
            Out(UartIer, ier);
        }

        /// <summary>uart_write -> __uart_start -> serial8250_start_tx -> __start_tx -> serial8250_set_THRI.</summary>
        public void UartWrite(string s)
        {
            foreach (char c in s)
                _xmit.Enqueue((byte)c);
            if ((_ier & IerThri) == 0)
            {
                _ier |= IerThri;
                Out(UartIer, _ier);
            }
        }

        /// <summary>serial8250_interrupt with one port on the IRQ: handle it until IIR says nothing is pending. True if handled.</summary>
        public bool Serial8250Interrupt()
        {
            bool handled = false;
            for (int pass = 0; pass <= 512; pass++)     // PASS_LIMIT
            {
                if (!Serial8250DefaultHandleIrq())
                    return handled;
                handled = true;
            }
            return handled;
        }

        /// <summary>serial8250_default_handle_irq -> serial8250_handle_irq: one pass. True if something was pending.</summary>
        public bool Serial8250DefaultHandleIrq()
        {
            byte iir = In(UartIir);
            if ((iir & IirNoInt) != 0)                  // serial8250_handle_irq
                return false;
            byte status = In(UartLsr);                  // serial_lsr_in
            if ((status & (LsrDr | LsrBi)) != 0)
                status = Serial8250RxChars(status);
            In(UartMsr);                                // serial8250_modem_status
            if ((status & LsrThre) != 0 && (_ier & IerThri) != 0)
                Serial8250TxChars();
            return true;
        }

        private byte Serial8250RxChars(byte lsr)
        {
            int maxCount = 256;
            do
            {
                if ((lsr & LsrDr) != 0)                 // serial8250_read_char
                    _received.Append((char)In(UartRx));
                if ((lsr & LsrOe) != 0)
                    Overruns++;
                if (--maxCount == 0)
                    break;
                lsr = In(UartLsr);
            }
            while ((lsr & (LsrDr | LsrBi)) != 0);
            return lsr;
        }

        private void Serial8250TxChars()
        {
            if (_xmit.Count == 0)
            {
                StopTx();
                return;
            }
            int count = TxLoadSize;
            do
            {
                Out(UartTx, _xmit.Dequeue());
                if (_xmit.Count == 0)
                    break;
            }
            while (--count > 0);
            if (_xmit.Count == 0)
                StopTx();
        }

        private void StopTx()                           // __stop_tx -> serial8250_clear_THRI
        {
            if ((_ier & IerThri) == 0)
                return;
            _ier = (byte)(_ier & ~IerThri);
            Out(UartIer, _ier);
        }
    }
}
