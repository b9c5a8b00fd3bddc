namespace Partition.Devices
{
    /// <summary>
    /// A partition's I/O APIC: the register model of the Intel 82093AA (datasheet, order
    /// 290566-001, section 3) in the form of the PCI 2.2 I/O(x)APICs, version 0x20 with the EOI
    /// register, and 24 inputs (maximum redirection entry 23). A device drives an input's level
    /// (<see cref="SetLevel"/>); an unmasked redirection entry turns it into an
    /// <see cref="InterruptMessage"/> for the local APICs, handed to an <see cref="IInterruptSink"/>.
    /// </summary>
    /// <remarks>
    /// Delivery is instantaneous, so the delivery status bit always reads 0 (idle). The
    /// polarity bit is stored and read back but not applied: the virtual wires carry a logical
    /// request ("asserted"), not an electrical level, which is also how KVM and QEMU model it.
    /// Nothing here allocates after construction; the caller serialises all calls (the
    /// partition's device lock).
    /// </remarks>
    public sealed class VirtualIoApic : IInterruptController
    {
        /// <summary>Where the partition's MADT places its I/O APIC.</summary>
        public const ulong DefaultBaseAddress = 0xFEC00000;

        /// <summary>The MMIO window the caller traps: one page, as the EPT maps it.</summary>
        public const ulong WindowSize = 0x1000;

        public const int PinCount = 24;

        /// <summary>I/O APIC version: 0x20 and above have the EOI register (Linux io_apic.c, __eoi_ioapic_pin).</summary>
        public const byte Version = 0x20;

        // Directly addressed registers (82093AA 3.1; EOI at 0x40 from the I/O(x)APIC).
        public const ulong IoRegSel = 0x00;
        public const ulong IoWin = 0x10;
        public const ulong Eoi = 0x40;

        // Indirectly addressed registers, selected by IOREGSEL (82093AA 3.2).
        public const byte IoApicId = 0x00;
        public const byte IoApicVer = 0x01;
        public const byte IoApicArb = 0x02;
        /// <summary>Redirection table: entry n's low dword at 0x10 + 2n, its high dword at 0x11 + 2n.</summary>
        public const byte IoRedTbl = 0x10;

        // Redirection entry fields (82093AA 3.2.4).
        private const ulong DestinationModeLogical = 1UL << 11;
        private const ulong DeliveryStatus = 1UL << 12;
        private const ulong RemoteIrr = 1UL << 14;
        private const ulong TriggerModeLevel = 1UL << 15;
        private const ulong InterruptMask = 1UL << 16;
        private const int DestinationShift = 56;
        // Bits 55:49 as the "extended destination ID" (destination bits 14:8) that KVM and Xen
        // offer x2APIC guests without interrupt remapping (Linux: virt_destid_8_14).
        private const int ExtendedDestinationShift = 49;

        // What a guest write changes: vector, delivery mode, destination mode, polarity, trigger
        // mode and mask in the low dword (delivery status and Remote IRR are read-only, 31:17
        // reserved); the destination field in the high dword.
        private const uint LowWritable = 0x0001_AFFF;
        private const uint HighWritable = 0xFF00_0000;
        private const uint HighWritableExtended = 0xFFFE_0000;

        private readonly IInterruptSink _sink;
        private readonly ulong[] _entries = new ulong[PinCount];
        private readonly ulong[] _delivered = new ulong[PinCount];
        private readonly uint _highWritable;
        private readonly bool _extendedDestination;
        private readonly byte _initialId;
        private uint _asserted;     // bit n: input n is asserted
        private uint _backed;       // bit n: input n is a real device's (BackWith)
        private IPhysicalInterruptLines _lines;
        private byte _select;
        private byte _id;

        /// <param name="id">The I/O APIC ID, as the MADT gives it (the partition puts it after its vCPUs' APIC IDs).</param>
        /// <param name="sink">Receives every interrupt delivered.</param>
        /// <param name="extendedDestinationId">
        /// Use bits 55:49 of an entry as destination bits 14:8 (the KVM/Xen convention Linux
        /// follows when the hypervisor advertises it). Off, they are reserved and read as 0, as
        /// on the 82093AA; destinations are then 8-bit, which is what Linux uses for x2APIC
        /// guests without interrupt remapping (physical mode, APIC IDs below 255).
        /// </param>
        public VirtualIoApic(byte id, IInterruptSink sink, bool extendedDestinationId = false)
        {
            _initialId = id;
            _sink = sink;
            _extendedDestination = extendedDestinationId;
            _highWritable = extendedDestinationId ? HighWritableExtended : HighWritable;
            Reset();
        }

        /// <summary>
        /// A hardware reset (as when the partition restarts): every entry masked (82093AA
        /// 3.2.4, mask bit "reset value 1"), the rest 0, the ID back to the MADT's. The inputs
        /// keep their levels, which belong to the devices driving them; the statistics are kept.
        /// </summary>
        public void Reset()
        {
            _id = _initialId;
            _select = 0;
            for (int pin = 0; pin < PinCount; pin++)
            {
                _entries[pin] = InterruptMask;
                if ((_backed & 1u << pin) != 0)
                {
                    _asserted &= ~(1u << pin);
                    _lines.EntryWritten(pin, InterruptMask);
                }
            }
        }

        /// <summary>
        /// Backs the inputs in <paramref name="pins"/> (bit n: input n) with a real I/O APIC's:
        /// their entries are reported to <paramref name="lines"/> as the guest writes them, and
        /// their level-triggered interrupts ended there (see <see cref="IPhysicalInterruptLines"/>).
        /// Each backed entry is reported once now, masked.
        /// </summary>
        public void BackWith(IPhysicalInterruptLines lines, uint pins)
        {
            _lines = lines;
            _backed = lines == null ? 0 : pins & (PinCount >= 32 ? ~0u : (1u << PinCount) - 1);
            for (int pin = 0; pin < PinCount; pin++)
                if ((_backed & 1u << pin) != 0)
                    _lines.EntryWritten(pin, _entries[pin]);
        }

        /// <summary>The inputs backed by a real I/O APIC (bit n: input n).</summary>
        public uint BackedPins => _backed;

        /// <summary>The I/O APIC ID (IOAPICID bits 31:24).</summary>
        public byte Id => _id;

        /// <summary>
        /// Reads the register at <paramref name="offset"/> in the window. The registers are
        /// dwords and 32-bit reads are what an OS uses; a narrower read returns the addressed
        /// bytes of the dword (without side effects: reading IOWIN has none), an 8-byte read the
        /// dword in the low half. IOREGSEL reads back; the EOI register and unused offsets read 0.
        /// </summary>
        public uint Read(ulong offset, int size)
        {
            uint dword = 0;
            ulong aligned = offset & ~3UL;
            if (aligned == IoRegSel)
                dword = _select;
            else if (aligned == IoWin)
                dword = ReadRegister(_select);
            dword >>= (int)(offset & 3) * 8;
            return size >= 4 ? dword : dword & ((1u << (size * 8)) - 1);
        }

        /// <summary>
        /// Writes the register at <paramref name="offset"/>. IOREGSEL takes its low byte from a
        /// write of any size; IOWIN takes only whole-dword (or wider) writes, since a narrower
        /// one would have to merge into a register the chip does not read-modify-write; the EOI
        /// register takes the vector in bits 7:0. Misaligned writes and other offsets are dropped.
        /// </summary>
        public void Write(ulong offset, int size, uint value)
        {
            if ((offset & 3) != 0)
                return;
            if (offset == IoRegSel)
                _select = (byte)value;
            else if (offset == IoWin && size >= 4)
                WriteRegister(_select, value);
            else if (offset == Eoi)
                EndOfInterrupt((byte)value);
        }

        /// <summary>
        /// Drives input <paramref name="pin"/>. An unmasked edge-triggered entry delivers on a
        /// rising edge (an edge while masked is lost: 82093AA 3.2.4, bit 16); a level-triggered
        /// one delivers while the input is asserted, unmasked and Remote IRR is clear.
        /// </summary>
        public void SetLevel(int pin, bool asserted)
        {
            if ((uint)pin >= PinCount)
                return;
            uint bit = 1u << pin;
            bool rising = asserted && (_asserted & bit) == 0;
            _asserted = asserted ? _asserted | bit : _asserted & ~bit;
            ulong entry = _entries[pin];
            if ((entry & InterruptMask) != 0)
                return;
            if (IsLevelTriggered(entry))
                Service(pin);
            else if (rising)
                Deliver(pin);
        }

        /// <summary>
        /// An end of interrupt for <paramref name="vector"/>: clears Remote IRR of every
        /// level-triggered entry with that vector, which then delivers again if its input is
        /// still asserted. The local APIC model calls this when the guest EOIs a level-triggered
        /// vector (SDM Vol. 3A, 11.8.5: the EOI is broadcast to the I/O APICs); a write to the
        /// EOI register does the same.
        /// </summary>
        public void EndOfInterrupt(byte vector)
        {
            for (int pin = 0; pin < PinCount; pin++)
            {
                ulong entry = _entries[pin];
                if ((entry & RemoteIrr) == 0 || (byte)entry != vector || (entry & TriggerModeLevel) == 0)
                    continue;
                _entries[pin] = entry & ~RemoteIrr;
                if ((_backed & 1u << pin) != 0)
                {
                    // The device's line is sampled again on the real pin, not here.
                    _asserted &= ~(1u << pin);
                    _lines.LevelEnded(pin);
                }
                Service(pin);
            }
        }

        /// <summary>Redirection table entry <paramref name="pin"/> as the guest would read it (0 for no such pin).</summary>
        public ulong RedirectionEntry(int pin) => (uint)pin < PinCount ? _entries[pin] : 0;

        /// <summary>Interrupts delivered from input <paramref name="pin"/> since the partition was created.</summary>
        public ulong Delivered(int pin) => (uint)pin < PinCount ? _delivered[pin] : 0;

        private uint ReadRegister(byte register)
        {
            if (register == IoApicId)
                return (uint)_id << 24;
            if (register == IoApicVer)
                return Version | (uint)(PinCount - 1) << 16;
            // The arbitration ID is loaded from the ID (82093AA 3.2.3); KVM reports it the same way.
            if (register == IoApicArb)
                return (uint)(_id & 0xF) << 24;
            if (register >= IoRedTbl && register < IoRedTbl + 2 * PinCount)
            {
                ulong entry = _entries[(register - IoRedTbl) >> 1];
                return (register & 1) == 0 ? (uint)entry : (uint)(entry >> 32);
            }
            return 0;
        }

        private void WriteRegister(byte register, uint value)
        {
            if (register == IoApicId)
            {
                // Eight bits, as Linux (IO_APIC_reg_00) and the MADT's I/O APIC ID field use; the
                // 82093AA implements 27:24 only, which would misreport IDs from 16 on.
                _id = (byte)(value >> 24);
                return;
            }
            if (register < IoRedTbl || register >= IoRedTbl + 2 * PinCount)
                return;     // version, arbitration and unimplemented registers are read-only
            int pin = (register - IoRedTbl) >> 1;
            ulong entry = _entries[pin];
            if ((register & 1) == 0)
            {
                entry = (entry & (0xFFFF_FFFF_0000_0000UL | DeliveryStatus | RemoteIrr)) | (value & LowWritable);
                // An edge-triggered entry has no Remote IRR. Linux relies on switching to edge
                // clearing it, to emulate an EOI on I/O APICs older than version 0x20
                // (io_apic.c, __eoi_ioapic_pin and clear_IO_APIC_pin); KVM does the same.
                if ((entry & TriggerModeLevel) == 0)
                    entry &= ~RemoteIrr;
            }
            else
            {
                entry = (entry & 0xFFFF_FFFFUL) | (ulong)(value & _highWritable) << 32;
            }
            _entries[pin] = entry;
            if ((_backed & 1u << pin) != 0)
                _lines.EntryWritten(pin, entry);
            // A level-triggered input that is asserted delivers as soon as its entry allows it
            // (unmasked, or switched to level): the 82093AA samples levels continuously.
            Service(pin);
        }

        // NMI, INIT, SMI and ExtINT are always edge-triggered, whatever the entry says (82093AA
        // 3.2.4, delivery mode); only fixed and lowest-priority delivery can be level-triggered.
        private static bool IsLevelTriggered(ulong entry)
        {
            var mode = (DeliveryMode)((entry >> 8) & 7);
            return (entry & TriggerModeLevel) != 0 && (mode == DeliveryMode.Fixed || mode == DeliveryMode.LowestPriority);
        }

        private void Service(int pin)
        {
            ulong entry = _entries[pin];
            if ((entry & (InterruptMask | RemoteIrr)) == 0 && IsLevelTriggered(entry) && (_asserted & (1u << pin)) != 0)
                Deliver(pin);
        }

        private void Deliver(int pin)
        {
            ulong entry = _entries[pin];
            bool level = IsLevelTriggered(entry);
            if (level)
                _entries[pin] = entry | RemoteIrr;      // set when a local APIC accepts the message (82093AA 3.2.4, bit 14)
            _delivered[pin]++;
            uint destination = (uint)(entry >> DestinationShift);
            if (_extendedDestination)
                destination |= (uint)(entry >> ExtendedDestinationShift & 0x7F) << 8;
            var message = new InterruptMessage((byte)entry, (DeliveryMode)((entry >> 8) & 7),
                (entry & DestinationModeLogical) != 0, destination, level);
            _sink.Deliver(in message);
        }
    }
}
