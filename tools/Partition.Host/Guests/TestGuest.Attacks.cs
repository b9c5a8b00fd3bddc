using System.Collections.Generic;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Partition.Host.Guests
{
    /// <summary>The 64-bit guests of the attack suite (<see cref="AttackSuite"/>).</summary>
    public sealed partial class TestGuest
    {
        private const byte VectorUd = 6, VectorGp = 13;

        /// <summary>
        /// A guest that runs <paramref name="probes"/> in order, catching #GP and #UD with an IDT of
        /// its own, prints "NAME: OUTCOME" for each and then "done"; then it halts, or spins
        /// printing progress if <paramref name="spinAfter"/>.
        /// </summary>
        public static byte[] Prober(ulong origin, ushort uart, IReadOnlyList<AttackSuite.Probe> probes, bool spinAfter)
        {
            var guest = new TestGuest(64, uart, _ => origin);
            guest.EmitProber(probes, spinAfter);
            return guest.Assemble(origin, new Dictionary<string, ulong>());
        }

        /// <summary>
        /// The neighbour: fills <see cref="AttackSuite.ChecksumBytes"/> at
        /// <see cref="AttackSuite.ChecksumBase"/> with a pattern, prints its checksum, then
        /// checksums it again and again, printing "pass N: unchanged" after each pass, or
        /// "CHECKSUM CHANGED" and halting if it ever differs.
        /// </summary>
        public static byte[] Neighbour(ulong origin, ushort uart)
        {
            var guest = new TestGuest(64, uart, _ => origin);
            guest.EmitNeighbour();
            return guest.Assemble(origin, new Dictionary<string, ulong>());
        }

        /// <summary>A guest that announces <paramref name="attack"/> and makes it; if it survives, it says so.</summary>
        public static byte[] FatalAttacker(ulong origin, ushort uart, AttackSuite.Fatal attack)
        {
            var guest = new TestGuest(64, uart, _ => origin);
            guest.Text("hello", "attacking: " + attack.What + "\n");
            guest.Text("survived", "the attack did not stop me\n");
            guest.Print("hello");
            attack.Setup(guest._a);
            attack.Attack(guest._a);
            guest.Print("survived");
            guest._a.hlt();
            guest.EmitPrintRoutineAndData();
            return guest.Assemble(origin, new Dictionary<string, ulong>());
        }

        private void EmitProber(IReadOnlyList<AttackSuite.Probe> probes, bool spinAfter)
        {
            var a = _a;
            Text("gp", "#GP");
            Text("ud", "#UD");
            Text("doneStep", "done");
            Text("colon", ": ");
            Text("unexpected", "an exception it cannot handle; halting\n");
            Text("finished", "all attacks made\n");
            Data("caught", new byte[8]);
            Data("recovery", new byte[8]);
            Data("saved", new byte[8]);
            EmitExceptionCatcher();

            for (int i = 0; i < probes.Count; i++)
            {
                var probe = probes[i];
                string name = "probe" + i;
                Text(name, probe.Name);
                var after = a.CreateLabel();
                a.mov(__byte_ptr[LabelOf("caught")], 0);
                a.lea(rax, __[after]);
                a.mov(__qword_ptr[LabelOf("recovery")], rax);
                probe.Emit(a);
                a.Label(ref after);
                a.mov(__qword_ptr[LabelOf("saved")], rax);
                a.lea(rsi, __[LabelOf(name)]);
                a.mov(r15d, probe.ReportsValue ? 1 : 0);
                a.call(LabelOf("report"));
            }
            Print("finished");
            if (spinAfter)
                EmitSpinnerLoop();
            else
                a.hlt();
            EmitReport();
            EmitPrintHex();
            if (spinAfter)
                EmitPrintNumber();
            EmitPrintRoutineAndData();
        }

        // A GDT (64-bit code at 0x08, data at 0x10) and an IDT whose #UD and #GP handlers record
        // the vector and return to the address in "recovery"; any other exception halts.
        private void EmitExceptionCatcher()
        {
            var a = _a;
            Data("gdt", Qwords(0, 0x00AF_9A00_0000_FFFF, 0x00CF_9200_0000_FFFF));
            Data("gdtr", new byte[10]);
            Data("idt", new byte[32 * 16]);
            Data("idtr", new byte[10]);
            var setGate = a.CreateLabel();
            var ud = a.CreateLabel();
            var gp = a.CreateLabel();
            var unexpected = a.CreateLabel();
            var resume = a.CreateLabel();
            var start = a.CreateLabel();

            a.lea(rdi, __[LabelOf("gdtr")]);
            a.mov(__word_ptr[rdi], 3 * 8 - 1);
            a.lea(rax, __[LabelOf("gdt")]);
            a.mov(__qword_ptr[rdi + 2], rax);
            a.lgdt(__[rdi]);
            for (int vector = 0; vector < 32; vector++)
            {
                a.lea(rax, __[vector == VectorUd ? ud : vector == VectorGp ? gp : unexpected]);
                a.mov(ecx, vector);
                a.call(setGate);
            }
            a.lea(rdi, __[LabelOf("idtr")]);
            a.mov(__word_ptr[rdi], 32 * 16 - 1);
            a.lea(rax, __[LabelOf("idt")]);
            a.mov(__qword_ptr[rdi + 2], rax);
            a.lidt(__[rdi]);
            a.jmp(start);

            // setGate: RAX = handler, ECX = vector; a 64-bit interrupt gate, selector 0x08 (SDM Vol. 3A, 6.14.1).
            a.Label(ref setGate);
            a.lea(rdi, __[LabelOf("idt")]);
            a.shl(ecx, 4);
            a.add(rdi, rcx);
            a.mov(__word_ptr[rdi], ax);
            a.mov(__word_ptr[rdi + 2], 0x08);
            a.mov(__word_ptr[rdi + 4], 0x8E00);
            a.shr(rax, 16);
            a.mov(__word_ptr[rdi + 6], ax);
            a.shr(rax, 16);
            a.mov(__dword_ptr[rdi + 8], eax);
            a.mov(__dword_ptr[rdi + 12], 0);
            a.ret();

            a.Label(ref gp);
            a.add(rsp, 8); // #GP pushes an error code, #UD does not
            a.mov(__byte_ptr[LabelOf("caught")], VectorGp);
            a.jmp(resume);
            a.Label(ref ud);
            a.mov(__byte_ptr[LabelOf("caught")], VectorUd);
            a.Label(ref resume);
            a.mov(rax, __qword_ptr[LabelOf("recovery")]);
            a.mov(__qword_ptr[rsp], rax); // the return RIP
            a.iretq();
            a.Label(ref unexpected);
            Print("unexpected");
            a.hlt();

            a.Label(ref start);
        }

        // report: RSI = the attack's name, R15 = 1 to print the saved RAX; prints "NAME: OUTCOME".
        private void EmitReport()
        {
            var a = _a;
            var report = LabelOf("report");
            a.Label(ref report);
            _labels["report"] = report;
            var notUd = a.CreateLabel();
            var notGp = a.CreateLabel();
            var newline = a.CreateLabel();
            a.call(LabelOf("print"));
            Print("colon");
            a.cmp(__byte_ptr[LabelOf("caught")], VectorUd);
            a.jne(notUd);
            Print("ud");
            a.jmp(newline);
            a.Label(ref notUd);
            a.cmp(__byte_ptr[LabelOf("caught")], VectorGp);
            a.jne(notGp);
            Print("gp");
            a.jmp(newline);
            a.Label(ref notGp);
            var noValue = a.CreateLabel();
            a.test(r15d, r15d);
            a.jz(noValue);
            a.mov(rax, __qword_ptr[LabelOf("saved")]);
            a.call(LabelOf("printHex"));
            a.jmp(newline);
            a.Label(ref noValue);
            Print("doneStep");
            a.Label(ref newline);
            NewLine();
            a.ret();
        }

        // printHex: RAX as "0x" and 16 hex digits.
        private void EmitPrintHex()
        {
            var a = _a;
            Data("hex", System.Text.Encoding.ASCII.GetBytes("0x0000000000000000\0"));
            var printHex = LabelOf("printHex");
            a.Label(ref printHex);
            _labels["printHex"] = printHex;
            var digit = a.CreateLabel();
            var decimalDigit = a.CreateLabel();
            a.lea(rdi, __[LabelOf("hex")]);
            a.add(rdi, 2);
            a.mov(ecx, 16);
            a.Label(ref digit);
            a.rol(rax, 4);
            a.mov(edx, eax);
            a.and(edx, 0xF);
            a.add(dl, (byte)'0');
            a.cmp(dl, (byte)'9');
            a.jbe(decimalDigit);
            a.add(dl, (byte)('A' - '9' - 1));
            a.Label(ref decimalDigit);
            a.mov(__byte_ptr[rdi], dl);
            a.inc(rdi);
            a.dec(ecx);
            a.jnz(digit);
            a.lea(rsi, __[LabelOf("hex")]);
            a.call(LabelOf("print"));
            a.ret();
        }

        private void EmitNeighbour()
        {
            var a = _a;
            Text("checksum", "checksum ");
            Text("over", $" over {AttackSuite.ChecksumBytes / 1024} KiB at 0x{AttackSuite.ChecksumBase:X}\n");
            Text("pass", "pass ");
            Text("unchanged", ": unchanged\n");
            Text("changed", "CHECKSUM CHANGED: ");
            Data("number", new byte[24]);
            var fill = a.CreateLabel();
            var loop = a.CreateLabel();
            var changed = a.CreateLabel();
            var checksum = a.CreateLabel();
            var sum = a.CreateLabel();
            const int qwords = AttackSuite.ChecksumBytes / 8;

            a.sti(); // IF = 1, as OS guests run: wake IPIs reach the hypervisor (MigrationTests)
            a.mov(rdi, AttackSuite.ChecksumBase);
            a.mov(ecx, qwords);
            a.mov(rax, AttackSuite.ChecksumSeed);
            a.mov(rbx, AttackSuite.ChecksumMultiplier);
            a.Label(ref fill);
            a.mov(__qword_ptr[rdi], rax);
            a.imul(rax, rbx);
            a.inc(rax);
            a.add(rdi, 8);
            a.dec(ecx);
            a.jnz(fill);

            a.call(checksum);
            a.mov(r14, rax);
            Print("checksum");
            a.mov(rax, r14);
            a.call(LabelOf("printHex"));
            Print("over");
            a.xor(r13d, r13d);
            a.Label(ref loop);
            a.call(checksum);
            a.cmp(rax, r14);
            a.jne(changed);
            a.inc(r13);
            Print("pass");
            a.mov(rax, r13);
            a.call(LabelOf("printNumber"));
            Print("unchanged");
            a.jmp(loop);
            a.Label(ref changed);
            a.mov(r12, rax);
            Print("changed");
            a.mov(rax, r12);
            a.call(LabelOf("printHex"));
            NewLine();
            a.hlt();

            // checksum: RAX = fold of rotate-left-7 and XOR over every qword.
            a.Label(ref checksum);
            a.mov(rdi, AttackSuite.ChecksumBase);
            a.mov(ecx, qwords);
            a.xor(eax, eax);
            a.Label(ref sum);
            a.rol(rax, 7);
            a.xor(rax, __qword_ptr[rdi]);
            a.add(rdi, 8);
            a.dec(ecx);
            a.jnz(sum);
            a.ret();

            EmitPrintHex();
            EmitPrintNumber();
            EmitPrintRoutineAndData();
        }

        private static byte[] Qwords(params ulong[] values)
        {
            var bytes = new byte[values.Length * 8];
            for (int i = 0; i < values.Length; i++)
                System.BitConverter.GetBytes(values[i]).CopyTo(bytes, i * 8);
            return bytes;
        }
    }
}
