namespace Partition.Kernel
{
    /// <summary>
    /// Encodings of the x86-64 system descriptors the hypervisor installs on each CPU
    /// (SDM Vol. 3A, 3.4.5 "Segment Descriptors", 7.2.3 "TSS Descriptor in 64-bit mode",
    /// 6.14.1 "64-Bit Mode IDT").
    /// </summary>
    public static class Descriptors
    {
        public const ushort KernelCodeSelector = 0x08;
        public const ushort KernelDataSelector = 0x10;
        public const ushort TssSelector = 0x18;

        /// <summary>GDT entries: null, code, data, and the two halves of the TSS descriptor.</summary>
        public const int GdtEntries = 5;

        /// <summary>64-bit code: present, DPL 0, execute/read, L=1, G=1.</summary>
        public const ulong KernelCode = 0x00AF9A000000FFFF;

        /// <summary>Data: present, DPL 0, read/write, G=1, D/B=1.</summary>
        public const ulong KernelData = 0x00CF92000000FFFF;

        /// <summary>Size of the 64-bit TSS; RSP0 at 4, IST1..7 at 36.., I/O map base at 102.</summary>
        public const int TssSize = 104;
        public const int TssRsp0Offset = 4;
        public const int TssIst1Offset = 36;
        public const int TssIoMapBaseOffset = 102;

        /// <summary>The 16-byte TSS descriptor: available 64-bit TSS (type 9), present, DPL 0.</summary>
        public static void TssDescriptor(ulong tssBase, uint limit, out ulong low, out ulong high)
        {
            low = (limit & 0xFFFFUL)
                | ((tssBase & 0xFFFFFFUL) << 16)
                | (0x89UL << 40)
                | (((ulong)limit >> 16 & 0xF) << 48)
                | ((tssBase >> 24 & 0xFF) << 56);
            high = tssBase >> 32;
        }

        /// <summary>
        /// A 16-byte interrupt gate (type 0xE: IF cleared on entry), present, DPL 0, with an
        /// optional interrupt stack table index (0 = stay on the current stack).
        /// </summary>
        public static void InterruptGate(ulong handler, ushort selector, int ist, out ulong low, out ulong high)
        {
            low = (handler & 0xFFFF)
                | ((ulong)selector << 16)
                | ((ulong)(ist & 7) << 32)
                | (0x8EUL << 40)
                | ((handler >> 16 & 0xFFFF) << 48);
            high = handler >> 32;
        }
    }
}
