using System.Collections.Generic;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Partition.Host.Guests
{
    /// <summary>
    /// The attacker of configs/ipi-attack.json: a partition of two vCPUs that sends INIT,
    /// start-up, NMI and fixed IPIs to every APIC ID outside itself (2-255), through the xAPIC
    /// page and the x2APIC ICR, in physical and logical destination mode; then checks that none
    /// came back to its own vCPUs, and that IPIs addressed to its own vCPUs (by ID, logical ID,
    /// broadcast and every shorthand) still reach exactly them.
    /// </summary>
    public sealed partial class TestGuest
    {
        /// <summary>IPIs the attacker sends to APIC IDs outside its partition, each refused and counted by the hypervisor.</summary>
        public const int IpiAttackCount =
            4 * (253 + 6)          // xAPIC: physical 2-254 (0xFF is the broadcast), logical flat bits 2-7
            + 4 * (254 + 14 + 15); // x2APIC: physical 2-255, logical cluster 0 bits 2-15, clusters 1-15

        /// <summary>What the attacker's own vCPUs must have taken from the IPIs addressed to them (see <see cref="EmitIpiAttack"/>).</summary>
        public const int OwnFixedAt0 = 10, OwnFixedAt1 = 20, OwnOtherAt0 = 4, OwnOtherAt1 = 4, OwnNmiAt0 = 0, OwnNmiAt1 = 1;

        private const byte OtherVector = 0x41;

        public static byte[] IpiAttacker(ulong origin, ushort uart)
        {
            var addresses = new Dictionary<string, ulong>();
            var first = new TestGuest(64, uart, name => addresses.GetValueOrDefault(name, origin));
            first.EmitIpiAttack();
            first.Assemble(origin, addresses);
            var second = new TestGuest(64, uart, name => addresses[name]);
            second.EmitIpiAttack();
            return second.Assemble(origin, new Dictionary<string, ulong>());
        }

        private void EmitIpiAttack()
        {
            var a = _a;
            Text("hello", "IPI attacker: two vCPUs, attacking APIC IDs 2-255\n");
            Text("apStarted", "vCPU 1 started by INIT and SIPI\n");
            Text("made", "attack made: ");
            Text("madeEnd", " IPIs to APIC IDs 2-255 (INIT, SIPI, NMI, fixed; xAPIC and x2APIC; physical and logical)\n");
            Text("after", "after the attack: ");
            Text("own", "own IPIs: ");
            Text("vcpu0", "vCPU 0 took ");
            Text("vcpu1", "; vCPU 1 took ");
            Text("fixed", " fixed, ");
            Text("other", " broadcast/shorthand, ");
            Text("nmis", " NMIs");
            Text("newline", "\n");
            Text("done", "ipi attack done\n");
            Text("exception", "unexpected exception ");
            Text("onVcpu", " on vCPU ");
            Text("timeout", "TIMEOUT waiting for ");
            Data("number", new byte[24]);
            foreach (string v in new[] { "apReady", "phase", "apPhase", "apHalts", "x2apicMode",
                         "fixed0", "fixed1", "other0", "other1", "nmi0", "nmi1", "apStarts", "apDr0" })
                Data(v, new byte[8]);
            Data("gdt", Qwords(0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF));
            Data("gdtr", Gdtr(_address("gdt")));
            for (int cpu = 0; cpu < 2; cpu++)
            {
                Data($"idt{cpu}", Idt(cpu, (2, $"nmi{cpu}Handler"), (PingVector, $"fixed{cpu}Handler"), (OtherVector, $"other{cpu}Handler")));
                Data($"idtr{cpu}", Idtr(_address($"idt{cpu}")));
            }
            Data("trampoline", Trampoline((uint)_address("ap64")));

            a.lgdt(__[LabelOf("gdtr")]);
            a.lidt(__[LabelOf("idtr0")]);
            Print("hello");
            XapicWrite(0xF0, 0x1FF);
            XapicWrite(0xD0, 1u << 24); // LDR: bit 0 in the flat model (vCPU 1 takes bit 1)
            a.lea(rsi, __[LabelOf("trampoline")]);
            a.mov(edi, ApicTrampoline);
            a.mov(ecx, TrampolineSize);
            a.rep.movsb();
            a.mov(rax, cr3);
            a.mov(edi, ApicTrampoline + TrampolineCr3);
            a.mov(__dword_ptr[rdi], eax);
            XapicIpi(1, 0x0000_4500);
            XapicIpi(1, 0x0000_4600 | (uint)(ApicTrampoline >> 12));
            WaitFor("apReady", "vCPU 1 to start");
            Print("apStarted");
            a.sti(); // an IPI that came back to this vCPU would be taken, and counted

            // R13 counts the IPIs sent outside; R12 walks the destinations.
            uint[] kinds = { 0x4500, 0x4608, 0x0400, PingVector }; // INIT, SIPI, NMI, fixed (physical)
            const uint logical = 1u << 11;
            a.xor(r13d, r13d);
            XapicAttack(2, 254, kinds);                      // physical 2-254
            foreach (uint kind in kinds)                     // logical flat: bits 2-7
                for (int bit = 2; bit < 8; bit++)
                {
                    XapicIpi(1u << bit, kind | logical);
                    a.inc(r13);
                }
            // The xAPIC physical broadcast (0xFF): this partition's two vCPUs only.
            XapicIpi(0xFF, OtherVector);

            a.mov(ecx, MsrApicBase);
            a.rdmsr();
            a.or(eax, 1 << 10);
            a.wrmsr();
            a.mov(__byte_ptr[LabelOf("x2apicMode")], 1);
            a.mov(__byte_ptr[LabelOf("phase")], 1);
            WaitFor("apPhase", "vCPU 1 to switch to x2APIC");
            X2apicAttack(2, 255, kinds);               // physical 2-255
            X2apicAttack(2, 15, kinds, logical, cluster: 0); // cluster 0, bits 2-15 (one bit each)
            X2apicAttack(1, 15, kinds, logical, cluster: 1); // clusters 1-15, every member
            WaitAWhile();
            Print("made");
            a.mov(rax, r13);
            a.call(LabelOf("printNumber"));
            Print("madeEnd");
            // None of those may have reached this partition: only the broadcast above has.
            Print("after");
            PrintTally();

            // IPIs to its own vCPUs (x2APIC), adding up to OwnFixedAt0 and the rest. Each waits
            // until its handlers have run: a second IPI of a vector already pending in a local
            // APIC's IRR merges with it (SDM Vol. 3A, 11.8.4), and would not be counted.
            for (int i = 0; i < 10; i++)
            {
                SendAndWait(1, PingVector, "fixed1");                      // vCPU 1 by APIC ID
                SendAndWait(0, PingVector, "fixed0");                      // itself by APIC ID
                SendAndWait(1u << 1, PingVector | logical, "fixed1");      // vCPU 1 by logical ID (cluster 0, bit 1)
            }
            SendAndWait(0, OtherVector | 3u << 18, "other1");              // all excluding self: vCPU 1
            SendAndWait(0, OtherVector | 2u << 18, "other1", "other0");    // all including self: both
            SendAndWait(0, OtherVector | 1u << 18, "other0");              // self
            SendAndWait(1, 0x0400, "nmi1");                                // NMI to vCPU 1
            SendAndWait(0xFFFF_FFFF, OtherVector, "other1", "other0");     // broadcast: both
            WaitAWhile();
            Print("own");
            PrintTally();

            a.mov(__byte_ptr[LabelOf("phase")], 2);
            SendX2apicIpi(1, OtherVector); // wakes nothing that sleeps, but makes sure vCPU 1 looks at the phase
            Print("done");
            a.cli();
            a.hlt();

            EmitApicAp(setLogicalId: true);
            for (int cpu = 0; cpu < 2; cpu++)
            {
                string n = cpu.ToString();
                Handler($"nmi{n}Handler", () => a.inc(__qword_ptr[LabelOf("nmi" + n)]));
                Handler($"fixed{n}Handler", () => a.inc(__qword_ptr[LabelOf("fixed" + n)]));
                Handler($"other{n}Handler", () => a.inc(__qword_ptr[LabelOf("other" + n)]));
            }
            EmitExceptionStubs();
            EmitPrintHex();
            EmitPrintNumber();
            EmitPrintRoutineAndData();
        }

        // xAPIC: each kind to each physical destination first..last (R12 walks them).
        private void XapicAttack(uint first, uint last, uint[] kinds)
        {
            var a = _a;
            var loop = a.CreateLabel();
            a.mov(r12d, first);
            a.Label(ref loop);
            foreach (uint kind in kinds)
            {
                a.mov(eax, XapicBase);
                a.mov(ecx, r12d);
                a.shl(ecx, 24);
                a.mov(__dword_ptr[rax + 0x310], ecx);
                a.mov(__dword_ptr[rax + 0x300], kind);
                a.inc(r13);
            }
            a.inc(r12d);
            a.cmp(r12d, last);
            a.jbe(loop);
        }

        // x2APIC: each kind to destinations first..last (R12): physical IDs, or with a cluster
        // (0: one member bit R12 of cluster 0; 1: every member of cluster R12).
        private void X2apicAttack(uint first, uint last, uint[] kinds, uint logicalBit = 0, int cluster = -1)
        {
            var a = _a;
            var loop = a.CreateLabel();
            a.mov(r12d, first);
            a.Label(ref loop);
            foreach (uint kind in kinds)
            {
                if (cluster == 0)
                {
                    a.mov(edx, 1);
                    a.mov(ecx, r12d);
                    a.shl(edx, cl);
                }
                else if (cluster == 1)
                {
                    a.mov(edx, r12d);
                    a.shl(edx, 16);
                    a.or(edx, 0xFFFF);
                }
                else
                {
                    a.mov(edx, r12d);
                }
                a.mov(ecx, X2apicIcr);
                a.mov(eax, kind | logicalBit);
                a.wrmsr();
                a.inc(r13);
            }
            a.inc(r12d);
            a.cmp(r12d, last);
            a.jbe(loop);
        }

        private void SendX2apicIpi(uint destination, uint low)
        {
            _a.mov(ecx, X2apicIcr);
            _a.mov(eax, low);
            _a.mov(edx, destination);
            _a.wrmsr();
        }

        // An x2APIC IPI, then a bounded wait until each counter named has moved (RBX, RBP hold their old values).
        private void SendAndWait(uint destination, uint low, string counter, string? second = null)
        {
            var a = _a;
            a.mov(rbx, __qword_ptr[LabelOf(counter)]);
            if (second != null)
                a.mov(rbp, __qword_ptr[LabelOf(second)]);
            SendX2apicIpi(destination, low);
            WaitForChange(counter, rbx);
            if (second != null)
                WaitForChange(second, rbp);
        }

        private void WaitForChange(string counter, AssemblerRegister64 old)
        {
            var a = _a;
            var loop = a.CreateLabel();
            var done = a.CreateLabel();
            string text = "waitingFor_" + counter;
            if (!_data.Exists(d => d.Name == text))
                Text(text, "an IPI to be counted in " + counter);
            a.mov(ecx, WaitLimit);
            a.Label(ref loop);
            a.cmp(__qword_ptr[LabelOf(counter)], old);
            a.jne(done);
            a.pause();
            a.dec(ecx);
            a.jnz(loop);
            a.lea(rsi, __[LabelOf(text)]);
            a.jmp(LabelOf("timedOut"));
            a.Label(ref done);
        }

        // Lets vCPU 1 take what was sent to it before the counts are read (about 4 million instructions).
        private void WaitAWhile()
        {
            var a = _a;
            var loop = a.CreateLabel();
            a.mov(ecx, 1_000_000);
            a.Label(ref loop);
            a.pause();
            a.dec(ecx);
            a.jnz(loop);
        }

        // "vCPU 0 took F fixed, O broadcast/shorthand, N NMIs; vCPU 1 took ...\n".
        private void PrintTally()
        {
            for (int cpu = 0; cpu < 2; cpu++)
            {
                Print(cpu == 0 ? "vcpu0" : "vcpu1");
                PrintVariable($"fixed{cpu}");
                Print("fixed");
                PrintVariable($"other{cpu}");
                Print("other");
                PrintVariable($"nmi{cpu}");
                Print("nmis");
            }
            Print("newline");
        }
    }
}
