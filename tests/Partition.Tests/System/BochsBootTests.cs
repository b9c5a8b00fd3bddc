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
                "*** the hypervisor stops");

            BootScenario.AssertContains(result, "*** CPU exception on CPU 0: vector 14 (#PF page fault), error code 0x0000 [page not present, read]");
            BootScenario.AssertContains(result, "RIP=0x");
            // fault=page reads address 0x18: page 0 is deliberately left unmapped.
            BootScenario.AssertContains(result, "CR2   =0x0000000000000018");
        }

        [Test]
        public void Thrown_exception_fails_fast_with_a_panic_message()
        {
            RunResult result = BootScenario.Bochs("bochs-fault-throw", "fault=throw exit=poweroff", BootTimeout,
                "PANIC: System.InvalidOperationException: fault=throw on the kernel command line\n");

            BootScenario.AssertContains(result, "PANIC: System.InvalidOperationException: fault=throw on the kernel command line");
        }

        [Test]
        public void Core_library_passes_the_runtime_self_test_in_the_image()
        {
            // Interface dispatch, casts, boxing, generics, delegates and statics, compiled by ILC
            // against our core library; the host tests run the same checks under .NET.
            RunResult result = BootScenario.Bochs("bochs-selftest", "selftest=runtime exit=poweroff", BootTimeout,
                "Runtime self-test:", "VMX root operation entered");

            BootScenario.AssertContains(result, "Runtime self-test: 31 passed, 0 failed");
        }

        [Test]
        public void Exhausted_boot_heap_panics()
        {
            RunResult result = BootScenario.Bochs("bochs-fault-heap", "fault=heap exit=poweroff", BootTimeout,
                "bytes in use\n");

            BootScenario.AssertContains(result, "boot heap exhausted");
        }
    }
}
