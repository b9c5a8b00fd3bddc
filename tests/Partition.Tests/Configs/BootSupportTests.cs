using System.Text;
using NUnit.Framework;
using Partition.Configs;
using Partition.Kernel;

namespace Partition.Tests.Configs
{
    /// <summary>
    /// `partition check` and the boot agree on which partitions start: a valid partition the
    /// hypervisor cannot run yet (device pass-through, too many vCPUs) is "left out at boot" in
    /// the summary, with the reason the boot gives (<see cref="BootSupport"/>, asked by
    /// <c>PartitionSpec.TryFromConfig</c>).
    /// </summary>
    public class BootSupportTests
    {
        private const string Config =
            "{ \"version\": 1, \"machine\": { \"cores\": 2, \"memory\": \"512 MiB\" }, \"partitions\": [\n" +
            "  { \"name\": \"host\", \"role\": \"host\", \"vcpus\": [ { \"core\": 0 } ], \"memory\": [ { \"size\": \"32 MiB\" } ], \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k\" } },\n" +
            "  { \"name\": \"printer\", \"role\": \"guest\", \"vcpus\": [ { \"core\": 1 } ], \"memory\": [ { \"size\": \"32 MiB\" } ], \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k\" },\n" +
            "    \"devices\": { \"io_ports\": [ { \"base\": \"0x378\", \"count\": 8 } ] } } ] }";

        private static ConfigResult Check()
        {
            var memoryMap = new[] { new MemoryRegion(0x100000, 256UL << 20, MemoryRegionType.Available) };
            var modules = new[]
            {
                new BootModule(0x400000, 0x401000, "partition-config"),
                new BootModule(0x500000, 0x501000, "guest-image host kernel"),
                new BootModule(0x501000, 0x502000, "guest-image printer kernel"),
            };
            return BootConfiguration.Validate(Encoding.UTF8.GetBytes(Config), new MachineFacts(2, memoryMap, modules));
        }

        [Test]
        public void A_partition_the_boot_leaves_out_is_left_out_in_the_summary_with_the_boots_reason()
        {
            var result = Check();
            Assert.That(result.ErrorCount, Is.Zero);
            Assert.That(ConfigSummary.DescribePartition(result, 0), Does.EndWith(": starts"));
            Assert.That(PartitionSpec.TryFromConfig(result.Configuration.Partitions[1], out _, out string why), Is.False);
            Assert.That(ConfigSummary.DescribePartition(result, 1), Does.EndWith($": left out at boot ({why})"));
            Assert.That(why, Is.EqualTo("device pass-through (I/O ports, MMIO, PCI) is not supported yet"));
        }

        [Test]
        public void What_the_summary_says_starts_the_boot_can_build()
        {
            var result = Check();
            Assert.That(PartitionSpec.TryFromConfig(result.Configuration.Partitions[0], out var spec, out string why), Is.True, why);
            Assert.That(spec.Name, Is.EqualTo("host"));
        }
    }
}
