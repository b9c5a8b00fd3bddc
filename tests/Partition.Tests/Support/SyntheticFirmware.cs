using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using Partition.Kernel;

namespace Partition.Tests.Support
{
    /// <summary>
    /// Firmware tables written by a test, laid out one after another from a base address:
    /// whatever a firmware might hand the host partition, including what real firmware rarely
    /// shows (disabled and x2APIC processors, per-processor NMI entries, several I/O APICs,
    /// unknown MADT entries, an IOMMU with several units, a second MADT, bad checksums). Its
    /// FADT and DSDT are a guest partition's from <see cref="AcpiTables"/>: real, checked
    /// tables with a reset and a sleep register. Offsets follow ACPI 6.5 (5.2.6 header,
    /// 5.2.12 MADT), PCI Firmware 3.2 (MCFG) and Intel VT-d 4.1 chapter 8 (DMAR).
    /// </summary>
    public sealed class SyntheticFirmware
    {
        private readonly byte[] _image;
        private int _used;

        public SyntheticFirmware(ulong baseAddress, int size = 0x10000)
        {
            Base = baseAddress;
            _image = new byte[size];
        }

        public ulong Base { get; }
        public byte[] Image => _image.AsSpan(0, _used).ToArray();

        /// <summary>The guest tables' FADT, whose DSDT lies beside it (<see cref="AddGuestFadt"/>).</summary>
        public ulong Fadt { get; private set; }

        /// <summary>Copies <paramref name="bytes"/> to the next 16-byte boundary; returns its address.</summary>
        public ulong Add(byte[] bytes)
        {
            int at = (_used + 15) & ~15;
            bytes.CopyTo(_image, at);
            _used = at + bytes.Length;
            return Base + (ulong)at;
        }

        /// <summary>Changes a byte already added (to break a checksum, say).</summary>
        public void Poke(ulong address, byte value) => _image[address - Base] = value;

        /// <summary>A guest partition's tables (<see cref="AcpiTables.Build"/>); returns its FADT's address.</summary>
        public ulong AddGuestFadt()
        {
            var area = new byte[0x1000];
            ulong start = Base + (ulong)((_used + 15) & ~15);
            int used = AcpiTables.Build(area, start, AcpiPlatform.Create(2, 0x3F8), out ulong rsdp);
            if (used <= 0)
                throw new InvalidOperationException("AcpiTables.Build: " + used);
            Add(area.AsSpan(0, used).ToArray());
            ulong xsdt = BinaryPrimitives.ReadUInt64LittleEndian(area.AsSpan((int)(rsdp - start) + 24));
            Fadt = BinaryPrimitives.ReadUInt64LittleEndian(area.AsSpan((int)(xsdt - start) + 36));
            return Fadt;
        }

        /// <summary>An RSDP (revision 2 with an XSDT, or 0 with an RSDT); returns its bytes (36 or 20) and address.</summary>
        public (byte[] Bytes, ulong Address) AddRsdp(ulong rsdt, ulong xsdt)
        {
            bool extended = xsdt != 0;
            var rsdp = new byte[extended ? 36 : 20];
            Encoding.ASCII.GetBytes("RSD PTR ").CopyTo(rsdp, 0);
            Encoding.ASCII.GetBytes("FWOEM ").CopyTo(rsdp, 9);
            rsdp[15] = (byte)(extended ? 2 : 0);
            BinaryPrimitives.WriteUInt32LittleEndian(rsdp.AsSpan(16), (uint)rsdt);
            if (extended)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(rsdp.AsSpan(20), 36);
                BinaryPrimitives.WriteUInt64LittleEndian(rsdp.AsSpan(24), xsdt);
            }
            rsdp[8] = Checksum(rsdp.AsSpan(0, 20));
            if (extended)
                rsdp[32] = Checksum(rsdp);
            return (rsdp, Add(rsdp));
        }

        public ulong AddXsdt(params ulong[] tables)
        {
            var body = new byte[8 * tables.Length];
            for (int i = 0; i < tables.Length; i++)
                BinaryPrimitives.WriteUInt64LittleEndian(body.AsSpan(8 * i), tables[i]);
            return Add(Table("XSDT", 1, body));
        }

        public ulong AddRsdt(params ulong[] tables)
        {
            var body = new byte[4 * tables.Length];
            for (int i = 0; i < tables.Length; i++)
                BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4 * i), (uint)tables[i]);
            return Add(Table("RSDT", 1, body));
        }

        /// <summary>A table: the 36-byte header (OEM "FWOEM ", "FWTABLE ", creator "FWCR"), the body, the checksum.</summary>
        public static byte[] Table(string signature, byte revision, byte[] body)
        {
            var table = new byte[36 + body.Length];
            Encoding.ASCII.GetBytes(signature).CopyTo(table, 0);
            BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(4), (uint)table.Length);
            table[8] = revision;
            Encoding.ASCII.GetBytes("FWOEM ").CopyTo(table, 10);
            Encoding.ASCII.GetBytes("FWTABLE ").CopyTo(table, 16);
            BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(24), 7);
            Encoding.ASCII.GetBytes("FWCR").CopyTo(table, 28);
            BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(32), 0x20240101);
            body.CopyTo(table, 36);
            table[9] = Checksum(table);
            return table;
        }

        public static byte Checksum(ReadOnlySpan<byte> bytes)
        {
            byte sum = 0;
            foreach (byte b in bytes)
                sum += b;
            return (byte)(0 - sum);
        }

        /// <summary>A MADT (revision 5) with the local APIC address, flags and entries given.</summary>
        public static byte[] Madt(uint localApic, uint flags, params byte[][] entries)
        {
            var body = new List<byte>();
            body.AddRange(BitConverter.GetBytes(localApic));
            body.AddRange(BitConverter.GetBytes(flags));
            foreach (var entry in entries)
                body.AddRange(entry);
            return Table("APIC", 5, body.ToArray());
        }

        public static byte[] LocalApic(byte uid, byte id, uint flags = 1) => Entry(0, 8, e =>
        {
            e[2] = uid;
            e[3] = id;
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), flags);
        });

        public static byte[] LocalX2Apic(uint id, uint uid, uint flags = 1) => Entry(9, 16, e =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), id);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(8), flags);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(12), uid);
        });

        public static byte[] IoApic(byte id, uint address, uint gsiBase) => Entry(1, 12, e =>
        {
            e[2] = id;
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), address);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(8), gsiBase);
        });

        public static byte[] SourceOverride(byte source, uint gsi, ushort flags) => Entry(2, 10, e =>
        {
            e[3] = source;
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), gsi);
            BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(8), flags);
        });

        public static byte[] NmiSource(ushort flags, uint gsi) => Entry(3, 8, e =>
        {
            BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(2), flags);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), gsi);
        });

        public static byte[] LocalApicNmi(byte uid, ushort flags, byte lint) => Entry(4, 6, e =>
        {
            e[2] = uid;
            BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(3), flags);
            e[5] = lint;
        });

        public static byte[] LocalX2ApicNmi(uint uid, ushort flags, byte lint) => Entry(10, 12, e =>
        {
            BinaryPrimitives.WriteUInt16LittleEndian(e.AsSpan(2), flags);
            BinaryPrimitives.WriteUInt32LittleEndian(e.AsSpan(4), uid);
            e[8] = lint;
        });

        public static byte[] LocalApicAddressOverride(ulong address) => Entry(5, 12, e =>
            BinaryPrimitives.WriteUInt64LittleEndian(e.AsSpan(4), address));

        /// <summary>An entry of any type, its bytes after type and length left 0 (SAPIC, wakeup mailbox, OEM...).</summary>
        public static byte[] Other(byte type, byte length) => Entry(type, length, _ => { });

        private static byte[] Entry(byte type, byte length, Action<byte[]> fill)
        {
            var entry = new byte[length];
            entry[0] = type;
            entry[1] = length;
            fill(entry);
            return entry;
        }

        /// <summary>MCFG: 8 reserved bytes, then one 16-byte allocation per window.</summary>
        public static byte[] Mcfg(params EcamWindow[] windows)
        {
            var body = new byte[8 + 16 * windows.Length];
            for (int i = 0; i < windows.Length; i++)
            {
                var a = body.AsSpan(8 + 16 * i);
                BinaryPrimitives.WriteUInt64LittleEndian(a, windows[i].Base);
                BinaryPrimitives.WriteUInt16LittleEndian(a.Slice(8), windows[i].Segment);
                a[10] = windows[i].StartBus;
                a[11] = windows[i].EndBus;
            }
            return Table("MCFG", 1, body);
        }

        /// <summary>DMAR: host address width, flags, 10 reserved; per unit a DRHD with one PCI endpoint scope, then an RMRR.</summary>
        public static byte[] Dmar(params (ulong Registers, byte Size)[] units)
        {
            var body = new List<byte> { 38, 1 };
            body.AddRange(new byte[10]);
            foreach (var (registers, size) in units)
            {
                var drhd = new byte[24];
                BinaryPrimitives.WriteUInt16LittleEndian(drhd, 0);
                BinaryPrimitives.WriteUInt16LittleEndian(drhd.AsSpan(2), 24);
                drhd[5] = size;
                BinaryPrimitives.WriteUInt64LittleEndian(drhd.AsSpan(8), registers);
                drhd[16] = 1;      // device scope: PCI endpoint
                drhd[17] = 8;
                drhd[22] = 0x1F;   // path: device 31, function 0
                body.AddRange(drhd);
            }
            var rmrr = new byte[24];
            BinaryPrimitives.WriteUInt16LittleEndian(rmrr, 1);
            BinaryPrimitives.WriteUInt16LittleEndian(rmrr.AsSpan(2), 24);
            BinaryPrimitives.WriteUInt64LittleEndian(rmrr.AsSpan(8), 0x7F000000);
            BinaryPrimitives.WriteUInt64LittleEndian(rmrr.AsSpan(16), 0x7F0FFFFF);
            body.AddRange(rmrr);
            return Table("DMAR", 1, body.ToArray());
        }

        /// <summary>A table whose contents do not matter here (SSDT, HPET, ...).</summary>
        public static byte[] Opaque(string signature, int bodyLength = 20)
        {
            var body = new byte[bodyLength];
            for (int i = 0; i < body.Length; i++)
                body[i] = (byte)(i * 7 + 3);
            return Table(signature, 2, body);
        }
    }
}
