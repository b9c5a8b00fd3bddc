using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using NUnit.Framework;
using Partition.Kernel;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The firmware FADT's machine-wide registers (<see cref="FadtRegisters"/>) that the
    /// hypervisor traps for the host partition (issue 11, item 4): parsed from the real
    /// firmwares' FADTs (ACPI 1.0 to 6.5) and from edited copies for the rules ACPICA applies
    /// (X_ fields first, the block length as the width), offsets from ACPI 6.5 Table 5.9.
    /// </summary>
    public class FadtRegistersTests
    {
        private static byte[] Fadt(string machine)
        {
            string folder = Path.Combine(FirmwareMemory.DataDirectory, machine);
            return File.ReadAllBytes(Directory.GetFiles(folder, "FACP-*.dat").Single());
        }

        private static FadtRegisters Parse(byte[] fadt)
        {
            Assert.That(FadtRegisters.TryParse(fadt, out var registers), Is.Null);
            return registers;
        }

        private static (ushort, int)[] Trapped(in FadtRegisters registers)
        {
            Span<IoPortRange> ports = stackalloc IoPortRange[FadtRegisters.MaxTrappedPorts];
            int count = registers.TrappedPorts(ports);
            Assert.That(count, Is.GreaterThanOrEqualTo(0));
            return ports.Slice(0, count).ToArray().Select(p => (p.Start, p.Count)).ToArray();
        }

        private static void AssertGas(AcpiGenericAddress gas, byte space, byte width, ulong address, string what)
        {
            Assert.That(gas.SpaceId, Is.EqualTo(space), what + " space");
            Assert.That(gas.BitWidth, Is.EqualTo(width), what + " width");
            Assert.That(gas.Address, Is.EqualTo(address), what + " address");
        }

        [Test]
        public void QemuQ35HasAResetRegisterAndPm1aControl()
        {
            var r = Parse(Fadt("qemu-q35"));
            Assert.That(r.Revision, Is.EqualTo(3));
            Assert.That(r.Length, Is.EqualTo(244));
            Assert.That(r.HardwareReduced, Is.False);
            Assert.That(r.ResetRegisterSupported, Is.True);
            AssertGas(r.ResetRegister, AcpiGenericAddress.SystemIo, 8, 0xCF9, "RESET_REG");
            Assert.That(r.ResetValue, Is.EqualTo(0x0F));
            AssertGas(r.Pm1aControl, AcpiGenericAddress.SystemIo, 16, 0x604, "X_PM1a_CNT_BLK");
            Assert.That(r.Pm1bControl.IsPresent, Is.False);
            Assert.That(r.SleepControl.IsPresent, Is.False, "a revision-3 FADT has no sleep registers");
            Assert.That((r.SmiCommand, r.AcpiEnable, r.AcpiDisable), Is.EqualTo((0xB2u, (byte)2, (byte)3)));
            Assert.That(r.Dsdt, Is.EqualTo(0x07FE_0040UL));
            Assert.That(r.Facs, Is.EqualTo(0x07FE_0000UL), "FIRMWARE_CTRL: X_FIRMWARE_CTRL is 0");
            Assert.That(Trapped(r), Is.EqualTo(new[] { ((ushort)0xCF9, 1), ((ushort)0x604, 2) }));
        }

        [Test]
        public void AnAcpi10FadtHasNoResetRegister()
        {
            var r = Parse(Fadt("qemu-pc"));
            Assert.That(r.Revision, Is.EqualTo(1));
            Assert.That(r.Length, Is.EqualTo(116));
            Assert.That(r.ResetRegisterSupported, Is.False);
            Assert.That(r.ResetRegister.IsPresent, Is.False);
            AssertGas(r.Pm1aControl, AcpiGenericAddress.SystemIo, 16, 0x604, "PM1a_CNT_BLK with PM1_CNT_LEN 2");
            Assert.That(Trapped(r), Is.EqualTo(new[] { ((ushort)0x604, 2) }));
        }

        [Test]
        public void BochsHasPm1aControlAt0xB004()
        {
            var r = Parse(Fadt("bochs"));
            AssertGas(r.Pm1aControl, AcpiGenericAddress.SystemIo, 16, 0xB004, "PM1a_CNT_BLK");
            Assert.That((r.SmiCommand, r.AcpiEnable), Is.EqualTo((0xB2u, (byte)0xF1)));
            Assert.That(Trapped(r), Is.EqualTo(new[] { ((ushort)0xB004, 2) }));
        }

        [Test]
        public void FirecrackerIsHardwareReducedWithNothingToTrap()
        {
            var r = Parse(Fadt("firecracker"));
            Assert.That(r.Revision, Is.EqualTo(6));
            Assert.That(r.HardwareReduced, Is.True);
            Assert.That(r.Dsdt, Is.EqualTo(0x9FD44UL), "X_DSDT: the 32-bit field is 0");
            Assert.That(r.Facs, Is.Zero);
            Assert.That(r.ResetRegisterSupported, Is.False);
            Assert.That(r.Pm1aControl.IsPresent || r.SleepControl.IsPresent, Is.False);
            Assert.That(Trapped(r), Is.Empty);
        }

        [Test]
        public void AGuestPartitionsFadtTrapsItsResetAndSleepRegisters()
        {
            var platform = AcpiPlatform.Create(1, 0x3F8);
            var r = Parse(new AcpiImage(platform).Fadt);
            Assert.That(r.HardwareReduced, Is.True);
            AssertGas(r.SleepControl, AcpiGenericAddress.SystemIo, 8, platform.SleepControlPort, "SLEEP_CONTROL_REG");
            AssertGas(r.SleepStatus, AcpiGenericAddress.SystemIo, 8, platform.SleepStatusPort, "SLEEP_STATUS_REG");
            Assert.That(r.ResetValue, Is.EqualTo(platform.ResetValue));
            Assert.That(Trapped(r), Is.EqualTo(new[] { ((ushort)platform.ResetPort, 1), ((ushort)platform.SleepControlPort, 1) }));
        }

        private static byte[] Edited(Action<byte[]> edit)
        {
            byte[] fadt = Fadt("qemu-q35");
            edit(fadt);
            return fadt;
        }

        private static void PutGas(byte[] fadt, int at, byte space, byte width, ulong address)
        {
            fadt[at] = space;
            fadt[at + 1] = width;
            fadt[at + 2] = 0;
            fadt[at + 3] = 0;
            BinaryPrimitives.WriteUInt64LittleEndian(fadt.AsSpan(at + 4), address);
        }

        [Test]
        public void TheXFormWinsAndTakesTheBlockLengthWhenItHasNoWidth()
        {
            // X_PM1a_CNT_BLK at 172 says 0x804 with no width; PM1a_CNT_BLK at 64 still says 0x604.
            var r = Parse(Edited(f => PutGas(f, 172, AcpiGenericAddress.SystemIo, 0, 0x804)));
            AssertGas(r.Pm1aControl, AcpiGenericAddress.SystemIo, 16, 0x804, "X_PM1a_CNT_BLK");
            // X_PM1b_CNT_BLK at 184 absent, PM1b_CNT_BLK at 68 set: the port, as ACPI 1.0 has it.
            r = Parse(Edited(f => BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(68), 0x640)));
            AssertGas(r.Pm1bControl, AcpiGenericAddress.SystemIo, 16, 0x640, "PM1b_CNT_BLK");
            Assert.That(Trapped(r), Is.EqualTo(new[] { ((ushort)0xCF9, 1), ((ushort)0x604, 2), ((ushort)0x640, 2) }));
        }

        [Test]
        public void RegistersOutsideIoSpaceAreNotPorts()
        {
            var r = Parse(Edited(f =>
            {
                PutGas(f, 116, AcpiGenericAddress.SystemMemory, 8, 0xFED0_3000);  // RESET_REG in memory
                PutGas(f, 172, AcpiGenericAddress.SystemMemory, 16, 0xFED0_4004); // PM1a control in memory
            }));
            AssertGas(r.ResetRegister, AcpiGenericAddress.SystemMemory, 8, 0xFED0_3000, "RESET_REG");
            Assert.That(Trapped(r), Is.Empty, "memory-space registers are the EPT's to trap, not the I/O bitmap's");
        }

        [Test]
        public void ResetRegisterSupportNeedsTheFlag()
        {
            var r = Parse(Edited(f => f[113] &= 0xFB)); // clear flag bit 10 (RESET_REG_SUP)
            Assert.That(r.ResetRegisterSupported, Is.False);
            Assert.That(r.ResetRegister.Address, Is.EqualTo(0xCF9UL), "still parsed");
            Assert.That(Trapped(r), Is.EqualTo(new[] { ((ushort)0x604, 2) }));
        }

        [Test]
        public void AShortFadtIsRefusedAndASmallSpanIsToldSo()
        {
            Assert.That(FadtRegisters.TryParse(Fadt("qemu-q35").AsSpan(0, 100), out _), Is.EqualTo("the firmware's FADT is shorter than ACPI 1.0's 116 bytes"));
            var r = Parse(Fadt("qemu-q35"));
            Span<IoPortRange> one = stackalloc IoPortRange[1];
            Assert.That(r.TrappedPorts(one), Is.EqualTo(-1));
        }
    }
}
