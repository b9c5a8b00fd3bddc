using System.Linq;
using NUnit.Framework;
using Partition.Host.Guests;

namespace Partition.Tests.Unit
{
    /// <summary>How 'partition bench' reads the APIC guest's figures off the serial log and lays them out.</summary>
    public class ApicBenchmarkTests
    {
        private const string Serial =
            "[apic] APIC guest: 2 measurements per figure\n" +
            "[apic] apic xapic-ipi: mean 5377 ticks, min 5375, max 5380 over 2\n" +
            "CPU 1: some hypervisor line\n" +
            "[apic] apic x2apic-ipi-to-halted: mean 3538 ticks, min 2350, max 4620 over 2\r\n" +
            "[apic] apic hlt-wakeup: mean 2360 ticks, min 2205, max 2365 over 2\n";

        [Test]
        public void Figures_are_read_in_the_guests_order_with_their_descriptions()
        {
            var figures = BenchmarkRun.ParseApicFigures(Serial);
            Assert.That(figures.Select(f => f.Name), Is.EqualTo(new[] { "xapic-ipi", "x2apic-ipi-to-halted", "hlt-wakeup" }));
            Assert.That(figures[1], Is.EqualTo(new BenchmarkRun.ApicFigure("x2apic-ipi-to-halted",
                TestGuest.ApicFigures.Single(f => f.Name == "x2apic-ipi-to-halted").What, 3538, 2350, 4620, 2)));
            Assert.That(figures[0].Line, Is.EqualTo("apic xapic-ipi: mean 5377 ticks, min 5375, max 5380 over 2"));
        }

        [Test]
        public void A_figure_that_is_not_printed_is_missing_not_zero()
        {
            Assert.That(BenchmarkRun.ParseApicFigures("[apic] apic xapic-ipi: mean  ticks\n"), Is.Empty);
        }

        [Test]
        public void The_table_has_a_row_per_figure_under_a_header()
        {
            var figures = BenchmarkRun.ParseApicFigures(Serial).ToList();
            figures.Add(new BenchmarkRun.ApicFigure("hlt-wakeup", "HLT on a shared core", 2100, 2000, 2300, 50, "apic-shared"));
            string table = BenchmarkRun.FormatApicTable(figures);
            var lines = table.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
            Assert.That(lines[0], Is.EqualTo("Local APIC, ticks (= emulated instructions), over N measurements:"));
            Assert.That(lines[1], Does.StartWith("  figure"));
            Assert.That(lines[2], Does.StartWith("  xapic-ipi                     5377    5375    5380     2  xAPIC fixed IPI"));
            Assert.That(lines[^1], Is.EqualTo("  hlt-wakeup (apic-shared)      2100    2000    2300    50  HLT on a shared core"));
            Assert.That(figures[^1].Line, Is.EqualTo("apic-shared hlt-wakeup: mean 2100 ticks, min 2000, max 2300 over 50"));
            Assert.That(BenchmarkFigures.FromLines(new[] { figures[^1].Line }).Single().Key, Is.EqualTo("apic-shared-hlt-wakeup"));
            Assert.That(lines.Length, Is.EqualTo(6));
        }
    }
}
