using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Partition.Host.Guests
{
    /// <summary>
    /// Small guests assembled with Iced for the system tests and the demo, one program emitted for real
    /// mode (16-bit), 32-bit protected mode and 64-bit long mode. It prints on its UART, asks
    /// CPUID for the hypervisor leaf, makes the "get version" hypercall, reads an unassigned
    /// port, and halts. Every line it prints is something a test asserts on.
    /// </summary>
    /// <remarks>
    /// Iced addresses labels RIP-relatively, which exists only in 64-bit code; 16- and 32-bit
    /// code loads absolute addresses as immediates instead. Those are known only after layout,
    /// so such a guest is assembled twice: the first pass finds the labels' addresses, the
    /// second uses them (the encodings have fixed sizes, so the layout does not move).
    /// </remarks>
    public sealed partial class TestGuest
    {
        public const ushort UnassignedPort = 0x61;

        private readonly Assembler _a;
        private readonly int _bitness;
        private readonly ushort _uart;
        private readonly Func<string, ulong> _address;
        private readonly Dictionary<string, Label> _labels = new();
        private readonly List<(string Name, byte[] Bytes)> _data = new();

        private TestGuest(int bitness, ushort uart, Func<string, ulong> address)
        {
            _bitness = bitness;
            _uart = uart;
            _address = address;
            _a = new Assembler(bitness);
        }

        /// <summary>The standard test guest for a mode: its first line is <paramref name="greeting"/>.</summary>
        public static byte[] Standard(int bitness, ulong origin, ushort uart, string greeting)
        {
            var addresses = new Dictionary<string, ulong>();
            var first = new TestGuest(bitness, uart, name => addresses.GetValueOrDefault(name, origin));
            first.EmitStandard(greeting);
            first.Assemble(origin, addresses);
            var second = new TestGuest(bitness, uart, name => addresses[name]);
            second.EmitStandard(greeting);
            return second.Assemble(origin, new Dictionary<string, ulong>());
        }

        /// <summary>
        /// A 32-bit Multiboot (1) or Multiboot2 kernel: a flat image loaded at <paramref name="origin"/>
        /// whose header comes first, then code that checks the magic and prints its command line,
        /// its first module's text and the number of memory-map entries from the boot information.
        /// </summary>
        public static byte[] MultibootKernel(int version, ulong origin, ushort uart, string greeting)
        {
            var addresses = new Dictionary<string, ulong>();
            var first = new TestGuest(32, uart, name => addresses.GetValueOrDefault(name, origin));
            first.EmitMultiboot(version, origin, greeting);
            first.Assemble(origin, addresses);
            var second = new TestGuest(32, uart, name => addresses[name]);
            second.EmitMultiboot(version, origin, greeting);
            return second.Assemble(origin, new Dictionary<string, ulong>());
        }

        public const int Multiboot1HeaderSize = 32;
        public const int Multiboot2HeaderSize = 24;

        private void EmitMultiboot(int version, ulong origin, string greeting)
        {
            var a = _a;
            if (version == 1)
            {
                const uint magic = 0x1BADB002, flags = 1u << 0 | 1u << 1 | 1u << 16; // aligned modules, memory info, address fields
                foreach (uint word in new[] { magic, flags, unchecked(0u - magic - flags), (uint)origin, (uint)origin, 0u, 0u, (uint)origin + Multiboot1HeaderSize })
                    a.dd(word);
            }
            else
            {
                const uint magic = 0xE85250D6, length = Multiboot2HeaderSize;
                foreach (uint word in new[] { magic, 0u, length, unchecked(0u - magic - length), 0u /* end tag: type 0, flags 0 */, 8u })
                    a.dd(word);
            }
            Text("hello", greeting + "\n");
            Text("cmdline", "cmdline: ");
            Text("module", "module: ");
            Text("mmap", "memory map entries: ");
            Text("bad", "bad Multiboot magic\n");
            Text("done", "done\n");
            var bad = a.CreateLabel();
            var end = a.CreateLabel();

            a.mov(ebp, ebx);
            a.cmp(eax, version == 1 ? 0x2BADB002u : 0x36D76289u);
            a.jne(bad);
            Print("hello");
            if (version == 1)
            {
                Print("cmdline");
                a.mov(esi, __dword_ptr[ebp + 16]);
                a.call(LabelOf("print"));
                NewLine();
                Print("module");
                a.mov(esi, __dword_ptr[ebp + 24]);   // mods_addr
                a.mov(esi, __dword_ptr[esi]);        // first module's start
                a.call(LabelOf("print"));
                NewLine();
                Print("mmap");
                a.mov(eax, __dword_ptr[ebp + 44]);   // mmap_length
                a.xor(edx, edx);
                a.mov(ecx, 24);                      // each entry: size field + 20 bytes
                a.div(ecx);
                PrintDigitAl();
            }
            else
            {
                var loop = a.CreateLabel();
                var next = a.CreateLabel();
                var notCmdline = a.CreateLabel();
                var notModule = a.CreateLabel();
                a.lea(edi, __[ebp + 8]);
                a.Label(ref loop);
                a.mov(eax, __dword_ptr[edi]);
                a.test(eax, eax);
                a.jz(end);
                a.cmp(eax, 1);
                a.jne(notCmdline);
                Print("cmdline");
                a.lea(esi, __[edi + 8]);
                a.call(LabelOf("print"));
                NewLine();
                a.jmp(next);
                a.Label(ref notCmdline);
                a.cmp(eax, 3);
                a.jne(notModule);
                Print("module");
                a.mov(esi, __dword_ptr[edi + 8]);
                a.call(LabelOf("print"));
                NewLine();
                a.jmp(next);
                a.Label(ref notModule);
                a.cmp(eax, 6);
                a.jne(next);
                Print("mmap");
                a.mov(eax, __dword_ptr[edi + 4]);
                a.sub(eax, 16);
                a.xor(edx, edx);
                a.div(__dword_ptr[edi + 8]);
                PrintDigitAl();
                a.Label(ref next);
                a.mov(eax, __dword_ptr[edi + 4]);
                a.add(eax, 7);
                a.and(eax, ~7);
                a.add(edi, eax);
                a.jmp(loop);
            }
            a.Label(ref end);
            Print("done");
            a.hlt();
            a.Label(ref bad);
            Print("bad");
            a.hlt();
            EmitPrintRoutineAndData();
        }

        public const int BenchmarkIterations = 10000;

        /// <summary>
        /// A 64-bit guest that times <see cref="BenchmarkIterations"/> round trips of each kind of
        /// exit with RDTSC (in Bochs one tick is one instruction) and prints
        /// "bench NAME: TOTAL ticks for N, PER per round trip", then halts. The "loop" line is
        /// the same loop without an exit: the cost that is not the exit's.
        /// </summary>
        public static byte[] ExitBenchmark(ulong origin, ushort uart)
        {
            var addresses = new Dictionary<string, ulong>();
            var first = new TestGuest(64, uart, name => addresses.GetValueOrDefault(name, origin));
            first.EmitBenchmark();
            first.Assemble(origin, addresses);
            var second = new TestGuest(64, uart, name => addresses[name]);
            second.EmitBenchmark();
            return second.Assemble(origin, new Dictionary<string, ulong>());
        }

        private void EmitBenchmark()
        {
            var a = _a;
            Text("ticks", " ticks for 10000, ");
            Text("per", " per round trip\n");
            Text("done", "bench done\n");
            Data("number", new byte[24]);
            EmitTimedLoop("loop", () => a.nop());
            EmitTimedLoop("vmcall", () => { a.xor(eax, eax); a.vmcall(); });
            EmitTimedLoop("cpuid", () => { a.mov(eax, 0x40000000); a.cpuid(); });
            EmitTimedLoop("io", () => { a.mov(dx, (ushort)(_uart + 7)); a.@out(dx, al); });
            EmitCpuBound();
            Print("done");
            a.hlt();
            EmitPrintNumber();
            EmitPrintRoutineAndData();
        }

        /// <summary>Iterations of the CPU-bound loop, 6 instructions each, none of which exits.</summary>
        public const int CpuBoundIterations = 10_000_000;
        public const long CpuBoundInstructions = 6L * CpuBoundIterations;

        // "bench cpu-bound: T ticks for 60000000 instructions": arithmetic that never exits, timed
        // with RDTSC. Without a hypervisor Bochs runs it in one tick an instruction (the "loop"
        // line shows it), so T beyond the count is what the hypervisor took meanwhile (its
        // console polls on CPU 0, the only exits such a guest sees).
        private void EmitCpuBound()
        {
            var a = _a;
            Text("name_cpu", "bench cpu-bound: ");
            Text("instructions", $" ticks for {CpuBoundInstructions} instructions\n");
            var loop = a.CreateLabel();
            a.mov(ebx, 1);
            a.mov(ecx, 7);
            a.mov(esi, 0x5A5A);
            StartTimer();
            a.mov(r13d, CpuBoundIterations);
            a.Label(ref loop);
            a.imul(rbx, rbx, 3);
            a.add(rbx, rcx);
            a.xor(rbx, rsi);
            a.rol(rbx, 1);
            a.dec(r13d);
            a.jnz(loop);
            StopTimer();
            Print("name_cpu");
            a.mov(rax, r14);
            a.call(LabelOf("printNumber"));
            Print("instructions");
        }

        // R12 = the TSC now.
        private void StartTimer()
        {
            _a.rdtsc();
            _a.shl(rdx, 32);
            _a.or(rax, rdx);
            _a.mov(r12, rax);
        }

        // R14 = the ticks since StartTimer.
        private void StopTimer()
        {
            _a.rdtsc();
            _a.shl(rdx, 32);
            _a.or(rax, rdx);
            _a.sub(rax, r12);
            _a.mov(r14, rax);
        }

        // R12 = start TSC, R13 = iterations left (exits clobber RAX..RDX by design).
        private void EmitTimedLoop(string name, Action body)
        {
            var a = _a;
            Text("name_" + name, "bench " + name + ": ");
            var loop = a.CreateLabel();
            StartTimer();
            a.mov(r13d, BenchmarkIterations);
            a.Label(ref loop);
            body();
            a.dec(r13d);
            a.jnz(loop);
            StopTimer();
            Print("name_" + name);
            a.mov(rax, r14);
            a.call(LabelOf("printNumber"));
            Print("ticks");
            a.mov(rax, r14);
            a.xor(edx, edx);
            a.mov(ecx, BenchmarkIterations);
            a.div(rcx);
            a.call(LabelOf("printNumber"));
            Print("per");
        }

        // printNumber: RAX in decimal.
        private void EmitPrintNumber()
        {
            var a = _a;
            var printNumber = LabelOf("printNumber");
            a.Label(ref printNumber);
            _labels["printNumber"] = printNumber;
            var digit = a.CreateLabel();
            a.lea(rdi, __[LabelOf("number")]);
            a.add(rdi, 23);
            a.mov(__byte_ptr[rdi], 0);
            a.mov(ecx, 10);
            a.Label(ref digit);
            a.xor(edx, edx);
            a.div(rcx);
            a.add(dl, (byte)'0');
            a.dec(rdi);
            a.mov(__byte_ptr[rdi], dl);
            a.test(rax, rax);
            a.jnz(digit);
            a.mov(rsi, rdi);
            a.call(LabelOf("print"));
            a.ret();
        }

        /// <summary>
        /// A 64-bit guest that never halts: it counts in R12 and prints "progress N" every
        /// 2^18 iterations, so its share of a shared core shows in how far it gets. With
        /// <paramref name="interruptsEnabled"/> it runs with RFLAGS.IF = 1, as OS guests do.
        /// </summary>
        public static byte[] Spinner(ulong origin, ushort uart, bool interruptsEnabled = true)
        {
            var addresses = new Dictionary<string, ulong>();
            var first = new TestGuest(64, uart, name => addresses.GetValueOrDefault(name, origin));
            first.EmitSpinner(interruptsEnabled);
            first.Assemble(origin, addresses);
            var second = new TestGuest(64, uart, name => addresses[name]);
            second.EmitSpinner(interruptsEnabled);
            return second.Assemble(origin, new Dictionary<string, ulong>());
        }

        private void EmitSpinner(bool interruptsEnabled)
        {
            // With external-interrupt exiting, interrupts exit to the hypervisor whatever IF
            // is (SDM); Bochs 2.7 only does so when IF = 1 (MigrationTests records it).
            if (interruptsEnabled)
                _a.sti();
            EmitSpinnerBody();
        }

        private void EmitSpinnerBody()
        {
            EmitSpinnerLoop();
            EmitPrintNumber();
            EmitPrintRoutineAndData();
        }

        // Counts in R12 for ever, printing "progress N" every 2^18 iterations.
        private void EmitSpinnerLoop()
        {
            var a = _a;
            Text("progress", "progress ");
            Text("newline", "\n");
            Data("number", new byte[24]);
            var loop = a.CreateLabel();
            a.xor(r12d, r12d);
            a.Label(ref loop);
            a.inc(r12);
            a.test(r12d, 0x3FFFF);
            a.jnz(loop);
            Print("progress");
            a.mov(rax, r12);
            a.shr(rax, 18);
            a.call(LabelOf("printNumber"));
            Print("newline");
            a.jmp(loop);
        }

        /// <summary>
        /// A 64-bit guest that tries a management hypercall (pause partition 0), prints whether it
        /// was refused as "not permitted", then spins like <see cref="Spinner"/>.
        /// </summary>
        public static byte[] Intruder(ulong origin, ushort uart)
        {
            var addresses = new Dictionary<string, ulong>();
            var first = new TestGuest(64, uart, name => addresses.GetValueOrDefault(name, origin));
            first.EmitIntruder();
            first.Assemble(origin, addresses);
            var second = new TestGuest(64, uart, name => addresses[name]);
            second.EmitIntruder();
            return second.Assemble(origin, new Dictionary<string, ulong>());
        }

        private void EmitIntruder()
        {
            var a = _a;
            Text("refused", "management hypercall refused: not permitted\n");
            Text("accepted", "management hypercall NOT refused\n");
            var spin = a.CreateLabel();
            var accepted = a.CreateLabel();
            a.mov(eax, 3);          // Hypercall.PausePartition
            a.xor(ebx, ebx);        // partition 0
            a.vmcall();
            a.cmp(rax, -2);         // Hypercall.NotPermitted
            a.jne(accepted);
            Print("refused");
            a.jmp(spin);
            a.Label(ref accepted);
            Print("accepted");
            a.Label(ref spin);
            EmitSpinnerBody();
        }

        /// <summary>
        /// A 64-bit guest that says it is about to misbehave, then writes outside its own memory
        /// (guest-physical 16 MiB, mapped by its page tables, not by its EPT): an EPT violation that must stop it alone.
        /// </summary>
        public static byte[] Wild(ulong origin, ushort uart)
        {
            var addresses = new Dictionary<string, ulong>();
            var first = new TestGuest(64, uart, name => addresses.GetValueOrDefault(name, origin));
            first.EmitWild();
            first.Assemble(origin, addresses);
            var second = new TestGuest(64, uart, name => addresses[name]);
            second.EmitWild();
            return second.Assemble(origin, new Dictionary<string, ulong>());
        }

        /// <summary>The write the wild guest faults on, as Iced encodes it.</summary>
        public static void EmitWildWrite(Assembler a) => a.mov(__qword_ptr[rax], rbx);

        private void EmitWild()
        {
            Text("hello", "about to write outside my memory\n");
            Print("hello");
            _a.mov(rax, 0x0100_0000UL);
            _a.mov(rbx, 0x1234UL);
            EmitWildWrite(_a);
            Text("survived", "the write did not fault\n");
            Print("survived");
            _a.hlt();
            EmitPrintRoutineAndData();
        }

        private void NewLine()
        {
            _a.mov(al, (byte)'\n');
            OutAl();
        }

        private void PrintDigitAl()
        {
            _a.add(al, (byte)'0');
            OutAl();
            NewLine();
        }

        private void EmitStandard(string greeting)
        {
            var a = _a;
            Text("hello", greeting + "\n");
            Text("cpuid", "CPUID 0x40000000: ");
            Data("vendor", Encoding.ASCII.GetBytes("????????????\n\0"));
            Text("abi", "hypercall ABI version ");
            Text("ones", "unassigned port reads all ones: yes\n");
            Text("notOnes", "unassigned port reads all ones: NO\n");
            Text("done", "done\n");
            var afterPort = a.CreateLabel();
            var notOnes = a.CreateLabel();

            Print("hello");

            a.mov(eax, 0x40000000);
            a.cpuid();
            StoreVendor();
            Print("cpuid");
            Print("vendor");

            Print("abi");
            a.xor(eax, eax);       // Hypercall.GetVersion
            a.vmcall();
            a.mov(eax, ebx);
            a.add(al, (byte)'0');
            OutAl();
            a.mov(al, (byte)'\n');
            OutAl();

            a.@in(al, (byte)UnassignedPort);
            a.cmp(al, 0xFF);
            a.jne(notOnes);
            Print("ones");
            a.jmp(afterPort);
            a.Label(ref notOnes);
            Print("notOnes");
            a.Label(ref afterPort);

            Print("done");
            a.hlt();
            EmitPrintRoutineAndData();
        }

        private Label LabelOf(string name)
        {
            if (!_labels.TryGetValue(name, out var label))
                _labels[name] = label = _a.CreateLabel(name);
            return label;
        }

        private void Text(string name, string text) => Data(name, Encoding.ASCII.GetBytes(text + "\0"));

        private void Data(string name, byte[] bytes)
        {
            LabelOf(name);
            _data.Add((name, bytes));
        }

        /// <summary>Points SI/ESI/RSI at a string and calls print.</summary>
        private void Print(string text)
        {
            switch (_bitness)
            {
                case 16: _a.mov(si, (ushort)_address(text)); break;
                case 32: _a.mov(esi, (uint)_address(text)); break;
                default: _a.lea(rsi, __[LabelOf(text)]); break;
            }
            _a.call(LabelOf("print"));
        }

        // The twelve signature bytes CPUID returned in EBX, ECX, EDX.
        private void StoreVendor()
        {
            switch (_bitness)
            {
                case 16:
                    _a.mov(di, (ushort)_address("vendor"));
                    _a.mov(__dword_ptr[di], ebx);
                    _a.mov(__dword_ptr[di + 4], ecx);
                    _a.mov(__dword_ptr[di + 8], edx);
                    break;
                case 32:
                    _a.mov(edi, (uint)_address("vendor"));
                    _a.mov(__dword_ptr[edi], ebx);
                    _a.mov(__dword_ptr[edi + 4], ecx);
                    _a.mov(__dword_ptr[edi + 8], edx);
                    break;
                default:
                    _a.lea(rdi, __[LabelOf("vendor")]);
                    _a.mov(__dword_ptr[rdi], ebx);
                    _a.mov(__dword_ptr[rdi + 4], ecx);
                    _a.mov(__dword_ptr[rdi + 8], edx);
                    break;
            }
        }

        private void OutAl()
        {
            _a.mov(dx, _uart);
            _a.@out(dx, al);
        }

        // print: writes the zero-terminated string at SI/ESI/RSI to the UART.
        private void EmitPrintRoutineAndData()
        {
            var print = LabelOf("print");
            var loop = _a.CreateLabel();
            var done = _a.CreateLabel();
            _a.Label(ref print);
            _labels["print"] = print; // Label is a struct: keep the bound copy
            _a.mov(dx, _uart);
            _a.Label(ref loop);
            _a.lodsb();
            _a.test(al, al);
            _a.jz(done);
            _a.@out(dx, al);
            _a.jmp(loop);
            _a.Label(ref done);
            _a.ret();
            foreach (var (name, bytes) in _data)
            {
                var label = LabelOf(name);
                _a.Label(ref label);
                _labels[name] = label;
                _a.db(bytes);
            }
        }

        private byte[] Assemble(ulong origin, Dictionary<string, ulong> addresses)
        {
            var stream = new MemoryStream();
            var result = _a.Assemble(new StreamCodeWriter(stream), origin, BlockEncoderOptions.ReturnNewInstructionOffsets);
            foreach (var (name, label) in _labels)
                addresses[name] = result.GetLabelRIP(label);
            return stream.ToArray();
        }
    }
}
