using System;
using System.IO;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// Boots the hypervisor with an example configuration from configs/ and the Iced-assembled
    /// guests it names, and checks what the guests print through their virtual UARTs and what
    /// the hypervisor counts.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class PartitionBootTests
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

        [Test]
        public void Guests_in_real_protected_and_long_mode_print_with_their_prefixes()
        {
            RunResult result = BootScenario.BochsExample("partitions-three-modes", "exit=poweroff", "configs/three-modes.json",
                ExampleBoot.Flat(("real", "real.bin"), ("prot", "prot.bin"), ("long", "long.bin")), null, 1,
                Timeout, "Run over: ");

            BootScenario.AssertContains(result, "\nConfig: 3 partitions, valid\n");
            foreach (var (name, greeting) in new[] { ("real", "Hello from real mode"), ("prot", "Hello from 32-bit protected mode"), ("long", "Hello from 64-bit long mode") })
            {
                BootScenario.AssertContains(result, $"\n[{name}] {greeting}\n");
                BootScenario.AssertContains(result, $"\n[{name}] CPUID 0x40000000: Partition HV\n");
                BootScenario.AssertContains(result, $"\n[{name}] hypercall ABI version 1\n");
                // Port 0x61 is nobody's device: a guest is refused it, the host partition reaches the hardware.
                BootScenario.AssertContains(result, name == "long" ? "\n[long] unassigned port reads all ones: NO\n" : $"\n[{name}] unassigned port reads all ones: yes\n");
                BootScenario.AssertContains(result, $"\n[{name}] done\n");
                // One CPUID, one VMCALL, one HLT; the I/O count depends on the text printed.
                BootScenario.AssertContains(result, $"\nPartition {name} halted; exits: CPUID 1, HLT 1, VMCALL 1, I/O instruction ");
            }
            Assert.That(System.Text.RegularExpressions.Regex.Matches(result.Serial, "; refused: 1 port access\n").Count, Is.EqualTo(2), "the two guests, not the host");
            BootScenario.AssertContains(result, "\npartition real: IN from port 0x0061 refused: not its device, reads all ones\n");
            Assert.That(result.Serial, Does.Not.Contain("partition long: IN from port 0x0061"));
        }

        [Test]
        public void Multiboot_and_Multiboot2_kernels_get_their_command_line_modules_and_memory_map()
        {
            RunResult result = BootScenario.BochsExample("partitions-multiboot", "exit=poweroff", "configs/multiboot-guests.json",
                new[] { ("mb1.bin", "guest-image mb1 kernel"), ("module.txt", "guest-image mb1 module0 the-module"),
                        ("mb2.elf", "guest-image mb2 kernel"), ("module.txt", "guest-image mb2 module0 the-module") }, null, 1,
                Timeout, "Run over: ");

            BootScenario.AssertContains(result, "Partition mb1: 32-bit protected mode, 4 MiB");
            BootScenario.AssertContains(result, "Multiboot kernel, entry 0x100020");
            BootScenario.AssertContains(result, "Multiboot2 kernel, entry 0x200018");
            foreach (var (name, greeting, cmdline) in new[] { ("mb1", "Hello from a Multiboot kernel", "mode=ping"), ("mb2", "Hello from a Multiboot2 kernel", "mode=pong") })
            {
                BootScenario.AssertContains(result, $"\n[{name}] {greeting}\n");
                BootScenario.AssertContains(result, $"\n[{name}] cmdline: {cmdline}\n");
                BootScenario.AssertContains(result, $"\n[{name}] module: text of a boot module\n");
                BootScenario.AssertContains(result, $"\n[{name}] memory map entries: 2\n");
                BootScenario.AssertContains(result, $"\n[{name}] done\n");
                BootScenario.AssertContains(result, $"\nPartition {name} halted; exits: HLT 1, I/O instruction ");
            }
        }
    }
}
