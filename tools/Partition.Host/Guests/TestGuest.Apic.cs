using System;
using System.Collections.Generic;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Partition.Host.Guests
{
    /// <summary>
    /// The guest of configs/apic.json: a partition of two vCPUs that uses its virtual local
    /// APICs and times them with RDTSC (in Bochs one tick is one emulated instruction).
    /// vCPU 0 starts vCPU 1 with INIT and a start-up IPI (a small real-mode trampoline at
    /// <see cref="ApicTrampoline"/> takes it to long mode), then measures IPIs between them in
    /// xAPIC mode (the register page at 0xFEE00000) and x2APIC mode (MSRs), the TSC-deadline
    /// and one-shot timers, and the wake-up from HLT. Each figure is printed as
    /// "apic NAME: mean M ticks, min A, max B over N"; then who received which IPI.
    /// </summary>
    public sealed partial class TestGuest
    {
        /// <summary>Where vCPU 0 copies vCPU 1's real-mode start code (start-up vector 0x08).</summary>
        public const ushort ApicTrampoline = 0x8000;

        /// <summary>The timers are armed this many ticks ahead.</summary>
        public const int ApicTimerDelta = 20000;

        public const byte PingVector = 0x40, PongVector = 0x41, TimerVector = 0x50;

        /// <summary>The figures the APIC guest prints, in order: (name, what it measures).</summary>
        public static readonly (string Name, string What)[] ApicFigures =
        {
            ("xapic-ipi", "xAPIC fixed IPI, vCPU 0 to vCPU 1 (spinning, IF=1): ICR write to vCPU 1's handler"),
            ("xapic-ipi-round-trip", "xAPIC ping-pong: vCPU 0's ICR write to its handler of vCPU 1's answer"),
            ("x2apic-ipi", "x2APIC fixed IPI, vCPU 0 to vCPU 1 (spinning, IF=1): WRMSR ICR to vCPU 1's handler"),
            ("x2apic-ipi-round-trip", "x2APIC ping-pong: vCPU 0's WRMSR ICR to its handler of vCPU 1's answer"),
            ("x2apic-ipi-to-halted", "x2APIC fixed IPI to vCPU 1 waiting in HLT (IF=1): WRMSR ICR to its handler"),
            ("x2apic-ipi-to-idle", "x2APIC fixed IPI to vCPU 1 after 2 ms in HLT (IF=1): WRMSR ICR to its handler"),
            ("tsc-deadline-timer", "TSC-deadline timer: deadline to the handler"),
            ("one-shot-timer", "one-shot timer (initial count, divide by 1): TSC before the WRMSR + count to the handler"),
            ("hlt-wakeup", "HLT (IF=1) until the TSC-deadline timer: deadline to the instruction after HLT"),
        };

        /// <summary>The APIC guest, each figure over <paramref name="iterations"/> measurements.</summary>
        public static byte[] ApicGuest(ulong origin, ushort uart, int iterations)
        {
            var addresses = new Dictionary<string, ulong>();
            var first = new TestGuest(64, uart, name => addresses.GetValueOrDefault(name, origin));
            first.EmitApicGuest(iterations);
            first.Assemble(origin, addresses);
            var second = new TestGuest(64, uart, name => addresses[name]);
            second.EmitApicGuest(iterations);
            return second.Assemble(origin, new Dictionary<string, ulong>());
        }

        private const uint XapicBase = 0xFEE0_0000;
        private const uint X2apicIcr = 0x830, X2apicEoi = 0x80B, X2apicSvr = 0x80F, X2apicLvtTimer = 0x832,
            X2apicInitialCount = 0x838, X2apicDivide = 0x83E, MsrTscDeadline = 0x6E0, MsrApicBase = 0x1B;
        private const ulong ApStack = 0x3E_0000;

        /// <summary>What vCPU 1 puts into DR0 on its first start.</summary>
        public const ulong ApDr0Pattern = 0x0000_1234_5678_9000;
        private const int WaitLimit = 20_000_000;

        private void EmitApicGuest(int iterations)
        {
            var a = _a;
            Text("hello", $"APIC guest: {iterations} measurements per figure\n");
            Text("apStarted", "vCPU 1 started by INIT and SIPI, in long mode\n");
            Text("x2apic", "both vCPUs in x2APIC mode\n");
            Text("done", "apic done\n");
            Text("restarted", "vCPU 1 restarted by INIT and SIPI: DR0 reads ");
            Text("dr0Expected", " (0 after INIT, SDM Vol. 3A table 10-1; before it, ");
            Text("close", ")\n");
            Text("figure", "apic ");
            Text("mean", ": mean ");
            Text("min", " ticks, min ");
            Text("max", ", max ");
            Text("over", " over ");
            Text("newline", "\n");
            Text("delivery", "IPI delivery: ");
            Text("pingTo1", " pings sent to APIC ID 1 (vector 0x40): vCPU 0 took ");
            Text("vcpu1Took", ", vCPU 1 took ");
            Text("pongsTo0", " pongs sent to APIC ID 0 (vector 0x41): vCPU 0 took ");
            Text("exception", "unexpected exception ");
            Text("onVcpu", " on vCPU ");
            Text("timeout", "TIMEOUT waiting for ");
            Data("number", new byte[24]);
            foreach (string v in new[] { "apReady", "phase", "apPhase", "apHalts", "pongWanted", "x2apicMode",
                         "pingAt0", "pingAt1", "pongAt0", "pongAt1", "pingsSent", "pongsSent",
                         "apFlag", "apTsc", "bspFlag", "bspTsc", "timerFlag", "timerTsc", "apStarts", "apDr0" })
                Data(v, new byte[8]);
            Data("gdt", Qwords(0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF));
            Data("gdtr", Gdtr(_address("gdt")));
            Data("idt0", Idt(0));
            Data("idtr0", Idtr(_address("idt0")));
            Data("idt1", Idt(1));
            Data("idtr1", Idtr(_address("idt1")));
            Data("trampoline", Trampoline((uint)_address("ap64")));

            // vCPU 0: its own GDT (interrupt delivery and IRETQ load CS and SS from it) and IDT.
            a.lgdt(__[LabelOf("gdtr")]);
            a.lidt(__[LabelOf("idtr0")]);
            Print("hello");
            XapicWrite(0xF0, 0x1FF); // SVR: software-enabled, spurious vector 0xFF

            // Start vCPU 1: the trampoline below 1 MiB, told this CR3; INIT, then SIPI vector 0x08.
            a.lea(rsi, __[LabelOf("trampoline")]);
            a.mov(edi, ApicTrampoline);
            a.mov(ecx, TrampolineSize);
            a.rep.movsb();
            a.mov(rax, cr3);
            a.mov(edi, ApicTrampoline + TrampolineCr3);
            a.mov(__dword_ptr[rdi], eax);
            XapicIpi(1, 0x0000_4500); // INIT, level assert
            XapicIpi(1, 0x0000_4600 | (uint)(ApicTrampoline >> 12)); // start-up
            WaitFor("apReady", "vCPU 1 to start");
            Print("apStarted");

            // xAPIC: ping (vCPU 1's handler takes the TSC) and pong (vCPU 0's handler does).
            a.mov(__byte_ptr[LabelOf("pongWanted")], 1);
            Measure(iterations, "xapic-ipi", "xapic-ipi-round-trip", x2apic: false);

            // Both to x2APIC: each vCPU switches its own APIC (IA32_APIC_BASE.EXTD).
            a.mov(ecx, MsrApicBase);
            a.rdmsr();
            a.or(eax, 1 << 10);
            a.wrmsr();
            a.mov(__byte_ptr[LabelOf("x2apicMode")], 1);
            a.mov(__byte_ptr[LabelOf("phase")], 1);
            WaitFor("apPhase", "vCPU 1 to switch to x2APIC");
            Print("x2apic");
            Measure(iterations, "x2apic-ipi", "x2apic-ipi-round-trip", x2apic: true);

            // vCPU 1 waits in HLT with interrupts on; one-way only.
            a.mov(__byte_ptr[LabelOf("pongWanted")], 0);
            a.mov(__byte_ptr[LabelOf("apHalts")], 1);
            Measure(iterations, "x2apic-ipi-to-halted", null, x2apic: true);
            // The same after vCPU 1 has waited a while: its core is idle, or runs a neighbour.
            Measure(iterations, "x2apic-ipi-to-idle", null, x2apic: true, settleTicks: ApicTimerDelta);
            a.mov(__byte_ptr[LabelOf("apHalts")], 0);

            // Timers (x2APIC registers).
            WriteMsr(X2apicLvtTimer, TimerVector | 2u << 17); // TSC-deadline mode
            TimerLoop(iterations, "tsc-deadline-timer", oneShot: false, halt: false);
            WriteMsr(X2apicDivide, 0xB); // divide by 1
            WriteMsr(X2apicLvtTimer, TimerVector); // one-shot mode
            TimerLoop(iterations, "one-shot-timer", oneShot: true, halt: false);
            WriteMsr(X2apicLvtTimer, TimerVector | 2u << 17);
            TimerLoop(iterations, "hlt-wakeup", oneShot: false, halt: true);

            // One more ping, so that a vCPU 1 that went back to HLT sees the last phase, then the tally.
            a.mov(__byte_ptr[LabelOf("apFlag")], 0);
            a.mov(__byte_ptr[LabelOf("phase")], 2);
            SendPing(x2apic: true);
            WaitFor("apFlag", "vCPU 1's ping handler");
            Print("delivery");
            PrintVariable("pingsSent");
            Print("pingTo1");
            PrintVariable("pingAt0");
            Print("vcpu1Took");
            PrintVariable("pingAt1");
            Print("newline");
            // Two lines: a partition's console line holds 160 characters.
            Print("delivery");
            PrintVariable("pongsSent");
            Print("pongsTo0");
            PrintVariable("pongAt0");
            Print("vcpu1Took");
            PrintVariable("pongAt1");
            Print("newline");
            // INIT and SIPI again, to a vCPU 1 that set DR0 on its first start: INIT must clear
            // DR0-DR3 (the hypervisor switches them lazily; they must not survive in the processor).
            WaitAWhile();
            a.mov(__byte_ptr[LabelOf("apReady")], 0);
            SendX2apicIpi(1, 0x0000_4500);
            SendX2apicIpi(1, 0x0000_4600 | (uint)(ApicTrampoline >> 12));
            WaitFor("apReady", "vCPU 1 to start again");
            Print("restarted");
            a.mov(rax, __qword_ptr[LabelOf("apDr0")]);
            a.call(LabelOf("printHex"));
            Print("dr0Expected");
            a.mov(rax, ApDr0Pattern);
            a.call(LabelOf("printHex"));
            Print("close");
            Print("done");
            a.cli();
            a.hlt();

            EmitApicAp();
            EmitApicHandlers();
            EmitPrintHex();
            EmitPrintNumber();
            EmitPrintRoutineAndData();
        }

        // vCPU 1 in long mode (from the trampoline): segments, stack, IDT, APIC enabled; then it
        // idles with interrupts on, spinning or in HLT as vCPU 0 asks, and switches to x2APIC
        // when told. At the last phase it halts with interrupts off.
        private void EmitApicAp(bool setLogicalId = false)
        {
            var a = _a;
            var ap64 = LabelOf("ap64");
            a.Label(ref ap64);
            _labels["ap64"] = ap64;
            a.mov(eax, 0x10);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.mov(ss, ax);
            a.mov(rsp, ApStack);
            a.lgdt(__[LabelOf("gdtr")]);
            a.lidt(__[LabelOf("idtr1")]);
            // First start: a breakpoint address in DR0 (not enabled in DR7); later starts (after
            // INIT) keep what DR0 reads.
            var firstStart = a.CreateLabel();
            var started = a.CreateLabel();
            a.inc(__qword_ptr[LabelOf("apStarts")]);
            a.cmp(__qword_ptr[LabelOf("apStarts")], 1);
            a.je(firstStart);
            a.mov(rax, dr0);
            a.mov(__qword_ptr[LabelOf("apDr0")], rax);
            a.jmp(started);
            a.Label(ref firstStart);
            a.mov(rax, ApDr0Pattern);
            a.mov(dr0, rax);
            a.Label(ref started);
            XapicWrite(0xF0, 0x1FF);
            if (setLogicalId)
                XapicWrite(0xD0, 2u << 24); // LDR: bit 1 in the flat model
            a.mov(__byte_ptr[LabelOf("apReady")], 1);

            var idle = a.CreateLabel();
            var notSwitch = a.CreateLabel();
            var spin = a.CreateLabel();
            var last = a.CreateLabel();
            a.Label(ref idle);
            a.sti();
            a.cmp(__byte_ptr[LabelOf("phase")], 2);
            a.je(last);
            a.cmp(__byte_ptr[LabelOf("phase")], 1);
            a.jne(notSwitch);
            a.cmp(__byte_ptr[LabelOf("apPhase")], 1);
            a.je(notSwitch);
            a.cli();
            a.mov(ecx, MsrApicBase);
            a.rdmsr();
            a.or(eax, 1 << 10);
            a.wrmsr();
            a.mov(__byte_ptr[LabelOf("apPhase")], 1);
            a.jmp(idle);
            a.Label(ref notSwitch);
            a.cmp(__byte_ptr[LabelOf("apHalts")], 0);
            a.je(spin);
            a.hlt(); // IF = 1: until an interrupt
            a.jmp(idle);
            a.Label(ref spin);
            a.pause();
            a.jmp(idle);
            a.Label(ref last);
            a.cli();
            a.hlt();
        }

        // The handlers of both IDTs. vCPU 1's ping handler takes the TSC and answers with a pong
        // when asked; vCPU 0's pong handler takes the TSC. Each counts what it took, so that an
        // IPI to the wrong vCPU shows. Exceptions print their vector and halt.
        private void EmitApicHandlers()
        {
            var a = _a;
            for (int cpu = 0; cpu < 2; cpu++)
            {
                Handler($"ping{cpu}", () =>
                {
                    a.inc(__qword_ptr[LabelOf($"pingAt{cpu}")]);
                    if (cpu == 1)
                    {
                        var noPong = a.CreateLabel();
                        a.mov(__qword_ptr[LabelOf("apTsc")], rax);
                        a.mov(__byte_ptr[LabelOf("apFlag")], 1);
                        a.cmp(__byte_ptr[LabelOf("pongWanted")], 0);
                        a.je(noPong);
                        IpiFromHandler(0, PongVector);
                        a.inc(__qword_ptr[LabelOf("pongsSent")]);
                        a.Label(ref noPong);
                    }
                });
                Handler($"pong{cpu}", () =>
                {
                    a.inc(__qword_ptr[LabelOf($"pongAt{cpu}")]);
                    if (cpu == 0)
                    {
                        a.mov(__qword_ptr[LabelOf("bspTsc")], rax);
                        a.mov(__byte_ptr[LabelOf("bspFlag")], 1);
                    }
                });
                Handler($"timer{cpu}", () =>
                {
                    a.mov(__qword_ptr[LabelOf("timerTsc")], rax);
                    a.mov(__byte_ptr[LabelOf("timerFlag")], 1);
                });
            }
            EmitExceptionStubs();
        }

        // Exception stubs of both vCPUs, the report they jump to, and the timeout report of WaitFor.
        private void EmitExceptionStubs()
        {
            var a = _a;
            for (int cpu = 0; cpu < 2; cpu++)
                for (int vector = 0; vector < 32; vector++)
                {
                    var stub = LabelOf($"exception{cpu}_{vector}");
                    a.Label(ref stub);
                    _labels[$"exception{cpu}_{vector}"] = stub;
                    a.mov(ebx, vector);
                    a.mov(r15d, cpu);
                    a.jmp(LabelOf("exceptionCommon"));
                }
            EmitExceptionCommon();
        }

        private void EmitExceptionCommon()
        {
            var a = _a;
            var common = LabelOf("exceptionCommon");
            a.Label(ref common);
            _labels["exceptionCommon"] = common;
            Print("exception");
            a.mov(rax, rbx);
            a.call(LabelOf("printHex"));
            Print("onVcpu");
            a.mov(rax, r15);
            a.call(LabelOf("printNumber"));
            Print("newline");
            a.cli();
            a.hlt();

            var fatal = LabelOf("timedOut");
            a.Label(ref fatal);
            _labels["timedOut"] = fatal;
            a.push(rsi);
            Print("timeout");
            a.pop(rsi);
            a.call(LabelOf("print"));
            Print("newline");
            a.cli();
            a.hlt();
        }

        // An interrupt handler: the TSC first (in RAX), then the body, then EOI in the APIC's
        // current mode. RAX, RCX and RDX are saved.
        private void Handler(string name, Action body)
        {
            var a = _a;
            var label = LabelOf(name);
            a.Label(ref label);
            _labels[name] = label;
            var xapic = a.CreateLabel();
            var eoiDone = a.CreateLabel();
            a.push(rax);
            a.push(rcx);
            a.push(rdx);
            a.rdtsc();
            a.shl(rdx, 32);
            a.or(rax, rdx);
            body();
            a.cmp(__byte_ptr[LabelOf("x2apicMode")], 0);
            a.je(xapic);
            a.mov(ecx, X2apicEoi);
            a.xor(eax, eax);
            a.xor(edx, edx);
            a.wrmsr();
            a.jmp(eoiDone);
            a.Label(ref xapic);
            a.mov(eax, XapicBase + 0xB0);
            a.mov(__dword_ptr[rax], 0);
            a.Label(ref eoiDone);
            a.pop(rdx);
            a.pop(rcx);
            a.pop(rax);
            a.iretq();
        }

        // A fixed IPI from a handler (RAX, RCX, RDX free), in the APIC's current mode.
        private void IpiFromHandler(uint destination, byte vector)
        {
            var a = _a;
            var xapic = a.CreateLabel();
            var sent = a.CreateLabel();
            a.cmp(__byte_ptr[LabelOf("x2apicMode")], 0);
            a.je(xapic);
            a.mov(ecx, X2apicIcr);
            a.mov(eax, (uint)vector);
            a.mov(edx, destination);
            a.wrmsr();
            a.jmp(sent);
            a.Label(ref xapic);
            a.mov(eax, XapicBase);
            a.mov(__dword_ptr[rax + 0x310], destination << 24);
            a.mov(__dword_ptr[rax + 0x300], (uint)vector);
            a.Label(ref sent);
        }

        // One measurement loop of IPIs from vCPU 0 to vCPU 1: R12 the one-way sum, R13/R14 its
        // min/max; RBP the round-trip sum, R8/R9 its min/max; R15 counts down; RBX the send's TSC.
        // With settleTicks, each ping waits that long first (vCPU 1 settles into its HLT).
        private void Measure(int iterations, string oneWay, string? roundTrip, bool x2apic, int settleTicks = 0)
        {
            var a = _a;
            var loop = a.CreateLabel();
            StartStatistics(r12, r13, r14);
            StartStatistics(rbp, r8, r9);
            a.mov(r15d, iterations);
            a.Label(ref loop);
            a.mov(__byte_ptr[LabelOf("apFlag")], 0);
            a.mov(__byte_ptr[LabelOf("bspFlag")], 0);
            if (settleTicks != 0)
            {
                var settle = a.CreateLabel();
                ReadTsc();
                a.lea(r10, __[rax + settleTicks]);
                a.Label(ref settle);
                ReadTsc();
                a.cmp(rax, r10);
                a.jb(settle);
            }
            ReadTsc();
            a.mov(rbx, rax);
            SendPing(x2apic);
            a.sti();
            WaitFor("apFlag", "vCPU 1's ping handler");
            if (roundTrip != null)
                WaitFor("bspFlag", "vCPU 0's pong handler");
            a.cli();
            a.mov(rax, __qword_ptr[LabelOf("apTsc")]);
            a.sub(rax, rbx);
            Accumulate(r12, r13, r14);
            if (roundTrip != null)
            {
                a.mov(rax, __qword_ptr[LabelOf("bspTsc")]);
                a.sub(rax, rbx);
                Accumulate(rbp, r8, r9);
            }
            a.dec(r15d);
            a.jnz(loop);
            PrintFigure(oneWay, iterations, r12, r13, r14);
            if (roundTrip != null)
                PrintFigure(roundTrip, iterations, rbp, r8, r9);
        }

        // Timer expiries: RBX is the deadline (or, one-shot, the TSC before the WRMSR plus the count).
        private void TimerLoop(int iterations, string name, bool oneShot, bool halt)
        {
            var a = _a;
            var loop = a.CreateLabel();
            StartStatistics(r12, r13, r14);
            a.mov(r15d, iterations);
            a.Label(ref loop);
            a.mov(__byte_ptr[LabelOf("timerFlag")], 0);
            ReadTsc();
            a.add(rax, ApicTimerDelta);
            a.mov(rbx, rax);
            if (oneShot)
            {
                a.mov(ecx, X2apicInitialCount);
                a.mov(eax, ApicTimerDelta);
                a.xor(edx, edx);
            }
            else
            {
                a.mov(rdx, rax);
                a.shr(rdx, 32);
                a.mov(ecx, MsrTscDeadline);
            }
            a.wrmsr();
            if (halt)
            {
                a.sti();
                a.hlt();
                ReadTsc();
                a.cli();
                a.sub(rax, rbx);
            }
            else
            {
                a.sti();
                WaitFor("timerFlag", "the timer interrupt");
                a.cli();
                a.mov(rax, __qword_ptr[LabelOf("timerTsc")]);
                a.sub(rax, rbx);
            }
            Accumulate(r12, r13, r14);
            a.dec(r15d);
            a.jnz(loop);
            PrintFigure(name, iterations, r12, r13, r14);
        }

        private void SendPing(bool x2apic)
        {
            var a = _a;
            a.inc(__qword_ptr[LabelOf("pingsSent")]);
            if (x2apic)
            {
                a.mov(ecx, X2apicIcr);
                a.mov(eax, (uint)PingVector);
                a.mov(edx, 1);
                a.wrmsr();
            }
            else
            {
                XapicIpi(1, PingVector);
            }
        }

        private void StartStatistics(AssemblerRegister64 sum, AssemblerRegister64 min, AssemblerRegister64 max)
        {
            _a.xor(sum, sum);
            _a.mov(min, ulong.MaxValue);
            _a.xor(max, max);
        }

        private void Accumulate(AssemblerRegister64 sum, AssemblerRegister64 min, AssemblerRegister64 max)
        {
            _a.add(sum, rax);
            _a.cmp(rax, min);
            _a.cmovb(min, rax);
            _a.cmp(rax, max);
            _a.cmova(max, rax);
        }

        // "apic NAME: mean M ticks, min A, max B over N\n".
        private void PrintFigure(string name, int iterations, AssemblerRegister64 sum, AssemblerRegister64 min, AssemblerRegister64 max)
        {
            var a = _a;
            Text("name_" + name, name);
            Print("figure");
            Print("name_" + name);
            Print("mean");
            a.mov(rax, sum);
            a.xor(edx, edx);
            a.mov(ecx, iterations);
            a.div(rcx);
            a.call(LabelOf("printNumber"));
            Print("min");
            a.mov(rax, min);
            a.call(LabelOf("printNumber"));
            Print("max");
            a.mov(rax, max);
            a.call(LabelOf("printNumber"));
            Print("over");
            a.mov(eax, iterations);
            a.call(LabelOf("printNumber"));
            Print("newline");
        }

        private void PrintVariable(string name)
        {
            _a.mov(rax, __qword_ptr[LabelOf(name)]);
            _a.call(LabelOf("printNumber"));
        }

        private void ReadTsc()
        {
            _a.rdtsc();
            _a.shl(rdx, 32);
            _a.or(rax, rdx);
        }

        private void WriteMsr(uint msr, uint value)
        {
            _a.mov(ecx, msr);
            _a.mov(eax, value);
            _a.xor(edx, edx);
            _a.wrmsr();
        }

        // A store to the xAPIC page (an EPT violation the hypervisor emulates).
        private void XapicWrite(uint offset, uint value)
        {
            _a.mov(eax, XapicBase);
            _a.mov(__dword_ptr[rax + (int)offset], value);
        }

        // ICR high (destination in bits 31:24), then ICR low, which sends.
        private void XapicIpi(uint destination, uint icrLow)
        {
            _a.mov(eax, XapicBase);
            _a.mov(ecx, destination << 24);
            _a.mov(__dword_ptr[rax + 0x310], ecx);
            _a.mov(ecx, icrLow);
            _a.mov(__dword_ptr[rax + 0x300], ecx);
        }

        // Waits, bounded, until the byte variable is non-zero; on a timeout says what it waited for and halts.
        private void WaitFor(string flag, string what)
        {
            var a = _a;
            var loop = a.CreateLabel();
            var done = a.CreateLabel();
            string text = "waitingFor_" + what;
            if (!_data.Exists(d => d.Name == text))
                Text(text, what);
            a.mov(ecx, WaitLimit);
            a.Label(ref loop);
            a.cmp(__byte_ptr[LabelOf(flag)], 0);
            a.jne(done);
            a.pause();
            a.dec(ecx);
            a.jnz(loop);
            a.lea(rsi, __[LabelOf(text)]);
            a.jmp(LabelOf("timedOut"));
            a.Label(ref done);
        }

        private static byte[] Gdtr(ulong gdt)
        {
            var bytes = new byte[10];
            BitConverter.TryWriteBytes(bytes.AsSpan(0, 2), (ushort)(3 * 8 - 1));
            BitConverter.TryWriteBytes(bytes.AsSpan(2, 8), gdt);
            return bytes;
        }

        private static byte[] Idtr(ulong idt)
        {
            var bytes = new byte[10];
            BitConverter.TryWriteBytes(bytes.AsSpan(0, 2), (ushort)(256 * 16 - 1));
            BitConverter.TryWriteBytes(bytes.AsSpan(2, 8), idt);
            return bytes;
        }

        // A vCPU's IDT: 64-bit interrupt gates, selector 0x08 (SDM Vol. 3A, 6.14.1), for the
        // exceptions and the three vectors used; the rest not present.
        private byte[] Idt(int cpu) =>
            Idt(cpu, (PingVector, $"ping{cpu}"), (PongVector, $"pong{cpu}"), (TimerVector, $"timer{cpu}"));

        // The exception stubs "exception{cpu}_{vector}", then the given gates (which may replace an exception's).
        private byte[] Idt(int cpu, params (int Vector, string Handler)[] gates)
        {
            var bytes = new byte[256 * 16];
            void Gate(int vector, ulong handler)
            {
                var gate = bytes.AsSpan(vector * 16, 16);
                BitConverter.TryWriteBytes(gate.Slice(0, 2), (ushort)handler);
                BitConverter.TryWriteBytes(gate.Slice(2, 2), (ushort)0x08);
                BitConverter.TryWriteBytes(gate.Slice(4, 2), (ushort)0x8E00);
                BitConverter.TryWriteBytes(gate.Slice(6, 2), (ushort)(handler >> 16));
                BitConverter.TryWriteBytes(gate.Slice(8, 4), (uint)(handler >> 32));
            }
            for (int vector = 0; vector < 32; vector++)
                Gate(vector, _address($"exception{cpu}_{vector}"));
            foreach (var (vector, handler) in gates)
                Gate(vector, _address(handler));
            return bytes;
        }

        private const int TrampolineSize = 0x130, TrampolineGdt = 0x100, TrampolineGdtr = 0x118, TrampolineCr3 = 0x120;

        /// <summary>
        /// vCPU 1's start-up code, run in real mode at <see cref="ApicTrampoline"/> (CS = 0x0800,
        /// IP = 0): its own GDT, PAE, vCPU 0's CR3 (written into the copy), EFER.LME, then PE and
        /// PG together (NE too, as Linux's trampoline does) and a far jump to 64-bit code at
        /// <paramref name="longModeEntry"/>. Code first, the GDT and CR3 at fixed offsets.
        /// </summary>
        private static byte[] Trampoline(uint longModeEntry)
        {
            var t = new Assembler(16);
            const uint at = ApicTrampoline;
            t.cli();
            t.xor(ax, ax);
            t.mov(ds, ax);
            t.lgdt(__[at + TrampolineGdtr]);
            t.mov(eax, cr4);
            t.or(eax, 1 << 5); // PAE
            t.mov(cr4, eax);
            t.mov(eax, __dword_ptr[at + TrampolineCr3]);
            t.mov(cr3, eax);
            t.mov(ecx, 0xC000_0080); // IA32_EFER
            t.rdmsr();
            t.or(eax, 1 << 8); // LME
            t.wrmsr();
            t.mov(eax, cr0);
            t.or(eax, unchecked((int)0x8000_0021)); // PG, NE, PE
            t.mov(cr0, eax);
            t.db(0x66, 0xEA); // jmp far ptr16:32
            t.dd(longModeEntry);
            t.dw(0x08);
            var stream = new System.IO.MemoryStream();
            t.Assemble(new StreamCodeWriter(stream), at);
            var code = stream.ToArray();
            if (code.Length > TrampolineGdt)
                throw new InvalidOperationException("the trampoline's code runs into its data");
            var image = new byte[TrampolineSize];
            code.CopyTo(image, 0);
            Qwords(0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF).CopyTo(image, TrampolineGdt);
            BitConverter.TryWriteBytes(image.AsSpan(TrampolineGdtr, 2), (ushort)(3 * 8 - 1));
            BitConverter.TryWriteBytes(image.AsSpan(TrampolineGdtr + 2, 4), at + TrampolineGdt);
            return image;
        }
    }
}
