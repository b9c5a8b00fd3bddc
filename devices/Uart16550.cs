using Partition.Kernel;

namespace Partition.Devices
{
    /// <summary>
    /// Driver for a physical 16550 UART (the hypervisor's console): output polled, input polled
    /// or, once <see cref="EnableReceiveInterrupt"/> was called, also signalled by its interrupt.
    /// Register offsets and bits from the PC16550D data sheet.
    /// </summary>
    public readonly struct Uart16550
    {
        public const ushort Com1 = 0x3F8;
        private const int Data = 0;
        private const int InterruptEnable = 1;
        private const int FifoControl = 2;
        private const int LineControl = 3;
        private const int ModemControl = 4;
        private const int LineStatus = 5;
        private const byte LineStatusTransmitHoldingEmpty = 0x20;
        private const byte LineStatusTransmitterEmpty = 0x40;
        private const byte LineStatusDataReady = 0x01;
        private const uint BaseClock = 115200;

        public Uart16550(ushort port) { Port = port; }

        public ushort Port { get; }

        /// <summary>8 data bits, no parity, one stop bit, FIFOs on, interrupts off.</summary>
        public void Initialize(uint baud)
        {
            ushort divisor = (ushort)(BaseClock / baud);
            Cpu.Out8((ushort)(Port + InterruptEnable), 0x00);
            Cpu.Out8((ushort)(Port + LineControl), 0x80); // DLAB: the next two writes set the divisor
            Cpu.Out8((ushort)(Port + Data), (byte)divisor);
            Cpu.Out8((ushort)(Port + InterruptEnable), (byte)(divisor >> 8));
            Cpu.Out8((ushort)(Port + LineControl), 0x03);
            Cpu.Out8((ushort)(Port + FifoControl), 0xC7);
            Cpu.Out8((ushort)(Port + ModemControl), 0x03); // DTR, RTS
        }

        /// <summary>
        /// Raises its interrupt line while a received byte waits: IER's received-data interrupt
        /// alone, the receive FIFO's trigger level at one byte (FIFOs kept on, nothing cleared),
        /// and MCR's OUT2, which gates the line to the interrupt controller on PC boards.
        /// </summary>
        public void EnableReceiveInterrupt()
        {
            Cpu.Out8((ushort)(Port + FifoControl), 0x01);
            Cpu.Out8((ushort)(Port + ModemControl), 0x0B); // DTR, RTS, OUT2
            Cpu.Out8((ushort)(Port + InterruptEnable), 0x01);
        }

        /// <summary>The transmitter holding register is empty: the FIFO takes up to 16 bytes now.</summary>
        public bool CanWrite => (Cpu.In8((ushort)(Port + LineStatus)) & LineStatusTransmitHoldingEmpty) != 0;

        /// <summary>Writes a byte without looking at the line status (the caller knows there is room).</summary>
        public void WriteNow(byte value) => Cpu.Out8((ushort)(Port + Data), value);

        public void Write(byte value)
        {
            while ((Cpu.In8((ushort)(Port + LineStatus)) & LineStatusTransmitHoldingEmpty) == 0)
                Cpu.Pause();
            Cpu.Out8((ushort)(Port + Data), value);
        }

        /// <summary>
        /// Waits until the last byte has left the shift register (LSR.TEMT). Bochs drops bytes
        /// still in the UART when it powers off, so power-off waits for this first.
        /// </summary>
        public void Flush()
        {
            while ((Cpu.In8((ushort)(Port + LineStatus)) & LineStatusTransmitterEmpty) == 0)
                Cpu.Pause();
        }

        /// <summary>A received byte waits in the FIFO (LSR.DR): one port read.</summary>
        public bool HasData
        {
            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
            get => (Cpu.In8((ushort)(Port + LineStatus)) & LineStatusDataReady) != 0;
        }

        public bool TryRead(out byte value)
        {
            if (!HasData)
            {
                value = 0;
                return false;
            }
            value = Cpu.In8((ushort)(Port + Data));
            return true;
        }
    }
}
