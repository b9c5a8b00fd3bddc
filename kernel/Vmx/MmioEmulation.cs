using System;
using Partition.Devices;

namespace Partition.Kernel
{
    /// <summary>
    /// An access to a partition's memory-mapped virtual device. The EPT leaves the device's
    /// page unmapped, so the access is an EPT violation whose exit gives the guest-physical
    /// address but not the data: the instruction is fetched at the guest's RIP (through its
    /// own page tables), decoded (<see cref="MmioDecoder"/>) and carried out against the device
    /// model, under the partition's device lock; then RIP moves past it. An instruction that
    /// cannot be fetched or decoded stops the partition with the reason.
    /// </summary>
    public static unsafe class MmioEmulation
    {
        /// <summary>The memory-mapped virtual devices of a partition.</summary>
        public enum Device
        {
            None,
            /// <summary>The vCPU's own local APIC's page (xAPIC mode), at the APIC base.</summary>
            LocalApic,
            /// <summary>The partition's I/O APIC (Linux partitions).</summary>
            IoApic,
        }

        /// <summary>The device at <paramref name="guestPhysical"/> for this vCPU, and the offset into it.</summary>
        public static Device Find(VirtualCpu vcpu, ulong guestPhysical, out ulong offset)
        {
            offset = guestPhysical - VirtualLocalApic.DefaultBase;
            if (offset < VirtualLocalApic.PageSize)
                return Device.LocalApic;
            var vm = vcpu.Machine;
            offset = guestPhysical - vm.Platform.IoApicAddress;
            if (vm.IoApic != null && offset < VirtualIoApic.WindowSize)
                return Device.IoApic;
            return Device.None;
        }

        /// <summary>Emulates the instruction at RIP against <paramref name="device"/>. Null on success, else why it could not be.</summary>
        public static string Emulate(ref ExitContext c, Device device, ulong offset)
        {
            var vm = c.Vcpu.Machine;
            GuestRegisters* r = c.Vcpu.Registers;
            ulong efer = c.Read(VmcsField.GuestEfer);
            var mode = MmioDecoder.ModeOf(c.Read(VmcsField.GuestCsAccessRights), efer);
            ulong rip = c.Read(VmcsField.GuestRip);
            ulong linear = GuestPageWalker.InstructionLinearAddress(c.Read(VmcsField.GuestCsBase), rip, mode);
            var paging = new GuestPaging(c.Read(VmcsField.GuestCr0), c.Read(VmcsField.GuestCr3), c.Read(VmcsField.GuestCr4), efer, PhysicalAddressBits);
            var ram = GuestRam.Of(vm);
            Span<byte> code = stackalloc byte[MmioDecoder.MaxInstructionLength];
            GuestPageWalker.Fetch(ref ram, paging, linear, code, out int fetched);
            if (fetched == 0)
                return "MMIO: the instruction at RIP is not in the partition's memory";
            if (!MmioDecoder.TryDecode(code.Slice(0, fetched), mode, out var instruction, out var error))
                return string.Concat("MMIO: ", MmioDecoder.Describe(error));

            ulong register = instruction.Register >= 0 ? ReadRegister(ref c, instruction.Register) : 0;
            ulong memory = instruction.ReadsMemory ? Read(ref c, device, offset, instruction.Size) & instruction.Mask : 0;
            switch (instruction.Kind)
            {
                case MmioAccessKind.Read:
                    register = instruction.ApplyRead(register, memory);
                    break;
                case MmioAccessKind.Write:
                case MmioAccessKind.WriteImmediate:
                    Write(ref c, device, offset, instruction.Size, (uint)instruction.ValueToWrite(register));
                    break;
                case MmioAccessKind.Exchange:
                    Write(ref c, device, offset, instruction.Size, (uint)instruction.ValueToWrite(register));
                    register = instruction.ApplyRead(register, memory);
                    break;
                default:
                {
                    // Read-modify-write and compare: the result and the arithmetic flags.
                    ulong rflags = c.Read(VmcsField.GuestRflags);
                    ulong result = instruction.Compute(memory, register, ref rflags);
                    if (instruction.WritesMemory)
                        Write(ref c, device, offset, instruction.Size, (uint)result);
                    c.Write(VmcsField.GuestRflags, rflags);
                    break;
                }
            }
            if (instruction.Register >= 0 && (instruction.Kind == MmioAccessKind.Read || instruction.Kind == MmioAccessKind.Exchange))
                WriteRegister(ref c, instruction.Register, register);
            c.Write(VmcsField.GuestRip, rip + (ulong)instruction.Length);
            return null;
        }

        // A read of the device: the local APIC is the vCPU's own (no lock: only its CPU runs
        // it); the I/O APIC is the partition's, under its device lock.
        private static uint Read(ref ExitContext c, Device device, ulong offset, int size)
        {
            if (device == Device.LocalApic)
                return c.Vcpu.Lapic.ReadMmio(offset, c.Vcpu.GuestTsc(Tsc.Now));
            var vm = c.Vcpu.Machine;
            vm.DeviceLock.Enter();
            uint value = vm.IoApic.Read(offset, size);
            vm.DeviceLock.Exit();
            return value;
        }

        private static void Write(ref ExitContext c, Device device, ulong offset, int size, uint value)
        {
            var vcpu = c.Vcpu;
            var vm = vcpu.Machine;
            if (device == Device.LocalApic)
            {
                vcpu.Lapic.WriteMmio(offset, value, vcpu.GuestTsc(Tsc.Now), out var ipi, out var shorthand, out bool sends, out int levelEoi);
                if (sends)
                    vm.SendIpi(vcpu, c.Cpu, ipi, shorthand);
                if (levelEoi >= 0)
                    vm.EndOfInterrupt((byte)levelEoi);
                return;
            }
            vm.DeviceLock.Enter();
            vm.IoApic.Write(offset, size, value);
            vm.DeviceLock.Exit();
        }

        // The guest's physical-address width: the processor's (CPUID 0x80000008 passes it on).
        private static int PhysicalAddressBits => HostCpuid.PhysicalAddressBits;

        // General registers numbered as ModRM numbers them; RSP lives in the VMCS.
        private static ulong ReadRegister(ref ExitContext c, int n) => n == 4 ? c.Read(VmcsField.GuestRsp) : *Slot(c.Vcpu.Registers, n);

        private static void WriteRegister(ref ExitContext c, int n, ulong value)
        {
            if (n == 4)
                c.Write(VmcsField.GuestRsp, value);
            else
                *Slot(c.Vcpu.Registers, n) = value;
        }

        private static ulong* Slot(GuestRegisters* r, int n) => n switch
        {
            0 => &r->Rax, 1 => &r->Rcx, 2 => &r->Rdx, 3 => &r->Rbx, 5 => &r->Rbp, 6 => &r->Rsi, 7 => &r->Rdi,
            8 => &r->R8, 9 => &r->R9, 10 => &r->R10, 11 => &r->R11, 12 => &r->R12, 13 => &r->R13, 14 => &r->R14,
            _ => &r->R15,
        };
    }
}
