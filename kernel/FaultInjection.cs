namespace Partition.Kernel
{
    /// <summary>
    /// Deliberate faults, chosen by "fault=" on the kernel command line, so that tests can show
    /// that each crash path prints a report instead of resetting the machine.
    /// </summary>
    public static unsafe class FaultInjection
    {
        // Not const: the compiler must not see (and fold) the bad address.
        private static ulong s_badAddress = 0x18;

        public const string PageFault = "page";
        public const string Throw = "throw";
        public const string HeapExhaustion = "heap";

        /// <summary>Triggers the named fault. Returns (after a warning) only for an unknown name.</summary>
        public static void Trigger(string kind)
        {
            HypervisorConsole.Write("Fault injection: ");
            HypervisorConsole.WriteLine(kind);
            if (kind == PageFault)
            {
                // Page 0 is left unmapped by the boot stub: this read faults with #PF, CR2 = 0x18.
                ulong value = *(ulong*)s_badAddress;
                HypervisorConsole.WriteHex(value);
            }
            else if (kind == Throw)
            {
                throw new System.InvalidOperationException("fault=throw on the kernel command line");
            }
            else if (kind == HeapExhaustion)
            {
                object keep = null;
                while (true)
                    keep = new Holder(keep, new byte[1024 * 1024]);
            }
            else
            {
                HypervisorConsole.WriteLine("Fault injection: unknown kind; valid kinds are page, throw, heap");
            }
        }

        private sealed class Holder
        {
            public Holder(object previous, byte[] block)
            {
                Previous = previous;
                Block = block;
            }

            public object Previous { get; }
            public byte[] Block { get; }
        }
    }
}
