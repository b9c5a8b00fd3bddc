using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// The attack-guest suite (configs/attacks.json, <see cref="AttackSuite"/>) in Bochs with two
    /// CPUs: a prober and ten fatal attackers share core 0 with a neighbour that checksums its
    /// memory and a hog that never halts; the host partition on core 1 makes management calls
    /// with bad arguments. Every attack must end as its table says, the neighbour's checksum
    /// must never change, and the console must keep answering. One boot serves every test here.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class AttackSuiteTests
    {
        private const int RunMilliseconds = 5000;

        private static readonly Lazy<RunResult> Boot = new(() => BootScenario.BochsExample("attacks",
            $"exit=poweroff stop_after_ms={RunMilliseconds}", "configs/attacks.json",
            ExampleBoot.Flat(Partitions().ToArray()),
            "4600 list\n4700 frobnicate\n", 2, TimeSpan.FromSeconds(240), "Nothing left to run"));

        // The config's partitions and their images, in its order.
        private static IEnumerable<(string Partition, string Image)> Partitions()
        {
            yield return ("manager", "manager.bin");
            yield return ("neighbour", "neighbour.bin");
            yield return ("hog", "spin-if0.bin");
            yield return ("prober", "prober.bin");
            foreach (var attack in AttackSuite.FatalAttacks)
                yield return (attack.Partition, attack.Partition + ".bin");
            yield return ("owner", "spin.bin");
        }

        private static RunResult Result => Boot.Value;

        private static string Annotated => CrashAnnotator.Annotate(Result.Serial);

        public static IEnumerable<TestCaseData> GuestProbes() =>
            AttackSuite.GuestProbes.Select(p => new TestCaseData(p.Name, p.Expected).SetName($"Prober: {p.Name}"));

        public static IEnumerable<TestCaseData> HostProbes() =>
            AttackSuite.HostProbes.Select(p => new TestCaseData(p.Name, p.Expected).SetName($"Manager: {p.Name}"));

        public static IEnumerable<TestCaseData> FatalAttacks() =>
            AttackSuite.FatalAttacks.Select(a => new TestCaseData(a.Partition).SetName($"Fatal: {a.Partition} ({a.What})"));

        [TestCaseSource(nameof(GuestProbes))]
        public void A_guests_attack_ends_as_documented(string name, string expected) =>
            BootScenario.AssertContains(Result, $"\n[prober] {name}: {expected}\n");

        [TestCaseSource(nameof(HostProbes))]
        public void The_host_partition_reaches_what_is_its_own_and_nothing_else(string name, string expected) =>
            BootScenario.AssertContains(Result, $"\n[manager] {name}: {expected}\n");

        [Test]
        public void The_owner_of_devices_the_host_may_not_reach_is_left_out_with_the_reason()
        {
            BootScenario.AssertContains(Result, "\nPartition owner left out: device pass-through (I/O ports, MMIO, PCI) is not supported yet\n");
            BootScenario.AssertContains(Result, "\npartition manager: IN from port 0x0379 refused: the port belongs to another partition\n");
            BootScenario.AssertContains(Result, "\npartition manager: OUT to port 0x0CF9 refused: it would reset the machine under the other partitions\n");
        }

        [Test]
        public void The_machines_clock_is_read_once_and_no_partition_reaches_it()
        {
            // Bochs runs with "clock: time0=local": its RTC holds today's date.
            Assert.That(Result.Serial, Does.Match(@"\nWall clock: 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC \(CMOS RTC\)\n"), Result.Report());
            BootScenario.AssertContains(Result,
                "\npartition manager: IN from port 0x0074 refused: the machine's real-time clock (the partition's own is at ports 0x70 and 0x71)\n");
        }

        [TestCaseSource(nameof(FatalAttacks))]
        public void A_fatal_attack_stops_only_its_partition_with_a_report_naming_reason_and_instruction(string partition)
        {
            var attack = AttackSuite.FatalAttacks.Single(a => a.Partition == partition);
            string serial = Annotated;
            BootScenario.AssertContains(Result, $"\n[{partition}] attacking: {attack.What}\n");
            string header = $"\n*** partition {partition} vCPU 0 stopped: {attack.Reason}\n";
            int start = serial.IndexOf(header, StringComparison.Ordinal);
            Assert.That(start, Is.GreaterThanOrEqualTo(0), $"no crash report for {partition}\n{Result.Report()}");
            // The report runs to its "instruction:" line (lines from the other CPU may come between).
            int end = serial.IndexOf("\n    instruction: ", start, StringComparison.Ordinal);
            Assert.That(end, Is.GreaterThan(start), Result.Report());
            int endOfLine = serial.IndexOf('\n', end + 1);
            string report = serial.Substring(start, endOfLine - start + 1);

            Assert.That(report, Does.EndWith($"\n    instruction: {AttackSuite.AttackInstruction(attack)}\n"), report);
            if (attack.GuestPhysical is ulong address)
                Assert.That(report, Does.Contain($"guest-physical 0x{address:X16} {attack.Access}\n"), report);
            BootScenario.AssertContains(Result, $"\nPartition {partition} stopped ({attack.Reason}); exits: ");
            Assert.That(Regex.IsMatch(Result.Serial, $@"\nPartition {Regex.Escape(partition)} stopped [^\n]*; memory scrubbed"), Is.True,
                $"{partition}'s memory is scrubbed\n{Result.Report()}");
            Assert.That(Result.Serial, Does.Not.Contain($"[{partition}] the attack did not stop me"));
        }

        [Test]
        public void The_fatal_attacks_hit_what_they_aim_at()
        {
            // The neighbour's RAM is where the peer attackers aim, and 16 MiB is inside the hypervisor.
            BootScenario.AssertContains(Result, $"\nPartition neighbour: 64-bit long mode, 4 MiB at host 0x{AttackSuite.NeighbourHostPhysical:X8},");
            var imageEnd = Regex.Match(Result.Serial, @"image ends at 0x(?<end>[0-9A-F]+)\)");
            Assert.That(imageEnd.Success, Is.True, Result.Report());
            Assert.That(Convert.ToUInt64(imageEnd.Groups["end"].Value, 16), Is.GreaterThan(AttackSuite.HypervisorAddress + 0x1000));
        }

        [Test]
        public void The_neighbours_checksum_never_changes_and_it_runs_on_after_every_attack()
        {
            string serial = Result.Serial;
            BootScenario.AssertContains(Result, $"\n[neighbour] checksum 0x{AttackSuite.NeighbourChecksum():X16} over 256 KiB at 0x100000\n");
            Assert.That(serial, Does.Not.Contain("CHECKSUM CHANGED"));
            var passes = Regex.Matches(serial, @"\n\[neighbour\] pass (\d+): unchanged\n");
            Assert.That(passes.Count, Is.GreaterThanOrEqualTo(10), Result.Report());
            int lastPass = passes[^1].Index;
            Assert.That(lastPass, Is.GreaterThan(serial.LastIndexOf("\n*** partition ", StringComparison.Ordinal)), "after the last crash report");
            Assert.That(lastPass, Is.GreaterThan(serial.IndexOf("\n[prober] all attacks made\n", StringComparison.Ordinal)), "after the prober's last attack");
            BootScenario.AssertContains(Result, "\nPartition neighbour still runnable at the time limit;");
            BootScenario.AssertContains(Result, "\nPartition hog still runnable at the time limit;");
            BootScenario.AssertContains(Result, "\nPartition manager still runnable at the time limit;");
        }

        [Test]
        public void The_prober_makes_every_attack_and_each_refusal_is_counted()
        {
            BootScenario.AssertContains(Result, "\n[prober] all attacks made\n");
            BootScenario.AssertContains(Result, "\n[manager] all attacks made\n");
            int ports = AttackSuite.GuestProbes.Sum(p => p.Ports);
            int msrs = AttackSuite.GuestProbes.Sum(p => p.Msrs);
            int hypercalls = AttackSuite.GuestProbes.Sum(p => p.Hypercalls);
            int ipis = AttackSuite.GuestProbes.Sum(p => p.Ipis);
            Assert.That(Result.Serial, Does.Match(
                $@"\nPartition prober halted; exits: [^\n]*; refused: {ports} port accesses, {msrs} MSR accesses, {hypercalls} management hypercalls, {ipis} IPIs outside the partition\n"),
                Result.Report());
            // Reported up to the budget of each kind, then counted only: a flood cannot flood the console.
            Assert.That(Regex.Matches(Result.Serial, @"\npartition prober: (IN from|OUT to) port [^\n]* refused: ").Count, Is.EqualTo(Math.Min(ports, 8)), Result.Report());
            Assert.That(Regex.Matches(Result.Serial, @"\npartition prober: (RD|WR)MSR [^\n]* refused: #GP").Count, Is.EqualTo(Math.Min(msrs, 8)), Result.Report());
            Assert.That(Regex.Matches(Result.Serial, @"\npartition prober: IPI to (APIC ID|logical destination) [^\n]* dropped: ").Count, Is.EqualTo(Math.Min(ipis, 8)), Result.Report());
            BootScenario.AssertContains(Result, "\npartition prober: further refused port accesses are counted, not reported ('stats' shows them)\n");
        }

        [Test]
        public void Nothing_an_attacker_does_makes_the_hypervisor_allocate()
        {
            BootScenario.AssertContains(Result, "\nHypervisor heap: 0 bytes allocated while the partitions ran,");
        }

        [Test]
        public void The_console_keeps_answering()
        {
            BootScenario.AssertContains(Result, "\npartition> list\n  manager (host): running, vCPU 0 on core 1, 4 MiB\n  neighbour (guest): running, vCPU 0 on core 0, 4 MiB\n");
            foreach (var attack in AttackSuite.FatalAttacks)
                BootScenario.AssertContains(Result, $"\n  {attack.Partition} (guest): stopped, vCPU 0 on core 0, 4 MiB\n");
            BootScenario.AssertContains(Result, "\npartition> frobnicate\nunknown command 'frobnicate'; type help\n");
        }
    }
}
