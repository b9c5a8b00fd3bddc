using System;
using Partition.Devices;

namespace Partition.Kernel
{
    /// <summary>
    /// The hypervisor's console: COM1, 115200 8N1. Text is written as it is produced, with
    /// "\n" turned into CR LF for terminals. Nothing here allocates.
    /// </summary>
    public static class HypervisorConsole
    {
        private static Uart16550 s_uart;
        private static bool s_ready;
        private static readonly SpinLock s_lock = new SpinLock();

        /// <summary>
        /// Keeps what a CPU writes between <see cref="BeginLine"/> and <see cref="EndLine"/>
        /// together: partition lines and reports from several CPUs never interleave mid-line.
        /// </summary>
        public static void BeginLine() => s_lock.Enter();

        public static void EndLine() => s_lock.Exit();

        public static void Initialize()
        {
            s_uart = new Uart16550(Uart16550.Com1);
            s_uart.Initialize(115200);
            s_ready = true;
        }

        public static bool IsReady => s_ready;

        public static void Write(char c)
        {
            if (!s_ready)
                Initialize();
            if (c == '\n')
                s_uart.Write((byte)'\r');
            s_uart.Write(c < 0x80 ? (byte)c : (byte)'?');
        }

        public static void Write(string text)
        {
            if (text == null)
                return;
            for (int i = 0; i < text.Length; i++)
                Write(text[i]);
        }

        public static void Write(ReadOnlySpan<char> text)
        {
            for (int i = 0; i < text.Length; i++)
                Write(text[i]);
        }

        public static void WriteLine() => Write('\n');

        public static void WriteLine(string text)
        {
            Write(text);
            Write('\n');
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

        /// <summary>Waits until every byte has left the UART (before power-off).</summary>
        public static void Flush()
        {
            if (s_ready)
                s_uart.Flush();
        }
    }
}
