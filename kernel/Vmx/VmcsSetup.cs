using System;

namespace Partition.Kernel
{
    /// <summary>
    /// Fills a new vCPU's VMCS: host state for the CPU it runs on, execution/exit/entry
    /// controls adjusted to the capability MSRs, deny-by-default I/O and MSR bitmaps, EPT, and
    /// the guest state of its start mode (SDM Vol. 3C, chapter 25 for the fields, 27.2 and 27.3
    /// for the rules they must satisfy).
    /// </summary>
    public static unsafe class VmcsSetup
    {
        private const ulong Cr0Pe = 1UL << 0;
        private const ulong Cr0Et = 1UL << 4;
        private const ulong Cr0Ne = 1UL << 5;
        private const ulong Cr0Wp = 1UL << 16;
        private const ulong Cr0Pg = 1UL << 31;
        private const ulong Cr4Pae = 1UL << 5;
        private const ulong EferLme = 1UL << 8;
        private const ulong EferLma = 1UL << 10;
        public const uint MsrEfer = 0xC0000080;
        public const uint MsrPat = 0x277;

        // Access rights (SDM Vol. 3C, 25.4.1, table 25-2): type, S, DPL, P, AVL, L, D/B, G, unusable.
        public const uint AccessCode16 = 0x009B;
        public const uint AccessData16 = 0x0093;
        public const uint AccessCode32 = 0xC09B;
        public const uint AccessData32 = 0xC093;
        public const uint AccessCode64 = 0xA09B;
        public const uint AccessBusyTss = 0x008B;
        public const uint AccessUnusable = 0x10000;

        private static ulong s_ioBitmapA, s_ioBitmapB, s_msrBitmap;

        /// <summary>
        /// Deny by default: every port access exits (the exit handler gives the partition its own
        /// devices), and every MSR access exits except <see cref="MsrPolicy.AllowList"/>.
        /// </summary>
        private static void EnsureBitmaps()
        {
            if (s_ioBitmapA != 0)
                return;
            s_ioBitmapA = AllOnesPage();
            s_ioBitmapB = AllOnesPage();
            s_msrBitmap = PageAllocator.AllocateZeroedPage();
            MsrPolicy.Fill(new Span<byte>((void*)s_msrBitmap, MsrPolicy.BitmapSize), MsrPolicy.HostHasTscAux);
        }

        private static ulong AllOnesPage()
        {
            ulong page = PageAllocator.AllocateZeroedPage();
            for (int i = 0; i < 512; i++)
                ((ulong*)page)[i] = ulong.MaxValue;
            return page;
        }

        public static bool TryConfigure(VirtualCpu vcpu, VmxCapabilities caps, ProcessorTables host, int cpu, out string error)
        {
            EnsureBitmaps();
            VmcsError loaded = vcpu.Vmcs.Load(cpu);
            if (loaded != VmcsError.None)
            {
                error = Vmcs.Describe(loaded);
                return false;
            }
            var w = new FieldWriter(vcpu.Vmcs, cpu);
            var vm = vcpu.Machine;

            // Controls.
            // The preemption timer is on for every vCPU; the run loop sets it before each entry
            // to the nearest of the end of the slice, the run's deadline and the vCPU's own
            // local APIC timer, or to its maximum when there is none (a dedicated vCPU then sees
            // no exit caused by the scheduler).
            // Virtual NMIs let the hypervisor track the guest's own NMI blocking and ask for an
            // NMI window. MONITOR/MWAIT and RDPMC exit: CPUID offers neither, and an MWAIT that
            // ran would sleep the physical core.
            uint pin = VmxControls.Adjust(caps.PinBased, VmxControls.PinExternalInterruptExiting | VmxControls.PinNmiExiting
                | VmxControls.PinVirtualNmis | VmxControls.PinPreemptionTimer, out uint bad);
            uint proc = VmxControls.Adjust(caps.PrimaryProcessorBased,
                VmxControls.ProcHltExiting | VmxControls.ProcUseIoBitmaps | VmxControls.ProcUseMsrBitmaps | VmxControls.ProcActivateSecondary
                | VmxControls.ProcMwaitExiting | VmxControls.ProcMonitorExiting | VmxControls.ProcRdpmcExiting
                | VmxControls.ProcUseTscOffsetting, out uint bad2);
            // RDTSCP and RDPID raise #UD in a guest unless "enable RDTSCP" is set (SDM 26.3):
            // offered when the CPU can, as CPUID then says (CpuidPolicy.OffersRdtscp).
            // WBINVD exits: ExitDispatch's cache policy decides (INVD always exits).
            // A VPID per vCPU, so that entries and exits keep its TLB entries (SDM Vol. 3C, 29.1).
            uint proc2 = VmxControls.Adjust(caps.SecondaryProcessorBased, VmxControls.Proc2EnableEpt | VmxControls.Proc2UnrestrictedGuest
                | VmxControls.Proc2WbinvdExiting | (caps.UsesVpid ? VmxControls.Proc2EnableVpid : 0), out uint bad3)
                | (caps.SecondaryProcessorBased.Allowed1 & VmxControls.Proc2EnableRdtscp);
            // DR7 and IA32_DEBUGCTL are the guest's own: saved on exit, loaded on entry.
            uint exit = VmxControls.Adjust(caps.Exit, VmxControls.ExitHostAddressSpaceSize | VmxControls.ExitAcknowledgeInterrupt
                | VmxControls.ExitSaveDebugControls | VmxControls.ExitSaveEfer | VmxControls.ExitLoadEfer | VmxControls.ExitSavePat | VmxControls.ExitLoadPat, out uint bad4);
            uint entry = VmxControls.Adjust(caps.Entry, VmxControls.EntryIa32eModeGuest
                | VmxControls.EntryLoadDebugControls | VmxControls.EntryLoadEfer | VmxControls.EntryLoadPat, out uint bad5);
            if ((bad | bad2 | bad3 | bad4 | bad5) != 0)
            {
                error = "this CPU lacks a VMX control the hypervisor needs (EPT, unrestricted guest, the VMX-preemption timer, I/O or MSR bitmaps, EFER/PAT loading)";
                return false;
            }
            // The EPT pointer asks for a 4-level walk of write-back tables (SDM Vol. 3C, 25.6.11):
            // both must be in IA32_VMX_EPT_VPID_CAP, or VM entry would fail on this CPU.
            if (!caps.EptPageWalkLength4 || !caps.EptWriteBack)
            {
                error = "this CPU's EPT cannot walk 4 levels of write-back tables (IA32_VMX_EPT_VPID_CAP bits 6 and 14)";
                return false;
            }
            w.Write(VmcsField.PinBasedControls, pin);
            // MOV DR exits until the guest's first use of its debug registers, when the processor
            // allows both settings: a switch then moves DR6 alone (GuestMsrs.DebugRegistersInUse).
            if (caps.MovDrExitingOptional)
                proc |= VmxControls.ProcMovDrExiting;
            vcpu.Msrs.InterceptDebugRegisters(movDrExits: (proc & VmxControls.ProcMovDrExiting) != 0);
            w.Write(VmcsField.PrimaryProcessorBasedControls, proc);
            vcpu.PrimaryControls = proc;
            vcpu.InterruptWindowExiting = vcpu.NmiWindowExiting = false;
            w.Write(VmcsField.SecondaryProcessorBasedControls, proc2);
            w.Write(VmcsField.VmExitControls, exit);
            // IA-32e mode guest is set or cleared with the guest's mode (WriteGuestState).
            vcpu.EntryControls = entry & ~VmxControls.EntryIa32eModeGuest;
            // Only machine checks are intercepted: the hardware's errors are the hypervisor's to judge.
            w.Write(VmcsField.ExceptionBitmap, 1UL << (int)MachineCheck.Vector);
            if (caps.UsesVpid)
                w.Write(VmcsField.VirtualProcessorId, vcpu.Vpid);
            vcpu.FlushTlbOnEntry = true;
            w.Write(VmcsField.TscOffset, vcpu.TscOffset);
            w.Write(VmcsField.IoBitmapA, vm.IoBitmapA != 0 ? vm.IoBitmapA : s_ioBitmapA);
            w.Write(VmcsField.IoBitmapB, vm.IoBitmapB != 0 ? vm.IoBitmapB : s_ioBitmapB);
            w.Write(VmcsField.MsrBitmaps, s_msrBitmap);
            w.Write(VmcsField.EptPointer, vm.Ept.Pointer);
            w.Write(VmcsField.VmcsLinkPointer, ulong.MaxValue);
            w.Write(VmcsField.Cr3TargetCount, 0);
            w.Write(VmcsField.VmExitMsrStoreCount, 0);
            w.Write(VmcsField.VmExitMsrLoadCount, 0);
            w.Write(VmcsField.VmEntryMsrLoadCount, 0);
            w.Write(VmcsField.VmEntryInterruptionInformation, 0);
            vcpu.EntryEventPending = false;

            // The guest owns CR0 and CR4 except the bits VMX operation fixes (NE; VMXE and the
            // other CR4 fixed bits), which it reads from the shadows as it wrote them.
            ulong cr0Owned = caps.Cr0Fixed0 & ~(Cr0Pe | Cr0Pg) | ~caps.Cr0Fixed1 & 0xFFFFFFFF;
            ulong cr4Owned = caps.Cr4Fixed0 | ~caps.Cr4Fixed1 & 0xFFFFFFFF;
            w.Write(VmcsField.Cr0GuestHostMask, cr0Owned);
            w.Write(VmcsField.Cr4GuestHostMask, cr4Owned);

            WriteHostState(ref w, host);

            if (vcpu.Index == 0)
                WriteGuestState(ref w, vcpu, caps, vm.StartState);
            else
                WriteGuestState(ref w, vcpu, caps, GuestStartState.Startup(0)); // parked until its start-up IPI says where

            if (w.FirstError != VmcsError.None)
            {
                error = string.Concat("VMWRITE failed while configuring the VMCS: ", Vmcs.Describe(w.FirstError));
                return false;
            }
            error = null;
            return true;
        }

        /// <summary>
        /// A vCPU's guest state for a start state (a boot protocol's hand-over, or a start-up
        /// IPI): control registers and their shadows, EFER and the IA-32e entry control,
        /// segments, descriptor tables, RIP and RSP, and everything else as after reset.
        /// </summary>
        public static void WriteGuestState(ref FieldWriter w, VirtualCpu vcpu, VmxCapabilities caps, in GuestStartState state)
        {
            bool long64 = state.Mode == GuestMode.Long64;
            w.Write(VmcsField.VmEntryControls, vcpu.EntryControls | (long64 ? VmxControls.EntryIa32eModeGuest : 0));
            ulong cr0Shadow = state.Mode == GuestMode.Real ? Cr0Et : state.Mode == GuestMode.Protected32 ? Cr0Pe | Cr0Et : Cr0Pe | Cr0Et | Cr0Pg | Cr0Wp | Cr0Ne;
            ulong cr4Shadow = long64 ? Cr4Pae : 0;
            w.Write(VmcsField.Cr0ReadShadow, cr0Shadow);
            w.Write(VmcsField.Cr4ReadShadow, cr4Shadow);
            w.Write(VmcsField.GuestCr0, VmxRoot.ApplyFixedBits(cr0Shadow, caps.Cr0Fixed0 & ~(Cr0Pe | Cr0Pg), caps.Cr0Fixed1));
            w.Write(VmcsField.GuestCr4, VmxRoot.ApplyFixedBits(cr4Shadow, caps.Cr4Fixed0, caps.Cr4Fixed1));
            w.Write(VmcsField.GuestCr3, state.Cr3);
            w.Write(VmcsField.GuestEfer, long64 ? EferLme | EferLma : 0);
            w.Write(VmcsField.GuestPat, Cpu.ReadMsr(MsrPat));
            w.Write(VmcsField.GuestDr7, 0x400);
            w.Write(VmcsField.GuestRflags, 0x2);
            w.Write(VmcsField.GuestRip, state.Rip);
            w.Write(VmcsField.GuestRsp, state.Rsp);
            w.Write(VmcsField.GuestInterruptibilityState, 0);
            w.Write(VmcsField.GuestActivityState, 0);
            w.Write(VmcsField.GuestPendingDebugExceptions, 0);
            w.Write(VmcsField.GuestDebugCtl, 0);
            w.Write(VmcsField.GuestSysenterCs, 0);
            w.Write(VmcsField.GuestSysenterEsp, 0);
            w.Write(VmcsField.GuestSysenterEip, 0);
            w.Write(VmcsField.VmEntryInterruptionInformation, 0);
            vcpu.EntryEventPending = false;

            if (state.Mode == GuestMode.Real)
            {
                Segment(ref w, VmcsField.GuestCsSelector, state.CodeSelector, 0xFFFF, AccessCode16, state.CodeBase);
                foreach (var s in DataSegments)
                    Segment(ref w, s, 0, 0xFFFF, AccessData16);
            }
            else
            {
                Segment(ref w, VmcsField.GuestCsSelector, state.CodeSelector, 0xFFFFFFFF, long64 ? AccessCode64 : AccessCode32);
                foreach (var s in DataSegments)
                    Segment(ref w, s, state.DataSelector, 0xFFFFFFFF, AccessData32);
            }
            Segment(ref w, VmcsField.GuestLdtrSelector, 0, 0, AccessUnusable);
            Segment(ref w, VmcsField.GuestTrSelector, 0, 0xFF, AccessBusyTss);
            w.Write(VmcsField.GuestGdtrBase, state.GdtBase);
            w.Write(VmcsField.GuestGdtrLimit, state.GdtLimit);
            w.Write(VmcsField.GuestIdtrBase, 0);
            w.Write(VmcsField.GuestIdtrLimit, state.Mode == GuestMode.Real ? 0x3FFUL : 0);
        }

        private static readonly VmcsField[] DataSegments =
        {
            VmcsField.GuestSsSelector, VmcsField.GuestDsSelector, VmcsField.GuestEsSelector,
            VmcsField.GuestFsSelector, VmcsField.GuestGsSelector,
        };

        /// <summary>
        /// Host state for the CPU this VMCS is loaded on: this CPU's GDT, TSS and IDT, the
        /// current control registers, EFER and PAT. Rewritten when a vCPU moves to another CPU.
        /// HOST_RIP is the entry routine's exit label; HOST_RSP is written by the entry routine
        /// itself (it is its stack pointer at the entry).
        /// </summary>
        public static void WriteHostState(ref FieldWriter w, ProcessorTables host)
        {
            w.Write(VmcsField.HostRip, Vmx.ExitEntryAddress());
            w.Write(VmcsField.HostCr0, Cpu.ReadCr0());
            w.Write(VmcsField.HostCr3, Cpu.ReadCr3());
            w.Write(VmcsField.HostCr4, Cpu.ReadCr4());
            w.Write(VmcsField.HostCsSelector, Descriptors.KernelCodeSelector);
            w.Write(VmcsField.HostSsSelector, Descriptors.KernelDataSelector);
            w.Write(VmcsField.HostDsSelector, Descriptors.KernelDataSelector);
            w.Write(VmcsField.HostEsSelector, Descriptors.KernelDataSelector);
            w.Write(VmcsField.HostFsSelector, 0);
            w.Write(VmcsField.HostGsSelector, 0);
            w.Write(VmcsField.HostTrSelector, Descriptors.TssSelector);
            w.Write(VmcsField.HostFsBase, 0);
            w.Write(VmcsField.HostGsBase, 0);
            w.Write(VmcsField.HostTrBase, host.TssBase);
            w.Write(VmcsField.HostGdtrBase, host.GdtBase);
            w.Write(VmcsField.HostIdtrBase, host.IdtBase);
            w.Write(VmcsField.HostSysenterCs, 0);
            w.Write(VmcsField.HostSysenterEsp, 0);
            w.Write(VmcsField.HostSysenterEip, 0);
            w.Write(VmcsField.HostEfer, Cpu.ReadMsr(MsrEfer));
            w.Write(VmcsField.HostPat, Cpu.ReadMsr(MsrPat));
        }

        // Selector, limit, access rights and base; the four fields of a segment register
        // follow the selector's index (selectors 0..7, limits 0..7, rights 10..17, bases 3..10).
        private static void Segment(ref FieldWriter w, VmcsField selector, ulong value, ulong limit, uint access, ulong segmentBase = 0)
        {
            uint n = selector.Index;
            w.Write(selector, value);
            w.Write(new VmcsField(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, n), limit);
            w.Write(new VmcsField(VmcsFieldWidth.Bits32, VmcsFieldType.GuestState, 10 + n), access);
            w.Write(new VmcsField(VmcsFieldWidth.Natural, VmcsFieldType.GuestState, 3 + n), segmentBase);
        }

        /// <summary>VMWRITEs that keep going and remember the first failure.</summary>
        public struct FieldWriter
        {
            private readonly Vmcs _vmcs;
            private readonly int _cpu;

            public FieldWriter(Vmcs vmcs, int cpu)
            {
                _vmcs = vmcs;
                _cpu = cpu;
                FirstError = VmcsError.None;
            }

            public VmcsError FirstError { get; private set; }

            public void Write(VmcsField field, ulong value)
            {
                VmcsError error = _vmcs.Write(_cpu, field, value);
                if (FirstError == VmcsError.None)
                    FirstError = error;
            }
        }
    }
}
