using System;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// A guest that writes outside its memory is stopped alone: one crash report naming the
    /// reason, the guest-physical address and the faulting instruction (disassembled with Iced
    /// from the bytes the hypervisor read at its RIP), its memory scrubbed, and the partition
    /// beside it running on.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class FaultContainmentTests
    {
        [Test]
        public void A_wild_write_stops_only_that_guest_with_a_report_naming_the_instruction()
        {
            var result = BootScenario.BochsExample("fault-containment", "exit=poweroff stop_after_ms=800", "configs/fault-containment.json",
                ExampleBoot.Flat(("host", "spin.bin"), ("wild", "wild.bin")), null, 1, TimeSpan.FromSeconds(90), "Run over: ");
            string serial = CrashAnnotator.Annotate(result.Serial);

            string expected = CrashAnnotator.Disassemble(TestGuest.EmitWildWrite);

            BootScenario.AssertContains(result, "\n[wild] about to write outside my memory\n");
            BootScenario.AssertContains(result, "\n*** partition wild vCPU 0 stopped: EPT violation: an access outside the partition's memory\n");
            BootScenario.AssertContains(result, "guest-physical 0x0000000001000000 write\n");
            Assert.That(serial, Does.Contain($"\n    instruction: {expected}\n"), result.Report());
            Assert.That(expected, Is.EqualTo("mov [rax],rbx"), "what Iced calls the wild write");
            BootScenario.AssertContains(result, "\nPartition wild stopped (EPT violation: an access outside the partition's memory); exits: ");
            BootScenario.AssertContains(result, "; memory scrubbed");
            Assert.That(result.Serial, Does.Not.Contain("[wild] the write did not fault"));
            // The neighbour keeps running after the crash.
            Assert.That(result.Serial.IndexOf("\n[host] progress 3\n", StringComparison.Ordinal),
                Is.GreaterThan(result.Serial.IndexOf("stopped: EPT violation", StringComparison.Ordinal)), result.Report());
        }

        [Test]
        public void Restart_brings_a_crashed_partition_back_with_scrubbed_memory_while_the_other_runs_on()
        {
            var result = BootScenario.BochsExample("fault-restart", "exit=poweroff stop_after_ms=900", "configs/fault-containment.json",
                ExampleBoot.Flat(("host", "spin.bin"), ("wild", "wild.bin")), "300 restart host\n400 restart wild\n500 list\n", 1,
                TimeSpan.FromSeconds(90), "Run over: ");

            BootScenario.AssertContains(result, "\nrestart host: refused: it is running (only a halted or stopped partition restarts)\n");
            BootScenario.AssertContains(result, "\nrestart wild: restarting from its image on core 0\n");
            BootScenario.AssertContains(result, "\nwild: restarted from its image, memory scrubbed\n");
            // Booted twice from its image: two greetings and two crash reports.
            Assert.That(System.Text.RegularExpressions.Regex.Matches(result.Serial, @"\n\[wild\] about to write outside my memory\n").Count, Is.EqualTo(2), result.Report());
            Assert.That(System.Text.RegularExpressions.Regex.Matches(result.Serial, @"\n\*\*\* partition wild vCPU 0 stopped: EPT violation").Count, Is.EqualTo(2), result.Report());
            BootScenario.AssertContains(result, "\n  host (host): running, vCPU 0 on core 0, 4 MiB\n");
            int restart = result.Serial.IndexOf("wild: restarted from its image", StringComparison.Ordinal);
            Assert.That(result.Serial.IndexOf("\n[host] progress ", restart, StringComparison.Ordinal), Is.GreaterThan(restart), "the host partition runs on");
        }

        /// <summary>
        /// Scrubbing, proven from inside the guest rather than by the word "scrubbed": a guest
        /// that finds its memory zero, leaves a secret in it and halts is restarted a thousand
        /// times, and finds its memory zero every time; and the restarts make the hypervisor
        /// allocate nothing (its heap is never freed).
        /// </summary>
        [Test]
        public void A_thousand_restarts_each_find_the_last_runs_secret_gone_and_allocate_nothing()
        {
            const int restarts = 1000;
            var script = new System.Text.StringBuilder();
            for (int i = 0; i < restarts; i++)
                script.Append($"{200 + i * 15} restart secret\n");
            var result = BootScenario.BochsExample("scrub-restarts", $"exit=poweroff stop_after_ms={200 + restarts * 15 + 300}", "configs/scrub.json",
                ExampleBoot.Flat(("host", "spin.bin"), ("secret", "secret.bin")), script.ToString(), 1, TimeSpan.FromSeconds(300), "Run over: ");

            Assert.That(System.Text.RegularExpressions.Regex.Matches(result.Serial, @"(?m)^secret: restarted from its image, memory scrubbed$").Count,
                Is.EqualTo(restarts), result.Report());
            Assert.That(System.Text.RegularExpressions.Regex.Matches(result.Serial, @"(?m)^\[secret\] memory clean$").Count, Is.EqualTo(restarts + 1), result.Report());
            Assert.That(result.Serial, Does.Not.Contain("SECRET SURVIVED"));
            BootScenario.AssertContains(result, "\nHypervisor heap: 0 bytes allocated while the partitions ran");
        }
    }
}
