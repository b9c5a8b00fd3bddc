using System;

namespace Partition.Kernel
{
    /// <summary>Why an <see cref="AmlWriter"/> stopped writing; the first problem is kept.</summary>
    public enum AmlError
    {
        None,
        /// <summary>The caller's buffer is full.</summary>
        BufferFull,
        /// <summary>A name is not a NameString (ACPI 6.4, 20.2.2): segments of 1 to 4 of A-Z, 0-9, '_', not starting with a digit.</summary>
        InvalidName,
        /// <summary>An EISA ID is not three letters A-Z and four hexadecimal digits (ASL EISAID, ACPI 6.4, 19.6.35).</summary>
        InvalidEisaId,
        /// <summary>Out of range: a method's argument count above 7, a package above 255 elements, End without Begin.</summary>
        InvalidArgument,
        /// <summary>A package length above 2^28 - 1 bytes (ACPI 6.4, 20.2.4).</summary>
        TooLong,
    }

    /// <summary>
    /// Encodes AML, the byte code of ACPI definition blocks (ACPI 6.4, chapter 20), into a
    /// buffer the caller owns: the few constructs a partition's DSDT needs, and no more. It
    /// never allocates. A write that does not fit, or an argument that cannot be encoded,
    /// stops the writer (<see cref="Error"/>): later writes are ignored, so a builder checks
    /// once at the end instead of after every call.
    ///
    /// Objects that carry a PkgLength (Scope, Device, Method, Package, Buffer) are written
    /// as Begin..End pairs: Begin writes the opcode and returns a mark, End measures what was
    /// written since and inserts the shortest PkgLength encoding in front of it (moving the
    /// body up by one to four bytes), so the output is what iasl emits for the same ASL.
    /// </summary>
    public ref struct AmlWriter
    {
        // Opcodes, ACPI 6.4, 20.3 (AML Byte Stream Byte Values).
        public const byte ZeroOp = 0x00;
        public const byte OneOp = 0x01;
        public const byte NameOp = 0x08;
        public const byte BytePrefix = 0x0A;
        public const byte WordPrefix = 0x0B;
        public const byte DWordPrefix = 0x0C;
        public const byte StringPrefix = 0x0D;
        public const byte QWordPrefix = 0x0E;
        public const byte ScopeOp = 0x10;
        public const byte BufferOp = 0x11;
        public const byte PackageOp = 0x12;
        public const byte MethodOp = 0x14;
        public const byte DualNamePrefix = 0x2E;
        public const byte MultiNamePrefix = 0x2F;
        public const byte ExtOpPrefix = 0x5B;
        public const byte DeviceOp = 0x82;          // after ExtOpPrefix
        public const byte RootChar = 0x5C;          // '\'
        public const byte ParentPrefixChar = 0x5E;  // '^'
        public const byte ReturnOp = 0xA4;
        public const byte OnesOp = 0xFF;

        /// <summary>The largest value a PkgLength can hold: 4 bits and three more bytes (ACPI 6.4, 20.2.4).</summary>
        public const int MaxPackageLength = (1 << 28) - 1;

        private readonly Span<byte> _buffer;
        private int _length;
        private AmlError _error;

        public AmlWriter(Span<byte> buffer)
        {
            _buffer = buffer;
            _length = 0;
            _error = AmlError.None;
        }

        /// <summary>Bytes written so far (all of them valid only while <see cref="Error"/> is None).</summary>
        public int Length => _length;

        public AmlError Error => _error;

        public bool Failed => _error != AmlError.None;

        public ReadOnlySpan<byte> Written => _buffer.Slice(0, _length);

        private void Fail(AmlError error)
        {
            if (_error == AmlError.None)
                _error = error;
        }

        public void Byte(byte value)
        {
            if (Failed)
                return;
            if (_length >= _buffer.Length)
            {
                Fail(AmlError.BufferFull);
                return;
            }
            _buffer[_length++] = value;
        }

        public void Word(ushort value)
        {
            Byte((byte)value);
            Byte((byte)(value >> 8));
        }

        public void DWord(uint value)
        {
            Word((ushort)value);
            Word((ushort)(value >> 16));
        }

        public void QWord(ulong value)
        {
            DWord((uint)value);
            DWord((uint)(value >> 32));
        }

        /// <summary>
        /// A NameString (ACPI 6.4, 20.2.2) from its ASL spelling: an optional '\' or run of '^',
        /// then segments separated by '.', each padded with '_' to four characters ("_SB" is
        /// "_SB_"). One segment is a NameSeg, two a DualNamePath, more a MultiNamePath; "\"
        /// alone is the root followed by a NullName.
        /// </summary>
        public void NameString(ReadOnlySpan<char> path)
        {
            int at = 0;
            if (path.Length > 0 && path[0] == '\\')
            {
                Byte(RootChar);
                at = 1;
            }
            else
            {
                while (at < path.Length && path[at] == '^')
                {
                    Byte(ParentPrefixChar);
                    at++;
                }
            }
            ReadOnlySpan<char> segments = path.Slice(at);
            int count = 0;
            if (segments.Length > 0)
            {
                count = 1;
                for (int i = 0; i < segments.Length; i++)
                    if (segments[i] == '.')
                        count++;
            }
            if (count == 0)
            {
                // Only the root may stand alone: "^" without a name means nothing.
                if (at == 1 && path[0] == '\\')
                    Byte(0x00); // NullName
                else
                    Fail(AmlError.InvalidName);
                return;
            }
            if (count > 255)
            {
                Fail(AmlError.InvalidName);
                return;
            }
            if (count == 2)
                Byte(DualNamePrefix);
            else if (count > 2)
            {
                Byte(MultiNamePrefix);
                Byte((byte)count);
            }
            int start = 0;
            for (int i = 0; i <= segments.Length; i++)
            {
                if (i == segments.Length || segments[i] == '.')
                {
                    NameSeg(segments.Slice(start, i - start));
                    start = i + 1;
                }
            }
        }

        private void NameSeg(ReadOnlySpan<char> segment)
        {
            if (segment.Length == 0 || segment.Length > 4)
            {
                Fail(AmlError.InvalidName);
                return;
            }
            for (int i = 0; i < segment.Length; i++)
            {
                char c = segment[i];
                bool lead = (c >= 'A' && c <= 'Z') || c == '_';
                bool digit = c >= '0' && c <= '9';
                if (!lead && !(digit && i > 0))
                {
                    Fail(AmlError.InvalidName);
                    return;
                }
            }
            for (int i = 0; i < 4; i++)
                Byte(i < segment.Length ? (byte)segment[i] : (byte)'_');
        }

        /// <summary>
        /// An integer constant in its shortest form (ACPI 6.4, 20.2.3): ZeroOp, OneOp, OnesOp
        /// for all ones, else a Byte, Word, DWord or QWord prefix with the value.
        /// </summary>
        public void Integer(ulong value)
        {
            if (value == 0)
                Byte(ZeroOp);
            else if (value == 1)
                Byte(OneOp);
            else if (value == ulong.MaxValue)
                Byte(OnesOp);
            else if (value <= 0xFF)
            {
                Byte(BytePrefix);
                Byte((byte)value);
            }
            else if (value <= 0xFFFF)
            {
                Byte(WordPrefix);
                Word((ushort)value);
            }
            else if (value <= 0xFFFFFFFF)
            {
                Byte(DWordPrefix);
                DWord((uint)value);
            }
            else
            {
                Byte(QWordPrefix);
                QWord(value);
            }
        }

        /// <summary>A string constant: StringPrefix, ASCII characters 0x01-0x7F, a null (ACPI 6.4, 20.2.3).</summary>
        public void String(ReadOnlySpan<char> text)
        {
            for (int i = 0; i < text.Length; i++)
                if (text[i] == 0 || text[i] > 0x7F)
                {
                    Fail(AmlError.InvalidArgument);
                    return;
                }
            Byte(StringPrefix);
            for (int i = 0; i < text.Length; i++)
                Byte((byte)text[i]);
            Byte(0);
        }

        /// <summary>
        /// ASL's EisaId("PNP0501") (ACPI 6.4, 19.6.35): a DWord constant, always with the DWord
        /// prefix as iasl writes it, so that ACPICA shows it as an EISA ID again.
        /// </summary>
        public void EisaId(ReadOnlySpan<char> id)
        {
            if (!TryEncodeEisaId(id, out uint value))
            {
                Fail(AmlError.InvalidEisaId);
                return;
            }
            Byte(DWordPrefix);
            DWord(value);
        }

        /// <summary>
        /// The compressed EISA ID: the three letters as 5-bit values ('A' = 1) packed
        /// big-endian into the first two bytes, the four hexadecimal digits as the next two
        /// bytes; read as a little-endian DWord. "PNP0501" is 0x0105D041.
        /// </summary>
        public static bool TryEncodeEisaId(ReadOnlySpan<char> id, out uint value)
        {
            value = 0;
            if (id.Length != 7)
                return false;
            int letters = 0;
            for (int i = 0; i < 3; i++)
            {
                char c = id[i];
                if (c < 'A' || c > 'Z')
                    return false;
                letters = (letters << 5) | (c - 'A' + 1);
            }
            int digits = 0;
            for (int i = 3; i < 7; i++)
            {
                int d = HexDigit(id[i]);
                if (d < 0)
                    return false;
                digits = (digits << 4) | d;
            }
            value = (uint)(letters >> 8) | (uint)(letters & 0xFF) << 8 | (uint)(digits >> 8) << 16 | (uint)(digits & 0xFF) << 24;
            return true;
        }

        private static int HexDigit(char c)
        {
            if (c >= '0' && c <= '9')
                return c - '0';
            if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
            return -1;
        }

        /// <summary>Name (name, value): NameOp and the NameString; the caller writes the value next.</summary>
        public void Name(ReadOnlySpan<char> name)
        {
            Byte(NameOp);
            NameString(name);
        }

        /// <summary>Return (value): ReturnOp; the caller writes the value next.</summary>
        public void Return() => Byte(ReturnOp);

        /// <summary>Scope (name) { ... }: pass the mark to <see cref="End"/>.</summary>
        public int BeginScope(ReadOnlySpan<char> name)
        {
            Byte(ScopeOp);
            int mark = _length;
            NameString(name);
            return mark;
        }

        /// <summary>Device (name) { ... }: pass the mark to <see cref="End"/>.</summary>
        public int BeginDevice(ReadOnlySpan<char> name)
        {
            Byte(ExtOpPrefix);
            Byte(DeviceOp);
            int mark = _length;
            NameString(name);
            return mark;
        }

        /// <summary>
        /// Method (name, arguments, Serialized or NotSerialized) { ... }: MethodFlags bits 2:0
        /// are the argument count, bit 3 SerializeFlag, bits 7:4 SyncLevel (0 here).
        /// </summary>
        public int BeginMethod(ReadOnlySpan<char> name, int argumentCount, bool serialized)
        {
            if ((uint)argumentCount > 7)
            {
                Fail(AmlError.InvalidArgument);
                return _length;
            }
            Byte(MethodOp);
            int mark = _length;
            NameString(name);
            Byte((byte)(argumentCount | (serialized ? 0x08 : 0)));
            return mark;
        }

        /// <summary>Package (count) { ... }: the elements follow; pass the mark to <see cref="End"/>.</summary>
        public int BeginPackage(int elementCount)
        {
            if ((uint)elementCount > 255)
            {
                Fail(AmlError.InvalidArgument);
                return _length;
            }
            Byte(PackageOp);
            int mark = _length;
            Byte((byte)elementCount);
            return mark;
        }

        /// <summary>
        /// Closes a Scope, Device, Method or Package: inserts the PkgLength in front of what was
        /// written since its Begin.
        /// </summary>
        public void End(int mark) => InsertPackageLength(mark, default);

        /// <summary>Buffer () { bytes }: the size is counted at <see cref="EndBuffer"/>.</summary>
        public int BeginBuffer()
        {
            Byte(BufferOp);
            return _length;
        }

        /// <summary>Closes a Buffer: inserts PkgLength and the BufferSize integer in front of its bytes.</summary>
        public void EndBuffer(int mark)
        {
            if (Failed)
                return;
            if ((uint)mark > (uint)_length)
            {
                Fail(AmlError.InvalidArgument);
                return;
            }
            // BufferSize is a TermArg: an integer constant in its shortest encoding.
            Span<byte> size = stackalloc byte[9];
            int sizeLength = EncodeInteger((ulong)(_length - mark), size);
            InsertPackageLength(mark, size.Slice(0, sizeLength));
        }

        // Moves the body at [mark, _length) up to make room for the PkgLength followed by
        // `prefix` (a buffer's size, or nothing), and writes both there. The PkgLength counts
        // the prefix and the body.
        private void InsertPackageLength(int mark, scoped ReadOnlySpan<byte> prefix)
        {
            if (Failed)
                return;
            if ((uint)mark > (uint)_length)
            {
                Fail(AmlError.InvalidArgument);
                return;
            }
            int body = _length - mark + prefix.Length;
            int lengthBytes = PackageLengthSize(body);
            if (lengthBytes == 0)
            {
                Fail(AmlError.TooLong);
                return;
            }
            int insert = lengthBytes + prefix.Length;
            if (_length + insert > _buffer.Length)
            {
                Fail(AmlError.BufferFull);
                return;
            }
            _buffer.Slice(mark, _length - mark).CopyTo(_buffer.Slice(mark + insert));
            EncodePackageLength(body, _buffer.Slice(mark));
            prefix.CopyTo(_buffer.Slice(mark + lengthBytes));
            _length += insert;
        }

        /// <summary>
        /// How many bytes the PkgLength for <paramref name="bodyLength"/> following bytes takes:
        /// the encoded value counts the PkgLength bytes too, so one byte holds up to 63 in all,
        /// two up to 2^12 - 1, three up to 2^20 - 1, four up to 2^28 - 1. 0 when too long.
        /// </summary>
        public static int PackageLengthSize(int bodyLength)
        {
            if (bodyLength < 0)
                return 0;
            if (bodyLength + 1 <= 0x3F)
                return 1;
            if (bodyLength + 2 <= 0xFFF)
                return 2;
            if (bodyLength + 3 <= 0xFFFFF)
                return 3;
            if ((long)bodyLength + 4 <= MaxPackageLength)
                return 4;
            return 0;
        }

        /// <summary>
        /// Writes the PkgLength for <paramref name="bodyLength"/> following bytes (ACPI 6.4,
        /// 20.2.4): one byte (bits 5:0) up to 63; otherwise bits 7:6 of the lead byte count the
        /// bytes that follow, its bits 3:0 are the low nibble, and each following byte holds the
        /// next eight bits. Returns the bytes written, 0 when too long or out of room.
        /// </summary>
        public static int EncodePackageLength(int bodyLength, Span<byte> destination)
        {
            int size = PackageLengthSize(bodyLength);
            if (size == 0 || destination.Length < size)
                return 0;
            int value = bodyLength + size;
            if (size == 1)
            {
                destination[0] = (byte)value;
                return 1;
            }
            destination[0] = (byte)(((size - 1) << 6) | (value & 0x0F));
            for (int i = 1; i < size; i++)
                destination[i] = (byte)(value >> (4 + 8 * (i - 1)));
            return size;
        }

        private static int EncodeInteger(ulong value, Span<byte> destination)
        {
            var writer = new AmlWriter(destination);
            writer.Integer(value);
            return writer.Length;
        }

        // Resource descriptors (ACPI 6.4, 6.4.2), the bytes of a ResourceTemplate buffer.

        /// <summary>ResourceTemplate () { ... }: a Buffer; <see cref="EndResourceTemplate"/> adds the End Tag.</summary>
        public int BeginResourceTemplate() => BeginBuffer();

        /// <summary>Ends a resource template with an End Tag (ACPI 6.4, 6.4.2.9; checksum 0: none) and closes the buffer.</summary>
        public void EndResourceTemplate(int mark)
        {
            Byte(0x79);
            Byte(0x00);
            EndBuffer(mark);
        }

        /// <summary>
        /// IO (Decode16 or Decode10, minimum, maximum, alignment, length): the I/O Port
        /// Descriptor, small item 0x08 of 7 bytes (ACPI 6.4, 6.4.2.5); information bit 0 set
        /// when the device decodes 16 address bits.
        /// </summary>
        public void IoPort(bool decode16, ushort minimum, ushort maximum, byte alignment, byte length)
        {
            Byte(0x47);
            Byte(decode16 ? (byte)1 : (byte)0);
            Word(minimum);
            Word(maximum);
            Byte(alignment);
            Byte(length);
        }

        /// <summary>
        /// IRQNoFlags () {irqs}: the 2-byte IRQ Descriptor, small item 0x04 (ACPI 6.4, 6.4.2.1),
        /// a mask of IRQs 0-15; without the information byte it means edge-triggered, active
        /// high, exclusive.
        /// </summary>
        public void IrqNoFlags(ushort mask)
        {
            Byte(0x22);
            Word(mask);
        }
    }
}
