namespace Partition.Kernel
{
    /// <summary>
    /// Machine checks (SDM Vol. 3B, chapter 16): the hardware reporting an error. In a guest
    /// (the exception bitmap intercepts #MC) it stops that partition, whose data may be what
    /// was hit, and the others go on. In the hypervisor it is reported on the console naming the
    /// CPU, and the CPU goes on if IA32_MCG_STATUS says the interrupted code may be resumed
    /// (RIPV); otherwise the machine stops, since the hypervisor's own state cannot be trusted.
    /// </summary>
    public static class MachineCheck
    {
        public const ulong Vector = 18;
        private const uint McgStatus = 0x17A;
        private const ulong Ripv = 1UL << 0, Eipv = 1UL << 1, Mcip = 1UL << 2;

        /// <summary>Whether the interrupted code may go on (RIPV set, SDM 16.3.1.2).</summary>
        public static bool CanResume(ulong mcgStatus) => (mcgStatus & Ripv) != 0;

        /// <summary>IA32_MCG_STATUS, if the processor has the machine-check architecture (else 0: not resumable).</summary>
        public static ulong ReadStatus() => HasArchitecture ? Cpu.ReadMsr(McgStatus) : 0;

        private static bool HasArchitecture => (HostCpuid.Leaf(1, 0).Edx & (1u << 7 | 1u << 14)) == (1u << 7 | 1u << 14);

        /// <summary>A #MC taken in the hypervisor on <paramref name="cpu"/>: reported; true if the CPU may go on.</summary>
        public static bool HandleInHypervisor(int cpu)
        {
            ulong status = ReadStatus();
            bool resume = CanResume(status);
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write("*** machine check on CPU ");
            HypervisorConsole.WriteDecimal((ulong)cpu);
            HypervisorConsole.Write(" in the hypervisor, IA32_MCG_STATUS ");
            HypervisorConsole.WriteHex(status, 4);
            HypervisorConsole.WriteLine(resume ? ": restartable (RIPV), going on" : ": not restartable, the machine stops");
            HypervisorConsole.EndLine();
            if (resume && HasArchitecture)
                Cpu.WriteMsr(McgStatus, status & ~Mcip); // the next #MC may come (MCIP clear)
            return resume;
        }
    }
}
