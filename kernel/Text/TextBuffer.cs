using System;

namespace Partition.Kernel
{
    /// <summary>
    /// A line of text built in a fixed buffer that is reused: for code that runs after boot,
    /// where allocating is not allowed (the heap is never freed, so a guest that could make
    /// the hypervisor allocate could exhaust it). What does not fit is cut off.
    /// </summary>
    public sealed class TextBuffer
    {
        private readonly char[] _chars;
        private int _length;

        public TextBuffer(int capacity = 160) => _chars = new char[capacity];

        public int Length => _length;

        public ReadOnlySpan<char> AsSpan() => new ReadOnlySpan<char>(_chars, 0, _length);

        public TextBuffer Clear()
        {
            _length = 0;
            return this;
        }

        public TextBuffer Append(ReadOnlySpan<char> text)
        {
            int n = Math.Min(text.Length, _chars.Length - _length);
            for (int i = 0; i < n; i++)
                _chars[_length + i] = text[i];
            _length += n;
            return this;
        }

        public TextBuffer Append(string text) => Append(text.AsSpan());

        public TextBuffer AppendDecimal(ulong value)
        {
            Span<char> digits = stackalloc char[20];
            return Append(digits.Slice(0, NumberFormat.FormatDecimal(value, digits)));
        }

        /// <summary>A copy as a string (allocates: for the host tests and for boot-time code).</summary>
        public override string ToString() => new string(_chars, 0, _length);
    }
}
