namespace Partition.Kernel
{
    /// <summary>
    /// A Generic Address Structure (ACPI 6.5, 5.2.3.2): where a fixed register lives, in which
    /// address space, how wide it is and how it is accessed. 12 bytes in a table.
    /// </summary>
    public readonly struct AcpiGenericAddress
    {
        // Address space IDs (ACPI 6.5, Table 5.1).
        public const byte SystemMemory = 0;
        public const byte SystemIo = 1;
        public const byte PciConfiguration = 2;

        /// <summary>Its size in a table.</summary>
        public const int Length = 12;

        public AcpiGenericAddress(byte spaceId, byte bitWidth, byte bitOffset, byte accessSize, ulong address)
        {
            SpaceId = spaceId;
            BitWidth = bitWidth;
            BitOffset = bitOffset;
            AccessSize = accessSize;
            Address = address;
        }

        public byte SpaceId { get; }
        public byte BitWidth { get; }
        public byte BitOffset { get; }

        /// <summary>0: undefined (legacy); 1-4: byte, word, dword, qword accesses.</summary>
        public byte AccessSize { get; }

        public ulong Address { get; }

        /// <summary>An address of 0 means the register does not exist (ACPI 6.5, 5.2.9: "if not supported, this field is zero").</summary>
        public bool IsPresent => Address != 0;

        public bool IsSystemIo => SpaceId == SystemIo;

        /// <summary>The bytes an access covers: the bit width rounded up to bytes, at least one.</summary>
        public int ByteLength => BitWidth == 0 ? 1 : (BitWidth + BitOffset + 7) / 8;

        /// <summary>Reads one from a table; the caller has checked that 12 bytes are there.</summary>
        public static AcpiGenericAddress Read(System.ReadOnlySpan<byte> table, int at) =>
            new(table[at], table[at + 1], table[at + 2], table[at + 3], HostAcpi.U64(table, at + 4));
    }
}
