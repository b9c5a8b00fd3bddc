using System;
using System.IO;
using System.Linq;
using NUnit.Framework;
using System.Collections.Generic;
using Partition.Host;
using Partition.Host.Guests;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// Builds an ISO for one kernel command line and boots it, in a run directory of its own
    /// under artifacts/runs/. Every assertion message carries the whole serial log.
    /// </summary>
    internal static class BootScenario
    {
        private static readonly Lazy<RepositoryLayout> Layout = new(() => RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory));

        /// <summary>Builds artifacts/runs/<paramref name="name"/>/partition.iso with <paramref name="commandLine"/>.</summary>
        /// <param name="modules">Writes the run's module files into the run directory it is given and names them.</param>
        public static (string Iso, string RunDirectory) Prepare(string name, string commandLine, Func<string, IsoModule[]> modules = null)
        {
            var layout = Layout.Value;
            string kernel = KernelImage.EnsureBuilt(layout);
            string runDirectory = layout.NewRunDirectory(name);
            string iso = Path.Combine(runDirectory, "partition.iso");
            var builder = new IsoBuilder(kernel, commandLine);
            if (modules != null)
                builder.Modules.AddRange(modules(runDirectory));
            builder.Build(iso);
            return (iso, runDirectory);
        }

        /// <summary>
        /// Boots in Bochs until the serial output contains every fragment (or Bochs exits, or the
        /// timeout passes) and returns what was seen; Bochs is stopped either way.
        /// </summary>
        public static RunResult Bochs(string name, string commandLine, TimeSpan timeout, params string[] fragments) =>
            Bochs(name, commandLine, null, timeout, fragments);

        /// <summary>As <see cref="Bochs(string, string, TimeSpan, string[])"/>, with boot modules (guest images, configs).</summary>
        public static RunResult Bochs(string name, string commandLine, Func<string, IsoModule[]> modules, TimeSpan timeout, params string[] fragments) =>
            Bochs(name, commandLine, modules, null, timeout, fragments);

        /// <summary>As above, on an emulated machine described by <paramref name="options"/> (e.g. more CPUs).</summary>
        public static RunResult Bochs(string name, string commandLine, Func<string, IsoModule[]> modules, BochsOptions options, TimeSpan timeout, params string[] fragments)
        {
            var (iso, runDirectory) = Prepare(name, commandLine, modules);
            using var run = new BochsRun(iso, runDirectory, options);
            run.Start();
            return run.WaitForSerial(fragments, timeout);
        }

        /// <summary>Boots an example configuration from configs/ with the Iced-built guests it names.</summary>
        public static RunResult BochsExample(string name, string commandLine, string exampleConfig, IEnumerable<(string Image, string CommandLine)> images,
            string script, int cpus, TimeSpan timeout, params string[] fragments) =>
            BochsExample(name, commandLine, exampleConfig, images, script, new BochsOptions { CpuCount = cpus }, timeout, fragments);

        /// <summary>As above, on an emulated machine described by <paramref name="options"/> (more memory, say).</summary>
        public static RunResult BochsExample(string name, string commandLine, string exampleConfig, IEnumerable<(string Image, string CommandLine)> images,
            string script, BochsOptions options, TimeSpan timeout, params string[] fragments) =>
            Bochs(name, commandLine, dir => ExampleBoot.Modules(Layout.Value, dir, exampleConfig, images, script), options, timeout, fragments);

        /// <summary>
        /// Starts an example configuration in Bochs and returns the live run, for a test that
        /// types into its console (<see cref="EmulatorRun.Type(string)"/>) and waits for the
        /// answers; the test disposes it, which stops Bochs.
        /// </summary>
        public static BochsRun StartBochsExample(string name, string commandLine, string exampleConfig, IEnumerable<(string Image, string CommandLine)> images,
            BochsOptions options)
        {
            var (iso, runDirectory) = Prepare(name, commandLine, dir => ExampleBoot.Modules(Layout.Value, dir, exampleConfig, images));
            var run = new BochsRun(iso, runDirectory, options);
            try
            {
                run.Start();
            }
            catch
            {
                run.Dispose();
                throw;
            }
            return run;
        }

        /// <summary>Boots in QEMU (TCG) until QEMU exits by itself or the timeout passes.</summary>
        public static RunResult Qemu(string name, string commandLine, TimeSpan timeout)
        {
            var (iso, runDirectory) = Prepare(name, commandLine);
            using var run = new QemuRun(iso, runDirectory);
            run.Start();
            return run.WaitForExit(timeout);
        }

        /// <summary>Fails unless the serial output contains <paramref name="fragment"/>.</summary>
        public static void AssertContains(RunResult result, string fragment)
        {
            if (!result.Serial.Contains(fragment, StringComparison.Ordinal))
                Assert.Fail($"Serial output lacks \"{fragment}\".\n{result.Report()}");
        }

        /// <summary>Fails unless some serial line starts with <paramref name="prefix"/>.</summary>
        public static void AssertLineStartsWith(RunResult result, string prefix)
        {
            if (!result.SerialLines.Any(line => line.StartsWith(prefix, StringComparison.Ordinal)))
                Assert.Fail($"No serial line starts with \"{prefix}\".\n{result.Report()}");
        }
    }
}
