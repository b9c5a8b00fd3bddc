using System.Runtime.InteropServices;

namespace Partition.Kernel
{
    internal static unsafe class ExceptionEntry
    {
        private static int s_depth;

        /// <summary>
        /// Called by boot.asm's exception_common with the saved frame. An NMI is another core's
        /// kick (<see cref="CoreRunner.Kick"/>) that arrived while this CPU was in the
        /// hypervisor: it is counted and the interrupted code goes on (its IRET ends the NMI
        /// blocking). Vectors from 32 on are interrupts, taken only in the run loop's interrupt
        /// windows (<see cref="PhysicalInterrupts"/>). Any other exception is a hypervisor bug:
        /// reported, naming the CPU, then the machine stops.
        /// </summary>
        [UnmanagedCallersOnly(EntryPoint = "partition_exception_handler")]
        private static void Handle(InterruptFrame* frame)
        {
            int cpu = Smp.CurrentCpu;
            if (frame->Vector == ExceptionReport.NonMaskableInterrupt)
            {
                CoreRunner.NmiReceived(cpu);
                return;
            }
            if (frame->Vector == MachineCheck.Vector && MachineCheck.HandleInHypervisor(cpu))
                return;
            // An interrupt let in by an interrupt window (Cpu.AcceptInterrupts).
            if (frame->Vector >= 32)
            {
                PhysicalInterrupts.Handle((int)frame->Vector, cpu);
                return;
            }
            // A fault while reporting a fault: say so in the fewest steps and stop.
            if (++s_depth > 1)
            {
                HypervisorConsole.WriteLine("\n*** nested CPU exception while reporting one; halting");
                Machine.Halt();
            }
            ExceptionReport.Print(*frame, Cpu.ReadCr2(), cpu);
            Machine.Stop();
        }
    }
}
