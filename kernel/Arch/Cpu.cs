namespace Partition.Kernel
{
    /// <summary>
    /// The architecture seam: every privileged instruction the hypervisor executes goes through
    /// here. Declared in portable code; implemented by assembly routines in the image
    /// (Cpu.BareMetal.cs, boot.asm) and by a recording fake in the host tests (Cpu.Host.cs).
    /// </summary>
    public static unsafe partial class Cpu
    {
        /// <summary>CPUID: fills eax, ebx, ecx, edx for the leaf and subleaf.</summary>
        public static partial void Cpuid(uint leaf, uint subleaf, out uint eax, out uint ebx, out uint ecx, out uint edx);

        public static partial ulong ReadMsr(uint msr);
        public static partial void WriteMsr(uint msr, ulong value);

        public static partial byte In8(ushort port);
        public static partial void Out8(ushort port, byte value);
        public static partial ushort In16(ushort port);
        public static partial void Out16(ushort port, ushort value);
        public static partial uint In32(ushort port);
        public static partial void Out32(ushort port, uint value);

        public static partial ulong ReadCr0();
        public static partial ulong ReadCr2();
        public static partial ulong ReadCr3();
        public static partial ulong ReadCr4();
        public static partial void WriteCr0(ulong value);
        public static partial void WriteCr4(ulong value);
        public static partial ulong ReadRflags();
        public static partial ulong ReadTsc();

        /// <summary>LGDT, then reload CS (far return) and the data segment registers.</summary>
        public static partial void LoadGdt(void* pointer, ushort codeSelector, ushort dataSelector);
        public static partial void LoadIdt(void* pointer);
        public static partial void LoadTaskRegister(ushort selector);

        /// <summary>Address of the assembly stub for exception vector 0..31.</summary>
        public static partial ulong ExceptionStub(int vector);

        /// <summary>Physical address just past the loaded image, .bss included (linker symbol).</summary>
        public static partial ulong ImageEnd();

        /// <summary>Reads DR0, DR1, DR2, DR3 and DR6 into <paramref name="five"/>.</summary>
        public static partial void ReadDebugRegisters(ulong* five);

        /// <summary>Loads DR0, DR1, DR2, DR3 and DR6 from <paramref name="five"/>.</summary>
        public static partial void WriteDebugRegisters(ulong* five);

        /// <summary>MOV from DR6.</summary>
        public static partial ulong ReadDr6();

        /// <summary>MOV to DR6.</summary>
        public static partial void WriteDr6(ulong value);

        /// <summary>Copies <paramref name="bytes"/> from <paramref name="source"/> to <paramref name="destination"/> (REP MOVSB; the ranges must not overlap).</summary>
        public static partial void Copy(void* destination, void* source, ulong bytes);

        /// <summary>Zeroes <paramref name="bytes"/> (a multiple of 8) at <paramref name="destination"/> with REP STOSQ.</summary>
        public static partial void Zero(void* destination, ulong bytes);

        /// <summary>LOCK XADD: adds and returns the value before the add.</summary>
        public static partial long AtomicAdd(long* location, long value);

        /// <summary>LOCK CMPXCHG: stores <paramref name="value"/> if the location holds <paramref name="comparand"/>; returns the old value.</summary>
        public static partial long CompareExchange(long* location, long value, long comparand);

        /// <summary>Stores <paramref name="value"/> after every store before it (a lock's release).</summary>
        public static partial void StoreRelease(long* location, long value);

        /// <summary><see cref="CompareExchange(long*, long, long)"/> on a field (objects never move in the image; the host tests' runtime may move them, so there it is Interlocked's).</summary>
        public static partial long CompareExchange(ref long location, long value, long comparand);

        /// <summary><see cref="AtomicAdd(long*, long)"/> on a field.</summary>
        public static partial long AtomicAdd(ref long location, long value);

        /// <summary><see cref="StoreRelease(long*, long)"/> on a field.</summary>
        public static partial void StoreRelease(ref long location, long value);

        /// <summary>The initial APIC ID of the CPU executing this.</summary>
        public static partial int CurrentApicId();

        /// <summary>
        /// The AP trampoline: [0] start, [1] end, [2..5] mailbox offsets (CR3, stack, entry, CPU
        /// index), [6] the AP entry routine, [7] the physical address it must be copied to.
        /// </summary>
        public static partial void ApTrampolineInfo(ulong* info);

        /// <summary>XGETBV: the extended control register <paramref name="index"/> (XCR0 = 0).</summary>
        public static partial ulong ReadXcr(uint index);

        /// <summary>XSETBV (needs CR4.OSXSAVE).</summary>
        public static partial void WriteXcr(uint index, ulong value);

        /// <summary>XSAVE of the AVX state (component 2) that XCR0 enables now into a standard-format XSAVE area.</summary>
        public static partial void SaveAvx(byte* xsaveArea);

        /// <summary>XRSTOR of the AVX state that XCR0 enables now from a standard-format XSAVE area (its initial state if the area's header says none was saved).</summary>
        public static partial void RestoreAvx(byte* xsaveArea);

        /// <summary>WBINVD.</summary>
        public static partial void WriteBackAndInvalidateCaches();

        /// <summary>An IRET to the next instruction: ends the NMI blocking that an NMI's VM exit leaves behind.</summary>
        public static partial void UnblockNmis();

        public static partial void Halt();
        public static partial void DisableInterrupts();
        public static partial void Pause();

        /// <summary>
        /// MFENCE: this CPU's earlier stores are visible to every CPU before any of its later
        /// loads reads memory (x86 otherwise lets a load pass an earlier store to another place).
        /// </summary>
        public static partial void FullFence();

        /// <summary>
        /// Opens an interrupt window in the hypervisor (STI; NOP; CLI): interrupts waiting at
        /// this CPU's local APIC (the host partition's devices, <see cref="PhysicalInterrupts"/>)
        /// are taken through the IDT, then interrupts are off again. The hypervisor runs with
        /// interrupts off everywhere else.
        /// </summary>
        public static partial void AcceptInterrupts();
    }

    /// <summary>Outcome of a VMX instruction (SDM Vol. 3C, 31.2 "Conventions").</summary>
    public enum VmxInstructionStatus
    {
        Succeeded = 0,
        /// <summary>CF set: there is no current VMCS (or no VMX operation) to report an error in.</summary>
        FailInvalid = 1,
        /// <summary>ZF set: the VM-instruction error field of the current VMCS says why.</summary>
        FailValid = 2,
    }
}
