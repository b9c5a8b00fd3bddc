using System;
using System.IO;
using System.Linq;
using NUnit.Framework;
using Partition.Host;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The bochsrc a <see cref="BochsRun"/> writes: where the boot CD-ROM and the optional disk go.
    /// (Booting with both is checked in Bochs: README, 'Host partition images'.)
    /// </summary>
    public class BochsRcTests
    {
        private string _directory = "";

        [SetUp]
        public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("bochsrc-").FullName;

        [TearDown]
        public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

        private string[] Lines(BochsOptions options)
        {
            using var run = new BochsRun(Path.Combine(_directory, "boot.iso"), _directory, options);
            return run.Bochsrc("127.0.0.1:1234").Split('\n');
        }

        [Test]
        public void Without_a_disk_the_cdrom_is_the_second_channels_master_and_boots()
        {
            string[] lines = Lines(new BochsOptions());
            Assert.That(lines, Does.Contain($"ata1-master: type=cdrom, path={Path.Combine(_directory, "boot.iso")}, status=inserted"));
            Assert.That(lines, Does.Contain("boot: cdrom"));
            Assert.That(lines.Where(l => l.StartsWith("ata0-master", StringComparison.Ordinal)), Is.Empty);
        }

        [Test]
        public void A_disk_is_the_first_channels_master_with_its_geometry()
        {
            var image = HostDisk.Create(Path.Combine(_directory, "disk.img"));
            string[] lines = Lines(new BochsOptions { Disk = BochsDisk.From(image) });
            Assert.That(lines, Does.Contain($"ata0-master: type=disk, path={image.Path}, mode=flat, cylinders=2, heads=16, spt=63"));
            Assert.That(lines.Count(l => l.StartsWith("ata1-master: type=cdrom", StringComparison.Ordinal)), Is.EqualTo(1));
            Assert.That(lines, Does.Contain("boot: cdrom"));
        }

        [Test]
        public void A_disk_whose_size_is_not_its_geometry_is_refused_before_bochs_starts()
        {
            string path = Path.Combine(_directory, "disk.img");
            File.WriteAllBytes(path, new byte[1_048_576]);
            var error = Assert.Throws<InvalidOperationException>(() => Lines(new BochsOptions { Disk = new BochsDisk(path, HostDisk.DefaultGeometry) }));
            Assert.That(error!.Message, Does.Contain("1,048,576 bytes").And.Contain("1,032,192 bytes"));
        }

        [Test]
        public void A_disk_path_bochs_cannot_parse_is_refused()
        {
            string directory = Path.Combine(_directory, "with space");
            var image = HostDisk.Create(Path.Combine(directory, "disk.img"));
            Assert.Throws<InvalidOperationException>(() => Lines(new BochsOptions { Disk = BochsDisk.From(image) }));
        }
    }
}
