using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Support
{
    /// <summary>
    /// Physical memory with firmware tables in it, for <see cref="HostAcpi"/>: byte arrays at
    /// physical addresses, read through <see cref="Reader"/>; a read that leaves them fails,
    /// as the hypervisor's does outside its identity mapping. Loads the real dumps under
    /// Unit/Data/acpi (their README says where they come from).
    /// </summary>
    public sealed class FirmwareMemory
    {
        private readonly List<(ulong Address, byte[] Bytes)> _regions = new();

        /// <summary>Where the RSDP is (a real dump's, or the one a synthetic firmware put there).</summary>
        public ulong Rsdp { get; set; }

        /// <summary>Reads counted, to show that tables are read piecewise, never in one 16 MiB gulp.</summary>
        public int LargestRead { get; private set; }

        public IReadOnlyList<(ulong Address, byte[] Bytes)> Regions => _regions;

        public void Add(ulong address, byte[] bytes) => _regions.Add((address, bytes));

        public Reader Read() => new(this);

        public bool TryRead(ulong physical, Span<byte> destination)
        {
            LargestRead = Math.Max(LargestRead, destination.Length);
            for (int i = 0; i < destination.Length; i++)
            {
                ulong at = physical + (ulong)i;
                bool found = false;
                foreach (var (address, bytes) in _regions)
                {
                    if (at >= address && at < address + (ulong)bytes.Length)
                    {
                        destination[i] = bytes[at - address];
                        found = true;
                        break;
                    }
                }
                if (!found)
                    return false;
            }
            return true;
        }

        /// <summary>The bytes at <paramref name="address"/>, as many as its region holds from there on.</summary>
        public byte[] At(ulong address, int length)
        {
            var bytes = new byte[length];
            Assert.That(TryRead(address, bytes), Is.True, "nothing at 0x" + address.ToString("X"));
            return bytes;
        }

        /// <summary>The whole table at <paramref name="address"/>, by its header's length.</summary>
        public byte[] Table(ulong address) => At(address, (int)BinaryPrimitives.ReadUInt32LittleEndian(At(address, 8).AsSpan(4)));

        /// <summary>The seam as HostAcpi takes it.</summary>
        public readonly struct Reader : IPhysicalMemoryReader
        {
            private readonly FirmwareMemory _memory;

            public Reader(FirmwareMemory memory) => _memory = memory;

            public bool TryRead(ulong physical, Span<byte> destination) => _memory.TryRead(physical, destination);
        }

        public static string DataDirectory => Path.Combine(TestContext.CurrentContext.TestDirectory, "Unit", "Data", "acpi");

        /// <summary>A real dump: every file of <paramref name="machine"/>/tables.txt at its address.</summary>
        public static FirmwareMemory Dump(string machine)
        {
            var memory = new FirmwareMemory();
            string folder = Path.Combine(DataDirectory, machine);
            foreach (string line in File.ReadAllLines(Path.Combine(folder, "tables.txt")))
            {
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length != 3)
                    continue;
                ulong address = ulong.Parse(fields[0].Substring(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                memory.Add(address, File.ReadAllBytes(Path.Combine(folder, fields[2])));
                if (fields[1] == "RSDP")
                    memory.Rsdp = address;
            }
            Assert.That(memory.Rsdp, Is.Not.Zero, machine + " has no RSDP in tables.txt");
            return memory;
        }

        /// <summary>The root table's entries (XSDT or RSDT, as the RSDP says), in order.</summary>
        public List<ulong> RootEntries(out string signature)
        {
            byte[] rsdp = At(Rsdp, 20);
            ulong xsdt = rsdp[15] >= 2 ? BinaryPrimitives.ReadUInt64LittleEndian(At(Rsdp, 36).AsSpan(24)) : 0;
            ulong root = xsdt != 0 ? xsdt : BinaryPrimitives.ReadUInt32LittleEndian(rsdp.AsSpan(16));
            byte[] table = Table(root);
            signature = Encoding.ASCII.GetString(table, 0, 4);
            var entries = new List<ulong>();
            int size = xsdt != 0 ? 8 : 4;
            for (int at = 36; at + size <= table.Length; at += size)
                entries.Add(size == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(table.AsSpan(at)) : BinaryPrimitives.ReadUInt32LittleEndian(table.AsSpan(at)));
            return entries;
        }

        public string SignatureAt(ulong address) => Encoding.ASCII.GetString(At(address, 4));
    }
}
