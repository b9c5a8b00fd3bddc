using System;
using System.Text;
using NUnit.Framework;
using Partition.Configs;

namespace Partition.Tests.Configs
{
    /// <summary>
    /// The mistakes people make in a config get words that say what to write instead: numbers
    /// in strings where a number is meant, comments, UTF-16 files, -0, 1e0 and bare hex, and
    /// values too long to quote whole. The same checker runs at boot.
    /// </summary>
    public class CommonMistakeTests
    {
        private const string Minimal =
            "{ \"version\": VERSION, \"machine\": { \"cores\": CORES, \"memory\": \"256 MiB\" }, \"partitions\": [\n" +
            "  { \"name\": \"host\", \"role\": \"host\", \"vcpus\": [ { \"core\": CORE } ], \"memory\": [ { \"size\": SIZE } ],\n" +
            "    \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k.elf\" } } ] }";

        private static string Config(string version = "1", string cores = "2", string core = "0", string size = "\"16 MiB\"") =>
            Minimal.Replace("VERSION", version).Replace("CORES", cores).Replace("CORE", core).Replace("SIZE", size);

        private static string[] Messages(string json) => Messages(Encoding.UTF8.GetBytes(json));

        private static string[] Messages(byte[] bytes) => Array.ConvertAll(ConfigChecker.Check(bytes).Errors, e => e.Format("c.json"));

        [Test]
        public void TheMinimalConfigIsValid() => Assert.That(Messages(Config()), Is.Empty);

        // ---- Item 1: where the schema says integer, a string is refused ----

        [TestCase("\"1\"", "c.json:1:14: version: \"1\" is a string; write the number without quotes: 1; expected a whole number from 0 to 1000000")]
        public void AVersionInAStringIsRefused(string version, string expected) =>
            Assert.That(Messages(Config(version: version)), Is.EqualTo(new[] { expected }));

        [TestCase("\"4\"", "c.json:1:39: machine.cores: \"4\" is a string; write the number without quotes: 4; expected a whole number from 1 to 256")]
        [TestCase("\"four\"", "c.json:1:39: machine.cores: must be a number, not a string (\"four\"); expected a whole number from 1 to 256")]
        public void CoresInAStringAreRefused(string cores, string expected) =>
            Assert.That(Messages(Config(cores: cores)), Is.EqualTo(new[] { expected }));

        [Test]
        public void ACoreInHexIsRefusedWithTheNumberToWrite() =>
            Assert.That(Messages(Config(core: "\"0x1\"")), Is.EqualTo(new[]
            {
                "c.json:2:58: partitions[0].vcpus[0].core: \"0x1\" is a string; write the number without quotes: 1; expected a whole number from 0 to 255",
            }));

        // ---- Item 4: clear words for common mistakes ----

        [TestCase("{ // the format\n \"version\": 1 }", "c.json:1:3: (top level): invalid JSON: JSON has no comments: remove it (a \"description\" member can hold a note)")]
        [TestCase("{ \"version\": 1 /* one */ }", "c.json:1:16: (top level): invalid JSON: JSON has no comments: remove it (a \"description\" member can hold a note)")]
        [TestCase("# config\n{}", "c.json:1:1: (top level): invalid JSON: JSON has no comments: remove it (a \"description\" member can hold a note)")]
        [TestCase("{ \"version\": 1, \"machine\": {\n  \"cores\": 2, // two\n  \"memory\": 4096 } }", "c.json:2:15: machine: invalid JSON: JSON has no comments: remove it (a \"description\" member can hold a note)")]
        [TestCase("{ \"partitions\": [ 1 // one\n ] }", "c.json:1:21: partitions: invalid JSON: JSON has no comments: remove it (a \"description\" member can hold a note)")]
        public void CommentsSayJsonHasNone(string json, string expected) =>
            Assert.That(Messages(json), Is.EqualTo(new[] { expected }));

        [TestCase("utf-16le-bom", "the file is UTF-16 (little-endian, byte order mark FF FE), not UTF-8")]
        [TestCase("utf-16be-bom", "the file is UTF-16 (big-endian, byte order mark FE FF), not UTF-8")]
        [TestCase("utf-16le", "the file is UTF-16 (little-endian), not UTF-8")]
        [TestCase("utf-16be", "the file is UTF-16 (big-endian), not UTF-8")]
        [TestCase("utf-32le-bom", "the file is UTF-32 (little-endian, byte order mark FF FE 00 00), not UTF-8")]
        [TestCase("utf-32le", "the file is UTF-32 (little-endian), not UTF-8")]
        public void OtherEncodingsAreNamed(string encoding, string expected)
        {
            byte[] bytes = encoding switch
            {
                "utf-16le-bom" => Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(Config())),
                "utf-16be-bom" => Encoding.BigEndianUnicode.GetPreamble().Concat(Encoding.BigEndianUnicode.GetBytes(Config())),
                "utf-16le" => Encoding.Unicode.GetBytes(Config()),
                "utf-16be" => Encoding.BigEndianUnicode.GetBytes(Config()),
                "utf-32le-bom" => Encoding.UTF32.GetPreamble().Concat(Encoding.UTF32.GetBytes(Config())),
                _ => Encoding.UTF32.GetBytes(Config()),
            };
            string[] messages = Messages(bytes);
            Assert.That(messages, Has.Length.EqualTo(1));
            Assert.That(messages[0], Is.EqualTo("c.json:1:1: (top level): invalid JSON: " + expected + ": save it as UTF-8 (RFC 8259, 8.1: JSON text is UTF-8)"));
        }

        [TestCase("-0", "write whole numbers in plain digits: 0, not -0")]
        [TestCase("-0.0", "write whole numbers in plain digits: 0, not -0.0")]
        [TestCase("1e0", "write whole numbers in plain digits: 1, not 1e0")]
        [TestCase("1.0", "write whole numbers in plain digits: 1, not 1.0")]
        [TestCase("1E+1", "write whole numbers in plain digits: 10, not 1E+1")]
        [TestCase("10e-1", "write whole numbers in plain digits: 1, not 10e-1")]
        [TestCase("0.1e1", "write whole numbers in plain digits: 1, not 0.1e1")]
        [TestCase("1.5", "must be a whole number")]
        [TestCase("1e-1", "must be a whole number")]
        [TestCase("1e999", "is too large (at most 18446744073709551615)")]
        [TestCase("-1", "must not be negative")]
        [TestCase("-1e0", "must not be negative")]
        public void NumbersNotInPlainDigitsSayWhatToWrite(string core, string problem) =>
            Assert.That(Messages(Config(core: core)), Is.EqualTo(new[]
            {
                "c.json:2:58: partitions[0].vcpus[0].core: " + problem + "; expected a whole number from 0 to 255",
            }));

        [Test]
        public void TheExponentOfAHugeNumberIsNotWorkedOut() =>
            Assert.That(Messages(Config(core: "0e999999999999999999")), Is.EqualTo(new[]
            {
                "c.json:2:58: partitions[0].vcpus[0].core: write whole numbers in plain digits: 0, not 0e999999999999999999; expected a whole number from 0 to 255",
            }));

        [TestCase("0x1000", "c.json:2:87: partitions[0].memory[0]: invalid JSON: invalid number: JSON has no hexadecimal numbers; write it as a string, e.g. \"0x1000\"")]
        [TestCase("64MiB", "c.json:2:89: partitions[0].memory[0]: invalid JSON: invalid number: a letter or '_' follows it; a size with a unit or a number with '_' is a string, e.g. \"64 MiB\" or \"1_000\"")]
        [TestCase("1_000", "c.json:2:88: partitions[0].memory[0]: invalid JSON: invalid number: a letter or '_' follows it; a size with a unit or a number with '_' is a string, e.g. \"64 MiB\" or \"1_000\"")]
        [TestCase("+4096", "c.json:2:87: partitions[0].memory[0]: invalid JSON: invalid number: JSON numbers have no '+' sign; write 1, not +1")]
        public void BareHexAndUnitsSayToWriteAString(string size, string expected) =>
            Assert.That(Messages(Config(size: size)), Is.EqualTo(new[] { expected }));

        [TestCase("\"_\"", "\"_\" is not a number")]
        [TestCase("\"0x_1\"", "\"0x_1\" is not a number")]
        public void AnUnderscoreIsNoNumber(string size, string problem) =>
            Assert.That(Messages(Config(size: size))[0], Does.Contain("partitions[0].memory[0].size: " + problem));

        // ---- Item 3: bounded input, readable messages ----

        [Test]
        public void AHugeUnknownKeyIsQuotedCutInThePathAndTheMessage()
        {
            string key = new string('k', 500_000);
            string[] messages = Messages("{ \"" + key + "\": 1, " + Config().Substring(1));
            Assert.That(messages, Has.Length.EqualTo(1));
            string cut = new string('k', 40) + "...";
            Assert.That(messages[0], Does.StartWith("c.json:1:3: " + cut + ": unknown key \"" + cut + "\"; valid keys here: "));
            Assert.That(messages[0].Length, Is.LessThan(300));
        }

        [Test]
        public void AHugeEnumValueIsQuotedCut()
        {
            string[] messages = Messages(Config().Replace("\"role\": \"host\"", "\"role\": \"" + new string('h', 100_000) + "\""));
            Assert.That(messages[0], Does.EndWith(": partitions[0].role: \"" + new string('h', 40) + "...\" is not one of \"host\" or \"guest\""));
        }

        [Test]
        public void QuotingNeverSplitsASurrogatePair()
        {
            string text = new string('a', 39) + "\U0001F600" + "tail";
            Assert.That(ConfigText.Quote(text), Is.EqualTo("\"" + new string('a', 39) + "...\""));
            Assert.That(ConfigText.Quote("short"), Is.EqualTo("\"short\""));
        }

        [Test]
        public void AConfigLargerThanTheLimitIsRefusedUnparsed()
        {
            var bytes = new byte[ConfigChecker.MaxBytes + 1];
            long before = GC.GetAllocatedBytesForCurrentThread();
            var result = ConfigChecker.Check(bytes);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.That(result.Configuration, Is.Null);
            Assert.That(Array.ConvertAll(result.Errors, e => e.Format("config")), Is.EqualTo(new[]
            {
                "config:1:1: (top level): the config is 1048577 bytes, more than the limit of 1 MiB (1048576 bytes); a config is a few KiB",
            }));
            Assert.That(allocated, Is.LessThan(64 * 1024), "not copied, not parsed");
        }
    }

    internal static class ByteArrays
    {
        public static byte[] Concat(this byte[] a, byte[] b)
        {
            var result = new byte[a.Length + b.Length];
            a.CopyTo(result, 0);
            b.CopyTo(result, a.Length);
            return result;
        }
    }
}
