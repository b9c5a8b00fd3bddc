using System;
using System.IO;
using NUnit.Framework;
using Partition.Host;
using Partition.Tests.Guests;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// Boots the hypervisor with guests assembled by <see cref="TestGuest"/> and checks what
    /// they print through their virtual UARTs and what the hypervisor counts.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class PartitionBootTests
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

        private static IsoModule Guest(string runDirectory, string file, byte[] image, string commandLine)
        {
            string path = Path.Combine(runDirectory, file);
            File.WriteAllBytes(path, image);
            return new IsoModule(path, commandLine);
        }

        [Test]
        public void Guests_in_real_protected_and_long_mode_print_with_their_prefixes()
        {
            RunResult result = BootScenario.Bochs("partitions-three-modes", "exit=poweroff", dir => new[]
            {
                Guest(dir, "real.bin", TestGuest.Standard(16, 0x1000, 0x3F8, "Hello from real mode"),
                    "partition name=real mode=real memory=1M load=0x1000 entry=0x1000 uart=0x3f8"),
                Guest(dir, "prot.bin", TestGuest.Standard(32, 0x100000, 0x2F8, "Hello from 32-bit protected mode"),
                    "partition name=prot mode=protected32 memory=2M load=0x100000 uart=0x2f8"),
                Guest(dir, "long.bin", TestGuest.Standard(64, 0x200000, 0x3E8, "Hello from 64-bit long mode"),
                    "partition name=long mode=long64 memory=4M load=0x200000 uart=0x3e8"),
            }, Timeout, "All partitions have halted or stopped");

            foreach (var (name, greeting) in new[] { ("real", "Hello from real mode"), ("prot", "Hello from 32-bit protected mode"), ("long", "Hello from 64-bit long mode") })
            {
                BootScenario.AssertContains(result, $"\n[{name}] {greeting}\n");
                BootScenario.AssertContains(result, $"\n[{name}] CPUID 0x40000000: Partition HV\n");
                BootScenario.AssertContains(result, $"\n[{name}] hypercall ABI version 1\n");
                BootScenario.AssertContains(result, $"\n[{name}] unassigned port reads all ones: yes\n");
                BootScenario.AssertContains(result, $"\n[{name}] done\n");
                // One CPUID, one VMCALL, one HLT; the I/O count depends on the text printed.
                BootScenario.AssertContains(result, $"\nPartition {name} halted; exits: CPUID 1, HLT 1, VMCALL 1, I/O instruction ");
                BootScenario.AssertContains(result, "denied port accesses 1\n");
            }
        }
    }
}
