using System.Linq;
using NUnit.Framework;
using Partition.Host.Guests;

namespace Partition.Tests.Unit
{
    /// <summary>How 'partition bench' reads the hypervisor's exit profile (exitprofile=on) off the serial log.</summary>
    public class ExitProfileBenchmarkTests
    {
        // As a profiled run of the exit benchmark printed it.
        private const string Serial =
            "CPU 0 exit profile, mean ticks per exit (probe cost subtracted: 27, 23, 22, 22, 27):\n" +
            "  CPUID: 9995 exits: entry/exit 97, after exit 26, dispatch 24, handler 50, before entry 117, total 314\n" +
            "  VMCALL: 9994 exits: entry/exit 97, after exit 26, dispatch 24, handler 68, before entry 155, total 370\r\n" +
            "  I/O port 0x3F8: 232 exits: entry/exit 229, after exit 26, dispatch 30, handler 447, before entry 175, total 907\n" +
            "  I/O port 0x3FF: 9992 exits: entry/exit 97, after exit 26, dispatch 30, handler 206, before entry 117, total 476\n";

        [Test]
        public void The_timed_exits_are_read_in_the_benchmarks_order_and_the_uart_by_its_timed_port()
        {
            var profile = BenchmarkRun.ParseProfile(Serial);
            Assert.That(profile.Select(p => p.Name), Is.EqualTo(new[] { "vmcall", "cpuid", "io" }));
            Assert.That(profile[0], Is.EqualTo(new BenchmarkRun.ExitBreakdown("vmcall", 9994, 97, 26, 24, 68, 155)));
            Assert.That(profile[2].Total, Is.EqualTo(476UL), "the scratch register's port (0x3FF), not the data port's output");
            Assert.That(profile[1].Line, Is.EqualTo("profile cpuid: entry/exit 97, after exit 26, dispatch 24, handler 50, before entry 117, total 314 ticks (mean over 9995 exits)"));
        }

        [Test]
        public void The_table_puts_each_breakdown_beside_the_guests_round_trip()
        {
            var bench = new[] { "bench loop: 30005 ticks for 10000, 3 per round trip", "bench vmcall: 3862233 ticks for 10000, 386 per round trip" };
            string table = BenchmarkRun.FormatProfileTable(BenchmarkRun.ParseProfile(Serial), bench);
            var lines = table.TrimEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
            Assert.That(lines[1], Does.StartWith("  exit     round trip entry/exit"));
            Assert.That(lines[2], Is.EqualTo("  vmcall          386         97         26        24       68          155    370"));
            Assert.That(lines[^1], Does.Contain("3 ticks are the guest's loop"));
        }

        [Test]
        public void A_run_without_the_profile_gives_no_breakdown()
        {
            Assert.That(BenchmarkRun.ParseProfile("Run over: all partitions have halted or stopped\n"), Is.Empty);
        }
    }
}
