using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;

namespace Partition.Kernel
{
    /// <summary>The host tests' completion of the Vmx seam: the software model below.</summary>
    public static unsafe partial class Vmx
    {
        public static partial VmxInstructionStatus On(ulong vmxonRegionPhysical) => FakeCpu.Current.Vmx.On(FakeCpu.Current, vmxonRegionPhysical);
        public static partial VmxInstructionStatus Clear(ulong vmcsPhysical) => FakeCpu.Current.Vmx.Clear(FakeCpu.Current, vmcsPhysical);
        public static partial VmxInstructionStatus PointerLoad(ulong vmcsPhysical) => FakeCpu.Current.Vmx.PointerLoad(FakeCpu.Current, vmcsPhysical);
        public static partial VmxInstructionStatus Read(VmcsField field, out ulong value) => FakeCpu.Current.Vmx.Read(FakeCpu.Current, field, out value);
        public static partial ulong ReadValue(VmcsField field)
        {
            Read(field, out ulong value);
            return value;
        }

        /// <summary>A stand-in for the entry routine's exit label.</summary>
        public const ulong FakeExitEntryAddress = 0x101000;

        public static partial ulong ExitEntryAddress() => FakeExitEntryAddress;

        public static partial void SkipInstruction() =>
            Write(VmcsField.GuestRip, ReadValue(VmcsField.GuestRip) + ReadValue(VmcsField.VmExitInstructionLength));
        public static partial VmxInstructionStatus Write(VmcsField field, ulong value) => FakeCpu.Current.Vmx.Write(FakeCpu.Current, field, value);
        public static partial VmxInstructionStatus Enter(GuestRegisters* guest, bool launched, delegate*<ref ExitContext, int> exited, ref ExitContext context)
        {
            // As the entry routine does: after each exit the handler says whether the guest goes on at once (VMRESUME).
            while (true)
            {
                var status = FakeCpu.Current.Vmx.Enter(FakeCpu.Current, guest, launched);
                if (status != VmxInstructionStatus.Succeeded || exited(ref context) == 0)
                    return status;
                launched = true;
            }
        }
        public static partial VmxInstructionStatus InvalidateEpt(ulong type, ulong eptPointer) => FakeCpu.Current.Vmx.InvalidateEpt(FakeCpu.Current, type, eptPointer);
        public static partial VmxInstructionStatus InvalidateVpid(ulong type, ushort vpid) => FakeCpu.Current.Vmx.InvalidateVpid(FakeCpu.Current, type, vpid);
    }

    /// <summary>
    /// A software model of the VMX instructions that follows the SDM's rules (Vol. 3C, chapter
    /// 31, each instruction's "Operation" section): VMXON state per CPU, a current-VMCS pointer
    /// per CPU, launch state per VMCS region, and the VM-instruction error numbers of 31.4.
    /// VMCS regions are real memory (the revision identifier is read from them). What a guest
    /// does between VM entry and VM exit is scripted by the test through <see cref="Guest"/>.
    /// </summary>
    public sealed unsafe class VmxModel
    {
        public sealed class Region
        {
            public VmcsLaunchState Launch = VmcsLaunchState.Clear;
            public readonly Dictionary<uint, ulong> Fields = new();
        }

        /// <summary>What the guest does on entry: fills exit fields (through <see cref="SetExit"/>) and registers.</summary>
        public delegate void GuestBehaviour(VmxModel model, Region vmcs, GuestRegisters* registers);

        private static readonly HashSet<uint> KnownFields = typeof(VmcsField)
            .GetProperties(BindingFlags.Public | BindingFlags.Static)
            .Where(p => p.PropertyType == typeof(VmcsField))
            .Select(p => ((VmcsField)p.GetValue(null)).Encoding)
            .ToHashSet();

        private readonly Dictionary<int, ulong> _vmxon = new();
        private readonly Dictionary<int, ulong> _current = new();

        public Dictionary<ulong, Region> Regions { get; } = new();

        /// <summary>Every VMX instruction executed, e.g. "cpu0 vmlaunch 0x..." (refusals by Vmcs never get here).</summary>
        public List<string> Log { get; } = new();

        public GuestBehaviour Guest { get; set; } = (m, v, r) => m.SetExit(v, ExitReason.Hlt, 0);

        /// <summary>If set, VMWRITE may write VM-exit information fields (IA32_VMX_MISC[29]).</summary>
        public bool WriteAnyField { get; set; }

        public ulong? CurrentOn(int cpu) => _current.TryGetValue(cpu, out ulong p) ? p : null;

        public void SetExit(Region vmcs, ExitReason reason, ulong qualification, bool entryFailure = false)
        {
            vmcs.Fields[VmcsField.ExitReason.Encoding] = (ulong)reason | (entryFailure ? ExitReasons.EntryFailureBit : 0);
            vmcs.Fields[VmcsField.ExitQualification.Encoding] = qualification;
        }

        private static uint Revision(FakeCpu cpu) => (uint)cpu.Msrs.GetValueOrDefault(Msr.VmxBasic) & 0x7FFFFFFF;

        private bool InRoot(FakeCpu cpu) => _vmxon.ContainsKey(cpu.CpuIndex);

        private static bool ValidAddress(ulong address) => address % 4096 == 0 && address >> 52 == 0;

        // VMfailValid with the error number if there is a current VMCS, else VMfailInvalid.
        private VmxInstructionStatus Fail(FakeCpu cpu, VmInstructionError error)
        {
            if (!_current.TryGetValue(cpu.CpuIndex, out ulong current))
                return VmxInstructionStatus.FailInvalid;
            Regions[current].Fields[VmcsField.VmInstructionError.Encoding] = (ulong)error;
            return VmxInstructionStatus.FailValid;
        }

        private void RequireRoot(FakeCpu cpu, string instruction)
        {
            if (!InRoot(cpu))
                throw new FakeCpuFault($"#UD: {instruction} outside VMX operation");
        }

        public VmxInstructionStatus On(FakeCpu cpu, ulong region)
        {
            cpu.Log.Add($"vmxon 0x{region:X}");
            if (cpu.VmxOnResult != VmxInstructionStatus.Succeeded)
                return cpu.VmxOnResult;
            if (InRoot(cpu))
                return Fail(cpu, VmInstructionError.VmxonInVmxRoot);
            if (!ValidAddress(region) || (*(uint*)region & 0x7FFFFFFF) != Revision(cpu))
                return VmxInstructionStatus.FailInvalid;
            _vmxon[cpu.CpuIndex] = region;
            return VmxInstructionStatus.Succeeded;
        }

        public VmxInstructionStatus Clear(FakeCpu cpu, ulong address)
        {
            RequireRoot(cpu, "VMCLEAR");
            Log.Add($"cpu{cpu.CpuIndex} vmclear 0x{address:X}");
            if (!ValidAddress(address))
                return Fail(cpu, VmInstructionError.VmclearInvalidAddress);
            if (address == _vmxon[cpu.CpuIndex])
                return Fail(cpu, VmInstructionError.VmclearVmxonPointer);
            RegionAt(address).Launch = VmcsLaunchState.Clear;
            if (_current.TryGetValue(cpu.CpuIndex, out ulong current) && current == address)
                _current.Remove(cpu.CpuIndex);
            return VmxInstructionStatus.Succeeded;
        }

        public VmxInstructionStatus PointerLoad(FakeCpu cpu, ulong address)
        {
            RequireRoot(cpu, "VMPTRLD");
            Log.Add($"cpu{cpu.CpuIndex} vmptrld 0x{address:X}");
            if (!ValidAddress(address))
                return Fail(cpu, VmInstructionError.VmptrldInvalidAddress);
            if (address == _vmxon[cpu.CpuIndex])
                return Fail(cpu, VmInstructionError.VmptrldVmxonPointer);
            if ((*(uint*)address & 0x7FFFFFFF) != Revision(cpu))
                return Fail(cpu, VmInstructionError.VmptrldIncorrectRevision);
            RegionAt(address);
            _current[cpu.CpuIndex] = address;
            return VmxInstructionStatus.Succeeded;
        }

        public VmxInstructionStatus Read(FakeCpu cpu, VmcsField field, out ulong value)
        {
            RequireRoot(cpu, "VMREAD");
            value = 0;
            if (!_current.TryGetValue(cpu.CpuIndex, out ulong current))
                return VmxInstructionStatus.FailInvalid;
            if (!KnownFields.Contains(field.Encoding))
                return Fail(cpu, VmInstructionError.UnsupportedVmcsComponent);
            value = Regions[current].Fields.GetValueOrDefault(field.Encoding);
            return VmxInstructionStatus.Succeeded;
        }

        public VmxInstructionStatus Write(FakeCpu cpu, VmcsField field, ulong value)
        {
            RequireRoot(cpu, "VMWRITE");
            if (!_current.TryGetValue(cpu.CpuIndex, out ulong current))
                return VmxInstructionStatus.FailInvalid;
            if (!KnownFields.Contains(field.Encoding))
                return Fail(cpu, VmInstructionError.UnsupportedVmcsComponent);
            if (field.IsReadOnly && !WriteAnyField)
                return Fail(cpu, VmInstructionError.VmwriteReadOnlyComponent);
            Regions[current].Fields[field.Encoding] = value & field.WidthMask;
            return VmxInstructionStatus.Succeeded;
        }

        public VmxInstructionStatus Enter(FakeCpu cpu, GuestRegisters* guest, bool launched)
        {
            RequireRoot(cpu, launched ? "VMRESUME" : "VMLAUNCH");
            if (!_current.TryGetValue(cpu.CpuIndex, out ulong current))
                return VmxInstructionStatus.FailInvalid;
            Log.Add($"cpu{cpu.CpuIndex} {(launched ? "vmresume" : "vmlaunch")} 0x{current:X}");
            var vmcs = Regions[current];
            if (!launched && vmcs.Launch != VmcsLaunchState.Clear)
                return Fail(cpu, VmInstructionError.VmlaunchNonClearVmcs);
            if (launched && vmcs.Launch != VmcsLaunchState.Launched)
                return Fail(cpu, VmInstructionError.VmresumeNonLaunchedVmcs);
            Guest(this, vmcs, guest);
            if ((vmcs.Fields.GetValueOrDefault(VmcsField.ExitReason.Encoding) & ExitReasons.EntryFailureBit) == 0)
                vmcs.Launch = VmcsLaunchState.Launched;
            return VmxInstructionStatus.Succeeded;
        }

        public VmxInstructionStatus InvalidateEpt(FakeCpu cpu, ulong type, ulong eptPointer)
        {
            RequireRoot(cpu, "INVEPT");
            Log.Add($"cpu{cpu.CpuIndex} invept {type} 0x{eptPointer:X}");
            return type is 1 or 2 ? VmxInstructionStatus.Succeeded : Fail(cpu, VmInstructionError.InvalidInveptInvvpidOperand);
        }

        public VmxInstructionStatus InvalidateVpid(FakeCpu cpu, ulong type, ushort vpid)
        {
            RequireRoot(cpu, "INVVPID");
            Log.Add($"cpu{cpu.CpuIndex} invvpid {type} {vpid}");
            return type is 1 or 2 && (type == 2 || vpid != 0) ? VmxInstructionStatus.Succeeded : Fail(cpu, VmInstructionError.InvalidInveptInvvpidOperand);
        }

        private Region RegionAt(ulong address)
        {
            if (!Regions.TryGetValue(address, out var region))
                Regions[address] = region = new Region();
            return region;
        }
    }
}
