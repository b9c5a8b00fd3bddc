namespace Partition.Kernel
{
    /// <summary>
    /// One CPU's GDT, TSS and IDT, and the extra stack its TSS names for faults that must not
    /// run on a possibly broken stack (#DF, NMI, #MC use IST1). Every CPU gets its own: the TSS
    /// is per CPU, and VMX host state names this CPU's GDT, TR and IDT.
    /// </summary>
    public sealed unsafe class ProcessorTables
    {
        private const int IdtVectors = 256;
        private const int FaultStackSize = 16 * 1024;
        private const int DoubleFault = 8;
        private const int NonMaskableInterrupt = 2;
        private const int MachineCheck = 18;

        private readonly ulong[] _gdt = new ulong[Descriptors.GdtEntries];
        private readonly byte[] _tss = new byte[Descriptors.TssSize];
        private readonly ulong[] _idt = new ulong[IdtVectors * 2];
        private readonly byte[] _faultStack = new byte[FaultStackSize];
        private readonly byte[] _gdtPointer = new byte[10];
        private readonly byte[] _idtPointer = new byte[10];

        public ProcessorTables(int cpuIndex)
        {
            CpuIndex = cpuIndex;
            fixed (byte* tss = _tss)
            fixed (byte* stack = _faultStack)
            {
                ulong stackTop = (ulong)(stack + FaultStackSize) & ~0xFUL;
                *(ulong*)(tss + Descriptors.TssIst1Offset) = stackTop;
                // No I/O permission bitmap: the map base points past the TSS limit.
                *(ushort*)(tss + Descriptors.TssIoMapBaseOffset) = Descriptors.TssSize;

                _gdt[0] = 0;
                _gdt[1] = Descriptors.KernelCode;
                _gdt[2] = Descriptors.KernelData;
                Descriptors.TssDescriptor((ulong)tss, Descriptors.TssSize - 1, out _gdt[3], out _gdt[4]);
            }

            // Every vector has a gate: 0-31 for exceptions, the rest for the interrupts taken in
            // the hypervisor's interrupt windows (Cpu.AcceptInterrupts).
            for (int vector = 0; vector < IdtVectors; vector++)
            {
                int ist = vector == DoubleFault || vector == NonMaskableInterrupt || vector == MachineCheck ? 1 : 0;
                Descriptors.InterruptGate(Cpu.ExceptionStub(vector), Descriptors.KernelCodeSelector, ist,
                    out _idt[vector * 2], out _idt[vector * 2 + 1]);
            }

            fixed (ulong* gdt = _gdt)
            fixed (ulong* idt = _idt)
            {
                WritePseudoDescriptor(_gdtPointer, (ulong)gdt, Descriptors.GdtEntries * 8 - 1);
                WritePseudoDescriptor(_idtPointer, (ulong)idt, IdtVectors * 16 - 1);
            }
        }

        public int CpuIndex { get; }

        // Objects never move (no GC), so these addresses stay valid: VMX host state uses them.
        public ulong GdtBase { get { fixed (ulong* p = _gdt) return (ulong)p; } }
        public ulong IdtBase { get { fixed (ulong* p = _idt) return (ulong)p; } }
        public ulong TssBase { get { fixed (byte* p = _tss) return (ulong)p; } }

        /// <summary>Loads these tables into the CPU this runs on.</summary>
        public void Install()
        {
            fixed (byte* gdtPointer = _gdtPointer)
            fixed (byte* idtPointer = _idtPointer)
            {
                Cpu.LoadGdt(gdtPointer, Descriptors.KernelCodeSelector, Descriptors.KernelDataSelector);
                Cpu.LoadTaskRegister(Descriptors.TssSelector);
                Cpu.LoadIdt(idtPointer);
            }
        }

        // The 10-byte operand of LGDT/LIDT: 16-bit limit, 64-bit base.
        private static void WritePseudoDescriptor(byte[] destination, ulong baseAddress, ushort limit)
        {
            destination[0] = (byte)limit;
            destination[1] = (byte)(limit >> 8);
            for (int i = 0; i < 8; i++)
                destination[2 + i] = (byte)(baseAddress >> (8 * i));
        }
    }
}
