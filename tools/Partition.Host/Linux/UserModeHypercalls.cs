using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Partition.Host.Linux
{
    /// <summary>
    /// A static x86-64 Linux program (ELF64, no libc) that a test puts into a Linux partition's
    /// initramfs to call the hypervisor from user mode: VMCALL with every hypercall function
    /// (0-5: version, partition info, migrate, pause, resume, restart; arguments: partition 1,
    /// core 3), each followed by a line on standard output:
    /// <c>user-mode hypercall F: rax=0xHHHHHHHHHHHHHHHH</c>. VMCALL always exits in VMX non-root
    /// operation, whatever the CPL (SDM Vol. 3C, 26.1.2), so the hypervisor answers it; outside
    /// a hypervisor the program dies of SIGILL at its first call.
    /// </summary>
    public static class UserModeHypercalls
    {
        public const ulong LoadAddress = 0x400000;
        public const int Functions = 6;
        public const string LinePrefix = "user-mode hypercall ";

        public static byte[] Program()
        {
            var a = new Assembler(64);
            var hex = a.CreateLabel();
            var buffer = a.CreateLabel();
            var prefixes = new List<(Label Label, byte[] Text)>();
            for (int function = 0; function < Functions; function++)
            {
                var prefix = a.CreateLabel();
                byte[] text = Encoding.ASCII.GetBytes($"{LinePrefix}{function}: rax=0x");
                prefixes.Add((prefix, text));
                a.mov(rax, function);
                a.mov(rbx, 1);
                a.mov(rcx, 3);
                a.xor(edx, edx);
                a.vmcall();
                a.mov(r12, rax);
                Write(a, prefix, text.Length);
                // RAX in 16 hex digits, most significant first, then a newline.
                var next = a.CreateLabel();
                a.lea(rdi, __[buffer]);
                a.add(rdi, 15);
                a.mov(r13d, 16);
                a.Label(ref next);
                a.mov(rax, r12);
                a.and(eax, 15);
                a.lea(rsi, __[hex]);
                a.mov(al, __byte_ptr[rsi + rax]);
                a.mov(__byte_ptr[rdi], al);
                a.shr(r12, 4);
                a.dec(rdi);
                a.dec(r13d);
                a.jnz(next);
                Write(a, buffer, 17);
            }
            a.mov(eax, 60);   // exit(0)
            a.xor(edi, edi);
            a.syscall();
            foreach (var (label, text) in prefixes)
            {
                var l = label;
                a.Label(ref l);
                a.db(text);
            }
            a.Label(ref hex);
            a.db(Encoding.ASCII.GetBytes("0123456789abcdef"));
            a.Label(ref buffer);
            a.db(Encoding.ASCII.GetBytes("0000000000000000\n"));
            var stream = new MemoryStream();
            a.Assemble(new StreamCodeWriter(stream), LoadAddress + Elf64.ImageOffset);
            return Elf64.Executable(stream.ToArray(), LoadAddress);
        }

        // write(1, label, length)
        private static void Write(Assembler a, Label label, int length)
        {
            a.mov(eax, 1);
            a.mov(edi, 1);
            a.lea(rsi, __[label]);
            a.mov(edx, length);
            a.syscall();
        }
    }

    /// <summary>A minimal static ELF64 executable for x86-64 Linux: one RWX PT_LOAD segment holding headers and image.</summary>
    public static class Elf64
    {
        private const int HeaderSize = 64, ProgramHeaderSize = 56;

        /// <summary>Where the image starts in the file (and, loaded, above the load address): after both headers.</summary>
        public const int ImageOffset = HeaderSize + ProgramHeaderSize;

        /// <summary>An executable whose entry is the image's first byte, at <paramref name="loadAddress"/> + <see cref="ImageOffset"/>.</summary>
        public static byte[] Executable(byte[] image, ulong loadAddress)
        {
            var elf = new byte[ImageOffset + image.Length];
            void U16(int at, int v) => BitConverter.GetBytes((ushort)v).CopyTo(elf, at);
            void U32(int at, uint v) => BitConverter.GetBytes(v).CopyTo(elf, at);
            void U64(int at, ulong v) => BitConverter.GetBytes(v).CopyTo(elf, at);
            elf[0] = 0x7F; elf[1] = (byte)'E'; elf[2] = (byte)'L'; elf[3] = (byte)'F';
            elf[4] = 2;  // ELFCLASS64
            elf[5] = 1;  // little endian
            elf[6] = 1;  // EV_CURRENT
            U16(16, 2);  // ET_EXEC
            U16(18, 62); // EM_X86_64
            U32(20, 1);
            U64(24, loadAddress + ImageOffset);   // e_entry
            U64(32, HeaderSize);                  // e_phoff
            U16(52, HeaderSize);                  // e_ehsize
            U16(54, ProgramHeaderSize);
            U16(56, 1);                           // one program header
            int ph = HeaderSize;
            U32(ph + 0, 1);                       // PT_LOAD
            U32(ph + 4, 7);                       // RWX
            U64(ph + 8, 0);                       // from the file's start
            U64(ph + 16, loadAddress);
            U64(ph + 24, loadAddress);
            U64(ph + 32, (ulong)elf.Length);
            U64(ph + 40, (ulong)elf.Length);
            U64(ph + 48, 4096);
            image.CopyTo(elf, ImageOffset);
            return elf;
        }
    }
}
