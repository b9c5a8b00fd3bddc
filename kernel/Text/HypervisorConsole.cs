using System;
using Partition.Devices;

namespace Partition.Kernel
{
    /// <summary>
    /// The hypervisor's console: COM1, 115200 8N1, with "\n" turned into CR LF for terminals.
    /// Text goes into a ring (<see cref="ConsoleRing"/>) and reaches the UART as fast as the
    /// UART takes it, pumped by whichever CPU passes by (<see cref="Pump"/>: the run loops and
    /// the exit path): at 115200 baud a line takes milliseconds, and no guest's core waits for
    /// it, so a guest's clock does not lose the time its console output takes. Only a full
    /// ring makes a writer wait. Nothing here allocates after <see cref="Initialize"/>.
    /// </summary>
    public static class HypervisorConsole
    {
        private static Uart16550 s_uart;
        private static bool s_ready;
        private static readonly SpinLock s_lock = new SpinLock();
        private static ConsoleRing Ring => ConsoleRing.Shared;

        /// <summary>Bytes the ring holds: more than a burst of boot messages of every partition.</summary>
        public const int RingCapacity = 64 * 1024;

        /// <summary>The UART's transmit FIFO: bytes it takes at once when it says it is empty.</summary>
        private const int FifoDepth = 16;

        /// <summary>
        /// Keeps what a CPU writes between <see cref="BeginLine"/> and <see cref="EndLine"/>
        /// together: partition lines and reports from several CPUs never interleave mid-line.
        /// </summary>
        public static void BeginLine() => s_lock.Enter();

        /// <summary>Ends a line group, and moves what the UART can take now.</summary>
        public static void EndLine()
        {
            s_partitionLine = false;
            s_lock.Exit();
            Pump();
        }

        public static void Initialize()
        {
            s_uart = new Uart16550(Uart16550.Com1);
            s_uart.Initialize(115200);
            s_ready = true;
        }

        public static bool IsReady => s_ready;

        /// <summary>Typed bytes raise the UART's interrupt from now on (<see cref="ConsoleInterrupt"/>).</summary>
        public static void EnableInputInterrupt()
        {
            if (s_ready)
                s_uart.EnableReceiveInterrupt();
        }

        /// <summary>True while bytes wait for the UART (a cheap check for the exit path).</summary>
        public static bool HasPending => s_ready && ConsoleRing.SharedMayHavePending;

        public static void Write(char c)
        {
            if (!s_ready)
                Initialize();
            if (c == '\n')
                Put((byte)'\r');
            Put(c < 0x80 ? (byte)c : (byte)'?');
        }

        /// <summary>
        /// A second reader of the hypervisor's own lines (not the partitions' output lines): the
        /// host partition's management channel, once it has sent a command. Bytes it has no
        /// room for are dropped there; the console's ring is never held up by it.
        /// </summary>
        public static ConsoleRing Tee { get; set; }

        // Set by a partition's line prefix until the line group ends: those lines are not teed.
        private static bool s_partitionLine;

        // The ring takes one writer at a time (it reserves and fills in two steps): writers hold
        // the line lock, which those inside BeginLine/EndLine already have (it is re-entrant).
        private static void Put(byte b)
        {
            s_lock.Enter();
            var tee = Tee;
            if (tee != null && !s_partitionLine && b != '\r')
                tee.TryPut(b);
            while (!Ring.TryPut(b))
            {
                // Full: this writer waits for the UART (the pump may be another CPU's).
                PumpNow();
                Cpu.Pause();
            }
            WakePump();
            s_lock.Exit();
        }

        /// <summary>
        /// Moves waiting bytes to the UART when it can take them: not before the bytes the last
        /// pump gave it have gone out (<see cref="PumpDue"/>), so that a run loop passing by at
        /// every exit does not ask the UART again and again while a long text drains.
        /// </summary>
        public static void Pump()
        {
            if (Tsc.Now >= s_pumpAfter)
                PumpNow();
        }

        /// <summary>
        /// True when a pump is due (<see cref="PumpNow"/>): the UART should have room again, or
        /// a writer has put bytes since a pump found the ring empty. One compare: the exit path
        /// asks at every exit.
        /// </summary>
        public static bool PumpDue(ulong now) => now >= s_pumpAfter;

        // When the UART has room again: a pump that gave it N bytes sets it N byte times on (10
        // bits at 115200 baud: 86.8 us each); one that found it busy, one byte time on; one that
        // found the ring empty, never (ulong.MaxValue) until a writer puts bytes (WakePump).
        private static ulong s_pumpAfter;
        private const ulong ByteNanoseconds = 86_806;

        // After a writer's put (a locked instruction, so its bytes are visible first): a pump
        // that found the ring empty is due again. Its check of the ring after it parked the
        // time (also locked) sees these bytes if this look came too early to see its park.
        private static void WakePump()
        {
            if (s_pumpAfter == ulong.MaxValue)
                s_pumpAfter = 0;
        }

        /// <summary>
        /// Moves waiting bytes to the UART while it can take them without waiting: when its
        /// transmitter holding register is empty, its FIFO takes up to 16. Any CPU may call it;
        /// one pumps at a time, the others return at once.
        /// </summary>
        public static void PumpNow()
        {
            if (!s_ready)
                return;
            var ring = Ring;
            if (!ring.TryBeginPump())
                return;
            // Only this CPU takes from the ring now: what is pending can only grow meanwhile.
            long pending = ring.Pending;
            if (pending == 0)
            {
                // Nothing to pump until a writer puts more (WakePump). Pending's locked read
                // comes after the store, so a writer that missed it has its bytes seen here.
                s_pumpAfter = ulong.MaxValue;
                if (ring.Pending != 0)
                    s_pumpAfter = 0;
                ring.EndPump();
                return;
            }
            ulong written = 0;
            if (s_uart.CanWrite)
            {
                int count = pending < FifoDepth ? (int)pending : FifoDepth;
                for (int i = 0; i < count; i++)
                    s_uart.WriteNow(ring.Peek(i));
                ring.Take(count);
                written = (ulong)count;
            }
            s_pumpAfter = Tsc.Now + (written == 0 ? 1 : written) * (Tsc.TicksPerMillisecond * ByteNanoseconds / 1_000_000);
            ring.EndPump();
        }

        public static void Write(string text)
        {
            if (text == null)
                return;
            Write(text.AsSpan());
        }

        /// <summary>
        /// Text as bytes, as <see cref="Write(char)"/> writes each character, but put into the
        /// ring (and the tee) a piece at a time: one atomic update per piece, not per byte, so a
        /// line costs the CPU that writes it a few instructions a character.
        /// </summary>
        public static void Write(ReadOnlySpan<char> text)
        {
            if (!s_ready)
                Initialize();
            Span<byte> piece = stackalloc byte[128];
            int at = 0;
            while (at < text.Length)
            {
                int length = 0;
                while (at < text.Length && length < piece.Length - 1)
                {
                    char c = text[at++];
                    if (c == '\n')
                        piece[length++] = (byte)'\r';
                    piece[length++] = c < 0x80 ? (byte)c : (byte)'?';
                }
                PutAll(piece.Slice(0, length));
            }
        }

        private static void PutAll(ReadOnlySpan<byte> bytes)
        {
            s_lock.Enter();
            var tee = Tee;
            if (tee != null && !s_partitionLine)
            {
                // Without the CRs; what does not fit is dropped there.
                Span<byte> lines = stackalloc byte[bytes.Length];
                int length = 0;
                for (int i = 0; i < bytes.Length; i++)
                    if (bytes[i] != '\r')
                        lines[length++] = bytes[i];
                tee.TryPut(lines.Slice(0, length));
            }
            while (bytes.Length > 0)
            {
                int put = Ring.TryPut(bytes);
                bytes = bytes.Slice(put);
                if (bytes.Length == 0)
                    break;
                // Full: this writer waits for the UART (the pump may be another CPU's).
                PumpNow();
                Cpu.Pause();
            }
            WakePump();
            s_lock.Exit();
        }

        public static void WriteLine()
        {
            Write('\n');
            Pump();
        }

        public static void WriteLine(string text)
        {
            Write(text);
            WriteLine();
        }

        /// <summary>
        /// With "timestamps=on" on the kernel command line, a partition's lines carry the time
        /// they were completed, in seconds of the TSC since power-on: "[linux 12.345] text".
        /// </summary>
        public static bool PartitionLineTimestamps { get; set; }

        /// <summary>"[NAME] ", or "[NAME SECONDS.MILLISECONDS] " with <see cref="PartitionLineTimestamps"/>.</summary>
        public static void WritePartitionPrefix(string owner)
        {
            s_partitionLine = true;
            Write("[");
            Write(owner);
            if (PartitionLineTimestamps)
            {
                ulong milliseconds = Tsc.Now / Tsc.TicksPerMillisecond;
                Write(" ");
                WriteDecimal(milliseconds / 1000);
                Write(".");
                ulong fraction = milliseconds % 1000;
                if (fraction < 100)
                    Write("0");
                if (fraction < 10)
                    Write("0");
                WriteDecimal(fraction);
            }
            Write("] ");
        }

        /// <summary>"0x" and the value in hex, zero-padded to <paramref name="digits"/>.</summary>
        public static void WriteHex(ulong value, int digits = 1)
        {
            Span<char> buffer = stackalloc char[16];
            Write("0x");
            Write(buffer.Slice(0, NumberFormat.FormatHex(value, digits, buffer)));
        }

        public static void WriteDecimal(ulong value)
        {
            Span<char> buffer = stackalloc char[20];
            Write(buffer.Slice(0, NumberFormat.FormatDecimal(value, buffer)));
        }

        public static void WriteDecimal(long value)
        {
            Span<char> buffer = stackalloc char[21];
            Write(buffer.Slice(0, NumberFormat.FormatDecimal(value, buffer)));
        }

        public static void WriteSize(ulong bytes)
        {
            Span<char> buffer = stackalloc char[28];
            Write(buffer.Slice(0, NumberFormat.FormatSize(bytes, buffer)));
        }

        /// <summary>A byte typed on the console waits (one port read).</summary>
        public static bool HasInput
        {
            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
            get => s_ready && s_uart.HasData;
        }

        /// <summary>A byte typed on the console, if one is waiting.</summary>
        public static bool TryRead(out byte value)
        {
            value = 0;
            return s_ready && s_uart.TryRead(out value);
        }

        /// <summary>One line of a register dump: "PREFIX N1=0x… N2=0x… N3=0x…", 16 hex digits each.</summary>
        public static void WriteRegisters(string prefix, string n1, ulong v1, string n2, ulong v2, string n3, ulong v3)
        {
            Write(prefix);
            Write(n1);
            Write("=");
            WriteHex(v1, 16);
            Write("  ");
            Write(n2);
            Write("=");
            WriteHex(v2, 16);
            Write("  ");
            Write(n3);
            Write("=");
            WriteHex(v3, 16);
            WriteLine();
        }

        /// <summary>Waits until every byte has left the ring and the UART (before power-off, after a panic).</summary>
        public static void Flush()
        {
            if (!s_ready)
                return;
            while (Ring.Pending != 0)
            {
                PumpNow();
                Cpu.Pause();
            }
            s_uart.Flush();
        }
    }
}
