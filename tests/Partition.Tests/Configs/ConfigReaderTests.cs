using System;
using System.Text;
using NUnit.Framework;
using Partition.Configs;
using Partition.Kernel;

namespace Partition.Tests.Configs
{
    public class ConfigReaderTests
    {
        private const string Minimal =
            "{ \"version\": 1, \"machine\": { \"cores\": 2, \"memory\": \"256 MiB\" }, \"partitions\": [\n" +
            "  { \"name\": \"host\", \"role\": \"host\", \"vcpus\": [ { \"core\": 0 } ], \"memory\": [ { \"size\": SIZE } ],\n" +
            "    \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k.elf\" } } ] }";

        private static ConfigResult Check(string json) => ConfigChecker.Check(Encoding.UTF8.GetBytes(json));

        [TestCase("4096", 4096UL)]
        [TestCase("\"64 MiB\"", 64UL << 20)]
        [TestCase("\"128MiB\"", 128UL << 20)]
        [TestCase("\"0x2000\"", 0x2000UL)]
        [TestCase("\"8 KiB\"", 8192UL)]
        [TestCase("\"1_048_576\"", 1UL << 20)]
        public void SizesAreNumbersOrStringsWithUnits(string size, ulong expected)
        {
            var result = Check(Minimal.Replace("SIZE", size));
            Assert.That(result.Errors, Is.Empty, result.Errors.Length > 0 ? result.Errors[0].Format("x") : "");
            Assert.That(result.Configuration.Partitions[0].Memory[0].Size, Is.EqualTo(expected));
        }

        [TestCase("\"64 MB\"", "has an unknown unit \"MB\" (did you mean \"MiB\"?)")]
        [TestCase("1.5", "must be a whole number")]
        [TestCase("-4096", "must not be negative")]
        [TestCase("99999999999999999999999", "is too large")]
        [TestCase("\"17179869184 GiB\"", "is too large (at most 16 EiB)")]
        [TestCase("true", "must be a number or a string, not true")]
        [TestCase("4097", "is not a multiple of 4 KiB (0x1000); use 0x1000 or 0x2000")]
        [TestCase("0", "the size must not be 0")]
        [TestCase("\"1 TiB\"", "1024 GiB is larger than the machine's RAM: the machine section declares 256 MiB")]
        public void BadSizesAreReportedWithPathAndPosition(string size, string message)
        {
            var result = Check(Minimal.Replace("SIZE", size));
            Assert.That(result.IsValid, Is.False);
            var error = result.Errors[0];
            Assert.That(error.Path, Is.EqualTo("partitions[0].memory[0].size"));
            Assert.That(error.Line, Is.EqualTo(2));
            Assert.That(error.Column, Is.EqualTo(87));
            Assert.That(error.Message, Does.Contain(message));
            Assert.That(error.Partition, Is.EqualTo(0));
        }

        [TestCase("", "the file is empty")]
        [TestCase("{", "the text ends inside an object")]
        [TestCase("[1,]", "expected a value")]
        [TestCase("{\"a\" 1}", "expected ':'")]
        [TestCase("{\"a\": tru}", "strings need double quotes")]
        [TestCase("{\"a\": 01}", "leading zeros")]
        [TestCase("{\"a\": \"\\x\"}", "invalid escape")]
        [TestCase("{\"a\": \"\\ud800\"}", "high surrogate")]
        [TestCase("{} {}", "unexpected text after the end")]
        public void SyntaxErrorsAreOneClearError(string json, string message)
        {
            var result = Check(json);
            Assert.That(result.Configuration, Is.Null);
            Assert.That(result.ErrorCount, Is.EqualTo(1));
            Assert.That(result.Errors[0].Message, Does.StartWith("invalid JSON: ").And.Contain(message));
        }

        [Test]
        public void InvalidUtf8IsASyntaxError()
        {
            byte[] bytes = { (byte)'{', (byte)'"', 0xC0, 0xAF, (byte)'"', (byte)':', (byte)'1', (byte)'}' };
            var result = ConfigChecker.Check(bytes);
            Assert.That(result.Errors[0].Message, Does.Contain("invalid UTF-8"));
        }

        [Test]
        public void DeepNestingIsRefusedNotRecursedInto()
        {
            string json = "{\"a\":" + new string('[', 100000) + new string(']', 100000) + "}";
            var result = Check(json);
            Assert.That(result.Errors[0].Message, Does.Contain("nesting is deeper than 32 levels"));
        }

        [Test]
        public void LineAndColumnCountCharactersNotBytes()
        {
            var result = Check("{\n  \"description\": \"größe\", \"versoin\": 1 }");
            var error = result.Errors[0];
            Assert.That(error.Message, Is.EqualTo("unknown key \"versoin\"; did you mean \"version\"?"));
            Assert.That((error.Line, error.Column), Is.EqualTo((2, 27)));
        }

        [Test]
        public void EscapedKeysAndNonAsciiStringsDecode()
        {
            var result = Check(Minimal.Replace("SIZE", "4096").Replace("\"name\": \"host\"", "\"n\\u0061me\": \"h\\u00F6st\""));
            Assert.That(result.Configuration.Partitions[0].Name, Is.EqualTo(""));
            Assert.That(result.Errors[0].Message, Does.Contain("a partition name must be 1 to 32 letters"));
        }

        [TestCase("nmae", "name")]
        [TestCase("vcpu", "vcpus")]
        [TestCase("memroy", "memory")]
        [TestCase("zzzzzz", null)]
        public void SuggestionsComeFromEditDistance(string word, string expected)
        {
            Assert.That(ConfigText.Suggest(word, new[] { "name", "role", "vcpus", "memory", "boot", "devices" }), Is.EqualTo(expected));
        }

        [Test]
        public void ErrorsAreCappedButCounted()
        {
            var json = new StringBuilder("{ \"version\": 1, \"machine\": { \"cores\": 1, \"memory\": 4096 }, \"partitions\": [], ");
            for (int i = 0; i < 200; i++)
                json.Append("\"unknown").Append(i).Append("\": 0, ");
            json.Append("\"description\": \"\" }");
            var result = Check(json.ToString());
            Assert.That(result.ErrorCount, Is.EqualTo(202)); // 200 unknown keys, too few partitions, hypervisor memory beyond the machine
            Assert.That(result.Errors.Length, Is.EqualTo(ConfigErrorList.Limit));
        }

        [Test]
        public void BootValidationUsesTheRealMachineAndModules()
        {
            byte[] config = System.IO.File.ReadAllBytes(System.IO.Path.Combine(
                Partition.Host.RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory).Root, "configs", "demo.json"));
            var memoryMap = new[]
            {
                new MemoryRegion(0, 0x9F000, MemoryRegionType.Available),
                new MemoryRegion(0x100000, 0x7FF00000, MemoryRegionType.Available),
            };
            var modules = new[]
            {
                new BootModule(0x400000, 0x401000, "partition-config"),
                new BootModule(0x500000, 0x600000, "guest-image host kernel"),
                new BootModule(0x600000, 0x700000, "guest-image host initrd"),
                new BootModule(0x700000, 0x710000, "guest-image alpha kernel"),
            };
            Assert.That(BootConfiguration.FindConfigModule(modules), Is.EqualTo(0));
            var result = BootConfiguration.Validate(config, new MachineFacts(2, memoryMap, modules));
            var messages = Array.ConvertAll(result.Errors, e => e.Format("config"));
            Assert.That(messages, Is.EqualTo(new[]
            {
                "config:28:28: partitions[1].vcpus[0].core: core 2 does not exist: this machine has 2 cores (0 to 1)",
                "config:36:28: partitions[2].vcpus[0].core: core 2 does not exist: this machine has 2 cores (0 to 1)",
                "config:52:28: schedules[0].core: core 2 does not exist: this machine has 2 cores (0 to 1)",
                "config:38:48: partitions[2].boot.kernel: the image \"images/beta.elf\" was not loaded: no boot module has the command line \"guest-image beta kernel\"; build the ISO with 'partition image'",
            }));
            // The schedule for the missing core stops no partition (the vCPUs on that core are
            // left out by their own errors): the host, which has none, starts.
            Assert.That(result.Errors[2].Partition, Is.EqualTo(ConfigError.StopsNoPartition));
            Assert.That(result.CanStart(0), Is.True);
            Assert.That(ConfigSummary.DescribePartition(result, 1),
                Is.EqualTo("  alpha (guest): 1 vCPU on core 2 (shared), 64 MiB, boots multiboot images/alpha.elf: left out (see the error at partitions[1].vcpus[0].core above)"));
        }

        [Test]
        public void AGuestWithAnErrorIsLeftOutAndTheOthersStart()
        {
            byte[] config = System.IO.File.ReadAllBytes(System.IO.Path.Combine(
                Partition.Host.RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory).Root, "configs", "multiboot-modules.json"));
            var memoryMap = new[] { new MemoryRegion(0x100000, 0x3FF00000, MemoryRegionType.Available) };
            var modules = new[]
            {
                new BootModule(0x400000, 0x401000, "partition-config"),
                new BootModule(0x500000, 0x600000, "guest-image host kernel"),
                new BootModule(0x600000, 0x700000, "guest-image worker kernel"),
                new BootModule(0x700000, 0x710000, "guest-image worker module0"),
            };
            var result = BootConfiguration.Validate(config, new MachineFacts(2, memoryMap, modules));
            Assert.That(result.ErrorCount, Is.EqualTo(1));
            Assert.That(result.Errors[0].Path, Is.EqualTo("partitions[1].boot.modules[1]"));
            Assert.That(result.CanStart(0), Is.True);
            Assert.That(result.CanStart(1), Is.False);
            Assert.That(ConfigSummary.Summary(result), Is.EqualTo("Config: 2 partitions, 1 error"));
        }
    }
}
