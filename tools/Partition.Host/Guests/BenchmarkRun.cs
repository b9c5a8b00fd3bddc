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
        public static string BuildIso(RepositoryLayout layout, string directory, string commandLine = "exit=poweroff")
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
            var builder = new IsoBuilder(KernelImage.EnsureBuilt(layout), commandLine);
            builder.Modules.Add(new IsoModule(config, "partition-config"));
            builder.Modules.Add(new IsoModule(image, "guest-image bench image"));
            builder.Build(iso);
            return iso;
        }

        /// <summary>
        /// The scheduling benchmark: three spinning guests round-robin on one core, once with
        /// resume-based switches and once clear-based (switch=clear), then a two-CPU run in
        /// which a guest migrates to the shared core and back. Returns the figure lines the
        /// hypervisor printed: mean switch costs, shares beside configured shares, migration
        /// latencies.
        /// </summary>
        public static IReadOnlyList<string> RunScheduling(RepositoryLayout layout, TimeSpan timeout)
        {
            var lines = new List<string>();
            foreach (string mode in new[] { "resume", "clear" })
            {
                string serial = BootExample(layout, $"benchmark-switch-{mode}", "round-robin.json", 1, $"exit=poweroff stop_after_ms=1000 switch={mode}", null,
                    ("a", "spin.bin"), ("b", "spin.bin"), ("c", "spin.bin"), timeout);
                foreach (string line in serial.Split('\n'))
                    if (line.StartsWith("  mean switch: ", StringComparison.Ordinal) || line.Contains("% (configured "))
                        lines.Add($"switch={mode}: {line.Trim()}");
            }
            string migration = BootExample(layout, "benchmark-migration", "two-cores.json", 2, "exit=poweroff stop_after_ms=1500",
                "300 migrate beta 1\n400 migrate gamma 1\n500 migrate alpha 0\n900 migrate alpha 1\n",
                ("alpha", "spin.bin"), ("beta", "spin.bin"), ("gamma", "spin.bin"), timeout);
            foreach (string line in migration.Split('\n'))
                if (line.StartsWith("Migrated ", StringComparison.Ordinal))
                    lines.Add(line.Trim());
            lines.AddRange(RunDedicatedControl(layout, timeout));
            return lines;
        }

        /// <summary>
        /// Control on dedicated cores whose guests spin with interrupts off and never exit
        /// (configs/dedicated-spinners.json, three CPUs): the latency from the command to its
        /// effect for pause and for a migration both ways.
        /// </summary>
        public static IReadOnlyList<string> RunDedicatedControl(RepositoryLayout layout, TimeSpan timeout)
        {
            string directory = layout.NewRunDirectory("benchmark-dedicated-control");
            var builder = new IsoBuilder(KernelImage.EnsureBuilt(layout), "exit=poweroff stop_after_ms=1200");
            builder.Modules.AddRange(ExampleBoot.Modules(layout, directory, Path.Combine("configs", "dedicated-spinners.json"),
                ExampleBoot.Flat(("hog0", "spin-if0.bin"), ("hog1", "spin-if0.bin")),
                "300 pause hog1\n500 resume hog1\n700 migrate hog1 2\n900 migrate hog1 1\n"));
            string iso = Path.Combine(directory, "bench.iso");
            builder.Build(iso);
            using var run = new BochsRun(iso, directory, new BochsOptions { CpuCount = 3 });
            run.Start();
            string serial = run.WaitForSerial(new[] { "Run over: " }, timeout).Serial;
            var lines = new List<string>();
            foreach (string line in serial.Split('\n'))
                if (line.StartsWith("Migrated ", StringComparison.Ordinal) || line.StartsWith("hog1: paused", StringComparison.Ordinal))
                    lines.Add("guest spinning with IF=0 on a dedicated core: " + line.Trim());
            return lines;
        }

        private static string BootExample(RepositoryLayout layout, string name, string exampleConfig, int cpus, string commandLine, string? script,
            (string Partition, string Image) g1, (string Partition, string Image) g2, (string Partition, string Image) g3, TimeSpan timeout)
        {
            string directory = layout.NewRunDirectory(name);
            var builder = new IsoBuilder(KernelImage.EnsureBuilt(layout), commandLine);
            builder.Modules.AddRange(ExampleBoot.Modules(layout, directory, Path.Combine("configs", exampleConfig), ExampleBoot.Flat(g1, g2, g3), script));
            string iso = Path.Combine(directory, "bench.iso");
            builder.Build(iso);
            using var run = new BochsRun(iso, directory, new BochsOptions { CpuCount = cpus });
            run.Start();
            return run.WaitForSerial(new[] { "Run over: " }, timeout).Serial;
        }

        /// <summary>Linux in a partition: its boot and its idle cost, from one run.</summary>
        public sealed record LinuxFigures(ulong BootTicks, double IdleExitsPerSecond, double IdleSeconds, string Kernel)
        {
            public IEnumerable<string> Lines => new[]
            {
                $"linux boot: {BootTicks} ticks from the partitions' start to linux up ({Kernel})",
                $"linux idle: {IdleExitsPerSecond:F0} exits per second (over {IdleSeconds:F0} s, heartbeat only)",
            };
        }

        /// <summary>When the idle window of <see cref="RunLinux"/> opens and closes, in ms after the partitions start.</summary>
        public const int LinuxIdleFrom = 30000, LinuxIdleTo = 40000;

        /// <summary>
        /// Linux boot and idle cost: the project's guest kernel with one vCPU on a dedicated core
        /// beside a spinning bare-metal host partition (two CPUs); "stats" at two times once it is
        /// up gives its exits in between. Null if it did not boot.
        /// </summary>
        public static LinuxFigures? RunLinux(RepositoryLayout layout, string kernel, string initramfs, TimeSpan timeout, out RunResult result)
        {
            string directory = layout.NewRunDirectory("benchmark-linux");
            string config = Path.Combine(directory, "linux-bench.json");
            File.WriteAllText(config, """
                {
                  "version": 1,
                  "description": "Linux boot and idle cost: one vCPU on a dedicated core.",
                  "machine": { "cores": 2, "memory": "256 MiB" },
                  "partitions": [
                    {
                      "name": "host", "role": "host",
                      "vcpus": [ { "core": 0 } ],
                      "memory": [ { "size": "4 MiB" } ],
                      "boot": { "type": "flat", "image": "spin.bin", "load_address": "0x200000", "mode": "long64" },
                      "devices": { "uart": { "port": "0x3F8" } }
                    },
                    {
                      "name": "linux", "role": "guest",
                      "vcpus": [ { "core": 1 } ],
                      "memory": [ { "size": "64 MiB" } ],
                      "boot": { "type": "linux", "kernel": "bzImage", "initrd": "initramfs.cpio", "cmdline": "console=ttyS0" },
                      "devices": { "uart": { "port": "0x3F8" } }
                    }
                  ]
                }
                """);
            string images = Path.Combine(directory, "images");
            DemoGuests.WriteAll(images);
            string script = Path.Combine(directory, "script.txt");
            File.WriteAllText(script, $"{LinuxIdleFrom} stats\n{LinuxIdleTo} stats\n");
            var builder = new IsoBuilder(KernelImage.EnsureBuilt(layout), $"exit=poweroff timestamps=on stop_after_ms={LinuxIdleTo + 500}");
            builder.Modules.Add(new IsoModule(config, "partition-config"));
            builder.Modules.Add(new IsoModule(Path.Combine(images, "spin.bin"), "guest-image host image"));
            builder.Modules.Add(new IsoModule(kernel, "guest-image linux kernel"));
            builder.Modules.Add(new IsoModule(initramfs, "guest-image linux initrd"));
            builder.Modules.Add(new IsoModule(script, "console-script"));
            string iso = Path.Combine(directory, "bench.iso");
            builder.Build(iso);
            using var run = new BochsRun(iso, directory, new BochsOptions { CpuCount = 2, MemoryMegabytes = 256 });
            run.Start();
            result = run.WaitForSerial(new[] { "Run over: " }, timeout);
            return ParseLinuxFigures(result.Serial);
        }

        /// <summary>
        /// The figures of a <see cref="RunLinux"/> log: boot ticks from "Partitions start N ms"
        /// and "TSC: T ticks per ms" to the "[linux S] linux up" line; idle exits from the
        /// partition's exit totals in the two "stats" outputs.
        /// </summary>
        public static LinuxFigures? ParseLinuxFigures(string serial)
        {
            var rate = System.Text.RegularExpressions.Regex.Match(serial, @"(?m)^TSC: (\d+) ticks per ms");
            var start = System.Text.RegularExpressions.Regex.Match(serial, @"(?m)^Partitions start (\d+) ms after power-on");
            var up = System.Text.RegularExpressions.Regex.Match(serial, @"(?m)^\[linux (\d+)\.(\d{3})\] linux up: \d+ CPUs, \d+ KiB, kernel (\S+)");
            if (!rate.Success || !start.Success || !up.Success)
                return null;
            ulong ticksPerMs = ulong.Parse(rate.Groups[1].Value);
            ulong upMs = ulong.Parse(up.Groups[1].Value) * 1000 + ulong.Parse(up.Groups[2].Value);
            ulong bootTicks = (upMs - ulong.Parse(start.Groups[1].Value)) * ticksPerMs;
            var totals = System.Text.RegularExpressions.Regex.Matches(serial, @"\nPartition linux running; exits: [^\n]* total (\d+)");
            if (totals.Count < 2)
                return new LinuxFigures(bootTicks, 0, 0, up.Groups[3].Value);
            double seconds = (LinuxIdleTo - LinuxIdleFrom) / 1000.0;
            double exits = ulong.Parse(totals[1].Groups[1].Value) - ulong.Parse(totals[0].Groups[1].Value);
            return new LinuxFigures(bootTicks, exits / seconds, seconds, up.Groups[3].Value);
        }

        /// <summary>One local APIC figure as the APIC guest printed it: ticks over <see cref="Count"/> measurements.</summary>
        /// <remarks><see cref="Setting"/> names the run: "apic" (configs/apic.json) or "apic-shared" (configs/apic-shared.json).</remarks>
        public sealed record ApicFigure(string Name, string What, ulong Mean, ulong Min, ulong Max, int Count, string Setting = "apic")
        {
            /// <summary>The line recorded in artifacts/benchmarks/exits.txt.</summary>
            public string Line => $"{Setting} {Name}: mean {Mean} ticks, min {Min}, max {Max} over {Count}";
        }

        /// <summary>
        /// The local APIC benchmark: configs/apic.json (two vCPUs on two dedicated cores) with
        /// <see cref="TestGuest.ApicGuest"/> at <see cref="DemoGuests.ApicIterations"/>
        /// measurements per figure. Returns the figures in the guest's order; none if it did not finish.
        /// </summary>
        public static IReadOnlyList<ApicFigure> RunApic(RepositoryLayout layout, TimeSpan timeout, out RunResult result)
        {
            result = BootApicGuest(layout, "benchmark-apic", "apic.json", ExampleBoot.Flat(("apic", "apic.bin")), timeout);
            return ParseApicFigures(result.Serial);
        }

        /// <summary>The figures of the shared-core APIC run, with what each measures there.</summary>
        public static readonly (string Name, string What)[] SharedWakeupFigures =
        {
            ("hlt-wakeup", "HLT (IF=1) until the TSC-deadline timer, a guest that never halts sharing the core: deadline to the instruction after HLT"),
            ("x2apic-ipi-to-idle", "x2APIC fixed IPI to vCPU 1 after 2 ms in HLT, a guest that never halts sharing its core: WRMSR ICR to its handler"),
        };

        /// <summary>
        /// The wake-up from HLT on shared cores: configs/apic-shared.json (each of the APIC guest's
        /// vCPUs sharing its core with a guest that never halts, 1.5 ms slices each) with the quick
        /// APIC guest (<see cref="DemoGuests.ApicQuickIterations"/> measurements): its figures
        /// named in <see cref="SharedWakeupFigures"/> (setting "apic-shared"), none if it did not
        /// finish. vCPU 0's timer (armed 2 ms ahead) and vCPU 0's IPI to vCPU 1 come while a
        /// neighbour holds the core: what they measure is whether that slice ends for them.
        /// </summary>
        public static IReadOnlyList<ApicFigure> RunSharedWakeup(RepositoryLayout layout, TimeSpan timeout, out RunResult result)
        {
            result = BootApicGuest(layout, "benchmark-apic-shared", "apic-shared.json",
                ExampleBoot.Flat(("apic", "apic-quick.bin"), ("neighbour0", "spin.bin"), ("neighbour1", "spin.bin")), timeout);
            return ParseSharedWakeupFigures(result.Serial);
        }

        /// <summary>The <see cref="SharedWakeupFigures"/> of a shared-core APIC run's serial log.</summary>
        public static IReadOnlyList<ApicFigure> ParseSharedWakeupFigures(string serial)
        {
            var figures = ParseApicFigures(serial);
            var shared = new List<ApicFigure>();
            foreach (var (name, what) in SharedWakeupFigures)
                if (figures.FirstOrDefault(f => f.Name == name) is { } figure)
                    shared.Add(figure with { What = what, Setting = "apic-shared" });
            return shared;
        }

        private static RunResult BootApicGuest(RepositoryLayout layout, string name, string config, IEnumerable<(string Image, string CommandLine)> images, TimeSpan timeout)
        {
            string directory = layout.NewRunDirectory(name);
            var builder = new IsoBuilder(KernelImage.EnsureBuilt(layout), "exit=poweroff");
            builder.Modules.AddRange(ExampleBoot.Modules(layout, directory, Path.Combine("configs", config), images));
            string iso = Path.Combine(directory, "bench.iso");
            builder.Build(iso);
            using var run = new BochsRun(iso, directory, new BochsOptions { CpuCount = 2 });
            run.Start();
            return run.WaitForSerial(new[] { "[apic] apic done" }, timeout);
        }

        /// <summary>The "[apic] apic NAME: mean M ticks, min A, max B over N" lines of a serial log, for the figures <see cref="TestGuest.ApicFigures"/> names.</summary>
        public static IReadOnlyList<ApicFigure> ParseApicFigures(string serial)
        {
            var figures = new List<ApicFigure>();
            foreach (var (name, what) in TestGuest.ApicFigures)
            {
                var match = System.Text.RegularExpressions.Regex.Match(serial,
                    $@"(?m)^\[apic\] apic {System.Text.RegularExpressions.Regex.Escape(name)}: mean (\d+) ticks, min (\d+), max (\d+) over (\d+)\r?$");
                if (match.Success)
                    figures.Add(new ApicFigure(name, what, ulong.Parse(match.Groups[1].Value), ulong.Parse(match.Groups[2].Value),
                        ulong.Parse(match.Groups[3].Value), int.Parse(match.Groups[4].Value)));
            }
            return figures;
        }

        /// <summary>The APIC figures as a table: name, mean, min, max (ticks), what was measured.</summary>
        public static string FormatApicTable(IReadOnlyList<ApicFigure> figures)
        {
            var text = new StringBuilder();
            text.AppendLine("Local APIC, ticks (= emulated instructions), over N measurements:");
            text.AppendLine($"  {"figure",-26} {"mean",7} {"min",7} {"max",7} {"N",5}  measured");
            foreach (var f in figures)
            {
                string name = f.Setting == "apic" ? f.Name : $"{f.Name} ({f.Setting})";
                text.AppendLine($"  {name,-26} {f.Mean,7} {f.Min,7} {f.Max,7} {f.Count,5}  {f.What}");
            }
            return text.ToString();
        }

        /// <summary>
        /// Where the ticks of one kind of exit go, from the hypervisor's exit profile
        /// (kernel/Vmx/ExitProfile.cs): mean ticks per exit of each part of the exit path.
        /// <see cref="EntryExit"/> includes the guest's own instructions of the timed loop
        /// (what the "loop" figure measures).
        /// </summary>
        public sealed record ExitBreakdown(string Name, ulong Count, ulong EntryExit, ulong AfterExit, ulong Dispatch, ulong Handler, ulong BeforeEntry)
        {
            public ulong Total => EntryExit + AfterExit + Dispatch + Handler + BeforeEntry;

            /// <summary>The line recorded in artifacts/benchmarks/exits.txt.</summary>
            public string Line => $"profile {Name}: entry/exit {EntryExit}, after exit {AfterExit}, dispatch {Dispatch}, handler {Handler}, before entry {BeforeEntry}, total {Total} ticks (mean over {Count} exits)";
        }

        /// <summary>The kinds of exit the benchmark times, as the exit profile names them.</summary>
        public static IEnumerable<(string Name, string Profile)> ProfiledExits => new[]
        {
            ("vmcall", "VMCALL"), ("cpuid", "CPUID"), ("io", $"I/O port 0x{Uart + 7:X3}"),
        };

        /// <summary>
        /// The benchmark again with "exitprofile=on": the hypervisor's breakdown of each timed
        /// exit. A separate run, so that the figures of <see cref="Run"/> carry no probes.
        /// </summary>
        public static IReadOnlyList<ExitBreakdown> RunProfile(RepositoryLayout layout, TimeSpan timeout, out RunResult result)
        {
            string directory = layout.NewRunDirectory("benchmark-exit-profile");
            string iso = BuildIso(layout, directory, "exit=poweroff exitprofile=on");
            using var run = new BochsRun(iso, directory);
            run.Start();
            result = run.WaitForSerial(new[] { "Run over: " }, timeout);
            return ParseProfile(result.Serial);
        }

        /// <summary>The profile lines of the timed exits in a serial log ("  VMCALL: N exits: entry/exit A, after exit B, ...").</summary>
        public static IReadOnlyList<ExitBreakdown> ParseProfile(string serial)
        {
            var found = new List<ExitBreakdown>();
            foreach (var (name, profile) in ProfiledExits)
            {
                var m = System.Text.RegularExpressions.Regex.Match(serial,
                    $@"(?mi)^  {System.Text.RegularExpressions.Regex.Escape(profile)}: (\d+) exits: entry/exit (\d+), after exit (\d+), dispatch (\d+), handler (\d+), before entry (\d+)");
                if (m.Success)
                    found.Add(new ExitBreakdown(name, ulong.Parse(m.Groups[1].Value), ulong.Parse(m.Groups[2].Value), ulong.Parse(m.Groups[3].Value),
                        ulong.Parse(m.Groups[4].Value), ulong.Parse(m.Groups[5].Value), ulong.Parse(m.Groups[6].Value)));
            }
            return found;
        }

        /// <summary>The breakdown as a table, beside the round trips the guest measured ("bench NAME: ..., PER per round trip").</summary>
        public static string FormatProfileTable(IReadOnlyList<ExitBreakdown> breakdown, IReadOnlyList<string> benchLines)
        {
            ulong RoundTrip(string name)
            {
                foreach (string line in benchLines)
                {
                    var m = System.Text.RegularExpressions.Regex.Match(line, $@"^bench {name}: \d+ ticks for \d+, (\d+) per round trip");
                    if (m.Success)
                        return ulong.Parse(m.Groups[1].Value);
                }
                return 0;
            }
            ulong loop = RoundTrip("loop");
            var text = new StringBuilder();
            text.AppendLine("Where the ticks of an exit go (exitprofile=on, mean per exit; the guest's own loop is in entry/exit):");
            text.AppendLine($"  {"exit",-8} {"round trip",10} {"entry/exit",10} {"after exit",10} {"dispatch",9} {"handler",8} {"before entry",12} {"sum",6}");
            foreach (var b in breakdown)
                text.AppendLine($"  {b.Name,-8} {RoundTrip(b.Name),10} {b.EntryExit,10} {b.AfterExit,10} {b.Dispatch,9} {b.Handler,8} {b.BeforeEntry,12} {b.Total,6}");
            text.AppendLine($"  (of entry/exit, {loop} ticks are the guest's loop without an exit: the 'loop' figure)");
            return text.ToString();
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
            // A CPU-bound guest against its instruction count (Bochs without a hypervisor: one tick each).
            var cpu = System.Text.RegularExpressions.Regex.Match(result.Serial, @"\[bench\] bench cpu-bound: (\d+) ticks for (\d+) instructions");
            if (cpu.Success)
            {
                double ticks = double.Parse(cpu.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                double instructions = double.Parse(cpu.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                lines.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"cpu-bound: overhead {(ticks - instructions) / instructions * 100:0.000}% ({ticks:0} ticks for {instructions:0} instructions on core 0, which polls the console every 100 ms)"));
            }
            // The hypervisor's own start-up: from Hypervisor.Boot to the first VMLAUNCH.
            var first = System.Text.RegularExpressions.Regex.Match(result.Serial, @"First guest instruction: (\d+) ticks");
            if (first.Success)
                lines.Add($"start: {first.Groups[1].Value} ticks from the hypervisor's start to the first guest instruction");
            return lines;
        }
    }
}
