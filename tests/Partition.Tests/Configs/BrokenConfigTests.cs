using System;
using System.Collections.Generic;
using System.IO;
using NUnit.Framework;
using Partition.Configs;
using Partition.Host;

namespace Partition.Tests.Configs
{
    /// <summary>
    /// Data-driven: every data/NAME.json is a broken config, data/NAME.expected holds the exact
    /// messages, one per line, as "config:LINE:COLUMN: PATH: MESSAGE" in the order found
    /// (PARTITION_UPDATE_EXPECTED=1 writes them from the checker's output, for review).
    /// Every example in configs/ must be valid.
    /// </summary>
    public class BrokenConfigTests
    {
        private static string Root => RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory).Root;

        public static IEnumerable<string> BrokenConfigs()
        {
            string dir = Path.Combine(RepositoryLayout.Find(AppContext.BaseDirectory).Root, "tests", "Partition.Tests", "Configs", "data");
            foreach (string file in Directory.GetFiles(dir, "*.json"))
                yield return Path.GetFileNameWithoutExtension(file);
        }

        public static IEnumerable<string> Examples()
        {
            foreach (string file in Directory.GetFiles(Path.Combine(RepositoryLayout.Find(AppContext.BaseDirectory).Root, "configs"), "*.json"))
                if (!file.EndsWith(".schema.json", StringComparison.Ordinal))
                    yield return Path.GetFileName(file);
        }

        [TestCaseSource(nameof(BrokenConfigs))]
        public void BrokenConfigGivesTheExpectedMessages(string name)
        {
            string dir = Path.Combine(Root, "tests", "Partition.Tests", "Configs", "data");
            var result = ConfigChecker.Check(File.ReadAllBytes(Path.Combine(dir, name + ".json")));
            var actual = new List<string>();
            foreach (var error in result.Errors)
                actual.Add(error.Format("config"));
            string expectedFile = Path.Combine(dir, name + ".expected");
            // PARTITION_UPDATE_EXPECTED=1 rewrites the .expected files from what the checker says (review the diff).
            if (Environment.GetEnvironmentVariable("PARTITION_UPDATE_EXPECTED") == "1")
                File.WriteAllText(expectedFile, string.Join("\n", actual) + "\n");
            Assert.That(File.Exists(expectedFile), Is.True, "missing " + expectedFile + "; actual:\n" + string.Join("\n", actual));
            string[] expected = File.ReadAllText(expectedFile).TrimEnd('\n').Split('\n');
            Assert.That(result.IsValid, Is.False);
            Assert.That(actual, Is.EqualTo(expected));
        }

        [TestCaseSource(nameof(Examples))]
        public void ExampleIsValid(string file)
        {
            var result = ConfigChecker.Check(File.ReadAllBytes(Path.Combine(Root, "configs", file)));
            var messages = new List<string>();
            foreach (var error in result.Errors)
                messages.Add(error.Format(file));
            Assert.That(messages, Is.Empty);
            Assert.That(result.Configuration.Partitions.Length, Is.GreaterThan(0));
            for (int i = 0; i < result.Configuration.Partitions.Length; i++)
                Assert.That(result.CanStart(i), Is.True);
        }
    }
}
