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
                ulong address = c.Read(VmcsField.GuestPhysicalAddress);
                HypervisorConsole.Write(", guest-physical ");
                HypervisorConsole.WriteHex(address, 16);
                HypervisorConsole.Write((c.Qualification & 1) != 0 ? " read" : (c.Qualification & 2) != 0 ? " write" : " fetch");
                if (vm.TryFindShared(address, out var shared))
                {
                    HypervisorConsole.WriteLine();
                    HypervisorConsole.Write("    in shared memory ");
                    HypervisorConsole.Write(shared.Name);
                    HypervisorConsole.Write(shared.Writable ? ", read-write here" : ", read-only here");
                }
            }
            HypervisorConsole.WriteLine();
            GuestRegisters* r = c.Vcpu.Registers;
            HypervisorConsole.WriteRegisters("    ", "RIP", c.Read(VmcsField.GuestRip), "RSP", c.Read(VmcsField.GuestRsp), "RFLAGS", c.Read(VmcsField.GuestRflags));
            HypervisorConsole.WriteRegisters("    ", "CR0", c.Read(VmcsField.GuestCr0), "CR3", c.Read(VmcsField.GuestCr3), "CR4", c.Read(VmcsField.GuestCr4));
            HypervisorConsole.WriteRegisters("    ", "RAX", r->Rax, "RBX", r->Rbx, "RCX", r->Rcx);
            HypervisorConsole.WriteRegisters("    ", "RDX", r->Rdx, "RSI", r->Rsi, "RDI", r->Rdi);
            HypervisorConsole.WriteRegisters("    ", "RBP", r->Rbp, "R8 ", r->R8, "R9 ", r->R9);
            WriteCode(ref c);
            HypervisorConsole.EndLine();
        }

        public const int CodeBytes = 15;

        /// <summary>
        /// "code at RIP 0x… (64-bit): 48 89 18 …": the bytes at the guest's RIP, read through its
        /// own paging, for the host tools to disassemble (the image has no disassembler; Iced
        /// does it on the host: 'partition run' and the test reports add the instruction).
        /// </summary>
        private static void WriteCode(ref ExitContext c)
        {
            var vm = c.Vcpu.Machine;
            ulong rip = c.Read(VmcsField.GuestRip);
            ulong linear = c.Read(VmcsField.GuestCsBase) + rip;
            uint cs = (uint)c.Read(VmcsField.GuestCsAccessRights);
            int bitness = (cs & 1u << 13) != 0 ? 64 : (cs & 1u << 14) != 0 ? 32 : 16;
            HypervisorConsole.Write("    code at RIP ");
            HypervisorConsole.WriteHex(rip, 16);
            if (!GuestMemory.TryTranslate(vm, linear, c.Read(VmcsField.GuestCr0), c.Read(VmcsField.GuestCr3), c.Read(VmcsField.GuestCr4),
                    c.Read(VmcsField.GuestEfer), out ulong physical))
            {
                HypervisorConsole.WriteLine(": not in the partition's memory, or in a paging mode not decoded");
                return;
            }
            HypervisorConsole.Write(" (");
            HypervisorConsole.WriteDecimal((ulong)bitness);
            HypervisorConsole.Write("-bit):");
            // Up to 15 bytes, but not past the page (the next one may not be mapped).
            ulong available = System.Math.Min((ulong)CodeBytes, 4096 - (linear & 0xFFF));
            byte* code = vm.GuestPointer(physical, available);
            System.Span<char> hex = stackalloc char[2];
            for (ulong i = 0; code != null && i < available; i++)
            {
                HypervisorConsole.Write(" ");
                NumberFormat.FormatHex(code[i], 2, hex);
                HypervisorConsole.Write(hex);
            }
            HypervisorConsole.WriteLine();
        }
    }
}
