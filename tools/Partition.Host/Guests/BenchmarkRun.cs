using System.Text;

namespace Partition.Host.Guests
{
    /// <summary>
    /// The exit benchmark: boots a partition running <see cref="TestGuest.ExitBenchmark"/> in
    /// Bochs and collects the "bench ..." lines it prints. Figures are TSC ticks, which in
    /// Bochs are instructions: repeatable, and independent of the host's load.
    /// </summary>
    public static class BenchmarkRun
    {
        public const ulong Origin = 0x200000;
        public const ushort Uart = 0x3F8;

        /// <summary>The config, guest image and ISO for the benchmark, built in <paramref name="directory"/>.</summary>
        public static string BuildIso(RepositoryLayout layout, string directory)
        {
            Directory.CreateDirectory(directory);
            string image = Path.Combine(directory, "bench.bin");
            File.WriteAllBytes(image, TestGuest.ExitBenchmark(Origin, Uart));
            string config = Path.Combine(directory, "bench.json");
            File.WriteAllText(config, """
                {
                  "version": 1,
                  "description": "The exit benchmark: one 64-bit partition timing VMCALL, CPUID and I/O exits.",
                  "machine": { "cores": 1, "memory": "128 MiB" },
                  "partitions": [
                    {
                      "name": "bench", "role": "host",
                      "vcpus": [ { "core": 0 } ],
                      "memory": [ { "size": "4 MiB" } ],
                      "boot": { "type": "flat", "image": "bench.bin", "load_address": "0x200000", "mode": "long64" },
                      "devices": { "uart": { "port": "0x3F8" } }
                    }
                  ]
                }
                """);
            string iso = Path.Combine(directory, "bench.iso");
            var builder = new IsoBuilder(KernelImage.EnsureBuilt(layout), "exit=poweroff");
            builder.Modules.Add(new IsoModule(config, "partition-config"));
            builder.Modules.Add(new IsoModule(image, "guest-image bench image"));
            builder.Build(iso);
            return iso;
        }

        /// <summary>Boots the benchmark and returns its "bench NAME: ..." lines (without the partition prefix).</summary>
        public static IReadOnlyList<string> Run(RepositoryLayout layout, TimeSpan timeout, out RunResult result)
        {
            string directory = layout.NewRunDirectory("benchmark-exits");
            string iso = BuildIso(layout, directory);
            using var run = new BochsRun(iso, directory);
            run.Start();
            result = run.WaitForSerial(new[] { "[bench] bench done" }, timeout);
            var lines = new List<string>();
            foreach (string line in result.Serial.Split('\n'))
                if (line.StartsWith("[bench] bench ", StringComparison.Ordinal) && !line.EndsWith("done", StringComparison.Ordinal))
                    lines.Add(line.Substring("[bench] ".Length));
            return lines;
        }
    }
}
