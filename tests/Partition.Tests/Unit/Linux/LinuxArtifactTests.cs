using System.IO;
using System.Linq;
using System.Text;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Linux;

namespace Partition.Tests.Unit.Linux
{
    /// <summary>
    /// The Linux images the Cake targets LinuxImages (guest and host) and DebianKernel put into artifacts/linux/
    /// (the Test target runs them first). A missing image fails these tests: skipping would let
    /// a run that never built the kernel look green.
    /// </summary>
    public class LinuxArtifactTests
    {
        private static RepositoryLayout Layout => RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory);

        private static byte[] Artifact(string path, string target)
        {
            Assert.That(File.Exists(path), Is.True,
                $"{path} is missing: build it with 'dotnet cake build.cake --target={target}' (the Test target does).");
            return File.ReadAllBytes(path);
        }

        private static BzImageHeader Header(byte[] image)
        {
            var header = BzImageHeader.TryRead(image, out string problem);
            Assert.That(header, Is.Not.Null, problem);
            return header;
        }

        [Test]
        public void The_guest_kernel_is_a_bzImage_a_64_bit_loader_can_start()
        {
            byte[] image = Artifact(LinuxArtifacts.GuestKernel(Layout), "LinuxImages");
            Assert.That(Encoding.ASCII.GetString(image, 0x202, 4), Is.EqualTo("HdrS"));
            var header = Header(image);
            Assert.That(header.ProtocolVersion, Is.GreaterThanOrEqualTo(0x020C), "boot protocol 2.12 or later");
            Assert.That(header.XLoadFlags & BzImageHeader.XlfKernel64, Is.Not.Zero, "XLF_KERNEL_64: a 64-bit entry point at +0x200");
            Assert.That(header.LoadFlags & BzImageHeader.LoadedHigh, Is.Not.Zero, "LOADED_HIGH: loaded at 1 MiB");
            Assert.That(header.KernelVersion, Does.StartWith("6.1.").And.Contain("-partition"));
        }

        [Test]
        public void The_guest_initramfs_holds_init_busybox_and_the_console()
        {
            byte[] archive = Artifact(LinuxArtifacts.GuestInitramfs(Layout), "LinuxImages");
            var entries = NewcReader.Read(archive).ToDictionary(e => e.Name);
            Assert.That(entries.Keys, Is.SupersetOf(new[] { "init", "bin/busybox", "bin/sh", "dev/console", "proc", "sys" }));
            Assert.That(Encoding.ASCII.GetString(entries["init"].Data), Does.StartWith("#!/bin/sh\n").And.Contain("linux up: "));
            Assert.That(LinuxInitramfs.IsStaticElf64(entries["bin/busybox"].Data, out string problem), Is.True, problem);
        }

        [Test]
        public void The_images_the_example_configs_name_are_the_built_ones()
        {
            var layout = Layout;
            Assert.That(Artifact(Path.Combine(LinuxArtifacts.ConfigImages(layout), "bzImage"), "LinuxImages"),
                Is.EqualTo(Artifact(LinuxArtifacts.GuestKernel(layout), "LinuxImages")));
            Assert.That(Artifact(Path.Combine(LinuxArtifacts.ConfigImages(layout), "initramfs.cpio"), "LinuxImages"),
                Is.EqualTo(Artifact(LinuxArtifacts.GuestInitramfs(layout), "LinuxImages")));
        }

        [Test]
        public void The_host_kernel_is_a_bzImage_a_64_bit_loader_can_start()
        {
            byte[] image = Artifact(LinuxArtifacts.HostKernel(Layout), "LinuxImages");
            Assert.That(Encoding.ASCII.GetString(image, 0x202, 4), Is.EqualTo("HdrS"));
            var header = Header(image);
            Assert.That(header.ProtocolVersion, Is.GreaterThanOrEqualTo(0x020C), "boot protocol 2.12 or later");
            Assert.That(header.XLoadFlags & BzImageHeader.XlfKernel64, Is.Not.Zero, "XLF_KERNEL_64: a 64-bit entry point at +0x200");
            Assert.That(header.LoadFlags & BzImageHeader.LoadedHigh, Is.Not.Zero, "LOADED_HIGH: loaded at 1 MiB");
            Assert.That(header.KernelVersion, Does.StartWith("6.1.").And.Contain("-partition-host"));
        }

        [Test]
        public void The_host_kernel_was_configured_with_every_option_of_its_fragment()
        {
            var layout = Layout;
            string config = Encoding.UTF8.GetString(Artifact(Path.Combine(LinuxArtifacts.ImageDirectory(layout, LinuxImage.Host), "config"), "LinuxImages"));
            string path = LinuxArtifacts.ConfigFragment(layout, LinuxImage.Host);
            var fragment = KernelConfigFragment.Parse(File.ReadAllText(path), path);
            Assert.That(fragment.FindUnmet(config), Is.Empty);
        }

        [Test]
        public void The_host_initramfs_holds_host_init_busybox_and_the_management_script()
        {
            var layout = Layout;
            byte[] archive = Artifact(LinuxArtifacts.HostInitramfs(layout), "LinuxImages");
            var entries = NewcReader.Read(archive).ToDictionary(e => e.Name);
            Assert.That(entries.Keys, Is.SupersetOf(new[] { "init", "bin/busybox", "bin/sh", "dev/console", "proc", "sys", "mgmt-script" }));
            Assert.That(entries["init"].Data, Is.EqualTo(File.ReadAllBytes(LinuxArtifacts.InitScript(layout, LinuxImage.Host))));
            Assert.That(Encoding.ASCII.GetString(entries["init"].Data), Does.Contain("host up: ").And.Contain("host disk: "));
            Assert.That(LinuxInitramfs.IsStaticElf64(entries["bin/busybox"].Data, out string problem), Is.True, problem);
        }

        [Test]
        public void The_host_images_the_example_configs_name_are_the_built_ones()
        {
            var layout = Layout;
            var host = LinuxImage.Host;
            Assert.That(Artifact(LinuxArtifacts.ConfigImage(layout, host, "bzImage"), "LinuxImages"),
                Is.EqualTo(Artifact(LinuxArtifacts.HostKernel(layout), "LinuxImages")));
            Assert.That(Artifact(LinuxArtifacts.ConfigImage(layout, host, "initramfs.cpio"), "LinuxImages"),
                Is.EqualTo(Artifact(LinuxArtifacts.HostInitramfs(layout), "LinuxImages")));
        }

        [Test]
        public void The_host_test_disk_is_the_generated_one()
        {
            var layout = Layout;
            byte[] disk = Artifact(LinuxArtifacts.HostDisk(layout), "LinuxImages");
            Assert.That(disk, Is.EqualTo(HostDisk.Bytes(HostDisk.DefaultGeometry)));
            Assert.That(Artifact(LinuxArtifacts.ConfigImage(layout, LinuxImage.Host, "disk.img"), "LinuxImages"), Is.EqualTo(disk));
        }

        [Test]
        public void Debians_kernel_is_a_bzImage_a_64_bit_loader_can_start()
        {
            var header = Header(Artifact(LinuxArtifacts.DebianKernel(Layout), "DebianKernel"));
            Assert.That(header.Is64BitBootable, Is.True, $"protocol {header.ProtocolText}, xloadflags 0x{header.XLoadFlags:X}");
            Assert.That(header.KernelVersion, Does.StartWith("6.1.0-"));
        }

        [Test]
        public void Debians_memtest_is_the_image_configs_memtest_json_names()
        {
            var layout = Layout;
            byte[] image = Artifact(LinuxArtifacts.DebianMemtest(layout), "DebianKernel");
            Assert.That(Header(image).Is64BitBootable, Is.True, "memtest86+x64.bin has the 64-bit entry (XLF_KERNEL_64)");
            Assert.That(Artifact(Path.Combine(LinuxArtifacts.ConfigImages(layout), DebianMemtest.FileName), "DebianKernel"), Is.EqualTo(image));
        }
    }
}
