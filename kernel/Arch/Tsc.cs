namespace Partition.Kernel
{
    /// <summary>
    /// The time-stamp counter's rate, measured at boot against the PIT (channel 2, gated by
    /// port 0x61, one-shot over 10 ms): the scheduler's slices are configured in microseconds
    /// and enforced in TSC ticks. (In Bochs the TSC counts emulated instructions.)
    /// </summary>
    public static class Tsc
    {
        private const uint PitHz = 1193182;
        private const uint CalibrationMs = 10;

        /// <summary>TSC ticks per millisecond, once calibrated (10 MHz until then).</summary>
        public static ulong TicksPerMillisecond { get; private set; } = 10000;

        public static ulong Now => Cpu.ReadTsc();

        public static ulong FromMicroseconds(ulong microseconds) => microseconds * TicksPerMillisecond / 1000;

        public static void Calibrate()
        {
            const ushort control = 0x61, command = 0x43, channel2 = 0x42;
            ushort count = (ushort)(PitHz * CalibrationMs / 1000);
            byte gate = Cpu.In8(control);
            Cpu.Out8(control, (byte)((gate & ~0x02) | 0x01));  // gate on, speaker off
            Cpu.Out8(command, 0xB0);                             // channel 2, lobyte/hibyte, mode 0
            Cpu.Out8(channel2, (byte)count);
            Cpu.Out8(channel2, (byte)(count >> 8));
            ulong start = Cpu.ReadTsc();
            // OUT2 goes high when the count reaches zero (bit 5 of port 0x61). Bounded, in case
            // there is no PIT: a machine without one keeps the default rate.
            ulong limit = start + 1000000000UL;
            while ((Cpu.In8(control) & 0x20) == 0 && Cpu.ReadTsc() < limit)
                Cpu.Pause();
            ulong elapsed = Cpu.ReadTsc() - start;
            Cpu.Out8(control, gate);
            if (elapsed >= CalibrationMs * 100)
                TicksPerMillisecond = elapsed / CalibrationMs;
        }
    }
}
