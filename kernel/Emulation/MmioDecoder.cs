using System;

namespace Partition.Kernel
{
    /// <summary>
    /// The default operand and address size the guest's code segment gives (SDM Vol. 3A, 5.2.1:
    /// CS.L in IA-32e mode, else CS.D; real and virtual-8086 mode are 16-bit).
    /// </summary>
    public enum InstructionMode : byte
    {
        Bits16,
        Bits32,
        Bits64,
    }

    /// <summary>Why an instruction could not be decoded for MMIO emulation.</summary>
    public enum MmioDecodeError : byte
    {
        None,
        /// <summary>The bytes end before the instruction does (the page after it was not readable).</summary>
        Truncated,
        /// <summary>More than 15 bytes (SDM Vol. 2A, 2.3.11): the processor would have raised #GP.</summary>
        TooLong,
        /// <summary>An instruction the emulator does not handle.</summary>
        UnsupportedOpcode,
        /// <summary>MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS: string instructions are not emulated.</summary>
        StringInstruction,
        /// <summary>ModRM names a register, not memory: this instruction cannot have accessed MMIO.</summary>
        RegisterOperand,
        /// <summary>An encoding that raises #UD (LOCK on a MOV, C6 /1, ...): it cannot have run.</summary>
        InvalidEncoding,
    }

    /// <summary>
    /// Decodes the instruction behind an MMIO exit: the memory-operand instructions a kernel uses
    /// on device registers (Linux's readl/writel are MOVs; also XCHG, MOVZX, MOVSX and the
    /// read-modify-write ALU forms). The exit already gives the address, so ModRM, SIB and
    /// displacements are only measured, never evaluated. Allocates nothing.
    /// </summary>
    public static class MmioDecoder
    {
        /// <summary>The longest instruction the processor executes (SDM Vol. 2A, 2.3.11).</summary>
        public const int MaxInstructionLength = 15;

        private const int RexW = 8;
        private const int RexR = 4;

        /// <summary>
        /// The mode from the guest's CS access rights as the VMCS holds them (SDM Vol. 3C, 25.4.1,
        /// table 25-2: bit 13 L, bit 14 D/B) and its IA32_EFER (bit 10 LMA).
        /// </summary>
        public static InstructionMode ModeOf(ulong csAccessRights, ulong efer)
        {
            if ((efer & 1UL << 10) != 0 && (csAccessRights & 1UL << 13) != 0)
                return InstructionMode.Bits64;
            return (csAccessRights & 1UL << 14) != 0 ? InstructionMode.Bits32 : InstructionMode.Bits16;
        }

        /// <summary>
        /// Decodes the instruction at the start of <paramref name="code"/> (up to
        /// <see cref="MaxInstructionLength"/> bytes fetched at the guest's RIP).
        /// </summary>
        public static bool TryDecode(ReadOnlySpan<byte> code, InstructionMode mode, out MmioInstruction instruction,
            out MmioDecodeError error)
        {
            instruction = default;
            bool is64 = mode == InstructionMode.Bits64;
            bool operandSizePrefix = false, addressSizePrefix = false, hasLock = false;
            int rex = 0;
            var segment = SegmentOverride.None;
            int i = 0;

            // Legacy prefixes in any order, then REX, which counts only right before the opcode
            // (SDM Vol. 2A, 2.1.1 and 2.2.1). F2/F3 are ignored: on these instructions they are
            // no-ops or the XACQUIRE/XRELEASE hints; the string instructions are refused below.
            for (;; i++)
            {
                if (!TryByte(code, i, out byte b, out error))
                    return false;
                if (is64 && (b & 0xF0) == 0x40)
                {
                    rex = b;
                    continue;
                }
                if (!IsLegacyPrefix(b))
                    break;
                rex = 0;   // a REX followed by a legacy prefix is ignored
                switch (b)
                {
                    case 0x66: operandSizePrefix = true; break;
                    case 0x67: addressSizePrefix = true; break;
                    case 0xF0: hasLock = true; break;
                    case 0xF2: case 0xF3: break;
                    case 0x26: if (!is64) segment = SegmentOverride.Es; break;
                    case 0x2E: if (!is64) segment = SegmentOverride.Cs; break;
                    case 0x36: if (!is64) segment = SegmentOverride.Ss; break;
                    case 0x3E: if (!is64) segment = SegmentOverride.Ds; break;
                    case 0x64: segment = SegmentOverride.Fs; break;
                    case 0x65: segment = SegmentOverride.Gs; break;
                }
            }

            // Operand size: 66 toggles 16/32, REX.W makes it 64 and wins over 66; the address size
            // defaults to the mode's and 67 toggles it (SDM Vol. 1, 3.6 and 3.6.1, table 3-4).
            int operandSize = (rex & RexW) != 0 ? 8 : (mode == InstructionMode.Bits16) != operandSizePrefix ? 2 : 4;
            int addressSize = is64 ? (addressSizePrefix ? 4 : 8) : (mode == InstructionMode.Bits16) != addressSizePrefix ? 2 : 4;
            byte opcode = code[i++];

            // What is decoded, before ModRM and immediate are measured.
            MmioAccessKind kind;
            var operation = MmioOperation.None;
            var extension = MmioExtension.None;
            int size;                 // memory access width
            int destinationSize;      // register written by a read
            int immediateSize = 0;    // bytes of immediate
            bool byteRegister;        // the ModRM.reg operand is an 8-bit register
            bool lockable = false;    // LOCK is allowed (SDM Vol. 2A, LOCK): else #UD
            int group = -1;           // ModRM.reg is an opcode extension: the /digit
            bool moffs = false;

            switch (opcode)
            {
                case 0x88: case 0x89:
                    kind = MmioAccessKind.Write;
                    break;
                case 0x8A: case 0x8B:
                    kind = MmioAccessKind.Read;
                    break;
                case 0x86: case 0x87:
                    kind = MmioAccessKind.Exchange;
                    lockable = true;
                    break;
                case 0x00: case 0x01: case 0x08: case 0x09: case 0x20: case 0x21:
                case 0x28: case 0x29: case 0x30: case 0x31:
                    kind = MmioAccessKind.ReadModifyWrite;
                    operation = GroupOneOperation(opcode >> 3);
                    lockable = true;
                    break;
                case 0x38: case 0x39:
                    kind = MmioAccessKind.Compare;
                    operation = MmioOperation.Cmp;
                    break;
                case 0x84: case 0x85:
                    kind = MmioAccessKind.Compare;
                    operation = MmioOperation.Test;
                    break;
                case 0x80: case 0x81: case 0x83:
                    // Group 1 (SDM Vol. 2D, table A-6); ADC and SBB need CF: not emulated.
                    kind = MmioAccessKind.ReadModifyWrite;
                    immediateSize = opcode == 0x81 ? Math.Min(operandSize, 4) : 1;
                    group = 1;
                    break;
                case 0xC6: case 0xC7:
                    kind = MmioAccessKind.WriteImmediate;
                    immediateSize = opcode == 0xC7 ? Math.Min(operandSize, 4) : 1;
                    group = 11;
                    break;
                case 0xF6: case 0xF7:
                    kind = MmioAccessKind.Compare;
                    operation = MmioOperation.Test;
                    immediateSize = opcode == 0xF7 ? Math.Min(operandSize, 4) : 1;
                    group = 3;
                    break;
                case 0xA0: case 0xA1:
                    kind = MmioAccessKind.Read;
                    moffs = true;
                    break;
                case 0xA2: case 0xA3:
                    kind = MmioAccessKind.Write;
                    moffs = true;
                    break;
                case 0x63:
                    // MOVSXD in 64-bit mode; ARPL elsewhere.
                    if (!is64)
                        return Fail(MmioDecodeError.UnsupportedOpcode, out error);
                    kind = MmioAccessKind.Read;
                    break;
                case 0x0F:
                    return TryDecodeTwoByte(code, i, operandSize, addressSize, rex, segment, hasLock, out instruction, out error);
                case 0x6C: case 0x6D: case 0x6E: case 0x6F:
                case 0xA4: case 0xA5: case 0xA6: case 0xA7:
                case 0xAA: case 0xAB: case 0xAC: case 0xAD: case 0xAE: case 0xAF:
                    return Fail(MmioDecodeError.StringInstruction, out error);
                default:
                    return Fail(MmioDecodeError.UnsupportedOpcode, out error);
            }

            // Even opcodes of these rows are the byte forms (the w bit, SDM Vol. 2D, B.1.4.3).
            // MOVSXD (0x63) reads a doubleword into a 64-bit register.
            byteRegister = (opcode & 1) == 0;
            size = byteRegister ? 1 : opcode == 0x63 ? Math.Min(operandSize, 4) : operandSize;
            destinationSize = opcode == 0x63 ? operandSize : size;
            if (opcode == 0x63 && operandSize == 8)
                extension = MmioExtension.Sign;

            if (moffs)
            {
                // The offset is as wide as the address size; the register is AL or rAX.
                int length = i + addressSize;
                if (!CheckLength(code, length, out error))
                    return false;
                if (hasLock)
                    return Fail(MmioDecodeError.InvalidEncoding, out error);
                instruction = new MmioInstruction(length, size, kind, operation, 0, false, false, 0, extension,
                    destinationSize, segment, false);
                return true;
            }

            if (!TryMeasureModRm(code, i, addressSize, out byte modRm, out int modRmLength, out error))
                return false;
            int digit = modRm >> 3 & 7;
            int register = -1;
            bool isHighByte = false;
            if (group == 1)
            {
                operation = GroupOneOperation(digit);
                if (operation == MmioOperation.None)
                    return Fail(MmioDecodeError.UnsupportedOpcode, out error);
                if (operation == MmioOperation.Cmp)
                    kind = MmioAccessKind.Compare;
                else
                    lockable = true;
            }
            else if (group == 11)
            {
                // C6/C7 /1-/7 are #UD with a memory operand (XABORT and XBEGIN are C6 F8 and C7 F8).
                if (digit != 0)
                    return Fail(MmioDecodeError.InvalidEncoding, out error);
            }
            else if (group == 3)
            {
                // F6/F7 /1 is an alias of TEST /0; the rest of group 3 (NOT, NEG, MUL, DIV) is not emulated.
                if (digit > 1)
                    return Fail(MmioDecodeError.UnsupportedOpcode, out error);
            }
            else
            {
                register = digit | ((rex & RexR) != 0 ? 8 : 0);
                // Without REX, byte registers 4-7 are AH, CH, DH, BH; with any REX they are
                // SPL, BPL, SIL, DIL (SDM Vol. 2A, 3.1.1.1 and 2.2.1.2).
                if (byteRegister && rex == 0 && register >= 4)
                {
                    register -= 4;
                    isHighByte = true;
                }
            }
            if (hasLock && !lockable)
                return Fail(MmioDecodeError.InvalidEncoding, out error);

            int end = i + modRmLength + immediateSize;
            if (!CheckLength(code, end, out error))
                return false;
            ulong immediate = 0;
            if (immediateSize != 0)
            {
                // Immediates are sign-extended to the operand size (SDM Vol. 2A, 2.2.1.5 for REX.W).
                for (int k = immediateSize - 1; k >= 0; k--)
                    immediate = immediate << 8 | code[i + modRmLength + k];
                int unused = 64 - immediateSize * 8;
                immediate = (ulong)((long)(immediate << unused) >> unused);
            }
            instruction = new MmioInstruction(end, size, kind, operation, register, isHighByte, immediateSize != 0,
                immediate, extension, destinationSize, segment, hasLock);
            error = MmioDecodeError.None;
            return true;
        }

        /// <summary>The 0F map: MOVZX (0F B6, 0F B7) and MOVSX (0F BE, 0F BF).</summary>
        private static bool TryDecodeTwoByte(ReadOnlySpan<byte> code, int i, int operandSize, int addressSize, int rex,
            SegmentOverride segment, bool hasLock, out MmioInstruction instruction, out MmioDecodeError error)
        {
            instruction = default;
            if (!TryByte(code, i, out byte opcode, out error))
                return false;
            i++;
            if (opcode != 0xB6 && opcode != 0xB7 && opcode != 0xBE && opcode != 0xBF)
                return Fail(MmioDecodeError.UnsupportedOpcode, out error);
            if (!TryMeasureModRm(code, i, addressSize, out byte modRm, out int modRmLength, out error))
                return false;
            if (hasLock)
                return Fail(MmioDecodeError.InvalidEncoding, out error);
            int end = i + modRmLength;
            if (!CheckLength(code, end, out error))
                return false;
            int size = (opcode & 1) == 0 ? 1 : 2;
            int register = (modRm >> 3 & 7) | ((rex & RexR) != 0 ? 8 : 0);
            var extension = opcode >= 0xBE ? MmioExtension.Sign : MmioExtension.Zero;
            instruction = new MmioInstruction(end, size, MmioAccessKind.Read, MmioOperation.None, register, false, false, 0,
                extension, operandSize, segment, false);
            return true;
        }

        // The legacy prefixes as bits of the byte's quarter of 0-255: 26 2E 36 3E, 64-67, F0 F2 F3
        // (one test per byte where eleven compares were).
        private const ulong PrefixesFrom00 = 1UL << 0x26 | 1UL << 0x2E | 1UL << 0x36 | 1UL << 0x3E;
        private const ulong PrefixesFrom40 = 1UL << (0x64 - 0x40) | 1UL << (0x65 - 0x40) | 1UL << (0x66 - 0x40) | 1UL << (0x67 - 0x40);
        private const ulong PrefixesFromC0 = 1UL << (0xF0 - 0xC0) | 1UL << (0xF2 - 0xC0) | 1UL << (0xF3 - 0xC0);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private static bool IsLegacyPrefix(byte b)
        {
            ulong quarter = (b >> 6) switch { 0 => PrefixesFrom00, 1 => PrefixesFrom40, 3 => PrefixesFromC0, _ => 0 };
            return (quarter >> (b & 63) & 1) != 0;
        }

        /// <summary>The operation of group 1's /digit, or of the ALU row opcode >> 3 (SDM Vol. 2D, table A-2).</summary>
        private static MmioOperation GroupOneOperation(int digit) => digit switch
        {
            0 => MmioOperation.Add,
            1 => MmioOperation.Or,
            4 => MmioOperation.And,
            5 => MmioOperation.Sub,
            6 => MmioOperation.Xor,
            7 => MmioOperation.Cmp,
            _ => MmioOperation.None,
        };

        /// <summary>
        /// The length of ModRM, SIB and displacement (SDM Vol. 2A, 2.1.5, tables 2-1 to 2-3):
        /// enough to find the end of the instruction. mod = 11 is a register operand.
        /// </summary>
        private static bool TryMeasureModRm(ReadOnlySpan<byte> code, int i, int addressSize, out byte modRm, out int length,
            out MmioDecodeError error)
        {
            length = 0;
            if (!TryByte(code, i, out modRm, out error))
                return false;
            int mod = modRm >> 6;
            int rm = modRm & 7;
            if (mod == 3)
                return Fail(MmioDecodeError.RegisterOperand, out error);
            length = 1;
            if (addressSize == 2)
            {
                // 16-bit addressing: [disp16] is mod 00 r/m 110; no SIB.
                if (mod == 0 && rm == 6 || mod == 2)
                    length += 2;
                else if (mod == 1)
                    length += 1;
                return true;
            }
            // 32- and 64-bit addressing. REX.B does not change these cases (table 2-5): r/m 100
            // always has a SIB, mod 00 r/m 101 is disp32 (RIP-relative in 64-bit mode).
            if (rm == 4)
            {
                if (!TryByte(code, i + 1, out byte sib, out error))
                    return false;
                length++;
                if (mod == 0 && (sib & 7) == 5)
                    length += 4;
            }
            if (mod == 0 && rm == 5 || mod == 2)
                length += 4;
            else if (mod == 1)
                length += 1;
            return true;
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private static bool TryByte(ReadOnlySpan<byte> code, int i, out byte value, out MmioDecodeError error)
        {
            if (!CheckLength(code, i + 1, out error))
            {
                value = 0;
                return false;
            }
            value = code[i];
            return true;
        }

        /// <summary>An instruction of <paramref name="length"/> bytes is possible and its bytes are there.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private static bool CheckLength(ReadOnlySpan<byte> code, int length, out MmioDecodeError error)
        {
            error = length > MaxInstructionLength ? MmioDecodeError.TooLong
                : length > code.Length ? MmioDecodeError.Truncated
                : MmioDecodeError.None;
            return error == MmioDecodeError.None;
        }

        private static bool Fail(MmioDecodeError reason, out MmioDecodeError error)
        {
            error = reason;
            return false;
        }

        /// <summary>A sentence for a crash report.</summary>
        public static string Describe(MmioDecodeError error) => error switch
        {
            MmioDecodeError.None => "decoded",
            MmioDecodeError.Truncated => "the instruction continues on a page that could not be read",
            MmioDecodeError.TooLong => "longer than 15 bytes",
            MmioDecodeError.UnsupportedOpcode => "an instruction the MMIO emulation does not handle",
            MmioDecodeError.StringInstruction => "a string instruction (not emulated on MMIO)",
            MmioDecodeError.RegisterOperand => "no memory operand",
            MmioDecodeError.InvalidEncoding => "an encoding that raises #UD",
            _ => "unknown decode error",
        };
    }
}
