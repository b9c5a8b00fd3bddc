using System.Diagnostics;
using System.Text;

namespace Partition.Host
{
    /// <summary>
    /// One boot of an ISO in an emulator, in its own directory, with everything COM1 sends in
    /// serial.txt there: written by the emulator itself, or, when COM1 is a socket
    /// (<see cref="UsesSerialSocket"/>), by <see cref="SerialSocket"/> as bytes arrive, and then
    /// <see cref="Type(string)"/> sends keystrokes to the live machine. The emulator runs with
    /// stdin closed; its console output goes to console.txt. Every wait is bounded by a
    /// wall-clock timeout after which the whole process tree is killed, and disposing the run
    /// kills whatever is still running.
    /// </summary>
    public abstract class EmulatorRun : IDisposable
    {
        private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

        /// <summary>How long a matched fragment's line may take to end before the match counts anyway.</summary>
        private static readonly TimeSpan LineGrace = TimeSpan.FromSeconds(2);

        /// <summary>How long a wait lets serial bytes gather once some have arrived.</summary>
        private static readonly TimeSpan GatherInterval = TimeSpan.FromMilliseconds(10);

        private readonly StringBuilder _serial = new();
        private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
        private readonly Stopwatch _clock = new();
        private readonly object _consoleLock = new();
        private Process? _process;
        private StreamWriter? _console;
        private FileStream? _serialFile;
        private SerialSocket? _com1;

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

        /// <summary>
        /// How much of <see cref="Serial"/> has been read so far: a mark to pass to
        /// <see cref="WaitForSerial(IReadOnlyCollection{string}, TimeSpan, int, CancellationToken)"/>
        /// so that only what came after it counts (say, the answer to a command typed next).
        /// </summary>
        public int SerialLength => _serial.Length;

        /// <summary>True if this run's COM1 takes input, so that <see cref="Type(string)"/> reaches the machine (Bochs; not QEMU).</summary>
        public bool AcceptsInput => _com1 != null;

        /// <summary>
        /// True if the emulator attaches COM1 to a <see cref="SerialSocket"/>; its address is then
        /// <see cref="SerialSocketAddress"/> when <see cref="Prepare"/> runs.
        /// </summary>
        protected virtual bool UsesSerialSocket => false;

        /// <summary>"127.0.0.1:PORT" of this run's <see cref="SerialSocket"/>, once <see cref="Start"/> has created it.</summary>
        protected string SerialSocketAddress =>
            _com1?.Address ?? throw new InvalidOperationException("The serial socket exists only once the run starts.");

        /// <summary>Whether the emulator ever connected to the serial socket (null without one).</summary>
        protected bool? SerialSocketConnected => _com1?.IsConnected;

        /// <summary>Writes the emulator's configuration into the run directory and starts it.</summary>
        public void Start()
        {
            if (_process != null)
                throw new InvalidOperationException("This run has already been started.");
            if (!File.Exists(IsoPath))
                throw new FileNotFoundException($"ISO {IsoPath} does not exist.", IsoPath);
            Directory.CreateDirectory(RunDirectory);
            File.Delete(SerialPath);
            if (UsesSerialSocket)
                _com1 = new SerialSocket(SerialPath);

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
            _com1?.Start();
            process.Start();
            _process = process;
            // stdin at EOF: the emulator never waits for a terminal (Bochs' debugger reads its
            // commands from the -rc file, then sees EOF).
            process.StandardInput.Close();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
        }

        /// <summary>
        /// Waits until the serial output contains every one of <paramref name="fragments"/>, each
        /// in a line that has ended (or that has not ended 2 s after the fragment came), the
        /// emulator exits, <paramref name="timeout"/> passes (the emulator is then killed) or
        /// <paramref name="cancellation"/> fires (likewise). <paramref name="onSerial"/> receives
        /// each new piece of serial output as it arrives.
        /// </summary>
        public RunResult WaitForSerial(IReadOnlyCollection<string> fragments, TimeSpan timeout,
            Action<string>? onSerial = null, CancellationToken cancellation = default)
            => Wait(fragments, 0, timeout, onSerial, cancellation);

        /// <summary>
        /// As <see cref="WaitForSerial(IReadOnlyCollection{string}, TimeSpan, Action{string}?, CancellationToken)"/>,
        /// counting only serial output from character <paramref name="from"/> of <see cref="Serial"/>
        /// on (a <see cref="SerialLength"/> taken before typing a command, say).
        /// </summary>
        public RunResult WaitForSerial(IReadOnlyCollection<string> fragments, TimeSpan timeout, int from, CancellationToken cancellation = default)
        {
            if (from < 0 || from > _serial.Length)
                throw new ArgumentOutOfRangeException(nameof(from), $"{from} is not a position in the serial output read so far ({_serial.Length} characters).");
            return Wait(fragments, from, timeout, null, cancellation);
        }

        /// <summary>
        /// Sends <paramref name="text"/> to COM1 as a terminal would send it: "\r" is Enter,
        /// "\x7F" Backspace. Text typed before the emulator has connected is sent when it does.
        /// Returns at once; the answer is read by a following wait.
        /// </summary>
        /// <exception cref="NotSupportedException">The emulator writes COM1 to a file (QEMU).</exception>
        public void Type(string text) => Type(Encoding.UTF8.GetBytes(text));

        /// <inheritdoc cref="Type(string)"/>
        public void Type(ReadOnlySpan<byte> bytes)
        {
            if (_process == null)
                throw new InvalidOperationException("Start the run before typing into it.");
            var com1 = _com1 ?? throw new NotSupportedException($"{Emulator} runs write COM1 to a file: there is no console input.");
            com1.Send(bytes);
        }

        /// <summary>
        /// Waits until the emulator exits (or the timeout passes, or cancellation), streaming serial
        /// output. <see cref="Timeout.InfiniteTimeSpan"/> waits without a time limit.
        /// </summary>
        public RunResult WaitForExit(TimeSpan timeout, Action<string>? onSerial = null, CancellationToken cancellation = default)
            => Wait(null, 0, timeout, onSerial, cancellation);

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
            // The connection closed with the process: let the copy take its last bytes.
            _com1?.WaitForEnd(TimeSpan.FromSeconds(5));
        }

        public void Dispose()
        {
            Stop();
            _process?.Dispose();
            _com1?.Dispose();
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

        private RunResult Wait(IReadOnlyCollection<string>? fragments, int from, TimeSpan timeout, Action<string>? onSerial, CancellationToken cancellation)
        {
            var process = _process ?? throw new InvalidOperationException("Start the run before waiting on it.");
            var deadline = Stopwatch.StartNew();
            // Woken as soon as the serial socket has copied new bytes; a file is polled.
            WaitHandle[] wake = _com1 == null
                ? new[] { cancellation.WaitHandle }
                : new[] { cancellation.WaitHandle, _com1.Arrived };
            Stopwatch? matched = null;
            var search = fragments == null ? null : new FragmentSearch(fragments, from);
            while (true)
            {
                bool exited = process.HasExited;
                // After an exit the file is complete (a socket's copy once its connection has
                // ended): this last read gets everything.
                if (exited)
                    _com1?.WaitForEnd(TimeSpan.FromSeconds(5));
                ReadSerial(onSerial);
                if (search != null && search.FoundIn(_serial))
                {
                    // A fragment counts once its line is complete, as callers read whole lines
                    // around it (a socket delivers a line in pieces); a line that never ends
                    // counts after a grace.
                    matched ??= Stopwatch.StartNew();
                    if (search.LinesEndedIn(_serial) || exited || matched.Elapsed >= LineGrace
                        || timeout != Timeout.InfiniteTimeSpan && deadline.Elapsed >= timeout)
                        return Result(RunOutcome.SerialMatched);
                }
                else if (exited)
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
                // New bytes come in small pieces (Bochs sends a byte at a time): after one, a
                // moment's pause gathers the rest, so that a busy console costs few passes.
                if (WaitHandle.WaitAny(wake, PollInterval) == 1)
                    cancellation.WaitHandle.WaitOne(GatherInterval);
            }
        }

        /// <summary>
        /// The first occurrence of each fragment at or after a position of the serial output,
        /// searched for only in what is new since the last pass (the output of a Linux boot is
        /// hundreds of KiB).
        /// </summary>
        private sealed class FragmentSearch
        {
            private readonly string[] _fragments;
            private readonly int[] _ends;
            private readonly bool[] _lineEnded;
            private readonly int _from;
            private int _searched;

            public FragmentSearch(IReadOnlyCollection<string> fragments, int from)
            {
                _fragments = fragments.ToArray();
                _ends = Enumerable.Repeat(-1, _fragments.Length).ToArray();
                _lineEnded = new bool[_fragments.Length];
                _from = from;
                _searched = from;
            }

            public bool FoundIn(StringBuilder serial)
            {
                bool all = true;
                for (int i = 0; i < _fragments.Length; i++)
                {
                    if (_ends[i] >= 0)
                        continue;
                    string fragment = _fragments[i];
                    // A fragment may straddle what was searched and what is new.
                    int start = Math.Max(_from, _searched - Math.Max(0, fragment.Length - 1));
                    int at = serial.ToString(start, serial.Length - start).IndexOf(fragment, StringComparison.Ordinal);
                    if (at >= 0)
                        _ends[i] = start + at + fragment.Length;
                    else
                        all = false;
                }
                _searched = serial.Length;
                return all;
            }

            /// <summary>True if a line end follows (or ends) each fragment found.</summary>
            public bool LinesEndedIn(StringBuilder serial)
            {
                for (int i = 0; i < _ends.Length; i++)
                {
                    int start = Math.Max(0, _ends[i] - 1);
                    _lineEnded[i] = _lineEnded[i] || serial.ToString(start, serial.Length - start).IndexOf('\n') >= 0;
                    if (!_lineEnded[i])
                        return false;
                }
                return true;
            }
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
