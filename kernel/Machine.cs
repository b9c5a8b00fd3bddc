namespace Partition.Kernel
{
    /// <summary>Whole-machine operations: power-off and halting for good.</summary>
    public static class Machine
    {
        private const ushort BochsShutdownPort = 0x8900;
        private const ushort QemuDebugExitPort = 0xF4;
        private const ushort QemuAcpiPm1aControl = 0x604;

        /// <summary>
        /// Powers the machine off: Bochs' shutdown port, then QEMU's isa-debug-exit device and
        /// its ACPI PM1a control (S5). On real hardware without these, the CPU halts instead.
        /// </summary>
        public static void PowerOff()
        {
            HypervisorConsole.Flush();
            const string shutdown = "Shutdown";
            for (int i = 0; i < shutdown.Length; i++)
                Cpu.Out8(BochsShutdownPort, (byte)shutdown[i]);
            Cpu.Out8(QemuDebugExitPort, 0x00);
            Cpu.Out16(QemuAcpiPm1aControl, 0x2000);
            Halt();
        }

        /// <summary>Stops this CPU for good, with interrupts off.</summary>
        public static void Halt()
        {
            HypervisorConsole.Flush();
            Cpu.DisableInterrupts();
            while (true)
                Cpu.Halt();
        }
    }
}
