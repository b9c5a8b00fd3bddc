using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using Partition.Host;

namespace Partition.Tests.Unit.Linux
{
    /// <summary>
    /// The host partition's test disk: its size, its MBR and its hash, which system tests compare
    /// with the "host disk: /dev/sda SIZE bytes sha256 HEX" line the host's /init prints.
    /// </summary>
    public class HostDiskTests
    {
        /// <summary>
        /// The default disk's SHA-256. Pinned: the system tests and anyone reading a log can rely on
        /// it, and a change to the generator that changes it must be deliberate.
        /// </summary>
        public const string DefaultSha256 = "702e6b31a2cca91810cb23e4053ec715329e188ebbbb16caeba43d6ccca546c2";

        private string _directory = "";

        [SetUp]
        public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("host-disk-").FullName;

        [TearDown]
        public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

        [Test]
        public void The_default_disk_is_two_standard_cylinders_with_a_pinned_hash()
        {
            var image = HostDisk.Create(Path.Combine(_directory, "disk.img"));
            Assert.That(image.Geometry, Is.EqualTo(new DiskGeometry(2, 16, 63)));
            Assert.That(new FileInfo(image.Path).Length, Is.EqualTo(1_032_192L).And.EqualTo(image.Geometry.Bytes));
            Assert.That(image.Sha256, Is.EqualTo(DefaultSha256));
            Assert.That(HostDisk.Sha256Of(), Is.EqualTo(DefaultSha256));
        }

        [Test]
        public void The_hash_is_the_sha256_of_the_file_as_sha256sum_prints_it()
        {
            var image = HostDisk.Create(Path.Combine(_directory, "disk.img"), DiskGeometry.Standard(3));
            string actual = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(image.Path))).ToLowerInvariant();
            Assert.That(image.Sha256, Is.EqualTo(actual));
            Assert.That(image.Sha256, Does.Match("^[0-9a-f]{64}$"));
            Assert.That(image.Sha256, Is.Not.EqualTo(DefaultSha256), "another geometry, another disk");
        }

        [Test]
        public void The_same_geometry_gives_the_same_bytes_and_a_second_create_replaces_the_file()
        {
            string path = Path.Combine(_directory, "disk.img");
            File.WriteAllText(path, "something else, longer or shorter");
            var first = HostDisk.Create(path);
            byte[] bytes = File.ReadAllBytes(path);
            var second = HostDisk.Create(path);
            Assert.That(second.Sha256, Is.EqualTo(first.Sha256));
            Assert.That(File.ReadAllBytes(path), Is.EqualTo(bytes));
            Assert.That(Directory.GetFiles(_directory), Has.Length.EqualTo(1), "no temporary file is left behind");
        }

        [Test]
        public void Sector_zero_is_an_mbr_with_one_data_partition_to_the_end()
        {
            var geometry = HostDisk.DefaultGeometry;
            byte[] disk = HostDisk.Bytes(geometry);
            Assert.That((disk[510], disk[511]), Is.EqualTo(((byte)0x55, (byte)0xAA)));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(disk.AsSpan(0x1B8)), Is.EqualTo(HostDisk.DiskSignature));
            var entry = disk.AsSpan(0x1BE, 16);
            Assert.That(entry[0], Is.Zero, "not active: nothing boots from this disk");
            Assert.That(entry[4], Is.EqualTo(0xDA));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(entry.Slice(8)), Is.EqualTo(63u));
            Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(entry.Slice(12)), Is.EqualTo((uint)(geometry.Sectors - 63)));
            // CHS of LBA 63: cylinder 0, head 1, sector 1; of the last LBA (2015): cylinder 1, head 15, sector 63.
            Assert.That(new[] { entry[1], entry[2], entry[3] }, Is.EqualTo(new byte[] { 1, 1, 0 }));
            Assert.That(new[] { entry[5], entry[6], entry[7] }, Is.EqualTo(new byte[] { 15, 63, 1 }));
            for (int i = 0x1CE; i < 0x1FE; i++)
                Assert.That(disk[i], Is.Zero, "the other three partition entries are empty");
        }

        [Test]
        public void Every_other_sector_names_its_lba_and_no_two_are_alike()
        {
            var geometry = HostDisk.DefaultGeometry;
            byte[] disk = HostDisk.Bytes(geometry);
            var seen = new HashSet<string>();
            for (long lba = 1; lba < geometry.Sectors; lba++)
            {
                var sector = disk.AsSpan((int)(lba * 512), 512);
                Assert.That(Encoding.ASCII.GetString(sector.Slice(0, 32)), Is.EqualTo($"PARTITION-DISK {lba:X16}\n"));
                Assert.That(seen.Add(Convert.ToHexString(SHA256.HashData(sector))), Is.True, $"sector {lba} repeats another");
                Assert.That(sector.Slice(32).IndexOfAnyExcept((byte)0), Is.GreaterThanOrEqualTo(0), $"sector {lba} has no data");
            }
        }

        [TestCase(1_032_192L, 2)]
        [TestCase(516_096L, 1)]
        [TestCase(10_321_920L, 20)]
        public void A_size_of_whole_cylinders_has_the_standard_geometry(long bytes, int cylinders)
        {
            Assert.That(DiskGeometry.ForSize(bytes), Is.EqualTo(DiskGeometry.Standard(cylinders)));
        }

        [TestCase(0L)]
        [TestCase(1_048_576L)]
        [TestCase(516_095L)]
        public void Another_size_has_no_geometry_bochs_would_take(long bytes)
        {
            Assert.That(DiskGeometry.ForSize(bytes), Is.Null);
        }

        [Test]
        public void A_geometry_outside_ata_limits_is_refused()
        {
            Assert.That(new DiskGeometry(2, 17, 63).IsValid, Is.False);
            Assert.That(new DiskGeometry(2, 16, 64).IsValid, Is.False);
            Assert.Throws<ArgumentOutOfRangeException>(() => HostDisk.Bytes(new DiskGeometry(2, 16, 64)));
            Assert.Throws<ArgumentOutOfRangeException>(() => HostDisk.Bytes(new DiskGeometry(1, 1, 63)), "no room for the partition");
        }
    }
}
