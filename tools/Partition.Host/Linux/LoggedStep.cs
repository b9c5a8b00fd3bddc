using System.Diagnostics;

namespace Partition.Host.Linux
{
    /// <summary>
    /// One program run of a long build (tar, make), its output appended to a log file rather than
    /// streamed: a kernel build prints thousands of lines. While it runs, a line every 30 s says
    /// how long it has taken and what it was doing; when it fails, the exception carries the end of
    /// the log.
    /// </summary>
    public sealed class LoggedStep
    {
        private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(30);

        private readonly string _logPath;
        private readonly Action<string> _log;

        public LoggedStep(string logPath, Action<string> log)
        {
            _logPath = logPath;
            _log = log;
        }

        /// <summary>Extra environment variables for every program run by this instance.</summary>
        public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

        /// <summary>
        /// Runs <paramref name="program"/> to completion (stdin closed) and returns how long it took;
        /// throws naming <paramref name="title"/>, the exit status and the last lines of the log if
        /// it fails or outlives <paramref name="timeout"/>.
        /// </summary>
        public TimeSpan Run(string title, string program, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
        {
            var info = new ProcessStartInfo(program)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = workingDirectory,
            };
            foreach (string argument in arguments)
                info.ArgumentList.Add(argument);
            foreach (var (name, value) in Environment)
                info.Environment[name] = value;

            using var writer = new StreamWriter(_logPath, append: true);
            writer.WriteLine($"$ cd {workingDirectory} && {program} {string.Join(' ', info.ArgumentList)}");
            writer.Flush();
            string lastLine = "";
            var gate = new object();
            void Record(string? line)
            {
                if (line == null)
                    return;
                lock (gate)
                {
                    writer.WriteLine(line);
                    if (line.Trim().Length > 0)
                        lastLine = line.Trim();
                }
            }

            var clock = Stopwatch.StartNew();
            using var process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) => Record(e.Data);
            process.ErrorDataReceived += (_, e) => Record(e.Data);
            process.Start();
            process.StandardInput.Close();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            while (!process.WaitForExit(ProgressInterval))
            {
                if (clock.Elapsed > timeout)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                    lock (gate)
                        writer.Flush();
                    throw Failure(title, $"killed after {Duration(clock.Elapsed)}");
                }
                lock (gate)
                    _log($"  {title}: {Duration(clock.Elapsed)} so far, at: {lastLine}");
            }
            process.WaitForExit(); // drains the asynchronous readers
            lock (gate)
            {
                writer.WriteLine($"# exit status {process.ExitCode} after {Duration(clock.Elapsed)}");
                writer.Flush();
            }
            if (process.ExitCode != 0)
                throw Failure(title, $"failed with exit status {process.ExitCode}");
            return clock.Elapsed;
        }

        /// <summary>"4 min 31 s", "12.3 s": how long a step took, for people.</summary>
        public static string Duration(TimeSpan time) =>
            time.TotalSeconds < 60 ? $"{time.TotalSeconds:0.0} s" : $"{(int)time.TotalMinutes} min {time.Seconds} s";

        private InvalidOperationException Failure(string title, string what)
        {
            string[] lines = File.Exists(_logPath) ? File.ReadAllLines(_logPath) : Array.Empty<string>();
            var tail = lines.AsSpan(Math.Max(0, lines.Length - 40));
            return new InvalidOperationException(
                $"{title} {what}. The last lines of {_logPath}:\n{string.Join('\n', tail.ToArray())}");
        }
    }
}
