using System.Text;
using NUnit.Framework;
using Partition.Devices;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The host partition's management line (<see cref="ManagementChannel"/>): what the host's
    /// userspace writes to its second UART becomes console commands, and the console's own lines,
    /// not the partitions' output, come back through the UART's receiver.
    /// </summary>
    [NonParallelizable] // The console's tee is one for the machine.
    public class ManagementChannelTests
    {
        private const ushort Rbr = ManagementChannel.Port, Fcr = ManagementChannel.Port + 2, Lsr = ManagementChannel.Port + 5;

        [TearDown]
        public void NoTee() => HypervisorConsole.Tee = null;

        private static void Send(ManagementChannel channel, string text)
        {
            foreach (char c in text)
                channel.Uart.Write(Rbr, c);
        }

        private static string Take(ManagementChannel channel) => channel.TryTake(out var command) ? command.ToString() : null;

        // What the host reads, as its 8250 driver would: RBR while LSR says data is ready.
        private static string Receive(ManagementChannel channel)
        {
            var text = new StringBuilder();
            for (int i = 0; i < 10_000 && (channel.Uart.Read(Lsr) & 1) != 0; i++)
            {
                text.Append((char)channel.Uart.Read(Rbr));
                channel.Refill();
            }
            return text.ToString();
        }

        [Test]
        public void Lines_ended_by_Enter_or_newline_are_commands_in_order()
        {
            FakeCpu.Reset();
            var channel = new ManagementChannel("host", new PlainSpinLock());
            Assert.That(channel.HasWork, Is.False);
            Send(channel, "list\rmigrate guest 3\n\r\nstats\r");
            Assert.That(channel.HasWork, Is.True);
            Assert.That(Take(channel), Is.EqualTo("list"));
            Assert.That(Take(channel), Is.EqualTo("migrate guest 3"));
            Assert.That(Take(channel), Is.EqualTo("stats"), "empty lines are no commands");
            Assert.That(Take(channel), Is.Null);
            Assert.That(channel.Commands, Is.EqualTo(3));
        }

        [Test]
        public void A_full_queue_drops_and_counts_what_does_not_fit()
        {
            FakeCpu.Reset();
            var channel = new ManagementChannel("host", new PlainSpinLock());
            for (int i = 0; i < ManagementChannel.QueueDepth + 2; i++)
                Send(channel, $"pause p{i}\r");
            Assert.That(channel.Dropped, Is.EqualTo(2));
            for (int i = 0; i < ManagementChannel.QueueDepth; i++)
                Assert.That(Take(channel), Is.EqualTo($"pause p{i}"));
            Assert.That(Take(channel), Is.Null);
        }

        [Test]
        public void After_the_first_command_the_consoles_lines_come_back_but_no_partitions_output()
        {
            FakeCpu.Reset();
            var channel = new ManagementChannel("host", new PlainSpinLock());
            channel.Uart.Write(Fcr, 0x01); // FIFOs on, as Linux sets them
            Management.Report("before: ", "not for the host");
            Send(channel, "list\r");
            Management.Report("list: ", "an answer");
            var guest = new VirtualUart16550("guest", 0x3F8);
            foreach (char c in "a guest's secret\n")
                guest.Write(0x3F8, c);
            Management.Report("paused: ", "a later answer with a line longer than the sixteen bytes of the receiver's FIFO");
            channel.Deliver();
            Assert.That(Receive(channel), Is.EqualTo("list: an answer\npaused: a later answer with a line longer than the sixteen bytes of the receiver's FIFO\n"));
        }

        [Test]
        public void A_reset_drops_waiting_commands_and_answers()
        {
            FakeCpu.Reset();
            var channel = new ManagementChannel("host", new PlainSpinLock());
            Send(channel, "list\r");
            Management.Report("x", "y");
            channel.Reset();
            Assert.That(Take(channel), Is.Null);
            Assert.That(channel.Answers.Pending, Is.Zero);
        }
    }
}
