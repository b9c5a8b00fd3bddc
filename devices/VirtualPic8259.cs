namespace Partition.Devices
{
    /// <summary>
    /// The host partition's pair of 8259A interrupt controllers (master at ports 0x20/0x21,
    /// slave at 0xA0/0xA1): their registers only, so that an OS finds the PICs it expects, sets
    /// them up and masks them (Linux's probe_8259A and init_8259A), while the machine's real
    /// 8259s stay masked by the hypervisor. They never deliver: the host's interrupts come
    /// through its I/O APIC, which the MADT describes, and an 8259 interrupt would reach the
    /// hypervisor's cores, not the host's, through ExtINT.
    /// </summary>
    /// <remarks>
    /// The programming sequence (Intel 8259A data sheet, "Programming the 8259A"): a write to
    /// the command port with bit 4 set is ICW1 (it clears the mask register and starts the
    /// sequence), followed on the data port by ICW2 (the vector base), ICW3 if ICW1 bit 1 says
    /// cascade, and ICW4 if ICW1 bit 0 asks for it. Otherwise the data port is OCW1, the mask
    /// register (read back as written); the command port takes OCW2 (EOIs, ignored: nothing is
    /// ever in service) and OCW3 (bit 3), whose IRR/ISR selection reads 0.
    /// </remarks>
    public sealed class VirtualPic8259
    {
        public const ushort MasterCommand = 0x20, MasterData = 0x21, SlaveCommand = 0xA0, SlaveData = 0xA1;

        private readonly Chip _master = new Chip(), _slave = new Chip();

        /// <summary>True for the four ports the pair answers.</summary>
        public static bool Claims(ushort port) => port == MasterCommand || port == MasterData || port == SlaveCommand || port == SlaveData;

        /// <summary>Power-on state: sequences ended, every input masked.</summary>
        public void Reset()
        {
            _master.Reset();
            _slave.Reset();
        }

        public byte Read(ushort port)
        {
            var chip = port == MasterCommand || port == MasterData ? _master : _slave;
            return port == MasterData || port == SlaveData ? chip.Mask : (byte)0;
        }

        public void Write(ushort port, byte value)
        {
            var chip = port == MasterCommand || port == MasterData ? _master : _slave;
            if (port == MasterData || port == SlaveData)
                chip.WriteData(value);
            else
                chip.WriteCommand(value);
        }

        /// <summary>The mask register of the master (false) or slave (true) chip.</summary>
        public byte MaskOf(bool slave) => slave ? _slave.Mask : _master.Mask;

        /// <summary>The vector base the last ICW2 set (0 before any).</summary>
        public byte VectorBaseOf(bool slave) => slave ? _slave.VectorBase : _master.VectorBase;

        private sealed class Chip
        {
            private int _next;          // 0: none; 2, 3, 4: the ICW the data port takes next
            private bool _cascade, _icw4;

            public byte Mask = 0xFF;
            public byte VectorBase;

            public void Reset()
            {
                _next = 0;
                Mask = 0xFF;
                VectorBase = 0;
            }

            public void WriteCommand(byte value)
            {
                if ((value & 0x10) == 0)
                    return; // OCW2 or OCW3
                _next = 2;
                _cascade = (value & 0x02) == 0;
                _icw4 = (value & 0x01) != 0;
                Mask = 0;
            }

            public void WriteData(byte value)
            {
                switch (_next)
                {
                    case 2:
                        VectorBase = (byte)(value & 0xF8);
                        _next = _cascade ? 3 : _icw4 ? 4 : 0;
                        return;
                    case 3:
                        _next = _icw4 ? 4 : 0;
                        return;
                    case 4:
                        _next = 0;
                        return;
                    default:
                        Mask = value;
                        return;
                }
            }
        }
    }
}
