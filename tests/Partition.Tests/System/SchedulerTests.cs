using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// Three never-halting guests share core 0 for two seconds of emulated time; the hypervisor
    /// prints each one's share of the core next to the share its policy should give it.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class SchedulerTests
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

        private static RunResult Boot(string name, string exampleConfig, params string[] partitions) =>
            Boot(name, exampleConfig, 1, partitions);

        // Every partition runs the spinning guest.
        private static RunResult Boot(string name, string exampleConfig, int cpus, params string[] partitions) =>
            BootScenario.BochsExample(name, cpus == 1 ? "exit=poweroff stop_after_ms=2000" : "exit=poweroff stop_after_ms=1000", exampleConfig,
                ExampleBoot.Flat(partitions.Select(p => (p, "spin.bin")).ToArray()), null, cpus, Timeout, "Run over: ");

        /// <summary>
        /// configs/apic-shared.json: each of the APIC guest's vCPUs shares its core (1.5 ms
        /// slices) with a guest that never halts. vCPU 0 times its wake-up from HLT by its
        /// TSC-deadline timer, armed 2 ms ahead, so that it comes in the middle of its
        /// neighbour's slice, and its IPIs to vCPU 1 waiting in HLT for 2 ms, which come in the
        /// middle of the other neighbour's: each ends that slice (after the neighbour's least run, 100 us),
        /// where before the neighbour ran on for the rest of its slice and then one more: 29,279
        /// ticks on average for the timer. The guest's other figures complete too.
        /// </summary>
        [Test]
        public void A_halted_vcpus_timer_or_an_ipi_to_it_ends_its_neighbours_slice()
        {
            var result = BootScenario.BochsExample("apic-shared", "exit=poweroff", "configs/apic-shared.json",
                ExampleBoot.Flat(("apic", "apic-quick.bin"), ("neighbour0", "spin.bin"), ("neighbour1", "spin.bin")), null, 2, Timeout, "[apic] apic done");
            var figures = BenchmarkRun.ParseApicFigures(result.Serial);
            Assert.That(figures.Select(f => f.Name), Is.EqualTo(TestGuest.ApicFigures.Select(f => f.Name)), result.Report());
            var shared = BenchmarkRun.ParseSharedWakeupFigures(result.Serial);
            foreach (var figure in shared)
                TestContext.Out.WriteLine(figure.Line);
            // The least run is 1,000 ticks at 10,000 a ms; a slice 15,000.
            Assert.That(shared.Single(f => f.Name == "hlt-wakeup").Max, Is.LessThan(4_000UL), result.Report());
            Assert.That(shared.Single(f => f.Name == "x2apic-ipi-to-idle").Max, Is.LessThan(6_000UL), result.Report());
            Assert.That(result.Serial, Does.Contain("[neighbour0] progress 1").And.Contain("[neighbour1] progress 1"), "the neighbours ran");
        }

        /// <summary>The measured and configured share of a partition, in percent.</summary>
        private static (double Measured, double Configured) Share(RunResult result, string partition)
        {
            var match = Regex.Match(result.Serial, $@"\n  {partition}: (\d+) slices, share ([\d.]+)% \(configured ([\d.]+)%\)");
            if (!match.Success)
                Assert.Fail($"no share line for {partition}.\n{result.Report()}");
            return (double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), double.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture));
        }

        private static void AssertWithinFivePercent(RunResult result, string partition, double expected)
        {
            var (measured, configured) = Share(result, partition);
            Assert.That(configured, Is.EqualTo(expected).Within(0.1), $"{partition}'s configured share");
            Assert.That(measured, Is.EqualTo(configured).Within(configured * 0.05), $"{partition}: {measured}% vs configured {configured}%\n{result.Report()}");
            BootScenario.AssertContains(result, $"\n[{partition}] progress 1\n");
        }

        [Test]
        public void Round_robin_gives_three_guests_equal_shares_and_each_makes_progress()
        {
            var result = Boot("scheduler-round-robin", "configs/round-robin.json", "a", "b", "c");
            BootScenario.AssertContains(result, "\nCPU 0: run time limit reached after ");
            BootScenario.AssertContains(result, "CPU 0: round-robin, slice ");
            foreach (string partition in new[] { "a", "b", "c" })
                AssertWithinFivePercent(result, partition, 100.0 / 3);
        }

        [Test]
        public void Two_cpus_start_and_run_a_dedicated_core_beside_a_shared_one()
        {
            var result = Boot("scheduler-two-cores", "configs/two-cores.json", 2, "alpha", "beta", "gamma");
            BootScenario.AssertContains(result, "\nACPI MADT: 2 processor(s)");
            BootScenario.AssertContains(result, "\nCPU 1 (APIC ID 1, local APIC SVR 0x1FF): online, in VMX root operation\n");
            BootScenario.AssertContains(result, "\nCPU 1: dedicated, 0 switches, ");
            BootScenario.AssertContains(result, "\n  alpha: 1 slices, share 100.0% (configured 100.0%)\n");
            // A dedicated vCPU takes no exit caused by the scheduler: one preemption-timer exit
            // ends it at the run's time limit (stop_after_ms), whatever the guest does.
            Assert.That(result.Serial, Does.Match(@"\nPartition alpha still runnable at the time limit; exits: I/O instruction \d+, VMX-preemption timer 1, total \d+(, \d+ of them resumed at once)?\n"), result.Report());
            AssertWithinFivePercent(result, "beta", 50);
            AssertWithinFivePercent(result, "gamma", 50);
            BootScenario.AssertContains(result, "\n[alpha] progress 1\n");

            // The share seen from inside, by what each guest got done (the same loop in each):
            // the dedicated guest gets at least what the two sharing a core get between them,
            // and those two get alike.
            int Progress(string name) => System.Text.RegularExpressions.Regex.Matches(result.Serial, $@"(?m)^\[{name}\] progress \d+$").Count;
            int alpha = Progress("alpha"), beta = Progress("beta"), gamma = Progress("gamma");
            Assert.That(alpha, Is.GreaterThanOrEqualTo((int)(0.95 * (beta + gamma))), $"alpha {alpha}, beta {beta}, gamma {gamma}\n" + result.Report());
            Assert.That(Math.Abs(beta - gamma), Is.LessThanOrEqualTo(1), $"beta {beta}, gamma {gamma}");
        }

        [Test]
        public void Weighted_one_two_four_gives_shares_of_one_two_and_four_sevenths()
        {
            var result = Boot("scheduler-weighted", "configs/weighted.json", "one", "two", "four");
            BootScenario.AssertContains(result, "CPU 0: weighted, slice ");
            AssertWithinFivePercent(result, "one", 100.0 / 7);
            AssertWithinFivePercent(result, "two", 200.0 / 7);
            AssertWithinFivePercent(result, "four", 400.0 / 7);
        }
    }
}
