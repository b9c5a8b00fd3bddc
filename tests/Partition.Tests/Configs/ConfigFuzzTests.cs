using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text;
using NUnit.Framework;
using Partition.Configs;
using Partition.Host;

namespace Partition.Tests.Configs
{
    /// <summary>
    /// Mutated configs through the one parser and validator: no exception, no hang, and memory
    /// bounded by the input (allocated bytes per input byte, plus a constant for the capped error list).
    /// </summary>
    public class ConfigFuzzTests
    {
        private const int Iterations = 120_000;
        private const int Seed = 20240604;
        private const long AllowedBytesPerInputByte = 64;
        private const long AllowedConstantBytes = 96 * 1024;

        [Test]
        public void MutatedConfigsNeverCrashHangOrGrowWithoutBound()
        {
            string root = RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory).Root;
            var seeds = new List<byte[]>();
            foreach (string file in Directory.GetFiles(Path.Combine(root, "configs"), "*.json"))
                if (!file.EndsWith(".schema.json", StringComparison.Ordinal))
                    seeds.Add(File.ReadAllBytes(file));
            var random = new Random(Seed);
            double worstRatio = 0;
            long worstExcess = 0;
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < Iterations; i++)
            {
                byte[] input = Mutate(seeds[random.Next(seeds.Count)], random);
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
            clock.Stop();
            TestContext.Out.WriteLine($"{Iterations} configs in {clock.Elapsed.TotalSeconds:F1} s ({Iterations / clock.Elapsed.TotalSeconds:F0}/s); " +
                $"worst allocation {worstRatio:F1} bytes per input byte; worst excess over {AllowedBytesPerInputByte}x input: {worstExcess} bytes");
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(60)));
        }

        private static readonly string[] Fragments =
        {
            "{", "}", "[", "]", ",", ":", "\"", "\\", "null", "true", "-", "1e999", "18446744073709551616", "-0", "0.5",
            "\"version\": 1, ", "\"version\": 1, ", "\"name\": \"host\", ", "\"core\": 255, ", "\"size\": \"99999 TiB\", ",
            "\"\\ud800\"", "\"\\u00e9\"", "\xC3\x28", "\xFF", "\xF4\x90\x80\x80", "\xED\xA0\x80",
        };

        private static byte[] Mutate(byte[] seed, Random random)
        {
            var bytes = new List<byte>(seed);
            int mutations = 1 + random.Next(4);
            for (int m = 0; m < mutations; m++)
            {
                switch (random.Next(9))
                {
                    case 0: // truncate
                    {
                        int at = random.Next(bytes.Count + 1);
                        bytes.RemoveRange(at, bytes.Count - at);
                        break;
                    }
                    case 1: // byte flips
                        for (int k = random.Next(1, 8); k > 0 && bytes.Count > 0; k--)
                            bytes[random.Next(bytes.Count)] ^= (byte)(1 << random.Next(8));
                        break;
                    case 2: // random bytes (invalid UTF-8 among them)
                        if (bytes.Count > 0)
                            bytes[random.Next(bytes.Count)] = (byte)random.Next(256);
                        break;
                    case 3: // insert a fragment: wrong types, huge numbers, duplicate keys, bad escapes
                        bytes.InsertRange(random.Next(bytes.Count + 1), Encoding.Latin1.GetBytes(Fragments[random.Next(Fragments.Length)]));
                        break;
                    case 4: // deep nesting
                    {
                        int depth = random.Next(1, 200);
                        int where = random.Next(bytes.Count + 1);
                        var nest = new byte[depth * 2];
                        for (int d = 0; d < depth; d++)
                        {
                            nest[d] = random.Next(2) == 0 ? (byte)'[' : (byte)'{';
                            nest[depth * 2 - 1 - d] = nest[d] == '[' ? (byte)']' : (byte)'}';
                        }
                        bytes.InsertRange(where, nest);
                        break;
                    }
                    case 5: // duplicate a slice (duplicate keys, members, partitions)
                    {
                        if (bytes.Count == 0)
                            break;
                        int start = random.Next(bytes.Count);
                        int length = random.Next(Math.Min(200, bytes.Count - start) + 1);
                        bytes.InsertRange(random.Next(bytes.Count + 1), bytes.GetRange(start, length));
                        break;
                    }
                    case 6: // delete a slice
                    {
                        if (bytes.Count == 0)
                            break;
                        int start = random.Next(bytes.Count);
                        bytes.RemoveRange(start, random.Next(Math.Min(50, bytes.Count - start) + 1));
                        break;
                    }
                    case 7: // replace a digit run with a huge number
                    {
                        int at = bytes.FindIndex(random.Next(Math.Max(bytes.Count, 1)), b => b >= '0' && b <= '9');
                        if (at >= 0)
                            bytes.InsertRange(at, Encoding.ASCII.GetBytes("99999999999999999999999"));
                        break;
                    }
                    default: // swap a quoted value's type: a string where an object is, and so on
                    {
                        int at = bytes.IndexOf((byte)':', random.Next(Math.Max(bytes.Count, 1)));
                        if (at >= 0)
                            bytes.InsertRange(at + 1, Encoding.ASCII.GetBytes(random.Next(3) switch { 0 => " [] ,\"x\":", 1 => " \"s\", \"y\":", _ => " {},\"z\":" }));
                        break;
                    }
                }
            }
            return bytes.ToArray();
        }
    }
}
