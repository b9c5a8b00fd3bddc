using System;

namespace Partition.Configs
{
    /// <summary>One-line descriptions of a checked configuration, for the console at boot and for <c>partition check</c>.</summary>
    public static class ConfigSummary
    {
        /// <summary>How a core with shared vCPUs is scheduled: by its schedule, or by default.</summary>
        public readonly struct SharedCore
        {
            public SharedCore(int core, SchedulePolicy policy, ulong periodMicroseconds, int schedule, int sharedVcpus)
            {
                Core = core;
                Policy = policy;
                PeriodMicroseconds = periodMicroseconds;
                Schedule = schedule;
                SharedVcpus = sharedVcpus;
            }

            public int Core { get; }
            public SchedulePolicy Policy { get; }
            public ulong PeriodMicroseconds { get; }

            /// <summary>The index of the core's entry in "schedules", or -1: the defaults apply.</summary>
            public int Schedule { get; }

            public int SharedVcpus { get; }
        }

        /// <summary>Each core with shared vCPUs, in core order, with the policy and period it runs under.</summary>
        public static SharedCore[] SharedCores(PartitionConfiguration config)
        {
            Span<int> shared = stackalloc int[ConfigReader.MaxCores];
            shared.Clear();
            int cores = 0;
            foreach (var partition in config.Partitions)
                foreach (var vcpu in partition.Vcpus)
                    if (vcpu.Placement == VcpuPlacement.Shared && vcpu.Core >= 0 && vcpu.Core < shared.Length && shared[vcpu.Core]++ == 0)
                        cores++;
            var result = new SharedCore[cores];
            int at = 0;
            for (int core = 0; core < shared.Length; core++)
            {
                if (shared[core] == 0)
                    continue;
                int schedule = -1;
                for (int s = 0; s < config.Schedules.Length; s++)
                    if (config.Schedules[s].Core == core && config.Schedules[s].Node >= 0)
                        schedule = schedule < 0 ? s : schedule;
                result[at++] = schedule >= 0
                    ? new SharedCore(core, config.Schedules[schedule].Policy, config.Schedules[schedule].PeriodMicroseconds, schedule, shared[core])
                    : new SharedCore(core, ScheduleConfig.DefaultPolicy, ScheduleConfig.DefaultPeriodMicroseconds, -1, shared[core]);
            }
            return result;
        }

        /// <summary>
        /// One line per core with shared vCPUs, e.g.
        /// <c>  core 2: round-robin, period 10000 us (the default: no schedule names core 2), 2 shared vCPUs</c>.
        /// </summary>
        public static string[] DescribeSharedCores(ConfigResult result)
        {
            if (result.Configuration == null)
                return new string[0];
            var cores = SharedCores(result.Configuration);
            var lines = new string[cores.Length];
            for (int i = 0; i < cores.Length; i++)
            {
                var core = cores[i];
                string head = string.Concat("  core ", ConfigText.Decimal(core.Core), ": ", PolicyName(core.Policy));
                string period = string.Concat(", period ", ConfigText.Decimal(core.PeriodMicroseconds), " us");
                string source = core.Schedule >= 0
                    ? string.Concat(" (schedules[", ConfigText.Decimal(core.Schedule), "])")
                    : string.Concat(" (the default: no schedule names core ", ConfigText.Decimal(core.Core), ")");
                string count = string.Concat(", ", ConfigText.Decimal(core.SharedVcpus), core.SharedVcpus == 1 ? " shared vCPU" : " shared vCPUs");
                lines[i] = string.Concat(head, period, source, count);
            }
            return lines;
        }

        public static string PolicyName(SchedulePolicy policy) =>
            policy == SchedulePolicy.Dedicated ? "dedicated" : policy == SchedulePolicy.RoundRobin ? "round-robin" : "weighted";

        /// <summary>"Config: 3 partitions, valid" or "Config: 3 partitions, 2 errors".</summary>
        public static string Summary(ConfigResult result)
        {
            string partitions = result.Configuration == null
                ? "not readable"
                : string.Concat(ConfigText.Decimal(result.Configuration.Partitions.Length), result.Configuration.Partitions.Length == 1 ? " partition" : " partitions");
            string errors = result.ErrorCount == 0 ? "valid"
                : string.Concat(ConfigText.Decimal(result.ErrorCount), result.ErrorCount == 1 ? " error" : " errors");
            return string.Concat("Config: ", partitions, ", ", errors);
        }

        /// <summary>
        /// One line about a partition, e.g.
        /// <c>  alpha (guest): 1 vCPU on core 1, 64 MiB, boots multiboot alpha.elf: starts</c>.
        /// </summary>
        public static string DescribePartition(ConfigResult result, int index)
        {
            var partition = result.Configuration.Partitions[index];
            string vcpus = string.Concat(ConfigText.Decimal(partition.Vcpus.Length), partition.Vcpus.Length == 1 ? " vCPU on core" : " vCPUs on cores");
            for (int i = 0; i < partition.Vcpus.Length; i++)
            {
                var vcpu = partition.Vcpus[i];
                vcpus = string.Concat(vcpus, i == 0 ? " " : ",", ConfigText.Decimal(vcpu.Core), vcpu.Placement == VcpuPlacement.Shared ? " (shared)" : "");
            }
            string boot = "nothing to boot";
            if (partition.Boot != null)
            {
                string kind = partition.Boot.Kind == BootKind.Linux ? "linux" : partition.Boot.Kind == BootKind.Multiboot ? "multiboot" : "flat";
                boot = string.Concat("boots ", kind, partition.Boot.Kernel != null ? string.Concat(" ", partition.Boot.Kernel.Path) : "");
            }
            string head = string.Concat("  ", partition.Name.Length > 0 ? partition.Name : "(unnamed)",
                partition.Role == PartitionRole.Host ? " (host): " : " (guest): ");
            string body = string.Concat(vcpus, ", ", ConfigText.Size(partition.TotalMemory), string.Concat(", ", boot));
            return string.Concat(head, body, !result.CanStart(index) ? string.Concat(": left out (", WhyLeftOut(result, index), ")")
                : BootSupport.WhyUnsupported(result.Configuration.Partitions[index]) is string unsupported ? string.Concat(": left out at boot (", unsupported, ")")
                : ": starts");
        }

        // Which error leaves the partition out: its own first, else one about the whole config.
        private static string WhyLeftOut(ConfigResult result, int index)
        {
            for (int i = 0; i < result.Errors.Length; i++)
                if (result.Errors[i].Partition == index)
                    return string.Concat("see the error at ", ErrorPlace(result.Errors[i]), " above");
            for (int i = 0; i < result.Errors.Length; i++)
                if (result.Errors[i].Partition == -1)
                    return string.Concat("the error at ", ErrorPlace(result.Errors[i]), " above concerns every partition");
            return "see the errors above";
        }

        private static string ErrorPlace(ConfigError error) => error.Path.Length == 0 ? "the top level" : error.Path;
    }
}
