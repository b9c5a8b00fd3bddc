namespace Partition.Kernel
{
    /// <summary>
    /// The report printed when the hypervisor itself takes a CPU exception: vector and name,
    /// error code (decoded for #PF), RIP, CR2 and every register. A hypervisor fault is a bug,
    /// so the report is followed by a halt, never a silent triple fault.
    /// </summary>
    public static class ExceptionReport
    {
        public const ulong NonMaskableInterrupt = 2;

        public static string VectorName(ulong vector) => vector switch
        {
            0 => "#DE divide error",
            1 => "#DB debug",
            2 => "NMI",
            3 => "#BP breakpoint",
            4 => "#OF overflow",
            5 => "#BR bound range exceeded",
            6 => "#UD invalid opcode",
            7 => "#NM device not available",
            8 => "#DF double fault",
            9 => "coprocessor segment overrun",
            10 => "#TS invalid TSS",
            11 => "#NP segment not present",
            12 => "#SS stack-segment fault",
            13 => "#GP general protection",
            14 => "#PF page fault",
            16 => "#MF x87 floating-point error",
            17 => "#AC alignment check",
            18 => "#MC machine check",
            19 => "#XM SIMD floating-point exception",
            20 => "#VE virtualization exception",
            21 => "#CP control protection",
            _ => "reserved vector",
        };

        public static void Print(in InterruptFrame frame, ulong cr2, int cpu)
        {
            HypervisorConsole.Write("\n*** CPU exception on CPU ");
            HypervisorConsole.WriteDecimal((ulong)cpu);
            HypervisorConsole.Write(": vector ");
            HypervisorConsole.WriteDecimal(frame.Vector);
            HypervisorConsole.Write(" (");
            HypervisorConsole.Write(VectorName(frame.Vector));
            HypervisorConsole.Write("), error code ");
            HypervisorConsole.WriteHex(frame.ErrorCode, 4);
            if (frame.Vector == 14)
                WritePageFaultCause(frame.ErrorCode);
            HypervisorConsole.WriteLine();

            HypervisorConsole.WriteRegisters("", "RIP", frame.Rip, "CS ", frame.Cs, "RFLAGS", frame.Rflags);
            HypervisorConsole.WriteRegisters("", "RSP", frame.Rsp, "SS ", frame.Ss, "CR2   ", cr2);
            HypervisorConsole.WriteRegisters("", "RAX", frame.Rax, "RBX", frame.Rbx, "RCX   ", frame.Rcx);
            HypervisorConsole.WriteRegisters("", "RDX", frame.Rdx, "RSI", frame.Rsi, "RDI   ", frame.Rdi);
            HypervisorConsole.WriteRegisters("", "RBP", frame.Rbp, "R8 ", frame.R8, "R9    ", frame.R9);
            HypervisorConsole.WriteRegisters("", "R10", frame.R10, "R11", frame.R11, "R12   ", frame.R12);
            HypervisorConsole.WriteRegisters("", "R13", frame.R13, "R14", frame.R14, "R15   ", frame.R15);
            HypervisorConsole.WriteLine("*** the hypervisor stops");
        }

        // SDM Vol. 3A, 4.7 "Page-Fault Exceptions": bits P, W/R, U/S, RSVD, I/D.
        private static void WritePageFaultCause(ulong error)
        {
            HypervisorConsole.Write((error & 1) != 0 ? " [protection violation" : " [page not present");
            HypervisorConsole.Write((error & 2) != 0 ? ", write" : ", read");
            if ((error & 4) != 0)
                HypervisorConsole.Write(", user mode");
            if ((error & 8) != 0)
                HypervisorConsole.Write(", reserved bit set");
            if ((error & 16) != 0)
                HypervisorConsole.Write(", instruction fetch");
            HypervisorConsole.Write("]");
        }
    }
}
