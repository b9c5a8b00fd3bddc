using System;
using System.IO;
using System.Linq;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The benchmark guard without Bochs: how 'partition bench' turns its lines into keyed
    /// figures, writes and reads them as JSON, and judges a run against the baseline (issue 14:
    /// more than 5% worse fails; more than 5% better fails too, asking for the baseline to be updated).
    /// </summary>
    public class BenchmarkGuardTests
    {
        // A run's lines as 'partition bench' prints them and records them in exits.txt.
        private static readonly string[] Lines =
        {
            "bench loop: 30005 ticks for 10000, 3 per round trip",
            "bench vmcall: 6066042 ticks for 10000, 606 per round trip",
            "bench cpuid: 6045995 ticks for 10000, 604 per round trip",
            "bench io: 7215325 ticks for 10000, 721 per round trip",
            "bench cpu-bound: 60012345 ticks for 60000000 instructions",
            "start: 3012345 ticks from the hypervisor's start to the first guest instruction",
            "switch=resume: a: 284 slices, share 33.6% (configured 33.3%)",
            "switch=resume: mean switch: 1051 ticks, resume-based (VMPTRLD, VMRESUME) over 851 switches",
            "switch=clear: mean switch: 1114 ticks, clear-based (VMCLEAR, VMPTRLD, VMLAUNCH) over 848 switches",
            "Migrated alpha from core 1 to core 0: 34890 ticks from the command to its next guest instruction",
            "Migrated alpha from core 0 to core 1: 10105 ticks from the command to its next guest instruction",
            "guest spinning with IF=0 on a dedicated core: hog1: paused (every vCPU off its core, 13255 ticks after the command)",
            "guest spinning with IF=0 on a dedicated core: Migrated hog1 from core 1 to core 2: 9960 ticks from the command to its next guest instruction",
            "guest spinning with IF=0 on a dedicated core: Migrated hog1 from core 2 to core 1: 9890 ticks from the command to its next guest instruction",
            "apic xapic-ipi: mean 5415 ticks, min 5385, max 5920 over 1000",
            "apic xapic-ipi-round-trip: mean 10839 ticks, min 10780, max 11450 over 1000",
            "apic x2apic-ipi: mean 1862 ticks, min 1860, max 3380 over 1000",
            "apic x2apic-ipi-round-trip: mean 3774 ticks, min 3770, max 5405 over 1000",
            "apic x2apic-ipi-to-halted: mean 2428 ticks, min 2320, max 4060 over 1000",
            "apic x2apic-ipi-to-idle: mean 2500 ticks, min 2400, max 4100 over 1000",
            "apic tsc-deadline-timer: mean 1061 ticks, min 1060, max 1585 over 1000",
            "apic one-shot-timer: mean 1251 ticks, min 1250, max 1375 over 1000",
            "apic hlt-wakeup: mean 2108 ticks, min 1935, max 2365 over 1000",
            "apic-shared hlt-wakeup: mean 29279 ticks, min 29220, max 29705 over 50",
            "apic-shared x2apic-ipi-to-idle: mean 9000 ticks, min 2000, max 16000 over 50",
            "linux boot: 121472146 ticks from the partitions' start to linux up (6.1.192-partition)",
            "linux idle: 204 exits per second (over 10 s, heartbeat only)",
        };

        private const string Update = "./partition bench-compare --update artifacts/benchmarks/exits.json tests/benchmarks/baseline.json";

        private static BenchmarkResult Run(params (string Key, decimal Value, bool LowerIsBetter, decimal Tolerance)[] figures) =>
            new("abc1234", "2026-12-01 04:37 UTC", "Bochs",
                figures.Select(f => new BenchmarkFigure(f.Key, f.Value, "ticks", f.LowerIsBetter, f.Tolerance, f.Key)).ToArray());

        private static BenchmarkResult Ticks(params (string Key, decimal Value)[] figures) =>
            Run(figures.Select(f => (f.Key, f.Value, true, 5m)).ToArray());

        private static BenchmarkVerdict VerdictOf(decimal baseline, decimal now, bool lowerIsBetter = true, decimal tolerance = 5) =>
            BenchmarkComparison.Compare(Run(("x", now, lowerIsBetter, tolerance)), Run(("x", baseline, lowerIsBetter, tolerance))).Rows.Single().Verdict;

        [Test]
        public void Every_guarded_figure_is_read_from_its_line_under_its_key_in_catalogue_order()
        {
            var figures = BenchmarkFigures.FromLines(Lines);
            Assert.That(figures.Select(f => f.Key), Is.EqualTo(BenchmarkFigures.Catalogue.Select(d => d.Key)));
            Assert.That(figures.Select(f => f.Key).Take(12), Is.EqualTo(new[]
            {
                "null-vmcall", "cpuid", "uart-io", "cpu-bound", "start-to-first-guest", "same-core-switch", "same-core-switch-clear",
                "migration-dedicated-to-shared", "migration-shared-to-dedicated",
                "pause-dedicated-if0", "migration-dedicated-if0", "migration-dedicated-if0-back",
            }));
            var byKey = figures.ToDictionary(f => f.Key);
            Assert.That(byKey["null-vmcall"].Value, Is.EqualTo(606m));
            Assert.That(byKey["uart-io"].Value, Is.EqualTo(721m));
            Assert.That(byKey["same-core-switch-clear"].Value, Is.EqualTo(1114m));
            Assert.That(byKey["migration-dedicated-to-shared"].Value, Is.EqualTo(34890m));
            Assert.That(byKey["migration-dedicated-if0-back"].Value, Is.EqualTo(9890m));
            Assert.That(byKey["apic-x2apic-ipi-to-halted"].Value, Is.EqualTo(2428m));
            Assert.That(byKey["linux-boot"].Value, Is.EqualTo(121472146m));
            Assert.That(byKey["linux-idle-exits"], Is.EqualTo(new BenchmarkFigure("linux-idle-exits", 204, "exits/s", true, 15,
                "an idle Linux guest (heartbeat only): exits per second")));
            Assert.That(figures.Where(f => f.Key != "linux-idle-exits").Select(f => f.Unit).Distinct(), Is.EqualTo(new[] { "ticks" }));
            Assert.That(figures.All(f => f.LowerIsBetter && f.TolerancePercent == (f.Key switch { "linux-idle-exits" => 15m, "apic-x2apic-ipi-to-halted" => 8m, _ => BenchmarkFigures.DefaultTolerancePercent })));
        }

        [Test]
        public void A_figure_without_its_line_is_left_out_and_lines_match_only_from_their_start()
        {
            var figures = BenchmarkFigures.FromLines(new[]
            {
                "bench vmcall: 5610941 ticks for 10000, 561 per round trip\r",
                "CPU 1: bench cpuid: 1 ticks for 10000, 1 per round trip",
                "apic xapic-ipi: mean  ticks",
            });
            Assert.That(figures.Select(f => (f.Key, f.Value)), Is.EqualTo(new[] { ("null-vmcall", 561m) }));
        }

        [Test]
        public void The_json_form_reads_back_as_written()
        {
            var result = new BenchmarkResult("6ad6148", "2026-12-01 04:37 UTC", "Bochs, CPU model tigerlake", BenchmarkFigures.FromLines(Lines));
            string json = result.ToJson();
            var read = BenchmarkResult.Parse(json, "exits.json");
            Assert.That(read.Commit, Is.EqualTo("6ad6148"));
            Assert.That(read.Date, Is.EqualTo("2026-12-01 04:37 UTC"));
            Assert.That(read.Figures, Is.EqualTo(result.Figures));
            Assert.That(json, Does.Contain("\"key\": \"null-vmcall\""));
            Assert.That(json, Does.Contain("\"lower_is_better\": true"));
            Assert.That(json, Does.Contain("partitions' start"), "written for people: no \\u0027 escapes");
        }

        [TestCase("[1, 2]", "baseline.json: $: expected an object")]
        [TestCase("{\"figures\": []}", "baseline.json: version: expected 1")]
        [TestCase("{\"version\": 2, \"figures\": []}", "baseline.json: version: expected 1")]
        [TestCase("{\"version\": 1}", "baseline.json: figures: expected an array of figures")]
        [TestCase("{\"version\": 1, \"figures\": [{\"key\": \"a\", \"value\": \"606\", \"unit\": \"ticks\", \"lower_is_better\": true, \"tolerance_percent\": 5}]}",
            "baseline.json: figures[0].value: expected a number")]
        [TestCase("{\"version\": 1, \"figures\": [{\"key\": \"a\", \"value\": 1, \"unit\": \"ticks\", \"lower_is_better\": true, \"tolerance_percent\": 5}, {\"key\": \"a\", \"value\": 1, \"unit\": \"ticks\", \"lower_is_better\": true, \"tolerance_percent\": 5}]}",
            "baseline.json: figures[1].key: 'a' appears twice")]
        [TestCase("{\"version\": 1, \"figures\": [{\"key\": \"a\", \"value\": 1, \"unit\": \"ticks\", \"lower_is_better\": true, \"tolerance_percent\": -1}]}",
            "baseline.json: figures[0].tolerance_percent: expected a number >= 0")]
        [TestCase("{\"version\": 1, \"figures\": [{\"key\": \"a\", \"value\": 1, \"unit\": \"ticks\", \"tolerance_percent\": 5}]}",
            "baseline.json: figures[0].lower_is_better: expected true or false")]
        [TestCase("{\"version\": 1, \"figures\": [{\"value\": 1}]}", "baseline.json: figures[0].key: expected a string")]
        public void A_malformed_file_is_refused_with_its_name_and_json_path(string json, string message)
        {
            var e = Assert.Throws<InvalidOperationException>(() => BenchmarkResult.Parse(json, "baseline.json"));
            Assert.That(e.Message, Is.EqualTo(message));
        }

        [Test]
        public void Text_that_is_not_json_is_refused_with_the_file_name()
        {
            var e = Assert.Throws<InvalidOperationException>(() => BenchmarkResult.Parse("bench vmcall: 606", "exits.json"));
            Assert.That(e.Message, Does.StartWith("exits.json: not JSON: "));
        }

        [TestCase(600, 600, ExpectedResult = BenchmarkVerdict.Within)]
        [TestCase(600, 630, ExpectedResult = BenchmarkVerdict.Within)] // exactly 5% worse: not more than 5%
        [TestCase(600, 631, ExpectedResult = BenchmarkVerdict.Worse)]
        [TestCase(600, 570, ExpectedResult = BenchmarkVerdict.Within)] // exactly 5% better
        [TestCase(600, 569, ExpectedResult = BenchmarkVerdict.Better)]
        [TestCase(121472146, 127545753, ExpectedResult = BenchmarkVerdict.Within)] // 5% of 121472146 is 6073607.3
        [TestCase(121472146, 127545754, ExpectedResult = BenchmarkVerdict.Worse)]
        [TestCase(0, 0, ExpectedResult = BenchmarkVerdict.Within)]
        [TestCase(0, 1, ExpectedResult = BenchmarkVerdict.Worse)]
        public BenchmarkVerdict More_than_five_percent_either_way_is_reported_exactly(long baseline, long now) =>
            VerdictOf(baseline, now);

        [Test]
        public void For_a_higher_is_better_figure_a_rise_is_the_gain()
        {
            Assert.That(VerdictOf(100, 106, lowerIsBetter: false), Is.EqualTo(BenchmarkVerdict.Better));
            Assert.That(VerdictOf(100, 94, lowerIsBetter: false), Is.EqualTo(BenchmarkVerdict.Worse));
        }

        [Test]
        public void The_baselines_tolerance_decides()
        {
            Assert.That(VerdictOf(1000, 1150, tolerance: 20), Is.EqualTo(BenchmarkVerdict.Within));
            Assert.That(VerdictOf(1000, 1001, tolerance: 0), Is.EqualTo(BenchmarkVerdict.Worse));
            // The run's own tolerance is not the one that counts: a run cannot loosen the guard.
            var loose = Run(("x", 1100, true, 50));
            Assert.That(BenchmarkComparison.Compare(loose, Run(("x", 1000, true, 5))).Rows.Single().Verdict, Is.EqualTo(BenchmarkVerdict.Worse));
        }

        [Test]
        public void Figures_within_their_tolerance_pass_with_a_row_each()
        {
            var baseline = Ticks(("null-vmcall", 606), ("cpuid", 604));
            var comparison = BenchmarkComparison.Compare(Ticks(("null-vmcall", 610), ("cpuid", 604)), baseline);
            Assert.That(comparison.Passed, Is.True);
            var rows = comparison.Report("tests/benchmarks/baseline.json", baseline, Update).TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
            Assert.That(rows[0], Is.EqualTo("Benchmark against tests/benchmarks/baseline.json (commit abc1234, 2026-12-01 04:37 UTC):"));
            Assert.That(rows[1], Does.StartWith("  figure"));
            Assert.That(rows[2], Does.Match(@"^  null-vmcall +606 +610 +\+0\.7%  ok \(within 5%\)$"));
            Assert.That(rows[3], Does.Match(@"^  cpuid +604 +604 +0\.0%  ok \(within 5%\)$"));
            Assert.That(rows[4], Is.EqualTo("Benchmark guard passed: all 2 figures within their tolerance of the baseline."));
            Assert.That(rows.Length, Is.EqualTo(5));
        }

        [Test]
        public void A_figure_more_than_five_percent_worse_fails_and_is_named_with_its_change()
        {
            var baseline = Ticks(("null-vmcall", 606), ("cpuid", 604));
            var comparison = BenchmarkComparison.Compare(Ticks(("null-vmcall", 606), ("cpuid", 650)), baseline);
            Assert.That(comparison.Passed, Is.False);
            string report = comparison.Report("tests/benchmarks/baseline.json", baseline, Update);
            Assert.That(report, Does.Match(@"  cpuid +604 +650 +\+7\.6%  WORSE by more than 5%"));
            Assert.That(report, Does.Contain("FAILED: 1 figure worse than the baseline by more than the tolerance: cpuid +7.6%."));
            Assert.That(report, Does.Not.Contain(Update), "a regression is to be fixed, not recorded");
        }

        [Test]
        public void A_figure_more_than_five_percent_better_fails_and_gives_the_command_that_updates_the_baseline()
        {
            var baseline = Ticks(("null-vmcall", 606), ("same-core-switch", 1051));
            var comparison = BenchmarkComparison.Compare(Ticks(("null-vmcall", 500), ("same-core-switch", 1051)), baseline);
            Assert.That(comparison.Passed, Is.False);
            Assert.That(comparison.Rows.Select(r => r.Verdict), Is.EqualTo(new[] { BenchmarkVerdict.Better, BenchmarkVerdict.Within }));
            string report = comparison.Report("tests/benchmarks/baseline.json", baseline, Update);
            Assert.That(report, Does.Match(@"  null-vmcall +606 +500 +-17\.5%  BETTER by more than 5%: update the baseline"));
            Assert.That(report, Does.Contain("FAILED: 1 figure better than the baseline by more than the tolerance: null-vmcall -17.5%. "
                + "Good: record the gain by updating the baseline in the same commit."));
            Assert.That(report.TrimEnd(), Does.EndWith("To update it: " + Update));
        }

        [Test]
        public void A_figure_on_one_side_only_fails()
        {
            var baseline = Ticks(("null-vmcall", 606), ("linux-boot", 121472146));
            var comparison = BenchmarkComparison.Compare(Ticks(("null-vmcall", 606), ("apic-hlt-wakeup", 2108)), baseline);
            Assert.That(comparison.Passed, Is.False);
            Assert.That(comparison.Rows.Select(r => (r.Key, r.Verdict)), Is.EqualTo(new[]
            {
                ("null-vmcall", BenchmarkVerdict.Within), ("linux-boot", BenchmarkVerdict.Missing), ("apic-hlt-wakeup", BenchmarkVerdict.New),
            }));
            string report = comparison.Report("baseline.json", baseline, Update);
            Assert.That(report, Does.Match(@"  linux-boot +121,472,146 +- +-  MISSING from this run"));
            Assert.That(report, Does.Contain("FAILED: the run did not produce 1 figure of the baseline: linux-boot"));
            Assert.That(report, Does.Contain("FAILED: the baseline lacks 1 figure the run produced: apic-hlt-wakeup. Add them by updating the baseline in the same commit."));
            Assert.That(report, Does.Contain("To update it: " + Update));
        }

        [Test]
        public void The_committed_baseline_covers_every_guarded_figure()
        {
            var layout = RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory);
            string path = Path.Combine(layout.Root, "tests", "benchmarks", "baseline.json");
            var baseline = BenchmarkResult.Parse(File.ReadAllText(path), path);
            Assert.That(baseline.Figures.Select(f => f.Key), Is.EqualTo(BenchmarkFigures.Catalogue.Select(d => d.Key)),
                "a figure added to BenchmarkFigures.Catalogue needs its baseline: ./partition bench --update-baseline");
            Assert.That(baseline.Figures.All(f => f.Value > 0));
        }
    }
}
