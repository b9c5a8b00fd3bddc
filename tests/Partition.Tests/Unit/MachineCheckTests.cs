using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>When the hypervisor may go on after a machine check (SDM Vol. 3B, 16.3.1.2, IA32_MCG_STATUS).</summary>
    public class MachineCheckTests
    {
        [TestCase(0b001UL, true, TestName = "RIPV: the interrupted code may be resumed")]
        [TestCase(0b101UL, true, TestName = "RIPV with MCIP (in progress)")]
        [TestCase(0b010UL, false, TestName = "EIPV alone: the error is at RIP, which cannot be resumed")]
        [TestCase(0b100UL, false, TestName = "MCIP alone")]
        [TestCase(0UL, false, TestName = "nothing valid: stop")]
        public void Only_a_valid_restart_IP_lets_the_hypervisor_go_on(ulong status, bool resume) =>
            Assert.That(MachineCheck.CanResume(status), Is.EqualTo(resume));
    }
}
