using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace Partition.Host
{
    /// <summary>One event of the hypervisor's schedule trace ("trace=on", kernel/ScheduleTrace.cs).</summary>
    public sealed record TraceEvent(int Core, string Kind, ulong Start, ulong End, string Partition, int Vcpu, int Other, ulong Exits)
    {
        public string VcpuName => $"{Partition}.{Vcpu}";
    }

    /// <summary>A vCPU's move: it left <see cref="From"/> at <see cref="Left"/> and arrived on <see cref="To"/> at <see cref="Arrived"/>.</summary>
    public sealed record TraceMigration(string Vcpu, int From, int To, ulong Left, ulong Arrived);

    /// <summary>
    /// The schedule a run's console printed with "trace=on", and its picture: a timeline per
    /// core in SVG, each slice a bar in its partition's colour (its vCPU, times and exits in
    /// a tooltip), each migration an arrow from the core the vCPU left to the one it arrived
    /// on, pauses, resumes, stops and restarts as labelled marks on the core that carried them
    /// out. Times are milliseconds since the partitions started (the console script's zero,
    /// printed in the trace's header; a trace without it counts from its first event).
    /// </summary>
    public sealed class ScheduleTimeline
    {
        private static readonly Regex Header = new(@"(?m)^Trace: (\d+) cores, (\d+) TSC ticks per ms(?:, up to (\d+) events a core)?(?:[^\r\n]*?, the partitions started at TSC (\d+))?");
        private static readonly Regex Line = new(@"(?m)^trace (\d+) ([a-z-]+) (\d+) (\d+) (\S+)\.(\d+) (-?\d+) (\d+)\r?$");

        // Distinct on white and from each other; a partition keeps its colour (by first appearance).
        private static readonly string[] Palette =
        {
            "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac",
        };

        public ScheduleTimeline(int cores, ulong ticksPerMillisecond, IReadOnlyList<TraceEvent> events, ulong? partitionsStart = null, int? eventsPerCore = null)
        {
            Complete = partitionsStart != null && events.GroupBy(e => e.Core).All(core => eventsPerCore == null || core.Count() < eventsPerCore);
            Cores = cores;
            TicksPerMillisecond = Math.Max(1, ticksPerMillisecond);
            Events = events;
            Migrations = PairMigrations(events);
            Zero = partitionsStart ?? (events.Count == 0 ? 0 : events.Min(e => e.Start));
        }

        public int Cores { get; }
        public ulong TicksPerMillisecond { get; }

        /// <summary>The TSC value times count from: the partitions' start, or the first event.</summary>
        public ulong Zero { get; }

        /// <summary>True if the trace holds every event since the partitions started (no core's ring was full).</summary>
        public bool Complete { get; }
        public IReadOnlyList<TraceEvent> Events { get; }
        public IReadOnlyList<TraceMigration> Migrations { get; }

        public IEnumerable<TraceEvent> Slices => Events.Where(e => e.Kind == "slice");

        /// <summary>The trace in a run's serial output, or null if it has none.</summary>
        public static ScheduleTimeline? Parse(string serial)
        {
            var header = Header.Match(serial);
            if (!header.Success)
                return null;
            var events = Line.Matches(serial, header.Index).Select(m => new TraceEvent(
                int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value,
                ulong.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), ulong.Parse(m.Groups[4].Value, CultureInfo.InvariantCulture),
                m.Groups[5].Value, int.Parse(m.Groups[6].Value, CultureInfo.InvariantCulture),
                int.Parse(m.Groups[7].Value, CultureInfo.InvariantCulture), ulong.Parse(m.Groups[8].Value, CultureInfo.InvariantCulture))).ToList();
            return new ScheduleTimeline(int.Parse(header.Groups[1].Value, CultureInfo.InvariantCulture),
                ulong.Parse(header.Groups[2].Value, CultureInfo.InvariantCulture), events,
                header.Groups[4].Success ? ulong.Parse(header.Groups[4].Value, CultureInfo.InvariantCulture) : null,
                header.Groups[3].Success ? int.Parse(header.Groups[3].Value, CultureInfo.InvariantCulture) : null);
        }

        // Each migrate-out with the vCPU's next migrate-in on the core it was sent to.
        private static List<TraceMigration> PairMigrations(IReadOnlyList<TraceEvent> events)
        {
            var arrivals = events.Where(e => e.Kind == "migrate-in").OrderBy(e => e.Start).ToList();
            var used = new HashSet<TraceEvent>();
            var migrations = new List<TraceMigration>();
            foreach (var left in events.Where(e => e.Kind == "migrate-out").OrderBy(e => e.Start))
            {
                var arrived = arrivals.FirstOrDefault(a => !used.Contains(a) && a.VcpuName == left.VcpuName && a.Core == left.Other && a.Start >= left.Start);
                if (arrived == null)
                    continue;
                used.Add(arrived);
                migrations.Add(new TraceMigration(left.VcpuName, left.Core, arrived.Core, left.Start, arrived.Start));
            }
            return migrations;
        }

        private ulong First => Events.Count == 0 ? Zero : Events.Min(e => e.Start);
        private ulong Finish => Events.Count == 0 ? Zero : Events.Max(e => Math.Max(e.Start, e.End));

        /// <summary>Milliseconds since <see cref="Zero"/>.</summary>
        public double Milliseconds(ulong tsc) => ((double)tsc - Zero) / TicksPerMillisecond;

        public string ToSvg(string title)
        {
            const int left = 80, right = 40, top = 60, lane = 44, bar = 26, width = 1200;
            int plot = width - left - right;
            var partitions = Events.Select(e => e.Partition).Where(p => p != "-").Distinct().ToList();
            int height = top + Math.Max(1, Cores) * lane + 50 + 20 * ((partitions.Count + 5) / 6);
            // The axis runs from the partitions' start (0 ms) to the last event; if the rings
            // dropped older events, from the first event kept, rounded down to a step.
            double firstMs = Complete ? 0 : Milliseconds(First), lastMs = Milliseconds(Finish);
            double step = NiceStep((lastMs - firstMs) / 10);
            double fromMs = Math.Floor(firstMs / step) * step, spanMs = Math.Max(lastMs - fromMs, 1e-3);
            double X(ulong tsc) => left + (Milliseconds(tsc) - fromMs) * plot / spanMs;
            double LaneY(int core) => top + core * lane;
            string Colour(string partition) => Palette[Math.Max(0, partitions.IndexOf(partition)) % Palette.Length];
            string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

            var svg = new StringBuilder();
            svg.Append($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n");
            svg.Append("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#222\"/></marker></defs>\n");
            svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
            svg.Append($"<text x=\"{left}\" y=\"22\" font-size=\"15\" font-weight=\"bold\">{Escape(title)}</text>\n");
            svg.Append($"<text x=\"{left}\" y=\"40\" fill=\"#555\">{Events.Count(e => e.Kind == "slice")} slices, {Migrations.Count} migrations; ms since the partitions started (TSC {TicksPerMillisecond} ticks per ms)</text>\n");

            // Lanes and the time axis.
            for (int core = 0; core < Cores; core++)
            {
                svg.Append($"<rect x=\"{left}\" y=\"{F(LaneY(core))}\" width=\"{plot}\" height=\"{bar}\" fill=\"#f3f3f3\"/>\n");
                svg.Append($"<text x=\"{left - 8}\" y=\"{F(LaneY(core) + bar / 2 + 4)}\" text-anchor=\"end\">core {core}</text>\n");
            }
            double axisY = top + Cores * lane;
            for (double ms = fromMs; ms <= lastMs + 1e-9; ms += step)
            {
                double x = left + (ms - fromMs) / spanMs * plot;
                svg.Append($"<line x1=\"{F(x)}\" y1=\"{F(axisY - 6)}\" x2=\"{F(x)}\" y2=\"{F(axisY)}\" stroke=\"#888\"/>");
                svg.Append($"<text x=\"{F(x)}\" y=\"{F(axisY + 14)}\" text-anchor=\"middle\" fill=\"#555\">{F(ms)} ms</text>\n");
            }

            // Slices: at least a pixel wide, so that a short one still shows.
            foreach (var slice in Slices)
            {
                double x = X(slice.Start), w = Math.Max(1, X(slice.End) - x);
                svg.Append($"<rect class=\"slice\" data-vcpu=\"{Escape(slice.VcpuName)}\" data-core=\"{slice.Core}\" x=\"{F(x)}\" y=\"{F(LaneY(slice.Core))}\" width=\"{F(w)}\" height=\"{bar}\" fill=\"{Colour(slice.Partition)}\">");
                svg.Append($"<title>{Escape(slice.VcpuName)} on core {slice.Core}: {F(Milliseconds(slice.Start))}-{F(Milliseconds(slice.End))} ms, {slice.Exits} exits</title></rect>\n");
            }

            // Migrations: from the middle of the lane it left to the middle of the one it reached,
            // labelled in the gap below the upper of the two lanes with the vCPU, its new core and when it left.
            foreach (var move in Migrations)
            {
                svg.Append($"<text class=\"migration-label\" x=\"{F(X(move.Left) + 5)}\" y=\"{F(LaneY(Math.Min(move.From, move.To)) + bar + 12)}\" font-size=\"10\" fill=\"#222\">" +
                    $"{Escape(move.Vcpu)} to core {move.To}, {F(Milliseconds(move.Left))} ms</text>\n");
                svg.Append($"<line class=\"migration\" data-vcpu=\"{Escape(move.Vcpu)}\" data-from=\"{move.From}\" data-to=\"{move.To}\" " +
                    $"data-left-ms=\"{F(Milliseconds(move.Left))}\" data-arrived-ms=\"{F(Milliseconds(move.Arrived))}\" " +
                    $"x1=\"{F(X(move.Left))}\" y1=\"{F(LaneY(move.From) + bar / 2)}\" x2=\"{F(X(move.Arrived))}\" y2=\"{F(LaneY(move.To) + bar / 2)}\" " +
                    "stroke=\"#222\" stroke-width=\"2\" marker-end=\"url(#arrow)\">");
                svg.Append($"<title>{Escape(move.Vcpu)} migrated from core {move.From} to core {move.To} at {F(Milliseconds(move.Left))}-{F(Milliseconds(move.Arrived))} ms</title></line>\n");
            }

            // Operator actions, on the core that carried them out.
            foreach (var mark in Events.Where(e => e.Kind is "pause" or "resume" or "stop" or "restart"))
            {
                double x = X(mark.Start), y = LaneY(mark.Core) - 2;
                svg.Append($"<g class=\"mark\" data-kind=\"{mark.Kind}\" data-partition=\"{Escape(mark.Partition)}\"><line x1=\"{F(x)}\" y1=\"{F(y)}\" x2=\"{F(x)}\" y2=\"{F(y + bar + 4)}\" stroke=\"#d00\" stroke-dasharray=\"3,2\"/>");
                svg.Append($"<text x=\"{F(x + 3)}\" y=\"{F(y + 9)}\" fill=\"#d00\" font-size=\"10\">{mark.Kind} {Escape(mark.Partition)}</text>");
                svg.Append($"<title>{mark.Kind} {Escape(mark.Partition)} at {F(Milliseconds(mark.Start))} ms</title></g>\n");
            }

            // Legend.
            double legendY = axisY + 34;
            for (int i = 0; i < partitions.Count; i++)
            {
                double x = left + i % 6 * 180, y = legendY + i / 6 * 20;
                svg.Append($"<rect x=\"{F(x)}\" y=\"{F(y - 10)}\" width=\"12\" height=\"12\" fill=\"{Colour(partitions[i])}\"/><text x=\"{F(x + 18)}\" y=\"{F(y)}\">{Escape(partitions[i])}</text>\n");
            }
            svg.Append("</svg>\n");
            return svg.ToString();
        }

        // 1, 2 or 5 times a power of ten, at least the rough step.
        private static double NiceStep(double rough)
        {
            if (rough <= 0 || double.IsNaN(rough))
                return 1;
            double power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
            foreach (double m in new[] { 1.0, 2.0, 5.0, 10.0 })
                if (m * power >= rough)
                    return m * power;
            return 10 * power;
        }

        private static string Escape(string text) =>
            text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");
    }
}
