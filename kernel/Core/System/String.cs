using Internal.Runtime.CompilerHelpers;
using System.Runtime.CompilerServices;

namespace System
{
    /// <summary>
    /// UTF-16 string. The two fields and their names are a contract with ILC. Comparisons are
    /// ordinal: the image has no culture data.
    /// </summary>
    public sealed unsafe class String
    {
#pragma warning disable CS0649 // both fields are written by the allocator and by FastAllocate users
        private readonly int _stringLength;
        private char _firstChar;
#pragma warning restore CS0649

        public static readonly string Empty = "";

        public int Length => _stringLength;

        [IndexerName("Chars")]
        public char this[int index]
        {
            get
            {
                if ((uint)index >= (uint)_stringLength)
                    ThrowHelpers.ThrowIndexOutOfRangeException();
                return Unsafe.Add(ref _firstChar, index);
            }
        }

        // Constructors of String are implemented by static Ctor methods of the same signature
        // (an ILC convention): a string is allocated with its final length, never constructed.
        [MethodImpl(MethodImplOptions.InternalCall)]
        public extern String(char* value);

        [MethodImpl(MethodImplOptions.InternalCall)]
        public extern String(char* value, int startIndex, int length);

        [MethodImpl(MethodImplOptions.InternalCall)]
        public extern String(sbyte* value);

        [MethodImpl(MethodImplOptions.InternalCall)]
        public extern String(ReadOnlySpan<char> value);

        [MethodImpl(MethodImplOptions.InternalCall)]
        public extern String(char c, int count);

        [MethodImpl(MethodImplOptions.InternalCall)]
        public extern String(char[] value, int startIndex, int length);

        private static string Ctor(char* value)
        {
            int length = 0;
            while (value[length] != 0)
                length++;
            return Ctor(value, 0, length);
        }

        private static string Ctor(char* value, int startIndex, int length)
        {
            string result = FastAllocate(length);
            for (int i = 0; i < length; i++)
                Unsafe.Add(ref result._firstChar, i) = value[startIndex + i];
            return result;
        }

        // ASCII only: the image has no encodings, and anything else is a caller's mistake.
        private static string Ctor(sbyte* value)
        {
            int length = 0;
            while (value[length] != 0)
                length++;
            string result = FastAllocate(length);
            for (int i = 0; i < length; i++)
                Unsafe.Add(ref result._firstChar, i) = value[i] < 0 ? '?' : (char)value[i];
            return result;
        }

        private static string Ctor(ReadOnlySpan<char> value)
        {
            string result = FastAllocate(value.Length);
            for (int i = 0; i < value.Length; i++)
                Unsafe.Add(ref result._firstChar, i) = value[i];
            return result;
        }

        private static string Ctor(char[] value, int startIndex, int length)
        {
            if ((uint)startIndex > (uint)value.Length || (uint)length > (uint)(value.Length - startIndex))
                ThrowHelpers.ThrowArgumentOutOfRangeException();
            fixed (char* p = value)
                return Ctor(p, startIndex, length);
        }

        private static string Ctor(char c, int count)
        {
            string result = FastAllocate(count);
            for (int i = 0; i < count; i++)
                Unsafe.Add(ref result._firstChar, i) = c;
            return result;
        }

        internal static string FastAllocate(int length)
        {
            if (length == 0)
                return Empty;
            return Unsafe.As<string>(System.Runtime.RuntimeExports.RhNewArray(Empty.m_pMethodTable, length));
        }

        public ref readonly char GetPinnableReference() => ref _firstChar;

        public static implicit operator ReadOnlySpan<char>(string value) =>
            value == null ? default : new ReadOnlySpan<char>(ref value._firstChar, value._stringLength);

        public static bool IsNullOrEmpty(string value) => value == null || value._stringLength == 0;

        public static string Concat(string str0, string str1) => Concat(str0, str1, null, null);

        public static string Concat(string str0, string str1, string str2) => Concat(str0, str1, str2, null);

        public static string Concat(string str0, string str1, string str2, string str3)
        {
            int length = LengthOf(str0) + LengthOf(str1) + LengthOf(str2) + LengthOf(str3);
            string result = FastAllocate(length);
            int at = 0;
            at = CopyInto(result, at, str0);
            at = CopyInto(result, at, str1);
            at = CopyInto(result, at, str2);
            CopyInto(result, at, str3);
            return result;
        }

        public static string Concat(params string[] values)
        {
            int length = 0;
            foreach (string value in values)
                length += LengthOf(value);
            string result = FastAllocate(length);
            int at = 0;
            foreach (string value in values)
                at = CopyInto(result, at, value);
            return result;
        }

        private static int LengthOf(string s) => s == null ? 0 : s._stringLength;

        private static int CopyInto(string destination, int at, string source)
        {
            if (source == null)
                return at;
            for (int i = 0; i < source._stringLength; i++)
                Unsafe.Add(ref destination._firstChar, at + i) = Unsafe.Add(ref source._firstChar, i);
            return at + source._stringLength;
        }

        public string Substring(int startIndex) => Substring(startIndex, _stringLength - startIndex);

        public string Substring(int startIndex, int length)
        {
            if ((uint)startIndex > (uint)_stringLength || (uint)length > (uint)(_stringLength - startIndex))
                ThrowHelpers.ThrowArgumentOutOfRangeException();
            if (length == _stringLength)
                return this;
            fixed (char* p = &_firstChar)
                return Ctor(p, startIndex, length);
        }

        public bool StartsWith(string value) => value._stringLength <= _stringLength && ((ReadOnlySpan<char>)this).Slice(0, value._stringLength).SequenceEqual(value);

        public bool EndsWith(string value) => value._stringLength <= _stringLength && ((ReadOnlySpan<char>)this).Slice(_stringLength - value._stringLength).SequenceEqual(value);

        public int IndexOf(char value)
        {
            for (int i = 0; i < _stringLength; i++)
                if (Unsafe.Add(ref _firstChar, i) == value)
                    return i;
            return -1;
        }

        public bool Contains(char value) => IndexOf(value) >= 0;

        public static bool Equals(string a, string b)
        {
            if ((object)a == b)
                return true;
            if (a is null || b is null || a._stringLength != b._stringLength)
                return false;
            return ((ReadOnlySpan<char>)a).SequenceEqual(b);
        }

        public bool Equals(string value) => Equals(this, value);

        public override bool Equals(object obj) => obj is string s && Equals(this, s);

        public static bool operator ==(string a, string b) => Equals(a, b);

        public static bool operator !=(string a, string b) => !Equals(a, b);

        // FNV-1a: stable across runs, which is what a hypervisor's tables want.
        public override int GetHashCode()
        {
            uint hash = 2166136261;
            for (int i = 0; i < _stringLength; i++)
                hash = (hash ^ Unsafe.Add(ref _firstChar, i)) * 16777619;
            return (int)hash;
        }

        public override string ToString() => this;
    }
}
