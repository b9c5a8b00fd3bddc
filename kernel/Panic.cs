using System;

namespace Partition.Kernel
{
    /// <summary>
    /// The one way to stop the hypervisor for what cannot be survived: prints why on the console
    /// and halts this CPU for good. Guest faults never come here (they stop their partition).
    /// </summary>
    public static class Panic
    {
        public static void Stop(ReadOnlySpan<char> kind, ReadOnlySpan<char> message)
        {
            Cpu.DisableInterrupts();
            HypervisorConsole.Write("\nPANIC: ");
            HypervisorConsole.Write(kind);
            if (!message.IsEmpty)
            {
                HypervisorConsole.Write(": ");
                HypervisorConsole.Write(message);
            }
            HypervisorConsole.WriteLine();
            Machine.Stop();
        }

        public static void Stop(string message) => Stop("Panic", message);
    }
}
