using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;
using Partition.Host.Linux;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// An unmodified Linux kernel (the project's tinyconfig 6.1 build, and Debian's stock kernel)
    /// in a guest partition with no pass-through: it boots to its /init on the virtual platform
    /// (ACPI tables, local APICs, I/O APIC, UART), starts its second vCPU with INIT/SIPI, keeps
    /// its clock while time-sliced and while one vCPU migrates back and forth, and boots again
    /// after a restart. Partition lines carry the hypervisor's time ("timestamps=on"), so the
    /// guest's clock is compared with the TSC from outside.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class LinuxGuestTests
    {
        private static readonly Lazy<RepositoryLayout> Layout = new(() => RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory));

        // The warnings a kernel gives when it loses time or a CPU stops answering.
        private static readonly string[] TroubleSigns =
        {
            "soft lockup", "hard LOCKUP", "rcu_sched self-detected stall", "detected stalls on CPUs", "rcu: INFO",
            "Marking clocksource", "clocksource watchdog", "timekeeping watchdog", "hung_task", "Kernel panic", "Oops",
        };

        private const string Up = "linux up: ";

        /// <summary>
        /// configs/linux-guest.json on three CPUs: the host partition (bare metal) on core 0, the
        /// Linux guest's vCPU 0 dedicated on core 1 and its vCPU 1 sharing core 2 with a
        /// bare-metal guest. Once Linux is up its vCPU 0 moves to the shared core and back five
        /// times; then the partition is stopped and restarted and boots again.
        /// </summary>
        [Test]
        public void The_projects_kernel_boots_keeps_time_migrates_and_restarts()
        {
            var script = new List<string> { "30000 list" };
            for (int i = 0; i < 10; i++)
                script.Add($"{32000 + i * 1500} migrate linux.0 {(i % 2 == 0 ? 2 : 1)}");
            script.Add("48000 cpus");
            script.Add("50000 stop linux");
            script.Add("51000 restart linux");
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            var result = Boot("linux-guest", "configs/linux-guest.json", 3, 80000, string.Join("\n", script) + "\n",
                "images/bzImage", ("host", "spin.bin"), ("beta", "spin.bin"));
            TestContext.Out.WriteLine($"linux-guest scenario: {stopwatch.Elapsed.TotalSeconds:F0} s of wall time");

            // Exactly its vCPUs and its memory (96 MiB less what the kernel keeps).
            var ups = Regex.Matches(result.Serial, @"\] linux up: (\d+) CPUs, (\d+) KiB, kernel (\S+)");
            Assert.That(ups.Count, Is.EqualTo(2), "linux up once at boot and once after the restart\n" + result.Report());
            Assert.That(ups[0].Groups[1].Value, Is.EqualTo("2"));
            Assert.That(int.Parse(ups[0].Groups[2].Value), Is.InRange(80 * 1024, 96 * 1024));
            Assert.That(ups[0].Groups[3].Value, Does.EndWith("-partition"));
            BootScenario.AssertContains(result, "smp: Brought up 1 node, 2 CPUs");
            Assert.That(result.Serial, Does.Match(@"\n  linux \(guest\): running, vCPU 0 on core 1( \(idle\))?, vCPU 1 on core 2( \(idle\))?, 96 MiB\n"), result.Report());

            // Ten migrations between the dedicated and the shared core, each reported as done.
            Assert.That(Regex.Matches(result.Serial, @"\nMigrated linux\.0 from core 1 to core 2: \d+ ticks from the command to (its next guest instruction|its arrival \(idle: it runs there from its next interrupt\))\n").Count,
                Is.EqualTo(5), result.Report());
            Assert.That(Regex.Matches(result.Serial, @"\nMigrated linux\.0 from core 2 to core 1: \d+ ticks from the command to (its next guest instruction|its arrival \(idle: it runs there from its next interrupt\))\n").Count,
                Is.EqualTo(5), result.Report());

            // The heartbeat goes on through the migrations with none missing, and the guest's
            // clock (uptime, on its TSC) advances at the hypervisor's rate.
            var beats = Heartbeat.Lines(result, "linux", before: "stop linux");
            Assert.That(beats.Count, Is.GreaterThan(15), result.Report());
            Assert.That(beats.Select(b => b.Number), Is.EqualTo(Enumerable.Range(1, beats.Count)), "consecutive heartbeats");
            // Line times count from power-on, the script's from when the partitions start.
            double start = double.Parse(Regex.Match(result.Serial, @"\nPartitions start (\d+) ms after power-on").Groups[1].Value, CultureInfo.InvariantCulture) / 1000;
            var migrating = beats.Where(b => b.At - start >= 32.0 && b.At - start <= 47.0).ToList();
            Assert.That(migrating.Count, Is.GreaterThan(8), "heartbeats while its vCPU moved back and forth");
            AssertClockRate(beats.Where(b => b.At - start < 31.0).ToList(), "before the migrations");
            AssertClockRate(migrating, "while migrating");

            BootScenario.AssertContains(result, "\nstop linux: stopped\n");
            BootScenario.AssertContains(result, "\nrestart linux: restarting from its image on core 1\n");
            BootScenario.AssertContains(result, "\nlinux: restarted from its image, memory scrubbed\n");
            AssertNoTrouble(result);
        }

        /// <summary>
        /// Debian's own kernel, unmodified (linux-image-amd64: ACPI, x2APIC support, KVM and
        /// paravirt guest code, all built in), boots to the same /init on the same virtual
        /// platform. It is large and slow to boot in an emulator: minutes.
        /// </summary>
        [Test]
        public void Debians_stock_kernel_boots_to_its_init()
        {
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            var result = Boot("linux-debian", "configs/linux-debian.json", 2, 0, null,
                "images/debian-vmlinuz", ("host", "spin.bin"));
            TestContext.Out.WriteLine($"linux-debian scenario: {stopwatch.Elapsed.TotalSeconds:F0} s of wall time");
            var up = Regex.Match(result.Serial, @"\] linux up: (\d+) CPUs, (\d+) KiB, kernel (\S+)");
            Assert.That(up.Success, Is.True, "Debian's kernel reaches /init\n" + result.Report());
            Assert.That(up.Groups[1].Value, Is.EqualTo("1"));
            Assert.That(up.Groups[3].Value, Does.EndWith("-amd64"));
            AssertNoTrouble(result);
        }

        // The guest's uptime against the hypervisor's TSC over the span of the heartbeats: within 5%.
        private static void AssertClockRate(List<Heartbeat> beats, string when)
        {
            Assert.That(beats.Count, Is.GreaterThanOrEqualTo(4), $"heartbeats {when}");
            double guest = beats[^1].Uptime - beats[0].Uptime;
            double host = beats[^1].At - beats[0].At;
            double rate = guest / host;
            TestContext.Out.WriteLine($"guest clock rate {when}: {rate:F4} over {host:F1} s");
            Assert.That(rate, Is.InRange(0.95, 1.05), $"the guest's clock against the TSC {when}");
        }

        private static void AssertNoTrouble(RunResult result)
        {
            foreach (string sign in TroubleSigns)
                Assert.That(result.Serial, Does.Not.Contain(sign), $"the kernel warned: {sign}\n{result.Report()}");
        }

        // Boots an example config with the Linux images and the Iced guests it names.
        private static RunResult Boot(string name, string config, int cpus, int stopAfterMs, string script, string kernelImage,
            params (string Partition, string Image)[] flatGuests)
        {
            var layout = Layout.Value;
            string kernel = kernelImage == "images/debian-vmlinuz" ? LinuxArtifacts.DebianKernel(layout) : LinuxArtifacts.GuestKernel(layout);
            foreach (string file in new[] { kernel, LinuxArtifacts.GuestInitramfs(layout) })
                Assert.That(File.Exists(file), $"{file} is missing: the Test target builds it (dotnet cake build.cake --target=LinuxImages / DebianKernel)");
            string partitionName = config.Contains("debian") ? "debian" : "linux";
            var images = ExampleBoot.Flat(flatGuests).Concat(new[]
            {
                (kernel, $"guest-image {partitionName} kernel"),
                (LinuxArtifacts.GuestInitramfs(layout), $"guest-image {partitionName} initrd"),
            });
            string commandLine = "exit=poweroff timestamps=on" + (stopAfterMs > 0 ? $" stop_after_ms={stopAfterMs}" : "");
            var fragments = stopAfterMs > 0 ? new[] { "Run over: " } : new[] { $"] {Up}" };
            // 256 MiB of RAM: Debian's kernel needs 64 MiB just to decompress itself.
            return BootScenario.BochsExample(name, commandLine, config, images, script,
                new BochsOptions { CpuCount = cpus, MemoryMegabytes = 256 }, TimeSpan.FromMinutes(10), fragments);
        }
    }
}
