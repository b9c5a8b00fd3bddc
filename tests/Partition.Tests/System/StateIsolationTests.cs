using System;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// configs/state-isolation.json: three guests share core 0 in 1 ms round-robin slices, each
    /// with its own x87/SSE registers, AVX upper halves (XCR0 = 7), SYSCALL MSRs, KERNEL_GS_BASE,
    /// TSC_AUX, FS/GS base, debug registers and CR2 (<see cref="TestGuest.StateIsolation"/>), and each checks them
    /// <see cref="DemoGuests.StateIsolationPasses"/> times. Every switch between them is a
    /// chance for the hypervisor to leak one guest's state into another: none may.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class StateIsolationTests
    {
        private static readonly Lazy<RunResult> Boot = new(() => BootScenario.BochsExample("state-isolation", "exit=poweroff",
            "configs/state-isolation.json",
            ExampleBoot.Flat(DemoGuests.StateIsolationGuests.Select(g => (g.Partition, g.Partition + ".bin")).ToArray()),
            null, 1, TimeSpan.FromSeconds(180), "Nothing left to run"));

        private static RunResult Result => Boot.Value;

        [Test]
        public void Every_guest_finds_its_state_intact_after_every_pass()
        {
            Assert.That(Result.Serial, Does.Not.Contain("state mismatch"), Result.Report());
            foreach (var (partition, seed) in DemoGuests.StateIsolationGuests)
            {
                BootScenario.AssertContains(Result, $"\n[{partition}] state isolation guest, seed {seed}: state loaded, checking {DemoGuests.StateIsolationPasses} passes\n");
                BootScenario.AssertContains(Result, $"\n[{partition}] state intact after {DemoGuests.StateIsolationPasses} passes\n");
                BootScenario.AssertContains(Result, $"\nPartition {partition} halted; exits: ");
            }
        }

        [Test]
        public void The_guests_were_switched_many_times_while_they_checked()
        {
            // Each guest must have been switched out and back many times mid-check: every
            // switch is a save of one guest's state and a load of another's.
            var core = Regex.Match(Result.Serial, @"\nCPU 0: round-robin, slice (\d+) ticks, (\d+) switches,");
            Assert.That(core.Success, Is.True, Result.Report());
            Assert.That(long.Parse(core.Groups[2].Value, CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(300), Result.Report());
            foreach (var (partition, _) in DemoGuests.StateIsolationGuests)
            {
                var slices = Regex.Match(Result.Serial, $@"\n  {partition}: (\d+) slices, share ");
                Assert.That(slices.Success, Is.True, Result.Report());
                Assert.That(long.Parse(slices.Groups[1].Value, CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(100), $"{partition}'s slices\n{Result.Report()}");
            }
        }
    }
}
