using System;
using Partition.Kernel;

namespace Partition.Configs
{
    /// <summary>
    /// The configuration at boot: find the config module GRUB loaded, check it again against the
    /// real machine (CPUs, memory map, modules) with the same code as <c>partition check</c>, and
    /// print every problem and one line per partition on the console.
    /// </summary>
    public static class BootConfiguration
    {
        /// <summary>The Multiboot2 module command line that marks the configuration.</summary>
        public const string ConfigModuleCommandLine = PartitionConfiguration.ModuleCommandLine;

        /// <summary>The name errors are reported under (there is no file name at boot).</summary>
        public const string SourceName = "config";

        /// <summary>The index of the config module among <paramref name="modules"/>, or -1.</summary>
        public static int FindConfigModule(BootModule[] modules)
        {
            for (int i = 0; i < modules.Length; i++)
            {
                string line = modules[i].CommandLine;
                if (line == ConfigModuleCommandLine || (line.StartsWith(ConfigModuleCommandLine) && line.Length > ConfigModuleCommandLine.Length && line[ConfigModuleCommandLine.Length] == ' '))
                    return i;
            }
            return -1;
        }

        /// <summary>
        /// Parses and validates the config module against the machine. The result lists every
        /// problem; <see cref="ConfigResult.CanStart"/> says which partitions can be created.
        /// </summary>
        public static ConfigResult Validate(ReadOnlySpan<byte> configModule, MachineFacts facts) => ConfigChecker.Check(configModule, facts);

        /// <summary>Writes each problem, then one summary line per partition, to the hypervisor console.</summary>
        public static void Print(ConfigResult result)
        {
            HypervisorConsole.WriteLine(ConfigSummary.Summary(result));
            for (int i = 0; i < result.Errors.Length; i++)
            {
                HypervisorConsole.Write("  ");
                HypervisorConsole.WriteLine(result.Errors[i].Format(SourceName));
            }
            if (result.ErrorCount > result.Errors.Length)
            {
                HypervisorConsole.Write("  ... and ");
                HypervisorConsole.WriteDecimal((ulong)(result.ErrorCount - result.Errors.Length));
                HypervisorConsole.WriteLine(" more");
            }
            if (result.Configuration == null)
                return;
            for (int i = 0; i < result.Configuration.Partitions.Length; i++)
                HypervisorConsole.WriteLine(ConfigSummary.DescribePartition(result, i));
        }
    }
}
