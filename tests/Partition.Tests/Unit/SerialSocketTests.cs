using System;
using System.IO;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using NUnit.Framework;
using Partition.Host;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// COM1 over a loopback socket, with a TcpClient in the emulator's place (Bochs'
    /// mode=socket-client connects the same way): the copy file holds exactly what was sent,
    /// typed bytes arrive in order whether typed before or after the connection, and nothing
    /// hangs when the emulator never connects or goes away.
    /// </summary>
    public class SerialSocketTests
    {
        private string _directory;

        [SetUp]
        public void CreateDirectory()
        {
            _directory = Path.Combine(Path.GetTempPath(), "serial-socket-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_directory);
        }

        [TearDown]
        public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

        private string CopyPath => Path.Combine(_directory, "serial.txt");

        private static TcpClient Connect(SerialSocket com1) => new TcpClient("127.0.0.1", com1.Port) { NoDelay = true };

        private static string ReadShared(string path)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            return reader.ReadToEnd();
        }

        private static string Receive(TcpClient client, int count)
        {
            var buffer = new byte[count];
            int read = 0;
            client.ReceiveTimeout = 5000;
            while (read < count)
            {
                int n = client.GetStream().Read(buffer, read, count - read);
                if (n == 0)
                    break;
                read += n;
            }
            return Encoding.Latin1.GetString(buffer, 0, read);
        }

        [Test]
        public void The_copy_holds_every_byte_sent_as_it_arrives()
        {
            using var com1 = new SerialSocket(CopyPath);
            Assert.That(File.Exists(CopyPath), Is.True, "created empty before the emulator starts");
            Assert.That(com1.Address, Is.EqualTo($"127.0.0.1:{com1.Port}"));
            com1.Start();
            using var emulator = Connect(com1);
            var first = new byte[] { (byte)'o', (byte)'k', 0x0D, 0x0A, 0x1B, (byte)'[', 0x00, 0xFF };
            emulator.GetStream().Write(first);
            Assert.That(SpinWait.SpinUntil(() => com1.BytesReceived == first.Length, 5000), Is.True);
            // Flushed at once: a reader of the file sees the bytes while the connection is open.
            Assert.That(ReadShared(CopyPath), Is.EqualTo(Encoding.Latin1.GetString(first)));
            Assert.That(com1.IsConnected, Is.True);

            var rest = new byte[100_000];
            for (int i = 0; i < rest.Length; i++)
                rest[i] = (byte)('a' + i % 26);
            emulator.GetStream().Write(rest);
            emulator.Close();
            Assert.That(com1.WaitForEnd(TimeSpan.FromSeconds(5)), Is.True);
            Assert.That(com1.HasEnded, Is.True);
            Assert.That(ReadShared(CopyPath), Is.EqualTo(Encoding.Latin1.GetString(first) + Encoding.Latin1.GetString(rest)));
        }

        [Test]
        public void Bytes_typed_before_the_connection_arrive_first_and_in_order()
        {
            using var com1 = new SerialSocket(CopyPath);
            com1.Start();
            com1.Send(Encoding.ASCII.GetBytes("list\r"));
            using var emulator = Connect(com1);
            Assert.That(SpinWait.SpinUntil(() => com1.IsConnected, 5000), Is.True);
            com1.Send(Encoding.ASCII.GetBytes("stats\r"));
            Assert.That(Receive(emulator, 11), Is.EqualTo("list\rstats\r"));
        }

        [Test]
        public void Arrived_is_signalled_for_new_bytes_and_at_the_end()
        {
            using var com1 = new SerialSocket(CopyPath);
            com1.Start();
            using var emulator = Connect(com1);
            emulator.GetStream().Write(new byte[] { (byte)'x' });
            Assert.That(com1.Arrived.WaitOne(5000), Is.True);
            emulator.Close();
            Assert.That(com1.WaitForEnd(TimeSpan.FromSeconds(5)), Is.True);
        }

        [Test]
        public void An_emulator_that_never_connects_neither_blocks_the_end_nor_disposal()
        {
            var com1 = new SerialSocket(CopyPath);
            com1.Start();
            com1.Send(Encoding.ASCII.GetBytes("help\r"));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Assert.That(com1.WaitForEnd(TimeSpan.FromSeconds(30)), Is.True);
            com1.Dispose();
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(3)));
            Assert.That(ReadShared(CopyPath), Is.Empty);
        }

        [Test]
        public void Typing_after_the_emulator_has_gone_is_dropped_quietly()
        {
            using var com1 = new SerialSocket(CopyPath);
            com1.Start();
            using (Connect(com1))
                Assert.That(SpinWait.SpinUntil(() => com1.IsConnected, 5000), Is.True);
            Assert.That(com1.WaitForEnd(TimeSpan.FromSeconds(5)), Is.True);
            Assert.DoesNotThrow(() => com1.Send(Encoding.ASCII.GetBytes("list\r")));
        }
    }
}
