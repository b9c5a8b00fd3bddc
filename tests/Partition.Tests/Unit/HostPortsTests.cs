using System.Collections.Generic;
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

        // 00:02.0, a function with the capability list PM (40h) -> MSI (50h, 64-bit, per-vector
        // masking: 24 bytes) -> PCI Express (70h) -> MSI-X (9Ch, 12 bytes).
        private const uint Device = 0x8000_1000;
        private const int Msi = 0x50, MsiX = 0x9C;

        private void FunctionWithMessageInterrupts()
        {
            _cpu.PciConfig[Device | 0x00] = 0x1234_8086;
            _cpu.PciConfig[Device | 0x04] = 0x0010_0006;     // Status: capabilities list
            _cpu.PciConfig[Device | 0x0C] = 0x0000_0000;     // header type 0
            _cpu.PciConfig[Device | 0x34] = 0x0000_0040;
            _cpu.PciConfig[Device | 0x40] = 0x0003_5001;     // PM, next 50h
            _cpu.PciConfig[Device | 0x44] = 0x0000_0000;     // PMCSR
            _cpu.PciConfig[Device | 0x50] = 0x0180_7005;     // MSI, next 70h, 64-bit and maskable
            for (uint at = 0x54; at < 0x68; at += 4)
                _cpu.PciConfig[Device | at] = 0;
            _cpu.PciConfig[Device | 0x68] = 0;               // no capability's
            _cpu.PciConfig[Device | 0x70] = 0x0002_9C10;     // PCI Express, next 9Ch
            _cpu.PciConfig[Device | 0x78] = 0x0000_2810;     // Device Control and Status
            _cpu.PciConfig[Device | 0x9C] = 0x0007_0011;     // MSI-X, last
            _cpu.PciConfig[Device | 0xA0] = 0x0000_2000;     // table
            _cpu.PciConfig[Device | 0xA4] = 0x0000_3000;     // PBA
            _cpu.PciConfig[Device | 0xA8] = 0;
        }

        private (HostPortOutcome, uint) ReadConfig(uint function, int register, int size)
        {
            Out(0xCF8, 4, function | (uint)register & 0xFC);
            return In((ushort)(0xCFC + (register & 3)), size);
        }

        private HostPortOutcome WriteConfig(uint function, int register, int size, uint value)
        {
            Out(0xCF8, 4, function | (uint)register & 0xFC);
            return Out((ushort)(0xCFC + (register & 3)), size, value);
        }

        // The capability IDs as Linux's __pci_find_next_cap_ttl walks them, with reads of `size` bytes.
        private List<int> Capabilities(uint function, int size)
        {
            var ids = new List<int>();
            int pointer = Byte(function, 0x34, size);
            for (int steps = 0; pointer >= 0x40 && steps < 100; steps++)
            {
                ids.Add(Byte(function, pointer, size));
                pointer = Byte(function, pointer + 1, size) & 0xFC;
            }
            Assert.That(pointer, Is.EqualTo(0), "the list ends");
            return ids;
        }

        // One byte of configuration space, read within a dword, word or byte access that holds it.
        private int Byte(uint function, int register, int size)
        {
            int start = register & ~(size - 1);
            var (outcome, value) = ReadConfig(function, start, size);
            Assert.That(outcome, Is.EqualTo(HostPortOutcome.Done));
            return (int)(value >> (register - start) * 8 & 0xFF);
        }

        [TestCase(4)]
        [TestCase(2)]
        [TestCase(1)]
        public void MSI_and_MSI_X_are_left_out_of_the_capability_list(int size)
        {
            FunctionWithMessageInterrupts();
            Assert.That(Capabilities(Device, size), Is.EqualTo(new[] { 0x01, 0x10 }));
        }

        [Test]
        public void Only_the_links_of_the_capability_list_change()
        {
            FunctionWithMessageInterrupts();
            Assert.That(ReadConfig(Device, 0x40, 4), Is.EqualTo((HostPortOutcome.Done, 0x0003_7001u)), "PM's next is PCI Express");
            Assert.That(ReadConfig(Device, 0x70, 4), Is.EqualTo((HostPortOutcome.Done, 0x0002_0010u)), "PCI Express is last");
            Assert.That(ReadConfig(Device, 0x41, 2), Is.EqualTo((HostPortOutcome.Done, 0x0370u)), "a word at 41h: next, then PMC's low byte");
            Assert.That(ReadConfig(Device, 0x42, 2), Is.EqualTo((HostPortOutcome.Done, 0x0003u)), "PMC itself");
            Assert.That(ReadConfig(Device, 0x00, 4), Is.EqualTo((HostPortOutcome.Done, 0x1234_8086u)));
            Assert.That(ReadConfig(Device, 0x78, 4), Is.EqualTo((HostPortOutcome.Done, 0x0000_2810u)));
            Assert.That(ReadConfig(Device, MsiX, 4), Is.EqualTo((HostPortOutcome.Done, 0x0007_0011u)), "the hidden capabilities' own bytes read as they are");
        }

        [TestCase(Msi, 4, "MSI", TestName = "A dword write to the MSI capability's header is refused")]
        [TestCase(Msi + 2, 2, "MSI", TestName = "A word write to MSI's Message Control is refused")]
        [TestCase(Msi + 4, 4, "MSI", TestName = "A write to MSI's Message Address is refused")]
        [TestCase(Msi + 8, 1, "MSI", TestName = "A byte write to MSI's upper address is refused")]
        [TestCase(Msi + 0xD, 1, "MSI", TestName = "A byte write to MSI's Message Data is refused")]
        [TestCase(Msi + 0x10, 4, "MSI", TestName = "A write to MSI's Mask Bits is refused")]
        [TestCase(Msi + 0x17, 1, "MSI", TestName = "A byte write to MSI's last Pending Bits byte is refused")]
        [TestCase(MsiX + 3, 1, "MSI-X", TestName = "A byte write to MSI-X's Enable byte is refused")]
        [TestCase(MsiX + 2, 2, "MSI-X", TestName = "A word write to MSI-X's Message Control is refused")]
        [TestCase(MsiX + 4, 4, "MSI-X", TestName = "A write to MSI-X's Table Offset/BIR is refused")]
        [TestCase(MsiX + 8, 4, "MSI-X", TestName = "A write to MSI-X's PBA Offset/BIR is refused")]
        public void Writes_to_MSI_and_MSI_X_are_refused(int register, int size, string capability)
        {
            FunctionWithMessageInterrupts();
            Assert.That(WriteConfig(Device, register, size, 0xFEE0_100C), Is.EqualTo(HostPortOutcome.Denied));
            Assert.That(_ports.Why, Is.EqualTo($"the function's {capability} capability (the hypervisor cannot remap the interrupts it would send)"));
            Assert.That(_cpu.PortWrites, Has.None.Matches<(ushort Port, uint Value)>(w => w.Port >= 0xCFC && w.Port <= 0xCFF),
                "nothing was written to configuration data");
        }

        [TestCase(0x44, 2, 0x0003u, TestName = "A write to PM's control and status passes")]
        [TestCase(0x78, 2, 0x2010u, TestName = "A write to PCI Express' Device Control passes")]
        [TestCase(0x68, 4, 0x1234_5678u, TestName = "A write just past the MSI capability passes")]
        [TestCase(0xA8, 1, 0x5Au, TestName = "A write just past the MSI-X capability passes")]
        [TestCase(0x04, 2, 0x0002u, TestName = "A write to the Command register passes")]
        public void Writes_elsewhere_reach_the_function(int register, int size, uint value)
        {
            FunctionWithMessageInterrupts();
            uint before = _cpu.PciConfig[Device | (uint)register & 0xFC];
            Assert.That(WriteConfig(Device, register, size, value), Is.EqualTo(HostPortOutcome.Done));
            int shift = (register & 3) * 8;
            uint mask = (size == 4 ? 0xFFFF_FFFFu : size == 2 ? 0xFFFFu : 0xFFu) << shift;
            Assert.That(_cpu.PciConfig[Device | (uint)register & 0xFC], Is.EqualTo(before & ~mask | value << shift & mask));
        }

        [Test]
        public void A_reserved_bit_of_CONFIG_ADDRESS_does_not_get_around_the_filter()
        {
            FunctionWithMessageInterrupts();
            Assert.That(Out(0xCF8, 4, Device | 0x0100_0000 | Msi + 4), Is.EqualTo(HostPortOutcome.Done));
            Assert.That(Out(0xCFC, 4, 0xFEE0_100C), Is.EqualTo(HostPortOutcome.Denied));
            Assert.That(In(0xCF8, 4).Item2, Is.EqualTo(Device | 0x0100_0000 | Msi + 4), "the latch reads back as written");
        }

        [Test]
        public void A_looping_capability_list_ends()
        {
            // PM (40h) -> MSI (50h) -> PM again, and PCI Express (60h) pointing at itself.
            const uint looping = 0x8000_1800, selfish = 0x8000_2000;
            _cpu.PciConfig[looping | 0x00] = 0x1234_8086;
            _cpu.PciConfig[looping | 0x04] = 0x0010_0000;
            _cpu.PciConfig[looping | 0x0C] = 0;
            _cpu.PciConfig[looping | 0x34] = 0x40;
            _cpu.PciConfig[looping | 0x40] = 0x0003_5001;
            _cpu.PciConfig[looping | 0x50] = 0x0000_4005;
            _cpu.PciConfig[selfish | 0x00] = 0x1234_8086;
            _cpu.PciConfig[selfish | 0x04] = 0x0010_0000;
            _cpu.PciConfig[selfish | 0x0C] = 0;
            _cpu.PciConfig[selfish | 0x34] = 0x60;
            _cpu.PciConfig[selfish | 0x60] = 0x0002_6010;
            _cpu.PciConfig[selfish | 0x80] = 0;
            Assert.That(Capabilities(looping, 1), Is.EqualTo(new[] { 0x01 }));
            Assert.That(Capabilities(selfish, 4), Has.Count.LessThanOrEqualTo(48));
            Assert.That(WriteConfig(looping, 0x52, 2, 1), Is.EqualTo(HostPortOutcome.Denied), "MSI is still found");
            Assert.That(WriteConfig(selfish, 0x80, 4, 1), Is.EqualTo(HostPortOutcome.Done));
        }

        [Test]
        public void A_function_without_a_capability_list_reads_as_it_is_but_its_MSI_is_not_written()
        {
            FunctionWithMessageInterrupts();
            _cpu.PciConfig[Device | 0x04] = 0x0000_0006; // Status bit 4 clear: 34h is not a pointer
            Assert.That(ReadConfig(Device, 0x34, 1), Is.EqualTo((HostPortOutcome.Done, 0x40u)));
            Assert.That(ReadConfig(Device, 0x41, 1), Is.EqualTo((HostPortOutcome.Done, 0x50u)));
            Assert.That(WriteConfig(Device, Msi + 2, 2, 1), Is.EqualTo(HostPortOutcome.Denied), "but the MSI it leads to is still not written");
        }

        [Test]
        public void MSI_and_MSI_X_left_enabled_are_turned_off_before_the_host_boots()
        {
            FunctionWithMessageInterrupts();
            _cpu.PciConfig[Device | Msi] |= 0x0001_0000;            // MSI Enable
            _cpu.PciConfig[Device | MsiX] |= 0x8000_0000;           // MSI-X Enable
            _cpu.PciConfig[0x8000_0800] = 0x7000_8086;              // 00:01.0, another partition's, with MSI on
            _cpu.PciConfig[0x8000_0804] = 0x0010_0000;
            _cpu.PciConfig[0x8000_080C] = 0;
            _cpu.PciConfig[0x8000_0834] = 0x40;
            _cpu.PciConfig[0x8000_0840] = 0x0001_0005;
            Assert.That(_ports.DisableMessageInterrupts(), Is.EqualTo(2));
            Assert.That(_cpu.PciConfig[Device | Msi], Is.EqualTo(0x0180_7005u));
            Assert.That(_cpu.PciConfig[Device | MsiX], Is.EqualTo(0x0007_0011u));
            Assert.That(_cpu.PciConfig[0x8000_0840], Is.EqualTo(0x0001_0005u), "another partition's function is left alone");
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
