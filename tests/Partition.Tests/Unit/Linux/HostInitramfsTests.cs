using System;
using System.IO;
using System.Linq;
using System.Text;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Linux;

namespace Partition.Tests.Unit.Linux
{
    /// <summary>
    /// The host partition's initramfs: what the build puts in it, its /init's report format (which
    /// system tests assert on), and the two ways a test gives it another management script.
    /// </summary>
    public class HostInitramfsTests
    {
        private static RepositoryLayout Layout => RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory);

        [Test]
        public void The_host_image_has_its_own_recipe_files_and_names()
        {
            var host = LinuxImage.Host;
            Assert.That(LinuxImage.Find("host"), Is.SameAs(host));
            Assert.That(LinuxImage.Find("guest"), Is.SameAs(LinuxImage.Guest));
            Assert.That(LinuxImage.Find("debian"), Is.Null);
            var layout = Layout;
            Assert.That(LinuxArtifacts.ConfigFragment(layout, host), Does.EndWith("tools/linux/host.config"));
            Assert.That(LinuxArtifacts.InitScript(layout, host), Does.EndWith("tools/linux/host-init"));
            Assert.That(LinuxArtifacts.HostKernel(layout), Does.EndWith("artifacts/linux/host/bzImage"));
            Assert.That(LinuxArtifacts.HostInitramfs(layout), Does.EndWith("artifacts/linux/host/initramfs.cpio"));
            Assert.That(LinuxArtifacts.ConfigImage(layout, host, "bzImage"), Does.EndWith("configs/images/host-bzImage"));
            Assert.That(LinuxArtifacts.ConfigImage(layout, LinuxImage.Guest, "bzImage"), Does.EndWith("configs/images/bzImage"));
            foreach (var (_, recipeFile) in host.ExtraFiles)
                Assert.That(File.Exists(Path.Combine(LinuxArtifacts.RecipeDirectory(layout), recipeFile)), recipeFile);
        }

        [Test]
        public void The_host_archive_holds_busybox_init_and_the_management_script()
        {
            var layout = Layout;
            byte[] init = File.ReadAllBytes(LinuxArtifacts.InitScript(layout, LinuxImage.Host));
            byte[] script = File.ReadAllBytes(Path.Combine(LinuxArtifacts.RecipeDirectory(layout), "host-mgmt-script"));
            var entries = NewcReader.Read(LinuxInitramfs.Create(init, Encoding.ASCII.GetBytes("busybox"), new[] { ("/mgmt-script", script) }).ToArray());
            Assert.That(entries.Select(e => e.Name), Is.EqualTo(new[]
            {
                "bin", "bin/busybox", "bin/sh", "dev", "dev/console", "proc", "sys", "root", "init", "mgmt-script", "TRAILER!!!",
            }));
            var byName = entries.ToDictionary(e => e.Name);
            Assert.That(byName["init"].Data, Is.EqualTo(init));
            Assert.That(byName["mgmt-script"].Mode, Is.EqualTo(0x81A4u), "a plain 0644 file");
            Assert.That(Encoding.ASCII.GetString(byName["mgmt-script"].Data), Does.Contain("\n1 list\n"));
        }

        [Test]
        public void The_host_init_prints_the_lines_the_system_tests_read()
        {
            string init = File.ReadAllText(LinuxArtifacts.InitScript(Layout, LinuxImage.Host));
            Assert.That(init, Does.StartWith("#!/bin/sh\n"));
            foreach (string format in new[]
                     {
                         "echo \"host up: $cpus CPUs, $kib KiB, kernel $(uname -r)\"",
                         "echo \"host cpus: $cpus processors, APIC IDs${apic_ids:- unknown}\"",
                         "echo \"host memory: $((ram_bytes / 1024)) KiB in $ram_count System RAM ranges:${ram_ranges:- none}\"",
                         "echo \"host acpi tables:${tables:- none}\"",
                         "echo \"host rtc: $(cat \"$rtc/date\") $(cat \"$rtc/time\")\"",
                         "echo \"host disk: /dev/sda $disk_bytes bytes sha256 ${disk_hash%% *}\"",
                         "printf \"host interrupts: irq %s total %d: %s\\n\"",
                         "echo \"host mgmt> $command\"",
                         "echo \"host mgmt: $answer\"",
                         "echo \"host heartbeat $n $uptime\"",
                     })
            {
                Assert.That(init, Does.Contain(format));
            }
        }

        [Test]
        public void The_host_init_is_valid_busybox_sh()
        {
            string busybox = LinuxInitramfs.BusyboxPath;
            Assert.That(File.Exists(busybox), Is.True, $"{busybox} is missing: install busybox-static (bootstrap.sh does)");
            var (status, output) = ExternalTool.Run(busybox, new[] { "sh", "-n", LinuxArtifacts.InitScript(Layout, LinuxImage.Host) }, null, TimeSpan.FromSeconds(30));
            Assert.That(status, Is.Zero, output);
        }

        [Test]
        public void An_overlay_replaces_the_management_script_in_one_initrd_file()
        {
            byte[] baseArchive = LinuxInitramfs.Create(Encoding.ASCII.GetBytes("#!/bin/sh\n"), Encoding.ASCII.GetBytes("busybox"),
                new[] { ("/mgmt-script", Encoding.ASCII.GetBytes("1 list\n")) }).ToArray();
            string script = HostInitramfs.Script(new[] { (0.5, "list"), (2.0, "migrate linux.1 0"), (3.25, "stats") });
            Assert.That(script, Is.EqualTo("0.5 list\n2 migrate linux.1 0\n3.25 stats\n"));

            byte[] combined = HostInitramfs.WithManagementScript(baseArchive, script);
            Assert.That(combined.AsSpan(0, baseArchive.Length).ToArray(), Is.EqualTo(baseArchive), "the built initramfs comes first, unchanged");
            // The kernel unpacks the archives one after the other; the second holds only the script.
            var overlay = NewcReader.Read(combined.AsSpan(baseArchive.Length).ToArray());
            Assert.That(overlay.Select(e => e.Name), Is.EqualTo(new[] { "mgmt-script", "TRAILER!!!" }));
            Assert.That(Encoding.ASCII.GetString(overlay[0].Data), Is.EqualTo(script));
            Assert.That(baseArchive.Length % CpioArchive.BlockSize, Is.Zero, "the second archive starts on a block boundary");
        }

        [Test]
        public void The_command_line_can_carry_the_device_and_the_script()
        {
            Assert.That(HostInitramfs.CommandLine("/dev/ttyS1"), Is.EqualTo("partition.mgmt=/dev/ttyS1"));
            Assert.That(HostInitramfs.CommandLine("/dev/ttyS1", new[] { (1.0, "list"), (2.5, "pause guest") }),
                Is.EqualTo("partition.mgmt=/dev/ttyS1 partition.mgmt_script=\"1 list;2.5 pause guest\""));
        }

        [TestCase("")]
        [TestCase("list; stats")]
        [TestCase("say \"hi\"")]
        [TestCase("list\nstats")]
        public void A_command_that_cannot_travel_in_a_script_line_is_refused(string command)
        {
            Assert.Throws<ArgumentException>(() => HostInitramfs.Script(new[] { (1.0, command) }));
        }
    }
}
