using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;
using Partition.Host.Linux;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// The Linux host partition on the machine's own description (configs/linux-host.json,
    /// Bochs with 4 CPUs and an ATA disk): the project's host kernel on cores 0 and 1 with its
    /// RAM identity-mapped, beside a bare-metal guest on core 2 that checksums its memory. The
    /// host reports what it sees (its /init's "host ..." lines), manages the guest from its
    /// userspace through its management line, calls the hypervisor from user mode, reboots
    /// (Linux's own reboot path) and, on its second boot, powers the machine off.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class LinuxHostTests
    {
        private static readonly Lazy<RepositoryLayout> Layout = new(() => RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory));

        // Where the test's hook marks the disk before rebooting: its last sector.
        private const int MarkerLba = 2015;
        private const string Marker = "partition host test: rebooted";

        // The management script, seconds after /init opens the channel.
        private static readonly (double Seconds, string Command)[] Script =
        {
            (1, "list"),
            (3, "migrate neighbour 3"),
            (7, "migrate neighbour 2"),
            (11, "pause neighbour"),
            (15, "resume neighbour"),
            (19, "stop neighbour"),
            (21, "restart neighbour"),
            (25, "list"),
            (27, "migrate host 3"),     // the host's vCPU 0, and with it the device interrupts, to core 3
        };

        // After the management script: the user-mode hypercalls and the APIC attacks, then a marked disk and Linux's
        // reboot (the keyboard controller, as its ACPI reboot finds no reset register in Bochs'
        // FADT); on the second boot, which finds the mark, Linux's power-off (ACPI S5).
        private static readonly string Hook = string.Join("\n",
            "#!/bin/sh",
            $"marker='{Marker}'",
            $"seen=$(dd if=/dev/sda bs=512 skip={MarkerLba} count=1 2>/dev/null | head -c ${{#marker}})",
            "if [ \"$seen\" = \"$marker\" ]; then",
            "    echo 'host test: second boot; poweroff -f'",
            "    sleep 3",
            "    poweroff -f",
            "fi",
            "sleep 32",
            "echo 'host test: user-mode hypercalls'",
            "/user-hypercalls",
            "echo 'host test: IPIs and interrupts to cores it does not own'",
            "/apic-attacks",
            // The management line's interrupt now names a foreign APIC ID: make it fire.
            "echo list > /dev/ttyS1",
            "sleep 2",
            "echo 'host test: marking the disk; reboot -f'",
            $"printf '%s' \"$marker\" | dd of=/dev/sda bs=512 seek={MarkerLba} conv=notrunc,sync 2>/dev/null",
            "sync",
            "sleep 1",
            "reboot -f",
            "");

        [Test]
        public void The_host_owns_the_platform_manages_its_neighbour_reboots_alone_and_powers_off()
        {
            var layout = Layout.Value;
            string kernel = LinuxArtifacts.HostKernel(layout), initramfs = LinuxArtifacts.HostInitramfs(layout);
            foreach (string file in new[] { kernel, initramfs })
                Assert.That(File.Exists(file), $"{file} is missing: the Test target builds it (dotnet cake build.cake --target=LinuxImages)");
            string work = Path.Combine(Path.GetTempPath(), $"partition-linux-host-{Guid.NewGuid():N}");
            Directory.CreateDirectory(work);
            string testInitramfs = Path.Combine(work, "host-initramfs.cpio");
            File.WriteAllBytes(testInitramfs, HostInitramfs.WithFiles(File.ReadAllBytes(initramfs), new[]
            {
                (HostInitramfs.ManagementScriptPath, Encoding.ASCII.GetBytes(HostInitramfs.Script(Script)), false),
                ($"{HostInitramfs.HookDirectory}/50-host-test", Encoding.ASCII.GetBytes(Hook), true),
                ("/user-hypercalls", UserModeHypercalls.Program(), true),
                ("/apic-attacks", HostApicAttacks.Program(), true),
            }));
            var disk = HostDisk.Create(Path.Combine(work, "disk.img"));

            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            var images = ExampleBoot.Flat(("neighbour", "neighbour.bin")).Concat(new[]
            {
                (kernel, "guest-image host kernel"),
                (testInitramfs, "guest-image host initrd"),
            });
            // The run ends when the machine powers off; the fragment only bounds a run that does not.
            var result = BootScenario.BochsExample("linux-host", "exit=poweroff", "configs/linux-host.json", images, null,
                new BochsOptions { CpuCount = 4, MemoryMegabytes = 512, Disk = BochsDisk.From(disk) }, TimeSpan.FromMinutes(20),
                "Nothing left to run");
            TestContext.Out.WriteLine($"linux-host scenario: {stopwatch.Elapsed.TotalSeconds:F0} s of wall time");
            Directory.Delete(work, recursive: true);
            string serial = result.Serial;
            string firstBoot = serial[..IndexOf(result, "(host) asked for a machine reset")];

            // Its own CPUs, its own RAM, the machine's ACPI tables, its disk read with interrupts, the RTC.
            Assert.That(firstBoot, Does.Contain("[host] host cpus: 2 processors, APIC IDs 0 1\n"), result.Report());
            var placed = Regex.Match(serial, @"Partition host: .*?, 192 MiB at host 0x([0-9A-F]+),");
            var neighbour = Regex.Match(serial, @"Partition neighbour: .*?, 4 MiB at host 0x([0-9A-F]+),");
            Assert.That(placed.Success && neighbour.Success, result.Report());
            ulong hostBase = ulong.Parse(placed.Groups[1].Value, NumberStyles.HexNumber);
            var memory = Regex.Match(firstBoot, @"\[host\] host memory: \d+ KiB in \d+ System RAM ranges: (.*)\n");
            Assert.That(memory.Success, result.Report());
            foreach (Match range in Regex.Matches(memory.Groups[1].Value, @"0x([0-9a-f]+)-0x([0-9a-f]+)"))
            {
                ulong first = ulong.Parse(range.Groups[1].Value, NumberStyles.HexNumber), last = ulong.Parse(range.Groups[2].Value, NumberStyles.HexNumber);
                bool low = first >= 0x1000 && last < 0xA0000;
                bool own = first >= hostBase && last < hostBase + (192UL << 20);
                Assert.That(low || own, $"System RAM 0x{first:x}-0x{last:x} is neither low memory nor the host's block at 0x{hostBase:x}\n{result.Report()}");
            }
            Assert.That(Regex.IsMatch(firstBoot, @"\[host\] host acpi tables: .*\bAPIC\b.*\bDSDT\b.*\bFACP\b"), result.Report());
            Assert.That(firstBoot, Does.Contain($"[host] host disk: /dev/sda 1032192 bytes sha256 {disk.Sha256}\n"), result.Report());
            Assert.That(Regex.IsMatch(firstBoot, @"\[host\] host interrupts: irq 1[45] total [1-9]\d*: .*ata_piix"), result.Report());
            Assert.That(Regex.IsMatch(firstBoot, @"\[host\] host rtc: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n"), result.Report());
            Assert.That(firstBoot, Does.Contain("ttyS1 at I/O 0x2f8 (irq = 3"), result.Report());

            // Managed from its userspace: every answer came back on the management line.
            var answers = Regex.Matches(firstBoot, @"\[host\] host mgmt: (.*)\n").Select(m => m.Groups[1].Value).ToList();
            void Answered(string pattern) =>
                Assert.That(answers.Any(a => Regex.IsMatch(a, pattern)), $"no answer matching '{pattern}' came back\n{result.Report()}");
            Answered(@"^  neighbour \(guest\): running, vCPU 0 on core 2, 4 MiB$");
            Answered(@"^Migrated neighbour from core 2 to core 3: \d+ ticks");
            Answered(@"^Migrated neighbour from core 3 to core 2: \d+ ticks");
            Answered(@"^neighbour: paused \(every vCPU off its core");
            Answered(@"^resume neighbour: resumed$");
            Answered(@"^stop neighbour: stopped$");
            Answered(@"^restart neighbour: restarting from its image on core 2$");
            Answered(@"^neighbour: restarted from its image, memory scrubbed$");
            Assert.That(serial, Does.Contain("\nhost mgmt> migrate neighbour 3\n"), "the console shows whose command it ran");
            // The host's own vCPU 0 moved: the machine's device interrupts follow it (the disk's, from then on).
            Answered(@"^Migrated host\.0 from core 0 to core 3: \d+ ticks");
            Assert.That(serial, Does.Contain("\nDevice interrupts: forwarded to host through CPU 3 now (its vCPU 0 moved there)\n"), result.Report());
            Assert.That(serial, Does.Match(@"\nCPU 3: [^\n]*\n(?:  [^\n]*\n)*?  device interrupts taken for the host partition: [1-9]\d*\n"),
                "core 3 took device interrupts once the host's vCPU 0 was there\n" + result.Report());
            // No partition's output goes back to the host.
            Assert.That(answers.Any(a => a.Contains("[neighbour]") || a.Contains("pass ")), Is.False, result.Report());

            // User mode may not call the hypervisor.
            for (int function = 0; function < UserModeHypercalls.Functions; function++)
                Assert.That(firstBoot, Does.Contain($"[host] {UserModeHypercalls.LinePrefix}{function}: rax=0xfffffffffffffffe\n"), result.Report());
            Assert.That(firstBoot, Does.Contain("refused: called from user mode (CPL > 0)"), result.Report());

            // Nor reach a core it does not own through its local APIC or its I/O APIC.
            foreach (var (what, _, _) in HostApicAttacks.Ipis)
                Assert.That(firstBoot, Does.Contain($"[host] {HostApicAttacks.LinePrefix}{what}: sent\n"), result.Report());
            foreach (int id in new[] { 2, 3 })
                Assert.That(firstBoot, Does.Contain($"partition host: IPI to APIC ID 0x{id:X8} dropped: no vCPU of this partition has that ID"), result.Report());
            Assert.That(firstBoot, Does.Contain("partition host: IPI to logical destination 0x000000FC dropped: it names no vCPU of this partition"), result.Report());
            Assert.That(firstBoot, Does.Contain($"partition host: I/O APIC interrupt to APIC ID 0x{HostApicAttacks.ForeignApicId:X8} dropped: no vCPU of this partition has that ID"), result.Report());

            // Linux's reboot is the host's alone; its power-off ends the machine, neighbour included.
            Assert.That(serial, Does.Match(@"\npartition host \(host\) asked for a machine reset through the keyboard controller's reset pulse \(command 0xFE\): the machine stays up for the other partitions; restarting the host partition alone \(bus mastering turned off on \d+ PCI functions?\)\n"), result.Report());
            Assert.That(Regex.Matches(serial, @"\[host\] host up: 2 CPUs").Count, Is.EqualTo(2), "the host boots twice\n" + result.Report());
            Assert.That(serial, Does.Contain("[host] host test: second boot; poweroff -f\n"), result.Report());
            Assert.That(serial, Does.Match(@"\npartition host \(host\) asked for power-off \(ACPI S5 through PM1a_CNT\): stopping every partition, then powering the machine off\n"), result.Report());
            Assert.That(result.Outcome, Is.EqualTo(RunOutcome.Exited).Or.EqualTo(RunOutcome.SerialMatched), result.Report());

            // The neighbour, all along: its memory unchanged pass after pass, through the host's reboot too.
            Assert.That(serial, Does.Not.Contain("CHECKSUM CHANGED"), result.Report());
            int passesAfterReset = Regex.Matches(serial[IndexOf(result, "(host) asked for a machine reset")..], @"\[neighbour\] pass \d+: unchanged").Count;
            Assert.That(passesAfterReset, Is.GreaterThan(0), "the neighbour ran on while the host rebooted\n" + result.Report());
        }

        /// <summary>
        /// Debian's stock kernel (linux-image-amd64, unmodified) as the host partition, on one
        /// core beside the neighbour (configs/linux-debian-host.json): it boots on the machine's
        /// ACPI tables to the host initramfs' /init, reports its CPU, RAM, tables and clock, lists
        /// the partitions through its management line, then powers the machine off. It has no ATA
        /// driver without its modules, so no disk. About 9 minutes in Bochs.
        /// </summary>
        [Test]
        public void Debians_stock_kernel_boots_as_the_host_partition()
        {
            var layout = Layout.Value;
            string kernel = LinuxArtifacts.DebianKernel(layout), initramfs = LinuxArtifacts.HostInitramfs(layout);
            foreach (string file in new[] { kernel, initramfs })
                Assert.That(File.Exists(file), $"{file} is missing: the Test target builds it (dotnet cake build.cake --target=LinuxImages / DebianKernel)");
            string work = Path.Combine(Path.GetTempPath(), $"partition-debian-host-{Guid.NewGuid():N}");
            Directory.CreateDirectory(work);
            string testInitramfs = Path.Combine(work, "host-initramfs.cpio");
            File.WriteAllBytes(testInitramfs, HostInitramfs.WithFiles(File.ReadAllBytes(initramfs), new[]
            {
                (HostInitramfs.ManagementScriptPath, Encoding.ASCII.GetBytes(HostInitramfs.Script(new[] { (1.0, "list") })), false),
                ($"{HostInitramfs.HookDirectory}/50-power-off", Encoding.ASCII.GetBytes("#!/bin/sh\nsleep 6\necho 'host test: poweroff -f'\npoweroff -f\n"), true),
            }));
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            var images = ExampleBoot.Flat(("neighbour", "neighbour.bin")).Concat(new[]
            {
                (kernel, "guest-image host kernel"),
                (testInitramfs, "guest-image host initrd"),
            });
            var result = BootScenario.BochsExample("linux-debian-host", "exit=poweroff", "configs/linux-debian-host.json", images, null,
                new BochsOptions { CpuCount = 2, MemoryMegabytes = 512 }, TimeSpan.FromMinutes(25), "Nothing left to run");
            TestContext.Out.WriteLine($"linux-debian-host scenario: {stopwatch.Elapsed.TotalSeconds:F0} s of wall time");
            Directory.Delete(work, recursive: true);

            Assert.That(result.Serial, Does.Match(@"\[host\] host up: 1 CPUs, \d+ KiB, kernel \d+\.\d+\.\d+-\d+-amd64\n"), result.Report());
            Assert.That(result.Serial, Does.Contain("[host] host cpus: 1 processors, APIC IDs 0\n"), result.Report());
            Assert.That(result.Serial, Does.Match(@"\[host\] host memory: \d+ KiB in 2 System RAM ranges: 0x1000-0x9efff 0x[0-9a-f]+-0x[0-9a-f]+\n"), result.Report());
            Assert.That(Regex.IsMatch(result.Serial, @"\[host\] host acpi tables: .*\bAPIC\b.*\bDSDT\b.*\bFACP\b"), result.Report());
            Assert.That(Regex.IsMatch(result.Serial, @"\[host\] host rtc: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\n"), result.Report());
            Assert.That(result.Serial, Does.Match(@"\[host\] host mgmt:   neighbour \(guest\): running, vCPU 0 on core 1, 4 MiB\n"), result.Report());
            Assert.That(result.Serial, Does.Match(@"\npartition host \(host\) asked for power-off \(ACPI S5 through PM1a_CNT\): stopping every partition, then powering the machine off\n"), result.Report());
            Assert.That(result.Serial, Does.Not.Contain("CHECKSUM CHANGED"), result.Report());
            Assert.That(result.Serial, Does.Not.Contain("Kernel panic"), result.Report());
        }

        private static int IndexOf(RunResult result, string fragment)
        {
            int at = result.Serial.IndexOf(fragment, StringComparison.Ordinal);
            if (at < 0)
                Assert.Fail($"Serial output lacks \"{fragment}\".\n{result.Report()}");
            return at;
        }
    }
}
