namespace Partition.Kernel
{
    /// <summary>
    /// The machine's 8259A pair, which the hypervisor silences at boot and nobody programs
    /// afterwards (the host partition gets register-only ones, <see cref="Partition.Devices.VirtualPic8259"/>).
    /// Masking alone is not enough on every machine: Bochs, for one, hands the 8259's INTR to
    /// the CPU whatever LINT0 says, and the firmware leaves the master's vectors at 8-15, on top
    /// of the CPU's exceptions. So the pair is initialised again with its vectors at 0xF0-0xFF
    /// (a spurious IRQ 7 or 15 then arrives as an interrupt, not as a #DF or #GP), then masked.
    /// </summary>
    public static class LegacyPic
    {
        private const ushort MasterCommand = 0x20, MasterData = 0x21, SlaveCommand = 0xA0, SlaveData = 0xA1;

        /// <summary>Where the master's (and, + 8, the slave's) vectors now start.</summary>
        public const byte VectorBase = 0xF0;

        public static void Silence()
        {
            Cpu.Out8(MasterCommand, 0x11);         // ICW1: edge, cascade, ICW4 follows
            Cpu.Out8(SlaveCommand, 0x11);
            Cpu.Out8(MasterData, VectorBase);      // ICW2: vector base
            Cpu.Out8(SlaveData, VectorBase + 8);
            Cpu.Out8(MasterData, 0x04);            // ICW3: slave on IR2
            Cpu.Out8(SlaveData, 0x02);             //        its cascade identity
            Cpu.Out8(MasterData, 0x01);            // ICW4: 8086 mode, normal EOI
            Cpu.Out8(SlaveData, 0x01);
            Cpu.Out8(MasterData, 0xFF);            // OCW1: every input masked
            Cpu.Out8(SlaveData, 0xFF);
        }
    }
}
