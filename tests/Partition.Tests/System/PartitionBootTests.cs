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

        /// <summary>The config as a "partition-config" module and each image as "guest-image NAME image".</summary>
        private static IsoModule[] ConfigAndGuests(string runDirectory, string exampleConfig)
        {
            string repository = RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory).Root;
            string config = Path.Combine(runDirectory, Path.GetFileName(exampleConfig));
            File.Copy(Path.Combine(repository, exampleConfig), config);
            string[] images = DemoGuests.Write(Path.Combine(runDirectory, "images"));
            return new[]
            {
                new IsoModule(config, "partition-config"),
                new IsoModule(images[0], "guest-image real image"),
                new IsoModule(images[1], "guest-image prot image"),
                new IsoModule(images[2], "guest-image long image"),
            };
        }

        [Test]
        public void Guests_in_real_protected_and_long_mode_print_with_their_prefixes()
        {
            RunResult result = BootScenario.Bochs("partitions-three-modes", "exit=poweroff",
                dir => ConfigAndGuests(dir, "configs/three-modes.json"), Timeout, "All partitions have halted or stopped");

            BootScenario.AssertContains(result, "\nConfig: 3 partitions, valid\n");
            foreach (var (name, greeting) in new[] { ("real", "Hello from real mode"), ("prot", "Hello from 32-bit protected mode"), ("long", "Hello from 64-bit long mode") })
            {
                BootScenario.AssertContains(result, $"\n[{name}] {greeting}\n");
                BootScenario.AssertContains(result, $"\n[{name}] CPUID 0x40000000: Partition HV\n");
                BootScenario.AssertContains(result, $"\n[{name}] hypercall ABI version 1\n");
                BootScenario.AssertContains(result, $"\n[{name}] unassigned port reads all ones: yes\n");
                BootScenario.AssertContains(result, $"\n[{name}] done\n");
                // One CPUID, one VMCALL, one HLT; the I/O count depends on the text printed.
                BootScenario.AssertContains(result, $"\nPartition {name} halted; exits: CPUID 1, HLT 1, VMCALL 1, I/O instruction ");
            }
            BootScenario.AssertContains(result, "denied port accesses 1\n");
        }
    }
}
