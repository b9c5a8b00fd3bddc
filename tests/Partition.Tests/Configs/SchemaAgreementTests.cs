using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using Json.Schema;
using NUnit.Framework;
using Partition.Configs;
using Partition.Host;

namespace Partition.Tests.Configs
{
    /// <summary>
    /// configs/partition.schema.json and ConfigReader give the same verdict: every example and a
    /// corpus of accepted and rejected configs through a real JSON Schema 2020-12 validator
    /// (JsonSchema.Net) and through the reader (shape only: what values mean together is
    /// ConfigValidator's, which no schema can say). The few things JSON Schema cannot see are
    /// listed apart (<see cref="BeyondTheSchema"/>), each checked to be refused by the reader.
    /// </summary>
    public class SchemaAgreementTests
    {
        private static string Root => RepositoryLayout.Find(AppContext.BaseDirectory).Root;

        private static readonly Lazy<JsonSchema> Schema = new Lazy<JsonSchema>(() =>
            JsonSchema.FromText(File.ReadAllText(Path.Combine(Root, "configs", "partition.schema.json"))));

        private const string Partitions =
            "  \"partitions\": [\n" +
            "    { \"name\": \"host\", \"role\": \"host\", \"description\": \"d\", \"vcpus\": [ { \"core\": 0 } ], \"memory\": [ { \"size\": \"64 MiB\" } ],\n" +
            "      \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k.elf\", \"cmdline\": \"x\", \"modules\": [ \"m.bin\", { \"path\": \"n.bin\", \"cmdline\": \"y\" } ] } },\n" +
            "    { \"name\": \"g\", \"role\": \"guest\", \"vcpus\": [ { \"core\": 1, \"placement\": \"shared\", \"slice_us\": 1000, \"weight\": 2 } ],\n" +
            "      \"memory\": [ { \"size\": 4096, \"guest_physical\": 0, \"host_physical\": \"0x10000000\" } ],\n" +
            "      \"boot\": { \"type\": \"flat\", \"image\": \"g.bin\", \"load_address\": \"0x1000\", \"entry\": 4096, \"mode\": \"real\" },\n" +
            "      \"devices\": { \"io_ports\": [ { \"base\": \"0x60\", \"count\": 4 } ], \"mmio\": [ { \"base\": \"0xFED00000\", \"size\": \"4 KiB\" } ],\n" +
            "                   \"pci\": [ \"00:1f.2\" ], \"uart\": { \"port\": \"0x2F8\" } } },\n" +
            "    { \"name\": \"l\", \"role\": \"guest\", \"vcpus\": [ { \"core\": 2 } ], \"memory\": [ { \"size\": \"32 MiB\" } ],\n" +
            "      \"boot\": { \"type\": \"linux\", \"kernel\": \"bz\", \"initrd\": \"i\", \"cmdline\": \"c\" } } ],\n";

        private const string SharedMemory =
            "  \"shared_memory\": [ { \"name\": \"ring\", \"size\": \"4 KiB\", \"sides\": [\n" +
            "      { \"partition\": \"host\", \"access\": \"read-write\", \"guest_physical\": \"0x20000000\" },\n" +
            "      { \"partition\": \"g\", \"access\": \"read\", \"guest_physical\": \"0x30000000\" } ] } ],\n";

        private const string Schedules =
            "  \"schedules\": [ { \"core\": 1, \"policy\": \"weighted\", \"period_us\": 10000 } ]";

        /// <summary>A config that uses every key the format has, in its every form.</summary>
        private const string Base =
            "{ \"$schema\": \"partition.schema.json\", \"description\": \"all keys\", \"version\": 1, \"machine\": { \"cores\": 4, \"memory\": \"1 GiB\" },\n" +
            "  \"hypervisor\": { \"console_port\": \"0x3F8\", \"memory\": \"16 MiB\" },\n" +
            Partitions + SharedMemory + Schedules + " }";

        /// <summary>The base with one piece of text replaced (it must occur exactly once).</summary>
        private static string Variant(string find, string replace)
        {
            int at = Base.IndexOf(find, StringComparison.Ordinal);
            Assert.That(at, Is.GreaterThanOrEqualTo(0), "not in the base config: " + find);
            Assert.That(Base.IndexOf(find, at + 1, StringComparison.Ordinal), Is.LessThan(0), "more than once in the base config: " + find);
            return Base.Substring(0, at) + replace + Base.Substring(at + find.Length);
        }

        private static string Repeat(string item, int count) => string.Join(", ", System.Linq.Enumerable.Repeat(item, count));

        // ---- The corpus: (what, find, replace) on the base; each accepted or refused by both ----

        public static IEnumerable<TestCaseData> Accepted()
        {
            yield return Case("the base", "\"version\": 1", "\"version\": 1");
            yield return Case("a size in bytes", "\"size\": \"64 MiB\"", "\"size\": 67108864");
            yield return Case("a size with no space before the unit", "\"size\": \"64 MiB\"", "\"size\": \"64MiB\"");
            yield return Case("a size in hex", "\"size\": \"64 MiB\"", "\"size\": \"0x4000000\"");
            yield return Case("a hex size with a unit", "\"size\": \"64 MiB\"", "\"size\": \"0x40 MiB\"");
            yield return Case("a size with digit groups", "\"size\": \"64 MiB\"", "\"size\": \"67_108_864\"");
            yield return Case("a size in bytes with B", "\"size\": \"64 MiB\"", "\"size\": \"67108864 B\"");
            yield return Case("a size in TiB", "\"memory\": \"1 GiB\"", "\"memory\": \"1 TiB\"");
            yield return Case("spaces around a size", "\"size\": \"64 MiB\"", "\"size\": \" 64 MiB \"");
            yield return Case("an address in decimal", "\"host_physical\": \"0x10000000\"", "\"host_physical\": \"268435456\"");
            yield return Case("an address as a number", "\"host_physical\": \"0x10000000\"", "\"host_physical\": 268435456");
            yield return Case("an upper-case hex prefix", "\"load_address\": \"0x1000\"", "\"load_address\": \"0X1000\"");
            yield return Case("a port as a number", "\"console_port\": \"0x3F8\"", "\"console_port\": 1016");
            yield return Case("the highest UART port", "\"port\": \"0x2F8\"", "\"port\": 65528");
            yield return Case("the highest I/O port", "\"base\": \"0x60\"", "\"base\": 65535");
            yield return Case("a port range without count", "\"base\": \"0x60\", \"count\": 4", "\"base\": \"0x60\"");
            yield return Case("the most ports", "\"base\": \"0x60\", \"count\": 4", "\"base\": 0, \"count\": 65536");
            yield return Case("a PCI function with its segment", "\"pci\": [ \"00:1f.2\" ]", "\"pci\": [ \"0000:00:1F.7\" ]");
            yield return Case("an explicit dedicated placement", "\"vcpus\": [ { \"core\": 2 } ]", "\"vcpus\": [ { \"core\": 2, \"placement\": \"dedicated\" } ]");
            yield return Case("a shared vCPU with defaults", "\"placement\": \"shared\", \"slice_us\": 1000, \"weight\": 2", "\"placement\": \"shared\"");
            yield return Case("the longest slice and heaviest weight", "\"slice_us\": 1000, \"weight\": 2", "\"slice_us\": 1000000, \"weight\": 1000");
            yield return Case("the shortest and longest periods", "\"period_us\": 10000 } ]", "\"period_us\": 100 }, { \"core\": 3, \"policy\": \"round-robin\", \"period_us\": 10000000 } ]");
            yield return Case("no schedules", Schedules, "  \"schedules\": []");
            yield return Case("no schedules key", ",\n" + Schedules, "");
            yield return Case("a schedule without a period", ", \"period_us\": 10000", "");
            yield return Case("no shared memory", SharedMemory, "  \"shared_memory\": [],\n");
            yield return Case("no shared memory key", SharedMemory, "");
            yield return Case("no modules", "\"modules\": [ \"m.bin\", { \"path\": \"n.bin\", \"cmdline\": \"y\" } ]", "\"modules\": []");
            yield return Case("a module object without cmdline", "{ \"path\": \"n.bin\", \"cmdline\": \"y\" }", "{ \"path\": \"n.bin\" }");
            yield return Case("a flat boot without entry", ", \"entry\": 4096", "");
            yield return Case("a linux boot with only a kernel", ", \"initrd\": \"i\", \"cmdline\": \"c\"", "");
            yield return Case("the longest name", "\"name\": \"l\"", "\"name\": \"" + new string('n', 32) + "\"");
            yield return Case("a name of every kind of character", "\"name\": \"l\"", "\"name\": \"Az09_-\"");
            yield return Case("the most cores", "\"cores\": 4", "\"cores\": 256");
            yield return Case("the highest core", "\"core\": 2 }", "\"core\": 255 }");
            yield return Case("64 vCPUs", "\"vcpus\": [ { \"core\": 2 } ]", "\"vcpus\": [ " + Repeat("{ \"core\": 2 }", 64) + " ]");
            yield return Case("64 memory regions", "\"memory\": [ { \"size\": \"32 MiB\" } ]", "\"memory\": [ " + Repeat("{ \"size\": 4096 }", 64) + " ]");
            yield return Case("a non-ASCII description", "\"description\": \"d\"", "\"description\": \"gr\\u00f6\\u00dfe \\ud83d\\ude00\"");
        }

        public static IEnumerable<TestCaseData> Refused()
        {
            // Types: where the schema says integer, a string is refused.
            yield return Case("a version in a string", "\"version\": 1", "\"version\": \"1\"");
            yield return Case("another version", "\"version\": 1", "\"version\": 2");
            yield return Case("cores in a string", "\"cores\": 4", "\"cores\": \"4\"");
            yield return Case("a core in hex", "\"core\": 2 }", "\"core\": \"0x1\" }");
            yield return Case("a slice in a string", "\"slice_us\": 1000", "\"slice_us\": \"1000\"");
            yield return Case("a weight in a string", "\"weight\": 2", "\"weight\": \"2\"");
            yield return Case("a period in a string", "\"period_us\": 10000", "\"period_us\": \"10000\"");
            yield return Case("a port count in a string", "\"count\": 4", "\"count\": \"4\"");
            yield return Case("a size as true", "\"size\": \"64 MiB\"", "\"size\": true");
            yield return Case("a size as null", "\"size\": \"64 MiB\"", "\"size\": null");
            yield return Case("a size as an object", "\"size\": \"64 MiB\"", "\"size\": {}");
            yield return Case("a name as a number", "\"name\": \"l\"", "\"name\": 7");
            yield return Case("a cmdline as a number", "\"cmdline\": \"c\"", "\"cmdline\": 1");
            yield return Case("a description as an array", "\"description\": \"d\"", "\"description\": []");
            yield return Case("vcpus as an object", "\"vcpus\": [ { \"core\": 2 } ]", "\"vcpus\": { \"core\": 2 }");
            yield return Case("a partition as a string", "\"partitions\": [", "\"partitions\": [ \"p\",");
            yield return Case("machine as an array", "\"machine\": { \"cores\": 4, \"memory\": \"1 GiB\" }", "\"machine\": []");
            yield return Case("the root as an array", "", "[ ] ", prefix: true);
            // Ranges.
            yield return Case("no cores", "\"cores\": 4", "\"cores\": 0");
            yield return Case("too many cores", "\"cores\": 4", "\"cores\": 257");
            yield return Case("a core past 255", "\"core\": 2 }", "\"core\": 256 }");
            yield return Case("a negative core", "\"core\": 2 }", "\"core\": -1 }");
            yield return Case("a slice of 0", "\"slice_us\": 1000", "\"slice_us\": 0");
            yield return Case("a slice too long", "\"slice_us\": 1000", "\"slice_us\": 1000001");
            yield return Case("a weight of 0", "\"weight\": 2", "\"weight\": 0");
            yield return Case("a weight too heavy", "\"weight\": 2", "\"weight\": 1001");
            yield return Case("a period too short", "\"period_us\": 10000", "\"period_us\": 99");
            yield return Case("a period too long", "\"period_us\": 10000", "\"period_us\": 10000001");
            yield return Case("no ports", "\"count\": 4", "\"count\": 0");
            yield return Case("too many ports", "\"count\": 4", "\"count\": 65537");
            yield return Case("an I/O port past 0xFFFF", "\"base\": \"0x60\"", "\"base\": 65536");
            yield return Case("a console port past 0xFFF8", "\"console_port\": \"0x3F8\"", "\"console_port\": 65529");
            yield return Case("a UART port past 0xFFF8", "\"port\": \"0x2F8\"", "\"port\": 65529");
            yield return Case("a negative size", "\"size\": \"64 MiB\"", "\"size\": -4096");
            yield return Case("a fraction", "\"size\": \"64 MiB\"", "\"size\": 4096.5");
            yield return Case("a negative address", "\"entry\": 4096", "\"entry\": -1");
            yield return Case("no machine memory", "\"memory\": \"1 GiB\"", "\"memory\": 0");
            yield return Case("no machine memory in a string", "\"memory\": \"1 GiB\"", "\"memory\": \"0 MiB\"");
            yield return Case("no machine memory in hex", "\"memory\": \"1 GiB\"", "\"memory\": \"0x0\"");
            // Strings that are not numbers.
            yield return Case("a decimal unit", "\"size\": \"64 MiB\"", "\"size\": \"64 MB\"");
            yield return Case("a lower-case unit", "\"size\": \"64 MiB\"", "\"size\": \"64 mib\"");
            yield return Case("a unit alone", "\"size\": \"64 MiB\"", "\"size\": \"MiB\"");
            yield return Case("an underscore alone", "\"size\": \"64 MiB\"", "\"size\": \"_\"");
            yield return Case("a number starting with an underscore", "\"size\": \"64 MiB\"", "\"size\": \"_64\"");
            yield return Case("hex without digits", "\"size\": \"64 MiB\"", "\"size\": \"0x\"");
            yield return Case("hex digits in decimal", "\"size\": \"64 MiB\"", "\"size\": \"1F\"");
            yield return Case("an empty size", "\"size\": \"64 MiB\"", "\"size\": \"\"");
            yield return Case("an exponent in a string", "\"size\": \"64 MiB\"", "\"size\": \"1e6\"");
            yield return Case("a unit on an address", "\"host_physical\": \"0x10000000\"", "\"host_physical\": \"256 MiB\"");
            yield return Case("text after a port", "\"console_port\": \"0x3F8\"", "\"console_port\": \"0x3F8 COM1\"");
            yield return Case("a tab in a size", "\"size\": \"64 MiB\"", "\"size\": \"64\\tMiB\"");
            // Names, enumerations, patterns.
            yield return Case("an empty name", "\"name\": \"l\"", "\"name\": \"\"");
            yield return Case("a name too long", "\"name\": \"l\"", "\"name\": \"" + new string('n', 33) + "\"");
            yield return Case("a name with a space", "\"name\": \"l\"", "\"name\": \"a b\"");
            yield return Case("a name ending in a newline", "\"name\": \"l\"", "\"name\": \"l\\n\"");
            yield return Case("a size ending in a newline", "\"size\": \"64 MiB\"", "\"size\": \"64 MiB\\n\"");
            yield return Case("a name with a dot", "\"name\": \"l\"", "\"name\": \"a.b\"");
            yield return Case("a name with a non-ASCII letter", "\"name\": \"l\"", "\"name\": \"\\u00e9\"");
            yield return Case("a shared memory name with a slash", "\"name\": \"ring\"", "\"name\": \"ring/0\"");
            yield return Case("an unknown role", "\"role\": \"guest\", \"vcpus\": [ { \"core\": 2 } ]", "\"role\": \"hots\", \"vcpus\": [ { \"core\": 2 } ]");
            yield return Case("a capitalised placement", "\"placement\": \"shared\"", "\"placement\": \"Shared\"");
            yield return Case("an unknown policy", "\"policy\": \"weighted\"", "\"policy\": \"fair\"");
            yield return Case("an unknown access", "\"access\": \"read\"", "\"access\": \"write\"");
            yield return Case("an unknown mode", "\"mode\": \"real\"", "\"mode\": \"long\"");
            yield return Case("an unknown boot type", "\"type\": \"linux\"", "\"type\": \"elf\"");
            yield return Case("a PCI segment other than 0", "\"pci\": [ \"00:1f.2\" ]", "\"pci\": [ \"0001:00:1f.2\" ]");
            yield return Case("a PCI device past 0x1f", "\"pci\": [ \"00:1f.2\" ]", "\"pci\": [ \"00:20.0\" ]");
            yield return Case("a PCI function past 7", "\"pci\": [ \"00:1f.2\" ]", "\"pci\": [ \"00:1f.8\" ]");
            yield return Case("a PCI address without the function", "\"pci\": [ \"00:1f.2\" ]", "\"pci\": [ \"00:1f\" ]");
            yield return Case("a PCI address as a number", "\"pci\": [ \"00:1f.2\" ]", "\"pci\": [ 250 ]");
            yield return Case("an empty kernel path", "\"kernel\": \"bz\"", "\"kernel\": \"\"");
            yield return Case("an empty image path", "\"image\": \"g.bin\"", "\"image\": \"\"");
            yield return Case("an empty module path", "\"m.bin\"", "\"\"");
            yield return Case("an empty module object path", "\"path\": \"n.bin\"", "\"path\": \"\"");
            // Keys: unknown, missing, or of another boot type.
            yield return Case("an unknown top-level key", "\"version\": 1", "\"version\": 1, \"verison\": 1");
            yield return Case("an unknown machine key", "\"cores\": 4", "\"cores\": 4, \"threads\": 8");
            yield return Case("an unknown hypervisor key", "\"console_port\": \"0x3F8\"", "\"console_prot\": \"0x3F8\"");
            yield return Case("an unknown partition key", "\"name\": \"l\"", "\"name\": \"l\", \"priority\": 1");
            yield return Case("an unknown vCPU key", "\"core\": 2 }", "\"core\": 2, \"cpu\": 2 }");
            yield return Case("an unknown memory key", "\"size\": \"32 MiB\"", "\"size\": \"32 MiB\", \"cache\": \"wb\"");
            yield return Case("an unknown device key", "\"pci\": [ \"00:1f.2\" ]", "\"pci\": [ \"00:1f.2\" ], \"usb\": []");
            yield return Case("an unknown port range key", "\"count\": 4", "\"count\": 4, \"width\": 1");
            yield return Case("an unknown MMIO key", "\"size\": \"4 KiB\" }", "\"size\": \"4 KiB\", \"cache\": \"uc\" }");
            yield return Case("an unknown UART key", "\"port\": \"0x2F8\"", "\"port\": \"0x2F8\", \"irq\": 3");
            yield return Case("an unknown module key", "\"cmdline\": \"y\"", "\"cmdline\": \"y\", \"name\": \"n\"");
            yield return Case("an unknown shared memory key", "\"name\": \"ring\"", "\"name\": \"ring\", \"cache\": 1");
            yield return Case("an unknown side key", "\"access\": \"read\",", "\"access\": \"read\", \"cache\": 1,");
            yield return Case("an unknown schedule key", "\"policy\": \"weighted\"", "\"policy\": \"weighted\", \"quantum\": 1");
            yield return Case("a flat boot with a cmdline", "\"mode\": \"real\"", "\"mode\": \"real\", \"cmdline\": \"x\"");
            yield return Case("a linux boot with modules", "\"cmdline\": \"c\"", "\"cmdline\": \"c\", \"modules\": []");
            yield return Case("a multiboot boot with an initrd", "\"cmdline\": \"x\"", "\"cmdline\": \"x\", \"initrd\": \"i\"");
            yield return Case("a multiboot boot with a mode", "\"cmdline\": \"x\"", "\"cmdline\": \"x\", \"mode\": \"real\"");
            yield return Case("a linux boot with an image", "\"cmdline\": \"c\"", "\"cmdline\": \"c\", \"image\": \"x\"");
            yield return Case("no version", "\"version\": 1, ", "");
            yield return Case("no machine", "\"machine\": { \"cores\": 4, \"memory\": \"1 GiB\" },", "");
            yield return Case("no cores", "\"cores\": 4, ", "");
            yield return Case("no machine memory key", ", \"memory\": \"1 GiB\"", "");
            yield return Case("no name", "\"name\": \"l\", ", "");
            yield return Case("no role", "\"name\": \"l\", \"role\": \"guest\", ", "\"name\": \"l\", ");
            yield return Case("no vcpus", "\"vcpus\": [ { \"core\": 2 } ], ", "");
            yield return Case("no memory", "\"memory\": [ { \"size\": \"32 MiB\" } ],", "");
            yield return Case("no boot", ",\n      \"boot\": { \"type\": \"linux\", \"kernel\": \"bz\", \"initrd\": \"i\", \"cmdline\": \"c\" }", "");
            yield return Case("no core", "{ \"core\": 2 }", "{ \"placement\": \"dedicated\" }");
            yield return Case("no size", "{ \"size\": \"32 MiB\" }", "{ \"guest_physical\": 0 }");
            yield return Case("no boot type", "\"type\": \"linux\", ", "");
            yield return Case("no kernel", "\"kernel\": \"bz\", ", "");
            yield return Case("no image", "\"image\": \"g.bin\", ", "");
            yield return Case("no load address", "\"load_address\": \"0x1000\", ", "");
            yield return Case("no mode", ", \"mode\": \"real\"", "");
            yield return Case("no module path", "{ \"path\": \"n.bin\", \"cmdline\": \"y\" }", "{ \"cmdline\": \"y\" }");
            yield return Case("no port base", "\"base\": \"0x60\", ", "");
            yield return Case("no MMIO size", ", \"size\": \"4 KiB\" }", " }");
            yield return Case("no UART port", "\"uart\": { \"port\": \"0x2F8\" }", "\"uart\": {}");
            yield return Case("no shared memory size", "\"size\": \"4 KiB\", \"sides\"", "\"sides\"");
            yield return Case("no sides", SharedMemory, "  \"shared_memory\": [ { \"name\": \"ring\", \"size\": \"4 KiB\" } ],\n");
            yield return Case("sides as an object", SharedMemory, "  \"shared_memory\": [ { \"name\": \"ring\", \"size\": \"4 KiB\", \"sides\": {} } ],\n");
            yield return Case("no side partition", "\"partition\": \"g\", ", "");
            yield return Case("no side access", "\"access\": \"read\", ", "");
            yield return Case("no side guest_physical", ", \"guest_physical\": \"0x30000000\"", "");
            yield return Case("no schedule core", "{ \"core\": 1, \"policy\"", "{ \"policy\"");
            yield return Case("no schedule policy", "\"policy\": \"weighted\", ", "");
            // A dedicated vCPU (the default placement) has no slice and no weight.
            yield return Case("a dedicated vCPU with a slice", "\"vcpus\": [ { \"core\": 2 } ]", "\"vcpus\": [ { \"core\": 2, \"slice_us\": 100 } ]");
            yield return Case("an explicitly dedicated vCPU with a weight", "\"vcpus\": [ { \"core\": 2 } ]", "\"vcpus\": [ { \"core\": 2, \"placement\": \"dedicated\", \"weight\": 1 } ]");
            // List lengths.
            yield return Case("no partitions", Partitions, "  \"partitions\": [],\n");
            yield return Case("no partitions key", Partitions, "");
            yield return Case("65 vCPUs", "\"vcpus\": [ { \"core\": 2 } ]", "\"vcpus\": [ " + Repeat("{ \"core\": 2 }", 65) + " ]");
            yield return Case("no vCPUs", "\"vcpus\": [ { \"core\": 2 } ]", "\"vcpus\": []");
            yield return Case("no memory regions", "\"memory\": [ { \"size\": \"32 MiB\" } ]", "\"memory\": []");
            yield return Case("65 memory regions", "\"memory\": [ { \"size\": \"32 MiB\" } ]", "\"memory\": [ " + Repeat("{ \"size\": 4096 }", 65) + " ]");
            yield return Case("65 modules", "\"modules\": [ \"m.bin\",", "\"modules\": [ " + Repeat("\"m.bin\"", 64) + ",");
            yield return Case("65 port ranges", "\"io_ports\": [", "\"io_ports\": [ " + Repeat("{ \"base\": 1 }", 64) + ",");
            yield return Case("65 MMIO ranges", "\"mmio\": [", "\"mmio\": [ " + Repeat("{ \"base\": 0, \"size\": 4096 }", 64) + ",");
            yield return Case("65 PCI functions", "\"pci\": [", "\"pci\": [ " + Repeat("\"00:00.0\"", 64) + ",");
            yield return Case("one side", "{ \"partition\": \"host\", \"access\": \"read-write\", \"guest_physical\": \"0x20000000\" },", "");
            yield return Case("65 sides", "\"sides\": [", "\"sides\": [ " + Repeat("{ \"partition\": \"g\", \"access\": \"read\", \"guest_physical\": 0 }", 63) + ",");
            yield return Case("65 shared memory regions", "\"shared_memory\": [", "\"shared_memory\": [ " + Repeat("{ \"name\": \"r\", \"size\": 4096, \"sides\": [ { \"partition\": \"g\", \"access\": \"read\", \"guest_physical\": 0 }, { \"partition\": \"l\", \"access\": \"read\", \"guest_physical\": 0 } ] }", 64) + ",");
            yield return Case("257 schedules", "\"schedules\": [", "\"schedules\": [ " + Repeat("{ \"core\": 0, \"policy\": \"dedicated\" }", 256) + ",");
            // Not JSON at all: both refuse (the schema's side cannot parse it).
            yield return Case("a comment", "\"version\": 1", "// the format\n\"version\": 1");
            yield return Case("a trailing comma", "\"cores\": 4", "\"cores\": 4,");
            yield return Case("a hex number", "\"entry\": 4096", "\"entry\": 0x1000");
            yield return Case("a single-quoted string", "\"mode\": \"real\"", "\"mode\": 'real'");
            yield return Case("a duplicate key", "\"cores\": 4", "\"cores\": 4, \"cores\": 4");
        }

        /// <summary>
        /// What JSON Schema cannot say, so the schema accepts and the reader refuses (the schema's
        /// description lists these): how a number is spelled (the schema sees only its value),
        /// and the value of a number written in a string (a pattern sees only its characters).
        /// </summary>
        public static IEnumerable<TestCaseData> BeyondTheSchema()
        {
            yield return Case("1.0 for 1", "\"version\": 1", "\"version\": 1.0");
            yield return Case("an exponent", "\"cores\": 4", "\"cores\": 4e0");
            yield return Case("minus zero", "\"core\": 2 }", "\"core\": -0 }");
            yield return Case("a size in a string past 2^64", "\"size\": \"64 MiB\"", "\"size\": \"18446744073709551616\"");
            yield return Case("a size with a unit past 2^64", "\"size\": \"64 MiB\"", "\"size\": \"17179869184 GiB\"");
            yield return Case("a port in a string past 0xFFFF", "\"base\": \"0x60\"", "\"base\": \"0x10000\"");
            yield return Case("a console port in a string past 0xFFF8", "\"console_port\": \"0x3F8\"", "\"console_port\": \"65529\"");
        }

        private static TestCaseData Case(string what, string find, string replace, bool prefix = false) =>
            new TestCaseData(prefix ? replace + Base : Variant(find, replace)).SetArgDisplayNames(what);

        [TestCaseSource(nameof(Accepted))]
        public void AcceptedByBoth(string json)
        {
            Assert.That(ReaderErrors(json), Is.Empty, "ConfigReader");
            Assert.That(SchemaErrors(json), Is.Empty, "the schema");
        }

        [TestCaseSource(nameof(Refused))]
        public void RefusedByBoth(string json)
        {
            Assert.That(ReaderErrors(json), Is.Not.Empty, "ConfigReader accepts it");
            Assert.That(SchemaErrors(json), Is.Not.Empty, "the schema accepts it");
        }

        [TestCaseSource(nameof(BeyondTheSchema))]
        public void BeyondTheSchemaTheReaderRefuses(string json)
        {
            Assert.That(ReaderErrors(json), Is.Not.Empty, "ConfigReader accepts it");
            Assert.That(SchemaErrors(json), Is.Empty, "the schema refuses it now: move the case to Refused and out of the schema's description");
        }

        public static IEnumerable<string> Examples()
        {
            foreach (string file in Directory.GetFiles(Path.Combine(Root, "configs"), "*.json"))
                if (!file.EndsWith(".schema.json", StringComparison.Ordinal))
                    yield return Path.GetFileName(file);
        }

        [TestCaseSource(nameof(Examples))]
        public void ExampleIsValidAgainstTheSchema(string file)
        {
            string json = File.ReadAllText(Path.Combine(Root, "configs", file));
            Assert.That(SchemaErrors(json), Is.Empty);
            Assert.That(ReaderErrors(json), Is.Empty);
        }

        [TestCaseSource(typeof(BrokenConfigTests), nameof(BrokenConfigTests.BrokenConfigs))]
        public void ABrokenConfigWithShapeErrorsIsRefusedByTheSchemaToo(string name)
        {
            string json = File.ReadAllText(Path.Combine(Root, "tests", "Partition.Tests", "Configs", "data", name + ".json"));
            if (ReaderErrors(json).Count == 0)
                Assert.Ignore("its errors are of meaning (ConfigValidator), not of shape");
            Assert.That(SchemaErrors(json), Is.Not.Empty);
        }

        /// <summary>The reader's errors alone (parse and shape), without the validator's.</summary>
        private static List<string> ReaderErrors(string json)
        {
            var document = Partition.Configs.JsonDocument.Parse(Encoding.UTF8.GetBytes(json));
            var errors = new ConfigErrorList(document);
            var messages = new List<string>();
            if (document.HasSyntaxError)
            {
                messages.Add(document.SyntaxErrorMessage);
                return messages;
            }
            new ConfigReader(document, errors).Read();
            foreach (var error in errors.ToArray())
                messages.Add(error.Format("config"));
            return messages;
        }

        /// <summary>The schema's errors; text that is not JSON (as RFC 8259 and System.Text.Json read it, without duplicate keys) is one.</summary>
        private static List<string> SchemaErrors(string json)
        {
            var messages = new List<string>();
            System.Text.Json.JsonDocument document;
            try
            {
                document = System.Text.Json.JsonDocument.Parse(json, new JsonDocumentOptions { AllowDuplicateProperties = false });
            }
            catch (JsonException e)
            {
                messages.Add("not JSON: " + e.Message);
                return messages;
            }
            using (document)
            {
                var result = Schema.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
                if (result.IsValid)
                    return messages;
                foreach (var detail in result.Details)
                    if (detail.Errors != null)
                        foreach (var error in detail.Errors)
                            messages.Add($"{detail.InstanceLocation}: {error.Key}: {error.Value}");
                if (messages.Count == 0)
                    messages.Add("invalid");
            }
            return messages;
        }
    }
}
