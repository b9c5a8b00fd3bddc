using System;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    public class NumberFormatTests
    {
        [TestCase(0UL, 1, "0")]
        [TestCase(0UL, 4, "0000")]
        [TestCase(0xABCUL, 1, "ABC")]
        [TestCase(0xABCUL, 8, "00000ABC")]
        [TestCase(0xFFFFFFFFFFFFFFFFUL, 16, "FFFFFFFFFFFFFFFF")]
        [TestCase(0x123456789UL, 4, "123456789")]
        public void Hex(ulong value, int digits, string expected)
        {
            Span<char> buffer = stackalloc char[16];
            Assert.That(new string(buffer.Slice(0, NumberFormat.FormatHex(value, digits, buffer))), Is.EqualTo(expected));
        }

        [TestCase(0L, "0")]
        [TestCase(42L, "42")]
        [TestCase(-7L, "-7")]
        [TestCase(long.MaxValue, "9223372036854775807")]
        [TestCase(long.MinValue, "-9223372036854775808")]
        public void Decimal(long value, string expected)
        {
            Span<char> buffer = stackalloc char[21];
            Assert.That(new string(buffer.Slice(0, NumberFormat.FormatDecimal(value, buffer))), Is.EqualTo(expected));
        }

        [TestCase(0UL, "0 B")]
        [TestCase(1536UL, "1536 B")]
        [TestCase(640UL * 1024, "640 KiB")]
        [TestCase(16UL << 20, "16 MiB")]
        [TestCase(4UL << 30, "4 GiB")]
        [TestCase((1UL << 20) + 1024, "1025 KiB")]
        public void Size(ulong bytes, string expected)
        {
            Span<char> buffer = stackalloc char[28];
            Assert.That(new string(buffer.Slice(0, NumberFormat.FormatSize(bytes, buffer))), Is.EqualTo(expected));
        }
    }
}
