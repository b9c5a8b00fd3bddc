using System;
using Partition.Kernel;

namespace Partition.Devices
{
    /// <summary>
    /// A 16550A UART emulated for one partition, on the eight I/O ports from its base, with
    /// registers and interrupts as the National Semiconductor PC16550D data sheet gives them and
    /// as Linux's 8250 driver probes and drives them. What the guest transmits is collected into
    /// lines and written to the hypervisor console as "[name] text", one whole line at a time,
    /// so partitions never interleave mid-line. The transmitter is infinitely fast: a byte
    /// written to THR has left before the next access, so THR and the transmitter are always
    /// empty. What the hypervisor feeds in with <see cref="Receive"/> waits in a 16-byte
    /// receive FIFO.
    /// </summary>
    /// <remarks>
    /// The interrupt output is a level (<see cref="InterruptLine"/>), gated by MCR.OUT2 as on
    /// PC boards. Connected to an interrupt controller (<see cref="ConnectInterrupt"/>), the UART
    /// drives that pin itself whenever the level changes, so no access needs a follow-up call.
    /// Nothing allocates after construction. The caller serialises all calls (the partition's
    /// device lock), including <see cref="Receive"/> from the console.
    /// </remarks>
    public sealed class VirtualUart16550
    {
        public const int PortCount = 8;

        /// <summary>Depth of the receive FIFO (PC16550D: 16 bytes).</summary>
        public const int FifoSize = 16;

        private const int MaxLine = 160;

        // Register offsets from the base port (PC16550D table II). With LCR.DLAB set, offsets 0
        // and 1 are the divisor latch (DLL, DLM) instead of RBR/THR and IER.
        private const int RbrThr = 0;
        private const int Ier = 1;
        private const int IirFcr = 2;
        private const int Lcr = 3;
        private const int Mcr = 4;
        private const int Lsr = 5;
        private const int Msr = 6;
        private const int Scr = 7;

        // IER: which conditions interrupt.
        private const byte IerErbfi = 0x01;     // received data available (and character timeout)
        private const byte IerEtbei = 0x02;     // transmitter holding register empty
        private const byte IerElsi = 0x04;      // receiver line status
        private const byte IerEdssi = 0x08;     // modem status

        // IIR: the highest-priority pending interrupt (PC16550D table IV), FIFO state in 7:6.
        private const byte IirNoInterrupt = 0x01;
        private const byte IirLineStatus = 0x06;
        private const byte IirReceivedData = 0x04;
        private const byte IirCharacterTimeout = 0x0C;
        private const byte IirThre = 0x02;
        private const byte IirModemStatus = 0x00;
        private const byte IirFifosEnabled = 0xC0;

        // FCR (write-only, at the IIR's offset).
        private const byte FcrFifoEnable = 0x01;
        private const byte FcrClearReceiver = 0x02;
        private const byte FcrKept = 0xC9;      // FIFO enable, DMA mode, receiver trigger 7:6; 1-2 self-clear, 5:4 reserved

        private const byte LcrDlab = 0x80;

        private const byte McrDtr = 0x01;
        private const byte McrRts = 0x02;
        private const byte McrOut1 = 0x04;
        private const byte McrOut2 = 0x08;
        private const byte McrLoop = 0x10;

        private const byte LsrDataReady = 0x01;
        private const byte LsrOverrun = 0x02;
        private const byte LsrThre = 0x20;
        private const byte LsrTemt = 0x40;

        private const byte MsrDcts = 0x01;
        private const byte MsrDdsr = 0x02;
        private const byte MsrTeri = 0x04;
        private const byte MsrDdcd = 0x08;
        private const byte MsrCts = 0x10;
        private const byte MsrDsr = 0x20;
        private const byte MsrRi = 0x40;
        private const byte MsrDcd = 0x80;

        // The far end is a terminal that is always there and ready: CTS, DSR and DCD asserted.
        private const byte ExternalModemInputs = MsrCts | MsrDsr | MsrDcd;

        private readonly string _owner;
        private readonly char[] _line = new char[MaxLine];
        private readonly byte[] _receiveFifo = new byte[FifoSize];
        private int _length;
        private int _receiveHead;
        private int _receiveCount;
        private byte _receiveBuffer;
        private byte _interruptEnable;
        private byte _fifoControl;
        // Reset values per PC16550D table VIII, except LCR and the divisor: a partition has no
        // firmware, so they start as a BIOS leaves them (8N1, 115200 baud).
        private byte _lineControl = 0x03;
        private ushort _divisor = 1;
        private byte _modemControl;
        private byte _lineStatusErrors;
        private byte _modemStatusDeltas;
        private byte _scratch;
        private bool _threInterrupt;
        private bool _interruptLine;
        private IInterruptController _controller;
        private int _pin;

        public VirtualUart16550(string owner, ushort basePort)
        {
            _owner = owner;
            BasePort = basePort;
        }

        /// <summary>A UART whose lines go to <paramref name="sink"/> instead of the console.</summary>
        public VirtualUart16550(string owner, ushort basePort, IUartLineSink sink) : this(owner, basePort)
        {
            _sink = sink;
        }

        private readonly IUartLineSink _sink;

        public ushort BasePort { get; }

        /// <summary>Bytes the guest has transmitted (to the console; not those looped back).</summary>
        public ulong Transmitted { get; private set; }

        /// <summary>Bytes the hypervisor has fed to the guest through <see cref="Receive"/>.</summary>
        public ulong Received { get; private set; }

        /// <summary>Complete lines written to the console.</summary>
        public ulong Lines { get; private set; }

        /// <summary>
        /// The level of the UART's interrupt request as the interrupt controller sees it: an
        /// enabled interrupt is pending (IIR bit 0 clear) and MCR.OUT2 is set, which on PC boards
        /// enables the IRQ driver (Linux sets it for every port with an IRQ: serial8250_do_startup,
        /// "Most PC uarts need OUT2 raised to enable interrupts"). In loopback mode the OUT2 pin
        /// is forced inactive (PC16550D, MCR bit 4), so the line stays low.
        /// </summary>
        public bool InterruptLine => _interruptLine;

        /// <summary>
        /// Wires the interrupt output to input <paramref name="pin"/> of <paramref name="controller"/>
        /// (for a PC's COM1, I/O APIC pin 4): from now on the UART sets that pin's level whenever
        /// <see cref="InterruptLine"/> changes, and sets it once now.
        /// </summary>
        public void ConnectInterrupt(IInterruptController controller, int pin)
        {
            _controller = controller;
            _pin = pin;
            _interruptLine = ComputeInterruptLine();
            controller.SetLevel(pin, _interruptLine);
        }

        /// <summary>
        /// A hardware reset (the 16550's MR input, as when the partition restarts): registers
        /// back to their reset values, the receive FIFO emptied, the interrupt line lowered. A
        /// line the guest had not finished is written out first; the statistics are kept.
        /// </summary>
        public void Reset()
        {
            Flush();
            _receiveHead = 0;
            _receiveCount = 0;
            _receiveBuffer = 0;
            _interruptEnable = 0;
            _fifoControl = 0;
            _lineControl = 0x03;
            _divisor = 1;
            _modemControl = 0;
            _lineStatusErrors = 0;
            _modemStatusDeltas = 0;
            _scratch = 0;
            _threInterrupt = false;
            UpdateInterruptLine();
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public bool Claims(ushort port) => (uint)(port - BasePort) < PortCount;

        private bool DivisorLatch => (_lineControl & LcrDlab) != 0;
        private bool FifosEnabled => (_fifoControl & FcrFifoEnable) != 0;
        private bool Loopback => (_modemControl & McrLoop) != 0;
        private int ReceiveCapacity => FifosEnabled ? FifoSize : 1;

        // Receiver trigger levels of FCR bits 7:6 (PC16550D table V).
        private int TriggerLevel => (_fifoControl >> 6) switch { 0 => 1, 1 => 4, 2 => 8, _ => 14 };

        /// <summary>An IN from <paramref name="port"/> (one the UART <see cref="Claims"/>), with the read's side effects.</summary>
        public uint Read(ushort port)
        {
            uint value;
            switch (port - BasePort)
            {
                // Reads without side effects leave the interrupt line as it is.
                case Ier: return DivisorLatch ? (uint)(_divisor >> 8) : _interruptEnable;
                case Lcr: return _lineControl;
                case Mcr: return _modemControl;
                case Scr: return _scratch;
                case RbrThr: value = DivisorLatch ? (uint)(_divisor & 0xFF) : ReadReceiveBuffer(); break;
                case IirFcr: value = ReadInterruptIdentification(); break;
                case Lsr: value = ReadLineStatus(); break;
                default: value = ReadModemStatus(); break;
            }
            UpdateInterruptLine();
            return value;
        }

        /// <summary>An OUT of the low byte of <paramref name="value"/> to <paramref name="port"/> (one the UART <see cref="Claims"/>).</summary>
        public void Write(ushort port, uint value)
        {
            byte b = (byte)value;
            switch (port - BasePort)
            {
                case RbrThr:
                    if (DivisorLatch)
                        _divisor = (ushort)((_divisor & 0xFF00) | b);
                    else
                        WriteTransmitHolding(b);
                    break;
                case Ier:
                    if (DivisorLatch)
                        _divisor = (ushort)((_divisor & 0x00FF) | (b << 8));
                    else
                        WriteInterruptEnable(b);
                    break;
                case IirFcr: WriteFifoControl(b); break;
                case Mcr: WriteModemControl(b); break;
                // Writes that change nothing an interrupt depends on (DLAB only selects
                // registers) return without looking at the interrupt line.
                case Lcr: _lineControl = b; return;
                case Scr: _scratch = b; return;
                // LSR and MSR: writes are for factory testing on the real part; dropped here.
                default: return;
            }
            UpdateInterruptLine();
        }

        /// <summary>
        /// Puts a byte into the receive FIFO as if it had arrived on the serial input. Returns
        /// false, taking nothing, when the FIFO is full (one byte with FIFOs disabled) or the
        /// UART is in loopback mode (the serial input is disconnected): the caller keeps the
        /// byte and offers it again later, so the hypervisor never causes an overrun.
        /// </summary>
        /// <summary>True if <see cref="Receive"/> would take a byte now (not in loopback, the receiver not full).</summary>
        public bool CanReceive => !Loopback && _receiveCount < ReceiveCapacity;

        public bool Receive(byte b)
        {
            if (Loopback || _receiveCount == ReceiveCapacity)
                return false;
            PushReceived(b);
            Received++;
            UpdateInterruptLine();
            return true;
        }

        private byte ReadReceiveBuffer()
        {
            // Reading an empty RBR gives the last byte received again; only DR says it is stale.
            if (_receiveCount > 0)
            {
                _receiveBuffer = _receiveFifo[_receiveHead];
                _receiveHead = (_receiveHead + 1) & (FifoSize - 1);
                _receiveCount--;
            }
            return _receiveBuffer;
        }

        private void PushReceived(byte b)
        {
            _receiveFifo[(_receiveHead + _receiveCount) & (FifoSize - 1)] = b;
            _receiveCount++;
        }

        /// <summary>
        /// The highest-priority enabled interrupt (PC16550D table IV): receiver line status,
        /// then received data (or, in FIFO mode below the trigger level, character timeout),
        /// then THR empty, then modem status.
        /// </summary>
        private byte PendingInterrupt()
        {
            if ((_interruptEnable & IerElsi) != 0 && _lineStatusErrors != 0)
                return IirLineStatus;
            if ((_interruptEnable & IerErbfi) != 0 && _receiveCount > 0)
            {
                // Below the trigger level the 16550 reports a timeout once no byte has moved for
                // four character times. Bytes come from a person at the console, so that time
                // has always passed by the next access: the timeout is reported at once.
                return FifosEnabled && _receiveCount < TriggerLevel ? IirCharacterTimeout : IirReceivedData;
            }
            if ((_interruptEnable & IerEtbei) != 0 && _threInterrupt)
                return IirThre;
            if ((_interruptEnable & IerEdssi) != 0 && _modemStatusDeltas != 0)
                return IirModemStatus;
            return IirNoInterrupt;
        }

        private byte ReadInterruptIdentification()
        {
            byte id = PendingInterrupt();
            // Reading IIR clears the THRE interrupt only when it is the one reported.
            if (id == IirThre)
                _threInterrupt = false;
            return (byte)(id | (FifosEnabled ? IirFifosEnabled : 0));
        }

        private byte ReadLineStatus()
        {
            byte value = (byte)(LsrThre | LsrTemt | _lineStatusErrors | (_receiveCount > 0 ? LsrDataReady : 0));
            _lineStatusErrors = 0;      // reading LSR clears the error bits and the line status interrupt
            return value;
        }

        private byte ReadModemStatus()
        {
            byte value = (byte)(ModemInputs() | _modemStatusDeltas);
            _modemStatusDeltas = 0;     // reading MSR clears the deltas and the modem status interrupt
            return value;
        }

        private void WriteTransmitHolding(byte b)
        {
            if (Loopback)
                LoopBack(b);
            else
                Transmit(b);
            // Writing THR clears the THRE interrupt; the byte then leaves at once, so THR is
            // empty again and the interrupt is pending anew (as in QEMU's 16550). The level is
            // only propagated at the end of the access, so this makes no edge by itself.
            _threInterrupt = true;
        }

        private void WriteInterruptEnable(byte b)
        {
            byte before = _interruptEnable;
            _interruptEnable = (byte)(b & 0x0F);
            // Enabling ETBEI while THR is empty raises the THRE interrupt. Linux's THRE test in
            // serial8250_do_startup (IER = THRI, read IIR, IER = 0, IER = THRI, read IIR) and
            // its TXEN test depend on it; without it the port is flagged UART_BUG_THRE.
            if ((before & IerEtbei) == 0 && (_interruptEnable & IerEtbei) != 0)
                _threInterrupt = true;
        }

        private void WriteFifoControl(byte b)
        {
            bool enable = (b & FcrFifoEnable) != 0;
            // Switching between FIFO and 16450 mode empties the FIFOs (PC16550D, FCR bit 0); the
            // other bits only take effect with bit 0 set.
            if (enable != FifosEnabled)
                ClearReceiver();
            if (!enable)
            {
                _fifoControl = 0;
                return;
            }
            if ((b & FcrClearReceiver) != 0)
                ClearReceiver();
            // FCR bit 2 clears the transmit FIFO, which is always empty here.
            _fifoControl = (byte)(b & FcrKept);
        }

        private void ClearReceiver()
        {
            _receiveHead = 0;
            _receiveCount = 0;
        }

        private void WriteModemControl(byte b)
        {
            byte before = ModemInputs();
            _modemControl = (byte)(b & 0x1F);
            byte after = ModemInputs();
            byte changed = (byte)(before ^ after);
            if ((changed & MsrCts) != 0) _modemStatusDeltas |= MsrDcts;
            if ((changed & MsrDsr) != 0) _modemStatusDeltas |= MsrDdsr;
            if ((changed & MsrDcd) != 0) _modemStatusDeltas |= MsrDdcd;
            if ((before & MsrRi) != 0 && (after & MsrRi) == 0) _modemStatusDeltas |= MsrTeri;     // trailing edge only
        }

        /// <summary>
        /// CTS, DSR, RI and DCD as MSR bits 7:4 show them. In loopback mode they are the modem
        /// control outputs looped back (PC16550D, MCR bit 4): RTS to CTS, DTR to DSR, OUT1 to RI,
        /// OUT2 to DCD. Linux's autoconfig writes MCR = LOOP | OUT2 | RTS and expects 0x90.
        /// </summary>
        private byte ModemInputs()
        {
            if (!Loopback)
                return ExternalModemInputs;
            int m = _modemControl;
            return (byte)(((m & McrRts) != 0 ? MsrCts : 0) | ((m & McrDtr) != 0 ? MsrDsr : 0)
                | ((m & McrOut1) != 0 ? MsrRi : 0) | ((m & McrOut2) != 0 ? MsrDcd : 0));
        }

        /// <summary>
        /// Loopback: the transmitted byte goes straight into the receiver (and not to the
        /// console). A byte that finds the receiver full is an overrun: in FIFO mode it is lost,
        /// in 16450 mode it replaces the unread one (PC16550D, LSR bit 1).
        /// </summary>
        private void LoopBack(byte b)
        {
            if (_receiveCount < ReceiveCapacity)
            {
                PushReceived(b);
                return;
            }
            _lineStatusErrors |= LsrOverrun;
            if (!FifosEnabled)
                _receiveFifo[_receiveHead] = b;
        }

        private bool ComputeInterruptLine() =>
            (_modemControl & (McrOut2 | McrLoop)) == McrOut2 && PendingInterrupt() != IirNoInterrupt;

        private void UpdateInterruptLine()
        {
            bool level = ComputeInterruptLine();
            if (level == _interruptLine)
                return;
            _interruptLine = level;
            _controller?.SetLevel(_pin, level);
        }

        private void Transmit(byte b)
        {
            Transmitted++;
            if (b == '\n')
            {
                Flush();
                return;
            }
            if (b == '\r')
            {
                // A command line (a sink's) ends at Enter as typed; console output at LF.
                if (_sink != null)
                    Flush();
                return;
            }
            _line[_length++] = b >= 0x20 && b < 0x7F ? (char)b : '?';
            if (_length == MaxLine)
                Flush();
        }

        /// <summary>Writes what is buffered as one line (also when the partition stops mid-line).</summary>
        public void Flush()
        {
            if (_length == 0)
                return;
            if (_sink != null)
            {
                _sink.Line(new ReadOnlySpan<char>(_line, 0, _length));
                _length = 0;
                Lines++;
                return;
            }
            HypervisorConsole.BeginLine();
            HypervisorConsole.WritePartitionPrefix(_owner);
            HypervisorConsole.Write(new ReadOnlySpan<char>(_line, 0, _length));
            HypervisorConsole.WriteLine();
            HypervisorConsole.EndLine();
            _length = 0;
            Lines++;
        }
    }
}
