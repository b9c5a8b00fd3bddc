using System;
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
    /// The README's demo, configs/mixed.json with its console script, in Bochs with 4 CPUs:
    /// Linux as the host partition, a Linux guest on a dedicated core, memtest86+ and a
    /// bare-metal guest time-sliced on a shared core. Every partition reaches its marker,
    /// `list` shows all four, the Linux guest's vCPU moves to core 3 and back, and the
    /// neighbours are undisturbed: the guest's heartbeat goes on, memtest86+ keeps testing
    /// with no error, the bare-metal guest's checksum never changes.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class MixedDemoTests
    {
        private static readonly Lazy<RepositoryLayout> Layout = new(() => RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory));

        [Test]
        public void Four_operating_systems_run_side_by_side_and_the_linux_guest_migrates_both_ways()
        {
            var layout = Layout.Value;
            string memtest = LinuxArtifacts.DebianMemtest(layout);
            var files = new[]
            {
                (LinuxArtifacts.HostKernel(layout), "host kernel"), (LinuxArtifacts.HostInitramfs(layout), "host initrd"),
                (LinuxArtifacts.GuestKernel(layout), "linux kernel"), (LinuxArtifacts.GuestInitramfs(layout), "linux initrd"),
                (memtest, "memtest kernel"),
            };
            foreach (var (file, _) in files)
                Assert.That(File.Exists(file), $"{file} is missing: the Test target builds it (dotnet cake build.cake --target=LinuxImages / DebianKernel)");
            string work = Path.Combine(Path.GetTempPath(), $"partition-mixed-{Guid.NewGuid():N}");
            var disk = HostDisk.Create(Path.Combine(work, "disk.img"));
            string script = File.ReadAllText(Path.Combine(layout.Root, "configs", "scripts", "mixed-demo.txt"));

            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            var images = ExampleBoot.Flat(("neighbour", "neighbour.bin")).Concat(files.Select(f => (f.Item1, $"guest-image {f.Item2}")));
            var result = BootScenario.BochsExample("mixed", "exit=poweroff timestamps=on stop_after_ms=66000", "configs/mixed.json", images, script,
                new BochsOptions { CpuCount = 4, MemoryMegabytes = 512, Disk = BochsDisk.From(disk) }, TimeSpan.FromMinutes(20), "Run over: ");
            TestContext.Out.WriteLine($"mixed demo: {stopwatch.Elapsed.TotalSeconds:F0} s of wall time");
            Directory.Delete(work, recursive: true);
            string serial = result.Serial;

            // Every partition's marker.
            Assert.That(serial, Does.Match(@"\[host [\d.]+\] host up: 1 CPUs"), result.Report());
            Assert.That(serial, Does.Match(@"\[linux [\d.]+\] linux up: 1 CPUs"), result.Report());
            Assert.That(serial, Does.Match(@"\[neighbour [\d.]+\] pass 1: unchanged"), result.Report());
            string screen = MemtestScreen(serial);
            Assert.That(screen, Does.Contain("Memtest86+ v6"), result.Report());
            Assert.That(screen, Does.Contain("Status: Testing"), result.Report());

            // `list` shows all four, running, where the config puts them.
            string listed = serial[serial.IndexOf("partition> list", StringComparison.Ordinal)..];
            foreach (string line in new[]
            {
                @"  host \(host\): running, vCPU 0 on core 0( \(idle\))?, 160 MiB",
                @"  linux \(guest\): running, vCPU 0 on core 1( \(idle\))?, 96 MiB",
                @"  memtest \(guest\): running, vCPU 0 on core 2( \(idle\))?, 16 MiB",
                @"  neighbour \(guest\): running, vCPU 0 on core 2( \(idle\))?, 4 MiB",
            })
                Assert.That(listed, Does.Match(line), result.Report());

            // The Linux guest's vCPU to core 3 and back.
            Assert.That(serial, Does.Match(@"\nMigrated linux from core 1 to core 3: \d+ ticks"), result.Report());
            Assert.That(serial, Does.Match(@"\nMigrated linux from core 3 to core 1: \d+ ticks"), result.Report());

            // Undisturbed: a continuous heartbeat through both migrations...
            var beats = Heartbeat.Lines(result, "linux");
            Assert.That(beats.Select(b => b.Number), Is.EqualTo(Enumerable.Range(1, beats.Count)), "consecutive heartbeats\n" + result.Report());
            string afterBack = serial[serial.IndexOf("Migrated linux from core 3 to core 1", StringComparison.Ordinal)..];
            Assert.That(Regex.Matches(afterBack, @"\[linux [\d.]+\] heartbeat \d+").Count, Is.GreaterThan(2), "heartbeats after the migration back\n" + result.Report());
            // ... memtest86+ testing all along with no error ...
            var errors = Regex.Matches(screen, @"Errors: *(\d+)").Select(m => int.Parse(m.Groups[1].Value)).ToList();
            Assert.That(errors, Is.Not.Empty.And.All.EqualTo(0), result.Report());
            var times = Regex.Matches(screen, @"Time: +(\d+):(\d\d):(\d\d)").Select(m => TimeSpan.Parse($"{m.Groups[1].Value}:{m.Groups[2].Value}:{m.Groups[3].Value}")).ToList();
            Assert.That(times.Last(), Is.GreaterThan(TimeSpan.FromSeconds(40)), "memtest86+ ran on through the run\n" + result.Report());
            // ... and the bare-metal guest's memory unchanged, pass after pass.
            Assert.That(serial, Does.Not.Contain("CHECKSUM CHANGED"), result.Report());
            Assert.That(Regex.Matches(serial, @"\[neighbour [\d.]+\] pass \d+: unchanged").Count, Is.GreaterThan(10), result.Report());
            Assert.That(serial, Does.Not.Contain("Kernel panic"), result.Report());
        }

        /// <summary>
        /// memtest86+'s screen as it sent it: its partition's console lines, which the UART cut
        /// at 120 characters (ESC shown as '?'), joined back into one stream.
        /// </summary>
        internal static string MemtestScreen(string serial) =>
            string.Concat(Regex.Matches(serial, @"(?m)^\[memtest(?: [\d.]+)?\] (.*)$").Select(m => m.Groups[1].Value.TrimEnd('\r')));
    }
}
