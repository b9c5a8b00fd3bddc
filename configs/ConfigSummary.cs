namespace Partition.Configs
{
    /// <summary>One-line descriptions of a checked configuration, for the console at boot and for <c>partition check</c>.</summary>
    public static class ConfigSummary
    {
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
            return string.Concat(head, body, result.CanStart(index) ? ": starts" : ": left out (see the errors above)");
        }
    }
}
