#nullable enable
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Cli
{
    /// <summary>
    /// partition bench [--timeout S] [--check BASELINE | --update-baseline]: the exit benchmark in
    /// Bochs, its figures printed, recorded (artifacts/benchmarks/exits.txt, exits.json) and, with
    /// --check, guarded against the committed baseline; and partition bench-compare RESULT
    /// BASELINE [--update], the guard alone.
    /// </summary>
    internal static class BenchCommand
    {
        /// <summary>The committed baseline, relative to the repository root (README.md, 'Measured').</summary>
        public const string DefaultBaseline = "tests/benchmarks/baseline.json";

        /// <summary>Where each run writes its guarded figures, relative to the repository root.</summary>
        public const string ResultFile = "artifacts/benchmarks/exits.json";

        public static int Run(string[] args)
        {
            var options = new Options(args, new[] { "--timeout", "--check" }, maxPositional: 0, flags: new[] { "--update-baseline", "--exits" });
            var timeout = TimeSpan.FromSeconds(options.GetInt("--timeout", 1, 86_400) ?? 300);
            string? check = options.Get("--check");
            bool update = options.Has("--update-baseline");
            bool exitsOnly = options.Has("--exits");
            if (check != null && update)
                throw new UsageException("bench takes --check BASELINE or --update-baseline, not both");
            // Read the baseline first: a typo should not cost a run of the benchmark.
            BenchmarkResult? baseline = check == null ? null : ReadResult(check);

            var layout = RepositoryLayout.Find(AppContext.BaseDirectory);
            var exitLines = BenchmarkRun.Run(layout, timeout, out var result);
            var lines = new List<string>(exitLines);
            if (exitLines.Count == 0)
            {
                Console.Error.WriteLine("partition bench: the benchmark printed no figures.");
                Console.Error.WriteLine(result.Report());
                return 1;
            }
            // Where each exit's ticks go: a second run with exitprofile=on (the figures above are without it).
            var profile = BenchmarkRun.RunProfile(layout, timeout, out var profileResult);
            if (profile.Count == 0)
            {
                Console.Error.WriteLine("partition bench: the profiled run printed no exit profile.");
                Console.Error.WriteLine(profileResult.Report());
            }
            foreach (var breakdown in profile)
                lines.Add(breakdown.Line);
            if (exitsOnly)
            {
                foreach (string line in lines)
                    Console.Out.WriteLine(line);
                Console.Out.WriteLine();
                Console.Out.Write(BenchmarkRun.FormatProfileTable(profile, exitLines));
                return 0;
            }
            lines.AddRange(BenchmarkRun.RunScheduling(layout, timeout));
            // The APIC guest's figures, on dedicated cores and then on shared ones.
            List<BenchmarkRun.ApicFigure> ApicLines(IReadOnlyList<BenchmarkRun.ApicFigure> figures, int expected, string where, RunResult result)
            {
                if (figures.Count != expected)
                {
                    Console.Error.WriteLine($"partition bench: the local APIC guest {where} printed {figures.Count} of {expected} figures.");
                    Console.Error.WriteLine(result.Report());
                }
                foreach (var figure in figures)
                    lines.Add(figure.Line);
                return figures.ToList();
            }
            var apic = ApicLines(BenchmarkRun.RunApic(layout, timeout, out var apicResult), TestGuest.ApicFigures.Length, "on dedicated cores", apicResult);
            apic.AddRange(ApicLines(BenchmarkRun.RunSharedWakeup(layout, timeout, out var sharedResult), BenchmarkRun.SharedWakeupFigures.Length,
                "on shared cores", sharedResult));
            var linux = BenchmarkRun.RunLinux(layout, Partition.Host.Linux.LinuxArtifacts.GuestKernel(layout),
                Partition.Host.Linux.LinuxArtifacts.GuestInitramfs(layout), timeout, out var linuxResult);
            if (linux == null)
            {
                Console.Error.WriteLine("partition bench: Linux did not come up (build its images with 'partition linux').");
                Console.Error.WriteLine(linuxResult.Report());
            }
            else
            {
                lines.AddRange(linux.Lines);
            }
            string record = Path.Combine(layout.Root, "artifacts", "benchmarks", "exits.txt");
            Directory.CreateDirectory(Path.GetDirectoryName(record)!);
            string commit = Commit(layout);
            var now = DateTime.UtcNow;
            using (var writer = File.AppendText(record))
            {
                writer.WriteLine($"# {now:yyyy-MM-dd HH:mm} UTC, commit {commit}, Bochs tigerlake (ticks = emulated instructions)");
                foreach (string line in lines)
                {
                    Console.Out.WriteLine(line);
                    writer.WriteLine(line);
                }
            }
            if (profile.Count != 0)
            {
                Console.Out.WriteLine();
                Console.Out.Write(BenchmarkRun.FormatProfileTable(profile, exitLines));
            }
            if (apic.Count != 0)
            {
                Console.Out.WriteLine();
                Console.Out.Write(BenchmarkRun.FormatApicTable(apic));
            }
            var figures = new BenchmarkResult(commit, now.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture),
                "Bochs, CPU model tigerlake, clock sync=none", BenchmarkFigures.FromLines(lines));
            string json = Path.Combine(layout.Root, ResultFile);
            File.WriteAllText(json, figures.ToJson());
            Console.Error.WriteLine($"Recorded in {layout.Display(record)} and {layout.Display(json)}");

            if (update)
                return WriteBaseline(figures, Path.Combine(layout.Root, DefaultBaseline), DefaultBaseline);
            if (baseline != null)
                return Guard(figures, baseline, check!, $"./partition bench-compare --update {ResultFile} {DefaultBaseline}  (this run's figures)");
            return 0;
        }

        /// <summary>partition bench-compare RESULT BASELINE [--update].</summary>
        public static int Compare(string[] args)
        {
            var options = new Options(args, Array.Empty<string>(), maxPositional: 2, flags: new[] { "--update" });
            if (options.Positional.Count != 2)
                throw new UsageException("bench-compare takes RESULT BASELINE [--update]");
            string resultPath = options.Positional[0], baselinePath = options.Positional[1];
            var result = ReadResult(resultPath);
            if (options.Has("--update"))
                return WriteBaseline(result, baselinePath, baselinePath);
            return Guard(result, ReadResult(baselinePath), baselinePath, $"./partition bench-compare --update {resultPath} {baselinePath}");
        }

        private static int Guard(BenchmarkResult result, BenchmarkResult baseline, string baselineName, string updateCommand)
        {
            var comparison = BenchmarkComparison.Compare(result, baseline);
            Console.Out.WriteLine();
            Console.Out.Write(comparison.Report(baselineName, baseline, updateCommand));
            return comparison.Passed ? 0 : 1;
        }

        private static int WriteBaseline(BenchmarkResult figures, string path, string name)
        {
            if (figures.Figures.Count == 0)
                throw new InvalidOperationException("no figures to write: the baseline stays as it was.");
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            File.WriteAllText(path, figures.ToJson());
            Console.Out.WriteLine($"Baseline {name}: {figures.Figures.Count} figures of commit {figures.Commit}. "
                + "Commit it with the change that moved them.");
            return 0;
        }

        private static BenchmarkResult ReadResult(string path)
        {
            if (!File.Exists(path))
                throw new InvalidOperationException($"{path}: no such file (a result is written by 'partition bench', the baseline is {DefaultBaseline}).");
            return BenchmarkResult.Parse(File.ReadAllText(path), path);
        }

        private static string Commit(RepositoryLayout layout)
        {
            if (ExternalTool.TryFind("git") is { } git)
            {
                var (status, output) = ExternalTool.Run(git, new[] { "-C", layout.Root, "rev-parse", "--short", "HEAD" }, null, TimeSpan.FromSeconds(10));
                if (status == 0)
                    return output.Trim();
            }
            return "unknown";
        }
    }
}
