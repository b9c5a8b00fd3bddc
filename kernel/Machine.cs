namespace Partition.Kernel
{
    /// <summary>Whole-machine operations: power-off and halting for good.</summary>
    public static class Machine
    {
        /// <summary>
        /// Set from "exit=poweroff": when the hypervisor stops (nothing left to run, a panic, a
        /// CPU exception) it powers the machine off instead of halting, so that a scripted run
        /// (the tests) ends by itself. By default a stopped hypervisor halts and keeps its
        /// last words on the console.
        /// </summary>
        public static bool PowerOffWhenStopped { get; set; }

        /// <summary>The TSC when the hypervisor's C# started (Hypervisor.Boot): its start-up is counted from here.</summary>
        public static ulong BootTsc;

        /// <summary>The hypervisor cannot go on: power off or halt, as configured.</summary>
        public static void Stop()
        {
            if (PowerOffWhenStopped)
                PowerOff();
            Halt();
        }

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
