namespace Partition.Kernel
{
    /// <summary>
    /// The report printed when a partition is stopped: partition, vCPU, reason, exit reason
    /// and qualification, guest RIP, control registers and general registers.
    /// </summary>
    public static unsafe class CrashReport
    {
        public static void Print(ref ExitContext c, string why)
        {
            var vm = c.Vcpu.Machine;
            vm.Uart?.Flush();
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write("*** partition ");
            HypervisorConsole.Write(vm.Name);
            HypervisorConsole.Write(" vCPU ");
            HypervisorConsole.WriteDecimal((ulong)c.Vcpu.Index);
            HypervisorConsole.Write(" stopped: ");
            HypervisorConsole.WriteLine(why);
            HypervisorConsole.Write("    exit reason ");
            HypervisorConsole.WriteDecimal((ulong)c.Reason);
            HypervisorConsole.Write(" (");
            HypervisorConsole.Write(ExitReasons.Name(c.Reason));
            HypervisorConsole.Write(c.EntryFailure ? ", VM-entry failure" : "");
            HypervisorConsole.Write("), qualification ");
            HypervisorConsole.WriteHex(c.Qualification, 16);
            if (c.Reason == (ushort)ExitReason.EptViolation)
            {
                HypervisorConsole.Write(", guest-physical ");
                HypervisorConsole.WriteHex(c.Read(VmcsField.GuestPhysicalAddress), 16);
                HypervisorConsole.Write((c.Qualification & 1) != 0 ? " read" : (c.Qualification & 2) != 0 ? " write" : " fetch");
            }
            HypervisorConsole.WriteLine();
            GuestRegisters* r = c.Vcpu.Registers;
            HypervisorConsole.WriteRegisters("    ", "RIP", c.Read(VmcsField.GuestRip), "RSP", c.Read(VmcsField.GuestRsp), "RFLAGS", c.Read(VmcsField.GuestRflags));
            HypervisorConsole.WriteRegisters("    ", "CR0", c.Read(VmcsField.GuestCr0), "CR3", c.Read(VmcsField.GuestCr3), "CR4", c.Read(VmcsField.GuestCr4));
            HypervisorConsole.WriteRegisters("    ", "RAX", r->Rax, "RBX", r->Rbx, "RCX", r->Rcx);
            HypervisorConsole.WriteRegisters("    ", "RDX", r->Rdx, "RSI", r->Rsi, "RDI", r->Rdi);
            HypervisorConsole.WriteRegisters("    ", "RBP", r->Rbp, "R8 ", r->R8, "R9 ", r->R9);
            HypervisorConsole.EndLine();
        }
    }
}
