using System;
using System.Globalization;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// configs/apic.json with the quick APIC guest (<see cref="TestGuest.ApicGuest"/>, two vCPUs
    /// on two dedicated cores): vCPU 0 starts vCPU 1 with INIT and SIPI, sends it IPIs through
    /// the xAPIC page and the x2APIC ICR, has them answered, and uses its own timers and HLT.
    /// Asserted: each measurement completed with a plausible figure, and every IPI reached the
    /// vCPU it addressed and no other. Not how fast: timing is 'partition bench''s.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class LocalApicTests
    {
        private const int Iterations = DemoGuests.ApicQuickIterations;

        private static readonly Lazy<RunResult> Boot = new(() => BootScenario.BochsExample("local-apic", "exit=poweroff",
            "configs/apic.json", ExampleBoot.Flat(("apic", "apic-quick.bin")), null, 2, TimeSpan.FromSeconds(240),
            "Nothing left to run"));

        private static RunResult Result => Boot.Value;

        [Test]
        public void The_second_vcpu_starts_by_init_and_sipi_and_both_switch_to_x2apic()
        {
            BootScenario.AssertContains(Result, "\n[apic] vCPU 1 started by INIT and SIPI, in long mode\n");
            BootScenario.AssertContains(Result, "\n[apic] both vCPUs in x2APIC mode\n");
            BootScenario.AssertContains(Result, "\n[apic] apic done\n");
            BootScenario.AssertContains(Result, "\nPartition apic halted; exits: ");
            Assert.That(Result.Serial, Does.Not.Contain("TIMEOUT"), Result.Report());
            Assert.That(Result.Serial, Does.Not.Contain("unexpected exception"), Result.Report());
        }

        [Test]
        public void Init_clears_the_debug_registers_the_hypervisor_switches_lazily()
        {
            // vCPU 1 (alone on its core, so its DR0-DR3 stay in the processor between its
            // slices) wrote DR0 on its first start; INIT must clear it (SDM Vol. 3A, table 10-1).
            BootScenario.AssertContains(Result,
                $"\n[apic] vCPU 1 restarted by INIT and SIPI: DR0 reads 0x0000000000000000 (0 after INIT, SDM Vol. 3A table 10-1; before it, 0x{TestGuest.ApDr0Pattern:X16})\n");
        }

        public static string[] Figures() => Array.ConvertAll(TestGuest.ApicFigures, f => f.Name);

        [TestCaseSource(nameof(Figures))]
        public void Each_measurement_completes_with_a_plausible_figure(string name)
        {
            var match = Regex.Match(Result.Serial, $@"\n\[apic\] apic {Regex.Escape(name)}: mean (\d+) ticks, min (\d+), max (\d+) over (\d+)\n");
            Assert.That(match.Success, Is.True, $"no figure for {name}\n{Result.Report()}");
            ulong mean = ulong.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            ulong min = ulong.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
            ulong max = ulong.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture);
            Assert.That(int.Parse(match.Groups[4].Value, CultureInfo.InvariantCulture), Is.EqualTo(Iterations));
            // Nonzero, ordered, and bounded: a latency of a million instructions (0.1 s
            // emulated) is an interrupt that was lost and found again, not a slow path.
            Assert.That(min, Is.GreaterThan(0UL), name);
            Assert.That(min, Is.LessThanOrEqualTo(mean), name);
            Assert.That(mean, Is.LessThanOrEqualTo(max), name);
            Assert.That(max, Is.LessThan(1_000_000UL), $"{name}\n{Result.Report()}");
        }

        [Test]
        public void Every_ipi_reaches_exactly_the_vcpu_it_addresses()
        {
            var match = Regex.Match(Result.Serial,
                @"\n\[apic\] IPI delivery: (\d+) pings sent to APIC ID 1 \(vector 0x40\): vCPU 0 took (\d+), vCPU 1 took (\d+)\n" +
                @"\[apic\] IPI delivery: (\d+) pongs sent to APIC ID 0 \(vector 0x41\): vCPU 0 took (\d+), vCPU 1 took (\d+)\n");
            Assert.That(match.Success, Is.True, Result.Report());
            int Count(int group) => int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);
            // Two round-trip loops, the two one-way loops to a halted vCPU 1, and the last ping.
            Assert.That(Count(1), Is.EqualTo(4 * Iterations + 1), "pings sent");
            Assert.That(Count(2), Is.EqualTo(0), "pings taken by vCPU 0");
            Assert.That(Count(3), Is.EqualTo(Count(1)), "pings taken by vCPU 1");
            Assert.That(Count(4), Is.EqualTo(2 * Iterations), "pongs sent");
            Assert.That(Count(5), Is.EqualTo(Count(4)), "pongs taken by vCPU 0");
            Assert.That(Count(6), Is.EqualTo(0), "pongs taken by vCPU 1");
        }
    }
}
