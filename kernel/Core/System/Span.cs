using Internal.Runtime.CompilerHelpers;
using System.Runtime.CompilerServices;

namespace System
{
    /// <summary>A view of contiguous memory, as in .NET: a reference and a length.</summary>
    public readonly ref struct Span<T>
    {
        internal readonly ref T _reference;
        private readonly int _length;

        public Span(T[] array)
        {
            if (array == null)
            {
                this = default;
                return;
            }
            _reference = ref Unsafe.As<byte, T>(ref Unsafe.As<RawArrayData>(array).Data);
            _length = array.Length;
        }

        public Span(T[] array, int start, int length)
        {
            if (array == null)
            {
                if (start != 0 || length != 0)
                    ThrowHelpers.ThrowArgumentOutOfRangeException();
                this = default;
                return;
            }
            if ((uint)start > (uint)array.Length || (uint)length > (uint)(array.Length - start))
                ThrowHelpers.ThrowArgumentOutOfRangeException();
            _reference = ref Unsafe.Add(ref Unsafe.As<byte, T>(ref Unsafe.As<RawArrayData>(array).Data), start);
            _length = length;
        }

        public unsafe Span(void* pointer, int length)
        {
            if (length < 0)
                ThrowHelpers.ThrowArgumentOutOfRangeException();
            _reference = ref Unsafe.AsRef<T>(pointer);
            _length = length;
        }

        public Span(ref T reference)
        {
            _reference = ref reference;
            _length = 1;
        }

        internal Span(ref T reference, int length)
        {
            _reference = ref reference;
            _length = length;
        }

        public ref T this[int index]
        {
            get
            {
                if ((uint)index >= (uint)_length)
                    ThrowHelpers.ThrowIndexOutOfRangeException();
                return ref Unsafe.Add(ref _reference, index);
            }
        }

        public int Length => _length;

        public bool IsEmpty => _length == 0;

        public static Span<T> Empty => default;

        public ref T GetPinnableReference() => ref _length != 0 ? ref _reference : ref Unsafe.NullRef<T>();

        public Span<T> Slice(int start)
        {
            if ((uint)start > (uint)_length)
                ThrowHelpers.ThrowArgumentOutOfRangeException();
            return new Span<T>(ref Unsafe.Add(ref _reference, start), _length - start);
        }

        public Span<T> Slice(int start, int length)
        {
            if ((uint)start > (uint)_length || (uint)length > (uint)(_length - start))
                ThrowHelpers.ThrowArgumentOutOfRangeException();
            return new Span<T>(ref Unsafe.Add(ref _reference, start), length);
        }

        public void Clear()
        {
            for (int i = 0; i < _length; i++)
                Unsafe.Add(ref _reference, i) = default;
        }

        public void Fill(T value)
        {
            for (int i = 0; i < _length; i++)
                Unsafe.Add(ref _reference, i) = value;
        }

        public void CopyTo(Span<T> destination)
        {
            if (!TryCopyTo(destination))
                ThrowHelpers.ThrowArgumentException();
        }

        public bool TryCopyTo(Span<T> destination) => ((ReadOnlySpan<T>)this).TryCopyTo(destination);

        public T[] ToArray()
        {
            var array = new T[_length];
            for (int i = 0; i < _length; i++)
                array[i] = Unsafe.Add(ref _reference, i);
            return array;
        }

        public Enumerator GetEnumerator() => new Enumerator(this);

        public static implicit operator Span<T>(T[] array) => new Span<T>(array);

        public static implicit operator ReadOnlySpan<T>(Span<T> span) => new ReadOnlySpan<T>(ref span._reference, span._length);

        public ref struct Enumerator
        {
            private readonly Span<T> _span;
            private int _index;

            internal Enumerator(Span<T> span)
            {
                _span = span;
                _index = -1;
            }

            public bool MoveNext() => ++_index < _span.Length;

            public ref T Current => ref _span[_index];
        }
    }

    /// <summary>A read-only view of contiguous memory.</summary>
    public readonly ref struct ReadOnlySpan<T>
    {
        internal readonly ref T _reference;
        private readonly int _length;

        public ReadOnlySpan(T[] array)
        {
            if (array == null)
            {
                this = default;
                return;
            }
            _reference = ref Unsafe.As<byte, T>(ref Unsafe.As<RawArrayData>(array).Data);
            _length = array.Length;
        }

        public ReadOnlySpan(T[] array, int start, int length)
        {
            this = new Span<T>(array, start, length);
        }

        public unsafe ReadOnlySpan(void* pointer, int length)
        {
            if (length < 0)
                ThrowHelpers.ThrowArgumentOutOfRangeException();
            _reference = ref Unsafe.AsRef<T>(pointer);
            _length = length;
        }

        public ReadOnlySpan(ref readonly T reference)
        {
            _reference = ref Unsafe.AsRef(in reference);
            _length = 1;
        }

        internal ReadOnlySpan(ref T reference, int length)
        {
            _reference = ref reference;
            _length = length;
        }

        public ref readonly T this[int index]
        {
            get
            {
                if ((uint)index >= (uint)_length)
                    ThrowHelpers.ThrowIndexOutOfRangeException();
                return ref Unsafe.Add(ref _reference, index);
            }
        }

        public int Length => _length;

        public bool IsEmpty => _length == 0;

        public static ReadOnlySpan<T> Empty => default;

        public ref readonly T GetPinnableReference() => ref _length != 0 ? ref _reference : ref Unsafe.NullRef<T>();

        public ReadOnlySpan<T> Slice(int start)
        {
            if ((uint)start > (uint)_length)
                ThrowHelpers.ThrowArgumentOutOfRangeException();
            return new ReadOnlySpan<T>(ref Unsafe.Add(ref _reference, start), _length - start);
        }

        public ReadOnlySpan<T> Slice(int start, int length)
        {
            if ((uint)start > (uint)_length || (uint)length > (uint)(_length - start))
                ThrowHelpers.ThrowArgumentOutOfRangeException();
            return new ReadOnlySpan<T>(ref Unsafe.Add(ref _reference, start), length);
        }

        public void CopyTo(Span<T> destination)
        {
            if (!TryCopyTo(destination))
                ThrowHelpers.ThrowArgumentException();
        }

        public bool TryCopyTo(Span<T> destination)
        {
            if ((uint)_length > (uint)destination.Length)
                return false;
            // Overlap-safe, as in .NET: copy backwards when the destination starts inside the source.
            if (Unsafe.IsAddressGreaterThan(ref destination._reference, ref _reference))
            {
                for (int i = _length - 1; i >= 0; i--)
                    Unsafe.Add(ref destination._reference, i) = Unsafe.Add(ref _reference, i);
            }
            else
            {
                for (int i = 0; i < _length; i++)
                    Unsafe.Add(ref destination._reference, i) = Unsafe.Add(ref _reference, i);
            }
            return true;
        }

        public T[] ToArray()
        {
            var array = new T[_length];
            for (int i = 0; i < _length; i++)
                array[i] = Unsafe.Add(ref _reference, i);
            return array;
        }

        public Enumerator GetEnumerator() => new Enumerator(this);

        public static implicit operator ReadOnlySpan<T>(T[] array) => new ReadOnlySpan<T>(array);

        public ref struct Enumerator
        {
            private readonly ReadOnlySpan<T> _span;
            private int _index;

            internal Enumerator(ReadOnlySpan<T> span)
            {
                _span = span;
                _index = -1;
            }

            public bool MoveNext() => ++_index < _span.Length;

            public ref readonly T Current => ref _span[_index];
        }
    }

    /// <summary>The span extension methods that portable code uses, with .NET's signatures.</summary>
    public static class MemoryExtensions
    {
        public static Span<T> AsSpan<T>(this T[] array) => new Span<T>(array);

        public static Span<T> AsSpan<T>(this T[] array, int start, int length) => new Span<T>(array, start, length);

        // C# 14 lowers the implicit string-to-span conversion to a call of this method, so it
        // must build the span itself rather than convert.
        public static ReadOnlySpan<char> AsSpan(this string text) =>
            text == null ? default : new ReadOnlySpan<char>(ref Unsafe.AsRef(in text.GetPinnableReference()), text.Length);

        public static bool SequenceEqual<T>(this ReadOnlySpan<T> span, ReadOnlySpan<T> other) where T : IEquatable<T>
        {
            if (span.Length != other.Length)
                return false;
            for (int i = 0; i < span.Length; i++)
                if (!span[i].Equals(other[i]))
                    return false;
            return true;
        }

        public static bool SequenceEqual<T>(this Span<T> span, ReadOnlySpan<T> other) where T : IEquatable<T> =>
            ((ReadOnlySpan<T>)span).SequenceEqual(other);

        public static bool StartsWith<T>(this ReadOnlySpan<T> span, ReadOnlySpan<T> value) where T : IEquatable<T> =>
            value.Length <= span.Length && span.Slice(0, value.Length).SequenceEqual(value);

        public static int IndexOf<T>(this ReadOnlySpan<T> span, T value) where T : IEquatable<T>
        {
            for (int i = 0; i < span.Length; i++)
                if (span[i].Equals(value))
                    return i;
            return -1;
        }
    }
}
