extern alias cli;

using System;
using NUnit.Framework;
using Partition.Configs;
using Partition.Host;
using ConfigFuzz = cli::Partition.Cli.ConfigFuzz;

namespace Partition.Tests.Configs
{
    /// <summary>
    /// Mutated configs through the one parser and validator: no exception, no hang, and memory
    /// bounded by the input (allocated bytes per input byte, plus a constant for the capped error list).
    /// </summary>
    /// <remarks>
    /// No time limit: on a 2-core machine running emulators beside it, a wall-clock assertion
    /// measures the neighbours. 'partition bench-check' times the same mutations (configs/s).
    /// </remarks>
    public class ConfigFuzzTests
    {
        private const long AllowedBytesPerInputByte = 64;
        private const long AllowedConstantBytes = 96 * 1024;

        [Test]
        public void MutatedConfigsNeverCrashHangOrGrowWithoutBound()
        {
            var seeds = ConfigFuzz.Seeds(RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory).Root);
            var random = new Random(ConfigFuzz.DefaultSeed);
            double worstRatio = 0;
            long worstExcess = 0;
            for (int i = 0; i < ConfigFuzz.DefaultIterations; i++)
            {
                byte[] input = ConfigFuzz.Mutate(seeds[random.Next(seeds.Count)], random);
                long before = GC.GetAllocatedBytesForCurrentThread();
                var result = ConfigChecker.Check(input);
                long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                if (result.Configuration != null)
                    for (int p = 0; p < result.Configuration.Partitions.Length; p++)
                        result.CanStart(p);
                long excess = allocated - AllowedBytesPerInputByte * Math.Max(input.Length, 1);
                worstExcess = Math.Max(worstExcess, excess);
                worstRatio = Math.Max(worstRatio, (double)allocated / Math.Max(input.Length, 1));
                Assert.That(allocated, Is.LessThanOrEqualTo(AllowedBytesPerInputByte * input.Length + AllowedConstantBytes),
                    () => "iteration " + i + ": " + allocated + " bytes for " + input.Length + " bytes of input");
            }
            TestContext.Out.WriteLine($"{ConfigFuzz.DefaultIterations} configs; worst allocation {worstRatio:F1} bytes per input byte; " +
                $"worst excess over {AllowedBytesPerInputByte}x input: {worstExcess} bytes (speed: partition bench-check)");
        }

        [Test]
        public void TheBenchmarkPrintsConfigsPerSecond()
        {
            var output = new System.IO.StringWriter();
            Assert.That(ConfigFuzz.Bench(new[] { "--iterations", "500" }, output), Is.EqualTo(0));
            Assert.That(output.ToString(), Does.Match(@"^partition bench-check: 500 mutated configs \(.* checked in [0-9.]+ s: [0-9,]+ configs/s, "));
        }
    }
}
