extern alias cli;

using System.Linq;
using NUnit.Framework;
using SchedulerBench = cli::Partition.Cli.SchedulerBench;

namespace Partition.Tests.Scheduler
{
    /// <summary>'partition bench-scheduler' prints a row per scenario; its figures are timed, so only their shape is checked.</summary>
    public class SchedulerBenchTests
    {
        [Test]
        public void TheBenchmarkPrintsEveryScenarioAndAllocatesNothingWhileTiming()
        {
            var output = new System.IO.StringWriter();
            Assert.That(SchedulerBench.Run(new[] { "--slices", "20000" }, output), Is.EqualTo(0));
            var lines = output.ToString().Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Length > 0).ToArray();
            Assert.That(lines[0], Does.StartWith("partition bench-scheduler: 20,000 slices per row"));
            var rows = lines.Skip(2).ToArray();
            Assert.That(rows.Select(r => string.Join(" ", r.Split(' ', System.StringSplitOptions.RemoveEmptyEntries).Take(3))), Is.EqualTo(new[]
            {
                "dedicated 1 1",
                "round-robin 1 1", "round-robin 1 32", "round-robin 1 1024", "round-robin 256 4",
                "weighted 1 1", "weighted 1 32", "weighted 1 1024", "weighted 256 4",
            }));
            foreach (var row in rows)
                Assert.That(row, Does.Match(@"^\S+ +\d+ +\d+ +[0-9.]+ +[0-9.]+ +0 B$"), "ns and steps per decision, nothing allocated");
        }
    }
}
