using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    public class DescriptorsTests
    {
        // SDM Vol. 3A, figure 7-4: base 31:24 in bits 63:56, type 9 + P in byte 5, limit 15:0 low.
        [Test]
        public void TssDescriptorSplitsBaseAndLimit()
        {
            Descriptors.TssDescriptor(0x1122_3344_5566_7788UL, 103, out ulong low, out ulong high);
            Assert.That(low, Is.EqualTo(0x5500_8966_7788_0067UL));
            Assert.That(high, Is.EqualTo(0x1122_3344UL));
        }

        // SDM Vol. 3A, figure 6-8: offset 15:0, selector, IST, type 0xE with P, offset 31:16, 63:32.
        [Test]
        public void InterruptGateEncodesHandlerSelectorAndIst()
        {
            Descriptors.InterruptGate(0xFFFF_8000_1234_5678UL, 0x08, 1, out ulong low, out ulong high);
            Assert.That(low, Is.EqualTo(0x1234_8E01_0008_5678UL));
            Assert.That(high, Is.EqualTo(0xFFFF_8000UL));
        }

        [Test]
        public void SegmentDescriptorsAreLongModeCodeAndData()
        {
            const ulong longModeBit = 1UL << 53;
            Assert.That(Descriptors.KernelCode & longModeBit, Is.Not.Zero);
            Assert.That((Descriptors.KernelCode >> 40) & 0xFF, Is.EqualTo(0x9A), "present, DPL 0, code, execute/read");
            Assert.That((Descriptors.KernelData >> 40) & 0xFF, Is.EqualTo(0x92), "present, DPL 0, data, read/write");
        }

        [Test]
        public void ProcessorTablesInstallGdtThenTaskRegisterThenIdt()
        {
            var cpu = FakeCpu.Reset();
            new ProcessorTables(0).Install();
            Assert.That(cpu.Log, Is.EqualTo(new[] { "lgdt", "ltr 0x18", "lidt" }));
        }
    }
}
