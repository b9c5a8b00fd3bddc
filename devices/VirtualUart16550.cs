using System;
using Partition.Kernel;

namespace Partition.Devices
{
    /// <summary>
    /// A 16550 UART emulated for one partition, on the eight I/O ports from its base. What the
    /// guest transmits is collected into lines and written to the hypervisor console as
    /// "[name] text", one whole line at a time, so partitions never interleave mid-line. The
    /// transmitter is always ready; nothing is ever received (no input for guests yet).
    /// </summary>
    public sealed class VirtualUart16550
    {
        public const int PortCount = 8;
        private const int MaxLine = 160;

        private readonly string _owner;
        private readonly char[] _line = new char[MaxLine];
        private int _length;
        private byte _interruptEnable;
        private byte _lineControl = 0x03;
        private byte _modemControl;
        private byte _scratch;
        private ushort _divisor = 1;

        public VirtualUart16550(string owner, ushort basePort)
        {
            _owner = owner;
            BasePort = basePort;
        }

        public ushort BasePort { get; }

        /// <summary>Bytes the guest has transmitted.</summary>
        public ulong Transmitted { get; private set; }

        /// <summary>Complete lines written to the console.</summary>
        public ulong Lines { get; private set; }

        public bool Claims(ushort port) => port >= BasePort && port < BasePort + PortCount;

        private bool DivisorLatch => (_lineControl & 0x80) != 0;

        public uint Read(ushort port)
        {
            switch (port - BasePort)
            {
                case 0: return DivisorLatch ? (uint)(_divisor & 0xFF) : 0;      // receive buffer: empty
                case 1: return DivisorLatch ? (uint)(_divisor >> 8) : _interruptEnable;
                case 2: return 0xC1;                                             // FIFOs on, no interrupt pending
                case 3: return _lineControl;
                case 4: return _modemControl;
                case 5: return 0x60;                                             // THR empty, transmitter empty
                case 6: return 0xB0;                                             // CTS, DSR, DCD
                default: return _scratch;
            }
        }

        public void Write(ushort port, uint value)
        {
            byte b = (byte)value;
            switch (port - BasePort)
            {
                case 0:
                    if (DivisorLatch)
                        _divisor = (ushort)((_divisor & 0xFF00) | b);
                    else
                        Transmit(b);
                    break;
                case 1:
                    if (DivisorLatch)
                        _divisor = (ushort)((_divisor & 0x00FF) | (b << 8));
                    else
                        _interruptEnable = (byte)(b & 0x0F);
                    break;
                case 3: _lineControl = b; break;
                case 4: _modemControl = (byte)(b & 0x1F); break;
                case 7: _scratch = b; break;
            }
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
                return;
            _line[_length++] = b >= 0x20 && b < 0x7F ? (char)b : '?';
            if (_length == MaxLine)
                Flush();
        }

        /// <summary>Writes what is buffered as one line (also when the partition stops mid-line).</summary>
        public void Flush()
        {
            if (_length == 0)
                return;
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write("[");
            HypervisorConsole.Write(_owner);
            HypervisorConsole.Write("] ");
            HypervisorConsole.Write(new ReadOnlySpan<char>(_line, 0, _length));
            HypervisorConsole.WriteLine();
            HypervisorConsole.EndLine();
            _length = 0;
            Lines++;
        }
    }
}
