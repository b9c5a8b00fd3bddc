using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Pipes;
using System.Text;
using System.Threading;
using NUnit.Framework;
using Partition.Host;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// What `partition run` sends to the console from stdin: lines from a pipe or a file end
    /// with CR, keystrokes go as they come, nothing goes before the hypervisor's console is
    /// live, and input at its end ends only the reader.
    /// </summary>
    [FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
    public class ConsoleInputTests
    {
        private readonly List<string> _sent = new();

        private void Send(byte[] bytes)
        {
            lock (_sent)
                _sent.Add(Encoding.ASCII.GetString(bytes));
        }

        private string[] Sent()
        {
            lock (_sent)
                return _sent.ToArray();
        }

        [Test]
        public void Lines_are_held_until_the_partitions_start_then_sent_with_CR()
        {
            var input = new ConsoleInput(new MemoryStream(Encoding.ASCII.GetBytes("list\nstats\r\n\nmigrate alpha 0")), ConsoleInputMode.Lines, Send);
            input.Start();
            Assert.That(input.WaitForEnd(TimeSpan.FromSeconds(5)), Is.True);
            Assert.That(input.HasEnded, Is.True);
            Assert.That(Sent(), Is.Empty, "nothing before the console is live");

            // The ready text may come cut anywhere.
            input.Observe("Config: 3 partitions, valid\nPartitions st");
            Assert.That(input.IsReady, Is.False);
            input.Observe("art 14406 ms after power-on (TSC)\n");
            Assert.That(input.IsReady, Is.True);
            Assert.That(Sent(), Is.EqualTo(new[] { "list\r", "stats\r", "\r", "migrate alpha 0\r" }));
            Assert.That(input.BytesSent, Is.EqualTo(5 + 6 + 1 + 16));
        }

        [Test]
        public void Keystrokes_go_as_they_come_once_the_console_is_live()
        {
            using var pipe = new AnonymousPipeServerStream(PipeDirection.Out);
            using var stdin = new AnonymousPipeClientStream(PipeDirection.In, pipe.ClientSafePipeHandle);
            var input = new ConsoleInput(stdin, ConsoleInputMode.Keystrokes, Send);
            input.Start();
            pipe.Write(Encoding.ASCII.GetBytes("he"));
            pipe.Flush();
            Thread.Sleep(200);
            Assert.That(Sent(), Is.Empty, "nothing before the console is live");
            input.Observe("Partitions start 10 ms after power-on (TSC)\n");
            Assert.That(string.Concat(Sent()), Is.EqualTo("he"));

            pipe.Write(Encoding.ASCII.GetBytes("lp\x7F\x7Fp\r"));
            pipe.Flush();
            Assert.That(SpinWait.SpinUntil(() => string.Concat(Sent()) == "help\x7F\x7Fp\r", 5000), Is.True, string.Concat(Sent()));
            pipe.Dispose();
            Assert.That(input.WaitForEnd(TimeSpan.FromSeconds(5)), Is.True);
        }

        [Test]
        public void Input_at_its_end_from_the_start_sends_nothing_and_ends_the_reader()
        {
            var input = new ConsoleInput(Stream.Null, ConsoleInputMode.Lines, Send);
            input.Start();
            Assert.That(input.WaitForEnd(TimeSpan.FromSeconds(5)), Is.True);
            input.Observe("Partitions start 10 ms after power-on (TSC)\n");
            Assert.That(Sent(), Is.Empty);
        }

        [Test]
        public void Output_without_the_ready_text_keeps_input_held()
        {
            var input = new ConsoleInput(new MemoryStream(Encoding.ASCII.GetBytes("help\n")), ConsoleInputMode.Lines, Send);
            input.Start();
            input.WaitForEnd(TimeSpan.FromSeconds(5));
            input.Observe("No partition configuration module ('partition-config'): no partitions to run\n");
            Assert.That(input.IsReady, Is.False);
            Assert.That(Sent(), Is.Empty);
        }
    }
}
