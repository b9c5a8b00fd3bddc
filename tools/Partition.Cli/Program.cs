#nullable enable
using System.Globalization;
using System.Runtime.InteropServices;
using Partition.Host;

namespace Partition.Cli
{
    /// <summary>
    /// partition VERB [options]. Exit codes: 0 success, 1 failure, 2 bad usage.
    /// </summary>
    public static class Program
    {
        private const string Usage =
            "usage: partition <verb> [options]\n" +
            "\n" +
            "verbs:\n" +
            "  check CONFIG [--json] [--images]\n" +
            "      Check a partition configuration (JSON) and list every problem as\n" +
            "      FILE:LINE:COLUMN: PATH: MESSAGE, then (when valid) each partition and each\n" +
            "      shared core's schedule, defaults named. --images also checks the guest image\n" +
            "      files it names as the boot will: present, a bzImage or a kernel the Multiboot\n" +
            "      loader takes, a flat binary inside its partition's memory from its load\n" +
            "      address, command lines the kernel accepts. Exit status 0 valid, 1\n" +
            "      invalid, 2 not a readable config file (missing, a directory, FIFO or device,\n" +
            "      larger than 1 MiB).\n" +
            "  image [CONFIG] [-o FILE] [--cmdline \"...\"] [--script FILE]\n" +
            "      Build a bootable GRUB ISO from artifacts/image/partition.elf and print its size.\n" +
            "      With CONFIG, the config and the guest images it names (paths relative to the\n" +
            "      config file) become Multiboot2 modules; default output artifacts/NAME.iso\n" +
            "      (artifacts/partition.iso without CONFIG).\n" +
            "  run [CONFIG | ISO] [--cpus N] [--timeout S] [--model M] [--cmdline \"...\"] [--script FILE]\n" +
            "      [--disk FILE|test] [--timeline FILE.svg]\n" +
            "      Boot in Bochs and stream the serial console here until Bochs exits, S seconds\n" +
            "      pass, or Ctrl-C. With CONFIG, first build its ISO (as 'image CONFIG'); CPUs\n" +
            "      default to the config's machine cores. Without either, boot\n" +
            "      artifacts/partition.iso. Defaults: 1 CPU, no timeout, CPU model tigerlake.\n" +
            "      What is typed (a terminal, in raw mode) or piped in (each line ended as by\n" +
            "      Enter) goes to the hypervisor's console once the partitions start; stdin at\n" +
            "      its end (or /dev/null) is no input, and the run goes on.\n" +
            "      --script FILE feeds the hypervisor console timed commands, one per line:\n" +
            "      \"MILLISECONDS COMMAND\" (e.g. \"500 migrate alpha 0\"); --cmdline sets the kernel\n" +
            "      command line (e.g. \"exit=poweroff stop_after_ms=2000\").\n" +
            "      --disk FILE attaches a flat disk image as ata0-master (/dev/sda to Linux; its\n" +
            "      size whole cylinders of 16 heads and 63 sectors); --disk test writes the host\n" +
            "      partition's test disk into the run directory and prints its sha256. The boot\n" +
            "      CD-ROM is ata1-master. --timeline FILE.svg adds 'trace=on' and, when the run\n" +
            "      is over, draws the schedule trace it prints: a lane per core, each partition\n" +
            "      in its colour, migrations as arrows (the run must end: stop_after_ms, or every\n" +
            "      partition stopped).\n" +
            "  bench-check [--iterations N] [--seed S]\n" +
            "      Time the config checker on N mutated example configs (default 120000, the\n" +
            "      fuzz test's): configs per second, on the host, no emulator.\n" +
            "  bench-scheduler [--slices N]\n" +
            "      Time the scheduler's decisions (pick the next vCPU, account its slice) on\n" +
            "      the host: dedicated, round-robin and weighted with 1, 32 and 1,024 vCPUs on one\n" +
            "      core and 256 cores of 4; ns and steps per decision (default 2,000,000 slices).\n" +
            "  guests [-o DIR]\n" +
            "      Write the guest images the example configurations in configs/ boot (assembled\n" +
            "      with Iced); default DIR configs/images.\n" +
            "  linux [guest] [host] [debian] [memtest]\n" +
            "      guest: build the guest kernel from linux-source-6.1 and tools/linux/guest.config\n" +
            "      (cached in ${XDG_CACHE_HOME:-~/.cache}/partition/linux/, 5 to 11 minutes on a\n" +
            "      miss) and its busybox initramfs; copy both to artifacts/linux/guest/ and\n" +
            "      configs/images/. host: the same for the host partition (tools/linux/host.config,\n" +
            "      host-init) into artifacts/linux/host/ and configs/images/host-*, with the test\n" +
            "      disk disk.img. Without an argument: guest and host. debian: fetch Debian's stock\n" +
            "      kernel (linux-image-amd64) into the cache and copy it to artifacts/linux/debian/.\n" +
            "      memtest: the same for Debian's memtest86+ (memtest86+x64.bin, also copied to\n" +
            "      configs/images/ for configs/memtest.json).\n" +
            "  bench [--exits] [--timeout S] [--check BASELINE | --update-baseline]\n" +
            "      Run the exit benchmark in Bochs: a guest times 10,000 null VMCALLs, CPUID\n" +
            "      exits and I/O exits with RDTSC (one tick = one emulated instruction). Prints\n" +
            "      the figures and, from a second run with exitprofile=on, where each exit's\n" +
            "      ticks go (entry/exit, bookkeeping after the exit, dispatch, handler,\n" +
            "      bookkeeping before the entry); --exits stops there. Then the scheduling\n" +
            "      figures (same-core switch cost, resume- and clear-based; shares beside\n" +
            "      configured shares; migration latency), then the\n" +
            "      local APIC figures of configs/apic.json (IPIs in xAPIC and x2APIC mode, one way\n" +
            "      and round trip, to a halted vCPU; TSC-deadline and one-shot timer expiry; HLT\n" +
            "      wake-up) as a table, then Linux's boot and idle cost; appends them to\n" +
            "      artifacts/benchmarks/exits.txt and writes the guarded figures, by key, to\n" +
            "      artifacts/benchmarks/exits.json. --check BASELINE then compares them with\n" +
            "      BASELINE (as bench-compare). --update-baseline writes them to\n" +
            "      " + BenchCommand.DefaultBaseline + ".\n" +
            "  bench-compare RESULT BASELINE [--update]\n" +
            "      Compare a bench result (artifacts/benchmarks/exits.json) with a baseline\n" +
            "      (" + BenchCommand.DefaultBaseline + "): each figure, its change in %, and exit\n" +
            "      status 1 when one is worse by more than its tolerance (5% unless the baseline\n" +
            "      says otherwise), better by more than it (update the baseline in the same\n" +
            "      commit), or on one side only. --update copies RESULT's figures to BASELINE.\n" +
            "  help\n" +
            "      Show this text.\n";

        public static int Main(string[] args)
        {
            if (args.Length == 0)
                return BadUsage("no verb given");
            try
            {
                switch (args[0])
                {
                    case "check":
                        return CheckCommand.Run(args.AsSpan(1).ToArray());
                    case "image":
                        return ImageCommand.Run(args.AsSpan(1).ToArray());
                    case "run":
                        return RunCommand.Run(args.AsSpan(1).ToArray());
                    case "bench":
                        return BenchCommand.Run(args.AsSpan(1).ToArray());
                    case "bench-compare":
                        return BenchCommand.Compare(args.AsSpan(1).ToArray());
                    case "bench-check":
                        return ConfigFuzz.Bench(args.AsSpan(1).ToArray(), Console.Out);
                    case "bench-scheduler":
                        return SchedulerBench.Run(args.AsSpan(1).ToArray(), Console.Out);
                    case "guests":
                        return GuestsCommand(args.AsSpan(1).ToArray());
                    case "linux":
                        return LinuxCommand.Run(args.AsSpan(1).ToArray());
                    case "help":
                    case "-h":
                    case "--help":
                        Console.Out.Write(Usage);
                        return 0;
                    default:
                        return BadUsage($"unknown verb '{args[0]}'");
                }
            }
            catch (UsageException e)
            {
                return BadUsage(e.Message);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException)
            {
                Console.Error.WriteLine($"partition {args[0]}: {e.Message}");
                return 1;
            }
        }

        private static int GuestsCommand(string[] args)
        {
            string directory = Path.Combine(RepositoryLayout.Find(AppContext.BaseDirectory).Root, "configs", "images");
            if (args.Length == 2 && args[0] == "-o")
                directory = args[1];
            else if (args.Length != 0)
                throw new UsageException("guests takes only [-o DIR]");
            foreach (string path in Partition.Host.Guests.DemoGuests.WriteAll(directory))
                Console.Out.WriteLine($"{path}: {new FileInfo(path).Length} bytes");
            return 0;
        }

        private static int BadUsage(string problem)
        {
            Console.Error.WriteLine($"partition: {problem}");
            Console.Error.Write(Usage);
            return 2;
        }
    }

    /// <summary>Bad command-line usage; reported with the usage text and exit code 2.</summary>
    public sealed class UsageException : Exception
    {
        public UsageException(string message) : base(message) { }
    }

    /// <summary>A minimal option reader: "--name value", "--name=value", and positional words.</summary>
    internal sealed class Options
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

        public Options(string[] args, IReadOnlyCollection<string> valueOptions, int maxPositional, IReadOnlyCollection<string>? flags = null)
        {
            for (int i = 0; i < args.Length; i++)
            {
                string arg = args[i];
                if (arg.StartsWith('-') && arg.Length > 1)
                {
                    string name = arg;
                    string? value = null;
                    int equals = arg.IndexOf('=');
                    if (equals > 0)
                    {
                        name = arg.Substring(0, equals);
                        value = arg.Substring(equals + 1);
                    }
                    if (flags != null && flags.Contains(name) && value == null)
                    {
                        Flags.Add(name);
                        continue;
                    }
                    if (!valueOptions.Contains(name))
                        throw new UsageException($"unknown option '{name}'");
                    if (value == null)
                    {
                        if (i + 1 >= args.Length)
                            throw new UsageException($"option '{name}' needs a value");
                        value = args[++i];
                    }
                    _values[name] = value;
                }
                else
                {
                    Positional.Add(arg);
                }
            }
            if (Positional.Count > maxPositional)
                throw new UsageException($"unexpected argument '{Positional[maxPositional]}'");
        }

        public List<string> Positional { get; } = new();

        public HashSet<string> Flags { get; } = new(StringComparer.Ordinal);

        public bool Has(string flag) => Flags.Contains(flag);

        public string? Get(params string[] names)
        {
            string? found = null;
            foreach (string name in names)
            {
                if (_values.TryGetValue(name, out string? value))
                    found = value;
            }
            return found;
        }

        public int? GetInt(string name, int min, int max)
        {
            string? text = Get(name);
            if (text == null)
                return null;
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
                throw new UsageException($"option '{name}' needs a whole number from {min} to {max}, not '{text}'");
            return value;
        }
    }

    internal static class ImageCommand
    {
        public static int Run(string[] args)
        {
            var options = new Options(args, new[] { "-o", "--output", "--cmdline", "--script" }, maxPositional: 1);
            var layout = RepositoryLayout.Find();
            if (options.Positional.Count > 0)
                return ConfigImage.Build(layout, options.Positional[0], options.Get("-o", "--output"), options.Get("--cmdline") ?? "", options.Get("--script"), out _);
            string iso = Path.GetFullPath(options.Get("-o", "--output") ?? layout.DefaultIso);
            var builder = new IsoBuilder(KernelImage.EnsureBuilt(layout, Console.Error.WriteLine), options.Get("--cmdline") ?? "");
            builder.Build(iso);
            Console.WriteLine($"ISO  {layout.Display(iso)}: {new FileInfo(iso).Length:N0} bytes");
            Console.WriteLine($"ELF  {layout.Display(layout.KernelElf)}: {new FileInfo(layout.KernelElf).Length:N0} bytes");
            Console.WriteLine($"Kernel command line: \"{builder.CommandLine}\"");
            return 0;
        }
    }

    internal static class RunCommand
    {
        /// <summary>
        /// --disk test: a fresh <see cref="HostDisk"/> image in the run directory (its SHA-256 is
        /// printed); --disk FILE: a copy of that flat image in the run directory, whose size must
        /// be whole cylinders of 16 heads and 63 sectors (what bximage and HostDisk write). A copy,
        /// because Bochs writes to its disk and locks it with a FILE.lock that a killed run leaves
        /// behind, and the next run would then fail to open the disk.
        /// </summary>
        private static BochsDisk? RunDisk(string option, string runDirectory)
        {
            if (option == "test")
            {
                var image = HostDisk.Create(Path.Combine(runDirectory, "disk.img"));
                Console.Error.WriteLine($"Disk: {image.Path}, {image.Geometry}, sha256 {image.Sha256}");
                return BochsDisk.From(image);
            }
            string path = Path.GetFullPath(option);
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"partition run: --disk {option}: no such file (or say --disk test for a generated test disk).");
                return null;
            }
            var geometry = DiskGeometry.ForSize(new FileInfo(path).Length);
            if (geometry == null)
            {
                Console.Error.WriteLine($"partition run: --disk {option}: {new FileInfo(path).Length:N0} bytes is not a whole number of cylinders of 16 heads and 63 sectors ({16 * 63 * 512:N0} bytes each).");
                return null;
            }
            string copy = Path.Combine(runDirectory, "disk.img");
            File.Copy(path, copy, overwrite: true);
            Console.Error.WriteLine($"Disk: a copy of {path} ({geometry}) in the run directory");
            return new BochsDisk(copy, geometry);
        }

        public static int Run(string[] args)
        {
            var options = new Options(args, new[] { "--cpus", "--timeout", "--model", "--cmdline", "--script", "--disk", "--timeline" }, maxPositional: 1);
            var layout = RepositoryLayout.Find();
            string? timeline = options.Get("--timeline");
            // The hypervisor keeps and prints its schedule trace only when asked.
            string commandLine = ((options.Get("--cmdline") ?? "") + (timeline != null ? " trace=on" : "")).Trim();
            string iso = Path.GetFullPath(options.Positional.Count > 0 ? options.Positional[0] : layout.DefaultIso);
            int defaultCpus = 1;
            int memoryMegabytes = new BochsOptions().MemoryMegabytes;
            if (options.Positional.Count > 0 && ConfigImage.IsConfigPath(options.Positional[0]))
            {
                int status = ConfigImage.Build(layout, options.Positional[0], null, commandLine, options.Get("--script"), out var built);
                if (status != 0 || built == null)
                    return status;
                iso = built.IsoPath;
                defaultCpus = Math.Max(1, built.Cores);
                memoryMegabytes = built.MemoryMegabytes;
            }
            if (!File.Exists(iso))
            {
                Console.Error.WriteLine($"partition run: {iso} does not exist; build it with 'partition image'.");
                return 1;
            }
            var machine = new BochsOptions
            {
                CpuCount = options.GetInt("--cpus", 1, 64) ?? defaultCpus,
                MemoryMegabytes = memoryMegabytes,
                CpuModel = options.Get("--model") ?? new BochsOptions().CpuModel,
            };
            int? timeoutSeconds = options.GetInt("--timeout", 1, 24 * 3600);
            TimeSpan timeout = timeoutSeconds is int s ? TimeSpan.FromSeconds(s) : Timeout.InfiniteTimeSpan;

            using var cancellation = new CancellationTokenSource();
            // Ctrl-C and SIGTERM stop Bochs (the whole process tree) instead of killing only us.
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; cancellation.Cancel(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; cancellation.Cancel(); });

            // The process id too: two runs started in the same second must not share (and delete) a directory.
            string runDirectory = layout.NewRunDirectory("cli-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture) + "-" + Environment.ProcessId);
            if (options.Get("--disk") is string diskOption)
            {
                var disk = RunDisk(diskOption, runDirectory);
                if (disk == null)
                    return 1;
                machine = machine with { Disk = disk };
            }
            using var run = new BochsRun(iso, runDirectory, machine);
            ConsoleInputMode? inputMode = ConsoleInputFromStdIn();
            // Status goes to stderr so that stdout carries exactly the serial console.
            Console.Error.WriteLine(
                $"Booting {layout.Display(iso)} in Bochs ({machine.CpuModel}, {machine.CpuCount} CPU{(machine.CpuCount == 1 ? "" : "s")}), " +
                $"run directory {layout.Display(runDirectory)}; " +
                (timeoutSeconds is int t ? $"stops after {t} s or on Ctrl-C." : "Ctrl-C stops it."));
            Console.Error.WriteLine(inputMode switch
            {
                ConsoleInputMode.Keystrokes => "Type console commands once the partitions start ('help' lists them).",
                ConsoleInputMode.Lines => "Lines from stdin go to the console once the partitions start.",
                _ => "stdin belongs to another process group: typing goes nowhere.",
            });
            run.Start();
            var stdout = Console.Out;
            var annotating = new AnnotatingWriter(stdout);
            RunResult result;
            // Raw mode only while Bochs runs; put back on every way out (Ctrl-C cancels the
            // wait, so this block is left normally).
            using (var terminal = inputMode == ConsoleInputMode.Keystrokes ? Terminal.EnterRawMode() : null)
            {
                var input = inputMode is { } mode && OpenStdIn() is { } stdin ? new ConsoleInput(stdin, mode, bytes => run.Type(bytes)) : null;
                input?.Start();
                result = run.WaitForExit(timeout, piece =>
                {
                    annotating.Write(piece);
                    input?.Observe(piece);
                }, cancellation.Token);
            }
            if (result.Serial.Length > 0 && !result.Serial.EndsWith('\n'))
                stdout.WriteLine();
            Console.Error.WriteLine(result.DescribeOutcome() + ".");
            if (timeline != null)
                return WriteTimeline(timeline, result, options.Positional.Count > 0 ? Path.GetFileName(options.Positional[0]) : "partition");
            return 0;
        }

        /// <summary>--timeline FILE.svg: the schedule the run's trace lines describe, drawn per core.</summary>
        private static int WriteTimeline(string path, RunResult result, string name)
        {
            var schedule = ScheduleTimeline.Parse(result.Serial);
            if (schedule == null)
            {
                Console.Error.WriteLine($"partition run: --timeline: the run printed no schedule trace (it is printed when the run is over: " +
                    "give the run a time limit with --cmdline \"stop_after_ms=N\", or let every partition stop; an ISO built without 'trace=on' has none).");
                return 1;
            }
            File.WriteAllText(path, schedule.ToSvg($"{name}: who ran where, and when"));
            Console.Error.WriteLine($"Timeline: {path}, {schedule.Slices.Count()} slices on {schedule.Cores} cores, {schedule.Migrations.Count} migrations.");
            return 0;
        }

        /// <summary>
        /// How stdin reaches the console: keystrokes from a terminal (this process's to read),
        /// lines from a pipe or a file (at their end, or /dev/null, the run goes on without input),
        /// nothing from a terminal of a background job (reading it would stop this process).
        /// </summary>
        private static ConsoleInputMode? ConsoleInputFromStdIn()
        {
            if (!Terminal.StdInIsTerminal)
                return ConsoleInputMode.Lines;
            return Terminal.StdInIsOurs ? ConsoleInputMode.Keystrokes : null;
        }

        /// <summary>
        /// stdin as bytes, unbuffered. Not Console.OpenStandardInput: on a terminal, .NET reads
        /// through its own line editor and echo.
        /// </summary>
        private static Stream? OpenStdIn()
        {
            try
            {
                return new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                return null; // stdin closed altogether
            }
        }
    }
}
