using System;
using System.Collections.Generic;
using System.Text;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    public class Multiboot2Tests
    {
        /// <summary>Builds a boot information structure tag by tag, as GRUB lays it out (8-byte aligned tags).</summary>
        private sealed class InfoBuilder
        {
            private readonly List<byte> _bytes = new() { 0, 0, 0, 0, 0, 0, 0, 0 };

            public InfoBuilder Tag(uint type, byte[] payload)
            {
                U32(type);
                U32((uint)(8 + payload.Length));
                _bytes.AddRange(payload);
                while (_bytes.Count % 8 != 0)
                    _bytes.Add(0);
                return this;
            }

            public InfoBuilder String(uint type, string text) => Tag(type, Encoding.ASCII.GetBytes(text + "\0"));

            public InfoBuilder Module(uint start, uint end, string text)
            {
                var payload = new List<byte>();
                payload.AddRange(BitConverter.GetBytes(start));
                payload.AddRange(BitConverter.GetBytes(end));
                payload.AddRange(Encoding.ASCII.GetBytes(text + "\0"));
                return Tag(3, payload.ToArray());
            }

            public InfoBuilder MemoryMap(params (ulong Start, ulong Length, uint Type)[] entries)
            {
                var payload = new List<byte>();
                payload.AddRange(BitConverter.GetBytes(24u));
                payload.AddRange(BitConverter.GetBytes(0u));
                foreach (var e in entries)
                {
                    payload.AddRange(BitConverter.GetBytes(e.Start));
                    payload.AddRange(BitConverter.GetBytes(e.Length));
                    payload.AddRange(BitConverter.GetBytes(e.Type));
                    payload.AddRange(BitConverter.GetBytes(0u));
                }
                return Tag(6, payload.ToArray());
            }

            public byte[] Build(bool endTag = true)
            {
                if (endTag)
                    Tag(0, Array.Empty<byte>());
                var result = _bytes.ToArray();
                BitConverter.GetBytes((uint)result.Length).CopyTo(result, 0);
                return result;
            }

            private void U32(uint value) => _bytes.AddRange(BitConverter.GetBytes(value));
        }

        [Test]
        public void ParsesCommandLineLoaderMemoryMapAndModules()
        {
            var info = new InfoBuilder()
                .String(1, "exit=poweroff fault=page")
                .String(2, "GRUB 2.06")
                .MemoryMap((0, 0x9F000, 1), (0x9F000, 0x1000, 2), (0x100000, 0x7EF0000, 1), (0x7FF0000, 0x10000, 3))
                .Module(0x200000, 0x200400, "config.json")
                .Module(0x201000, 0x209000, "guest.elf console=ttyS0")
                .Build();

            Assert.That(BootInformation.TryParse(info, out var boot, out string error), Is.True, error);
            Assert.That(boot.CommandLine, Is.EqualTo("exit=poweroff fault=page"));
            Assert.That(boot.BootLoaderName, Is.EqualTo("GRUB 2.06"));
            Assert.That(boot.MemoryMap, Has.Length.EqualTo(4));
            Assert.That(boot.MemoryMap[2].Start, Is.EqualTo(0x100000UL));
            Assert.That(boot.MemoryMap[2].End, Is.EqualTo(0x7FF0000UL));
            Assert.That(boot.MemoryMap[3].Type, Is.EqualTo(MemoryRegionType.AcpiReclaimable));
            Assert.That(boot.AvailableMemory, Is.EqualTo(0x9F000UL + 0x7EF0000UL));
            Assert.That(boot.Modules, Has.Length.EqualTo(2));
            Assert.That(boot.Modules[1].Start, Is.EqualTo(0x201000UL));
            Assert.That(boot.Modules[1].Size, Is.EqualTo(0x8000UL));
            Assert.That(boot.Modules[1].CommandLine, Is.EqualTo("guest.elf console=ttyS0"));
        }

        [Test]
        public void RecordsWhereTheAcpiRsdpCopyIs()
        {
            var info = new InfoBuilder().String(1, "").Tag(14, Encoding.ASCII.GetBytes("RSD PTR \0\0\0\0\0\0\0\0\0\0\0\0")).Build();
            Assert.That(BootInformation.TryParse(info, out var boot, out _), Is.True);
            Assert.That(info.AsSpan(boot.AcpiRsdpOffset, 8).ToArray(), Is.EqualTo(Encoding.ASCII.GetBytes("RSD PTR ")));
        }

        [Test]
        public void NonAsciiInStringsBecomesQuestionMarks()
        {
            var info = new InfoBuilder().Tag(1, new byte[] { (byte)'a', 0xC3, 0xA9, 0 }).Build();
            Assert.That(BootInformation.TryParse(info, out var boot, out _), Is.True);
            Assert.That(boot.CommandLine, Is.EqualTo("a??"));
        }

        [Test]
        public void MissingEndTagIsAnError()
        {
            var info = new InfoBuilder().String(1, "x").Build(endTag: false);
            Assert.That(BootInformation.TryParse(info, out _, out string error), Is.False);
            Assert.That(error, Does.Contain("no end tag"));
        }

        [Test]
        public void TagSizeBeyondTheStructureIsAnError()
        {
            var info = new InfoBuilder().String(1, "abc").Build();
            BitConverter.GetBytes(4096u).CopyTo(info, 12); // the command line tag's size
            Assert.That(BootInformation.TryParse(info, out _, out string error), Is.False);
            Assert.That(error, Does.Contain("offset 8").And.Contain("beyond"));
        }

        [Test]
        public void TotalSizeLargerThanTheBufferIsAnError()
        {
            var info = new InfoBuilder().Build();
            BitConverter.GetBytes(1000u).CopyTo(info, 0);
            Assert.That(BootInformation.TryParse(info, out _, out string error), Is.False);
            Assert.That(error, Does.Contain("total_size"));
        }

        [Test]
        public void MemoryMapEntrySizeMustHoldAnEntry()
        {
            var info = new InfoBuilder().Tag(6, new byte[] { 8, 0, 0, 0, 0, 0, 0, 0 }).Build();
            Assert.That(BootInformation.TryParse(info, out _, out string error), Is.False);
            Assert.That(error, Does.Contain("entry_size"));
        }

        [Test]
        public void TruncatedInputsNeverReadOutOfBounds()
        {
            var info = new InfoBuilder().String(1, "exit=poweroff").MemoryMap((0x100000, 0x1000000, 1)).Module(1, 2, "m").Build();
            for (int length = 0; length < info.Length; length++)
            {
                var prefix = info.AsSpan(0, length).ToArray();
                if (prefix.Length >= 4)
                    BitConverter.GetBytes((uint)length).CopyTo(prefix, 0);
                Assert.That(() => BootInformation.TryParse(prefix, out _, out _), Throws.Nothing, $"length {length}");
            }
        }
    }
}
