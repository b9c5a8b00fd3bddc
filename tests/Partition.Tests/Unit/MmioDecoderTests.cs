using System;
using System.Collections.Generic;
using System.Text;
using Iced.Intel;
using NUnit.Framework;
using Partition.Kernel;
using IcedRegister = Iced.Intel.Register;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The MMIO decoder against Iced: instructions are encoded by Iced's encoder in 16-, 32- and
    /// 64-bit mode over many registers, addressing forms and prefixes, decoded again by Iced's
    /// decoder, and what the MMIO decoder reports (length, width, direction, register,
    /// immediate, extension, segment, LOCK) must be what Iced's operands say. A fuzz test then
    /// feeds random prefix/opcode/ModRM combinations to both.
    /// </summary>
    public class MmioDecoderTests
    {
        private static readonly string[] Alu = { "Add", "Or", "And", "Sub", "Xor", "Cmp" };
        private static readonly int[] Widths = { 8, 16, 32, 64 };

        /// <summary>Every Iced Code the MMIO decoder must accept (with a memory operand).</summary>
        private static readonly Code[] Supported = SupportedCodes();
        private static readonly HashSet<Code> SupportedSet = new(Supported);

        private static Code[] SupportedCodes()
        {
            var codes = new List<Code>();
            void Add(string name) => codes.Add(Enum.Parse<Code>(name));
            foreach (int w in Widths)
            {
                Add($"Mov_rm{w}_r{w}");
                Add($"Mov_r{w}_rm{w}");
                Add($"Xchg_rm{w}_r{w}");
                Add($"Test_rm{w}_r{w}");
                foreach (var op in Alu)
                    Add($"{op}_rm{w}_r{w}");
                int imm = Math.Min(w, 32);
                Add($"Mov_rm{w}_imm{imm}");
                Add($"Test_rm{w}_imm{imm}");
                Add(w == 8 ? "Test_rm8_imm8_F6r1" : $"Test_rm{w}_imm{imm}_F7r1");
                foreach (var op in Alu)
                {
                    Add($"{op}_rm{w}_imm{imm}");
                    if (w > 8)
                        Add($"{op}_rm{w}_imm8");
                }
            }
            foreach (var ext in new[] { "Movzx", "Movsx" })
                foreach (var reg in new[] { 16, 32, 64 })
                    foreach (var mem in new[] { 8, 16 })
                        Add($"{ext}_r{reg}_rm{mem}");
            Add("Movsxd_r16_rm16");
            Add("Movsxd_r32_rm32");
            Add("Movsxd_r64_rm32");
            foreach (var (reg, w) in new[] { ("AL", 8), ("AX", 16), ("EAX", 32), ("RAX", 64) })
            {
                Add($"Mov_{reg}_moffs{w}");
                Add($"Mov_moffs{w}_{reg}");
            }
            return codes.ToArray();
        }

        private static IcedRegister[] RegistersOf(int width, int bitness) => (width, bitness) switch
        {
            (8, 64) => new[] { IcedRegister.AL, IcedRegister.CL, IcedRegister.DL, IcedRegister.BL, IcedRegister.AH, IcedRegister.CH,
                IcedRegister.DH, IcedRegister.BH, IcedRegister.SPL, IcedRegister.BPL, IcedRegister.SIL, IcedRegister.DIL,
                IcedRegister.R8L, IcedRegister.R15L },
            (8, _) => new[] { IcedRegister.AL, IcedRegister.CL, IcedRegister.DL, IcedRegister.BL, IcedRegister.AH, IcedRegister.CH,
                IcedRegister.DH, IcedRegister.BH },
            (16, 64) => new[] { IcedRegister.AX, IcedRegister.CX, IcedRegister.SP, IcedRegister.DI, IcedRegister.R8W, IcedRegister.R15W },
            (16, _) => new[] { IcedRegister.AX, IcedRegister.CX, IcedRegister.SP, IcedRegister.BP, IcedRegister.SI, IcedRegister.DI },
            (32, 64) => new[] { IcedRegister.EAX, IcedRegister.EDX, IcedRegister.EBP, IcedRegister.ESI, IcedRegister.R9D, IcedRegister.R14D },
            (32, _) => new[] { IcedRegister.EAX, IcedRegister.EDX, IcedRegister.EBX, IcedRegister.ESP, IcedRegister.EBP, IcedRegister.EDI },
            _ => new[] { IcedRegister.RAX, IcedRegister.RBX, IcedRegister.RSP, IcedRegister.RDI, IcedRegister.R10, IcedRegister.R12, IcedRegister.R15 },
        };

        private static MemoryOperand Mem(IcedRegister b, IcedRegister i = IcedRegister.None, int scale = 1, long disp = 0, int dispSize = 0,
            IcedRegister segment = IcedRegister.None) => new(b, i, scale, disp, dispSize, false, segment);

        private static MemoryOperand[] MemoryOperandsOf(int bitness) => bitness switch
        {
            64 => new[]
            {
                Mem(IcedRegister.RAX), Mem(IcedRegister.RBX, disp: 0x10, dispSize: 1), Mem(IcedRegister.RBP), Mem(IcedRegister.R13),
                Mem(IcedRegister.R12), Mem(IcedRegister.RSP, disp: -8, dispSize: 1), Mem(IcedRegister.RAX, IcedRegister.RCX, 4),
                Mem(IcedRegister.R8, IcedRegister.R15, 8, 0x1234_5678, 4), Mem(IcedRegister.RIP, disp: 0xFEC0_0010, dispSize: 8),
                Mem(IcedRegister.None, disp: 0xFEC0_0000, dispSize: 4), Mem(IcedRegister.None, IcedRegister.RDX, 2, 0x100, 4),
                Mem(IcedRegister.EAX), Mem(IcedRegister.R9D, disp: 0x40, dispSize: 1), Mem(IcedRegister.RSI, disp: 0x200, dispSize: 4),
                Mem(IcedRegister.RAX, segment: IcedRegister.FS), Mem(IcedRegister.R11, IcedRegister.RBX, 2, 8, 1, IcedRegister.GS),
                Mem(IcedRegister.RDI, segment: IcedRegister.DS), Mem(IcedRegister.RIP, disp: 0x2000, dispSize: 8, segment: IcedRegister.GS),
            },
            32 => new[]
            {
                Mem(IcedRegister.EAX), Mem(IcedRegister.EBX, disp: 8, dispSize: 1), Mem(IcedRegister.EBP, disp: 0x1000, dispSize: 4),
                Mem(IcedRegister.ESP), Mem(IcedRegister.EAX, IcedRegister.ECX, 4), Mem(IcedRegister.ESI, IcedRegister.EDI, 8, 0x1234_5678, 4),
                Mem(IcedRegister.None, disp: 0xFEC0_0010, dispSize: 4), Mem(IcedRegister.None, IcedRegister.EBP, 4, 0x20, 4),
                Mem(IcedRegister.BX, IcedRegister.SI), Mem(IcedRegister.BP, IcedRegister.DI, 1, 8, 1),
                Mem(IcedRegister.EDX, segment: IcedRegister.ES), Mem(IcedRegister.EAX, segment: IcedRegister.FS),
                Mem(IcedRegister.EBP, disp: 4, dispSize: 1, segment: IcedRegister.SS), Mem(IcedRegister.ECX, segment: IcedRegister.GS),
            },
            _ => new[]
            {
                Mem(IcedRegister.BX, IcedRegister.SI), Mem(IcedRegister.BP, disp: 8, dispSize: 1), Mem(IcedRegister.None, disp: 0x1234, dispSize: 2),
                Mem(IcedRegister.BX, disp: 0x1234, dispSize: 2), Mem(IcedRegister.SI), Mem(IcedRegister.DI, disp: 5, dispSize: 1),
                Mem(IcedRegister.BP, IcedRegister.SI, 1, 0x100, 2), Mem(IcedRegister.EAX, IcedRegister.ECX, 2),
                Mem(IcedRegister.None, disp: 0xFEC0_0010, dispSize: 4), Mem(IcedRegister.BX, segment: IcedRegister.ES),
                Mem(IcedRegister.SI, segment: IcedRegister.CS), Mem(IcedRegister.DI, segment: IcedRegister.FS),
                Mem(IcedRegister.BX, IcedRegister.DI, segment: IcedRegister.GS),
            },
        };

        /// <summary>One test case per mode and instruction form; each checks that form over every addressing form.</summary>
        public static IEnumerable<TestCaseData> Forms()
        {
            foreach (int bitness in new[] { 64, 32, 16 })
                foreach (var code in Supported)
                    if (EncodingsOf(code, bitness).Count > 0)
                        yield return new TestCaseData(code, bitness).SetName($"{bitness}-bit {code}");
        }

        /// <summary>The form encoded by Iced with each memory operand of the mode, registers and immediates rotating.</summary>
        private static List<byte[]> EncodingsOf(Code code, int bitness)
        {
            var encodings = new List<byte[]>();
            var memories = MemoryOperandsOf(bitness);
            int c = Array.IndexOf(Supported, code);
            for (int m = 0; m < memories.Length; m++)
            {
                if (!TryCreate(code, memories[m], bitness, c + m, out var instruction))
                    continue;
                // Prefixes Iced only emits when asked: LOCK where allowed, XRELEASE (F3) on MOV stores.
                var mnemonic = instruction.Mnemonic;
                if (m % 3 == 0 && mnemonic is Mnemonic.Xchg or Mnemonic.Add or Mnemonic.Or or Mnemonic.And or Mnemonic.Sub or Mnemonic.Xor)
                    instruction.HasLockPrefix = true;
                if (m % 4 == 1 && mnemonic == Mnemonic.Mov && instruction.Op0Kind == OpKind.Memory)
                    instruction.HasRepePrefix = true;
                var writer = new ByteWriter();
                var encoder = Iced.Intel.Encoder.Create(bitness, writer);
                if (encoder.TryEncode(instruction, 0x1000, out _, out _))
                    encodings.Add(writer.ToArray());
            }
            return encodings;
        }

        private static bool TryCreate(Code code, MemoryOperand memory, int bitness, int seed, out Instruction instruction)
        {
            instruction = default;
            var op = code.ToOpCode();
            if (bitness == 64 ? !op.Mode64 : bitness == 32 ? !op.Mode32 : !op.Mode16)
                return false;
            string name = code.ToString();
            if (name.Contains("moffs"))
            {
                // moffs has no ModRM: the memory operand only lends its address size (the width of
                // its base register) and its segment to an absolute offset of that size.
                int addressBytes = memory.Base.GetSize() is int s && s > 0 ? s : bitness / 8;
                if (memory.Base == IcedRegister.RIP || memory.Index != IcedRegister.None)
                    return false;
                var offset = new MemoryOperand(IcedRegister.None, IcedRegister.None, 1, (long)(0xFEC0_0010UL & (addressBytes == 2 ? 0xFFFFUL : ulong.MaxValue)),
                    addressBytes, false, memory.SegmentPrefix);
                var accumulator = AccumulatorOf(name);
                instruction = op.GetOpKind(0) == OpCodeOperandKind.mem_offs
                    ? Instruction.Create(code, offset, accumulator)
                    : Instruction.Create(code, accumulator, offset);
                return true;
            }
            if (op.GetOpKind(0) == OpCodeOperandKind.r8_or_mem || op.GetOpKind(0) == OpCodeOperandKind.r16_or_mem
                || op.GetOpKind(0) == OpCodeOperandKind.r32_or_mem || op.GetOpKind(0) == OpCodeOperandKind.r64_or_mem)
            {
                var kind1 = op.GetOpKind(1);
                if (kind1 is OpCodeOperandKind.r8_reg or OpCodeOperandKind.r16_reg or OpCodeOperandKind.r32_reg or OpCodeOperandKind.r64_reg)
                {
                    var registers = RegistersOf(RegisterWidth(kind1), bitness);
                    instruction = Instruction.Create(code, memory, registers[seed % registers.Length]);
                    return true;
                }
                instruction = kind1 switch
                {
                    OpCodeOperandKind.imm8 => Instruction.Create(code, memory, seed % 2 == 0 ? 0x80 : 0x7F),
                    OpCodeOperandKind.imm8sex16 or OpCodeOperandKind.imm8sex32 or OpCodeOperandKind.imm8sex64
                        => Instruction.Create(code, memory, seed % 2 == 0 ? -128 : 0x7F),
                    OpCodeOperandKind.imm16 => Instruction.Create(code, memory, seed % 2 == 0 ? 0x8001 : 0x1234),
                    OpCodeOperandKind.imm32 => Instruction.Create(code, memory, seed % 2 == 0 ? 0x8000_0001u : 0x1234_5678u),
                    OpCodeOperandKind.imm32sex64 => Instruction.Create(code, memory, seed % 2 == 0 ? int.MinValue + 1 : 0x1234_5678),
                    _ => throw new InvalidOperationException($"{code}: operand {kind1}"),
                };
                return true;
            }
            var registersOf0 = RegistersOf(RegisterWidth(op.GetOpKind(0)), bitness);
            instruction = Instruction.Create(code, registersOf0[seed % registersOf0.Length], memory);
            return true;
        }

        private static IcedRegister AccumulatorOf(string moffsCode) =>
            moffsCode.Contains("AL") ? IcedRegister.AL : moffsCode.Contains("RAX") ? IcedRegister.RAX
            : moffsCode.Contains("EAX") ? IcedRegister.EAX : IcedRegister.AX;

        private static int RegisterWidth(OpCodeOperandKind kind) => kind switch
        {
            OpCodeOperandKind.r8_reg or OpCodeOperandKind.r8_or_mem => 8,
            OpCodeOperandKind.r16_reg or OpCodeOperandKind.r16_or_mem => 16,
            OpCodeOperandKind.r32_reg or OpCodeOperandKind.r32_or_mem => 32,
            _ => 64,
        };

        [TestCaseSource(nameof(Forms))]
        public void Decodes_like_Iced(Code code, int bitness)
        {
            var mismatches = new List<string>();
            foreach (var bytes in EncodingsOf(code, bitness))
            {
                var iced = IcedDecode(bytes, bitness);
                if (iced.IsInvalid || iced.Code != code)
                    mismatches.Add($"{Hex(bytes)}: Iced decodes its own encoding as {iced.Code}");
                else if (!MmioDecoder.TryDecode(bytes, ModeOf(bitness), out var decoded, out var error))
                    mismatches.Add($"{Format(bytes, bitness)}: refused, {error}");
                else if (Summary.Of(decoded) is var actual && !actual.Equals(Summary.Expected(iced, bitness)))
                    mismatches.Add($"{Format(bytes, bitness)}: ours {actual}, Iced {Summary.Expected(iced, bitness)}");
            }
            Assert.That(mismatches, Is.Empty);
        }

        [Test]
        public void The_generated_encodings_cover_every_mode_and_enough_forms()
        {
            var perMode = new Dictionary<int, int>();
            foreach (int bitness in new[] { 64, 32, 16 })
                foreach (var code in Supported)
                    perMode[bitness] = perMode.GetValueOrDefault(bitness) + EncodingsOf(code, bitness).Count;
            TestContext.Out.WriteLine($"encodings: 64-bit {perMode[64]}, 32-bit {perMode[32]}, 16-bit {perMode[16]}");
            Assert.That(perMode[64], Is.GreaterThan(1000));
            Assert.That(perMode[32], Is.GreaterThan(700));
            Assert.That(perMode[16], Is.GreaterThan(600));
        }

        /// <summary>
        /// Random prefixes, opcodes (ours and their neighbours) and ModRM bytes, decoded by both:
        /// whatever we accept, Iced decodes to a supported instruction with the same fields; every
        /// supported instruction with a memory operand that Iced accepts, we accept.
        /// </summary>
        [TestCase(64)]
        [TestCase(32)]
        [TestCase(16)]
        public void Agrees_with_Iced_on_random_encodings(int bitness)
        {
            var random = new Random(0x6D6D696F + bitness);
            byte[] prefixes = { 0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65 };
            byte[] opcodes =
            {
                0x88, 0x89, 0x8A, 0x8B, 0x86, 0x87, 0x00, 0x01, 0x08, 0x09, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31, 0x38, 0x39,
                0x84, 0x85, 0x80, 0x81, 0x83, 0xC6, 0xC7, 0xF6, 0xF7, 0xA0, 0xA1, 0xA2, 0xA3, 0x63, 0x0F,
                // neighbours that must be refused
                0x82, 0x10, 0x11, 0x18, 0x19, 0x02, 0x03, 0x8C, 0x8E, 0x8D, 0xA4, 0xA5, 0xAB, 0xAD, 0xFE, 0xFF, 0xC4, 0xC5, 0x62, 0x6E,
            };
            byte[] twoByte = { 0xB6, 0xB7, 0xBE, 0xBF, 0xB8, 0xBC, 0xB0, 0xB1, 0xC0, 0xC1, 0xC3, 0x38 };
            int accepted = 0, compared = 0;
            var failures = new List<string>();
            var bytes = new byte[15];
            for (int n = 0; n < 30000 && failures.Count < 20; n++)
            {
                random.NextBytes(bytes);
                int i = 0;
                int prefixCount = random.Next(8) switch { < 4 => 0, < 6 => 1, 6 => 2, _ => 5 };
                for (int p = 0; p < prefixCount; p++)
                    bytes[i++] = prefixes[random.Next(prefixes.Length)];
                if (bitness == 64 && random.Next(2) == 0)
                {
                    bytes[i++] = (byte)(0x40 | random.Next(16));
                    if (random.Next(16) == 0)
                        bytes[i++] = prefixes[random.Next(prefixes.Length)];
                }
                byte opcode = opcodes[random.Next(opcodes.Length)];
                bytes[i++] = opcode;
                if (opcode == 0x0F)
                    bytes[i++] = twoByte[random.Next(twoByte.Length)];
                // Mostly memory operands: mod 11 one time in eight.
                if (random.Next(8) != 0 && (bytes[i] & 0xC0) == 0xC0)
                    bytes[i] &= 0x7F;

                bool ours = MmioDecoder.TryDecode(bytes, ModeOf(bitness), out var decoded, out var error);
                var iced = IcedDecode(bytes, bitness);
                bool icedSupported = !iced.IsInvalid && SupportedSet.Contains(iced.Code) && HasMemoryOperand(iced);
                if (ours)
                    accepted++;
                if (ours != icedSupported)
                {
                    failures.Add($"{Hex(bytes)}: ours {(ours ? "accepts" : error.ToString())}, Iced {(iced.IsInvalid ? "invalid" : iced.Code.ToString())}");
                    continue;
                }
                if (!ours)
                    continue;
                compared++;
                var expected = Summary.Expected(iced, bitness);
                var actual = Summary.Of(decoded);
                if (!actual.Equals(expected))
                    failures.Add($"{Hex(bytes, iced.Length)} ({Format(bytes, bitness)}): ours {actual}, Iced {expected}");
            }
            Assert.That(failures, Is.Empty);
            Assert.That(compared, Is.GreaterThan(8000), "enough of the random encodings were instructions we emulate");
            TestContext.Out.WriteLine($"{bitness}-bit: {accepted} accepted and compared field by field");
        }

        // Prefix orders and corner cases, checked against Iced as well.
        [TestCase(64, "40 66 89 08", TestName = "REX before 66 is ignored: 16-bit store from CX, not RCX")]
        [TestCase(64, "66 48 89 08", TestName = "REX.W wins over 66")]
        [TestCase(64, "48 40 8B 08", TestName = "Only the last REX counts")]
        [TestCase(64, "64 3E 8B 00", TestName = "DS after FS is a null prefix in 64-bit mode")]
        [TestCase(32, "64 3E 8B 00", TestName = "The last segment override wins in 32-bit mode")]
        [TestCase(64, "40 88 20", TestName = "REX 40 makes byte register 4 SPL")]
        [TestCase(64, "88 20", TestName = "Without REX byte register 4 is AH")]
        [TestCase(64, "44 88 38", TestName = "REX.R makes byte register 15 R15L")]
        [TestCase(64, "41 0F B6 7C 24 08", TestName = "REX.B with r/m 100 still has a SIB (R12)")]
        [TestCase(64, "41 8B 45 00", TestName = "REX.B with mod 00 r/m 101 is R13 with disp8 0, not RIP")]
        [TestCase(64, "8B 05 10 00 C0 FE", TestName = "mod 00 r/m 101 is RIP-relative disp32")]
        [TestCase(64, "67 A1 10 00 C0 FE", TestName = "67 makes moffs 4 bytes in 64-bit mode")]
        [TestCase(64, "48 A3 10 00 C0 FE 00 00 00 00", TestName = "moffs is 8 bytes in 64-bit mode")]
        [TestCase(16, "66 67 8B 04 8D 10 00 C0 FE", TestName = "16-bit mode with 66 and 67: 32-bit operand and SIB addressing")]
        [TestCase(16, "A1 34 12", TestName = "moffs is 2 bytes in 16-bit mode")]
        [TestCase(32, "67 8B 46 08", TestName = "67 gives 16-bit addressing in 32-bit mode: [bp+8]")]
        [TestCase(64, "F0 87 08", TestName = "LOCK XCHG")]
        [TestCase(64, "F3 C7 00 01 00 00 00", TestName = "XRELEASE MOV is a MOV")]
        [TestCase(64, "48 C7 00 FF FF FF FF", TestName = "MOV m64, imm32 sign-extends")]
        [TestCase(64, "66 81 00 34 12", TestName = "66 makes the immediate 16 bits")]
        [TestCase(64, "F6 48 10 01", TestName = "F6 /1 is TEST")]
        [TestCase(64, "48 63 08", TestName = "MOVSXD r64, m32")]
        [TestCase(64, "26 2E 36 3E 66 F2 64 48 8B 04 25 00 00 C0 FE", TestName = "Fifteen bytes is the limit, and is allowed")]
        public void Prefix_corner_cases_decode_like_Iced(int bitness, string hex)
        {
            byte[] bytes = Parse(hex);
            var iced = IcedDecode(bytes, bitness);
            Assert.That(iced.IsInvalid, Is.False);
            Assert.That(iced.Length, Is.EqualTo(bytes.Length), "the case is exactly one instruction");
            Assert.That(MmioDecoder.TryDecode(bytes, ModeOf(bitness), out var decoded, out var error), Is.True, error.ToString());
            Assert.That(Summary.Of(decoded), Is.EqualTo(Summary.Expected(iced, bitness)));
        }

        [TestCase(64, "8B", MmioDecodeError.Truncated, TestName = "No ModRM: truncated")]
        [TestCase(64, "8B 04", MmioDecodeError.Truncated, TestName = "No SIB: truncated")]
        [TestCase(64, "8B 80 00 00", MmioDecodeError.Truncated, TestName = "Half a disp32: truncated")]
        [TestCase(64, "C7 00 01 00", MmioDecodeError.Truncated, TestName = "Half an imm32: truncated")]
        [TestCase(64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 8B 00", MmioDecodeError.TooLong, TestName = "Sixteen bytes: too long")]
        [TestCase(64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 66 8B", MmioDecodeError.TooLong, TestName = "Fifteen prefixes: too long")]
        [TestCase(64, "89 C8", MmioDecodeError.RegisterOperand, TestName = "MOV between registers has no memory operand")]
        [TestCase(64, "F3 A5", MmioDecodeError.StringInstruction, TestName = "REP MOVSD is refused")]
        [TestCase(64, "AA", MmioDecodeError.StringInstruction, TestName = "STOSB is refused")]
        [TestCase(32, "6F", MmioDecodeError.StringInstruction, TestName = "OUTSD is refused")]
        [TestCase(64, "F0 89 08", MmioDecodeError.InvalidEncoding, TestName = "LOCK MOV is #UD")]
        [TestCase(64, "F0 39 08", MmioDecodeError.InvalidEncoding, TestName = "LOCK CMP is #UD")]
        [TestCase(64, "F0 A1 00 00 00 00 00 00 00 00", MmioDecodeError.InvalidEncoding, TestName = "LOCK MOV moffs is #UD")]
        [TestCase(64, "C7 08 01 00 00 00", MmioDecodeError.InvalidEncoding, TestName = "C7 /1 is #UD")]
        [TestCase(64, "80 10 01", MmioDecodeError.UnsupportedOpcode, TestName = "ADC needs CF: not emulated")]
        [TestCase(64, "F7 18", MmioDecodeError.UnsupportedOpcode, TestName = "NEG is not emulated")]
        [TestCase(64, "3A 00", MmioDecodeError.UnsupportedOpcode, TestName = "CMP r, m (register on the left) is not emulated")]
        [TestCase(32, "63 08", MmioDecodeError.UnsupportedOpcode, TestName = "63 is ARPL outside 64-bit mode")]
        [TestCase(32, "48 8B 00", MmioDecodeError.UnsupportedOpcode, TestName = "48 is DEC EAX outside 64-bit mode, not REX")]
        [TestCase(64, "0F B8 00", MmioDecodeError.UnsupportedOpcode, TestName = "Other 0F opcodes are not emulated")]
        [TestCase(64, "", MmioDecodeError.Truncated, TestName = "No bytes at all")]
        public void Refuses_with_a_reason(int bitness, string hex, MmioDecodeError expected)
        {
            Assert.That(MmioDecoder.TryDecode(Parse(hex), ModeOf(bitness), out _, out var error), Is.False);
            Assert.That(error, Is.EqualTo(expected));
            Assert.That(MmioDecoder.Describe(error), Is.Not.Empty);
        }

        [TestCase(0x0000UL, 0UL, InstructionMode.Bits16, TestName = "Real mode: CS.D = 0")]
        [TestCase(0xC09BUL, 0UL, InstructionMode.Bits32, TestName = "32-bit code: CS.D = 1")]
        [TestCase(0xA09BUL, 0x500UL, InstructionMode.Bits64, TestName = "64-bit code: CS.L = 1 with EFER.LMA")]
        [TestCase(0xC09BUL, 0x500UL, InstructionMode.Bits32, TestName = "Compatibility mode: CS.L = 0, CS.D = 1")]
        [TestCase(0x809BUL, 0x500UL, InstructionMode.Bits16, TestName = "16-bit compatibility mode")]
        public void The_mode_comes_from_the_code_segment(ulong accessRights, ulong efer, InstructionMode expected) =>
            Assert.That(MmioDecoder.ModeOf(accessRights, efer), Is.EqualTo(expected));

        /// <summary>What the decoder reports, in one comparable value.</summary>
        private readonly record struct Summary(int Length, int Size, MmioAccessKind Kind, MmioOperation Operation, int Register,
            bool HighByte, bool HasImmediate, ulong Immediate, MmioExtension Extension, int DestinationSize, SegmentOverride Segment,
            bool Lock)
        {
            public static Summary Of(MmioInstruction m) => new(m.Length, m.Size, m.Kind, m.Operation, m.Register, m.IsHighByte,
                m.HasImmediate, m.HasImmediate ? m.Immediate & m.Mask : 0, m.Extension, m.DestinationSize, m.Segment, m.HasLock);

            /// <summary>The same fields, from Iced's decoded operands alone.</summary>
            public static Summary Expected(Instruction d, int bitness)
            {
                int size = d.MemorySize.GetSize();
                ulong mask = size == 8 ? ulong.MaxValue : (1UL << (size * 8)) - 1;
                bool memoryFirst = d.Op0Kind == OpKind.Memory;
                var (kind, operation) = d.Mnemonic switch
                {
                    Mnemonic.Mov when !memoryFirst => (MmioAccessKind.Read, MmioOperation.None),
                    Mnemonic.Mov when d.Op1Kind == OpKind.Register => (MmioAccessKind.Write, MmioOperation.None),
                    Mnemonic.Mov => (MmioAccessKind.WriteImmediate, MmioOperation.None),
                    Mnemonic.Movzx or Mnemonic.Movsx or Mnemonic.Movsxd => (MmioAccessKind.Read, MmioOperation.None),
                    Mnemonic.Xchg => (MmioAccessKind.Exchange, MmioOperation.None),
                    Mnemonic.Add => (MmioAccessKind.ReadModifyWrite, MmioOperation.Add),
                    Mnemonic.Or => (MmioAccessKind.ReadModifyWrite, MmioOperation.Or),
                    Mnemonic.And => (MmioAccessKind.ReadModifyWrite, MmioOperation.And),
                    Mnemonic.Sub => (MmioAccessKind.ReadModifyWrite, MmioOperation.Sub),
                    Mnemonic.Xor => (MmioAccessKind.ReadModifyWrite, MmioOperation.Xor),
                    Mnemonic.Cmp => (MmioAccessKind.Compare, MmioOperation.Cmp),
                    Mnemonic.Test => (MmioAccessKind.Compare, MmioOperation.Test),
                    _ => throw new InvalidOperationException(d.Code.ToString()),
                };
                int register = -1;
                bool high = false;
                int destination = size;
                bool hasImmediate = false;
                ulong immediate = 0;
                for (int op = 0; op < d.OpCount; op++)
                {
                    switch (d.GetOpKind(op))
                    {
                        case OpKind.Register:
                            var r = d.GetOpRegister(op);
                            high = r is IcedRegister.AH or IcedRegister.CH or IcedRegister.DH or IcedRegister.BH;
                            register = high ? r - IcedRegister.AH : r.GetFullRegister() - IcedRegister.RAX;
                            if (kind == MmioAccessKind.Read)
                                destination = r.GetSize();
                            break;
                        case OpKind.Memory:
                            break;
                        default:
                            hasImmediate = true;
                            immediate = d.GetImmediate(op) & mask;
                            break;
                    }
                }
                var extension = d.Mnemonic switch
                {
                    Mnemonic.Movzx => MmioExtension.Zero,
                    Mnemonic.Movsx => MmioExtension.Sign,
                    Mnemonic.Movsxd when destination == 8 => MmioExtension.Sign,
                    _ => MmioExtension.None,
                };
                var segment = d.SegmentPrefix switch
                {
                    IcedRegister.FS => SegmentOverride.Fs,
                    IcedRegister.GS => SegmentOverride.Gs,
                    _ when bitness == 64 => SegmentOverride.None,
                    IcedRegister.ES => SegmentOverride.Es,
                    IcedRegister.CS => SegmentOverride.Cs,
                    IcedRegister.SS => SegmentOverride.Ss,
                    IcedRegister.DS => SegmentOverride.Ds,
                    _ => SegmentOverride.None,
                };
                return new Summary(d.Length, size, kind, operation, register, high, hasImmediate, immediate, extension, destination,
                    segment, d.HasLockPrefix);
            }
        }

        private static bool HasMemoryOperand(in Instruction d)
        {
            for (int op = 0; op < d.OpCount; op++)
                if (d.GetOpKind(op) == OpKind.Memory)
                    return true;
            return false;
        }

        internal static InstructionMode ModeOf(int bitness) =>
            bitness == 64 ? InstructionMode.Bits64 : bitness == 32 ? InstructionMode.Bits32 : InstructionMode.Bits16;

        private static Instruction IcedDecode(byte[] bytes, int bitness)
        {
            var decoder = Iced.Intel.Decoder.Create(bitness, new ByteArrayCodeReader(bytes));
            decoder.IP = 0x1000;
            decoder.Decode(out var instruction);
            return instruction;
        }

        private static string Format(byte[] bytes, int bitness)
        {
            var d = IcedDecode(bytes, bitness);
            var output = new StringOutput();
            new NasmFormatter().Format(d, output);
            return $"{output.ToStringAndReset()} ({Hex(bytes, d.IsInvalid ? bytes.Length : d.Length)})";
        }

        private static string Hex(byte[] bytes, int length = -1)
        {
            var text = new StringBuilder();
            for (int i = 0; i < (length < 0 ? bytes.Length : length); i++)
                text.Append(i == 0 ? "" : " ").Append(bytes[i].ToString("X2"));
            return text.ToString();
        }

        internal static byte[] Parse(string hex)
        {
            var parts = hex.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var bytes = new byte[parts.Length];
            for (int i = 0; i < parts.Length; i++)
                bytes[i] = Convert.ToByte(parts[i], 16);
            return bytes;
        }

        private sealed class ByteWriter : CodeWriter
        {
            private readonly List<byte> _bytes = new();
            public override void WriteByte(byte value) => _bytes.Add(value);
            public byte[] ToArray() => _bytes.ToArray();
        }
    }
}
