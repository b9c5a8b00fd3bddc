namespace Partition.Configs
{
    /// <summary>The outcome of checking a configuration: the typed model (null if the JSON did not parse) and every error.</summary>
    public sealed class ConfigResult
    {
        public ConfigResult(JsonDocument document, PartitionConfiguration configuration, ConfigError[] errors, int errorCount)
        {
            Document = document;
            Configuration = configuration;
            Errors = errors;
            ErrorCount = errorCount;
        }

        public JsonDocument Document { get; }

        /// <summary>The configuration as read, or null when the text is not JSON.</summary>
        public PartitionConfiguration Configuration { get; }

        /// <summary>The errors, at most <see cref="ConfigErrorList.Limit"/> of them, in the order found.</summary>
        public ConfigError[] Errors { get; }

        /// <summary>How many errors there were in all (may exceed <c>Errors.Length</c>).</summary>
        public int ErrorCount { get; }

        public bool IsValid => ErrorCount == 0;

        /// <summary>
        /// Whether partition <paramref name="index"/> can be created: the configuration has no
        /// error that concerns it or the whole configuration. (The hypervisor leaves the others out.)
        /// </summary>
        public bool CanStart(int index)
        {
            if (Configuration == null || index < 0 || index >= Configuration.Partitions.Length)
                return false;
            if (ErrorCount > Errors.Length)
                return false; // some errors were not kept: be safe
            for (int i = 0; i < Errors.Length; i++)
                if (Errors[i].Partition == -1 || Errors[i].Partition == index)
                    return false;
            return true;
        }
    }
}
