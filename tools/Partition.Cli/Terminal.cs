#nullable enable
using System.Runtime.InteropServices;

namespace Partition.Cli
{
    /// <summary>
    /// stdin as a terminal: whether it is one (and ours to read), and its raw mode for the
    /// hypervisor's console, through libc's termios (Linux x86-64 layout). Only the input side
    /// changes: no line buffering (ICANON), no local echo (ECHO: the hypervisor's console
    /// echoes), Enter as CR (no ICRNL), no Ctrl-S/Ctrl-Q flow control (IXON) and no Ctrl-V
    /// quoting (IEXTEN). ISIG stays, so Ctrl-C still stops the run (SIGINT) and Ctrl-Z suspends
    /// it; output processing (OPOST, ONLCR) stays, so lines still end where they should.
    /// </summary>
    internal sealed unsafe partial class Terminal : IDisposable
    {
        private const int StdIn = 0;

        // struct termios in glibc for x86-64: four tcflag_t, c_line, c_cc[32], two speed_t: 60 bytes.
        private const int TermiosSize = 60;
        private const int InputFlags = 0;
        private const int LocalFlags = 12;
        private const int ControlChars = 17;
        private const int VTime = 5;
        private const int VMin = 6;
        private const uint Icrnl = 0x100;
        private const uint Ixon = 0x400;
        private const uint Icanon = 0x2;
        private const uint Echo = 0x8;
        private const uint Iexten = 0x8000;
        private const int TcsaNow = 0;

        private readonly byte[] _saved;
        private readonly byte[] _raw;
        private readonly object _lock = new();
        private readonly List<PosixSignalRegistration> _signals = new();
        private bool _restored;

        private Terminal(byte[] saved, byte[] raw)
        {
            _saved = saved;
            _raw = raw;
        }

        /// <summary>True if stdin is a terminal.</summary>
        public static bool StdInIsTerminal => !OperatingSystem.IsWindows() && isatty(StdIn) == 1;

        /// <summary>
        /// True if this process is in the terminal's foreground process group: a background job
        /// that reads the terminal, or changes its mode, is stopped (SIGTTIN, SIGTTOU).
        /// </summary>
        public static bool StdInIsOurs => tcgetpgrp(StdIn) == getpgrp();

        /// <summary>
        /// Puts stdin's terminal into raw mode until disposed, or returns null if it cannot (no
        /// terminal). The mode is also put back when the process exits, and set again when it
        /// continues after a stop (Ctrl-Z, then fg).
        /// </summary>
        public static Terminal? EnterRawMode()
        {
            if (OperatingSystem.IsWindows())
                return null;
            var saved = new byte[TermiosSize];
            fixed (byte* p = saved)
            {
                if (tcgetattr(StdIn, p) != 0)
                    return null;
            }
            var raw = (byte[])saved.Clone();
            SetFlags(raw, InputFlags, Icrnl | Ixon, 0);
            SetFlags(raw, LocalFlags, Icanon | Echo | Iexten, 0);
            raw[ControlChars + VMin] = 1; // a read returns as soon as one byte is there
            raw[ControlChars + VTime] = 0;
            var terminal = new Terminal(saved, raw);
            if (!Apply(raw))
                return null;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => terminal.Dispose();
            AppDomain.CurrentDomain.UnhandledException += (_, _) => terminal.Dispose();
            // Ctrl-Z stops the process as usual and the shell sets the terminal's mode for itself;
            // on fg, raw again. Cancelled: .NET's own handling would then put back the mode it
            // saw at start-up (measured: the terminal was cooked after fg without it).
            terminal._signals.Add(PosixSignalRegistration.Create(PosixSignal.SIGCONT, context =>
            {
                terminal.Resume();
                context.Cancel = true;
            }));
            return terminal;
        }

        /// <summary>Puts the terminal's mode back as it was.</summary>
        public void Dispose()
        {
            lock (_lock)
            {
                if (_restored)
                    return;
                _restored = true;
                Apply(_saved);
            }
            foreach (var registration in _signals)
                registration.Dispose();
        }

        private void Resume()
        {
            lock (_lock)
            {
                if (!_restored)
                    Apply(_raw);
            }
        }

        private static bool Apply(byte[] termios)
        {
            fixed (byte* p = termios)
                return tcsetattr(StdIn, TcsaNow, p) == 0;
        }

        private static void SetFlags(byte[] termios, int offset, uint clear, uint set)
        {
            uint flags = BitConverter.ToUInt32(termios, offset);
            flags = (flags & ~clear) | set;
            BitConverter.TryWriteBytes(termios.AsSpan(offset, 4), flags);
        }

        [LibraryImport("libc")]
        private static partial int isatty(int fd);

        [LibraryImport("libc")]
        private static partial int tcgetpgrp(int fd);

        [LibraryImport("libc")]
        private static partial int getpgrp();

        [LibraryImport("libc")]
        private static partial int tcgetattr(int fd, byte* termios);

        [LibraryImport("libc")]
        private static partial int tcsetattr(int fd, int optionalActions, byte* termios);
    }
}
