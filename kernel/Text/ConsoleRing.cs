using System;

namespace Partition.Kernel
{
    /// <summary>
    /// The bytes the console has been given and the UART has not taken yet: a ring of fixed
    /// size, filled by writers (one at a time: the console lock) and emptied by whichever CPU
    /// pumps (one at a time: <see cref="TryBeginPump"/>). Nothing here touches hardware or
    /// allocates after construction. On x86 stores are seen in order (SDM Vol. 3A, 9.2.2), so
    /// the writer publishes bytes before it advances the tail with an atomic write.
    /// </summary>
    public sealed unsafe partial class ConsoleRing
    {
        /// <summary>
        /// The console's ring: one for the machine in the image (ConsoleRing.BareMetal.cs); one
        /// per test thread in the host tests, whose fake CPUs each have their own UART.
        /// </summary>
        public static partial ConsoleRing Shared { get; }

        /// <summary><see cref="Shared"/>'s <see cref="MayHavePending"/>, without creating the ring (the run loop asks at every exit).</summary>
        public static partial bool SharedMayHavePending { get; }

        private readonly byte[] _bytes;
        private readonly long _mask;
        private long _head, _tail, _pumping;

        /// <param name="capacity">A power of two.</param>
        public ConsoleRing(int capacity)
        {
            _bytes = new byte[capacity];
            _mask = capacity - 1;
        }

        public int Capacity => _bytes.Length;

        /// <summary>A hint, without a locked instruction: false means the ring was empty a moment ago.</summary>
        public bool MayHavePending => _tail != _head;

        /// <summary>Bytes waiting for the UART.</summary>
        public long Pending
        {
            get
            {
                fixed (long* tail = &_tail)
                fixed (long* head = &_head)
                    return Cpu.CompareExchange(tail, 0, -1) - Cpu.CompareExchange(head, 0, -1);
            }
        }

        public bool IsFull => Pending >= _bytes.Length;

        // Writers: one at a time (the console's line lock, HypervisorConsole): a put reads the
        // tail, fills the bytes, then moves the tail, and two at once would fill the same bytes.
        // The pump (one CPU at a time, TryBeginPump) takes from the head meanwhile.

        /// <summary>Appends a byte; false if the ring is full (the caller pumps, then tries again).</summary>
        public bool TryPut(byte value)
        {
            if (IsFull)
                return false;
            _bytes[_tail & _mask] = value;
            fixed (long* tail = &_tail)
                Cpu.AtomicAdd(tail, 1);
            return true;
        }

        /// <summary>
        /// Appends as many of <paramref name="values"/> as there is room for, with one atomic
        /// update of the tail for all of them; returns how many.
        /// </summary>
        public int TryPut(ReadOnlySpan<byte> values)
        {
            long free = _bytes.Length - Pending;
            int count = values.Length < free ? values.Length : (int)free;
            long tail = _tail;
            for (int i = 0; i < count; i++)
                _bytes[(tail + i) & _mask] = values[i];
            fixed (long* tailField = &_tail)
                Cpu.AtomicAdd(tailField, count);
            return count;
        }

        /// <summary>Claims the consumer side; false if another CPU is pumping.</summary>
        public bool TryBeginPump()
        {
            fixed (long* pumping = &_pumping)
                return Cpu.CompareExchange(pumping, 1, 0) == 0;
        }

        public void EndPump()
        {
            fixed (long* pumping = &_pumping)
                Cpu.CompareExchange(pumping, 0, 1);
        }

        /// <summary>The oldest waiting byte (by the pumping CPU, with <see cref="Pending"/> &gt; 0).</summary>
        public byte Peek() => _bytes[_head & _mask];

        /// <summary>The waiting byte <paramref name="offset"/> after the oldest (by the pumping CPU, with <see cref="Pending"/> &gt; offset).</summary>
        public byte Peek(int offset) => _bytes[(_head + offset) & _mask];

        /// <summary>Drops the oldest byte once the UART has it.</summary>
        public void Take() => Take(1);

        /// <summary>Drops the <paramref name="count"/> oldest bytes once the UART has them: one atomic update for all.</summary>
        public void Take(int count)
        {
            fixed (long* head = &_head)
                Cpu.AtomicAdd(head, count);
        }
    }
}
