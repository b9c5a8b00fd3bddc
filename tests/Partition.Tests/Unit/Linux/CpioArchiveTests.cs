using System;
using System.Linq;
using System.Text;
using NUnit.Framework;
using Partition.Host.Linux;

namespace Partition.Tests.Unit.Linux
{
    public class CpioArchiveTests
    {
        private static CpioArchive Sample()
        {
            var archive = new CpioArchive();
            archive.AddDirectory("/bin");
            archive.AddFile("/bin/hello", Encoding.ASCII.GetBytes("hello"), 0x1ED);
            archive.AddSymlink("/bin/sh", "hello");
            archive.AddDirectory("/dev");
            archive.AddCharacterDevice("/dev/console", 0x180, 5, 1);
            return archive;
        }

        [Test]
        public void The_first_header_spells_out_every_field_in_eight_hex_digits()
        {
            var archive = new CpioArchive();
            archive.AddFile("/init", Encoding.ASCII.GetBytes("#!/bin/sh\n"), 0x1ED);
            string header = Encoding.ASCII.GetString(archive.ToArray(), 0, 110);
            Assert.That(header, Is.EqualTo(
                "070701" +
                "00000001" + // ino
                "000081ED" + // mode: regular file, 0755
                "00000000" + // uid
                "00000000" + // gid
                "00000001" + // nlink
                "00000000" + // mtime: fixed at 0
                "0000000A" + // filesize
                "00000000" + "00000000" + // devmajor, devminor
                "00000000" + "00000000" + // rdevmajor, rdevminor
                "00000005" + // namesize: "init" and its NUL
                "00000000")); // check
        }

        [Test]
        public void Names_and_data_are_padded_to_four_bytes()
        {
            var entries = NewcReader.Read(Sample().ToArray());
            var hello = entries.Single(e => e.Name == "bin/hello");
            // 110 + "bin/hello\0" (10) = 120: already aligned; "hello" (5 bytes) is padded to 8.
            Assert.That(hello.NameSize, Is.EqualTo(10));
            Assert.That(Encoding.ASCII.GetString(hello.Data), Is.EqualTo("hello"));
            var next = entries[entries.IndexOf(hello) + 1];
            Assert.That(next.Offset - hello.Offset, Is.EqualTo(120 + 8));
            // 110 + "bin\0" (4) = 114, padded to 116.
            var bin = entries[0];
            Assert.That(entries[1].Offset - bin.Offset, Is.EqualTo(116));
        }

        [Test]
        public void Each_kind_of_entry_has_its_type_and_fields()
        {
            var entries = NewcReader.Read(Sample().ToArray()).ToDictionary(e => e.Name);
            Assert.That(entries["bin"].Mode, Is.EqualTo(0x41EDu), "directory 0755");
            Assert.That(entries["bin"].NLink, Is.EqualTo(2u));
            Assert.That(entries["bin/sh"].Mode, Is.EqualTo(0xA1FFu), "symlink 0777");
            Assert.That(Encoding.ASCII.GetString(entries["bin/sh"].Data), Is.EqualTo("hello"), "a symlink's target is its data");
            var console = entries["dev/console"];
            Assert.That(console.Mode, Is.EqualTo(0x2180u), "character device 0600");
            Assert.That((console.RdevMajor, console.RdevMinor), Is.EqualTo((5u, 1u)));
            Assert.That(console.FileSize, Is.Zero);
        }

        [Test]
        public void Every_entry_is_owned_by_root_dated_zero_and_numbered_in_order()
        {
            var entries = NewcReader.Read(Sample().ToArray());
            var real = entries.Take(entries.Count - 1).ToList();
            Assert.That(real.Select(e => e.Inode), Is.EqualTo(Enumerable.Range(1, real.Count).Select(i => (uint)i)));
            Assert.That(real.All(e => e.Uid == 0 && e.Gid == 0 && e.MTime == 0 && e.Check == 0), Is.True);
        }

        [Test]
        public void The_archive_ends_with_the_trailer_and_zeros_to_a_512_byte_block()
        {
            byte[] bytes = Sample().ToArray();
            var entries = NewcReader.Read(bytes);
            var trailer = entries[^1];
            Assert.That(trailer.Name, Is.EqualTo("TRAILER!!!"));
            Assert.That((trailer.Inode, trailer.Mode, trailer.NLink, trailer.FileSize, trailer.NameSize), Is.EqualTo((0u, 0u, 1u, 0u, 11u)));
            Assert.That(bytes.Length % 512, Is.Zero);
            Assert.That(entries.Count(e => e.Name == "TRAILER!!!"), Is.EqualTo(1));
        }

        [Test]
        public void The_same_entries_give_the_same_bytes()
        {
            Assert.That(Sample().ToArray(), Is.EqualTo(Sample().ToArray()));
        }

        [Test]
        public void An_empty_archive_is_only_the_trailer()
        {
            var entries = NewcReader.Read(new CpioArchive().ToArray());
            Assert.That(entries.Select(e => e.Name), Is.EqualTo(new[] { "TRAILER!!!" }));
        }

        [TestCase("/usr/bin/env", TestName = "A file before its directory is refused")]
        [TestCase("/bin/../etc", TestName = "Dot-dot is refused")]
        [TestCase("/", TestName = "The root itself is refused")]
        [TestCase("bin//x", TestName = "An empty path component is refused")]
        [TestCase("/TRAILER!!!", TestName = "The trailer's name is refused")]
        public void Bad_paths_are_refused(string path)
        {
            var archive = new CpioArchive();
            archive.AddDirectory("/bin");
            Assert.Throws<ArgumentException>(() => archive.AddFile(path, Array.Empty<byte>()));
        }

        [Test]
        public void A_path_given_twice_is_refused()
        {
            var archive = new CpioArchive();
            archive.AddDirectory("/bin");
            Assert.Throws<ArgumentException>(() => archive.AddSymlink("bin", "x"));
        }
    }
}
