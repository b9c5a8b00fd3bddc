using System.Text;

namespace Partition.Host
{
    /// <summary>Why a wait on an emulator run returned.</summary>
    public enum RunOutcome
    {
        /// <summary>The serial output contained every fragment waited for (the emulator may still run).</summary>
        SerialMatched,
        /// <summary>The emulator process ended by itself.</summary>
        Exited,
        /// <summary>The wall-clock timeout passed; the emulator was killed.</summary>
        TimedOut,
        /// <summary>The caller cancelled (Ctrl-C); the emulator was killed.</summary>
        Cancelled,
    }

    /// <summary>What an emulator run produced up to the end of a wait.</summary>
    public sealed record RunResult(
        string Emulator,
        RunOutcome Outcome,
        string Serial,
        int? ExitCode,
        TimeSpan Elapsed,
        string RunDirectory,
        string DiagnosticTail)
    {
        /// <summary>The serial output split into lines (line ends were CR LF; the CRs are removed).</summary>
        public IReadOnlyList<string> SerialLines => Serial.Split('\n');

        public string DescribeOutcome() => Outcome switch
        {
            RunOutcome.SerialMatched => $"expected serial output seen after {Elapsed.TotalSeconds:0.0} s",
            RunOutcome.Exited => $"{Emulator} exited with status {ExitCode} after {Elapsed.TotalSeconds:0.0} s",
            RunOutcome.TimedOut => $"{Emulator} killed by the timeout after {Elapsed.TotalSeconds:0.0} s",
            _ => $"{Emulator} stopped by the user after {Elapsed.TotalSeconds:0.0} s",
        };

        /// <summary>A report for a failure message: the outcome, the whole serial log and the emulator log's tail.</summary>
        public string Report()
        {
            var text = new StringBuilder();
            text.Append(DescribeOutcome()).Append("; run directory ").Append(RunDirectory).Append('\n');
            text.Append("----- serial output -----\n");
            text.Append(CrashAnnotator.Annotate(Serial));
            if (Serial.Length > 0 && !Serial.EndsWith('\n'))
                text.Append('\n');
            text.Append("----- end of serial output -----\n");
            if (DiagnosticTail.Length > 0)
                text.Append(DiagnosticTail);
            return text.ToString();
        }
    }
}
