using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    public class KernelCommandLineTests
    {
        [TestCase("fault=page exit=poweroff", "fault", "page")]
        [TestCase("fault=page exit=poweroff", "exit", "poweroff")]
        [TestCase("  exit=poweroff  ", "exit", "poweroff")]
        [TestCase("fault=page fault=throw", "fault", "throw")]
        [TestCase("debug", "debug", "")]
        [TestCase("faults=page", "fault", null)]
        [TestCase("fault", "faul", null)]
        [TestCase("", "fault", null)]
        [TestCase("a=b=c", "a", "b=c")]
        public void Get(string text, string key, string expected)
        {
            Assert.That(new KernelCommandLine(text).Get(key), Is.EqualTo(expected));
        }

        [Test]
        public void NullTextHasNoKeys()
        {
            Assert.That(new KernelCommandLine(null).Get("exit"), Is.Null);
        }
    }
}
