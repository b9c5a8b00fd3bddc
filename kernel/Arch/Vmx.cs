namespace Partition.Kernel
{
    /// <summary>
    /// The VMX instruction seam (SDM Vol. 3C, chapter 31). Implemented by boot.asm in the image
    /// (Vmx.BareMetal.cs) and by a software model of the SDM's rules in the host tests.
    /// Nothing else in the hypervisor executes a VMX instruction.
    /// </summary>
    public static unsafe partial class Vmx
    {
        public static partial VmxInstructionStatus On(ulong vmxonRegionPhysical);
        public static partial VmxInstructionStatus Clear(ulong vmcsPhysical);
        public static partial VmxInstructionStatus PointerLoad(ulong vmcsPhysical);
        public static partial VmxInstructionStatus Read(VmcsField field, out ulong value);
        public static partial VmxInstructionStatus Write(VmcsField field, ulong value);

        /// <summary>
        /// VMREAD for the exit path: the value alone (0 if the instruction fails), for fields
        /// that exist, of the VMCS the caller knows to be current.
        /// </summary>
        public static partial ulong ReadValue(VmcsField field);

        /// <summary>
        /// Moves the guest past the instruction that exited: guest RIP plus the VM-exit
        /// instruction length, for an exit the hypervisor has emulated (SDM Vol. 3C, 28.2.5).
        /// </summary>
        public static partial void SkipInstruction();

        /// <summary>Where a VM exit lands in the entry routine: the HOST_RIP of every VMCS.</summary>
        public static partial ulong ExitEntryAddress();

        /// <summary>
        /// VMLAUNCH (launched = false) or VMRESUME on the current VMCS with the guest's
        /// registers. After each VM exit the registers are saved back and
        /// <paramref name="exited"/>(<paramref name="context"/>) runs: non-zero enters the guest
        /// again at once with VMRESUME (the fast path), 0 returns Succeeded.
        /// </summary>
        public static partial VmxInstructionStatus Enter(GuestRegisters* guest, bool launched, delegate*<ref ExitContext, int> exited, ref ExitContext context);

        /// <summary>VMLAUNCH or VMRESUME; returns Succeeded after the next VM exit.</summary>
        public static VmxInstructionStatus Enter(GuestRegisters* guest, bool launched)
        {
            var context = default(ExitContext);
            return Enter(guest, launched, &ReturnAtOnce, ref context);
        }

        /// <summary>For <see cref="Enter(GuestRegisters*, bool, delegate*{ref ExitContext, int}, ref ExitContext)"/>: return after the first exit.</summary>
        public static int ReturnAtOnce(ref ExitContext context) => 0;

        /// <summary>INVEPT of the given type (1 single-context, 2 all-context) for an EPTP.</summary>
        public static partial VmxInstructionStatus InvalidateEpt(ulong type, ulong eptPointer);

        /// <summary>INVVPID of the given type (1 single-context, 2 all-context) for a VPID.</summary>
        public static partial VmxInstructionStatus InvalidateVpid(ulong type, ushort vpid);
    }

    /// <summary>
    /// A vCPU's general registers, CR2 and FXSAVE area: what VM entry and exit do not switch
    /// themselves (RSP, RIP and RFLAGS are in the VMCS). Layout shared with boot.asm
    /// (GR_* offsets); it lives at the start of a page so the FXSAVE area is 16-byte aligned.
    /// </summary>
    public struct GuestRegisters
    {
        public ulong Rax, Rbx, Rcx, Rdx, Rsi, Rdi, Rbp, R8, R9, R10, R11, R12, R13, R14, R15, Cr2;

        public const int FxsaveOffset = 128;

        /// <summary>The XSAVE area at <see cref="FxsaveOffset"/>: FXSAVE's 512 bytes, the 64-byte header, AVX's 256 at 576.</summary>
        public const int XsaveAreaSize = 832;
        public const int Size = FxsaveOffset + XsaveAreaSize;

        /// <summary>Every register 0 and the x87/SSE state as after reset (SDM Vol. 3A, table 10-1).</summary>
        public static unsafe void Reset(GuestRegisters* registers)
        {
            for (int i = 0; i < Size / 8; i++)
                ((ulong*)registers)[i] = 0;
            InitializeFxsave(registers);
        }

        /// <summary>x87 control word and MXCSR as after FINIT and reset: every exception masked.</summary>
        public static unsafe void InitializeFxsave(GuestRegisters* registers)
        {
            byte* area = (byte*)registers + FxsaveOffset;
            *(ushort*)area = 0x037F;
            *(uint*)(area + 24) = 0x1F80;
        }
    }
}
