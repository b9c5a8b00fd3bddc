using System.Text;

namespace Partition.Host
{
    /// <summary>How <see cref="ConsoleInput"/> reads what the user types.</summary>
    public enum ConsoleInputMode
    {
        /// <summary>
        /// Each byte as it comes, from a terminal in raw mode: Enter arrives as CR, Backspace as
        /// DEL, and the hypervisor's console echoes and edits the line itself.
        /// </summary>
        Keystrokes,

        /// <summary>
        /// Whole lines, from a pipe or a file: each line (without its LF or CR LF) is sent with a
        /// CR, as Enter would end it; a last line without an end is sent too.
        /// </summary>
        Lines,
    }

    /// <summary>
    /// Forwards what the user types on stdin to a live run's COM1 (the hypervisor's console),
    /// from a background thread that nothing ever waits for: input at its end (a file, a
    /// closed pipe, /dev/null) ends the thread and not the run.
    /// </summary>
    /// <remarks>
    /// Input is held until the hypervisor serves its console, which it does from the moment it
    /// prints <see cref="ReadyText"/>: before that, bytes would reach GRUB's serial terminal
    /// (where a key can stop the boot) or wait unread in the UART. The run's serial output is
    /// handed to <see cref="Observe"/> to see that line go by.
    /// </remarks>
    public sealed class ConsoleInput
    {
        /// <summary>What the hypervisor prints as its partitions start and its console opens (kernel/Hypervisor.cs).</summary>
        public const string ReadyText = "Partitions start ";

        private readonly Stream _input;
        private readonly Action<byte[]> _send;
        private readonly object _lock = new();
        private readonly Queue<byte[]> _held = new();
        private readonly StringBuilder _tail = new();
        private readonly Thread _reader;
        private bool _ready;
        private long _sent;
        private volatile bool _ended;

        /// <param name="input">stdin, unbuffered (a terminal must be in raw mode already for <see cref="ConsoleInputMode.Keystrokes"/>).</param>
        /// <param name="mode">Bytes as they come, or whole lines.</param>
        /// <param name="send">Where input goes once the console is live (a run's <see cref="EmulatorRun.Type(ReadOnlySpan{byte})"/>).</param>
        public ConsoleInput(Stream input, ConsoleInputMode mode, Action<byte[]> send)
        {
            _input = input;
            Mode = mode;
            _send = send;
            _reader = new Thread(Read) { IsBackground = true, Name = "console input" };
        }

        public ConsoleInputMode Mode { get; }

        /// <summary>True once <see cref="ReadyText"/> has gone by: input is sent as it comes.</summary>
        public bool IsReady
        {
            get
            {
                lock (_lock)
                    return _ready;
            }
        }

        /// <summary>Bytes sent to the console so far.</summary>
        public long BytesSent => Interlocked.Read(ref _sent);

        /// <summary>True once the input has ended (EOF or an error) and all of it has been read.</summary>
        public bool HasEnded => _ended;

        /// <summary>Starts reading stdin in the background.</summary>
        public void Start() => _reader.Start();

        /// <summary>Waits for the reader to reach the end of the input (for tests).</summary>
        public bool WaitForEnd(TimeSpan timeout) => _reader.Join(timeout);

        /// <summary>
        /// Takes each new piece of the run's serial output (as <see cref="EmulatorRun"/> passes
        /// them to its onSerial callback); once <see cref="ReadyText"/> has gone by, held input is
        /// sent.
        /// </summary>
        public void Observe(string piece)
        {
            lock (_lock)
            {
                if (_ready)
                    return;
                // The text may be cut anywhere between pieces: keep just enough of the last one.
                _tail.Append(piece);
                if (_tail.ToString().Contains(ReadyText, StringComparison.Ordinal))
                {
                    _ready = true;
                    _tail.Clear();
                    while (_held.Count > 0)
                        SendNow(_held.Dequeue());
                    return;
                }
                if (_tail.Length > ReadyText.Length)
                    _tail.Remove(0, _tail.Length - (ReadyText.Length - 1));
            }
        }

        private void Offer(byte[] bytes)
        {
            lock (_lock)
            {
                if (_ready)
                    SendNow(bytes);
                else
                    _held.Enqueue(bytes);
            }
        }

        private void SendNow(byte[] bytes)
        {
            _send(bytes);
            Interlocked.Add(ref _sent, bytes.Length);
        }

        private void Read()
        {
            var buffer = new byte[4096];
            var line = new List<byte>();
            try
            {
                while (true)
                {
                    int count = _input.Read(buffer, 0, buffer.Length);
                    if (count == 0)
                        break;
                    if (Mode == ConsoleInputMode.Keystrokes)
                    {
                        Offer(buffer.AsSpan(0, count).ToArray());
                        continue;
                    }
                    for (int i = 0; i < count; i++)
                    {
                        if (buffer[i] != '\n')
                        {
                            line.Add(buffer[i]);
                            continue;
                        }
                        OfferLine(line);
                    }
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or UnauthorizedAccessException)
            {
                // A terminal that hung up, or stdin closed under us: the input has ended.
            }
            if (line.Count > 0)
                OfferLine(line);
            _ended = true;
        }

        private void OfferLine(List<byte> line)
        {
            if (line.Count > 0 && line[^1] == '\r')
                line.RemoveAt(line.Count - 1);
            line.Add((byte)'\r');
            Offer(line.ToArray());
            line.Clear();
        }
    }
}
