using System.Linq;
using System.Runtime.InteropServices;
using NUnit.Framework;
using Partition.Devices;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// Typed console input by interrupt: the UART raises its line for received bytes, the I/O
    /// APIC input is programmed with the hypervisor's vector for CPU 0, and taking the
    /// interrupt makes the console's input due at once.
    /// </summary>
    [NonParallelizable] // One console and one route for the machine.
    public unsafe class ConsoleInterruptTests
    {
        private const uint ApicBaseMsr = 0x1B, X2ApicEnabled = 0xC00, X2ApicEoiMsr = 0x80B;

        [TearDown]
        public void Forget()
        {
            ConsoleInterrupt.Forget();
            FakeCpu.Reset();
        }

        [Test]
        public void The_UART_raises_its_line_for_received_bytes_only_with_OUT2_gating_it_through()
        {
            var cpu = FakeCpu.Reset();
            new Uart16550(Uart16550.Com1).EnableReceiveInterrupt();
            Assert.That(cpu.PortWrites, Is.EqualTo(new (ushort, uint)[]
            {
                (0x3FA, 0x01),      // FCR: FIFOs on, nothing cleared, received-data trigger at one byte
                (0x3FC, 0x0B),      // MCR: DTR, RTS, OUT2
                (0x3F9, 0x01),      // IER: received data available, nothing else (no transmit interrupt)
            }));
        }

        [Test]
        public void Its_IO_APIC_input_gets_the_vector_for_CPU_0_unmasked_and_the_host_partition_does_not_get_the_pin()
        {
            FakeCpu.Reset();
            // An I/O APIC's register window: IOREGSEL at 0, IOWIN at 0x10. The version register
            // as read (24 inputs); afterwards the window holds the last register written.
            uint* window = (uint*)NativeMemory.AllocZeroed(0x20);
            try
            {
                window[4] = 0x0017_0020;
                var route = new IsaInterruptRoute { IoApicAddress = (ulong)window, GsiBase = 0, Pin = 4 };
                ConsoleInterrupt.Arm(route, destinationApicId: 0);
                Assert.That(ConsoleInterrupt.Armed, Is.True);
                Assert.That(window[0], Is.EqualTo(0x10u + 2 * 4), "redirection entry 4's low half, written last (the entry is masked until then)");
                Assert.That(window[4], Is.EqualTo((uint)ConsoleInterrupt.Vector), "vector 0x30, fixed, physical, active high, edge, unmasked");
                Assert.That(ConsoleInterrupt.PinMask, Is.EqualTo(1u << 4), "left out of what backs the host partition's I/O APIC");

                ConsoleInterrupt.Forget();
                window[4] = 0x0017_0020;
                ConsoleInterrupt.Arm(route with { LevelTriggered = true }, destinationApicId: 0);
                Assert.That(ConsoleInterrupt.Armed, Is.False, "a level-triggered route would interrupt until the byte is read: polled");
                window[4] = 0x0017_0020;
                ConsoleInterrupt.Arm(route with { Pin = 24 }, destinationApicId: 0);
                Assert.That(ConsoleInterrupt.Armed, Is.False, "no input 24 on a 24-input I/O APIC");
                Assert.That(ConsoleInterrupt.PinMask, Is.Zero);
            }
            finally
            {
                NativeMemory.Free(window);
            }
        }

        [Test]
        public void Taking_it_makes_the_consoles_input_due_at_once_and_ends_it_at_the_local_APIC()
        {
            var cpu = FakeCpu.Reset();
            cpu.Msrs[ApicBaseMsr] = 0xFEE0_0000 | X2ApicEnabled;
            ConsoleDue.NextInputPoll = 123_456_789;
            ulong taken = ConsoleInterrupt.Taken;
            PhysicalInterrupts.Handle(ConsoleInterrupt.Vector, 0);
            Assert.That(ConsoleDue.NextInputPoll, Is.Zero, "the next turn of a run loop reads the UART");
            Assert.That(Management.TypedInputSignalled, Is.True, "CPU 0's slice ends at this exit");
            Assert.That(ConsoleInterrupt.Taken, Is.EqualTo(taken + 1));
            Assert.That(cpu.MsrWrites, Has.Member((X2ApicEoiMsr, 0UL)), "EOI");
        }
    }
}
