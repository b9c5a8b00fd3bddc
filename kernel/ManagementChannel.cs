using System;
using Partition.Devices;

namespace Partition.Kernel
{
    /// <summary>
    /// The host partition's management line: a second virtual 16550 (COM2, ports 0x2F8-0x2FF,
    /// ISA IRQ 3) that only a Linux host partition has, on which its userspace speaks the
    /// console's command language. A line the host transmits (ended by CR or LF, as typed) is a
    /// command: the console runs it as if typed there, echoed as "NAME mgmt> COMMAND", and from
    /// the first command on every line the hypervisor prints — the command's answer and those
    /// that come later ("paused" after "pausing", a migration's arrival), but no partition's
    /// output — is also received on the line. So `echo list > /dev/ttyS1` and `cat /dev/ttyS1`
    /// manage the machine from the host's shell, and no other partition can: none has the UART,
    /// and the management hypercalls refuse guest user mode.
    /// </summary>
    /// <remarks>
    /// Three parties and their locks: the host's vCPUs transmit under the partition's device
    /// lock (<see cref="Line"/> queues the command under the channel's own leaf lock and
    /// returns); the console (<see cref="Management.Poll"/>, on any core, one at a time) takes
    /// the commands and runs them; the answers go into a ring the console writes under its line
    /// lock (<see cref="HypervisorConsole"/>'s tee), and reach the UART's receiver under the
    /// device lock, as the host reads (<see cref="Refill"/>) or from the console's poll. Nothing
    /// here allocates after construction; a command that finds the queue full is dropped and
    /// counted, an answer that finds the ring full is dropped (the console keeps it).
    /// </remarks>
    public sealed class ManagementChannel : IUartLineSink
    {
        /// <summary>COM2: the port and the ISA interrupt Linux's 8250 driver probes for its second UART.</summary>
        public const ushort Port = Partition.Configs.ConfigValidator.ManagementLinePort;
        public const int Irq = 3;

        /// <summary>Commands waiting for the console: more than a script sends between two polls.</summary>
        public const int QueueDepth = 8;
        public const int MaxCommand = 120;

        /// <summary>Answers not yet received by the host: a few screens of "list" and "stats".</summary>
        public const int AnswerCapacity = 16 * 1024;

        private readonly PlainSpinLock _deviceLock;
        private readonly char[] _commands = new char[QueueDepth * MaxCommand];
        private readonly int[] _lengths = new int[QueueDepth];
        private readonly PlainSpinLock _lock = new PlainSpinLock();
        private readonly char[] _taken = new char[MaxCommand];
        private int _head, _count;

        /// <summary>The host partition's channel, if it has one (there is one host partition).</summary>
        public static ManagementChannel Current { get; private set; }

        /// <param name="hostName">The host partition's name, which the console's echo of each command shows.</param>
        /// <param name="deviceLock">The host partition's device lock, under which its vCPUs reach the UART.</param>
        public ManagementChannel(string hostName, PlainSpinLock deviceLock)
        {
            HostName = hostName;
            _deviceLock = deviceLock;
            Uart = new VirtualUart16550(hostName, Port, this);
            Answers = new ConsoleRing(AnswerCapacity);
            Current = this;
        }

        /// <summary>The host partition's end of the line.</summary>
        public VirtualUart16550 Uart { get; }

        /// <summary>What the console has said since the first command, on its way to the host.</summary>
        public ConsoleRing Answers { get; }

        public string HostName { get; }

        /// <summary>Commands run, and commands dropped because the queue was full.</summary>
        public ulong Commands { get; private set; }
        public ulong Dropped { get; private set; }

        /// <summary>True while a command waits, or an answer waits and the UART's receiver has room (a cheap, lock-free hint).</summary>
        public bool HasWork => _count != 0 || Answers.MayHavePending && Uart.CanReceive;

        /// <summary>A line the host transmitted (under its device lock): queued for the console.</summary>
        public void Line(ReadOnlySpan<char> text)
        {
            _lock.Enter();
            if (_count == QueueDepth)
            {
                Dropped++;
                _lock.Exit();
                return;
            }
            int slot = (_head + _count) % QueueDepth;
            int length = text.Length < MaxCommand ? text.Length : MaxCommand;
            text.Slice(0, length).CopyTo(new Span<char>(_commands, slot * MaxCommand, MaxCommand));
            _lengths[slot] = length;
            _count++;
            _lock.Exit();
            // From the first command on, the console's lines come back on the line.
            HypervisorConsole.Tee = Answers;
        }

        /// <summary>The oldest waiting command, or false (by the console, one caller at a time).</summary>
        public bool TryTake(out ReadOnlySpan<char> command)
        {
            command = ReadOnlySpan<char>.Empty;
            _lock.Enter();
            if (_count == 0)
            {
                _lock.Exit();
                return false;
            }
            int length = _lengths[_head];
            new ReadOnlySpan<char>(_commands, _head * MaxCommand, length).CopyTo(_taken);
            _head = (_head + 1) % QueueDepth;
            _count--;
            Commands++;
            _lock.Exit();
            command = new ReadOnlySpan<char>(_taken, 0, length);
            return true;
        }

        /// <summary>
        /// Moves answers into the UART's receiver while it has room. With the device lock held
        /// (the exit path of a host read of the UART), or from the console (which takes it).
        /// </summary>
        public void Refill()
        {
            if (!Answers.MayHavePending || !Answers.TryBeginPump())
                return;
            while (Answers.Pending != 0 && Uart.CanReceive)
            {
                Uart.Receive(Answers.Peek());
                Answers.Take();
            }
            Answers.EndPump();
        }

        /// <summary>From the console's poll: answers to the host, under its device lock.</summary>
        public void Deliver()
        {
            if (!Answers.MayHavePending || !Uart.CanReceive)
                return;
            _deviceLock.Enter();
            Refill();
            _deviceLock.Exit();
        }

        /// <summary>The host partition boots again: its UART is reset, waiting commands and answers dropped.</summary>
        public void Reset()
        {
            _lock.Enter();
            _count = 0;
            _lock.Exit();
            Uart.Reset();
            if (Answers.TryBeginPump())
            {
                Answers.Take((int)Answers.Pending);
                Answers.EndPump();
            }
        }
    }
}
