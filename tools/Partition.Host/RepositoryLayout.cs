namespace Partition.Host
{
    /// <summary>
    /// Where things are in a checkout: the root is the directory holding global.json, and every
    /// generated file goes under artifacts/.
    /// </summary>
    public sealed class RepositoryLayout
    {
        private RepositoryLayout(string root) { Root = root; }

        public string Root { get; }

        public string KernelProject => Path.Combine(Root, "kernel", "Partition.Kernel.csproj");

        /// <summary>The Multiboot2 image that the kernel project links.</summary>
        public string KernelElf => Path.Combine(Root, "artifacts", "image", "partition.elf");

        public string DefaultIso => Path.Combine(Root, "artifacts", "partition.iso");

        public string RunsDirectory => Path.Combine(Root, "artifacts", "runs");

        /// <summary>
        /// Finds the repository by walking up from <paramref name="start"/> (default: the current
        /// directory, then the directory of this assembly) to the first directory with a global.json.
        /// </summary>
        public static RepositoryLayout Find(string? start = null)
        {
            foreach (string candidate in start != null
                         ? new[] { start }
                         : new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            {
                for (var dir = new DirectoryInfo(Path.GetFullPath(candidate)); dir != null; dir = dir.Parent)
                {
                    if (File.Exists(Path.Combine(dir.FullName, "global.json")))
                        return new RepositoryLayout(dir.FullName);
                }
            }
            throw new InvalidOperationException(
                $"No global.json found above '{start ?? Directory.GetCurrentDirectory()}': run from inside the Partition repository.");
        }

        /// <summary>
        /// A fresh, empty directory artifacts/runs/<paramref name="name"/> for one emulator run
        /// (its rc file, serial log and emulator log); whatever a previous run left there is deleted.
        /// </summary>
        public string NewRunDirectory(string name)
        {
            if (name.Length == 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains(' '))
                throw new ArgumentException($"Run name '{name}' must be a plain file name without spaces.", nameof(name));
            string dir = Path.Combine(RunsDirectory, name);
            if (Directory.Exists(dir))
                Directory.Delete(dir, recursive: true);
            Directory.CreateDirectory(dir);
            return dir;
        }

        /// <summary>Renders a path relative to the root when it is inside the repository.</summary>
        public string Display(string path)
        {
            string relative = Path.GetRelativePath(Root, path);
            return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
        }
    }
}
