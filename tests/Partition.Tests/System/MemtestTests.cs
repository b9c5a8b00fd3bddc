using System;
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
    /// Debian's memtest86+ 6.10 in a guest partition with no pass-through (configs/memtest.json:
    /// 16 MiB on a dedicated core, a bare-metal host partition beside it), its screen on its
    /// UART: it finds its CPU and its memory, calibrates its TSC against the partition's PM timer,
    /// and completes a whole pass of its tests with no error. Its first pass takes about 27
    /// minutes of its own time (about 10 minutes of wall time in Bochs).
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class MemtestTests
    {
        private static readonly Lazy<RepositoryLayout> Layout = new(() => RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory));

        [Test]
        public void Memtest86plus_completes_a_pass_without_errors()
        {
            var layout = Layout.Value;
            string memtest = LinuxArtifacts.DebianMemtest(layout);
            Assert.That(File.Exists(memtest), $"{memtest} is missing: the Test target fetches it (dotnet cake build.cake --target=DebianKernel)");
            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            var images = ExampleBoot.Flat(("host", "spin.bin")).Append((memtest, "guest-image memtest kernel"));
            // Its first pass ends near 1,640 s after the partitions start: the run stops a minute later.
            var result = BootScenario.BochsExample("memtest", "exit=poweroff stop_after_ms=1700000", "configs/memtest.json", images, null,
                new BochsOptions { CpuCount = 2, MemoryMegabytes = 128 }, TimeSpan.FromMinutes(40), "Run over: ");
            TestContext.Out.WriteLine($"memtest scenario: {stopwatch.Elapsed.TotalSeconds:F0} s of wall time");
            string screen = MixedDemoTests.MemtestScreen(result.Serial);

            Assert.That(screen, Does.Contain("Memtest86+ v6.10"), result.Report());
            Assert.That(screen, Does.Match(@"CLK/Temp: +\d+MHz"), "it calibrated its TSC\n" + result.Report());
            Assert.That(screen, Does.Match(@"Memory  : +1[56]MB"), result.Report());
            Assert.That(screen, Does.Contain("CPU: 1 Cores 1 Threads"), result.Report());
            var passes = Regex.Matches(screen, @"Pass: +(\d+) +Errors: +(\d+)").Select(m => (Pass: int.Parse(m.Groups[1].Value), Errors: int.Parse(m.Groups[2].Value))).ToList();
            Assert.That(passes, Is.Not.Empty, result.Report());
            Assert.That(passes.Max(p => p.Pass), Is.GreaterThanOrEqualTo(1), "a whole pass\n" + result.Report());
            Assert.That(passes.All(p => p.Errors == 0), "no error, ever\n" + result.Report());
            // The tests of a first pass on one CPU, each seen on the screen at least once (it is
            // drawn every 2 s; 1 needs several CPUs, 10 (bit fade) is not in the first pass).
            var tests = Regex.Matches(screen, @"#(\d+)  \[").Select(m => int.Parse(m.Groups[1].Value)).Distinct().ToList();
            Assert.That(tests, Is.SupersetOf(new[] { 0, 3, 4, 5, 6, 7, 8, 9 }), result.Report());
            Assert.That(result.Serial, Does.Not.Match(@"\nPartition memtest (halted|stopped)"), result.Report());
        }
    }
}
