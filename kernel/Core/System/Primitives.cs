namespace System
{
    // The primitive types the C# compiler needs. They carry constants and equality only:
    // formatting lives in the kernel's console writer, so nothing here allocates.
#pragma warning disable CS0169, CS0649 // the m_value fields are the compiler's representation of the primitive

    public struct Void { }

    public readonly struct Boolean : IEquatable<bool>
    {
        private readonly bool m_value;
        public bool Equals(bool other) => m_value == other;
        public override bool Equals(object obj) => obj is bool b && b == m_value;
        public override int GetHashCode() => m_value ? 1 : 0;
    }

    public readonly struct Char : IEquatable<char>
    {
        private readonly char m_value;
        public const char MaxValue = (char)0xFFFF;
        public const char MinValue = (char)0;
        public bool Equals(char other) => m_value == other;
        public override bool Equals(object obj) => obj is char c && c == m_value;
        public override int GetHashCode() => m_value;
        public static bool IsDigit(char c) => c >= '0' && c <= '9';
        public static bool IsWhiteSpace(char c) => c == ' ' || (c >= '\t' && c <= '\r') || c == '\u00a0' || c == '\u0085';
    }

    public readonly struct SByte : IEquatable<sbyte>
    {
        private readonly sbyte m_value;
        public const sbyte MaxValue = 127;
        public const sbyte MinValue = -128;
        public bool Equals(sbyte other) => m_value == other;
        public override bool Equals(object obj) => obj is sbyte v && v == m_value;
        public override int GetHashCode() => m_value;
    }

    public readonly struct Byte : IEquatable<byte>
    {
        private readonly byte m_value;
        public const byte MaxValue = 255;
        public const byte MinValue = 0;
        public bool Equals(byte other) => m_value == other;
        public override bool Equals(object obj) => obj is byte v && v == m_value;
        public override int GetHashCode() => m_value;
    }

    public readonly struct Int16 : IEquatable<short>
    {
        private readonly short m_value;
        public const short MaxValue = 32767;
        public const short MinValue = -32768;
        public bool Equals(short other) => m_value == other;
        public override bool Equals(object obj) => obj is short v && v == m_value;
        public override int GetHashCode() => m_value;
    }

    public readonly struct UInt16 : IEquatable<ushort>
    {
        private readonly ushort m_value;
        public const ushort MaxValue = 65535;
        public const ushort MinValue = 0;
        public bool Equals(ushort other) => m_value == other;
        public override bool Equals(object obj) => obj is ushort v && v == m_value;
        public override int GetHashCode() => m_value;
    }

    public readonly struct Int32 : IEquatable<int>
    {
        private readonly int m_value;
        public const int MaxValue = 0x7fffffff;
        public const int MinValue = unchecked((int)0x80000000);
        public bool Equals(int other) => m_value == other;
        public override bool Equals(object obj) => obj is int v && v == m_value;
        public override int GetHashCode() => m_value;
    }

    public readonly struct UInt32 : IEquatable<uint>
    {
        private readonly uint m_value;
        public const uint MaxValue = 0xffffffff;
        public const uint MinValue = 0;
        public bool Equals(uint other) => m_value == other;
        public override bool Equals(object obj) => obj is uint v && v == m_value;
        public override int GetHashCode() => (int)m_value;
    }

    public readonly struct Int64 : IEquatable<long>
    {
        private readonly long m_value;
        public const long MaxValue = 0x7fffffffffffffffL;
        public const long MinValue = unchecked((long)0x8000000000000000L);
        public bool Equals(long other) => m_value == other;
        public override bool Equals(object obj) => obj is long v && v == m_value;
        public override int GetHashCode() => (int)m_value ^ (int)(m_value >> 32);
    }

    public readonly struct UInt64 : IEquatable<ulong>
    {
        private readonly ulong m_value;
        public const ulong MaxValue = 0xffffffffffffffffUL;
        public const ulong MinValue = 0;
        public bool Equals(ulong other) => m_value == other;
        public override bool Equals(object obj) => obj is ulong v && v == m_value;
        public override int GetHashCode() => (int)m_value ^ (int)(m_value >> 32);
    }

    public readonly struct Single
    {
        private readonly float m_value;
    }

    public readonly struct Double
    {
        private readonly double m_value;
    }

    public readonly unsafe struct IntPtr : IEquatable<nint>
    {
        private readonly void* _value;
        public static readonly nint Zero;
        public IntPtr(void* value) { _value = value; }
        public IntPtr(int value) { _value = (void*)value; }
        public IntPtr(long value) { _value = (void*)value; }
        public static int Size => sizeof(nint);
        public static nint MaxValue => unchecked((nint)long.MaxValue);
        public static nint MinValue => unchecked((nint)long.MinValue);
        public bool Equals(nint other) => _value == (void*)other;
        public override bool Equals(object obj) => obj is nint v && (void*)v == _value;
        public override int GetHashCode() => (int)(long)_value ^ (int)((long)_value >> 32);
        public void* ToPointer() => _value;
    }

    public readonly unsafe struct UIntPtr : IEquatable<nuint>
    {
        private readonly void* _value;
        public static readonly nuint Zero;
        public UIntPtr(void* value) { _value = value; }
        public UIntPtr(uint value) { _value = (void*)value; }
        public UIntPtr(ulong value) { _value = (void*)value; }
        public static int Size => sizeof(nuint);
        public static nuint MaxValue => unchecked((nuint)ulong.MaxValue);
        public static nuint MinValue => 0;
        public bool Equals(nuint other) => _value == (void*)other;
        public override bool Equals(object obj) => obj is nuint v && (void*)v == _value;
        public override int GetHashCode() => (int)(ulong)_value ^ (int)((ulong)_value >> 32);
        public void* ToPointer() => _value;
    }
#pragma warning restore CS0169, CS0649
}
