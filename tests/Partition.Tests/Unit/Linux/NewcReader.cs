using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using NUnit.Framework;

namespace Partition.Tests.Unit.Linux
{
    /// <summary>One entry of a newc archive as the kernel's unpacker (init/initramfs.c) sees it.</summary>
    public sealed record NewcEntry(
        long Offset, uint Inode, uint Mode, uint Uid, uint Gid, uint NLink, uint MTime, uint FileSize,
        uint DevMajor, uint DevMinor, uint RdevMajor, uint RdevMinor, uint NameSize, uint Check, string Name, byte[] Data);

    /// <summary>
    /// A newc reader written from the format description for the tests, independent of the writer
    /// (tools/Partition.Host/Linux/CpioArchive.cs): it asserts the alignment rules as it goes.
    /// </summary>
    public static class NewcReader
    {
        public static List<NewcEntry> Read(byte[] archive)
        {
            var entries = new List<NewcEntry>();
            int offset = 0;
            while (true)
            {
                Assert.That(offset % 4, Is.Zero, $"entry at {offset} is not 4-byte aligned");
                Assert.That(archive.Length - offset, Is.GreaterThanOrEqualTo(110), $"archive ends inside a header at {offset}");
                string header = Encoding.ASCII.GetString(archive, offset, 110);
                Assert.That(header.Substring(0, 6), Is.EqualTo("070701"), $"magic at {offset}");
                var fields = new uint[13];
                for (int i = 0; i < 13; i++)
                {
                    string hex = header.Substring(6 + 8 * i, 8);
                    Assert.That(uint.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out fields[i]), $"field {i} '{hex}' at {offset}");
                }
                uint nameSize = fields[11], fileSize = fields[6];
                string name = Encoding.UTF8.GetString(archive, offset + 110, (int)nameSize - 1);
                Assert.That(archive[offset + 110 + nameSize - 1], Is.Zero, $"name of '{name}' is not NUL-terminated");
                int data = Align4(offset + 110 + (int)nameSize);
                for (int i = offset + 110 + (int)nameSize; i < data; i++)
                    Assert.That(archive[i], Is.Zero, $"name padding of '{name}' is not zero");
                var bytes = new byte[fileSize];
                Array.Copy(archive, data, bytes, 0, fileSize);
                entries.Add(new NewcEntry(offset, fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fileSize,
                    fields[7], fields[8], fields[9], fields[10], nameSize, fields[12], name, bytes));
                int next = Align4(data + (int)fileSize);
                for (int i = data + (int)fileSize; i < next; i++)
                    Assert.That(archive[i], Is.Zero, $"data padding of '{name}' is not zero");
                offset = next;
                if (name == "TRAILER!!!")
                    break;
            }
            for (int i = offset; i < archive.Length; i++)
                Assert.That(archive[i], Is.Zero, "bytes after the trailer must be zero padding");
            return entries;
        }

        private static int Align4(int value) => (value + 3) & ~3;
    }
}
