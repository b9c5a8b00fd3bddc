using System.Collections.Generic;
using System.IO;
using System.Text;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Partition.Host.Linux
{
    /// <summary>
    /// A static x86-64 Linux program (ELF64, no libc) that, run as root in a Linux partition with
    /// /dev/mem, tries to reach cores it does not own through the interrupt hardware it sees:
    /// it maps the local APIC page (0xFEE00000) and writes the ICR (high, then low) for each
    /// IPI of <see cref="Ipis"/>, then maps the I/O APIC (0xFEC00000) and points pin
    /// <see cref="RedirectedPin"/>'s redirection entry at APIC ID <see cref="ForeignApicId"/> as
    /// an NMI. Each step prints a line, "apic attack: ..."; a step that cannot be taken (no
    /// /dev/mem, a refused mmap) prints why and the program exits 1. What contains it is the
    /// hypervisor's: the partition's local APICs and I/O APIC are virtual, and deliver only to
    /// its own vCPUs (the test reads the console's "dropped" reports).
    /// </summary>
    public static class HostApicAttacks
    {
        public const ulong LoadAddress = 0x400000;
        public const ulong LocalApic = 0xFEE00000, IoApic = 0xFEC00000;
        public const int ForeignApicId = 2;

        /// <summary>The management line's pin (COM2, IRQ 3): the test makes it fire by sending a command.</summary>
        public const int RedirectedPin = 3;

        public const string LinePrefix = "apic attack: ";

        /// <summary>The IPIs, as (description, ICR destination field, ICR low dword): none names a vCPU of a two-vCPU partition.</summary>
        public static readonly (string What, uint Destination, uint Low)[] Ipis =
        {
            ("fixed vector 0x40 to APIC ID 2", 2, 0x4040),
            ("NMI to APIC ID 2", 2, 0x4400),
            ("INIT to APIC ID 2", 2, 0x4500),
            ("SIPI vector 0x10 to APIC ID 2", 2, 0x4610),
            ("NMI to APIC ID 3", 3, 0x4400),
            ("NMI to logical destination 0xFC (no vCPU of the partition)", 0xFC, 0x4C00),
        };

        private const int OpenSyscall = 2, MmapSyscall = 9, WriteSyscall = 1, ExitSyscall = 60;
        private const int ReadWriteSync = 0x101002; // O_RDWR | O_SYNC
        private const int Icr = 0x300, IcrHigh = 0x310;

        public static byte[] Program()
        {
            var a = new Assembler(64);
            var strings = new List<(Label Label, byte[] Text)>();
            Label Text(string text)
            {
                var label = a.CreateLabel();
                strings.Add((label, Encoding.ASCII.GetBytes(text)));
                return label;
            }
            void Print(string text)
            {
                var label = Text(text);
                a.mov(eax, WriteSyscall);
                a.mov(edi, 1);
                a.lea(rsi, __[label]);
                a.mov(edx, Encoding.ASCII.GetByteCount(text));
                a.syscall();
            }
            void Fail(string text)
            {
                Print(LinePrefix + text + "\n");
                a.mov(eax, ExitSyscall);
                a.mov(edi, 1);
                a.syscall();
            }
            // rbx = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd (r15), physical)
            void Map(ulong physical, string what)
            {
                var mapped = a.CreateLabel();
                a.xor(edi, edi);
                a.mov(esi, 4096);
                a.mov(edx, 3);
                a.mov(r10d, 1);
                a.mov(r8, r15);
                a.mov(r9, physical);
                a.mov(eax, MmapSyscall);
                a.syscall();
                a.cmp(rax, -4096);
                a.jb(mapped);
                Fail($"cannot map the {what} at 0x{physical:X} through /dev/mem");
                a.Label(ref mapped);
                a.mov(rbx, rax);
            }

            var devMem = Text("/dev/mem\0");
            var opened = a.CreateLabel();
            a.lea(rdi, __[devMem]);
            a.mov(esi, ReadWriteSync);
            a.xor(edx, edx);
            a.mov(eax, OpenSyscall);
            a.syscall();
            a.test(eax, eax);
            a.jns(opened);
            Fail("cannot open /dev/mem");
            a.Label(ref opened);
            a.mov(r15, rax);

            Map(LocalApic, "local APIC");
            foreach (var (what, destination, low) in Ipis)
            {
                a.mov(__dword_ptr[rbx + IcrHigh], destination << 24);
                a.mov(__dword_ptr[rbx + Icr], low);
                Print($"{LinePrefix}{what}: sent\n");
            }

            Map(IoApic, "I/O APIC");
            // IOREGSEL (offset 0) selects, IOWIN (offset 0x10) writes: the entry's high dword
            // (destination), then its low dword (vector 0x30, NMI delivery, edge, unmasked).
            a.mov(__dword_ptr[rbx], 0x10 + 2 * RedirectedPin + 1);
            a.mov(__dword_ptr[rbx + 0x10], (uint)ForeignApicId << 24);
            a.mov(__dword_ptr[rbx], 0x10 + 2 * RedirectedPin);
            a.mov(__dword_ptr[rbx + 0x10], 0x430);
            Print($"{LinePrefix}I/O APIC pin {RedirectedPin} now an NMI to APIC ID {ForeignApicId}\n");

            a.mov(eax, ExitSyscall);
            a.xor(edi, edi);
            a.syscall();
            foreach (var (label, text) in strings)
            {
                var l = label;
                a.Label(ref l);
                a.db(text);
            }
            var stream = new MemoryStream();
            a.Assemble(new StreamCodeWriter(stream), LoadAddress + Elf64.ImageOffset);
            return Elf64.Executable(stream.ToArray(), LoadAddress);
        }
    }
}
