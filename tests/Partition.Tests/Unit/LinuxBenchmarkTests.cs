using NUnit.Framework;
using Partition.Host.Guests;

namespace Partition.Tests.Unit
{
    /// <summary>How `partition bench` reads Linux's boot time and idle exit rate off a serial log.</summary>
    public class LinuxBenchmarkTests
    {
        private const string Log =
            "TSC: 10000 ticks per ms (measured against the PIT)\n" +
            "Partitions start 20000 ms after power-on (TSC)\n" +
            "[linux 36.500] linux up: 1 CPUs, 56460 KiB, kernel 6.1.192-partition\n" +
            "partition> stats\n" +
            "Partition linux running; exits: HLT 10, total 1000\n" +
            "partition> stats\n" +
            "Partition linux running; exits: HLT 20, total 3500\n";

        [Test]
        public void Boot_ticks_run_from_the_partitions_start_to_linux_up()
        {
            var figures = BenchmarkRun.ParseLinuxFigures(Log);
            Assert.That(figures, Is.Not.Null);
            Assert.That(figures!.BootTicks, Is.EqualTo(16_500UL * 10_000));
            Assert.That(figures.Kernel, Is.EqualTo("6.1.192-partition"));
        }

        [Test]
        public void Idle_exits_per_second_come_from_the_two_stats_totals()
        {
            var figures = BenchmarkRun.ParseLinuxFigures(Log)!;
            double seconds = (BenchmarkRun.LinuxIdleTo - BenchmarkRun.LinuxIdleFrom) / 1000.0;
            Assert.That(figures.IdleExitsPerSecond, Is.EqualTo(2500 / seconds).Within(1e-9));
        }

        [Test]
        public void A_log_without_linux_up_gives_no_figures()
        {
            Assert.That(BenchmarkRun.ParseLinuxFigures("TSC: 10000 ticks per ms\nPartitions start 1 ms after power-on\n"), Is.Null);
        }
    }
}
