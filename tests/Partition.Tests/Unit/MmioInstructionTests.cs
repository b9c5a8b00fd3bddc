using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The register and flag semantics of decoded MMIO instructions: what a read leaves in the
    /// register (SDM Vol. 1, 3.4.1.1; MOVZX, MOVSX, MOVSXD in Vol. 2B), what a write stores, and
    /// the arithmetic flags of the read-modify-write forms, each worked out by hand.
    /// </summary>
    public class MmioInstructionTests
    {
        private const ulong Old = 0x1122_3344_5566_7788;

        private static MmioInstruction Decode(string hex, int bitness = 64)
        {
            Assert.That(MmioDecoder.TryDecode(MmioDecoderTests.Parse(hex), MmioDecoderTests.ModeOf(bitness), out var m, out var error),
                Is.True, error.ToString());
            return m;
        }

        [TestCase("8A 00", 0xABUL, 0x1122_3344_5566_77ABUL, TestName = "mov al: the other 56 bits stay")]
        [TestCase("8A 20", 0xABUL, 0x1122_3344_5566_AB88UL, TestName = "mov ah: bits 15-8, the rest stays")]
        [TestCase("40 8A 20", 0xABUL, 0x1122_3344_5566_77ABUL, TestName = "mov spl: with REX, register 4 is the low byte of RSP")]
        [TestCase("66 8B 00", 0xBEEFUL, 0x1122_3344_5566_BEEFUL, TestName = "mov ax: the other 48 bits stay")]
        [TestCase("8B 00", 0xDEAD_BEEFUL, 0x0000_0000_DEAD_BEEFUL, TestName = "mov eax: zero-extended to 64 bits")]
        [TestCase("48 8B 00", 0xFFEE_DDCC_BBAA_9988UL, 0xFFEE_DDCC_BBAA_9988UL, TestName = "mov rax: all 64 bits")]
        [TestCase("A0 00 00 C0 FE 00 00 00 00", 0x5AUL, 0x1122_3344_5566_775AUL, TestName = "mov al, moffs")]
        [TestCase("0F B6 00", 0x80UL, 0x80UL, TestName = "movzx eax, byte: zero-extended, upper half cleared")]
        [TestCase("66 0F B6 00", 0x80UL, 0x1122_3344_5566_0080UL, TestName = "movzx ax, byte: bits 63-16 stay")]
        [TestCase("48 0F B7 00", 0x8000UL, 0x8000UL, TestName = "movzx rax, word")]
        [TestCase("0F BE 00", 0x80UL, 0xFFFF_FF80UL, TestName = "movsx eax, byte: sign to 32 bits, then zero-extended")]
        [TestCase("66 0F BE 00", 0xFFUL, 0x1122_3344_5566_FFFFUL, TestName = "movsx ax, byte: bits 63-16 stay")]
        [TestCase("48 0F BF 00", 0x8000UL, 0xFFFF_FFFF_FFFF_8000UL, TestName = "movsx rax, word")]
        [TestCase("48 0F BE 00", 0x7FUL, 0x7FUL, TestName = "movsx rax, byte: positive stays positive")]
        [TestCase("48 63 00", 0x8000_0000UL, 0xFFFF_FFFF_8000_0000UL, TestName = "movsxd rax, dword")]
        [TestCase("63 00", 0x8000_0000UL, 0x8000_0000UL, TestName = "movsxd eax, dword (no REX.W): a 32-bit move")]
        [TestCase("8A 00", 0x1234UL, 0x1122_3344_5566_7734UL, TestName = "Only Size bytes of the value read count")]
        public void A_read_updates_the_register(string hex, ulong valueRead, ulong expected)
        {
            var m = Decode(hex);
            Assert.That(m.Kind, Is.EqualTo(MmioAccessKind.Read));
            Assert.That(m.ApplyRead(Old, valueRead), Is.EqualTo(expected));
        }

        [Test]
        public void A_32_bit_read_in_32_bit_mode_also_clears_the_upper_half()
        {
            var m = Decode("8B 00", 32);
            Assert.That(m.ApplyRead(0xFFFF_FFFF_0000_0000, 0x1234_5678), Is.EqualTo(0x1234_5678UL));
        }

        [TestCase("88 38", 3, true, 0xAA_BB_CC_DDUL, 0xCCUL, TestName = "mov [rax], bh: bits 15-8 of RBX")]
        [TestCase("40 88 38", 7, false, 0xAA_BB_CC_DDUL, 0xDDUL, TestName = "mov [rax], dil")]
        [TestCase("44 88 38", 15, false, 0xAA_BB_CC_DDUL, 0xDDUL, TestName = "mov [rax], r15b")]
        [TestCase("66 89 08", 1, false, 0xAA_BB_CC_DDUL, 0xCCDDUL, TestName = "mov [rax], cx")]
        [TestCase("89 08", 1, false, 0x1_AABB_CCDDUL, 0xAABB_CCDDUL, TestName = "mov [rax], ecx")]
        [TestCase("4C 89 38", 15, false, 0x1_AABB_CCDDUL, 0x1_AABB_CCDDUL, TestName = "mov [rax], r15")]
        [TestCase("A3 00 00 C0 FE 00 00 00 00", 0, false, 0x1_AABB_CCDDUL, 0xAABB_CCDDUL, TestName = "mov moffs, eax")]
        public void A_write_stores_the_register(string hex, int register, bool high, ulong registerValue, ulong expected)
        {
            var m = Decode(hex);
            Assert.That(m.Kind, Is.EqualTo(MmioAccessKind.Write));
            Assert.That((m.Register, m.IsHighByte), Is.EqualTo((register, high)));
            Assert.That(m.ValueToWrite(registerValue), Is.EqualTo(expected));
        }

        [TestCase("C6 00 80", 1, 0xFFFF_FFFF_FFFF_FF80UL, 0x80UL, TestName = "mov byte, imm8")]
        [TestCase("66 C7 00 34 12", 2, 0x1234UL, 0x1234UL, TestName = "mov word, imm16")]
        [TestCase("C7 00 00 00 00 80", 4, 0xFFFF_FFFF_8000_0000UL, 0x8000_0000UL, TestName = "mov dword, imm32")]
        [TestCase("48 C7 00 FF FF FF FF", 8, ulong.MaxValue, ulong.MaxValue, TestName = "mov qword, imm32 sign-extended to 64 bits")]
        [TestCase("48 C7 00 00 00 00 80", 8, 0xFFFF_FFFF_8000_0000UL, 0xFFFF_FFFF_8000_0000UL, TestName = "mov qword, negative imm32")]
        public void An_immediate_write_stores_the_sign_extended_immediate(string hex, int size, ulong immediate, ulong stored)
        {
            var m = Decode(hex);
            Assert.That(m.Kind, Is.EqualTo(MmioAccessKind.WriteImmediate));
            Assert.That(m.Size, Is.EqualTo(size));
            Assert.That(m.Register, Is.EqualTo(-1));
            Assert.That(m.Immediate, Is.EqualTo(immediate));
            Assert.That(m.ValueToWrite(0x5555), Is.EqualTo(stored), "the register is not used");
        }

        [Test]
        public void An_exchange_stores_the_register_and_loads_the_old_value()
        {
            var m = Decode("86 20"); // xchg [rax], ah
            Assert.That(m.Kind, Is.EqualTo(MmioAccessKind.Exchange));
            Assert.That(m.ValueToWrite(0x1234), Is.EqualTo(0x12UL));
            Assert.That(m.ApplyRead(0x1234, 0x56), Is.EqualTo(0x5634UL));
            Assert.That((m.ReadsMemory, m.WritesMemory), Is.EqualTo((true, true)));

            var d = Decode("87 08"); // xchg [rax], ecx
            Assert.That(d.ValueToWrite(0xFFFF_FFFF_0000_0001), Is.EqualTo(1UL));
            Assert.That(d.ApplyRead(0xFFFF_FFFF_0000_0001, 0x8000_0000), Is.EqualTo(0x8000_0000UL));
        }

        [Test]
        public void Reads_and_writes_are_told_apart_for_the_exit_qualification()
        {
            Assert.That((Decode("8B 00").ReadsMemory, Decode("8B 00").WritesMemory), Is.EqualTo((true, false)));
            Assert.That((Decode("89 00").ReadsMemory, Decode("89 00").WritesMemory), Is.EqualTo((false, true)));
            Assert.That((Decode("C7 00 01 00 00 00").ReadsMemory, Decode("C7 00 01 00 00 00").WritesMemory), Is.EqualTo((false, true)));
            Assert.That((Decode("83 00 01").ReadsMemory, Decode("83 00 01").WritesMemory), Is.EqualTo((true, true)));
            Assert.That((Decode("85 00").ReadsMemory, Decode("85 00").WritesMemory), Is.EqualTo((true, false)));
        }

        private const ulong CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;

        // Flags worked out by hand; RFLAGS starts with IF and bit 1 set and every arithmetic flag
        // set, so that a flag left set by mistake is seen.
        [TestCase("80 00 01", 0x7FUL, 0UL, 0x80UL, SF | OF | AF, TestName = "add byte 7F+1: overflow into the sign")]
        [TestCase("80 00 01", 0xFFUL, 0UL, 0x00UL, CF | ZF | AF | PF, TestName = "add byte FF+1: carry, zero")]
        [TestCase("00 20", 0x10UL, 0x0300UL, 0x13UL, 0UL, TestName = "add [rax], ah: 10+3, odd parity")]
        [TestCase("83 28 01", 0UL, 0UL, 0xFFFF_FFFFUL, CF | SF | AF | PF, TestName = "sub dword 0-1: borrow")]
        [TestCase("48 83 28 FF", 5UL, 0UL, 6UL, CF | AF | PF, TestName = "sub qword 5-(-1): imm8 sign-extended to 64 bits borrows")]
        [TestCase("66 81 00 01 80", 0x8000UL, 0UL, 0x0001UL, CF | OF, TestName = "add word 8000+8001: carry and overflow")]
        [TestCase("20 00", 0xF0UL, 0x0FUL, 0UL, ZF | PF, TestName = "and byte F0&0F: CF, OF, AF cleared")]
        [TestCase("09 00", 0x8000_0000UL, 0x1UL, 0x8000_0001UL, SF, TestName = "or dword")]
        [TestCase("66 31 00", 0xFFFFUL, 0x00FFUL, 0xFF00UL, SF | PF, TestName = "xor word")]
        public void Read_modify_write_computes_the_value_and_flags(string hex, ulong memory, ulong register, ulong result, ulong flags)
        {
            var m = Decode(hex);
            Assert.That(m.Kind, Is.EqualTo(MmioAccessKind.ReadModifyWrite));
            ulong rflags = 0x202 | MmioInstruction.ArithmeticFlags;
            Assert.That(m.Compute(memory, register, ref rflags), Is.EqualTo(result));
            Assert.That(rflags, Is.EqualTo(0x202 | flags));
        }

        [TestCase("81 38 01 00 00 00", 0x8000_0000UL, 0UL, OF | AF | PF, TestName = "cmp dword 80000000-1: overflow")]
        [TestCase("38 08", 0x05UL, 0x05UL, ZF | PF, TestName = "cmp byte [rax], cl: equal")]
        [TestCase("F7 00 00 01 00 00", 0x0100UL, 0UL, PF, TestName = "test dword with imm: nonzero, PF from the low byte only")]
        [TestCase("84 20", 0x80UL, 0x8000UL, SF, TestName = "test [rax], ah")]
        public void Compare_sets_flags_and_leaves_memory(string hex, ulong memory, ulong register, ulong flags)
        {
            var m = Decode(hex);
            Assert.That(m.Kind, Is.EqualTo(MmioAccessKind.Compare));
            ulong rflags = 0x202 | MmioInstruction.ArithmeticFlags;
            Assert.That(m.Compute(memory, register, ref rflags), Is.EqualTo(memory));
            Assert.That(rflags, Is.EqualTo(0x202 | flags));
        }
    }
}
