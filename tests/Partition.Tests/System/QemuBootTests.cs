using System;
using NUnit.Framework;
using Partition.Host;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// Boots the real image in QEMU with TCG, which has no VMX: the kernel must say so and power
    /// off (through isa-debug-exit) instead of hanging or faulting.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class QemuBootTests
    {
        [Test]
        public void Without_vt_x_the_kernel_says_so_and_powers_off()
        {
            RunResult result = BootScenario.Qemu("qemu-no-vmx", "exit=poweroff", TimeSpan.FromSeconds(60));

            BootScenario.AssertContains(result, "VT-x is not available");
            Assert.That(result.Outcome, Is.EqualTo(RunOutcome.Exited),
                () => $"QEMU did not exit by itself.\n{result.Report()}");
        }
    }
}
