using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Support
{
    /// <summary>
    /// The host partition's tables as its OS finds them: the new RSDP and XSDT in the area
    /// HostAcpi wrote, the tables they point to in the area (the MADT) or in the firmware's
    /// memory (the rest). Offsets are written out from ACPI 6.5 independently of HostAcpi's.
    /// </summary>
    public sealed class HostAcpiImage
    {
        public const ulong DefaultArea = 0x7_0000_0000;

        public HostAcpiImage(FirmwareMemory firmware, int vcpus, ulong areaPhysical = DefaultArea, int areaSize = 0x4000,
            byte[] rsdp = null)
        {
            Firmware = firmware;
            Area = new byte[areaSize];
            Base = areaPhysical;
            var reader = firmware.Read();
            bool built = rsdp == null
                ? HostAcpi.TryBuild(ref reader, firmware.Rsdp, vcpus, Area, areaPhysical, out var view, out string error)
                : HostAcpi.TryBuild(ref reader, rsdp, vcpus, Area, areaPhysical, out view, out error);
            Assert.That(built, Is.True, "HostAcpi.TryBuild: " + error);
            Assert.That(error, Is.Null);
            View = view;
        }

        public FirmwareMemory Firmware { get; }
        public byte[] Area { get; }
        public ulong Base { get; }
        public HostAcpiView View { get; }

        public byte[] RsdpBytes => Slice(View.Rsdp, 36);
        public ulong XsdtAddress => BinaryPrimitives.ReadUInt64LittleEndian(RsdpBytes.AsSpan(24));
        public byte[] Xsdt => TableAt(XsdtAddress);

        public List<ulong> XsdtEntries
        {
            get
            {
                var entries = new List<ulong>();
                byte[] xsdt = Xsdt;
                for (int at = 36; at < xsdt.Length; at += 8)
                    entries.Add(BinaryPrimitives.ReadUInt64LittleEndian(xsdt.AsSpan(at)));
                return entries;
            }
        }

        /// <summary>The tables the XSDT lists, by signature (the last of a signature wins).</summary>
        public Dictionary<string, byte[]> Tables
        {
            get
            {
                var tables = new Dictionary<string, byte[]>();
                foreach (ulong address in XsdtEntries)
                {
                    byte[] table = TableAt(address);
                    tables[Encoding.ASCII.GetString(table, 0, 4)] = table;
                }
                return tables;
            }
        }

        public ulong MadtAddress
        {
            get
            {
                foreach (ulong address in XsdtEntries)
                    if (InArea(address))
                        return address;
                Assert.Fail("the XSDT lists nothing in the area");
                return 0;
            }
        }

        public byte[] Madt => TableAt(MadtAddress);

        /// <summary>The MADT's interrupt controller structures (ACPI 6.5, 5.2.12): type and bytes, from offset 44.</summary>
        public List<(byte Type, byte[] Bytes)> MadtEntries()
        {
            byte[] madt = Madt;
            var entries = new List<(byte, byte[])>();
            for (int at = 44; at < madt.Length;)
            {
                byte length = madt[at + 1];
                Assert.That(length, Is.GreaterThanOrEqualTo(2), "MADT entry length at offset " + at);
                entries.Add((madt[at], madt.AsSpan(at, length).ToArray()));
                at += length;
            }
            return entries;
        }

        public bool InArea(ulong address) => address >= Base && address < Base + (ulong)View.Used;

        public byte[] Slice(ulong address, int length)
        {
            if (InArea(address))
            {
                Assert.That(address - Base + (ulong)length, Is.LessThanOrEqualTo((ulong)View.Used), "beyond the bytes TryBuild reported");
                return Area.AsSpan((int)(address - Base), length).ToArray();
            }
            return Firmware.At(address, length);
        }

        public byte[] TableAt(ulong address) => Slice(address, (int)BinaryPrimitives.ReadUInt32LittleEndian(Slice(address, 8).AsSpan(4)));

        public static byte Sum(ReadOnlySpan<byte> bytes)
        {
            byte sum = 0;
            foreach (byte b in bytes)
                sum += b;
            return sum;
        }
    }
}
