using System;
using System.Collections.Generic;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The Linux host partition's reset and power lines (<see cref="HostPowerLines"/>): which
    /// writes are requests for the hypervisor to decide and which reach the machine, as Linux's
    /// reboot paths (arch/x86/kernel/reboot.c) and ACPICA's sleep code write them; and the
    /// \_S5 sleep type read from a DSDT (<see cref="AmlSleepType"/>).
    /// </summary>
    public class HostPowerLinesTests
    {
        private sealed class RecordingPorts : IPortIo
        {
            public readonly List<(ushort Port, int Size, uint Value)> Writes = new();
            public uint In(ushort port, int size) => 0x5A;
            public void Out(ushort port, int size, uint value) => Writes.Add((port, size, value));
        }

        private const ushort Pm1a = 0xB004;

        // An ACPI 2.0 FADT (244 bytes) with PM1a_CNT at 0xB004 (2 bytes) and, when asked, RESET_REG = port 0xCF9, value 6.
        private static FadtRegisters Fadt(bool resetRegister)
        {
            var fadt = new byte[244];
            "FACP"u8.CopyTo(fadt);
            BitConverter.GetBytes(244u).CopyTo(fadt, 4);
            fadt[8] = 4;
            BitConverter.GetBytes((uint)Pm1a).CopyTo(fadt, 64);
            fadt[89] = 2;
            if (resetRegister)
            {
                BitConverter.GetBytes(FadtRegisters.FlagResetRegisterSupported).CopyTo(fadt, 112);
                fadt[116] = 1; fadt[117] = 8; fadt[118] = 0; fadt[119] = 1;
                BitConverter.GetBytes(0xCF9UL).CopyTo(fadt, 120);
                fadt[128] = 0x06;
            }
            Assert.That(FadtRegisters.TryParse(fadt, out var registers), Is.Null);
            return registers;
        }

        private static (HostPowerLines Lines, RecordingPorts Ports) Make(bool resetRegister = false, int s5 = 0)
        {
            var ports = new RecordingPorts();
            return (new HostPowerLines(Fadt(resetRegister), s5, ports), ports);
        }

        private static PowerLineRequest Write(HostPowerLines lines, ushort port, int size, uint value) =>
            lines.Access(port, size, false, ref value);

        [Test]
        public void Linux_keyboard_controller_reboot_is_a_request_and_never_reaches_the_machine()
        {
            var (lines, ports) = Make();
            Assert.That(lines.Claims(0x64, 1) && lines.Claims(0x60, 1) && lines.Claims(0x92, 1) && lines.Claims(0xCF9, 1), Is.True);
            Assert.That(Write(lines, 0x64, 1, 0xFE), Is.EqualTo(PowerLineRequest.Reset));
            Assert.That(lines.Why, Does.Contain("keyboard controller"));
            // Any pulse command with bit 0 low pulses the reset line; 0xFF pulses nothing.
            Assert.That(Write(lines, 0x64, 1, 0xF0), Is.EqualTo(PowerLineRequest.Reset));
            Assert.That(Write(lines, 0x64, 1, 0xFF), Is.EqualTo(PowerLineRequest.None));
            Assert.That(ports.Writes, Is.EqualTo(new[] { ((ushort)0x64, 1, 0xFFu) }));
        }

        [Test]
        public void The_output_port_is_the_hypervisors_and_bit_0_low_asks_for_a_reset()
        {
            var (lines, ports) = Make();
            Assert.That(Write(lines, 0x64, 1, 0xD1), Is.EqualTo(PowerLineRequest.None));
            Assert.That(Write(lines, 0x60, 1, 0xDF), Is.EqualTo(PowerLineRequest.None), "A20 on, reset line high: kept, not written");
            Assert.That(Write(lines, 0x64, 1, 0xD1), Is.EqualTo(PowerLineRequest.None));
            Assert.That(Write(lines, 0x60, 1, 0xFE), Is.EqualTo(PowerLineRequest.Reset));
            Assert.That(lines.Why, Does.Contain("output port"));
            Assert.That(ports.Writes, Is.Empty);
            // Without 0xD1 first, port 0x60 is the keyboard's data port: passed through.
            Assert.That(Write(lines, 0x60, 1, 0xF4), Is.EqualTo(PowerLineRequest.None));
            Assert.That(ports.Writes, Is.EqualTo(new[] { ((ushort)0x60, 1, 0xF4u) }));
        }

        [Test]
        public void Port_0x92_resets_on_request_only_and_keeps_A20_open()
        {
            var (lines, ports) = Make();
            Assert.That(Write(lines, 0x92, 1, 0x00), Is.EqualTo(PowerLineRequest.None));
            Assert.That(Write(lines, 0x92, 1, 0x01), Is.EqualTo(PowerLineRequest.Reset));
            Assert.That(Write(lines, 0x64, 1, 0xDD), Is.EqualTo(PowerLineRequest.None), "A20 off: dropped");
            Assert.That(ports.Writes, Is.EqualTo(new[] { ((ushort)0x92, 1, 0x02u) }));
        }

        [Test]
        public void A_dword_at_0xCF8_is_the_PCI_configuration_address_not_port_0xCF9()
        {
            var (lines, _) = Make(resetRegister: true);
            Assert.That(lines.Claims(0xCF8, 4) || lines.Claims(0xCF8, 2) || lines.Claims(0x60, 4) || lines.Claims(0x92, 2), Is.False);
            Assert.That(lines.Claims(0xCF9, 1), Is.True);
        }

        [Test]
        public void Port_0xCF9_passes_the_reset_kind_and_stops_RST_CPU()
        {
            var (lines, ports) = Make();
            Assert.That(Write(lines, 0xCF9, 1, 0x02), Is.EqualTo(PowerLineRequest.None));
            Assert.That(Write(lines, 0xCF9, 1, 0x06), Is.EqualTo(PowerLineRequest.Reset));
            Assert.That(lines.Why, Does.Contain("0xCF9"));
            Assert.That(ports.Writes, Is.EqualTo(new[] { ((ushort)0xCF9, 1, 0x02u) }));
        }

        [Test]
        public void The_FADT_reset_register_is_named_when_it_is_the_one_written()
        {
            var (lines, ports) = Make(resetRegister: true);
            Assert.That(Write(lines, 0xCF9, 1, 0x06), Is.EqualTo(PowerLineRequest.Reset));
            Assert.That(lines.Why, Is.EqualTo("the FADT's reset register"));
            Assert.That(ports.Writes, Is.Empty);
        }

        [Test]
        public void S5_through_PM1a_is_a_power_off_and_other_sleep_states_are_refused()
        {
            var (lines, ports) = Make(s5: 5);
            Assert.That(lines.Claims(Pm1a, 2) && lines.Claims(Pm1a + 1, 1) && !lines.Claims(Pm1a + 2, 1), Is.True);
            Assert.That(Write(lines, Pm1a, 2, 0x0001), Is.EqualTo(PowerLineRequest.None), "SCI_EN alone passes");
            Assert.That(Write(lines, Pm1a, 2, 5u << 10 | 1u << 13), Is.EqualTo(PowerLineRequest.PowerOff));
            Assert.That(lines.Why, Does.Contain("S5").And.Contain("PM1a_CNT"));
            Assert.That(Write(lines, Pm1a, 2, 3u << 10 | 1u << 13), Is.EqualTo(PowerLineRequest.RefusedSleep));
            // SLP_EN by a byte write to the register's upper half.
            Assert.That(Write(lines, Pm1a + 1, 1, 0x20 | 5 << 2), Is.EqualTo(PowerLineRequest.PowerOff));
            Assert.That(ports.Writes, Is.EqualTo(new[] { (Pm1a, 2, 0x0001u) }));
        }

        [Test]
        public void Without_an_S5_package_any_sleep_enable_is_taken_as_power_off()
        {
            var (lines, _) = Make(s5: -1);
            Assert.That(Write(lines, Pm1a, 2, 7u << 10 | 1u << 13), Is.EqualTo(PowerLineRequest.PowerOff));
        }

        [Test]
        public void Reads_pass_through()
        {
            var (lines, _) = Make();
            uint value = 0;
            Assert.That(lines.Access(0x64, 1, true, ref value), Is.EqualTo(PowerLineRequest.None));
            Assert.That(value, Is.EqualTo(0x5Au));
        }

        [Test]
        public void The_ports_to_trap_include_the_FADTs()
        {
            var (lines, _) = Make(resetRegister: true);
            var ports = new IoPortRange[HostPowerLines.MaxPorts];
            int count = lines.Ports(ports);
            var starts = new List<(ushort, int)>();
            for (int i = 0; i < count; i++)
                starts.Add((ports[i].Start, ports[i].Count));
            Assert.That(starts, Is.SupersetOf(new[] { ((ushort)0x60, 1), ((ushort)0x64, 1), ((ushort)0x92, 1), ((ushort)0xCF9, 1), (Pm1a, 2) }));
        }

        [TestCase(new byte[] { 0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x06, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00 }, 5, TestName = "Name(_S5, Package(4){5, 5, 0, 0}) gives 5")]
        [TestCase(new byte[] { 0x10, 0x08, 0x5C, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x04, 0x02, 0x00, 0x00 }, 0, TestName = "Name(\\_S5, Package(2){Zero, Zero}) gives 0")]
        [TestCase(new byte[] { 0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x41, 0x00, 0x02, 0x01, 0x01 }, 1, TestName = "A two-byte package length is skipped")]
        [TestCase(new byte[] { 0x14, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x04, 0x02, 0x0A, 0x05 }, -1, TestName = "_S5_ not named by NameOp is not taken")]
        [TestCase(new byte[] { 0x08, 0x5F, 0x53, 0x34, 0x5F, 0x12, 0x04, 0x02, 0x0A, 0x05 }, -1, TestName = "_S4_ is not _S5_")]
        [TestCase(new byte[] { 0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12 }, -1, TestName = "A cut encoding is not read past its end")]
        public void The_S5_sleep_type_is_found_by_its_AML_encoding(byte[] aml, int expected)
        {
            Assert.That(AmlSleepType.FindS5(aml), Is.EqualTo(expected));
        }
    }
}
