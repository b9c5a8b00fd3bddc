using System.Runtime;
using System.Runtime.CompilerServices;

namespace Partition.Kernel
{
    // The image's implementation of the seam: direct calls into boot.asm's arch_* routines.
    public static unsafe partial class Cpu
    {
        public static partial void Cpuid(uint leaf, uint subleaf, out uint eax, out uint ebx, out uint ecx, out uint edx)
        {
            uint* registers = stackalloc uint[4];
            ArchCpuid(leaf, subleaf, registers);
            eax = registers[0];
            ebx = registers[1];
            ecx = registers[2];
            edx = registers[3];
        }

        public static partial ulong ReadMsr(uint msr) => ArchReadMsr(msr);
        public static partial void WriteMsr(uint msr, ulong value) => ArchWriteMsr(msr, value);
        public static partial byte In8(ushort port) => (byte)ArchIn8(port);
        public static partial void Out8(ushort port, byte value) => ArchOut8(port, value);
        public static partial ushort In16(ushort port) => (ushort)ArchIn16(port);
        public static partial void Out16(ushort port, ushort value) => ArchOut16(port, value);
        public static partial uint In32(ushort port) => ArchIn32(port);
        public static partial void Out32(ushort port, uint value) => ArchOut32(port, value);
        public static partial ulong ReadCr0() => ArchReadCr0();
        public static partial ulong ReadCr2() => ArchReadCr2();
        public static partial ulong ReadCr3() => ArchReadCr3();
        public static partial ulong ReadCr4() => ArchReadCr4();
        public static partial void WriteCr0(ulong value) => ArchWriteCr0(value);
        public static partial void WriteCr4(ulong value) => ArchWriteCr4(value);
        public static partial ulong ReadRflags() => ArchReadRflags();
        public static partial ulong ReadTsc() => ArchReadTsc();
        public static partial void LoadGdt(void* pointer, ushort codeSelector, ushort dataSelector) => ArchLoadGdt(pointer, codeSelector, dataSelector);
        public static partial void LoadIdt(void* pointer) => ArchLoadIdt(pointer);
        public static partial void LoadTaskRegister(ushort selector) => ArchLoadTr(selector);
        public static partial ulong ExceptionStub(int vector) => ArchExceptionStubs[vector];
        public static partial ulong ImageEnd() => ArchImageEnd();
        public static partial void Zero(void* destination, ulong bytes) => ArchZero(destination, bytes);
        public static partial void ReadDebugRegisters(ulong* five) => ArchReadDebugRegisters(five);
        public static partial void WriteDebugRegisters(ulong* five) => ArchWriteDebugRegisters(five);
        public static partial ulong ReadDr6() => ArchReadDr6();
        public static partial void WriteDr6(ulong value) => ArchWriteDr6(value);
        public static partial void Copy(void* destination, void* source, ulong bytes) => ArchCopy(destination, source, bytes);
        public static partial long AtomicAdd(long* location, long value) => ArchAtomicAdd(location, value);
        public static partial long CompareExchange(long* location, long value, long comparand) => ArchCompareExchange64(location, value, comparand);
        public static partial void StoreRelease(long* location, long value) => ArchStoreRelease(location, value);
        // The image has no collector: an object's field stays where it is.
        public static partial long CompareExchange(ref long location, long value, long comparand) => ArchCompareExchange64((long*)Unsafe.AsPointer(ref location), value, comparand);
        public static partial void StoreRelease(ref long location, long value) => ArchStoreRelease((long*)Unsafe.AsPointer(ref location), value);
        public static partial long AtomicAdd(ref long location, long value) => ArchAtomicAdd((long*)Unsafe.AsPointer(ref location), value);
        public static partial int CurrentApicId() => ArchCurrentApicId();
        public static partial void ApTrampolineInfo(ulong* info) => ArchApTrampolineInfo(info);
        public static partial void Halt() => ArchHalt();
        public static partial void UnblockNmis() => ArchUnblockNmis();
        public static partial void WriteBackAndInvalidateCaches() => ArchWbinvd();
        public static partial ulong ReadXcr(uint index) => ArchXgetbv(index);
        public static partial void WriteXcr(uint index, ulong value) => ArchXsetbv(index, value);
        public static partial void SaveAvx(byte* xsaveArea) => ArchXsaveAvx(xsaveArea);
        public static partial void RestoreAvx(byte* xsaveArea) => ArchXrstorAvx(xsaveArea);
        public static partial void DisableInterrupts() => ArchDisableInterrupts();
        public static partial void Pause() => ArchPause();
        public static partial void FullFence() => ArchFullFence();
        public static partial void AcceptInterrupts() => ArchAcceptInterrupts();

        private static ulong* ArchExceptionStubs => ArchExceptionStubTable();

        [RuntimeImport("*", "arch_cpuid")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchCpuid(uint leaf, uint subleaf, uint* registers);
        [RuntimeImport("*", "arch_read_msr")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong ArchReadMsr(uint msr);
        [RuntimeImport("*", "arch_write_msr")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchWriteMsr(uint msr, ulong value);
        [RuntimeImport("*", "arch_in8")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern uint ArchIn8(uint port);
        [RuntimeImport("*", "arch_out8")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchOut8(uint port, uint value);
        [RuntimeImport("*", "arch_in16")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern uint ArchIn16(uint port);
        [RuntimeImport("*", "arch_out16")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchOut16(uint port, uint value);
        [RuntimeImport("*", "arch_in32")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern uint ArchIn32(uint port);
        [RuntimeImport("*", "arch_out32")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchOut32(uint port, uint value);
        [RuntimeImport("*", "arch_read_cr0")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong ArchReadCr0();
        [RuntimeImport("*", "arch_read_cr2")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong ArchReadCr2();
        [RuntimeImport("*", "arch_read_cr3")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong ArchReadCr3();
        [RuntimeImport("*", "arch_read_cr4")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong ArchReadCr4();
        [RuntimeImport("*", "arch_write_cr0")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchWriteCr0(ulong value);
        [RuntimeImport("*", "arch_write_cr4")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchWriteCr4(ulong value);
        [RuntimeImport("*", "arch_read_rflags")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong ArchReadRflags();
        [RuntimeImport("*", "arch_read_tsc")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong ArchReadTsc();
        [RuntimeImport("*", "arch_load_gdt")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchLoadGdt(void* pointer, uint codeSelector, uint dataSelector);
        [RuntimeImport("*", "arch_load_idt")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchLoadIdt(void* pointer);
        [RuntimeImport("*", "arch_load_tr")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchLoadTr(uint selector);
        [RuntimeImport("*", "arch_accept_interrupts")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchAcceptInterrupts();
        [RuntimeImport("*", "arch_exception_stub_table")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong* ArchExceptionStubTable();
        [RuntimeImport("*", "arch_image_end")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong ArchImageEnd();
        [RuntimeImport("*", "arch_read_debug_registers")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchReadDebugRegisters(ulong* five);
        [RuntimeImport("*", "arch_write_debug_registers")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchWriteDebugRegisters(ulong* five);
        [RuntimeImport("*", "arch_read_dr6")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong ArchReadDr6();
        [RuntimeImport("*", "arch_write_dr6")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchWriteDr6(ulong value);
        [RuntimeImport("*", "arch_copy")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchCopy(void* destination, void* source, ulong bytes);
        [RuntimeImport("*", "arch_zero")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchZero(void* destination, ulong bytes);
        [RuntimeImport("*", "arch_atomic_add")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern long ArchAtomicAdd(long* location, long value);
        [RuntimeImport("*", "arch_compare_exchange64")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern long ArchCompareExchange64(long* location, long value, long comparand);
        [RuntimeImport("*", "arch_store_release")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchStoreRelease(long* location, long value);
        [RuntimeImport("*", "arch_current_apic_id")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern int ArchCurrentApicId();
        [RuntimeImport("*", "arch_ap_trampoline_info")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchApTrampolineInfo(ulong* info);
        [RuntimeImport("*", "arch_xgetbv")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong ArchXgetbv(uint index);
        [RuntimeImport("*", "arch_xsetbv")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchXsetbv(uint index, ulong value);
        [RuntimeImport("*", "arch_xsave_avx")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchXsaveAvx(byte* area);
        [RuntimeImport("*", "arch_xrstor_avx")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchXrstorAvx(byte* area);
        [RuntimeImport("*", "arch_wbinvd")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchWbinvd();
        [RuntimeImport("*", "arch_unblock_nmis")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchUnblockNmis();
        [RuntimeImport("*", "arch_halt")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchHalt();
        [RuntimeImport("*", "arch_disable_interrupts")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchDisableInterrupts();
        [RuntimeImport("*", "arch_pause")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchPause();
        [RuntimeImport("*", "arch_full_fence")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchFullFence();
    }
}
