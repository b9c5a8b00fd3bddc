using System;

namespace Partition.Host.Guests
{
    /// <summary>Wraps a flat 32-bit image in a minimal ELF32 executable: one PT_LOAD segment.</summary>
    public static class Elf32
    {
        private const int HeaderSize = 52;
        private const int ProgramHeaderSize = 32;
        private const int ImageOffset = 88; // after both headers, 8-aligned (Multiboot2 headers must be)

        public static byte[] Wrap(byte[] image, uint loadAddress, uint entry)
        {
            var elf = new byte[ImageOffset + image.Length];
            void U16(int at, int v) => BitConverter.GetBytes((ushort)v).CopyTo(elf, at);
            void U32(int at, uint v) => BitConverter.GetBytes(v).CopyTo(elf, at);
            elf[0] = 0x7F; elf[1] = (byte)'E'; elf[2] = (byte)'L'; elf[3] = (byte)'F';
            elf[4] = 1;  // ELFCLASS32
            elf[5] = 1;  // little endian
            elf[6] = 1;  // EV_CURRENT
            U16(16, 2);  // ET_EXEC
            U16(18, 3);  // EM_386
            U32(20, 1);
            U32(24, entry);
            U32(28, HeaderSize);            // e_phoff
            U16(40, HeaderSize);            // e_ehsize
            U16(42, ProgramHeaderSize);
            U16(44, 1);                     // one program header
            int ph = HeaderSize;
            U32(ph + 0, 1);                 // PT_LOAD
            U32(ph + 4, ImageOffset);
            U32(ph + 8, loadAddress);
            U32(ph + 12, loadAddress);
            U32(ph + 16, (uint)image.Length);
            U32(ph + 20, (uint)image.Length + 4096); // a page of .bss, zeroed by the loader
            U32(ph + 24, 7);                // RWX
            U32(ph + 28, 4096);
            image.CopyTo(elf, ImageOffset);
            return elf;
        }
    }
}
