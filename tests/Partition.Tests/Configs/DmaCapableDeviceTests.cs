using System;
using System.Text;
using NUnit.Framework;
using Partition.Configs;

namespace Partition.Tests.Configs
{
    /// <summary>
    /// Until VT-d is programmed nothing confines a bus master's DMA: a PCI function given to a
    /// guest could write the hypervisor's memory and its neighbours'. Only the host partition,
    /// whose RAM is identity-mapped so that its devices' DMA lands in its own memory, may own PCI
    /// functions; the validator refuses one in any other partition, at that array element, once
    /// per function, and leaves the rest of the config's rules as they were.
    /// </summary>
    public class DmaCapableDeviceTests
    {
        private const string Config =
            "{ \"version\": 1, \"machine\": { \"cores\": 2, \"memory\": \"1 GiB\" }, \"partitions\": [\n" +
            "  { \"name\": \"host\", \"role\": \"host\", \"vcpus\": [ { \"core\": 0 } ], \"memory\": [ { \"size\": \"128 MiB\" } ],\n" +
            "    \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k\" },\n" +
            "    \"devices\": { HOST } },\n" +
            "  { \"name\": \"router\", \"role\": \"guest\", \"vcpus\": [ { \"core\": 1 } ], \"memory\": [ { \"size\": \"64 MiB\" } ],\n" +
            "    \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k\" },\n" +
            "    \"devices\": { GUEST } } ] }";

        private static ConfigResult Check(string host, string guest) =>
            ConfigChecker.Check(Encoding.UTF8.GetBytes(Config.Replace("HOST", host).Replace("GUEST", guest)));

        private static string[] Messages(ConfigResult result) => Array.ConvertAll(result.Errors, e => e.Format("c.json"));

        private static string Refusal(string function) =>
            "PCI function " + function + " can master the bus (DMA): without an IOMMU (VT-d is not programmed yet) it could write any memory " +
            "of the machine, the hypervisor's and other partitions' included; only the host partition, whose RAM is identity-mapped, " +
            "may own PCI functions until then: give it to the host or leave it out";

        [Test]
        public void AGuestsPciFunctionIsRefusedAtItsElement()
        {
            var result = Check("", "\"pci\": [ \"02:00.0\" ]");
            Assert.That(Messages(result), Is.EqualTo(new[] { "c.json:7:27: partitions[1].devices.pci[0]: " + Refusal("02:00.0") }));
            Assert.That(result.CanStart(0), Is.True, "the host still starts");
            Assert.That(result.CanStart(1), Is.False, "the guest is left out at boot");
        }

        [TestCase("\"role\": \"guset\", ", TestName = "A misspelt role is the reader's error alone")]
        [TestCase("", TestName = "A missing role is the reader's error alone")]
        public void UntilTheRoleIsReadNoFunctionIsRefused(string role)
        {
            var result = ConfigChecker.Check(Encoding.UTF8.GetBytes(
                Config.Replace("HOST", "").Replace("\"role\": \"guest\", ", role).Replace("GUEST", "\"pci\": [ \"00:1f.2\" ]")));
            Assert.That(Messages(result), Has.Length.EqualTo(1));
            Assert.That(Messages(result)[0], Does.StartWith("c.json:5:").And.Contain("role"));
        }

        [Test]
        public void TheHostMayOwnPciFunctions()
        {
            var result = Check("\"pci\": [ \"00:1f.0\", \"00:1f.2\", \"02:00.0\" ]", "");
            Assert.That(Messages(result), Is.Empty);
            Assert.That(result.CanStart(0) && result.CanStart(1), Is.True);
        }

        [Test]
        public void AGuestMayStillBeGivenPortsAndMmio()
        {
            var result = Check("\"pci\": [ \"02:00.0\" ]",
                "\"io_ports\": [ { \"base\": \"0x2F8\", \"count\": 8 } ], \"mmio\": [ { \"base\": \"0xFED00000\", \"size\": \"4 KiB\" } ]");
            Assert.That(Messages(result), Is.Empty);
        }

        [Test]
        public void EachOfAGuestsFunctionsIsRefusedOnceInTheWordsLspciUses()
        {
            // Upper-case hex and the segment are read; the message writes the function as lspci does.
            var result = Check("", "\"pci\": [ \"02:00.0\", \"0000:03:1F.7\", \"04:00.1\" ]");
            Assert.That(Messages(result), Is.EqualTo(new[]
            {
                "c.json:7:27: partitions[1].devices.pci[0]: " + Refusal("02:00.0"),
                "c.json:7:38: partitions[1].devices.pci[1]: " + Refusal("03:1f.7"),
                "c.json:7:54: partitions[1].devices.pci[2]: " + Refusal("04:00.1"),
            }));
        }

        [Test]
        public void AGuestsFunctionTheHostOwnsTooIsRefusedOnceForItsDma()
        {
            // The refusal is the error at that element; the duplicate claim would be fixed with it.
            var result = Check("\"pci\": [ \"02:00.0\" ]", "\"pci\": [ \"02:00.0\" ]");
            Assert.That(Messages(result), Is.EqualTo(new[] { "c.json:7:27: partitions[1].devices.pci[0]: " + Refusal("02:00.0") }));
        }

        [Test]
        public void AGuestsFunctionStillCountsAsClaimed()
        {
            // Listed by the guest first, then by the host: the host's element is the duplicate.
            var result = ConfigChecker.Check(Encoding.UTF8.GetBytes(
                "{ \"version\": 1, \"machine\": { \"cores\": 2, \"memory\": \"1 GiB\" }, \"partitions\": [\n" +
                "  { \"name\": \"router\", \"role\": \"guest\", \"vcpus\": [ { \"core\": 1 } ], \"memory\": [ { \"size\": \"64 MiB\" } ], \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k\" },\n" +
                "    \"devices\": { \"pci\": [ \"02:00.0\" ] } },\n" +
                "  { \"name\": \"host\", \"role\": \"host\", \"vcpus\": [ { \"core\": 0 } ], \"memory\": [ { \"size\": \"128 MiB\" } ], \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k\" },\n" +
                "    \"devices\": { \"pci\": [ \"02:00.0\" ] } } ] }"));
            Assert.That(Messages(result), Is.EqualTo(new[]
            {
                "c.json:3:27: partitions[0].devices.pci[0]: " + Refusal("02:00.0"),
                "c.json:5:27: partitions[1].devices.pci[0]: PCI function already owned by partitions[0] (router), at partitions[0].devices.pci[0]; each is given to one partition only",
            }));
        }

        [Test]
        public void AFunctionTheHostListsTwiceIsStillADuplicate()
        {
            var result = Check("\"pci\": [ \"02:00.0\", \"02:00.0\" ]", "");
            Assert.That(Messages(result), Is.EqualTo(new[]
            {
                "c.json:4:38: partitions[0].devices.pci[1]: PCI function already owned by this partition, at partitions[0].devices.pci[0]; each is given to one partition only",
            }));
        }
    }
}
