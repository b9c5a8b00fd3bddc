using System.Runtime.InteropServices;

namespace Partition.Kernel
{
    internal static unsafe class ExceptionEntry
    {
        private static int s_depth;

        /// <summary>Called by boot.asm's exception_common with the saved frame.</summary>
        [UnmanagedCallersOnly(EntryPoint = "partition_exception_handler")]
        private static void Handle(InterruptFrame* frame)
        {
            // A fault while reporting a fault: say so in the fewest steps and stop.
            if (++s_depth > 1)
            {
                HypervisorConsole.WriteLine("\n*** nested CPU exception while reporting one; halting");
                Machine.Halt();
            }
            ExceptionReport.Print(*frame, Cpu.ReadCr2(), 0);
            Machine.Stop();
        }
    }
}
