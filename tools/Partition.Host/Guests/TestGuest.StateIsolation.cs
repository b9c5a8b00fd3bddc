using System;
using System.Collections.Generic;
using System.Numerics;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Partition.Host.Guests
{
    /// <summary>
    /// The guest of configs/state-isolation.json: it loads CPU state that the VMCS does not
    /// switch, or that the hypervisor switches lazily or with XSAVE, with values derived from its seed, then
    /// checks all of it again and again while its core time-slices it with others. A value that
    /// changed is the hypervisor leaking another vCPU's state into this one (or losing this one's).
    /// </summary>
    public sealed partial class TestGuest
    {
        /// <summary>
        /// The values a state-isolation guest loads, derived from its seed (distinct seeds give
        /// distinct values everywhere). Each 80-bit x87 value is (mantissa, sign and exponent).
        /// </summary>
        public sealed class IsolationState
        {
            public IsolationState(uint seed)
            {
                Seed = seed;
                ulong s = 0x5EED_0000_0000_0000UL ^ seed;
                ulong Next()
                {
                    // SplitMix64: a fixed sequence per seed.
                    ulong z = s += 0x9E37_79B9_7F4A_7C15UL;
                    z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
                    z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
                    return z ^ (z >> 31);
                }
                // Canonical (bit 47 clear, so bits 63:48 are too), page aligned, and not 0.
                ulong Address() => (Next() & 0x0000_7FFF_FFFF_F000UL) | (ulong)seed << 12 | 0x1000;

                // x87: rounding control and precision control both non-default (FCW), and
                // eight registers, the first loaded by FILD from an integer.
                X87Control = (ushort)(0x007F | (uint)(seed % 3 + 1) << 10 | 2u << 8);
                Integer = (long)(Next() >> 8) * (seed % 2 == 0 ? 1 : -1);
                Stack = new (ulong, ushort)[8];
                Stack[0] = ExtendedFromInteger(Integer);
                for (int i = 1; i < 8; i++)
                    Stack[i] = (Next() | 1UL << 63, (ushort)((Next() & 0x8000) | (uint)(16383 - 60 + (int)(Next() % 120))));
                // SSE: a non-default rounding mode (and flush-to-zero for odd seeds), every exception masked.
                Mxcsr = 0x1F80u | (seed % 3 + 1) << 13 | (seed % 2 == 1 ? 1u << 15 : 0);
                Xmm = new (ulong Low, ulong High)[16];
                for (int i = 0; i < 16; i++)
                    Xmm[i] = (Next(), Next());
                Star = Next();
                Lstar = Address();
                Fmask = Next() & 0xFFFF_FFFF;
                KernelGsBase = Address();
                TscAux = (uint)Next();
                FsBase = Address();
                GsBase = Address();
                Debug = new ulong[4];
                for (int i = 0; i < 4; i++)
                    Debug[i] = Address();
                // B0-B3 of DR6 (the rest reads as ones).
                Dr6 = 0xFFFF_0FF0UL | (seed % 15 + 1);
                // DR7: no breakpoint enabled (L0-L3, G0-G3 clear), but R/W and LEN fields set for
                // all four; never R/W = 10b (I/O), which needs CR4.DE.
                uint[] fields = { 0x1, 0x5, 0xD, 0xF, 0x3, 0x7, 0xC, 0x4 };
                ulong dr7 = 0x400;
                for (int i = 0; i < 4; i++)
                    dr7 |= (ulong)fields[(seed + (uint)i * 3) % 8] << (16 + 4 * i);
                Dr7 = dr7;
                Cr2 = Address() | 0x123;
                General = new ulong[4];
                for (int i = 0; i < 4; i++)
                    General[i] = Next();
                // Drawn last, so the values above are those of the guests before AVX was checked.
                YmmUpper = new (ulong Low, ulong High)[16];
                for (int i = 0; i < 16; i++)
                    YmmUpper[i] = (Next(), Next());
            }

            public uint Seed { get; }
            public ushort X87Control { get; }
            public long Integer { get; }
            /// <summary>In load order: FILD of <see cref="Integer"/>, then seven FLD m80; ST(i) is Stack[7 - i].</summary>
            public (ulong Mantissa, ushort SignExponent)[] Stack { get; }
            public uint Mxcsr { get; }
            public (ulong Low, ulong High)[] Xmm { get; }
            /// <summary>Bits 255:128 of YMM0-15 (XSAVE component 2), as (bits 191:128, bits 255:192).</summary>
            public (ulong Low, ulong High)[] YmmUpper { get; }
            /// <summary>XCR0: x87, SSE and AVX.</summary>
            public const ulong Xcr0 = 7;
            public ulong Star { get; }
            public ulong Lstar { get; }
            public ulong Fmask { get; }
            public ulong KernelGsBase { get; }
            public uint TscAux { get; }
            public ulong FsBase { get; }
            public ulong GsBase { get; }
            public ulong[] Debug { get; }
            public ulong Dr6 { get; }
            public ulong Dr7 { get; }
            public ulong Cr2 { get; }
            /// <summary>R8-R11.</summary>
            public ulong[] General { get; }

            /// <summary>The 80-bit extended value FILD gives for <paramref name="n"/> (exact: 64 bits of mantissa).</summary>
            public static (ulong Mantissa, ushort SignExponent) ExtendedFromInteger(long n)
            {
                if (n == 0)
                    return (0, 0);
                ulong magnitude = n < 0 ? (ulong)-n : (ulong)n;
                int msb = 63 - BitOperations.LeadingZeroCount(magnitude);
                return (magnitude << (63 - msb), (ushort)((n < 0 ? 0x8000 : 0) | (16383 + msb)));
            }
        }

        /// <summary>Where the guest keeps its FXSAVE image and its report scratch (in its RAM, below the page tables).</summary>
        public const ulong IsolationScratch = 0x38_0000;

        // Past the FXSAVE image (512 bytes) and the report's registers: YMM0-15 stored for checking.
        private const int YmmDump = 0x400;

        /// <summary>
        /// A 64-bit guest that enables XSAVE (CR4.OSXSAVE, XCR0 = 7 with XSETBV) and loads x87,
        /// SSE (XMM0-15, MXCSR), AVX (the upper halves of YMM0-15), the SYSCALL MSRs, KERNEL_GS_BASE,
        /// TSC_AUX, FS_BASE, GS_BASE, DR0-3, DR6, DR7, CR2 and R8-R11 with values from
        /// <paramref name="seed"/>, then checks every one <paramref name="passes"/> times (FXSAVE
        /// for the FPU/SSE state, VMOVDQU of each YMM register, XGETBV, RDMSR, RDTSCP and MOV from
        /// DR for the rest). Without XSAVE, AVX and AVX2 in CPUID it says so and halts. It prints
        /// "state intact after N passes", or at the first difference
        /// "state mismatch: NAME expected 0x... got 0x... (pass N)" (128-bit values as
        /// "0xHIGH:0xLOW"; an x87 register's high half is its sign and exponent); then halts with interrupts off.
        /// </summary>
        public static byte[] StateIsolation(ulong origin, ushort uart, uint seed, int passes)
        {
            var guest = new TestGuest(64, uart, _ => origin);
            guest.EmitStateIsolation(new IsolationState(seed), passes);
            return guest.Assemble(origin, new Dictionary<string, ulong>());
        }

        private void EmitStateIsolation(IsolationState state, int passes)
        {
            var a = _a;
            Text("hello", $"state isolation guest, seed {state.Seed}: state loaded, checking {passes} passes\n");
            Text("intact", "state intact after ");
            Text("passes", " passes\n");
            Text("mismatch", "state mismatch: ");
            Text("expected", " expected ");
            Text("got", " got ");
            Text("halves", ":");
            Text("afterPass", " (pass ");
            Text("close", ")\n");
            Data("number", new byte[24]);
            var fcw = new byte[2];
            BitConverter.TryWriteBytes(fcw, state.X87Control);
            Data("fcw", fcw);
            Data("integer", BitConverter.GetBytes(state.Integer));
            for (int i = 1; i < 8; i++)
            {
                var bytes = new byte[10];
                BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), state.Stack[i].Mantissa);
                BitConverter.TryWriteBytes(bytes.AsSpan(8, 2), state.Stack[i].SignExponent);
                Data($"st{i}", bytes);
            }
            Data("mxcsr", BitConverter.GetBytes(state.Mxcsr));
            var xmm = new byte[16 * 16];
            for (int i = 0; i < 16; i++)
            {
                BitConverter.TryWriteBytes(xmm.AsSpan(16 * i, 8), state.Xmm[i].Low);
                BitConverter.TryWriteBytes(xmm.AsSpan(16 * i + 8, 8), state.Xmm[i].High);
            }
            Data("xmm", xmm);
            var ymmUpper = new byte[16 * 16];
            for (int i = 0; i < 16; i++)
            {
                BitConverter.TryWriteBytes(ymmUpper.AsSpan(16 * i, 8), state.YmmUpper[i].Low);
                BitConverter.TryWriteBytes(ymmUpper.AsSpan(16 * i + 8, 8), state.YmmUpper[i].High);
            }
            Data("ymmUpper", ymmUpper);
            Text("noAvx", $"state isolation guest, seed {state.Seed}: CPUID offers no XSAVE, AVX or AVX2\n");

            // SSE needs CR4.OSFXSR (and OSXMMEXCPT), which a long64 partition starts without.
            a.mov(rax, cr4);
            a.or(eax, 3 << 9);
            a.mov(cr4, rax);
            var ymms = new[] { ymm0, ymm1, ymm2, ymm3, ymm4, ymm5, ymm6, ymm7, ymm8, ymm9, ymm10, ymm11, ymm12, ymm13, ymm14, ymm15 };
            var failures = new List<(Label Label, string Name, bool Wide)>();
            Label Fail(string name, bool wide)
            {
                var label = a.CreateLabel();
                failures.Add((label, name, wide));
                return label;
            }
            // Got in RAX (and RDX), expected in RBX (and RCX).
            void Check64(string name)
            {
                a.cmp(rax, rbx);
                a.jne(Fail(name, false));
            }
            void Check128(string name)
            {
                var fail = Fail(name, true);
                a.cmp(rax, rbx);
                a.jne(fail);
                a.cmp(rdx, rcx);
                a.jne(fail);
            }
            // AVX needs XSAVE enabled: CPUID.1:ECX.XSAVE[26] and AVX[28], CPUID.7.0:EBX.AVX2[5]
            // (VINSERTI128), then CR4.OSXSAVE and XCR0 = x87 | SSE | AVX.
            var noAvx = a.CreateLabel();
            a.mov(eax, 1);
            a.xor(ecx, ecx);
            a.cpuid();
            a.and(ecx, 1 << 26 | 1 << 28);
            a.cmp(ecx, 1 << 26 | 1 << 28);
            a.jne(noAvx);
            a.mov(eax, 7);
            a.xor(ecx, ecx);
            a.cpuid();
            a.test(ebx, 1 << 5);
            a.jz(noAvx);
            a.mov(rax, cr4);
            a.or(eax, 1 << 18);
            a.mov(cr4, rax);
            a.xor(ecx, ecx);
            a.mov(eax, (uint)IsolationState.Xcr0);
            a.xor(edx, edx);
            a.xsetbv();
            // No AVX instruction has run in this guest yet: the upper halves are as at power-on,
            // 0. Another partition's values here (its YMM registers left in the processor) would
            // be a leak. (Pass 0 in a report: before the checking passes.)
            a.mov(r14, IsolationScratch);
            a.xor(r15d, r15d);
            for (int i = 0; i < 16; i++)
                a.vmovdqu(__ymmword_ptr[r14 + YmmDump + 32 * i], ymms[i]);
            a.xor(ebx, ebx);
            a.xor(ecx, ecx);
            for (int i = 0; i < 16; i++)
            {
                a.mov(rax, __qword_ptr[r14 + YmmDump + 32 * i + 16]);
                a.mov(rdx, __qword_ptr[r14 + YmmDump + 32 * i + 24]);
                Check128($"YMM{i} bits 255:128 when AVX was turned on");
            }
            // Loading. The x87 stack: FILD, then FLD m80 seven times (TOP ends at 0, every tag valid).
            a.fninit();
            a.fldcw(__word_ptr[LabelOf("fcw")]);
            a.fild(__qword_ptr[LabelOf("integer")]);
            for (int i = 1; i < 8; i++)
                a.fld(__tword_ptr[LabelOf($"st{i}")]);
            a.ldmxcsr(__dword_ptr[LabelOf("mxcsr")]);
            a.lea(rax, __[LabelOf("xmm")]);
            var xmms = new[] { xmm0, xmm1, xmm2, xmm3, xmm4, xmm5, xmm6, xmm7, xmm8, xmm9, xmm10, xmm11, xmm12, xmm13, xmm14, xmm15 };
            for (int i = 0; i < 16; i++)
                a.movdqu(xmms[i], __xmmword_ptr[rax + 16 * i]);
            // The upper halves: VINSERTI128 keeps bits 127:0 (what MOVDQU just loaded).
            a.lea(rax, __[LabelOf("ymmUpper")]);
            for (int i = 0; i < 16; i++)
                a.vinserti128(ymms[i], ymms[i], __xmmword_ptr[rax + 16 * i], 1);
            void WriteMsr(uint msr, ulong value)
            {
                a.mov(ecx, msr);
                a.mov(eax, (uint)value);
                a.mov(edx, (uint)(value >> 32));
                a.wrmsr();
            }
            WriteMsr(0xC000_0081, state.Star);
            WriteMsr(0xC000_0082, state.Lstar);
            WriteMsr(0xC000_0084, state.Fmask);
            WriteMsr(0xC000_0102, state.KernelGsBase);
            WriteMsr(0xC000_0103, state.TscAux);
            WriteMsr(0xC000_0100, state.FsBase);
            WriteMsr(0xC000_0101, state.GsBase);
            var drs = new[] { dr0, dr1, dr2, dr3 };
            // Before it writes them, its debug registers are as after reset (DR0-DR3 0, DR7
            // 0x400): another partition's values here would be a leak. The first of these MOVs
            // is the guest's first use of its debug registers (the hypervisor loads its own then).
            a.xor(ebx, ebx);
            for (int i = 0; i < 4; i++)
            {
                a.mov(rax, drs[i]);
                Check64($"DR{i} before the guest wrote it");
            }
            a.mov(rax, dr7);
            a.mov(ebx, 0x400);
            Check64("DR7 before the guest wrote it");
            for (int i = 0; i < 4; i++)
            {
                a.mov(rax, state.Debug[i]);
                a.mov(drs[i], rax);
            }
            a.mov(rax, state.Dr6);
            a.mov(dr6, rax);
            a.mov(rax, state.Dr7);
            a.mov(dr7, rax);
            a.mov(rax, state.Cr2);
            a.mov(cr2, rax);
            var generals = new[] { r8, r9, r10, r11 };
            for (int i = 0; i < 4; i++)
                a.mov(generals[i], state.General[i]);
            Print("hello");

            // Checking: R15 counts passes. Temporaries: RAX, RBX, RCX, RDX, RSI.
            var loop = a.CreateLabel();
            void CheckMsr(uint msr, ulong expected, string name)
            {
                a.mov(ecx, msr);
                a.rdmsr();
                a.shl(rdx, 32);
                a.or(rax, rdx);
                a.mov(rbx, expected);
                Check64(name);
            }

            a.xor(r15d, r15d);
            a.mov(r14, IsolationScratch);
            a.Label(ref loop);
            a.fxsave64(__[r14]);
            a.movzx(eax, __word_ptr[r14]);
            a.mov(ebx, (uint)state.X87Control);
            Check64("FCW");
            a.movzx(eax, __byte_ptr[r14 + 4]);
            a.mov(ebx, 0xFFu); // abridged tag word: all eight registers valid
            Check64("FTW");
            a.mov(eax, __dword_ptr[r14 + 24]);
            a.mov(ebx, state.Mxcsr);
            Check64("MXCSR");
            for (int i = 0; i < 8; i++)
            {
                var value = state.Stack[7 - i];
                a.mov(rax, __qword_ptr[r14 + 32 + 16 * i]);
                a.movzx(edx, __word_ptr[r14 + 32 + 16 * i + 8]);
                a.mov(rbx, value.Mantissa);
                a.mov(ecx, (uint)value.SignExponent);
                Check128($"ST{i}");
            }
            for (int i = 0; i < 16; i++)
            {
                a.mov(rax, __qword_ptr[r14 + 160 + 16 * i]);
                a.mov(rdx, __qword_ptr[r14 + 160 + 16 * i + 8]);
                a.mov(rbx, state.Xmm[i].Low);
                a.mov(rcx, state.Xmm[i].High);
                Check128($"XMM{i}");
            }
            a.xor(ecx, ecx);
            a.xgetbv();
            a.shl(rdx, 32);
            a.or(rax, rdx);
            a.mov(rbx, IsolationState.Xcr0);
            Check64("XCR0");
            // Each YMM register whole (VMOVDQU m256), its upper half compared: bits 127:0 are the XMM checked above.
            for (int i = 0; i < 16; i++)
                a.vmovdqu(__ymmword_ptr[r14 + YmmDump + 32 * i], ymms[i]);
            for (int i = 0; i < 16; i++)
            {
                a.mov(rax, __qword_ptr[r14 + YmmDump + 32 * i + 16]);
                a.mov(rdx, __qword_ptr[r14 + YmmDump + 32 * i + 24]);
                a.mov(rbx, state.YmmUpper[i].Low);
                a.mov(rcx, state.YmmUpper[i].High);
                Check128($"YMM{i} bits 255:128");
            }
            CheckMsr(0xC000_0081, state.Star, "IA32_STAR");
            CheckMsr(0xC000_0082, state.Lstar, "IA32_LSTAR");
            CheckMsr(0xC000_0084, state.Fmask, "IA32_FMASK");
            CheckMsr(0xC000_0102, state.KernelGsBase, "IA32_KERNEL_GS_BASE");
            CheckMsr(0xC000_0103, state.TscAux, "IA32_TSC_AUX (RDMSR)");
            CheckMsr(0xC000_0100, state.FsBase, "IA32_FS_BASE");
            CheckMsr(0xC000_0101, state.GsBase, "IA32_GS_BASE");
            a.rdtscp();
            a.mov(eax, ecx);
            a.mov(ebx, state.TscAux);
            Check64("IA32_TSC_AUX (RDTSCP)");
            for (int i = 0; i < 4; i++)
            {
                a.mov(rax, drs[i]);
                a.mov(rbx, state.Debug[i]);
                Check64($"DR{i}");
            }
            a.mov(rax, dr6);
            a.mov(rbx, state.Dr6);
            Check64("DR6");
            a.mov(rax, dr7);
            a.mov(rbx, state.Dr7);
            Check64("DR7");
            a.mov(rax, cr2);
            a.mov(rbx, state.Cr2);
            Check64("CR2");
            for (int i = 0; i < 4; i++)
            {
                a.mov(rax, generals[i]);
                a.mov(rbx, state.General[i]);
                Check64($"R{8 + i}");
            }
            a.inc(r15);
            a.cmp(r15, passes);
            a.jb(loop);

            Print("intact");
            a.mov(rax, r15);
            a.call(LabelOf("printNumber"));
            Print("passes");
            a.cli();
            a.hlt();

            a.Label(ref noAvx);
            Print("noAvx");
            a.cli();
            a.hlt();

            // A difference: keep what was found (printing clobbers the registers), name it, halt.
            var report = a.CreateLabel();
            foreach (var (label, name, wide) in failures)
            {
                var bound = label;
                Text("name_" + name, name);
                a.Label(ref bound);
                a.lea(rsi, __[LabelOf("name_" + name)]);
                a.mov(edi, wide ? 1u : 0u);
                a.jmp(report);
            }
            a.Label(ref report);
            a.mov(__qword_ptr[r14 + 0x200], rax);
            a.mov(__qword_ptr[r14 + 0x208], rdx);
            a.mov(__qword_ptr[r14 + 0x210], rbx);
            a.mov(__qword_ptr[r14 + 0x218], rcx);
            a.mov(__qword_ptr[r14 + 0x220], rsi);
            a.mov(__qword_ptr[r14 + 0x228], rdi);
            Print("mismatch");
            a.mov(rsi, __qword_ptr[r14 + 0x220]);
            a.call(LabelOf("print"));
            Print("expected");
            a.mov(rax, __qword_ptr[r14 + 0x218]);
            a.mov(rbx, __qword_ptr[r14 + 0x210]);
            a.call(LabelOf("printWide"));
            Print("got");
            a.mov(rax, __qword_ptr[r14 + 0x208]);
            a.mov(rbx, __qword_ptr[r14 + 0x200]);
            a.call(LabelOf("printWide"));
            Print("afterPass");
            a.mov(rax, r15);
            a.call(LabelOf("printNumber"));
            Print("close");
            a.cli();
            a.hlt();

            // printWide: "0xRAX:0xRBX" (bits 127:64, then 63:0) if the report is wide, else "0xRBX".
            var printWide = LabelOf("printWide");
            var narrow = a.CreateLabel();
            a.Label(ref printWide);
            _labels["printWide"] = printWide;
            a.cmp(__qword_ptr[r14 + 0x228], 0);
            a.je(narrow);
            a.call(LabelOf("printHex"));
            Print("halves");
            a.Label(ref narrow);
            a.mov(rax, rbx);
            a.call(LabelOf("printHex"));
            a.ret();

            EmitPrintHex();
            EmitPrintNumber();
            EmitPrintRoutineAndData();
        }
    }
}
