namespace Partition.Configs
{
    /// <summary>
    /// One problem in a configuration: where (JSON path, 1-based line and column), what is wrong
    /// and what would be valid, and which partition it keeps from starting (-1: the whole config).
    /// </summary>
    public sealed class ConfigError
    {
        /// <summary>
        /// The partition of an error that keeps none from starting: at boot, a schedule for a core
        /// the machine lacks (the vCPUs on that core are left out by errors of their own).
        /// </summary>
        public const int StopsNoPartition = -2;

        public ConfigError(string path, int line, int column, string message, int partition)
        {
            Path = path;
            Line = line;
            Column = column;
            Message = message;
            Partition = partition;
        }

        /// <summary>The JSON path, e.g. <c>partitions[1].memory[0].size</c>; "" for the top level.</summary>
        public string Path { get; }

        public int Line { get; }

        public int Column { get; }

        public string Message { get; }

        /// <summary>
        /// The index of the partition this error keeps from starting, -1 when it concerns the whole
        /// configuration, or <see cref="StopsNoPartition"/>.
        /// </summary>
        public int Partition { get; }

        /// <summary>"FILE:LINE:COLUMN: PATH: MESSAGE" (the path is "(top level)" for the root).</summary>
        public string Format(string file)
        {
            string location = string.Concat(file, ":", ConfigText.Decimal(Line), string.Concat(":", ConfigText.Decimal(Column), ": "));
            return string.Concat(location, Path.Length == 0 ? "(top level)" : Path, ": ", Message);
        }
    }
}
