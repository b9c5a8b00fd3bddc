using System.Collections.Generic;
using NUnit.Framework;
using Partition.Devices;
using Partition.Kernel;
using Partition.Configs;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// Event injection, HLT, XSETBV and the emulated MSRs on the software VMX model: the real
    /// run loop (<see cref="PartitionHost.Run"/>), <see cref="InterruptInjection"/> and
    /// <see cref="ExitDispatch"/>, with the guest scripted exit by exit. What the hypervisor
    /// injected is read from the VM-entry interruption-information field as the model held it
    /// at each VM entry (SDM Vol. 3C, 27.6); every VM exit clears its valid bit (28.2), as
    /// the script does.
    /// </summary>
    public unsafe class InterruptInjectionTests
    {
        private const uint Valid = 1u << 31;
        private const ulong InterruptWindow = VmxControls.ProcInterruptWindowExiting, NmiWindow = VmxControls.ProcNmiWindowExiting;
        private const ulong BlockingBySti = 1, BlockingByMovSs = 2, BlockingByNmi = 8;
        private const ulong GpWithErrorCode = 13 | 3u << 8 | 1u << 11 | Valid;
        private const uint Xsave = 1u << 26, Avx = 1u << 28;

        private HostPhysicalMemory _memory;
        private FakeCpu _cpu;

        /// <summary>The VMCS as the guest found it at one VM entry.</summary>
        private sealed class EntryState
        {
            public ulong Injected, ErrorCode, InstructionLength, PrimaryControls, Interruptibility, Rip, PreemptionTimer, TscOffset;
            public bool InterruptWindowExiting => (PrimaryControls & InterruptWindow) != 0;
            public bool NmiWindowExiting => (PrimaryControls & NmiWindow) != 0;
        }

        /// <summary>What the guest does at one entry: set its state, then leave with an exit.</summary>
        private sealed class Exit
        {
            public VmxModel Model;
            public VmxModel.Region Vmcs;
            public GuestRegisters* Registers;

            public void Set(VmcsField field, ulong value) => Vmcs.Fields[field.Encoding] = value;

            /// <summary>RFLAGS.IF as the guest left it.</summary>
            public Exit Interrupts(bool enabled)
            {
                Set(VmcsField.GuestRflags, enabled ? 0x202UL : 0x2UL);
                return this;
            }

            public Exit Blocking(ulong interruptibility)
            {
                Set(VmcsField.GuestInterruptibilityState, interruptibility);
                return this;
            }

            public void Leave(ExitReason reason, ulong qualification = 0, uint instructionLength = 1)
            {
                Set(VmcsField.VmExitInstructionLength, instructionLength);
                Model.SetExit(Vmcs, reason, qualification);
            }

            /// <summary>RDMSR/WRMSR/XSETBV/CPUID: the operands in RCX and EDX:EAX.</summary>
            public void Instruction(ExitReason reason, uint rcx, ulong value = 0)
            {
                Registers->Rcx = rcx;
                Registers->Rax = (uint)value;
                Registers->Rdx = value >> 32;
                Leave(reason, 0, 2);
            }

            /// <summary>A host NMI (a kick between cores) arrived while the guest ran.</summary>
            public void HostNmi(uint idtVectoring = 0, uint idtErrorCode = 0, uint instructionLength = 0)
            {
                Set(VmcsField.VmExitInterruptionInformation, 2 | 2u << 8 | Valid);
                Set(VmcsField.IdtVectoringInformation, idtVectoring);
                Set(VmcsField.IdtVectoringErrorCode, idtErrorCode);
                Leave(ExitReason.ExceptionOrNmi, 0, instructionLength);
            }
        }

        private delegate void Step(Exit exit);

        private readonly List<EntryState> _entries = new();

        [SetUp]
        public void CreateMachine()
        {
            _memory = new HostPhysicalMemory(2048);
            _cpu = VmxTests.TigerLake();
            // Bochs tigerlake's XSAVE and AVX (the rest of leaf 1 does not matter here).
            _cpu.Cpuid[(0, 0)] = (0x1B, 0x756E6547, 0x6C65746E, 0x49656E69);
            _cpu.Cpuid[(1, 0)] = (0x806C1, 0x800, 1u << 5 | Xsave | Avx, 0);
            _cpu.Cpuid[(0xD, 0)] = (0x2E7, 0x240, 0xAC0, 0);
            _cpu.Cpuid[(0x8000_0000, 0)] = (0x8000_0008, 0, 0, 0);
            var caps = VmxCapabilities.Read();
            Assert.That(VmxRoot.Enter(caps, out _), Is.EqualTo(VmxEnableError.None));
            PartitionHost.Initialize(caps, new ProcessorTables(0));
            Assert.That(XsaveSupport.GuestMask, Is.EqualTo(7UL));
        }

        [TearDown]
        public void Release()
        {
            _memory.Dispose();
            FakeCpu.Reset();                                    // XSAVE support is static: none for the next test
            HostCpuid.Initialize();
            XsaveSupport.Initialize();
        }

        private static VirtualMachine Create(int vcpus = 1)
        {
            var spec = new PartitionSpec("alpha", GuestMode.Protected32, 1UL << 20, 0x1000, 0x1000, 0x3F8);
            if (vcpus > 1)
            {
                var placement = new VcpuSpec[vcpus];
                for (int i = 0; i < vcpus; i++)
                    placement[i] = new VcpuSpec(0, true, 1, 0);
                spec.WithVcpus(placement);
            }
            Assert.That(VirtualMachine.TryCreate(spec, new byte[] { 0xF4 }, PartitionHost.Capabilities, PartitionHost.HostTables, 0, out var vm, out string error), Is.True, error);
            return vm;
        }

        /// <summary>The guest's local APIC software-enabled (what Linux's setup_local_APIC ends with), TPR 0.</summary>
        private static VirtualLocalApic EnabledApic(VirtualCpu vcpu)
        {
            vcpu.Lapic.WriteMmio(0xF0, 0x1FF, 0, out _, out _, out _, out _);
            return vcpu.Lapic;
        }

        private static InterruptMessage Fixed(byte vector) => new InterruptMessage(vector, DeliveryMode.Fixed, false, 0, false);
        private static readonly InterruptMessage Nmi = new InterruptMessage(0, DeliveryMode.Nmi, false, 0, false);

        private static bool InService(VirtualLocalApic apic, int vector) =>
            (apic.ReadMmio(0x100 + (ulong)(vector >> 5) * 0x10, 0) & 1u << (vector & 31)) != 0;

        private static bool Requested(VirtualLocalApic apic, int vector) =>
            (apic.ReadMmio(0x200 + (ulong)(vector >> 5) * 0x10, 0) & 1u << (vector & 31)) != 0;

        /// <summary>Scripts the guest: step i runs at entry i; after the last, HLT with interrupts off (the vCPU parks).</summary>
        private void Script(params Step[] steps)
        {
            var queue = new Queue<Step>(steps);
            _entries.Clear();
            _cpu.Vmx.Guest = (model, vmcs, registers) =>
            {
                ulong Get(VmcsField f) => vmcs.Fields.GetValueOrDefault(f.Encoding);
                _entries.Add(new EntryState
                {
                    Injected = Get(VmcsField.VmEntryInterruptionInformation),
                    ErrorCode = Get(VmcsField.VmEntryExceptionErrorCode),
                    InstructionLength = Get(VmcsField.VmEntryInstructionLength),
                    PrimaryControls = Get(VmcsField.PrimaryProcessorBasedControls),
                    Interruptibility = Get(VmcsField.GuestInterruptibilityState),
                    Rip = Get(VmcsField.GuestRip),
                    PreemptionTimer = Get(VmcsField.VmxPreemptionTimerValue),
                    TscOffset = Get(VmcsField.TscOffset),
                });
                // What every VM exit does to these fields (SDM Vol. 3C, 28.2): the entry field's
                // valid bit cleared, IDT-vectoring invalid unless the exit says otherwise.
                vmcs.Fields[VmcsField.VmEntryInterruptionInformation.Encoding] = 0;
                vmcs.Fields[VmcsField.IdtVectoringInformation.Encoding] = 0;
                vmcs.Fields[VmcsField.VmExitInterruptionInformation.Encoding] = 0;
                var exit = new Exit { Model = model, Vmcs = vmcs, Registers = registers };
                if (queue.Count > 0)
                    queue.Dequeue()(exit);
                else
                    exit.Interrupts(false).Leave(ExitReason.Hlt);
            };
        }

        // ---- External interrupts -------------------------------------------------------------

        [Test]
        public void An_interrupt_posted_while_the_guest_runs_is_injected_at_the_next_entry_when_IF_is_set()
        {
            var vm = Create();
            var apic = EnabledApic(vm.Cpu0);
            Script(
                e =>
                {
                    apic.Post(Fixed(0x41));                      // another CPU posts, then kicks this one
                    e.Interrupts(true).Leave(ExitReason.ExternalInterrupt);
                });
            PartitionHost.Run(vm.Cpu0, 0);

            Assert.That(_entries[0].Injected, Is.Zero, "nothing pending at the first entry");
            Assert.That(_entries[1].Injected, Is.EqualTo(0x41UL | Valid), "vector 0x41, type external interrupt (0), valid");
            Assert.That(_entries[1].InterruptWindowExiting, Is.False, "no window needed");
            Assert.That(InService(apic, 0x41), Is.True, "the APIC moved it from IRR to ISR (SDM Vol. 3A, 11.8.4)");
            Assert.That(Requested(apic, 0x41), Is.False);
            Assert.That(vm.Cpu0.Injected, Is.EqualTo(1UL));
            Assert.That(vm.State, Is.EqualTo(VirtualMachineState.Halted));
        }

        [TestCase(false, 0UL, TestName = "With RFLAGS.IF = 0 the interrupt waits for an interrupt window")]
        [TestCase(true, BlockingBySti, TestName = "In an STI shadow the interrupt waits for an interrupt window")]
        [TestCase(true, BlockingByMovSs, TestName = "In a MOV-SS shadow the interrupt waits for an interrupt window")]
        public void A_blocked_interrupt_asks_for_an_interrupt_window_and_is_injected_at_the_window_exit(bool interruptsOn, ulong blocking)
        {
            var vm = Create();
            var apic = EnabledApic(vm.Cpu0);
            Script(
                e =>
                {
                    apic.Post(Fixed(0x41));
                    e.Interrupts(interruptsOn).Blocking(blocking).Leave(ExitReason.ExternalInterrupt);
                },
                e =>
                {
                    Assert.That(Requested(apic, 0x41), Is.True, "still in the IRR while blocked");
                    e.Interrupts(true).Blocking(0).Leave(ExitReason.InterruptWindow);   // the guest can take it now
                },
                e => e.Interrupts(true).Leave(ExitReason.ExternalInterrupt));
            PartitionHost.Run(vm.Cpu0, 0);

            Assert.That(_entries[1].Injected, Is.Zero, "not injected while blocked");
            Assert.That(_entries[1].InterruptWindowExiting, Is.True, "interrupt-window exiting asked for (SDM 26.7.5)");
            Assert.That(_entries[2].Injected, Is.EqualTo(0x41UL | Valid), "injected at the entry after the window exit");
            Assert.That(_entries[2].InterruptWindowExiting, Is.False, "and the window is closed again");
            Assert.That(_entries[3].Injected, Is.Zero, "once");
            Assert.That(vm.ExitCounts[(int)ExitReason.InterruptWindow], Is.EqualTo(1UL));
        }

        [Test]
        public void A_vector_held_by_the_TPR_is_not_injected_and_asks_for_no_window()
        {
            var vm = Create();
            var apic = EnabledApic(vm.Cpu0);
            apic.WriteMmio(0x80, 0x50, 0, out _, out _, out _, out _);
            Script(
                e =>
                {
                    apic.Post(Fixed(0x41));
                    e.Interrupts(true).Leave(ExitReason.ExternalInterrupt);
                });
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[1].Injected, Is.Zero);
            Assert.That(_entries[1].InterruptWindowExiting, Is.False, "a window would not help: the TPR holds it");
            Assert.That(Requested(apic, 0x41), Is.True);
        }

        [Test]
        public void Of_two_pending_vectors_the_higher_goes_first_and_the_other_after_the_guests_EOI()
        {
            var vm = Create();
            var apic = EnabledApic(vm.Cpu0);
            Script(
                e =>
                {
                    apic.Post(Fixed(0x41));
                    apic.Post(Fixed(0x45));
                    e.Interrupts(true).Leave(ExitReason.ExternalInterrupt);
                },
                e => e.Interrupts(true).Leave(ExitReason.ExternalInterrupt),             // in 0x45's handler: same class waits
                e =>
                {
                    apic.WriteMmio(0xB0, 0, 0, out _, out _, out _, out _);             // the handler's EOI
                    e.Interrupts(true).Leave(ExitReason.ExternalInterrupt);
                });
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[1].Injected, Is.EqualTo(0x45UL | Valid));
            Assert.That(_entries[2].Injected, Is.Zero, "0x41 is of 0x45's class: it waits for the EOI");
            Assert.That(_entries[2].InterruptWindowExiting, Is.False);
            Assert.That(_entries[3].Injected, Is.EqualTo(0x41UL | Valid));
        }

        // ---- NMIs ---------------------------------------------------------------------------

        [Test]
        public void An_NMI_is_injected_at_the_next_entry_even_with_IF_clear()
        {
            var vm = Create();
            var apic = EnabledApic(vm.Cpu0);
            Script(
                e =>
                {
                    apic.Post(Nmi);
                    e.Interrupts(false).Leave(ExitReason.ExternalInterrupt);
                });
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[1].Injected, Is.EqualTo(2UL | 2u << 8 | Valid), "vector 2, type NMI (2)");
            Assert.That(apic.PendingNmi, Is.False);
        }

        [TestCase(BlockingByNmi, TestName = "While NMIs are blocked (in an NMI handler) an NMI waits for an NMI window")]
        [TestCase(BlockingByMovSs, TestName = "In a MOV-SS shadow an NMI waits for an NMI window")]
        public void A_blocked_NMI_asks_for_an_NMI_window_and_is_injected_at_the_window_exit(ulong blocking)
        {
            var vm = Create();
            var apic = EnabledApic(vm.Cpu0);
            Script(
                e =>
                {
                    apic.Post(Nmi);
                    e.Interrupts(true).Blocking(blocking).Leave(ExitReason.ExternalInterrupt);
                },
                e => e.Blocking(0).Leave(ExitReason.NmiWindow));                        // the IRET that unblocks NMIs
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[1].Injected, Is.Zero);
            Assert.That(_entries[1].NmiWindowExiting, Is.True, "NMI-window exiting (virtual NMIs, SDM 26.7.6)");
            Assert.That(_entries[2].Injected, Is.EqualTo(2UL | 2u << 8 | Valid));
            Assert.That(_entries[2].NmiWindowExiting, Is.False);
        }

        [Test]
        public void An_NMI_goes_before_a_pending_interrupt_which_then_asks_for_a_window()
        {
            var vm = Create();
            var apic = EnabledApic(vm.Cpu0);
            Script(
                e =>
                {
                    apic.Post(Fixed(0x41));
                    apic.Post(Nmi);
                    e.Interrupts(true).Leave(ExitReason.ExternalInterrupt);
                },
                e => e.Interrupts(true).Leave(ExitReason.InterruptWindow));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[1].Injected, Is.EqualTo(2UL | 2u << 8 | Valid), "the NMI first");
            Assert.That(_entries[1].InterruptWindowExiting, Is.True, "one event per entry: a window for the interrupt");
            Assert.That(_entries[2].Injected, Is.EqualTo(0x41UL | Valid));
        }

        // ---- Re-injection (IDT-vectoring information, SDM 28.2.4) ---------------------------

        [Test]
        public void An_interrupt_whose_delivery_a_host_NMI_interrupted_is_injected_again_and_acknowledged_once()
        {
            var vm = Create();
            var apic = EnabledApic(vm.Cpu0);
            Script(
                e =>
                {
                    apic.Post(Fixed(0x41));
                    e.Interrupts(true).Leave(ExitReason.ExternalInterrupt);
                },
                e =>
                {
                    apic.Post(Fixed(0x42));                      // arrives meanwhile: must wait for its turn
                    e.Interrupts(true).HostNmi(idtVectoring: 0x41 | Valid);
                },
                e => e.Interrupts(true).Leave(ExitReason.InterruptWindow));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[1].Injected, Is.EqualTo(0x41UL | Valid));
            Assert.That(_entries[2].Injected, Is.EqualTo(0x41UL | Valid), "the interrupted delivery, again");
            Assert.That(_entries[2].InterruptWindowExiting, Is.False, "0x42 is of 0x41's class: no window before 0x41's EOI");
            Assert.That(vm.Cpu0.Injected, Is.EqualTo(1UL), "taken from the APIC once");
            Assert.That(Requested(apic, 0x42), Is.True);
            Assert.That(_cpu.Log, Has.Member("iretq (unblock NMIs)"), "the host NMI's blocking is lifted");
        }

        [Test]
        public void A_new_interrupt_does_not_displace_a_re_injected_one_it_asks_for_a_window()
        {
            var vm = Create();
            var apic = EnabledApic(vm.Cpu0);
            Script(
                e =>
                {
                    apic.Post(Fixed(0x41));
                    e.Interrupts(true).Leave(ExitReason.ExternalInterrupt);
                },
                e =>
                {
                    apic.Post(Fixed(0x61));                      // a higher class: deliverable at once
                    e.Interrupts(true).HostNmi(idtVectoring: 0x41 | Valid);
                },
                e => e.Interrupts(true).Leave(ExitReason.InterruptWindow));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[2].Injected, Is.EqualTo(0x41UL | Valid));
            Assert.That(_entries[2].InterruptWindowExiting, Is.True);
            Assert.That(_entries[3].Injected, Is.EqualTo(0x61UL | Valid), "then 0x61 nests");
        }

        [TestCase(0x8000_0B0Eu, 6u, 0u, 0x8000_0B0EUL, TestName = "Re-injection: a #PF with its error code")]
        [TestCase(0x8000_0480u, 0u, 2u, 0x8000_0480UL, TestName = "Re-injection: a software interrupt (INT 0x80) with its instruction length")]
        [TestCase(0x8000_0501u, 0u, 1u, 0x8000_0501UL, TestName = "Re-injection: a privileged software exception (INT1) with its instruction length")]
        [TestCase(0x8000_0603u, 0u, 1u, 0x8000_0603UL, TestName = "Re-injection: a software exception (INT3) with its instruction length")]
        [TestCase(0x8000_0202u, 0u, 0u, 0x8000_0202UL, TestName = "Re-injection: an NMI")]
        [TestCase(0x8000_1041u, 0u, 0u, 0x8000_0041UL, TestName = "Re-injection: bit 12 (undefined in IDT-vectoring, reserved at entry) is cleared")]
        public void An_event_found_in_IDT_vectoring_information_is_injected_again(uint idtVectoring, uint errorCode, uint instructionLength, ulong expected)
        {
            var vm = Create();
            Script(e => e.Interrupts(true).HostNmi(idtVectoring, errorCode, instructionLength));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[1].Injected, Is.EqualTo(expected));
            if ((idtVectoring & 1u << 11) != 0)
                Assert.That(_entries[1].ErrorCode, Is.EqualTo((ulong)errorCode), "the error code goes with it");
            if (instructionLength != 0)
                Assert.That(_entries[1].InstructionLength, Is.EqualTo((ulong)instructionLength), "RIP is pushed past the INT instruction");
        }

        [Test]
        public void An_event_to_re_inject_survives_the_end_of_the_slice_whose_last_exit_interrupted_its_delivery()
        {
            // The slice ends at the exit that interrupted 0x41's delivery: ReinjectInterrupted has
            // put 0x41 back into the VM-entry field, but "an event is already there" lives in
            // RunSlice's local ExitContext. The next slice's BeforeEntry then injects 0x61 over
            // it; 0x41 stays in service, never delivered, and its priority class never gets an EOI.
            var vm = Create();
            var vcpu = vm.Cpu0;
            var apic = EnabledApic(vcpu);
            ulong sliceEnd = 0;
            Script(
                e =>
                {
                    apic.Post(Fixed(0x41));
                    e.Interrupts(true).Leave(ExitReason.ExternalInterrupt);
                },
                e =>
                {
                    _cpu.Tsc = sliceEnd + 1;                     // the slice is over at this exit
                    apic.Post(Fixed(0x61));
                    e.Interrupts(true).HostNmi(idtVectoring: 0x41 | Valid);
                },
                e => e.Interrupts(true).Leave(ExitReason.InterruptWindow));
            Assert.That(vcpu.Vmcs.Load(0), Is.EqualTo(VmcsError.None));
            sliceEnd = _cpu.Tsc + 1_000_000;
            PartitionHost.RunSlice(vcpu, 0, sliceEnd, false);
            Assert.That(_entries, Has.Count.EqualTo(2), "the slice ended after the second exit");
            PartitionHost.RunSlice(vcpu, 0, 0, false);      // its next slice

            Assert.That(_entries[1].Injected, Is.EqualTo(0x41UL | Valid));
            Assert.That(_entries[2].Injected, Is.EqualTo(0x41UL | Valid), "the interrupted delivery is completed first");
            Assert.That(_entries[3].Injected, Is.EqualTo(0x61UL | Valid), "then 0x61, after a window");
        }

        // ---- The fast path (PartitionHost.ExitPath) ---------------------------------------------

        [Test]
        public void After_an_exit_the_run_loop_need_not_see_the_guest_goes_on_with_its_timer_until_that_would_be_late_by_a_64th()
        {
            var vm = Create();
            var vcpu = vm.Cpu0;
            int rate = PartitionHost.Capabilities.PreemptionTimerRate;
            ulong start = _cpu.Tsc, sliceEnd = start + 64_000UL;
            ulong Value(ulong now) => (sliceEnd - now + (1UL << rate) - 1) >> rate;
            Script(
                e => { _cpu.Tsc += 100; e.Instruction(ExitReason.Cpuid, 0); },    // 100 ticks: within 1/64 of 64,000
                e => { _cpu.Tsc += 2_000; e.Instruction(ExitReason.Cpuid, 0); },  // 2,100 since the write: more
                e => { _cpu.Tsc += 100; e.Instruction(ExitReason.Cpuid, 0); });
            Assert.That(vcpu.Vmcs.Load(0), Is.EqualTo(VmcsError.None));
            PartitionHost.RunSlice(vcpu, 0, sliceEnd, false);

            // The fake TSC also moves by one at each read: the values are the time left give or take a few reads.
            Assert.That(_entries[0].PreemptionTimer, Is.InRange(Value(start + 64), Value(start)), "the run loop writes the time left");
            Assert.That(_entries[1].PreemptionTimer, Is.EqualTo(_entries[0].PreemptionTimer),
                "entered again from the exit path, which leaves the timer alone while it is at most 1/64 late");
            Assert.That(_entries[2].PreemptionTimer, Is.InRange(Value(start + 2_100 + 64), Value(start + 2_100)), "then it writes the time left");
            Assert.That(_entries[3].PreemptionTimer, Is.EqualTo(_entries[2].PreemptionTimer));
            Assert.That(vcpu.Exits, Is.EqualTo(4UL), "every exit handled and counted");
        }

        [Test]
        public void A_quiet_exit_that_rewrites_the_timer_looks_at_everything_a_kick_could_have_announced()
        {
            // The kick came while this CPU handled the exit and set the timer to 0; the fast path's
            // rewrite of the timer undid that, so after it the fast path looks at the local APIC.
            var vm = Create();
            var vcpu = vm.Cpu0;
            var apic = EnabledApic(vcpu);
            ulong sliceEnd = _cpu.Tsc + 64_000UL;
            Script(
                e =>
                {
                    _cpu.Tsc += 2_000;                          // more than 1/64 of the slice: the timer is rewritten
                    apic.Post(Fixed(0x41));
                    CoreRunner.NmiReceived(0);
                    e.Interrupts(true).Instruction(ExitReason.Cpuid, 0);
                },
                e => e.Interrupts(true).Instruction(ExitReason.Cpuid, 0));
            Assert.That(vcpu.Vmcs.Load(0), Is.EqualTo(VmcsError.None));
            PartitionHost.RunSlice(vcpu, 0, sliceEnd, false);
            Assert.That(_entries[1].PreemptionTimer, Is.Not.Zero, "the rewrite replaced the kick's 0");
            Assert.That(_entries[1].Injected, Is.EqualTo(0x41UL | Valid), "so the fast path looked, and the run loop injected it");
        }

        [Test]
        public void An_interrupt_posted_by_another_CPU_during_a_quiet_exit_comes_in_with_its_kick()
        {
            // Another CPU posts, then kicks (CoreRunner's kick invariant); the NMI finds this CPU
            // handling a CPUID exit, which changes nothing the run loop watches, so the fast path
            // does not look at the local APIC: the kick's preemption timer of 0 makes the entry
            // exit at once, and the run loop injects the interrupt at the entry after.
            var vm = Create();
            var apic = EnabledApic(vm.Cpu0);
            Script(
                e =>
                {
                    apic.Post(Fixed(0x41));
                    CoreRunner.NmiReceived(0);
                    e.Interrupts(true).Instruction(ExitReason.Cpuid, 0);
                },
                e => e.Interrupts(true).Leave(ExitReason.PreemptionTimer));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[1].Injected & Valid, Is.Zero, "entered again at once after the quiet exit");
            Assert.That(_entries[1].PreemptionTimer, Is.Zero, "with the kick's timer: it exits before the guest's first instruction");
            Assert.That(_entries[2].Injected, Is.EqualTo(0x41UL | Valid), "the run loop injects it");
        }

        [Test]
        public void An_interrupt_posted_during_an_exit_whose_handler_may_post_is_injected_at_the_next_entry()
        {
            // An MSR write may be an IPI to the vCPU itself (no kick: it is this CPU's own): after
            // such a handler the fast path looks at the local APIC.
            var vm = Create();
            var apic = EnabledApic(vm.Cpu0);
            Script(
                e =>
                {
                    apic.Post(Fixed(0x41));
                    e.Interrupts(true).Instruction(ExitReason.Wrmsr, MsrPolicy.MiscEnable, 0x1801);
                });
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[1].Injected, Is.EqualTo(0x41UL | Valid), "the posted interrupt sends the exit to the run loop, which injects it");
        }

        // The UART's line through an I/O APIC to vCPU 0 (ISA IRQ 4 as Linux programs it: edge,
        // fixed, physical destination 0), and OUT2 on so that the line follows the UART.
        private static void ConnectUartToVcpu0(VirtualMachine vm, byte vector)
        {
            var ioApic = new VirtualIoApic(1, vm);
            vm.Uart.ConnectInterrupt(ioApic, 4);
            ioApic.Write(VirtualIoApic.IoRegSel, 4, 0x19);
            ioApic.Write(VirtualIoApic.IoWin, 4, 0);
            ioApic.Write(VirtualIoApic.IoRegSel, 4, 0x18);
            ioApic.Write(VirtualIoApic.IoWin, 4, vector);
            vm.Uart.Write(0x3F8 + 4, 0x08);
        }

        // OUT of AL to a port: the exit qualification (SDM Vol. 3C, table 28-5: size 1, OUT, port in 31:16).
        private static ulong OutByte(ushort port) => (ulong)port << 16;

        [TestCase(0x3F9, 0x02, true, TestName = "A UART write that raises its interrupt for the vCPU itself sends the exit to the run loop")]
        [TestCase(0x3FF, 0x55, false, TestName = "A UART write that raises nothing lets the guest go on at once (a quiet exit)")]
        public void A_UART_access_is_quiet_unless_it_delivered_an_interrupt(int port, int value, bool raises)
        {
            // The interrupt goes to the very vCPU whose exit this is: no other CPU, so no kick;
            // the handler must say so itself (ExitAction.Resume), or it would wait for the next slow exit.
            var vm = Create();
            EnabledApic(vm.Cpu0);
            ConnectUartToVcpu0(vm, 0x24);
            Script(
                e =>
                {
                    e.Registers->Rax = (ulong)value;
                    e.Interrupts(true).Leave(ExitReason.IoInstruction, OutByte((ushort)port), 1);
                },
                e => e.Interrupts(true).Instruction(ExitReason.Cpuid, 0));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(vm.Deliveries, Is.EqualTo(raises ? 1UL : 0UL));
            Assert.That(_entries[1].Injected, Is.EqualTo(raises ? 0x24UL | Valid : 0UL),
                raises ? "the exit went to the run loop, which injects the UART's interrupt" : "nothing to inject");
            Assert.That(vm.Cpu0.ResumedAtOnce, Is.EqualTo(raises ? 1UL : 2UL), "the OUT's exit went on at once only if it raised nothing (the CPUID's always does)");
        }

        [Test]
        public void A_request_in_the_cores_mailbox_reaches_the_run_loop_through_its_kick()
        {
            // Posted by another CPU, whose kick (NMI) finds this one handling a quiet exit: the
            // entry after it carries the kick's preemption timer of 0 and exits at once.
            var vm = Create();
            var vcpu = vm.Cpu0;
            CoreRunner.Prepare(new[] { vm }, 1, new ScheduleConfig[0], 0);
            var runner = CoreRunner.Of(0);
            Script(
                e =>
                {
                    runner.Post(new CoreRequest { Kind = CoreRequestKind.Notice, Vcpu = vcpu });
                    CoreRunner.NmiReceived(0);
                    e.Instruction(ExitReason.Cpuid, 0);
                },
                e => e.Leave(ExitReason.PreemptionTimer),
                e => e.Instruction(ExitReason.Cpuid, 0));
            try
            {
                Assert.That(vcpu.Vmcs.Load(0), Is.EqualTo(VmcsError.None));
                PartitionHost.RunSlice(vcpu, 0, 0, false, runner);
                Assert.That(_entries, Has.Count.EqualTo(2), "the slice ends at the timer's exit: the core reads its mailbox");
                Assert.That(_entries[1].PreemptionTimer, Is.Zero, "the kick's timer");
                Assert.That(runner.HasRequests, Is.True);
            }
            finally
            {
                CoreRunner.ForgetAll();   // no runner for the tests after this one
            }
        }

        // ---- Hypercalls ----------------------------------------------------------------------

        [TestCase(0u, Hypercall.Success, TestName = "VMCALL from CPL 0 (SS.DPL 0) is served")]
        [TestCase(3u, Hypercall.NotPermitted, TestName = "VMCALL from CPL 3 (user mode, SS.DPL 3) is refused")]
        [TestCase(1u, Hypercall.NotPermitted, TestName = "VMCALL from CPL 1 is refused")]
        public void Hypercalls_are_for_the_guest_kernel_only(uint cpl, ulong status)
        {
            var vm = Create();
            ulong rax = 0, rbx = 0;
            Script(
                e =>
                {
                    e.Set(VmcsField.GuestSsAccessRights, 0x93 | cpl << 5);  // present, data, read/write, DPL
                    e.Registers->Rax = Hypercall.GetVersion;
                    e.Registers->Rbx = 0x5A5A;
                    e.Leave(ExitReason.Vmcall, 0, 3);
                },
                e =>
                {
                    rax = e.Registers->Rax;
                    rbx = e.Registers->Rbx;
                    e.Interrupts(false).Leave(ExitReason.Hlt);
                });
            PartitionHost.Run(vm.Cpu0, 0);

            Assert.That(rax, Is.EqualTo(status));
            Assert.That(rbx, Is.EqualTo(status == Hypercall.Success ? Hypercall.Version : 0x5A5AUL), "a refused call tells nothing");
            Assert.That(_entries[1].Rip - _entries[0].Rip, Is.EqualTo(3UL), "either way the guest goes on after VMCALL");
            Assert.That(vm.Denials.Count(DenialKind.Hypercall), Is.EqualTo(status == Hypercall.Success ? 0UL : 1UL));
        }

        // ---- HLT ---------------------------------------------------------------------------

        [Test]
        public void HLT_with_IF_set_waits_and_the_vCPU_runs_again_when_its_APIC_timer_is_due()
        {
            var vm = Create();
            var vcpu = vm.Cpu0;
            Script(
                e => e.Instruction(ExitReason.Wrmsr, 0x1B, 0xFEE0_0D00),     // x2APIC
                e => e.Instruction(ExitReason.Wrmsr, 0x80F, 0x1FF),          // SVR: enabled
                e => e.Instruction(ExitReason.Wrmsr, 0x83E, 0xB),            // divide by 1
                e => e.Instruction(ExitReason.Wrmsr, 0x832, 0xEC),           // LVT timer: one-shot, 0xEC
                e => e.Instruction(ExitReason.Wrmsr, 0x838, 50_000),         // initial count
                e => e.Interrupts(true).Leave(ExitReason.Hlt));
            PartitionHost.Run(vcpu, 0);

            Assert.That(vcpu.Activity, Is.EqualTo(VcpuActivity.WaitingForInterrupt), "HLT with IF=1 waits for an interrupt");
            Assert.That(vm.State, Is.EqualTo(VirtualMachineState.Runnable), "it has not halted");
            ulong deadline = vcpu.TimerDeadlineOnHost;
            Assert.That(deadline, Is.Not.Zero);
            Assert.That(_entries[5].PreemptionTimer, Is.LessThanOrEqualTo(50_000UL).And.GreaterThan(49_000UL),
                "the VMX-preemption timer set for the APIC timer's expiry");

            vcpu.CheckWake(deadline - 10, out int startup);
            Assert.That((vcpu.Activity, startup), Is.EqualTo((VcpuActivity.WaitingForInterrupt, -1)), "not before the deadline");
            _cpu.Tsc = deadline + 5;
            vcpu.CheckWake(_cpu.Tsc, out _);
            Assert.That(vcpu.Activity, Is.EqualTo(VcpuActivity.Running), "the due timer ends the HLT");

            Script(e => e.Interrupts(false).Leave(ExitReason.Hlt));
            PartitionHost.Run(vcpu, 0);
            Assert.That(_entries[0].Injected, Is.EqualTo(0xECUL | Valid), "the timer's vector, at the first entry after the wait");
        }

        [Test]
        public void HLT_with_IF_clear_parks_the_vCPU_and_a_one_vCPU_partition_has_halted()
        {
            var vm = Create();
            Script(e => e.Interrupts(false).Leave(ExitReason.Hlt));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(vm.Cpu0.Activity, Is.EqualTo(VcpuActivity.Parked));
            Assert.That(vm.State, Is.EqualTo(VirtualMachineState.Halted));
            Assert.That(_entries, Has.Count.EqualTo(1));
            Assert.That(_cpu.Vmx.Regions[vm.Cpu0.Vmcs.Region].Fields[VmcsField.GuestRip.Encoding], Is.EqualTo(0x1001UL), "RIP past the HLT");
        }

        [Test]
        public void STI_then_HLT_with_an_interrupt_already_pending_does_not_wait_and_the_STI_shadow_is_over()
        {
            var vm = Create();
            var apic = EnabledApic(vm.Cpu0);
            Script(
                e =>
                {
                    apic.Post(Fixed(0x41));                      // posted while the guest ran with IF=0
                    e.Interrupts(true).Blocking(BlockingBySti).Leave(ExitReason.Hlt);   // "sti; hlt"
                });
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries, Has.Count.EqualTo(2), "the HLT did not wait");
            Assert.That(_entries[1].Interruptibility & BlockingBySti, Is.Zero, "past the HLT the STI shadow is over");
            Assert.That(_entries[1].Injected, Is.EqualTo(0x41UL | Valid), "so the interrupt goes in at once");
        }

        // ---- XSETBV -------------------------------------------------------------------------

        [TestCase(7UL, true, TestName = "XSETBV XCR0 = 7 writes XCR0 and the vCPU's saved XCR0")]
        [TestCase(3UL, true, TestName = "XSETBV XCR0 = 3 writes XCR0")]
        [TestCase(5UL, false, TestName = "XSETBV XCR0 = 5 (AVX without SSE) injects #GP")]
        [TestCase(0xE7UL, false, TestName = "XSETBV XCR0 = 0xE7 (AVX-512, not offered) injects #GP")]
        [TestCase(0UL, false, TestName = "XSETBV XCR0 = 0 injects #GP")]
        public void XSETBV_sets_a_valid_XCR0_and_injects_GP_for_an_invalid_one(ulong value, bool valid)
        {
            var vm = Create();
            Script(e => e.Instruction(ExitReason.Xsetbv, 0, value));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_cpu.Xcr0, Is.EqualTo(valid ? value : 1UL), "the processor's XCR0");
            Assert.That(vm.Cpu0.Msrs.Xcr0, Is.EqualTo(valid ? value : 1UL), "the vCPU's, switched with its lazily switched state");
            Assert.That(_entries[1].Injected, Is.EqualTo(valid ? 0UL : GpWithErrorCode));
            Assert.That(_entries[1].Rip, Is.EqualTo(valid ? 0x1002UL : 0x1000UL), "RIP past XSETBV only if it completed");
        }

        [Test]
        public void XSETBV_of_an_XCR_other_than_0_injects_GP()
        {
            var vm = Create();
            Script(e => e.Instruction(ExitReason.Xsetbv, 1, 1));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[1].Injected, Is.EqualTo(GpWithErrorCode));
            Assert.That(_cpu.Xcr0, Is.EqualTo(1UL));
        }

        [Test]
        public void CPUID_after_XSETBV_reports_OSXSAVE_from_CR4_and_the_XSAVE_size_for_the_new_XCR0()
        {
            var vm = Create();
            Script(
                e =>
                {
                    e.Set(VmcsField.GuestCr4, 0x2000 | 1UL << 18);     // VMXE (required) and OSXSAVE, as the guest set it
                    e.Instruction(ExitReason.Cpuid, 0, 1);
                },
                e => e.Instruction(ExitReason.Xsetbv, 0, 7),
                e => e.Instruction(ExitReason.Cpuid, 0, 0xD));
            var rcx = new List<ulong>();
            var rbx = new List<ulong>();
            var guest = _cpu.Vmx.Guest;
            _cpu.Vmx.Guest = (model, vmcs, registers) =>
            {
                rcx.Add(registers->Rcx);
                rbx.Add(registers->Rbx);
                guest(model, vmcs, registers);
            };
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(rcx[1] & (1UL << 26 | 1UL << 27 | 1UL << 28), Is.EqualTo(1UL << 26 | 1UL << 27 | 1UL << 28), "XSAVE, OSXSAVE, AVX");
            Assert.That(rbx[3], Is.EqualTo(832UL), "CPUID 0xD EBX: the area for XCR0 = 7");
        }

        // ---- MSRs through RDMSR/WRMSR exits -----------------------------------------------

        [Test]
        public void The_local_APIC_MSRs_go_to_the_virtual_APIC_and_a_self_IPI_comes_back_as_an_injection()
        {
            var vm = Create();
            var rax = new List<ulong>();
            Script(
                e => e.Instruction(ExitReason.Wrmsr, 0x1B, 0xFEE0_0D00),     // x2APIC on (the BSP bit set)
                e => e.Instruction(ExitReason.Rdmsr, 0x802),                 // APIC ID
                e => e.Instruction(ExitReason.Rdmsr, 0x803),                 // version
                e => e.Instruction(ExitReason.Wrmsr, 0x80F, 0x1FF),          // SVR
                e => e.Interrupts(true).Instruction(ExitReason.Wrmsr, 0x830, 0x4_0033),   // ICR: fixed 0x33 to self
                e => e.Interrupts(true).Instruction(ExitReason.Wrmsr, 0x83F, 0x44),       // SELF IPI: 0x44
                e => e.Interrupts(true).Instruction(ExitReason.Wrmsr, 0x80B, 0),          // EOI
                e => e.Interrupts(true).Instruction(ExitReason.Wrmsr, 0x80B, 0));
            var guest = _cpu.Vmx.Guest;
            _cpu.Vmx.Guest = (model, vmcs, registers) =>
            {
                rax.Add(registers->Rax);
                guest(model, vmcs, registers);
            };
            PartitionHost.Run(vm.Cpu0, 0);

            Assert.That(vm.Cpu0.Lapic.Mode, Is.EqualTo(ApicMode.X2Apic));
            Assert.That(rax[2], Is.Zero, "RDMSR 0x802: APIC ID 0");
            Assert.That(rax[3], Is.EqualTo(0x50014UL), "RDMSR 0x803: the version register");
            Assert.That(_entries[5].Injected, Is.EqualTo(0x33UL | Valid), "the self-IPI through the ICR, injected at the next entry");
            Assert.That(_entries[6].Injected, Is.EqualTo(0x44UL | Valid), "the SELF IPI register's vector nests above it");
            Assert.That(_entries[6].Rip - _entries[5].Rip, Is.EqualTo(2UL), "each WRMSR completed");
            Assert.That(vm.Denials.Count(DenialKind.Msr), Is.Zero);
        }

        [TestCase(ExitReason.Rdmsr, 0x802u, 0UL, TestName = "RDMSR of an x2APIC register in xAPIC mode injects #GP")]
        [TestCase(ExitReason.Wrmsr, 0x1Bu, 0xFEE0_0500UL, TestName = "WRMSR IA32_APIC_BASE with EXTD and not EN injects #GP")]
        [TestCase(ExitReason.Wrmsr, 0x10u, 0UL, TestName = "WRMSR IA32_TIME_STAMP_COUNTER injects #GP")]
        [TestCase(ExitReason.Rdmsr, 0x3Au, 0UL, TestName = "RDMSR IA32_FEATURE_CONTROL injects #GP")]
        public void An_MSR_access_the_platform_refuses_injects_GP_and_does_not_advance_RIP(ExitReason reason, uint msr, ulong value)
        {
            var vm = Create();
            Script(e => e.Instruction(reason, msr, value));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[1].Injected, Is.EqualTo(GpWithErrorCode));
            Assert.That(_entries[1].Rip, Is.EqualTo(0x1000UL));
        }

        [Test]
        public void WRMSR_IA32_TSC_ADJUST_moves_the_TSC_offset_and_the_APIC_timer_with_it()
        {
            var vm = Create();
            var rax = new List<ulong>();
            Script(
                e => e.Instruction(ExitReason.Wrmsr, MsrPolicy.TscAdjust, 1_000_000),
                e => e.Instruction(ExitReason.Rdmsr, MsrPolicy.TscAdjust),
                e => e.Instruction(ExitReason.Rdmsr, MsrPolicy.MiscEnable));
            var guest = _cpu.Vmx.Guest;
            _cpu.Vmx.Guest = (model, vmcs, registers) =>
            {
                rax.Add(registers->Rax);
                guest(model, vmcs, registers);
            };
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[1].TscOffset, Is.EqualTo(1_000_000UL), "VMCS TSC offset (SDM Vol. 3A, 18.17.3)");
            Assert.That(vm.Cpu0.TscOffset, Is.EqualTo(1_000_000UL));
            Assert.That(rax[2], Is.EqualTo(1_000_000UL), "RDMSR IA32_TSC_ADJUST reads it back");
            Assert.That(rax[3], Is.EqualTo(0x1801UL), "IA32_MISC_ENABLE: fast strings, no BTS, no PEBS");
            Assert.That(vm.Cpu0.GuestTsc(5), Is.EqualTo(1_000_005UL));
            Assert.That(vm.Cpu0.ResumedAtOnce, Is.EqualTo(2UL),
                "the WRMSR's exit goes to the run loop (the APIC timer's host deadline moved with the offset), the two RDMSRs' do not");
        }

        [Test]
        public void The_first_MOV_DR_brings_in_the_vCPUs_debug_registers_and_runs_again_without_an_exit()
        {
            var vm = Create();
            var vcpu = vm.Cpu0;
            Assert.That(vcpu.PrimaryControls & VmxControls.ProcMovDrExiting, Is.Not.Zero, "MOV DR exits until the guest's first use");
            Assert.That(vcpu.Msrs.DebugRegistersInUse, Is.False);
            for (int i = 0; i < 4; i++)
                _cpu.DebugRegisters[i] = 0xBAD0 + (ulong)i;     // another vCPU's, left in the processor
            _cpu.DebugRegisters[4] = 0xFFFF_4FF1;              // this guest's DR6 after a single-step #DB (BS, B0)
            Script(e => e.Leave(ExitReason.MovDr, 0x10, 3));    // MOV RAX, DR0 (qualification: DR0, from DR, RAX)
            PartitionHost.Run(vcpu, 0);
            Assert.That(_entries[1].PrimaryControls & VmxControls.ProcMovDrExiting, Is.Zero, "no more MOV-DR exits");
            Assert.That(_entries[1].Rip, Is.EqualTo(_entries[0].Rip), "the MOV runs again: RIP not advanced");
            Assert.That(_cpu.DebugRegisters[..4], Is.All.Zero, "its own DR0-DR3 (0 after reset), not the other vCPU's");
            Assert.That(_cpu.DebugRegisters[4], Is.EqualTo(0xFFFF_4FF1UL), "DR6 was its own already: kept");
            Assert.That(vcpu.Msrs.DebugRegistersInUse, Is.True);
        }

        // ---- IPIs among the partition's vCPUs (VirtualMachine.SendIpi) -----------------------

        [Test]
        public void INIT_and_start_up_IPIs_reach_the_parked_AP_and_an_IPI_to_no_vCPU_is_dropped_and_reported()
        {
            var vm = Create(vcpus: 2);
            var ap = vm.Vcpus[1];
            Assert.That((ap.Activity, ap.WaitingForStartup), Is.EqualTo((VcpuActivity.Parked, true)), "an AP waits for its start-up IPI");
            Script(
                e => e.Instruction(ExitReason.Wrmsr, 0x1B, 0xFEE0_0D00),
                e => e.Instruction(ExitReason.Wrmsr, 0x80F, 0x1FF),
                e => e.Instruction(ExitReason.Wrmsr, 0x830, 1UL << 32 | 0xC500),  // INIT, level, assert, to APIC ID 1
                e => e.Instruction(ExitReason.Wrmsr, 0x830, 1UL << 32 | 0x8500),  // INIT de-assert: nothing
                e => e.Instruction(ExitReason.Wrmsr, 0x830, 1UL << 32 | 0x069A),  // SIPI 0x9A
                e => e.Instruction(ExitReason.Wrmsr, 0x830, 7UL << 32 | 0x0040)); // fixed 0x40 to APIC ID 7: nobody
            PartitionHost.Run(vm.Cpu0, 0);

            Assert.That(ap.Lapic.HasIncoming, Is.True);
            ap.CheckWake(_cpu.Tsc, out int startup);
            Assert.That(startup, Is.EqualTo(0x9A), "the start-up vector for the run loop to start it at 0x9A000");
            Assert.That(vm.Denials.Count(DenialKind.Ipi), Is.EqualTo(1UL));
            Assert.That(_cpu.ConsoleText, Does.Contain("partition alpha: IPI to APIC ID 0x00000007 dropped: no vCPU of this partition has that ID"));
            Assert.That(vm.Denials.Count(DenialKind.Msr), Is.Zero, "every WRMSR was the APIC's");
        }

        [TestCase(0x0000_0000_0008_0041UL, true, true, TestName = "IPI all including self reaches both vCPUs")]
        [TestCase(0x0000_0000_000C_0041UL, false, true, TestName = "IPI all excluding self reaches the other vCPU only")]
        [TestCase(0x0000_0000_0004_0041UL, true, false, TestName = "IPI self reaches the sender only")]
        [TestCase(0x0000_0003_0000_0841UL, true, true, TestName = "IPI to logical 0x00000003 (cluster 0, members 0 and 1) reaches both")]
        [TestCase(0x0000_0002_0000_0841UL, false, true, TestName = "IPI to logical 0x00000002 reaches vCPU 1")]
        [TestCase(0x0000_0001_0000_0041UL, false, true, TestName = "IPI to physical APIC ID 1 reaches vCPU 1")]
        [TestCase(0xFFFF_FFFF_0000_0041UL, true, true, TestName = "IPI to physical 0xFFFFFFFF (broadcast) reaches both")]
        public void Fixed_IPIs_reach_the_vCPUs_their_destination_and_shorthand_name(ulong icr, bool toSelf, bool toOther)
        {
            var vm = Create(vcpus: 2);
            var other = vm.Vcpus[1].Lapic;
            other.WriteMsr(0x1B, 0xFEE0_0C00, 0, out _, out _, out _, out _);
            other.WriteMsr(0x80F, 0x1FF, 0, out _, out _, out _, out _);
            Script(
                e => e.Instruction(ExitReason.Wrmsr, 0x1B, 0xFEE0_0D00),
                e => e.Instruction(ExitReason.Wrmsr, 0x80F, 0x1FF),
                e => e.Interrupts(true).Instruction(ExitReason.Wrmsr, 0x830, icr));
            PartitionHost.Run(vm.Cpu0, 0);
            Assert.That(_entries[3].Injected == (0x41UL | Valid), Is.EqualTo(toSelf), "the sender");
            other.MergeIncoming(out _, out _);
            Assert.That(other.DeliverableVector == 0x41, Is.EqualTo(toOther), "the other vCPU");
        }
    }
}
