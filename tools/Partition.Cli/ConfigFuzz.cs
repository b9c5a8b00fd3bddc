#nullable enable
using System.Diagnostics;
using System.Text;
using Partition.Configs;
using Partition.Host;

namespace Partition.Cli
{
    /// <summary>
    /// Mutated configs: the example configs changed the ways a hand or a broken tool changes
    /// them (truncation, flipped bits, invalid UTF-8, wrong types, huge numbers, deep nesting,
    /// duplicated and deleted slices). The fuzz test (ConfigFuzzTests) feeds them to the
    /// checker for robustness; 'partition bench-check' times it.
    /// </summary>
    internal static class ConfigFuzz
    {
        public const int DefaultIterations = 120_000;
        public const int DefaultSeed = 20240604;

        /// <summary>The example configs under configs/ (the schema left out), the seeds of every mutation.</summary>
        public static List<byte[]> Seeds(string root)
        {
            var seeds = new List<byte[]>();
            foreach (string file in Directory.GetFiles(Path.Combine(root, "configs"), "*.json").Order(StringComparer.Ordinal))
                if (!file.EndsWith(".schema.json", StringComparison.Ordinal))
                    seeds.Add(File.ReadAllBytes(file));
            return seeds;
        }

        private static readonly string[] Fragments =
        {
            "{", "}", "[", "]", ",", ":", "\"", "\\", "null", "true", "-", "1e999", "18446744073709551616", "-0", "0.5",
            "\"version\": 1, ", "\"version\": 1, ", "\"name\": \"host\", ", "\"core\": 255, ", "\"size\": \"99999 TiB\", ",
            "\"\\ud800\"", "\"\\u00e9\"", "\xC3\x28", "\xFF", "\xF4\x90\x80\x80", "\xED\xA0\x80",
            "// comment\n", "/* comment */", "0x1000", "1e0", "\"0x1\"", "\"4\"",
        };

        public static byte[] Mutate(byte[] seed, Random random)
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
                    case 3: // insert a fragment: wrong types, huge numbers, duplicate keys, bad escapes, comments
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

        /// <summary>
        /// 'partition bench-check [--iterations N] [--seed S]': the checker's speed on mutated
        /// configs, in configs per second, host-only. The mutations are made first, so only
        /// ConfigChecker.Check is timed.
        /// </summary>
        public static int Bench(string[] args, TextWriter stdout)
        {
            var options = new Options(args, new[] { "--iterations", "--seed" }, maxPositional: 0);
            int iterations = options.GetInt("--iterations", 1, 100_000_000) ?? DefaultIterations;
            int seed = options.GetInt("--seed", 0, int.MaxValue) ?? DefaultSeed;
            var seeds = Seeds(RepositoryLayout.Find(AppContext.BaseDirectory).Root);
            var random = new Random(seed);
            const int Batch = 4096;
            var inputs = new byte[Math.Min(iterations, Batch)][];
            long bytes = 0, valid = 0, errors = 0;
            var clock = new Stopwatch();
            for (int done = 0; done < iterations;)
            {
                int count = Math.Min(Batch, iterations - done);
                for (int i = 0; i < count; i++)
                {
                    inputs[i] = Mutate(seeds[random.Next(seeds.Count)], random);
                    bytes += inputs[i].Length;
                }
                clock.Start();
                for (int i = 0; i < count; i++)
                {
                    var result = ConfigChecker.Check(inputs[i]);
                    valid += result.IsValid ? 1 : 0;
                    errors += result.ErrorCount;
                }
                clock.Stop();
                done += count;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            stdout.WriteLine($"partition bench-check: {iterations:N0} mutated configs ({bytes / iterations:N0} bytes on average, seed {seed}) " +
                $"checked in {seconds:F2} s: {iterations / seconds:N0} configs/s, {bytes / seconds / (1 << 20):F1} MiB/s; " +
                $"{valid:N0} still valid, {errors:N0} errors in all");
            return 0;
        }
    }
}
