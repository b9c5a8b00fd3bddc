using System;

namespace Partition.Kernel
{
    /// <summary>
    /// Number formatting into a caller's buffer: the image has no BCL formatting and must not
    /// allocate for it.
    /// </summary>
    public static class NumberFormat
    {
        private const string HexDigits = "0123456789ABCDEF";

        /// <summary>Writes <paramref name="value"/> in hex, zero-padded to <paramref name="minDigits"/>; returns the length.</summary>
        public static int FormatHex(ulong value, int minDigits, Span<char> destination)
        {
            int digits = 1;
            for (ulong rest = value >> 4; rest != 0; rest >>= 4)
                digits++;
            if (digits < minDigits)
                digits = minDigits;
            for (int i = digits - 1; i >= 0; i--)
            {
                destination[i] = HexDigits[(int)(value & 0xF)];
                value >>= 4;
            }
            return digits;
        }

        public static int FormatDecimal(ulong value, Span<char> destination)
        {
            int digits = 1;
            for (ulong rest = value / 10; rest != 0; rest /= 10)
                digits++;
            for (int i = digits - 1; i >= 0; i--)
            {
                destination[i] = (char)('0' + (int)(value % 10));
                value /= 10;
            }
            return digits;
        }

        public static int FormatDecimal(long value, Span<char> destination)
        {
            if (value >= 0)
                return FormatDecimal((ulong)value, destination);
            destination[0] = '-';
            return 1 + FormatDecimal(unchecked((ulong)(-(value + 1)) + 1), destination.Slice(1));
        }

        /// <summary>A size in the largest binary unit that divides it evenly ("16 MiB", "640 KiB", "1536 B").</summary>
        public static int FormatSize(ulong bytes, Span<char> destination)
        {
            string unit = " B";
            if (bytes != 0 && bytes % (1UL << 30) == 0) { bytes >>= 30; unit = " GiB"; }
            else if (bytes != 0 && bytes % (1UL << 20) == 0) { bytes >>= 20; unit = " MiB"; }
            else if (bytes != 0 && bytes % (1UL << 10) == 0) { bytes >>= 10; unit = " KiB"; }
            int length = FormatDecimal(bytes, destination);
            for (int i = 0; i < unit.Length; i++)
                destination[length++] = unit[i];
            return length;
        }
    }
}
