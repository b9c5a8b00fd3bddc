namespace Partition.Devices
{
    /// <summary>
    /// The ACPI power management timer of one partition (ACPI 6.4, 4.8.3.3 "Power Management
    /// Timer"): a free-running count-up counter at 3.579545 MHz, read-only, at the four ports
    /// the FADT's PM_TMR_BLK and X_PM_TMR_BLK name (PM_TMR_LEN = 4). It is the 32-bit variant
    /// (FADT flag TMR_VAL_EXT): it wraps after 2^32 ticks, 20 minutes, where the 24-bit one
    /// wraps every 4.7 s. memtest86+ calibrates its TSC against it with no wrap handling
    /// (system/timers.c, correct_tsc), and Linux masks what it reads to 24 bits either way
    /// (drivers/clocksource/acpi_pm.c).
    /// </summary>
    /// <remarks>
    /// <para>The count is computed from the TSC at each read, so nothing ticks between reads: it
    /// is (TSC - the TSC at <see cref="Reset"/>) * 3579545 / the TSC's rate, 0 when the
    /// partition starts. Reads never go backwards, even when a vCPU on another core passes a
    /// TSC a little behind the last one seen: the model keeps the highest count it has
    /// answered with and never answers less.</para>
    /// <para>Access sizes: the register is 32 bits wide and OSes read it with a DWORD IN
    /// (the FADT's X_PM_TMR_BLK says access size 3). A byte or word read of any of its four
    /// ports gets those bytes of the current count, as a chipset decoding the block by byte
    /// lanes answers; a read reaching past the block gets the count's bytes up to its end and
    /// ones beyond, as for ports no device claims. Writes change nothing (the register is
    /// read-only; there is no enable bit, TMR_EN lives in PM1 which a hardware-reduced
    /// platform does not have).</para>
    /// <para>Nothing allocates after construction. The caller serialises all calls (the
    /// partition's device lock).</para>
    /// </remarks>
    public sealed class VirtualPmTimer
    {
        /// <summary>The PM timer's input clock (ACPI 6.4, 4.8.3.3: 3.579545 MHz); Linux's PMTMR_TICKS_PER_SEC.</summary>
        public const ulong FrequencyHz = 3579545;

        /// <summary>Ports the timer decodes from its base (the FADT's PM_TMR_LEN).</summary>
        public const int PortCount = 4;

        private readonly ulong _tscPerSecond;
        private ulong _startTsc;
        private ulong _highestTicks;

        /// <summary>
        /// A timer at <paramref name="port"/> (its four ports from there) counting from 0 at TSC
        /// value <paramref name="startTsc"/>, for a TSC that advances <paramref name="tscPerSecond"/>
        /// ticks a second (1 if 0 is passed).
        /// </summary>
        public VirtualPmTimer(ushort port, ulong tscPerSecond, ulong startTsc)
        {
            Port = port;
            _tscPerSecond = tscPerSecond == 0 ? 1 : tscPerSecond;
            Reset(startTsc);
        }

        /// <summary>The first of its four ports.</summary>
        public ushort Port { get; }

        /// <summary>The partition starts again: the count is 0 at <paramref name="tsc"/>.</summary>
        public void Reset(ulong tsc)
        {
            _startTsc = tsc;
            _highestTicks = 0;
        }

        public bool Claims(ushort port) => port >= Port && port - Port < PortCount;

        /// <summary>Ticks since <see cref="Reset"/> at TSC value <paramref name="tsc"/>, not wrapped, never less than an earlier answer.</summary>
        public ulong TicksAt(ulong tsc)
        {
            ulong elapsed = tsc > _startTsc ? tsc - _startTsc : 0;
            // elapsed * 3579545 / rate without overflowing 64 bits: whole seconds first, then
            // the rest of a second (below the rate, so the product stays under 2^64 for any
            // TSC rate up to 5 THz).
            ulong seconds = elapsed / _tscPerSecond;
            ulong rest = elapsed % _tscPerSecond;
            ulong ticks = seconds * FrequencyHz + rest * FrequencyHz / _tscPerSecond;
            if (ticks < _highestTicks)
                return _highestTicks;
            _highestTicks = ticks;
            return ticks;
        }

        /// <summary>
        /// An IN of <paramref name="size"/> bytes (1, 2 or 4) from <paramref name="port"/> (one
        /// it claims) at TSC value <paramref name="tsc"/>: the 32-bit count's bytes from that
        /// port's lane on, all ones past the block's end.
        /// </summary>
        public uint Read(ushort port, int size, ulong tsc)
        {
            uint count = (uint)TicksAt(tsc);
            int lane = port - Port;
            uint value = 0;
            for (int i = 0; i < size; i++)
            {
                int at = lane + i;
                uint b = at < PortCount ? (count >> (8 * at)) & 0xFF : 0xFF;
                value |= b << (8 * i);
            }
            return value;
        }
    }
}
