using System.Net;
using System.Net.Sockets;

namespace Partition.Host
{
    /// <summary>
    /// The emulated machine's COM1 as a TCP connection on the loopback interface, which the
    /// emulator opens to us: what the machine sends is copied, byte for byte and flushed as it
    /// arrives, into a file (serial.txt, which the run's waits read), and what is typed is sent
    /// back to the machine.
    /// </summary>
    /// <remarks>
    /// Why Bochs' <c>com1: mode=socket-client</c>, from Bochs 2.7's iodev/serial.cc
    /// (REL_2_7_FINAL) and runs of Debian's bochs 2.7+dfsg-4 with configs/two-cores.json:
    /// <list type="bullet">
    /// <item><c>mode=file</c> only writes. <c>pipe-*</c> exist only on Windows ("support for
    /// serial mode 'pipe-...' not available"); <c>raw</c> needs a real serial device.</item>
    /// <item><c>mode=term</c> on a pty loses typed bytes: with the UART's FIFO on (the hypervisor
    /// enables it), Bochs moves a byte from the tty into the receive FIFO every character time
    /// whether or not the FIFO has room, and 13 of a 116-byte line were dropped ("receive FIFO
    /// overflow" in the log) because the hypervisor reads its console between guest slices.
    /// Bochs also writes the tty non-blocking, so output is lost whenever the reader lags.</item>
    /// <item>The socket modes read the socket only while the receive buffer reports no data, so
    /// typed bytes wait in the socket and none was lost (the same 116-byte line came back whole,
    /// echoed within 0.04 s); output is a blocking <c>send</c>, so nothing is dropped either.
    /// Boots reached the same marker in the same time as with <c>mode=file</c> (10.1 to 10.3 s).</item>
    /// <item><c>socket-server</c> blocks in <c>accept()</c> during device initialisation, before
    /// the first instruction, until a client connects, and needs a port chosen before Bochs binds
    /// it. <c>socket-client</c> connects at initialisation to a listener we already hold on an
    /// ephemeral port: no race, no wait. (If the connect fails, Bochs runs on with COM1
    /// disconnected; <see cref="IsConnected"/> then stays false and the run's report says so.)</item>
    /// <item>Bochs neither ignores SIGPIPE nor sends with MSG_NOSIGNAL: when the other end closes,
    /// its next COM1 byte kills it (exit status 141, measured, started from a shell). We hold the
    /// connection for the whole run, so that happens only if the host tool itself dies, and then
    /// it is welcome: no Bochs is left running without anyone to read it. (.NET ignores SIGPIPE
    /// and its children inherit that, so <see cref="BochsRun"/> gives Bochs the default back;
    /// without it, a Bochs whose host tool was killed ran on.)</item>
    /// </list>
    /// Only the first connection is taken, and the listener is closed at once.
    /// </remarks>
    public sealed class SerialSocket : IDisposable
    {
        private readonly Socket _listener;
        private readonly FileStream _copy;
        private readonly object _sendLock = new();
        private readonly List<byte> _pending = new();
        private readonly AutoResetEvent _arrived = new(false);
        private readonly ManualResetEventSlim _ended = new(false);
        private readonly Thread _reader;
        private Socket? _connection;
        private long _received;
        private bool _disposed;

        /// <summary>Listens on 127.0.0.1 (a port the system picks) and creates <paramref name="copyPath"/>, empty.</summary>
        public SerialSocket(string copyPath)
        {
            _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(1);
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
            _copy = new FileStream(copyPath, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            _reader = new Thread(AcceptAndCopy) { IsBackground = true, Name = "COM1 " + Port };
        }

        /// <summary>How long <see cref="Send"/> waits for room before it drops the rest.</summary>
        public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(1);

        public int Port { get; }

        /// <summary>"127.0.0.1:PORT", as Bochs' <c>dev=</c> takes it (a numeric address: no name lookup).</summary>
        public string Address => $"127.0.0.1:{Port}";

        /// <summary>True once the emulator has connected.</summary>
        public bool IsConnected => Volatile.Read(ref _connection) != null;

        /// <summary>Bytes received from the emulator (and written to the copy) so far.</summary>
        public long BytesReceived => Interlocked.Read(ref _received);

        /// <summary>Signalled whenever bytes have arrived (and are in the copy), and when the connection ends.</summary>
        public WaitHandle Arrived => _arrived;

        /// <summary>True once the emulator has closed the connection (it exited or was killed) and everything is copied.</summary>
        public bool HasEnded => _ended.IsSet;

        /// <summary>Starts waiting for the emulator's connection, in the background.</summary>
        public void Start() => _reader.Start();

        /// <summary>
        /// Sends bytes to the machine. Before the emulator has connected they are kept and sent on
        /// connection; after it has gone they are dropped. Bochs takes them only as the machine
        /// reads its UART; until then the loopback socket's buffer holds far more than anyone
        /// types, and a send that finds it full gives up after <see cref="SendTimeout"/>.
        /// </summary>
        public void Send(ReadOnlySpan<byte> bytes)
        {
            lock (_sendLock)
            {
                if (_disposed || _ended.IsSet)
                    return;
                if (_connection == null)
                {
                    _pending.AddRange(bytes.ToArray());
                    return;
                }
                SendNow(_connection, bytes);
            }
        }

        /// <summary>
        /// Waits until the connection has ended and its last bytes are in the copy. An emulator
        /// that never connected has nothing more to give (a short grace covers one whose
        /// connection is still waiting to be accepted).
        /// </summary>
        public bool WaitForEnd(TimeSpan timeout)
        {
            if (_reader.ThreadState == ThreadState.Unstarted)
                return true;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (!IsConnected && !_ended.IsSet)
            {
                if (clock.Elapsed >= TimeSpan.FromMilliseconds(500))
                    return true;
                Thread.Sleep(10);
            }
            return _ended.Wait(timeout);
        }

        public void Dispose()
        {
            lock (_sendLock)
            {
                if (_disposed)
                    return;
                _disposed = true;
            }
            // Closing the listener ends a pending accept; closing the connection ends a receive.
            _listener.Dispose();
            Volatile.Read(ref _connection)?.Dispose();
            if (_reader.ThreadState == ThreadState.Unstarted || _reader.Join(TimeSpan.FromSeconds(5)))
            {
                _copy.Dispose();
                _arrived.Dispose();
                _ended.Dispose();
            }
        }

        private void AcceptAndCopy()
        {
            try
            {
                // Throws if disposed before the emulator connected.
                Socket connection = _listener.Accept();
                _listener.Dispose();
                connection.NoDelay = true; // typed bytes go at once
                connection.SendTimeout = (int)SendTimeout.TotalMilliseconds;
                lock (_sendLock)
                {
                    if (_disposed)
                    {
                        connection.Dispose();
                        return;
                    }
                    Volatile.Write(ref _connection, connection);
                    if (_pending.Count > 0)
                        SendNow(connection, _pending.ToArray());
                    _pending.Clear();
                }
                var buffer = new byte[16 * 1024];
                while (true)
                {
                    int count = connection.Receive(buffer);
                    if (count == 0)
                        break;
                    _copy.Write(buffer, 0, count);
                    _copy.Flush(); // to the file system now: the run's waits read the file
                    Interlocked.Add(ref _received, count);
                    _arrived.Set();
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                // Disposed (the run is over, perhaps before the emulator connected), or the
                // emulator reset the connection as it died.
            }
            finally
            {
                _ended.Set();
                _arrived.Set();
            }
        }

        private static void SendNow(Socket connection, ReadOnlySpan<byte> bytes)
        {
            try
            {
                while (bytes.Length > 0)
                    bytes = bytes.Slice(connection.Send(bytes));
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The emulator has gone (nobody is left to type to), or its machine has not read
                // its UART for a whole SendTimeout with the socket's buffer full.
            }
        }
    }
}
