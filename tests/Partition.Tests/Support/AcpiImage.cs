using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Support
{
    /// <summary>
    /// Tables built by <see cref="AcpiTables.Build"/> into an array, read back the way an OS
    /// finds them: from the RSDP to the XSDT, its entries, and the DSDT through the FADT.
    /// Offsets here are written out from the ACPI 6.4 tables, independently of the builder's
    /// own constants.
    /// </summary>
    public sealed class AcpiImage
    {
        public AcpiImage(AcpiPlatform platform, ulong areaGuestPhysical = 0xE0000, int areaSize = 0x20000)
        {
            Area = new byte[areaSize];
            Base = areaGuestPhysical;
            Used = AcpiTables.Build(Area, areaGuestPhysical, in platform, out ulong rsdp);
            Assert.That(Used, Is.GreaterThan(0), "AcpiTables.Build");
            Rsdp = rsdp;
            Xsdt = TableAt(BinaryPrimitives.ReadUInt64LittleEndian(Slice(Rsdp, 36).AsSpan(24)));
            for (int at = 36; at < Xsdt.Length; at += 8)
            {
                byte[] table = TableAt(BinaryPrimitives.ReadUInt64LittleEndian(Xsdt.AsSpan(at)));
                Tables[Signature(table)] = table;
            }
            Fadt = Tables["FACP"];
            Madt = Tables["APIC"];
            Dsdt = TableAt(BinaryPrimitives.ReadUInt64LittleEndian(Fadt.AsSpan(140)));
        }

        public byte[] Area { get; }
        public ulong Base { get; }
        public int Used { get; }
        public ulong Rsdp { get; }
        public byte[] RsdpBytes => Slice(Rsdp, 36);
        public byte[] Xsdt { get; }
        public byte[] Fadt { get; }
        public byte[] Madt { get; }
        public byte[] Dsdt { get; }

        /// <summary>The tables the XSDT lists, by signature.</summary>
        public Dictionary<string, byte[]> Tables { get; } = new();

        public static string Signature(byte[] table) => Encoding.ASCII.GetString(table, 0, 4);

        public static string Ascii(byte[] bytes, int at, int length) => Encoding.ASCII.GetString(bytes, at, length);

        public static byte Sum(ReadOnlySpan<byte> bytes)
        {
            byte sum = 0;
            foreach (byte b in bytes)
                sum += b;
            return sum;
        }

        public byte[] Slice(ulong guestPhysical, int length)
        {
            Assert.That(guestPhysical, Is.GreaterThanOrEqualTo(Base), "address below the area");
            ulong offset = guestPhysical - Base;
            Assert.That(offset + (ulong)length, Is.LessThanOrEqualTo((ulong)Used), "address beyond the bytes Build reported");
            return Area.AsSpan((int)offset, length).ToArray();
        }

        public byte[] TableAt(ulong guestPhysical)
        {
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(Slice(guestPhysical, 8).AsSpan(4));
            return Slice(guestPhysical, (int)length);
        }

        /// <summary>The MADT's interrupt controller structures (ACPI 6.4, 5.2.12): type and bytes, from offset 44.</summary>
        public List<(byte Type, byte[] Bytes)> MadtEntries()
        {
            var entries = new List<(byte, byte[])>();
            for (int at = 44; at < Madt.Length;)
            {
                byte length = Madt[at + 1];
                Assert.That(length, Is.GreaterThanOrEqualTo(2), "MADT entry length at offset " + at);
                entries.Add((Madt[at], Madt.AsSpan(at, length).ToArray()));
                at += length;
            }
            return entries;
        }
    }
}
