using System;
using System.Text;
using NUnit.Framework;
using Partition.Configs;
using Partition.Kernel;

namespace Partition.Tests.Configs
{
    /// <summary>
    /// At boot, a machine with less RAM than the config needs leaves out as little as it can:
    /// RAM is counted in the order the hypervisor creates partitions (the host first, then the
    /// guests in config order), and each partition that does not fit is an error of its own,
    /// so that the host and whatever fits still start.
    /// </summary>
    public class MemoryFitTests
    {
        // The host is listed last: it is counted first all the same.
        private const string Config =
            "{ \"version\": 1, \"machine\": { \"cores\": 4, \"memory\": \"1 GiB\" }, \"partitions\": [\n" +
            "  { \"name\": \"big\", \"role\": \"guest\", \"vcpus\": [ { \"core\": 1 } ], \"memory\": [ { \"size\": \"200 MiB\" } ], \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k\" } },\n" +
            "  { \"name\": \"small\", \"role\": \"guest\", \"vcpus\": [ { \"core\": 2 } ], \"memory\": [ { \"size\": \"32 MiB\" } ], \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k\" } },\n" +
            "  { \"name\": \"host\", \"role\": \"host\", \"vcpus\": [ { \"core\": 0 } ], \"memory\": [ { \"size\": \"128 MiB\" } ], \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k\" } } ] }";

        private static ConfigResult OnMachineWith(ulong ram, string config = Config)
        {
            var memoryMap = new[] { new MemoryRegion(0x100000, ram, MemoryRegionType.Available) };
            var modules = new[]
            {
                new BootModule(0x400000, 0x401000, "partition-config"),
                new BootModule(0x500000, 0x501000, "guest-image big kernel"),
                new BootModule(0x501000, 0x502000, "guest-image small kernel"),
                new BootModule(0x502000, 0x503000, "guest-image host kernel"),
            };
            return BootConfiguration.Validate(Encoding.UTF8.GetBytes(config), new MachineFacts(4, memoryMap, modules));
        }

        [Test]
        public void OnTheMachineItDeclaresEverythingStarts()
        {
            var result = OnMachineWith(1UL << 30);
            Assert.That(result.IsValid, Is.True);
        }

        [Test]
        public void WithLessRamTheHostAndWhateverFitsStart()
        {
            // 256 MiB: the hypervisor's 16 and the host's 128 fit, the 200 MiB guest does not,
            // the 32 MiB guest after it still does.
            var result = OnMachineWith(256UL << 20);
            Assert.That(Array.ConvertAll(result.Errors, e => e.Format("config")), Is.EqualTo(new[]
            {
                "config:2:75: partitions[0].memory: does not fit in RAM: the partition needs 200 MiB (its regions and the shared memory it is the first to use); " +
                "the hypervisor and the partitions created before it (the host first, then in config order) take 144 MiB of the 256 MiB this machine has, leaving 112 MiB; " +
                "at boot it is left out and the others start",
            }));
            Assert.That(result.CanStart(2), Is.True, "the host");
            Assert.That(result.CanStart(1), Is.True, "the small guest");
            Assert.That(result.CanStart(0), Is.False, "the big guest");
            Assert.That(ConfigSummary.DescribePartition(result, 0), Does.EndWith(": left out (see the error at partitions[0].memory above)"));
            Assert.That(ConfigSummary.DescribePartition(result, 2), Does.EndWith(": starts"));
        }

        [Test]
        public void WhenOnlyTheHostFitsItStarts()
        {
            var result = OnMachineWith(160UL << 20);
            Assert.That(result.CanStart(2), Is.True, "the host");
            Assert.That(result.CanStart(0), Is.False);
            Assert.That(result.CanStart(1), Is.False);
            Assert.That(result.ErrorCount, Is.EqualTo(2));
        }

        [Test]
        public void WhenNotEvenTheHypervisorFitsNothingStarts()
        {
            var result = OnMachineWith(8UL << 20);
            Assert.That(result.CanStart(2), Is.False);
            Assert.That(result.Errors[^1].Format("config"), Is.EqualTo("config:1:1: (top level): the hypervisor keeps 16 MiB, more than the 8 MiB this machine has; nothing can start"));
        }

        [Test]
        public void SharedMemoryCountsWithTheFirstPartitionThatUsesIt()
        {
            string config = Config.TrimEnd('}', ' ') +
                ", \"shared_memory\": [ { \"name\": \"ring\", \"size\": \"64 MiB\", \"sides\": [ { \"partition\": \"small\", \"access\": \"read\", \"guest_physical\": \"0x40000000\" }, " +
                "{ \"partition\": \"host\", \"access\": \"read-write\", \"guest_physical\": \"0x40000000\" } ] } ] }";
            // 16 + 128 + 64 (the ring, with the host) = 208 MiB; the small guest's 32 fits in 240.
            var result = OnMachineWith(240UL << 20, config);
            Assert.That(result.CanStart(2), Is.True);
            Assert.That(result.CanStart(1), Is.True);
            Assert.That(result.CanStart(0), Is.False);
        }

        [Test]
        public void PartitionCheckReportsEachPartitionThatDoesNotFitTheDeclaredMachine()
        {
            var result = ConfigChecker.Check(Encoding.UTF8.GetBytes(Config.Replace("\"memory\": \"1 GiB\"", "\"memory\": \"256 MiB\"")));
            Assert.That(result.ErrorCount, Is.EqualTo(1));
            Assert.That(result.Errors[0].Message, Does.Contain("of the 256 MiB the machine section declares, leaving 112 MiB"));
            Assert.That(result.Errors[0].Partition, Is.EqualTo(0));
        }
    }
}
