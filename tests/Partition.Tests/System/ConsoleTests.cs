using System;
using System.Linq;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// The hypervisor console driven live, as an operator at a serial terminal drives it: the
    /// test types into COM1 of a running two-CPU machine (Bochs' COM1 is a socket, see
    /// <see cref="SerialSocket"/>) and reads the echo and the answer of each command.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class ConsoleTests
    {
        private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(120);
        private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(60);

        // Partition lines are written whole, under the console's line lock, so one can land
        // between a command's echo and its answer but never inside the answer.
        private static readonly Regex PartitionLine = new(@"\[(alpha|beta|gamma)\] progress \d+\n");

        [Test]
        public void Commands_typed_on_the_live_console_are_echoed_and_answered()
        {
            using var run = BootScenario.StartBochsExample("console-live", "", "configs/two-cores.json",
                ExampleBoot.Flat(("alpha", "spin.bin"), ("beta", "spin.bin"), ("gamma", "spin.bin")), new BochsOptions { CpuCount = 2 });
            var booted = run.WaitForSerial(new[] { "[alpha] progress 2\n" }, BootTimeout);
            Assert.That(booted.Outcome, Is.EqualTo(RunOutcome.SerialMatched), booted.Report());

            Command(run, "list", "  alpha (host): running, vCPU 0 on core 1, 4 MiB\n" +
                                 "  beta (guest): running, vCPU 0 on core 0, 4 MiB\n" +
                                 "  gamma (guest): running, vCPU 0 on core 0, 4 MiB\n");

            // The last line of the answer is CPU 1's: alpha alone there, configured for all of it.
            var stats = Command(run, "stats", "Partition alpha running; exits: ", until: "\n  alpha: ");
            Assert.That(stats, Does.Contain("(configured 100.0%)\n"), stats);
            Assert.That(stats, Does.Match(@"\nCPU 0: round-robin, slice \d+ ticks, \d+ switches, 0 migrations out, \d+ guest ticks\n"), stats);
            Assert.That(stats, Does.Contain("\n  beta: "), stats);
            // Typed input reached CPU 0 by the UART's interrupt (ISA IRQ 4 through the I/O APIC):
            // the two lines typed so far raised it.
            Assert.That(run.Serial, Does.Contain("Console input: by interrupt (ISA IRQ 4, I/O APIC input 4, CPU 0)\n"));
            var taken = Regex.Match(stats, @"Console: typed input by interrupt, (\d+) taken\n");
            Assert.That(taken.Success && int.Parse(taken.Groups[1].Value) >= 2, Is.True, stats);

            int beforeMigration = LastProgress(run.Serial, "alpha");
            Command(run, "migrate alpha 0", "migrate alpha: moving from core 1 to core 0\n");
            var migrated = run.WaitForSerial(new[] { "\nMigrated alpha from core 1 to core 0: ", $"[alpha] progress {beforeMigration + 2}\n" }, AnswerTimeout);
            Assert.That(migrated.Outcome, Is.EqualTo(RunOutcome.SerialMatched), migrated.Report());
            Command(run, "list", "  alpha (host): running, vCPU 0 on core 0, 4 MiB\n");

            // Backspace (DEL, what a terminal's key sends) is echoed as "\b \b" and takes the
            // character out of the line: the command run is "help", not "helpx".
            Command(run, "helpx\x7F", "commands: list | cpus | migrate PARTITION[.VCPU] CORE | pause PARTITION | resume PARTITION | stop PARTITION | restart PARTITION | stats | help\n",
                echo: "helpx\b \b");
            Command(run, "bogus", "unknown command 'bogus'; type help\n");

            // The guests ran on throughout: alpha's counter went on, with no restart.
            var progress = Regex.Matches(run.Serial, @"(?m)^\[alpha\] progress (\d+)$").Select(m => int.Parse(m.Groups[1].Value)).ToArray();
            Assert.That(progress, Is.EqualTo(Enumerable.Range(1, progress.Length).ToArray()), "alpha's progress lines");
        }

        /// <summary>
        /// Types <paramref name="line"/> and Enter, waits for <paramref name="answer"/> after
        /// what had been read (and for <paramref name="until"/>, followed by a line end, when the
        /// answer goes on), and checks that the answer came right after the echo of the line
        /// (partition lines aside). Returns the output from the echo on.
        /// </summary>
        private static string Command(EmulatorRun run, string line, string answer, string echo = null, string until = null)
        {
            int mark = run.SerialLength;
            run.Type(line + "\r");
            var result = run.WaitForSerial(new[] { answer }, AnswerTimeout, mark);
            if (result.Outcome == RunOutcome.SerialMatched && until != null)
            {
                int from = result.Serial.IndexOf(answer, mark, StringComparison.Ordinal);
                result = run.WaitForSerial(new[] { until }, AnswerTimeout, from);
                int last = result.Serial.IndexOf(until, from, StringComparison.Ordinal);
                if (result.Outcome == RunOutcome.SerialMatched)
                    result = run.WaitForSerial(new[] { "\n" }, AnswerTimeout, last + until.Length);
            }
            Assert.That(result.Outcome, Is.EqualTo(RunOutcome.SerialMatched), $"no answer to '{line}'\n{result.Report()}");
            string output = PartitionLine.Replace(result.Serial.Substring(mark), "");
            string echoed = (echo ?? line) + "\n" + answer;
            int at = output.IndexOf(echoed, StringComparison.Ordinal);
            Assert.That(at, Is.GreaterThanOrEqualTo(0), $"'{line}' was not echoed right before its answer\n{result.Report()}");
            return output.Substring(at);
        }

        private static int LastProgress(string serial, string partition) =>
            Regex.Matches(serial, $@"(?m)^\[{partition}\] progress (\d+)$").Select(m => int.Parse(m.Groups[1].Value)).Last();
    }
}
