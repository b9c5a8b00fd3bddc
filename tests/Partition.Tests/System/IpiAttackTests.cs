using System;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// configs/ipi-attack.json: a two-vCPU partition (<see cref="TestGuest.IpiAttacker"/>) sends
    /// INIT, SIPI, NMI and fixed IPIs to every APIC ID outside itself, in xAPIC and x2APIC mode,
    /// physical and logical, while the victim spins on the core its vCPU 0 shares. None may
    /// arrive anywhere, each must be counted, and IPIs to its own vCPUs must still arrive.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class IpiAttackTests
    {
        private static readonly Lazy<RunResult> Boot = new(() => BootScenario.BochsExample("ipi-attack", "exit=poweroff stop_after_ms=3000",
            "configs/ipi-attack.json", ExampleBoot.Flat(("victim", "spin.bin"), ("ipi-attacker", "ipi-attacker.bin")), null, 2,
            TimeSpan.FromSeconds(240), "Nothing left to run"));

        private static RunResult Result => Boot.Value;

        [Test]
        public void Every_ipi_outside_the_partition_is_dropped_and_counted()
        {
            BootScenario.AssertContains(Result, "\n[ipi-attacker] vCPU 1 started by INIT and SIPI\n");
            BootScenario.AssertContains(Result, $"\n[ipi-attacker] attack made: {TestGuest.IpiAttackCount} IPIs to APIC IDs 2-255 ");
            Assert.That(Result.Serial, Does.Match(
                $@"\nPartition ipi-attacker halted; exits: [^\n]*; refused: {TestGuest.IpiAttackCount} IPIs outside the partition\n"), Result.Report());
            // Reported up to the budget, then counted only.
            Assert.That(Regex.Matches(Result.Serial, @"(?m)^partition ipi-attacker: IPI to (APIC ID 0x[0-9A-F]{8} dropped: no vCPU of this partition has that ID|logical destination 0x[0-9A-F]{8} dropped: it names no vCPU of this partition)$").Count,
                Is.EqualTo(8), Result.Report());
        }

        [Test]
        public void None_comes_back_to_the_attackers_own_vcpus()
        {
            // Only the xAPIC broadcast sent between the two attacks reached them.
            BootScenario.AssertContains(Result,
                "\n[ipi-attacker] after the attack: vCPU 0 took 0 fixed, 1 broadcast/shorthand, 0 NMIs; vCPU 1 took 0 fixed, 1 broadcast/shorthand, 0 NMIs\n");
            Assert.That(Result.Serial, Does.Not.Contain("unexpected exception"), Result.Report());
            Assert.That(Result.Serial, Does.Not.Contain("TIMEOUT"), Result.Report());
        }

        [Test]
        public void Its_own_vcpus_still_get_exactly_the_ipis_addressed_to_them()
        {
            BootScenario.AssertContains(Result,
                $"\n[ipi-attacker] own IPIs: vCPU 0 took {TestGuest.OwnFixedAt0} fixed, {TestGuest.OwnOtherAt0} broadcast/shorthand, {TestGuest.OwnNmiAt0} NMIs; " +
                $"vCPU 1 took {TestGuest.OwnFixedAt1} fixed, {TestGuest.OwnOtherAt1} broadcast/shorthand, {TestGuest.OwnNmiAt1} NMIs\n");
            BootScenario.AssertContains(Result, "\n[ipi-attacker] ipi attack done\n");
        }

        [Test]
        public void The_victim_beside_it_keeps_its_progress()
        {
            string serial = Result.Serial;
            Assert.That(serial, Does.Not.Contain("*** partition victim"), Result.Report());
            BootScenario.AssertContains(Result, "\nPartition victim still runnable at the time limit;");
            var progress = Regex.Matches(serial, @"\n\[victim\] progress (\d+)\n");
            int done = serial.IndexOf("\n[ipi-attacker] ipi attack done\n", StringComparison.Ordinal);
            Assert.That(done, Is.GreaterThan(0), Result.Report());
            Assert.That(progress.Count, Is.GreaterThan(0), Result.Report());
            Assert.That(progress[^1].Index, Is.GreaterThan(done), $"the victim progressed after the attack\n{Result.Report()}");
        }
    }
}
