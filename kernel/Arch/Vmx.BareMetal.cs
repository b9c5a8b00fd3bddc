using System.Runtime;
using System.Runtime.CompilerServices;

namespace Partition.Kernel
{
    public static unsafe partial class Vmx
    {
        public static partial VmxInstructionStatus On(ulong vmxonRegionPhysical) => (VmxInstructionStatus)ArchVmxon(vmxonRegionPhysical);
        public static partial VmxInstructionStatus Clear(ulong vmcsPhysical) => (VmxInstructionStatus)ArchVmclear(vmcsPhysical);
        public static partial VmxInstructionStatus PointerLoad(ulong vmcsPhysical) => (VmxInstructionStatus)ArchVmptrld(vmcsPhysical);

        public static partial VmxInstructionStatus Read(VmcsField field, out ulong value)
        {
            ulong result;
            var status = (VmxInstructionStatus)ArchVmread(field.Encoding, &result);
            value = result;
            return status;
        }

        public static partial ulong ReadValue(VmcsField field) => ArchVmreadValue(field.Encoding);
        public static partial ulong ExitEntryAddress() => ArchVmExitAddress();
        public static partial void SkipInstruction() => ArchVmSkipInstruction();
        public static partial VmxInstructionStatus Write(VmcsField field, ulong value) => (VmxInstructionStatus)ArchVmwrite(field.Encoding, value);
        public static partial VmxInstructionStatus Enter(GuestRegisters* guest, bool launched, delegate*<ref ExitContext, int> exited, ref ExitContext context) =>
            (VmxInstructionStatus)ArchVmEnter(guest, launched ? 1 : 0, exited, ref context);

        public static partial VmxInstructionStatus InvalidateEpt(ulong type, ulong eptPointer)
        {
            // INVEPT descriptor: the EPTP, then 64 reserved bits (SDM Vol. 3C, 31.3 "INVEPT").
            ulong* descriptor = stackalloc ulong[2];
            descriptor[0] = eptPointer;
            descriptor[1] = 0;
            return (VmxInstructionStatus)ArchInvept(type, descriptor);
        }

        public static partial VmxInstructionStatus InvalidateVpid(ulong type, ushort vpid)
        {
            // INVVPID descriptor: the VPID in bits 15:0, reserved to 63, then a linear address (SDM Vol. 3C, 31.3 "INVVPID").
            ulong* descriptor = stackalloc ulong[2];
            descriptor[0] = vpid;
            descriptor[1] = 0;
            return (VmxInstructionStatus)ArchInvvpid(type, descriptor);
        }

        [RuntimeImport("*", "arch_invvpid")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern int ArchInvvpid(ulong type, ulong* descriptor);
        [RuntimeImport("*", "arch_vmxon")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern int ArchVmxon(ulong physicalAddress);
        [RuntimeImport("*", "arch_vmclear")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern int ArchVmclear(ulong physicalAddress);
        [RuntimeImport("*", "arch_vmptrld")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern int ArchVmptrld(ulong physicalAddress);
        [RuntimeImport("*", "arch_vmread")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern int ArchVmread(ulong field, ulong* value);
        [RuntimeImport("*", "arch_vmread_value")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong ArchVmreadValue(ulong field);
        [RuntimeImport("*", "arch_vm_skip_instruction")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern void ArchVmSkipInstruction();
        [RuntimeImport("*", "arch_vm_exit_address")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern ulong ArchVmExitAddress();
        [RuntimeImport("*", "arch_vmwrite")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern int ArchVmwrite(ulong field, ulong value);
        [RuntimeImport("*", "arch_invept")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern int ArchInvept(ulong type, ulong* descriptor);
        [RuntimeImport("*", "arch_vm_enter")] [MethodImpl(MethodImplOptions.InternalCall)] private static extern int ArchVmEnter(GuestRegisters* guest, int launched, delegate*<ref ExitContext, int> exited, ref ExitContext context);
    }
}
