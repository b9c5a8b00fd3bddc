using System.Globalization;
using System.Text;

namespace Partition.Host.Guests
{
    /// <summary>How a figure of a run stands against the baseline.</summary>
    public enum BenchmarkVerdict
    {
        /// <summary>Within its tolerance either way.</summary>
        Within,
        /// <summary>Worse by more than its tolerance: a regression.</summary>
        Worse,
        /// <summary>Better by more than its tolerance: the baseline should be updated in the same commit.</summary>
        Better,
        /// <summary>In the baseline, but the run did not produce it.</summary>
        Missing,
        /// <summary>Produced by the run, but not in the baseline.</summary>
        New,
    }

    /// <summary>One figure against the baseline; <see cref="ChangePercent"/> is null when either side is absent or the baseline is 0.</summary>
    public sealed record BenchmarkRow(string Key, decimal? Baseline, decimal? Now, decimal? ChangePercent, decimal TolerancePercent,
        string Unit, BenchmarkVerdict Verdict);

    /// <summary>
    /// The guard of issue 14: a run's figures against the committed baseline. Any figure worse
    /// by more than its tolerance fails; so does one better by more than its tolerance, so that
    /// the gain is recorded in the baseline in the same commit; and so does a figure on one side only.
    /// </summary>
    public sealed class BenchmarkComparison
    {
        private BenchmarkComparison(IReadOnlyList<BenchmarkRow> rows) { Rows = rows; }

        /// <summary>The baseline's figures in its order, then any the run added.</summary>
        public IReadOnlyList<BenchmarkRow> Rows { get; }

        public bool Passed
        {
            get
            {
                foreach (var row in Rows)
                    if (row.Verdict != BenchmarkVerdict.Within)
                        return false;
                return true;
            }
        }

        /// <summary>
        /// Compares <paramref name="result"/> with <paramref name="baseline"/>, each figure with
        /// the baseline's unit, direction and tolerance. Exact: "more than 5% worse" means
        /// (now - baseline) * 100 > 5 * baseline for a lower-is-better figure.
        /// </summary>
        public static BenchmarkComparison Compare(BenchmarkResult result, BenchmarkResult baseline)
        {
            var rows = new List<BenchmarkRow>();
            foreach (var expected in baseline.Figures)
            {
                var actual = result.Find(expected.Key);
                if (actual == null)
                {
                    rows.Add(new BenchmarkRow(expected.Key, expected.Value, null, null, expected.TolerancePercent, expected.Unit, BenchmarkVerdict.Missing));
                    continue;
                }
                decimal worseBy = expected.LowerIsBetter ? actual.Value - expected.Value : expected.Value - actual.Value;
                decimal allowed = expected.TolerancePercent * expected.Value;
                var verdict = worseBy * 100 > allowed ? BenchmarkVerdict.Worse
                    : -worseBy * 100 > allowed ? BenchmarkVerdict.Better
                    : BenchmarkVerdict.Within;
                decimal? change = expected.Value == 0 ? (actual.Value == 0 ? 0 : null) : (actual.Value - expected.Value) * 100 / expected.Value;
                rows.Add(new BenchmarkRow(expected.Key, expected.Value, actual.Value, change, expected.TolerancePercent, expected.Unit, verdict));
            }
            foreach (var added in result.Figures)
                if (baseline.Find(added.Key) == null)
                    rows.Add(new BenchmarkRow(added.Key, null, added.Value, null, added.TolerancePercent, added.Unit, BenchmarkVerdict.New));
            return new BenchmarkComparison(rows);
        }

        /// <summary>
        /// A table of every figure (baseline, now, change, verdict) and the outcome: what failed and,
        /// when the baseline must change, <paramref name="updateCommand"/> to change it.
        /// </summary>
        public string Report(string baselineName, BenchmarkResult baseline, string updateCommand)
        {
            var text = new StringBuilder();
            string origin = baseline.Commit.Length == 0 ? "" : $" (commit {baseline.Commit}{(baseline.Date.Length == 0 ? "" : ", " + baseline.Date)})";
            text.AppendLine($"Benchmark against {baselineName}{origin}:");
            text.AppendLine($"  {"figure",-30} {"baseline",12} {"now",12} {"change",8}  verdict");
            foreach (var row in Rows)
                text.AppendLine($"  {row.Key,-30} {Number(row.Baseline),12} {Number(row.Now),12} {Change(row),8}  {Verdict(row)}");

            var worse = Keys(BenchmarkVerdict.Worse, withChange: true);
            var better = Keys(BenchmarkVerdict.Better, withChange: true);
            var missing = Keys(BenchmarkVerdict.Missing, withChange: false);
            var added = Keys(BenchmarkVerdict.New, withChange: false);
            if (Passed)
            {
                text.AppendLine($"Benchmark guard passed: all {Rows.Count} figures within their tolerance of the baseline.");
                return text.ToString();
            }
            if (worse.Count > 0)
                text.AppendLine($"FAILED: {Count(worse.Count)} worse than the baseline by more than the tolerance: {string.Join(", ", worse)}. "
                    + "Find what made the exit path slower, or, if the cost is intended, say why in the commit that updates the baseline.");
            if (missing.Count > 0)
                text.AppendLine($"FAILED: the run did not produce {Count(missing.Count)} of the baseline: {string.Join(", ", missing)} "
                    + "(see the bench's errors above).");
            if (better.Count > 0)
                text.AppendLine($"FAILED: {Count(better.Count)} better than the baseline by more than the tolerance: {string.Join(", ", better)}. "
                    + "Good: record the gain by updating the baseline in the same commit.");
            if (added.Count > 0)
                text.AppendLine($"FAILED: the baseline lacks {Count(added.Count)} the run produced: {string.Join(", ", added)}. "
                    + "Add them by updating the baseline in the same commit.");
            if (better.Count > 0 || added.Count > 0)
                text.AppendLine($"To update it: {updateCommand}");
            return text.ToString();
        }

        private List<string> Keys(BenchmarkVerdict verdict, bool withChange)
        {
            var keys = new List<string>();
            foreach (var row in Rows)
                if (row.Verdict == verdict)
                    keys.Add(withChange ? $"{row.Key} {Change(row)}" : row.Key);
            return keys;
        }

        private static string Count(int n) => n == 1 ? "1 figure" : $"{n} figures";

        private static string Number(decimal? value) =>
            value == null ? "-" : value.Value.ToString("#,0.##", CultureInfo.InvariantCulture);

        private static string Change(BenchmarkRow row)
        {
            if (row.ChangePercent is { } change)
                return (change > 0 ? "+" : change < 0 ? "-" : "") + Math.Abs(change).ToString("0.0", CultureInfo.InvariantCulture) + "%";
            return row.Baseline == 0 && row.Now != null ? "from 0" : "-";
        }

        private static string Verdict(BenchmarkRow row)
        {
            string tolerance = row.TolerancePercent.ToString("0.##", CultureInfo.InvariantCulture) + "%";
            return row.Verdict switch
            {
                BenchmarkVerdict.Within => $"ok (within {tolerance})",
                BenchmarkVerdict.Worse => $"WORSE by more than {tolerance}",
                BenchmarkVerdict.Better => $"BETTER by more than {tolerance}: update the baseline",
                BenchmarkVerdict.Missing => "MISSING from this run",
                _ => "NEW: not in the baseline",
            };
        }
    }
}
