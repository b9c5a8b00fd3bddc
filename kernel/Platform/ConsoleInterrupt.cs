namespace Partition.Kernel
{
    /// <summary>
    /// Typed input on the hypervisor's console (COM1) by interrupt: the UART raises ISA IRQ 4
    /// while a received byte waits, and the I/O APIC input it reaches (<see cref="Acpi.FindIsaRoute"/>)
    /// sends it to CPU 0 with the hypervisor's <see cref="Vector"/>. Taking it (a VM exit, or
    /// the run loop's interrupt window) makes the console's input due at once
    /// (<see cref="ConsoleDue.NextInputPoll"/>; a guest's slice on CPU 0 ends at that exit,
    /// <see cref="Management.TypedInputSignalled"/>), so the run loops need not read the
    /// UART's status every 250 us to see a key: they look every 10 ms on their own, in case
    /// an edge was missed.
    /// </summary>
    /// <remarks>
    /// The input is the hypervisor's, never a partition's: the host partition's I/O APIC is not
    /// backed by this pin (<see cref="PinMask"/>, <see cref="PhysicalInterrupts.Attach"/>).
    /// Without a MADT, an I/O APIC that has the pin, an edge-triggered route (a level-triggered
    /// one would interrupt again until the loop had read the byte) or an APIC ID the entry can
    /// name, input stays polled as before.
    /// </remarks>
    public static class ConsoleInterrupt
    {
        /// <summary>The vector CPU 0 takes it with: below the device vectors (<see cref="PhysicalInterrupts.VectorBase"/>).</summary>
        public const int Vector = 0x30;

        /// <summary>COM1's ISA IRQ.</summary>
        public const int Com1Irq = 4;

        private static int s_pin = -1;
        private static uint s_gsiBase;
        private static ulong s_taken;

        /// <summary>Whether typed input comes by interrupt.</summary>
        public static bool Armed => s_pin >= 0;

        /// <summary>Interrupts taken so far.</summary>
        public static ulong Taken => s_taken;

        /// <summary>The pin of the I/O APIC with GSI base 0 that this takes, as a mask (0: none).</summary>
        public static uint PinMask => s_pin >= 0 && s_pin < 32 && s_gsiBase == 0 ? 1u << s_pin : 0;

        /// <summary>
        /// Programs the route's I/O APIC input (this vector, fixed delivery, physical destination
        /// <paramref name="destinationApicId"/>) and turns the UART's receive interrupt on; says
        /// on the console which way input comes. Called once at boot, before any partition runs.
        /// </summary>
        public static void Arm(in IsaInterruptRoute route, uint destinationApicId)
        {
            string refused = route.LevelTriggered ? "its route is level-triggered"
                : destinationApicId > 0xFF ? "CPU 0's APIC ID does not fit an I/O APIC entry" : null;
            PhysicalIoApic ioApic = null;
            if (refused == null)
            {
                ioApic = new PhysicalIoApic(route.IoApicAddress, route.GsiBase);
                if (route.Pin >= ioApic.Pins)
                    refused = "the I/O APIC has no such input";
            }
            if (refused != null)
            {
                HypervisorConsole.Write("Console input: polled (no interrupt: ");
                HypervisorConsole.Write(refused);
                HypervisorConsole.WriteLine(")");
                return;
            }
            ulong entry = Vector | (route.ActiveLow ? PhysicalIoApic.ActiveLow : 0) | (ulong)destinationApicId << 56;
            ioApic.Lock.Enter();
            ioApic.WriteEntry(route.Pin, entry);
            ioApic.Lock.Exit();
            s_gsiBase = route.GsiBase;
            s_pin = route.Pin;
            HypervisorConsole.EnableInputInterrupt();
            HypervisorConsole.Write("Console input: by interrupt (ISA IRQ ");
            HypervisorConsole.WriteDecimal(Com1Irq);
            HypervisorConsole.Write(", I/O APIC input ");
            HypervisorConsole.WriteDecimal(route.GsiBase + (ulong)route.Pin);
            HypervisorConsole.WriteLine(", CPU 0)");
        }

        /// <summary>Typed input is polled again (for the host tests: one test's route is not the next one's).</summary>
        internal static void Forget() => s_pin = -1;

        /// <summary>The interrupt, in the hypervisor: the console's input is due now; ended at the local APIC.</summary>
        public static void Take()
        {
            s_taken++;
            ConsoleDue.NextInputPoll = 0;
            Lapic.EndOfInterrupt();
        }
    }
}
