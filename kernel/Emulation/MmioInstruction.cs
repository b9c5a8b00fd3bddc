namespace Partition.Kernel
{
    /// <summary>What an instruction does with its memory operand, and so what emulating it takes.</summary>
    public enum MmioAccessKind : byte
    {
        /// <summary>Register ← memory: MOV r, m; MOV rAX, moffs; MOVZX; MOVSX; MOVSXD.</summary>
        Read,
        /// <summary>Memory ← register: MOV m, r; MOV moffs, rAX.</summary>
        Write,
        /// <summary>Memory ← immediate: MOV m, imm.</summary>
        WriteImmediate,
        /// <summary>XCHG m, r: memory ← register and register ← the old memory value, atomically (SDM Vol. 2D, XCHG).</summary>
        Exchange,
        /// <summary>Memory ← memory (op) source, and the arithmetic flags: ADD, OR, AND, SUB, XOR.</summary>
        ReadModifyWrite,
        /// <summary>Flags only, memory unchanged: CMP and TEST.</summary>
        Compare,
    }

    /// <summary>The operation of a <see cref="MmioAccessKind.ReadModifyWrite"/> or <see cref="MmioAccessKind.Compare"/>.</summary>
    public enum MmioOperation : byte
    {
        None,
        Add,
        Or,
        And,
        Sub,
        Xor,
        /// <summary>CMP: the flags of SUB.</summary>
        Cmp,
        /// <summary>TEST: the flags of AND.</summary>
        Test,
    }

    /// <summary>How a value read from memory fills a wider destination register.</summary>
    public enum MmioExtension : byte
    {
        None,
        /// <summary>MOVZX.</summary>
        Zero,
        /// <summary>MOVSX, MOVSXD.</summary>
        Sign,
    }

    /// <summary>A segment-override prefix. In 64-bit mode only FS and GS are reported: the others are null prefixes there (SDM Vol. 1, 3.3.7.1).</summary>
    public enum SegmentOverride : byte
    {
        None,
        Es,
        Cs,
        Ss,
        Ds,
        Fs,
        Gs,
    }

    /// <summary>
    /// A decoded instruction that accessed memory-mapped I/O, reduced to what emulating it
    /// needs: the EPT violation gives the guest-physical address, this gives the length, the
    /// access width, the register or immediate and how the register changes. The register
    /// semantics are pure functions, so the hypervisor only loads and stores the general
    /// registers, numbered as in ModRM (0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP, 5 RBP, 6 RSI, 7 RDI,
    /// 8-15 R8-R15).
    /// </summary>
    public readonly struct MmioInstruction
    {
        /// <summary>RFLAGS bits an arithmetic instruction sets: CF, PF, AF, ZF, SF, OF (SDM Vol. 1, 3.4.3.1).</summary>
        public const ulong ArithmeticFlags = Carry | Parity | Adjust | Zero | Sign | Overflow;
        private const ulong Carry = 1UL << 0;
        private const ulong Parity = 1UL << 2;
        private const ulong Adjust = 1UL << 4;
        private const ulong Zero = 1UL << 6;
        private const ulong Sign = 1UL << 7;
        private const ulong Overflow = 1UL << 11;

        internal MmioInstruction(int length, int size, MmioAccessKind kind, MmioOperation operation, int register,
            bool isHighByte, bool hasImmediate, ulong immediate, MmioExtension extension, int destinationSize,
            SegmentOverride segment, bool hasLock)
        {
            Length = length;
            Size = size;
            Kind = kind;
            Operation = operation;
            Register = register;
            IsHighByte = isHighByte;
            HasImmediate = hasImmediate;
            Immediate = immediate;
            Extension = extension;
            DestinationSize = destinationSize;
            Segment = segment;
            HasLock = hasLock;
        }

        /// <summary>Bytes of the instruction, prefixes included: what RIP advances by.</summary>
        public int Length { get; }

        /// <summary>Width of the memory access in bytes: 1, 2, 4 or 8.</summary>
        public int Size { get; }

        public MmioAccessKind Kind { get; }

        public MmioOperation Operation { get; }

        /// <summary>
        /// The general register the instruction names, 0-15 (REX.R applied), or -1 when its other
        /// operand is an immediate. With <see cref="IsHighByte"/> it is RAX-RBX (0-3) and the
        /// operand is its bits 15:8: AH, CH, DH, BH, which ModRM encodes as 4-7 when there is no
        /// REX prefix (SDM Vol. 2A, 3.1.1.1, table 3-1).
        /// </summary>
        public int Register { get; }

        public bool IsHighByte { get; }

        public bool HasImmediate { get; }

        /// <summary>The immediate, sign-extended to 64 bits from its encoded width (imm8 of 83 /n, imm32 of REX.W C7).</summary>
        public ulong Immediate { get; }

        /// <summary>How <see cref="ApplyRead"/> widens the value read to <see cref="DestinationSize"/>.</summary>
        public MmioExtension Extension { get; }

        /// <summary>Width of the register a read writes: MOVZX r32, m16 has Size 2 and DestinationSize 4.</summary>
        public int DestinationSize { get; }

        public SegmentOverride Segment { get; }

        public bool HasLock { get; }

        /// <summary>Whether memory is read: everything but a plain MOV to memory.</summary>
        public bool ReadsMemory => Kind != MmioAccessKind.Write && Kind != MmioAccessKind.WriteImmediate;

        /// <summary>Whether memory is written: everything but loads, CMP and TEST.</summary>
        public bool WritesMemory => Kind != MmioAccessKind.Read && Kind != MmioAccessKind.Compare;

        /// <summary>The bits of a <see cref="Size"/>-byte value.</summary>
        public ulong Mask => Size == 8 ? ulong.MaxValue : (1UL << (Size * 8)) - 1;

        /// <summary>
        /// The source operand, <see cref="Size"/> bytes wide: the immediate, or the register's low
        /// bits (bits 15:8 for AH-BH). What a Write, WriteImmediate or Exchange stores, and the
        /// right operand of ReadModifyWrite and Compare.
        /// </summary>
        public ulong ValueToWrite(ulong registerValue)
        {
            if (HasImmediate)
                return Immediate & Mask;
            return (IsHighByte ? registerValue >> 8 : registerValue) & Mask;
        }

        /// <summary>
        /// The register's new value after a Read or an Exchange got <paramref name="valueRead"/>
        /// from memory. An 8- or 16-bit destination keeps the register's other bits; a 32-bit one
        /// is zero-extended to 64 bits (SDM Vol. 1, 3.4.1.1), as emulators do in every mode (outside
        /// 64-bit mode the upper half is not visible); a MOVZX or MOVSX result is first widened to
        /// the destination.
        /// </summary>
        public ulong ApplyRead(ulong oldRegister, ulong valueRead)
        {
            ulong value = valueRead & Mask;
            if (Extension == MmioExtension.Sign && Size < 8)
            {
                int unused = 64 - Size * 8;
                value = (ulong)((long)(value << unused) >> unused);
            }
            switch (DestinationSize)
            {
                case 1:
                    return IsHighByte
                        ? (oldRegister & ~0xFF00UL) | (value & 0xFF) << 8
                        : (oldRegister & ~0xFFUL) | (value & 0xFF);
                case 2:
                    return (oldRegister & ~0xFFFFUL) | (value & 0xFFFF);
                case 4:
                    return value & 0xFFFF_FFFF;
                default:
                    return value;
            }
        }

        /// <summary>
        /// A ReadModifyWrite or Compare on <paramref name="memoryValue"/>: returns what to store
        /// (for Compare, the memory value unchanged) and sets CF, PF, AF, ZF, SF and OF in
        /// <paramref name="rflags"/> as the instruction does (SDM Vol. 2A, ADD, AND, CMP; Vol. 2B,
        /// OR, SUB; Vol. 2D, TEST, XOR). AF is undefined after the logical operations: cleared,
        /// as Bochs does.
        /// </summary>
        public ulong Compute(ulong memoryValue, ulong registerValue, ref ulong rflags)
        {
            ulong mask = Mask;
            ulong sign = 1UL << (Size * 8 - 1);
            ulong left = memoryValue & mask;
            ulong right = ValueToWrite(registerValue);
            ulong result;
            ulong flags = 0;
            switch (Operation)
            {
                case MmioOperation.Add:
                    result = (left + right) & mask;
                    if (result < left)
                        flags |= Carry;
                    if (((left ^ result) & (right ^ result) & sign) != 0)
                        flags |= Overflow;
                    flags |= (left ^ right ^ result) & Adjust;
                    break;
                case MmioOperation.Sub:
                case MmioOperation.Cmp:
                    result = (left - right) & mask;
                    if (left < right)
                        flags |= Carry;
                    if (((left ^ right) & (left ^ result) & sign) != 0)
                        flags |= Overflow;
                    flags |= (left ^ right ^ result) & Adjust;
                    break;
                case MmioOperation.Or:
                    result = left | right;
                    break;
                case MmioOperation.Xor:
                    result = left ^ right;
                    break;
                default:
                    result = left & right;
                    break;
            }
            if (result == 0)
                flags |= Zero;
            if ((result & sign) != 0)
                flags |= Sign;
            // PF: even number of set bits in the low byte.
            ulong low = result & 0xFF;
            low ^= low >> 4;
            low ^= low >> 2;
            low ^= low >> 1;
            if ((low & 1) == 0)
                flags |= Parity;
            rflags = (rflags & ~ArithmeticFlags) | flags;
            return Kind == MmioAccessKind.Compare ? left : result;
        }
    }
}
