// Partition's build: dotnet cake build.cake --target=Kernel|Image|LinuxImages|DebianKernel|Test|BenchmarkGuard|Benchmark|Run
//   (default Test).
//   Kernel        the hypervisor image artifacts/image/partition.elf
//   Image         Kernel, then the bootable ISO artifacts/partition.iso (partition image)
//   LinuxImages   the guest's and the host partition's kernels and initramfs, and the host's test
//                 disk: artifacts/linux/{guest,host}/ and configs/images/ (partition linux guest host;
//                 each kernel built once per recipe into ~/.cache/partition/linux/, then copied)
//   DebianKernel  Debian's stock kernel, artifacts/linux/debian/vmlinuz, and Debian's memtest86+,
//                 artifacts/linux/debian/memtest86+x64.bin and configs/images/ (partition linux debian memtest)
//   Test          Image, LinuxImages and DebianKernel, then every test (unit and system) with TRX
//                 results in artifacts/test-results, and BenchmarkGuard counted as one more test;
//                 the last line printed is "N passed, N failed" (", N skipped" when some were skipped)
//   BenchmarkGuard  partition bench --check tests/benchmarks/baseline.json: the exit benchmark in
//                 Bochs (1 to 1.5 minutes), failing when a figure moved by more than 5% either way
//   Benchmark     Image, then partition bench: the figures printed and recorded, no comparison
//   Run           Image, then boot it in Bochs with the serial console streaming here
//                 (--timeout=S stops after S seconds; otherwise Ctrl-C or the kernel powering off)
#nullable enable
using System.Xml.Linq;

var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
string? runTimeout = HasArgument("timeout") ? Argument<string>("timeout") : null;

var root = MakeAbsolute(Directory("."));
var kernelProject = root.CombineWithFilePath("kernel/Partition.Kernel.csproj");
var cliProject = root.CombineWithFilePath("tools/Partition.Cli/Partition.Cli.csproj");
var cliDll = root.CombineWithFilePath($"tools/Partition.Cli/bin/{configuration}/net10.0/partition.dll");
var testProject = root.CombineWithFilePath("tests/Partition.Tests/Partition.Tests.csproj");
var testResults = root.Combine("artifacts/test-results");
// The committed benchmark figures the guard holds each run to (README.md, "Measured").
const string BenchmarkBaseline = "tests/benchmarks/baseline.json";
var trxFile = testResults.CombineWithFilePath("partition.trx");

// Filled in by the Test task; printed after everything else (see the end of this file).
TestTotals? totals = null;
// The benchmark guard's outcome, once BenchmarkGuard has run; the Test task counts it as a test.
bool? benchmarkGuardPassed = null;

Task("Kernel")
    .Description("Builds artifacts/image/partition.elf (ILC + nasm + ld.lld).")
    .Does(() =>
{
    // The image is always optimised; -c Release keeps its intermediate files apart from Debug's.
    DotNetBuild(kernelProject.FullPath, new DotNetBuildSettings { Configuration = "Release", NoLogo = true });
});

Task("Cli")
    .Description("Builds the 'partition' command (tools/Partition.Cli).")
    .Does(() =>
{
    DotNetBuild(cliProject.FullPath, new DotNetBuildSettings { Configuration = configuration, NoLogo = true });
});

Task("Image")
    .Description("Builds the bootable ISO artifacts/partition.iso and prints its size.")
    .IsDependentOn("Kernel")
    .IsDependentOn("Cli")
    .Does(() =>
{
    Partition("image");
});

Task("LinuxImages")
    .Description("Builds the guest's and the host partition's kernels (cached outside the clone), their initramfs and the host's test disk into artifacts/linux/{guest,host}/ and configs/images/.")
    .IsDependentOn("Cli")
    .Does(() =>
{
    // One build code path, two recipes (tools/linux/guest.config, host.config). Each cache miss
    // compiles Linux (5 to 11 minutes on 2 cores); a hit only copies.
    Partition("linux", "guest", "host");
});

Task("DebianKernel")
    .Description("Fetches Debian's stock kernel (linux-image-amd64) and memtest86+ (both cached outside the clone) into artifacts/linux/debian/ and configs/images/.")
    .IsDependentOn("Cli")
    .Does(() =>
{
    // memtest86+x64.bin speaks the Linux boot protocol: configs/memtest.json boots it like a kernel.
    Partition("linux", "debian", "memtest");
});

Task("Test")
    .Description("Runs all tests; the last line printed is 'N passed, N failed'.")
    .IsDependentOn("Image")
    // The Linux scenarios boot these images (guest and host), and host tests check them: they
    // must exist before any test runs.
    .IsDependentOn("LinuxImages")
    .IsDependentOn("DebianKernel")
    .IsDependentOn("BenchmarkGuard")
    .Does(() =>
{
    CleanDirectory(testResults);
    try
    {
        DotNetTest(testProject.FullPath, new DotNetTestSettings
        {
            Configuration = configuration,
            NoLogo = true,
            ResultsDirectory = testResults,
            Loggers = new[] { $"trx;LogFileName={trxFile.GetFilename()}" },
        });
    }
    catch (Exception e)
    {
        // Failed tests make 'dotnet test' exit non-zero; the counts below decide the outcome.
        Warning(e.Message);
    }
    if (!FileExists(trxFile))
        throw new CakeException($"No test results at {trxFile}: the test project did not build or run.");
    totals = TestTotals.FromTrx(trxFile.FullPath);
    if (benchmarkGuardPassed is bool passed)
        totals = totals.With(passed);
});

Task("BenchmarkGuard")
    .Description($"Runs the exit benchmark in Bochs and compares its figures with {BenchmarkBaseline}; a figure more than 5% worse or better fails.")
    .IsDependentOn("Image")
    // The benchmark boots the project's Linux guest for its boot and idle figures.
    .IsDependentOn("LinuxImages")
    .Does(() =>
{
    // A failure is an outcome, not an error: under Test it is counted with the other tests, and
    // every test still runs. 'partition bench' prints the comparison and what to do about it.
    try
    {
        Partition("bench", "--check", BenchmarkBaseline);
        benchmarkGuardPassed = true;
    }
    catch (Exception e)
    {
        Warning(e.Message);
        benchmarkGuardPassed = false;
    }
    Information($"Benchmark guard: {(benchmarkGuardPassed == true ? "passed" : "FAILED")} (against {BenchmarkBaseline})");
});

Task("Benchmark")
    .Description("Runs the exit benchmark in Bochs; prints and records the figures (artifacts/benchmarks/).")
    .IsDependentOn("Image")
    .Does(() =>
{
    Partition("bench");
});

Task("Run")
    .Description("Boots the demo, configs/mixed.json (Linux as the host, a Linux guest, memtest86+ and a bare-metal guest on 4 cores), in Bochs with its console attached (optional --timeout=S).")
    .IsDependentOn("Image")
    .IsDependentOn("LinuxImages")
    .IsDependentOn("DebianKernel")
    .Does(() =>
{
    // The bare-metal guests are assembled (with Iced) into configs/images/, which the config names.
    Partition("guests");
    Information(DemoGuide);
    // exit=poweroff: when every partition has stopped the machine powers off and Bochs ends.
    var arguments = new List<string> { "run", "configs/mixed.json", "--script", "configs/scripts/mixed-demo.txt",
        "--cmdline", "exit=poweroff", "--disk", "test" };
    if (runTimeout != null)
        arguments.AddRange(new[] { "--timeout", runTimeout });
    Partition(arguments.ToArray());
});

const string DemoGuide = @"
Partition demo: configs/mixed.json in Bochs, 4 cores, 512 MiB (booting takes a minute or two)
  [host]       Linux as the host partition on core 0: it owns the machine's ACPI tables, PCI, the ATA
               disk and the RTC, reports what it sees ('host ...' lines), then sends 'list' and 'stats'
               through its management line; the answers come back to it ('host mgmt: ...')
  [linux]      a Linux guest on dedicated core 1: 'linux up', then a heartbeat every second
  [memtest]    memtest86+ on core 2, time-sliced: its screen, as it draws it on its serial line
  [neighbour]  a bare-metal guest on core 2, time-sliced: checksums its memory, pass after pass
  At 42 s (partition time) the script moves linux to core 3, at 50 s back to core 1.
Type at the console (Enter runs a line): help, list, cpus, stats, migrate linux 3, migrate linux 1,
  pause memtest, resume memtest, stop neighbour, restart neighbour.
Ctrl-C stops Bochs; so does the time limit (--timeout=S), and the run ends by itself when every
partition has stopped.
";

void Partition(params string[] arguments)
{
    var args = new ProcessArgumentBuilder().AppendQuoted(cliDll.FullPath);
    foreach (var argument in arguments)
        args.AppendQuoted(argument);
    int exitCode = StartProcess("dotnet", new ProcessSettings { Arguments = args, WorkingDirectory = root });
    if (exitCode != 0)
        throw new CakeException($"partition {arguments[0]} failed with exit status {exitCode}.");
}

if (target != "Test")
{
    RunTarget(target);
    // Alone, the guard's failure is the build's.
    if (benchmarkGuardPassed == false)
        Environment.Exit(1);
    return;
}

// For Test, the summary must be the very last line, after Cake's task report and after any
// error, and the exit status non-zero unless tests ran and none failed.
Exception? failure = null;
try
{
    RunTarget(target);
}
catch (Exception e)
{
    failure = e;
}
if (failure != null)
    Error($"Error: {failure.Message}");
var summary = totals ?? new TestTotals(0, 0, 0);
Console.Out.WriteLine(summary.ToString());
Console.Out.Flush();
if (failure != null || summary.Failed > 0 || summary.Passed + summary.Failed == 0)
    Environment.Exit(1);

/// <summary>Outcome counts over every test result in a TRX file.</summary>
record TestTotals(int Passed, int Failed, int Skipped)
{
    public static TestTotals FromTrx(string path)
    {
        XNamespace ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";
        int passed = 0, failed = 0, skipped = 0;
        foreach (var result in XDocument.Load(path).Descendants(ns + "UnitTestResult"))
        {
            switch ((string?)result.Attribute("outcome"))
            {
                case "Passed": passed++; break;
                case "Failed": case "Error": case "Timeout": case "Aborted": failed++; break;
                default: skipped++; break; // NotExecuted, Inconclusive, ...
            }
        }
        return new TestTotals(passed, failed, skipped);
    }

    /// <summary>These counts and one more test, passed or failed (the benchmark guard).</summary>
    public TestTotals With(bool passed) => passed ? this with { Passed = Passed + 1 } : this with { Failed = Failed + 1 };

    public override string ToString() =>
        Skipped > 0 ? $"{Passed} passed, {Failed} failed, {Skipped} skipped" : $"{Passed} passed, {Failed} failed";
}
