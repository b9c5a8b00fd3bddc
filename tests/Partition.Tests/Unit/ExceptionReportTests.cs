using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    public class ExceptionReportTests
    {
        [Test]
        public void PageFaultReportHasVectorCauseRipCr2AndRegisters()
        {
            var cpu = FakeCpu.Reset();
            var frame = new InterruptFrame { Vector = 14, ErrorCode = 0x2, Rip = 0x104095, Rax = 0x1234, R15 = 0xF };
            ExceptionReport.Print(frame, 0x18, 0);
            string text = cpu.ConsoleText;
            Assert.That(text, Does.Contain("*** CPU exception on CPU 0: vector 14 (#PF page fault), error code 0x0002 [page not present, write]"));
            Assert.That(text, Does.Contain("RIP=0x0000000000104095"));
            Assert.That(text, Does.Contain("CR2   =0x0000000000000018"));
            Assert.That(text, Does.Contain("RAX=0x0000000000001234"));
            Assert.That(text, Does.Contain("R15   =0x000000000000000F"));
        }

        [TestCase(0UL, "#DE divide error")]
        [TestCase(8UL, "#DF double fault")]
        [TestCase(13UL, "#GP general protection")]
        [TestCase(15UL, "reserved vector")]
        public void VectorNames(ulong vector, string name) => Assert.That(ExceptionReport.VectorName(vector), Is.EqualTo(name));
    }
}
