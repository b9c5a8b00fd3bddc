namespace Partition.Kernel
{
    /// <summary>
    /// A real I/O APIC (82093AA and its successors in chipsets): its redirection table through
    /// the IOREGSEL/IOWIN pair at its MMIO base (identity mapped, uncached by the firmware's
    /// MTRRs). Every access holds <see cref="Lock"/>: the pair is one register window for all
    /// CPUs.
    /// </summary>
    public sealed unsafe class PhysicalIoApic
    {
        private const uint IoRegSel = 0x00, IoWin = 0x10;
        private const uint VersionRegister = 0x01, RedirectionTable = 0x10;

        /// <summary>Masked (bit 16), as every entry is after reset.</summary>
        public const ulong Masked = 1UL << 16;

        /// <summary>The input's polarity (bit 13): active low.</summary>
        public const ulong ActiveLow = 1UL << 13;

        /// <summary>The input's trigger mode (bit 15): level.</summary>
        public const ulong LevelTriggered = 1UL << 15;

        private readonly byte* _base;

        public PhysicalIoApic(ulong address, uint gsiBase)
        {
            _base = (byte*)address;
            GsiBase = gsiBase;
            Lock.Enter();
            Pins = (int)(Read(VersionRegister) >> 16 & 0xFF) + 1;
            Lock.Exit();
        }

        public uint GsiBase { get; }

        /// <summary>Its inputs: the version register's maximum redirection entry + 1.</summary>
        public int Pins { get; }

        public PlainSpinLock Lock { get; } = new PlainSpinLock();

        /// <summary>Writes redirection entry <paramref name="pin"/>, masked first so that no half-written entry is ever live. The caller holds <see cref="Lock"/>.</summary>
        public void WriteEntry(int pin, ulong entry)
        {
            uint low = RedirectionTable + 2 * (uint)pin;
            Write(low, (uint)Masked);
            Write(low + 1, (uint)(entry >> 32));
            Write(low, (uint)entry);
        }

        /// <summary>Sets or clears the mask bit of entry <paramref name="pin"/>, the rest as it is. The caller holds <see cref="Lock"/>.</summary>
        public void SetMask(int pin, bool masked)
        {
            uint low = RedirectionTable + 2 * (uint)pin;
            uint value = Read(low);
            Write(low, masked ? value | (uint)Masked : value & ~(uint)Masked);
        }

        public ulong ReadEntry(int pin)
        {
            uint low = RedirectionTable + 2 * (uint)pin;
            return Read(low) | (ulong)Read(low + 1) << 32;
        }

        private uint Read(uint register)
        {
            *(uint*)(_base + IoRegSel) = register;
            return *(uint*)(_base + IoWin);
        }

        private void Write(uint register, uint value)
        {
            *(uint*)(_base + IoRegSel) = register;
            *(uint*)(_base + IoWin) = value;
        }
    }
}
