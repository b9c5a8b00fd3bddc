using System.Diagnostics;
using System.Text;

namespace Partition.Host
{
    /// <summary>
    /// One boot of an ISO in an emulator, in its own directory, with COM1 written to serial.txt
    /// there. The emulator runs with stdin closed; its console output goes to console.txt. Every
    /// wait is bounded by a wall-clock timeout after which the whole process tree is killed, and
    /// disposing the run kills whatever is still running.
    /// </summary>
    public abstract class EmulatorRun : IDisposable
    {
        private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

        private readonly StringBuilder _serial = new();
        private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
        private readonly Stopwatch _clock = new();
        private readonly object _consoleLock = new();
        private Process? _process;
        private StreamWriter? _console;
        private FileStream? _serialFile;

        protected EmulatorRun(string isoPath, string runDirectory)
        {
            IsoPath = Path.GetFullPath(isoPath);
            RunDirectory = Path.GetFullPath(runDirectory);
        }

        public string IsoPath { get; }

        public string RunDirectory { get; }

        public string SerialPath => Path.Combine(RunDirectory, "serial.txt");

        public string ConsolePath => Path.Combine(RunDirectory, "console.txt");

        /// <summary>"Bochs" or "QEMU", for messages.</summary>
        public abstract string Emulator { get; }

        /// <summary>The serial output read so far, without CRs.</summary>
        public string Serial => _serial.ToString();

        public bool HasStarted => _process != null;

        /// <summary>Writes the emulator's configuration into the run directory and starts it.</summary>
        public void Start()
        {
            if (_process != null)
                throw new InvalidOperationException("This run has already been started.");
            if (!File.Exists(IsoPath))
                throw new FileNotFoundException($"ISO {IsoPath} does not exist.", IsoPath);
            Directory.CreateDirectory(RunDirectory);
            File.Delete(SerialPath);

            ProcessStartInfo info = Prepare();
            info.UseShellExecute = false;
            info.WorkingDirectory = RunDirectory;
            info.RedirectStandardInput = true;
            info.RedirectStandardOutput = true;
            info.RedirectStandardError = true;

            _console = new StreamWriter(ConsolePath) { AutoFlush = true };
            var process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) => WriteConsole(e.Data);
            process.ErrorDataReceived += (_, e) => WriteConsole(e.Data);
            _clock.Start();
            process.Start();
            _process = process;
            // stdin at EOF: the emulator never waits for a terminal (Bochs' debugger reads its
            // commands from the -rc file, then sees EOF).
            process.StandardInput.Close();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        /// <summary>
        /// Waits until the serial output contains every one of <paramref name="fragments"/>, the
        /// emulator exits, <paramref name="timeout"/> passes (the emulator is then killed) or
        /// <paramref name="cancellation"/> fires (likewise). <paramref name="onSerial"/> receives
        /// each new piece of serial output as it arrives.
        /// </summary>
        public RunResult WaitForSerial(IReadOnlyCollection<string> fragments, TimeSpan timeout,
            Action<string>? onSerial = null, CancellationToken cancellation = default)
            => Wait(fragments, timeout, onSerial, cancellation);

        /// <summary>
        /// Waits until the emulator exits (or the timeout passes, or cancellation), streaming serial
        /// output. <see cref="Timeout.InfiniteTimeSpan"/> waits without a time limit.
        /// </summary>
        public RunResult WaitForExit(TimeSpan timeout, Action<string>? onSerial = null, CancellationToken cancellation = default)
            => Wait(null, timeout, onSerial, cancellation);

        /// <summary>Kills the emulator and all its children, if it still runs.</summary>
        public void Stop()
        {
            var process = _process;
            if (process == null)
                return;
            try
            {
                if (!process.HasExited)
                    process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Exited between the check and the kill.
            }
            process.WaitForExit(5000);
        }

        public void Dispose()
        {
            Stop();
            _process?.Dispose();
            _serialFile?.Dispose();
            lock (_consoleLock)
            {
                _console?.Dispose();
                _console = null;
            }
            GC.SuppressFinalize(this);
        }

        /// <summary>Writes the emulator's files into <see cref="RunDirectory"/> and describes how to start it.</summary>
        protected abstract ProcessStartInfo Prepare();

        /// <summary>Extra lines for a failure report (e.g. the end of the emulator's own log).</summary>
        protected virtual string DiagnosticTail() => "";

        /// <summary>The last <paramref name="count"/> lines of a text file, framed for a report; empty if it is missing.</summary>
        protected static string Tail(string path, int count)
        {
            if (!File.Exists(path))
                return "";
            string[] lines;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var reader = new StreamReader(stream))
                lines = reader.ReadToEnd().Replace("\r", "").TrimEnd('\n').Split('\n');
            var text = new StringBuilder();
            text.Append($"----- last {Math.Min(count, lines.Length)} lines of {path} -----\n");
            foreach (string line in lines.Skip(Math.Max(0, lines.Length - count)))
                text.Append(line).Append('\n');
            return text.ToString();
        }

        private RunResult Wait(IReadOnlyCollection<string>? fragments, TimeSpan timeout, Action<string>? onSerial, CancellationToken cancellation)
        {
            var process = _process ?? throw new InvalidOperationException("Start the run before waiting on it.");
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                bool exited = process.HasExited;
                // After an exit the file is complete: this last read gets everything.
                ReadSerial(onSerial);
                if (fragments != null && ContainsAll(fragments))
                    return Result(RunOutcome.SerialMatched);
                if (exited)
                {
                    process.WaitForExit(); // drains console output
                    return Result(RunOutcome.Exited);
                }
                if (cancellation.IsCancellationRequested)
                {
                    Stop();
                    ReadSerial(onSerial);
                    return Result(RunOutcome.Cancelled);
                }
                if (timeout != Timeout.InfiniteTimeSpan && deadline.Elapsed >= timeout)
                {
                    Stop();
                    ReadSerial(onSerial);
                    return Result(RunOutcome.TimedOut);
                }
                cancellation.WaitHandle.WaitOne(PollInterval);
            }
        }

        private bool ContainsAll(IReadOnlyCollection<string> fragments)
        {
            string serial = _serial.ToString();
            foreach (string fragment in fragments)
            {
                if (!serial.Contains(fragment, StringComparison.Ordinal))
                    return false;
            }
            return true;
        }

        private void ReadSerial(Action<string>? onSerial)
        {
            if (_serialFile == null)
            {
                if (!File.Exists(SerialPath))
                    return;
                try
                {
                    _serialFile = new FileStream(SerialPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                }
                catch (IOException)
                {
                    return; // being created: next poll
                }
            }
            var bytes = new byte[8192];
            var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length)];
            int read;
            while ((read = _serialFile.Read(bytes, 0, bytes.Length)) > 0)
            {
                int count = _decoder.GetChars(bytes, 0, read, chars, 0);
                string piece = new string(chars, 0, count).Replace("\r", "");
                if (piece.Length == 0)
                    continue;
                _serial.Append(piece);
                onSerial?.Invoke(piece);
            }
        }

        private RunResult Result(RunOutcome outcome)
        {
            var process = _process!;
            int? exitCode = process.HasExited ? process.ExitCode : null;
            return new RunResult(Emulator, outcome, _serial.ToString(), exitCode, _clock.Elapsed, RunDirectory, DiagnosticTail());
        }

        private void WriteConsole(string? line)
        {
            if (line == null)
                return;
            lock (_consoleLock)
                _console?.WriteLine(line);
        }
    }
}
