using System;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// configs/shared-memory-ring.json: one region, read-write for the writer at 0x10000000 and
    /// read-only for the reader at 0x20000000. The reader sees the writer's counter move through
    /// its own view, then writes to it and is stopped; the writer runs on.
    /// </summary>
    [TestFixture]
    [Category("System")]
    [Parallelizable(ParallelScope.All)]
    public sealed class SharedMemoryTests
    {
        [Test]
        public void A_shared_region_carries_data_and_its_read_only_side_cannot_write_it()
        {
            var result = BootScenario.BochsExample("shared-memory-ring", "exit=poweroff stop_after_ms=600", "configs/shared-memory-ring.json",
                ExampleBoot.Flat(("writer", "ring-writer.bin"), ("reader", "ring-reader.bin")), null, 1, TimeSpan.FromSeconds(90), "Nothing left to run");
            string serial = CrashAnnotator.Annotate(result.Serial);

            BootScenario.AssertContains(result, $", shared ring at 0x{DemoGuests.RingAtWriter:X} (read-write), ");
            BootScenario.AssertContains(result, $", shared ring at 0x{DemoGuests.RingAtReader:X} (read-only), ");
            BootScenario.AssertContains(result, "\n[reader] the writer's counter moved forward\n");
            BootScenario.AssertContains(result, "\n*** partition reader vCPU 0 stopped: EPT violation: a write to shared memory it may only read\n");
            BootScenario.AssertContains(result, $"guest-physical 0x{DemoGuests.RingAtReader:X16} write\n    in shared memory ring, read-only here\n");
            Assert.That(serial, Does.Contain($"\n    instruction: {CrashAnnotator.Disassemble(TestGuest.EmitSharedReaderWrite)}\n"), result.Report());
            Assert.That(result.Serial, Does.Not.Contain("[reader] the write did not fault"));
            Assert.That(result.Serial, Does.Not.Contain("BACKWARD"));
            BootScenario.AssertContains(result, "\nPartition writer still runnable at the time limit;");
        }
    }
}
