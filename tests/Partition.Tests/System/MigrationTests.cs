using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// Console commands fed by a 'console-script' module on a two-CPU machine: a running guest
    /// migrates from its dedicated core to the shared one and back, with its progress counter
    /// continuing; the corner cases are refused by name; a guest's management hypercall is
    /// refused and it keeps running.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class MigrationTests
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

        private static RunResult Boot(string name, string exampleConfig, int cpus, int stopAfterMs, string script, params (string Partition, string Image)[] guests) =>
            BootScenario.BochsExample(name, $"exit=poweroff stop_after_ms={stopAfterMs}", exampleConfig, ExampleBoot.Flat(guests), script, cpus,
                Timeout, "Run over: ");

        [Test]
        public void Migrate_moves_a_running_guest_and_back_with_its_progress_continuing()
        {
            const string script = "200 list\n300 migrate beta 1\n350 migrate beta 0\n400 migrate nobody 1\n450 migrate alpha 0\n"
                + "800 migrate alpha.0 1\n900 pause gamma\n950 pause gamma\n1000 resume gamma\n1050 cpus\n1100 bogus\n1150 stats\n";
            var result = Boot("migration-two-cores", "configs/two-cores.json", 2, 1500, script,
                ("alpha", "spin.bin"), ("beta", "spin.bin"), ("gamma", "spin.bin"));

            BootScenario.AssertContains(result, "\n  alpha (host): running, vCPU 0 on core 1, 4 MiB\n");
            BootScenario.AssertContains(result, "\nmigrate beta: refused: core 1 is dedicated to another vCPU\n");
            BootScenario.AssertContains(result, "\nmigrate beta: already on core 0; nothing to do\n");
            BootScenario.AssertContains(result, "\nmigrate nobody: no such partition\n");
            BootScenario.AssertContains(result, "\nmigrate alpha: moving from core 1 to core 0\n");
            BootScenario.AssertContains(result, "\nmigrate alpha: moving from core 0 to core 1\n");
            Assert.That(Regex.Matches(result.Serial, @"\nMigrated alpha from core 1 to core 0: \d+ ticks from the command to its next guest instruction\n").Count, Is.EqualTo(1), result.Report());
            Assert.That(Regex.Matches(result.Serial, @"\nMigrated alpha from core 0 to core 1: \d+ ticks from the command to its next guest instruction\n").Count, Is.EqualTo(1), result.Report());
            BootScenario.AssertContains(result, "\npause gamma: pausing (its vCPUs leave their cores)\n");
            BootScenario.AssertContains(result, "\ngamma: paused (every vCPU off its core, ");
            BootScenario.AssertContains(result, "\npause gamma: refused: already paused\n");
            BootScenario.AssertContains(result, "\nresume gamma: resumed\n");
            BootScenario.AssertContains(result, "\n  core 1: dedicated, vCPUs alpha, load ");
            BootScenario.AssertContains(result, "\nunknown command 'bogus'; type help\n");
            BootScenario.AssertContains(result, "  last migration of alpha: ");
            // The kick (an NMI) made the dedicated core's guest exit at once to give it up.
            Assert.That(result.Serial, Does.Match(@"\nPartition alpha still runnable at the time limit; exits: exception or NMI [1-9]"), result.Report());

            // The guest's counter continues where it was: 1, 2, 3, ... with no restart.
            var progress = Regex.Matches(result.Serial, @"(?m)^\[alpha\] progress (\d+)$").Select(m => int.Parse(m.Groups[1].Value)).ToArray();
            Assert.That(progress.Length, Is.GreaterThan(3), result.Report());
            Assert.That(progress, Is.EqualTo(Enumerable.Range(1, progress.Length).ToArray()), "alpha's progress lines");
        }

        /// <summary>
        /// configs/two-cores.json with its demo script and "trace=on": the schedule the hypervisor
        /// prints at the end, drawn as `partition run --timeline` draws it, shows each migration
        /// the console reported, in order, between the cores it named, and alpha's slices on the
        /// core it was on at each moment. The picture is kept as artifacts/timeline/two-cores.svg.
        /// </summary>
        [Test]
        public void The_timeline_shows_each_migration_where_the_console_says_it_happened()
        {
            var layout = RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory);
            string script = File.ReadAllText(Path.Combine(layout.Root, "configs", "scripts", "two-cores-demo.txt"));
            var result = BootScenario.BochsExample("timeline-two-cores", "exit=poweroff stop_after_ms=1600 trace=on", "configs/two-cores.json",
                ExampleBoot.Flat(("alpha", "spin.bin"), ("beta", "spin.bin"), ("gamma", "spin.bin")), script, 2, Timeout, "\nTrace end");
            var timeline = ScheduleTimeline.Parse(result.Serial);
            Assert.That(timeline, Is.Not.Null, "the trace is printed at the end\n" + result.Report());
            string svg = timeline!.ToSvg("configs/two-cores.json with configs/scripts/two-cores-demo.txt");
            string directory = Path.Combine(layout.Root, "artifacts", "timeline");
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, "two-cores.svg"), svg);

            var reported = Regex.Matches(result.Serial, @"\nMigrated (\S+) from core (\d+) to core (\d+): ")
                .Select(m => (m.Groups[1].Value + ".0", int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value))).ToList();
            Assert.That(reported, Is.EqualTo(new[] { ("alpha.0", 1, 0), ("alpha.0", 0, 1) }), result.Report());
            Assert.That(timeline.Migrations.Select(m => (m.Vcpu, m.From, m.To)), Is.EqualTo(reported), result.Report());
            // alpha ran on core 1, then on core 0 between the arrows, then on core 1 again.
            var (there, back) = (timeline.Migrations[0], timeline.Migrations[1]);
            var alpha = timeline.Slices.Where(s => s.VcpuName == "alpha.0").ToList();
            Assert.That(alpha.Where(s => s.End <= there.Left).Select(s => s.Core).Distinct(), Is.EqualTo(new[] { 1 }));
            Assert.That(alpha.Where(s => s.Start >= there.Arrived && s.End <= back.Left).Select(s => s.Core).Distinct(), Is.EqualTo(new[] { 0 }));
            Assert.That(alpha.Where(s => s.Start >= back.Arrived).Select(s => s.Core).Distinct(), Is.EqualTo(new[] { 1 }));
            // At the script's 500 ms and 900 ms: the timeline counts from the partitions' start as
            // the script does, and CPU 0 (1 ms slices) serves a due command at its next look.
            Assert.That(timeline.Milliseconds(there.Left), Is.InRange(500.0, 510.0), result.Report());
            Assert.That(timeline.Milliseconds(back.Left), Is.InRange(900.0, 910.0), result.Report());
            Assert.That(svg, Does.Contain($">alpha.0 to core 0, {timeline.Milliseconds(there.Left).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)} ms<"));
            Assert.That(svg, Does.Contain("class=\"migration\" data-vcpu=\"alpha.0\" data-from=\"1\" data-to=\"0\""));
            Assert.That(timeline.Events.Where(e => e.Kind is "pause" or "resume").OrderBy(e => e.Start).Select(e => (e.Kind, e.Partition)),
                Is.EqualTo(new[] { ("pause", "gamma"), ("resume", "gamma") }), result.Report());
            Assert.That(timeline.Events.Where(e => e.Kind is "pause" or "resume").Select(e => timeline.Milliseconds(e.Start)),
                Has.All.InRange(1000.0, 1210.0).And.Exactly(1).InRange(1000.0, 1010.0).And.Exactly(1).InRange(1200.0, 1210.0));
        }

        [Test]
        public void Four_cpus_run_three_dedicated_cores_and_a_shared_one_and_a_guest_moves_between_them()
        {
            var result = Boot("four-cores", "configs/four-cores.json", 4, 1000, "300 migrate three 0\n600 migrate three 3\n700 cpus\n",
                ("host", "spin.bin"), ("two", "spin.bin"), ("three", "spin.bin"), ("zero-a", "spin.bin"), ("zero-b", "spin.bin"));
            BootScenario.AssertContains(result, "\nACPI MADT: 4 processor(s), APIC IDs 0 1 2 3\n");
            foreach (int cpu in new[] { 1, 2, 3 })
                BootScenario.AssertContains(result, $"\nCPU {cpu} (APIC ID {cpu}, local APIC SVR 0x1FF): online, in VMX root operation\n");
            Assert.That(result.Serial, Does.Match(@"\nMigrated three from core 3 to core 0: \d+ ticks"), result.Report());
            Assert.That(result.Serial, Does.Match(@"\nMigrated three from core 0 to core 3: \d+ ticks"), result.Report());
            BootScenario.AssertContains(result, "\n  core 3: dedicated, vCPUs three, load ");
            foreach (string partition in new[] { "host", "two", "three", "zero-a", "zero-b" })
                BootScenario.AssertContains(result, $"\n[{partition}] progress 2\n");
            BootScenario.AssertContains(result, "\n  host: 1 slices, share 100.0% (configured 100.0%)\n");
        }

        /// <summary>
        /// Finding, Bochs 2.7: with external-interrupt exiting, the SDM says a pending
        /// interrupt causes a VM exit whatever the guest's RFLAGS.IF, but Bochs takes that exit
        /// only when IF = 1, so a fixed-vector IPI cannot take a core away from a guest that
        /// runs with interrupts off. The hypervisor's kick is therefore an NMI (NMI exiting
        /// ignores IF, on real hardware and in Bochs): the guest spinning with IF = 0 on its
        /// dedicated core exits at once for the migration, instead of at its own next exit.
        /// </summary>
        [Test]
        public void A_guest_with_interrupts_off_gives_its_dedicated_core_up_at_once_to_an_NMI_kick()
        {
            var result = Boot("migration-if0-guest", "configs/two-cores.json", 2, 1000, "300 migrate alpha 0\n",
                ("alpha", "spin-if0.bin"), ("beta", "spin.bin"), ("gamma", "spin.bin"));
            var migrated = Regex.Match(result.Serial, @"\nMigrated alpha from core 1 to core 0: (\d+) ticks");
            Assert.That(migrated.Success, Is.True, result.Report());
            Assert.That(long.Parse(migrated.Groups[1].Value), Is.LessThan(200_000), "the move did not wait for the guest's own next exit");
            BootScenario.AssertContains(result, "  kicks (NMIs) to this core: 1, ");
            Assert.That(result.Serial, Does.Match(@"\nPartition alpha still runnable at the time limit; exits: exception or NMI 1, I/O instruction \d+"),
                "the NMI's exit on the dedicated core\n" + result.Report());
        }

        /// <summary>
        /// The guests that need control most: two that spin with interrupts off and never exit,
        /// one on core 0 (whose CPU also serves the console) and one on core 1, core 2 free. The
        /// console answers while they run; pause, migrate (to the free core and back), stop,
        /// restart and the run's time limit all take effect on them.
        /// </summary>
        [Test]
        public void Every_command_lands_on_dedicated_cores_whose_guests_never_exit()
        {
            const string script = "300 list\n400 pause hog1\n600 resume hog1\n700 migrate hog1 2\n900 migrate hog1 1\n"
                + "1100 stop hog1\n1200 restart hog1\n1300 cpus\n1400 stats\n";
            var result = Boot("dedicated-spinners", "configs/dedicated-spinners.json", 3, 1700, script, ("hog0", "spin-if0.bin"), ("hog1", "spin-if0.bin"));
            BootScenario.AssertContains(result, "\npartition> list\n  hog0 (host): running, vCPU 0 on core 0, 4 MiB\n  hog1 (guest): running, vCPU 0 on core 1, 4 MiB\n");
            BootScenario.AssertContains(result, "\npause hog1: pausing (its vCPUs leave their cores)\n");
            BootScenario.AssertContains(result, "\nhog1: paused (every vCPU off its core, ");
            BootScenario.AssertContains(result, "\nresume hog1: resumed\n");
            Assert.That(result.Serial, Does.Match(@"\nMigrated hog1 from core 1 to core 2: \d+ ticks from the command to its next guest instruction\n"), result.Report());
            Assert.That(result.Serial, Does.Match(@"\nMigrated hog1 from core 2 to core 1: \d+ ticks from the command to its next guest instruction\n"), result.Report());
            BootScenario.AssertContains(result, "\nstop hog1: stopped\n");
            BootScenario.AssertContains(result, "\nhog1: restarted from its image, memory scrubbed\n");
            BootScenario.AssertContains(result, "\n  core 0: dedicated, vCPUs hog0, load ");
            BootScenario.AssertContains(result, "\n  core 2: idle (no vCPUs), ");
            // The time limit ends every core, whatever its guest does.
            foreach (int cpu in new[] { 0, 1, 2 })
                Assert.That(result.Serial, Does.Match($@"\nCPU {cpu}: run time limit reached after \d+ ms \(stop_after_ms\)\n"), result.Report());
            // Progress went on where it was between pause and resume, and started again after the restart.
            var hog1 = System.Text.RegularExpressions.Regex.Matches(result.Serial, @"(?m)^\[hog1\] progress (\d+)$").Select(m => int.Parse(m.Groups[1].Value)).ToArray();
            Assert.That(hog1.Count(n => n == 1), Is.EqualTo(2), "progress 1 once per boot\n" + result.Report());
            Assert.That(System.Text.RegularExpressions.Regex.Matches(result.Serial, @"(?m)^\[hog0\] progress \d+$").Count, Is.GreaterThan(10), "hog0 ran on");
        }

        [Test]
        public void A_guests_management_hypercall_is_refused_and_it_keeps_running()
        {
            var result = Boot("management-refused", "configs/management.json", 1, 500, null,
                ("boss", "spin.bin"), ("intruder", "intruder.bin"));
            BootScenario.AssertContains(result, "\npartition intruder: management hypercall pause refused: only the host partition may\n");
            BootScenario.AssertContains(result, "\n[intruder] management hypercall refused: not permitted\n");
            BootScenario.AssertContains(result, "\n[intruder] progress 2\n");
            BootScenario.AssertContains(result, "\n[boss] progress 2\n");
            BootScenario.AssertContains(result, "\nPartition intruder still runnable at the time limit; exits: VMCALL 1,");
        }
    }
}
