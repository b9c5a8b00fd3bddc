using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    public class RuntimeSelfTestTests
    {
        // The image runs the same checks ("selftest=runtime"); here .NET itself confirms that
        // every expected value in them is what C# semantics give.
        [Test]
        public void EveryCheckHoldsUnderDotNet()
        {
            FakeCpu.Reset();
            int failed = RuntimeSelfTest.Run(out int passed);
            Assert.That(FakeCpu.Current.ConsoleText, Is.Empty, "failed checks are named on the console");
            Assert.That(failed, Is.Zero);
            Assert.That(passed, Is.EqualTo(31));
        }
    }
}
