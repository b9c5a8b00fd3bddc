using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The host partition's port pass-through: which ports exit (SDM Vol. 3C, 25.6.4: bitmap A
    /// for 0000h-7FFFh, B for 8000h-FFFFh, an access exits if any of its bytes' bits is set),
    /// and what the hypervisor does with those that do.
    /// </summary>
    public class HostPortsTests
    {
        private FakeCpu _cpu;
        private HostPorts _ports;

        [SetUp]
        public void Machine()
        {
            _cpu = FakeCpu.Reset();
            // LPT1 and PCI function 00:01.0 are given to another partition.
            _ports = new HostPorts(new[] { new IoPortRange(0x378, 3) }, new[] { 0 << 8 | 1 << 3 | 0 });
        }

        [TestCase((ushort)0x61, 1, false, TestName = "A port nobody was given passes through")]
        [TestCase((ushort)0x70, 1, true, TestName = "The RTC index exits (its own virtual RTC)")]
        [TestCase((ushort)0x71, 1, true, TestName = "The RTC data port exits (its own virtual RTC)")]
        [TestCase((ushort)0x72, 1, true, TestName = "The upper CMOS bank exits (refused)")]
        [TestCase((ushort)0x77, 1, true, TestName = "The PCH's RTC aliases exit (refused)")]
        [TestCase((ushort)0x6E, 2, false, TestName = "The port below the RTC passes through")]
        [TestCase((ushort)0x78, 1, false, TestName = "The port above the RTC's aliases passes through")]
        [TestCase((ushort)0x8000, 4, false, TestName = "High ports pass through (bitmap B)")]
        [TestCase((ushort)0x378, 1, true, TestName = "Another partition's port exits")]
        [TestCase((ushort)0x376, 4, true, TestName = "An access reaching into another partition's ports exits")]
        [TestCase((ushort)0x3F8, 1, true, TestName = "The hypervisor's console exits")]
        [TestCase((ushort)0x2F8, 1, true, TestName = "Its own virtual UART exits (emulated)")]
        [TestCase((ushort)0xCFC, 4, true, TestName = "PCI configuration data exits (filtered)")]
        [TestCase((ushort)0x64, 1, true, TestName = "The keyboard controller's command port exits (reset filtered)")]
        [TestCase((ushort)0x60, 1, false, TestName = "The keyboard controller's data port passes through")]
        public void The_bitmaps_pass_through_everything_but_what_the_hypervisor_must_see(ushort port, int size, bool exits)
        {
            var a = new byte[4096];
            var b = new byte[4096];
            _ports.FillBitmaps(a, b, 0x2F8);
            Assert.That(HostPorts.Exits(a, b, port, size), Is.EqualTo(exits));
        }

        private HostPortOutcome Out(ushort port, int size, uint value) =>
            _ports.Handle(new IoAccess(port, size, false, false, false), ref value);

        private (HostPortOutcome, uint) In(ushort port, int size)
        {
            uint value = 0;
            var outcome = _ports.Handle(new IoAccess(port, size, true, false, false), ref value);
            return (outcome, value);
        }

        [Test]
        public void PCI_configuration_reaches_the_hardware_except_another_partitions_functions()
        {
            _cpu.PciConfig[0x8000_0000] = 0x1237_8086;                  // 00:00.0
            _cpu.PciConfig[0x8000_0800] = 0x7000_8086;                  // 00:01.0, given away
            Assert.That(Out(0xCF8, 4, 0x8000_0000), Is.EqualTo(HostPortOutcome.Done));
            Assert.That(In(0xCF8, 4), Is.EqualTo((HostPortOutcome.Done, 0x8000_0000u)), "the address reads back");
            Assert.That(In(0xCFC, 4), Is.EqualTo((HostPortOutcome.Done, 0x1237_8086u)));
            Assert.That(Out(0xCF8, 4, 0x8000_0800), Is.EqualTo(HostPortOutcome.Done));
            Assert.That(In(0xCFC, 4).Item1, Is.EqualTo(HostPortOutcome.Denied));
            Assert.That(_ports.Why, Is.EqualTo("the PCI function belongs to another partition"));
            Assert.That(_cpu.PortWrites, Has.None.Matches<(ushort Port, uint Value)>(w => w.Port == 0xCF8 && w.Value == 0x8000_0800),
                "the hidden function's address never reached the hardware");
        }

        [TestCase((ushort)0xCF9, 0x06u, true)]
        [TestCase((ushort)0xCF9, 0x02u, false)]
        [TestCase((ushort)0x64, 0xFEu, true)]
        [TestCase((ushort)0x64, 0xD1u, false)]
        [TestCase((ushort)0x92, 0x01u, true)]
        [TestCase((ushort)0x92, 0x02u, false)]
        public void Reset_lines_are_refused_and_the_rest_of_those_ports_passes(ushort port, uint value, bool refused)
        {
            Assert.That(Out(port, 1, value), Is.EqualTo(refused ? HostPortOutcome.Denied : HostPortOutcome.Done));
            Assert.That(_cpu.PortWrites.Contains((port, value)), Is.EqualTo(!refused));
        }

        [TestCase((ushort)0x72, 1, true)]
        [TestCase((ushort)0x74, 1, false)]
        [TestCase((ushort)0x75, 1, true)]
        [TestCase((ushort)0x6F, 2, false)]
        public void The_real_time_clocks_other_ports_are_refused(ushort port, int size, bool isIn)
        {
            var outcome = isIn ? In(port, size).Item1 : Out(port, size, 0x0A);
            Assert.That(outcome, Is.EqualTo(HostPortOutcome.Denied));
            Assert.That(_ports.Why, Is.EqualTo("the machine's real-time clock (the partition's own is at ports 0x70 and 0x71)"));
            Assert.That(_cpu.PortWrites, Is.Empty, "nothing reached the hardware");
        }

        [Test]
        public void The_console_and_other_partitions_ports_are_refused()
        {
            Assert.That(Out(0x3F8, 1, 'X'), Is.EqualTo(HostPortOutcome.Denied));
            Assert.That(_ports.Why, Is.EqualTo("the hypervisor's console"));
            Assert.That(In(0x379, 1).Item1, Is.EqualTo(HostPortOutcome.Denied));
            Assert.That(_ports.Why, Is.EqualTo("the port belongs to another partition"));
        }
    }
}
