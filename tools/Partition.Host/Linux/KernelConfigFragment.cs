namespace Partition.Host.Linux
{
    /// <summary>One option of a config fragment: CONFIG_NAME=VALUE, or "# CONFIG_NAME is not set" (Value "n").</summary>
    public sealed record KernelOption(string Name, string Value, int Line)
    {
        public bool IsOff => Value == "n";

        public override string ToString() => IsOff ? $"# {Name} is not set" : $"{Name}={Value}";
    }

    /// <summary>
    /// A kernel config fragment (tools/linux/guest.config) and the check that every option in it
    /// reached the final .config. Kconfig's merge_config.sh and olddefconfig silently drop or
    /// change an option whose dependencies are unmet, so the fragment alone proves nothing.
    /// </summary>
    public sealed class KernelConfigFragment
    {
        private KernelConfigFragment(string fileName, IReadOnlyList<KernelOption> options)
        {
            FileName = fileName;
            Options = options;
        }

        public string FileName { get; }

        public IReadOnlyList<KernelOption> Options { get; }

        /// <summary>
        /// Reads a fragment: blank lines and "# comments", "CONFIG_X=VALUE" and "# CONFIG_X is not set".
        /// Throws <see cref="FormatException"/> naming the file and line of anything else, or of an
        /// option given twice.
        /// </summary>
        public static KernelConfigFragment Parse(string text, string fileName)
        {
            var options = new List<KernelOption>();
            var seen = new Dictionary<string, int>(StringComparer.Ordinal);
            string[] lines = text.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                string line = lines[i].TrimEnd('\r').Trim();
                int number = i + 1;
                KernelOption? option = ParseLine(line, number);
                if (option == null)
                {
                    if (line.Length == 0 || line.StartsWith('#'))
                        continue;
                    throw new FormatException($"{fileName}:{number}: expected CONFIG_NAME=VALUE or '# CONFIG_NAME is not set', not '{line}'.");
                }
                if (seen.TryGetValue(option.Name, out int first))
                    throw new FormatException($"{fileName}:{number}: {option.Name} is already set on line {first}.");
                seen.Add(option.Name, number);
                options.Add(option);
            }
            return new KernelConfigFragment(fileName, options);
        }

        /// <summary>
        /// The options of this fragment that the final .config does not hold as written, each as
        /// "FILE:LINE: CONFIG_X=y, but the final .config has ..." ; empty when all arrived.
        /// An option that is off is satisfied by "# ... is not set", "=n" or its absence (Kconfig
        /// leaves out options whose menu is hidden).
        /// </summary>
        public List<string> FindUnmet(string finalConfig)
        {
            var actual = new Dictionary<string, string>(StringComparer.Ordinal);
            string[] lines = finalConfig.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                if (ParseLine(lines[i].TrimEnd('\r').Trim(), i + 1) is { } option)
                    actual[option.Name] = option.Value;
            }
            var problems = new List<string>();
            foreach (var wanted in Options)
            {
                bool found = actual.TryGetValue(wanted.Name, out string? value);
                if (wanted.IsOff ? !found || value == "n" : found && value == wanted.Value)
                    continue;
                string has = !found ? "does not have it at all (its dependencies are not met)"
                    : value == "n" ? $"has '# {wanted.Name} is not set' (its dependencies are not met)"
                    : $"has {wanted.Name}={value}";
                problems.Add($"{FileName}:{wanted.Line}: {wanted}, but the final .config {has}");
            }
            return problems;
        }

        private static KernelOption? ParseLine(string line, int number)
        {
            const string notSet = " is not set";
            if (line.StartsWith("# CONFIG_", StringComparison.Ordinal) && line.EndsWith(notSet, StringComparison.Ordinal))
            {
                string name = line.Substring(2, line.Length - 2 - notSet.Length);
                return IsName(name) ? new KernelOption(name, "n", number) : null;
            }
            if (line.StartsWith("CONFIG_", StringComparison.Ordinal))
            {
                int equals = line.IndexOf('=');
                if (equals > 0 && IsName(line.Substring(0, equals)) && equals + 1 < line.Length)
                    return new KernelOption(line.Substring(0, equals), line.Substring(equals + 1), number);
            }
            return null;
        }

        private static bool IsName(string name)
        {
            if (!name.StartsWith("CONFIG_", StringComparison.Ordinal) || name.Length == "CONFIG_".Length)
                return false;
            foreach (char c in name)
            {
                if (!(c is >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' or >= 'a' and <= 'z'))
                    return false;
            }
            return true;
        }
    }
}
