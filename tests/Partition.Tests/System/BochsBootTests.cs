using System;
using NUnit.Framework;
using Partition.Host;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// Boots the real image in Bochs (tigerlake: Intel VT-x with EPT) and checks what the kernel
    /// prints on COM1. Each boot takes a few seconds; independent boots run in parallel.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class BochsBootTests
    {
        private static readonly TimeSpan BootTimeout = TimeSpan.FromSeconds(60);

        [Test]
        public void Boot_reports_vmx_capabilities_and_enters_vmx_root_operation()
        {
            RunResult result = BootScenario.Bochs("bochs-vmx-root", "exit=poweroff", BootTimeout,
                "Partition hypervisor", "\nVMX:", "VMX root operation entered on CPU 0");

            BootScenario.AssertLineStartsWith(result, "Partition hypervisor");
            BootScenario.AssertLineStartsWith(result, "VMX:");
            BootScenario.AssertContains(result, "VMX root operation entered on CPU 0");
        }

        [Test]
        public void Page_fault_prints_an_exception_report_with_registers()
        {
            RunResult result = BootScenario.Bochs("bochs-fault-page", "fault=page exit=poweroff", BootTimeout,
                "*** CPU exception on CPU 0: vector 14 (#PF page fault)", "RIP=0x");

            BootScenario.AssertContains(result, "*** CPU exception on CPU 0: vector 14 (#PF page fault)");
            BootScenario.AssertContains(result, "RIP=0x");
        }

        [Test]
        public void Thrown_exception_fails_fast_with_a_panic_message()
        {
            RunResult result = BootScenario.Bochs("bochs-fault-throw", "fault=throw exit=poweroff", BootTimeout,
                "PANIC: System.InvalidOperationException");

            BootScenario.AssertContains(result, "PANIC: System.InvalidOperationException");
        }

        [Test]
        public void Exhausted_boot_heap_panics()
        {
            RunResult result = BootScenario.Bochs("bochs-fault-heap", "fault=heap exit=poweroff", BootTimeout,
                "PANIC: OutOfMemory: boot heap exhausted");

            BootScenario.AssertContains(result, "boot heap exhausted");
        }
    }
}
