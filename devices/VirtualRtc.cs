using Partition.Kernel;
using static Partition.Devices.Mc146818;

namespace Partition.Devices
{
    /// <summary>
    /// A CMOS real-time clock emulated for one partition: an MC146818A with the PC's 128 bytes
    /// of CMOS RAM, at ports 0x70 (index) and 0x71 (data), as Linux's mach_get_cmos_time and
    /// mc146818_get_time read it at boot for the wall clock. Its time is the hypervisor's wall
    /// clock (<see cref="ClockReference"/>, carried by the TSC) plus an offset that only this
    /// partition's writes move: a guest that sets its clock sets its own, never the machine's
    /// or another partition's. The model reads no clock itself: every access is given the TSC.
    /// </summary>
    /// <remarks>
    /// <para>The registers behave as the MC146818A data sheet gives them ("Register A" to
    /// "Register D", "Time, Calendar and Alarm Locations"): BCD or binary and 12- or 24-hour as
    /// register B selects; SET in B (or a divider other than 010 in A, which the DS12887 says
    /// is the only pattern that keeps time) stops the clock, so that the guest can write the
    /// time bytes, which start counting again from what was written when it runs again. The
    /// time bytes are computed from the clock at each read, so an update is never seen in
    /// progress and UIP always reads 0; a change of the data mode or of 24/12 shows at once in
    /// the time bytes (on the chip they keep their old coding until rewritten; a guest that
    /// changes the mode and then writes the time, as the data sheet asks, sees no difference).
    /// The day of the week is a counter of its own as on the chip: it follows midnights and
    /// changes only when written, not when the date is. An invalid time written (a BCD digit
    /// above 9, 31 April, hour 0 in 12-hour mode) is not taken: the clock goes on as if it had
    /// not been stopped. The data sheet leaves the chip's behaviour undefined there.</para>
    /// <para>No interrupts: update-ended, periodic and alarm interrupts are not generated and
    /// register C never reports one pending. The partition's ACPI tables set "CMOS RTC Not
    /// Present" in the FADT's IAPC_BOOT_ARCH (<see cref="AcpiTables.BootCmosRtcNotPresent"/>),
    /// so Linux registers no rtc_cmos device, binds no RTC driver and never uses IRQ 8; it reads
    /// the wall clock through the ports once, which needs none of them. The enable bits and the
    /// alarm bytes are kept as written. Daylight saving (DSE) is kept, not applied.</para>
    /// <para>Nothing allocates after construction. The caller serialises all calls (the
    /// partition's device lock).</para>
    /// </remarks>
    public sealed class VirtualRtc
    {
        private readonly ClockReference _clock;
        // The CMOS RAM, and while the clock is stopped the time bytes as the guest sees them.
        private readonly byte[] _ram = new byte[RamSize];
        private byte _index;
        private bool _nmiDisabled;
        private byte _registerA;
        private byte _registerB;
        // The partition's clock is the wall clock plus this many seconds.
        private long _offset;
        // The day-of-week counter is the date's weekday plus this (mod 7).
        private int _dayOfWeekShift;

        /// <summary>A clock showing <paramref name="clock"/>'s time, in its power-on state (<see cref="Reset"/>).</summary>
        public VirtualRtc(in ClockReference clock)
        {
            _clock = clock;
            Reset();
        }

        /// <summary>
        /// Back to the state the partition first saw, as when it is restarted: the wall clock's
        /// time (what the partition set is forgotten), registers A and B as a PC BIOS leaves
        /// them (<see cref="BiosRegisterA"/>: 32.768 kHz divider; <see cref="BiosRegisterB"/>:
        /// 24-hour BCD), CMOS RAM zeroed, index 0, NMI not masked. A restarted partition keeps
        /// nothing of its previous run, its RAM included; so the CMOS RAM too is cleared.
        /// </summary>
        public void Reset()
        {
            for (int i = 0; i < _ram.Length; i++)
                _ram[i] = 0;
            _index = 0;
            _nmiDisabled = false;
            _registerA = BiosRegisterA;
            _registerB = BiosRegisterB;
            _offset = 0;
            _dayOfWeekShift = 0;
        }

        /// <summary>The register port 0x71 reaches (0-127), as last written to port 0x70.</summary>
        public byte Index => _index;

        /// <summary>
        /// Bit 7 of the last index written: NMIs masked on a PC. Kept so that the guest's
        /// setting is visible; it masks nothing (the hypervisor's NMIs are its own).
        /// </summary>
        public bool NmiDisabled => _nmiDisabled;

        /// <summary>Whether the clock counts: SET clear in register B and the operating divider (010) in register A.</summary>
        public bool IsRunning => Runs(_registerA, _registerB);

        private static bool Runs(byte a, byte b) => (b & Set) == 0 && (a & DividerMask) == DividerOperating;

        public bool Claims(ushort port) => port == IndexPort || port == DataPort;

        /// <summary>
        /// An IN of <paramref name="size"/> bytes from <paramref name="port"/> (one the RTC
        /// <see cref="Claims"/>) at TSC value <paramref name="tsc"/>. Each byte is read from its
        /// own port, lowest first; the index port is write-only on PCs and reads as 0xFF, as
        /// does a byte beyond port 0x71.
        /// </summary>
        public uint Read(ushort port, int size, ulong tsc)
        {
            uint value = 0;
            for (int i = 0; i < size; i++)
            {
                int p = port + i;
                byte b = p == DataPort ? ReadRegister(_index, tsc) : (byte)0xFF;
                value |= (uint)b << (8 * i);
            }
            return value;
        }

        /// <summary>
        /// An OUT of the low <paramref name="size"/> bytes of <paramref name="value"/> to
        /// <paramref name="port"/> (one the RTC <see cref="Claims"/>) at TSC value
        /// <paramref name="tsc"/>, a byte to each port from the lowest, as the bus splits it:
        /// a word OUT to port 0x70 selects a register and writes it. A byte beyond port 0x71 is
        /// dropped.
        /// </summary>
        public void Write(ushort port, int size, uint value, ulong tsc)
        {
            for (int i = 0; i < size; i++)
            {
                int p = port + i;
                byte b = (byte)(value >> (8 * i));
                if (p == IndexPort)
                {
                    _index = (byte)(b & ~NmiDisable);
                    _nmiDisabled = (b & NmiDisable) != 0;
                }
                else if (p == DataPort)
                {
                    WriteRegister(_index, b, tsc);
                }
            }
        }

        private byte ReadRegister(byte register, ulong tsc)
        {
            if (IsTimeRegister(register))
                return IsRunning ? TimeByte(register, _clock.SecondsAt(tsc) + _offset) : _ram[register];
            switch (register)
            {
                // UIP is never set: the time bytes are computed whole at each read.
                case RegisterA: return _registerA;
                case RegisterB: return _registerB;
                // Read-to-clear interrupt flags: there are never any (no interrupts are modelled).
                case RegisterC: return 0;
                case RegisterD: return ValidRamAndTime;
                default: return _ram[register];
            }
        }

        private void WriteRegister(byte register, byte value, ulong tsc)
        {
            if (IsTimeRegister(register))
            {
                // A write while the clock runs is allowed (the data sheet only warns that an
                // update may come between two writes); here it is one stop, write and start.
                if (IsRunning)
                {
                    Stop(tsc);
                    _ram[register] = value;
                    Start(tsc);
                }
                else
                {
                    _ram[register] = value;
                }
                return;
            }
            switch (register)
            {
                // UIP is read-only.
                case RegisterA: Control((byte)(value & ~Uip), _registerB, tsc); break;
                // SET going to 1 clears UIE (DS12887, "Register B").
                case RegisterB:
                    if ((value & Set) != 0 && (_registerB & Set) == 0)
                        value = (byte)(value & ~UpdateEndedInterruptEnable);
                    Control(_registerA, value, tsc);
                    break;
                // C and D are read-only.
                case RegisterC:
                case RegisterD:
                    break;
                // Alarm bytes and CMOS RAM.
                default: _ram[register] = value; break;
            }
        }

        // A new register A or B: stopping takes the time bytes in the mode before the write,
        // starting reads them in the mode after it.
        private void Control(byte a, byte b, ulong tsc)
        {
            bool wasRunning = IsRunning;
            bool runs = Runs(a, b);
            if (wasRunning && !runs)
                Stop(tsc);
            _registerA = a;
            _registerB = b;
            if (!wasRunning && runs)
                Start(tsc);
        }

        // The clock stops: its time bytes hold still, in the current mode, for the guest to read and write.
        private void Stop(ulong tsc)
        {
            long now = _clock.SecondsAt(tsc) + _offset;
            _ram[Seconds] = TimeByte(Seconds, now);
            _ram[Minutes] = TimeByte(Minutes, now);
            _ram[Hours] = TimeByte(Hours, now);
            _ram[DayOfWeek] = TimeByte(DayOfWeek, now);
            _ram[DateOfMonth] = TimeByte(DateOfMonth, now);
            _ram[Month] = TimeByte(Month, now);
            _ram[Year] = TimeByte(Year, now);
            _ram[Century] = TimeByte(Century, now);
        }

        // The clock starts again from its time bytes, if they hold a valid time.
        private void Start(ulong tsc)
        {
            if (!TryDecodeField(_ram[Century], _registerB, out int century)
                || !TryDecodeTime(_ram[Seconds], _ram[Minutes], _ram[Hours], _ram[DateOfMonth], _ram[Month], _ram[Year], century,
                    _registerB, out CalendarTime time))
                return;
            _offset = time.ToUnixSeconds() - _clock.SecondsAt(tsc);
            if (TryDecodeField(_ram[DayOfWeek], _registerB, out int dayOfWeek) && dayOfWeek >= 1 && dayOfWeek <= 7)
                _dayOfWeekShift = Modulo7(dayOfWeek - 1 - time.DayOfWeek);
        }

        // One time byte of the time `seconds` after the epoch, coded as register B says.
        private byte TimeByte(byte register, long seconds)
        {
            var time = CalendarTime.FromUnixSeconds(seconds);
            // Years beyond what the two bytes can name wrap, as the chip's year does at 99.
            int year = time.Year % 10000;
            if (year < 0)
                year += 10000;
            switch (register)
            {
                case Seconds: return EncodeField(time.Second, _registerB);
                case Minutes: return EncodeField(time.Minute, _registerB);
                case Hours: return EncodeHours(time.Hour, _registerB);
                // 1-7, Sunday = 1, as PC BIOSes and Linux count (data sheet: 1-7, meaning left to software).
                case DayOfWeek: return EncodeField(Modulo7(time.DayOfWeek + _dayOfWeekShift) + 1, _registerB);
                case DateOfMonth: return EncodeField(time.Day, _registerB);
                case Month: return EncodeField(time.Month, _registerB);
                case Year: return EncodeField(year % 100, _registerB);
                default: return EncodeField(year / 100, _registerB);
            }
        }

        private static int Modulo7(int value) => (value % 7 + 7) % 7;
    }
}
