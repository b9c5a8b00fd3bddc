using System.Linq;
using System.Xml.Linq;
using NUnit.Framework;
using Partition.Host;

namespace Partition.Tests.Unit
{
    /// <summary>The schedule trace's lines, as the hypervisor prints them, read back and drawn (<see cref="ScheduleTimeline"/>).</summary>
    public class ScheduleTimelineTests
    {
        // Two cores at 10,000 ticks per ms, the partitions started at 50,000: alpha.0 on core 1,
        // moved to core 0 and back; beta on core 0; gamma paused and resumed.
        private const string Serial =
            "Run over: the time limit (stop_after_ms) came with 3 partitions still runnable\r\n" +
            "Trace: 2 cores, 10000 TSC ticks per ms, up to 4096 events a core (the latest), the partitions started at TSC 50000\r\n" +
            "trace 0 slice 100000 200000 beta.0 0 12\r\n" +
            "trace 0 migrate-in 210000 0 alpha.0 1 0\r\n" +
            "trace 0 slice 215000 300000 alpha.0 0 3\r\n" +
            "trace 0 pause 250000 0 gamma.0 -1 0\r\n" +
            "trace 0 migrate-out 310000 0 alpha.0 1 0\r\n" +
            "trace 0 resume 320000 0 gamma.0 -1 0\r\n" +
            "trace 1 slice 100000 205000 alpha.0 0 7\r\n" +
            "trace 1 migrate-out 205000 0 alpha.0 0 0\r\n" +
            "trace 1 migrate-in 312000 0 alpha.0 0 0\r\n" +
            "trace 1 slice 313000 400000 alpha.0 0 1\r\n";

        [Test]
        public void The_trace_is_read_and_each_migration_paired_with_its_arrival()
        {
            var timeline = ScheduleTimeline.Parse(Serial);
            Assert.That(timeline.Cores, Is.EqualTo(2));
            Assert.That(timeline.TicksPerMillisecond, Is.EqualTo(10000));
            Assert.That(timeline.Slices.Count(), Is.EqualTo(4));
            Assert.That(timeline.Migrations, Is.EqualTo(new[]
            {
                new TraceMigration("alpha.0", 1, 0, 205000, 210000),
                new TraceMigration("alpha.0", 0, 1, 310000, 312000),
            }));
            // Times count from the partitions' start, the console script's zero.
            Assert.That(timeline.Zero, Is.EqualTo(50000));
            Assert.That(timeline.Complete, Is.True);
            Assert.That(timeline.Milliseconds(300000), Is.EqualTo(25.0));
        }

        [Test]
        public void A_trace_that_does_not_say_when_the_partitions_started_counts_from_its_first_event()
        {
            var timeline = ScheduleTimeline.Parse(Serial.Replace(", the partitions started at TSC 50000", ""));
            Assert.That(timeline.Zero, Is.EqualTo(100000));
            Assert.That(timeline.Complete, Is.False);
            Assert.That(timeline.Milliseconds(300000), Is.EqualTo(20.0));
            Assert.That(timeline.Migrations.Count, Is.EqualTo(2));
        }

        [Test]
        public void When_a_core_s_ring_was_full_the_axis_starts_at_the_first_event_kept()
        {
            // Rings of 4 events: core 0 printed 4, so older ones may be gone, and the axis starts at 5 ms, not 0.
            var timeline = ScheduleTimeline.Parse(Serial.Replace("up to 4096 events", "up to 4 events"));
            Assert.That(timeline.Complete, Is.False);
            XNamespace ns = "http://www.w3.org/2000/svg";
            var axis = XDocument.Parse(timeline.ToSvg("t")).Descendants(ns + "text").Select(t => t.Value)
                .Where(v => v.EndsWith(" ms") && !v.Contains("core")).ToList();
            Assert.That(axis.First(), Is.EqualTo("5 ms"));
            Assert.That(ScheduleTimeline.Parse(Serial).Complete, Is.True);
        }

        [Test]
        public void A_run_without_a_trace_has_no_timeline() =>
            Assert.That(ScheduleTimeline.Parse("Run over: all partitions have halted or stopped\n"), Is.Null);

        [Test]
        public void The_picture_has_a_bar_per_slice_an_arrow_per_migration_and_a_mark_per_action()
        {
            var svg = XDocument.Parse(ScheduleTimeline.Parse(Serial).ToSvg("test <run>"));
            XNamespace ns = "http://www.w3.org/2000/svg";
            var slices = svg.Descendants(ns + "rect").Where(r => (string)r.Attribute("class") == "slice").ToList();
            Assert.That(slices.Select(s => ((string)s.Attribute("data-vcpu"), (string)s.Attribute("data-core"))),
                Is.EquivalentTo(new[] { ("beta.0", "0"), ("alpha.0", "0"), ("alpha.0", "1"), ("alpha.0", "1") }));
            // One colour per partition.
            Assert.That(slices.Where(s => (string)s.Attribute("data-vcpu") == "alpha.0").Select(s => (string)s.Attribute("fill")).Distinct().Count(), Is.EqualTo(1));
            Assert.That(slices.Select(s => (string)s.Attribute("fill")).Distinct().Count(), Is.EqualTo(2));
            var arrows = svg.Descendants(ns + "line").Where(l => (string)l.Attribute("class") == "migration").ToList();
            Assert.That(arrows.Select(a => ((string)a.Attribute("data-from"), (string)a.Attribute("data-to"))), Is.EqualTo(new[] { ("1", "0"), ("0", "1") }));
            // The first arrow starts on core 1's lane, lower in the picture, and ends on core 0's.
            Assert.That(double.Parse((string)arrows[0].Attribute("y1"), System.Globalization.CultureInfo.InvariantCulture),
                Is.GreaterThan(double.Parse((string)arrows[0].Attribute("y2"), System.Globalization.CultureInfo.InvariantCulture)));
            // Each arrow is labelled with the vCPU, the core it reached and when it left, on the script's clock.
            var labels = svg.Descendants(ns + "text").Where(t => (string)t.Attribute("class") == "migration-label").Select(t => t.Value);
            Assert.That(labels, Is.EqualTo(new[] { "alpha.0 to core 0, 15.5 ms", "alpha.0 to core 1, 26 ms" }));
            // The axis starts at 0 ms, the partitions' start, although the first slice began 5 ms later.
            var axis = svg.Descendants(ns + "text").Select(t => t.Value).Where(v => v.EndsWith(" ms") && !v.Contains("core")).ToList();
            Assert.That(axis.First(), Is.EqualTo("0 ms"));
            var marks = svg.Descendants(ns + "g").Where(g => (string)g.Attribute("class") == "mark").Select(g => (string)g.Attribute("data-kind")).ToList();
            Assert.That(marks, Is.EqualTo(new[] { "pause", "resume" }));
            Assert.That(svg.ToString(), Does.Contain("test &lt;run&gt;"));
        }
    }
}
