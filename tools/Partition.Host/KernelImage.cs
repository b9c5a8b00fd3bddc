namespace Partition.Host
{
    /// <summary>The hypervisor image, artifacts/image/partition.elf, built on demand.</summary>
    public static class KernelImage
    {
        private static readonly object BuildLock = new();

        /// <summary>
        /// Returns the path of the kernel ELF, first running
        /// <c>dotnet build kernel/Partition.Kernel.csproj -c Release</c> if it does not exist or
        /// is older than a source it is built from (so that 'partition run' never boots a stale
        /// hypervisor after an edit).
        /// </summary>
        public static string EnsureBuilt(RepositoryLayout layout, Action<string>? log = null)
        {
            lock (BuildLock)
            {
                if (File.Exists(layout.KernelElf) && !IsStale(layout))
                    return layout.KernelElf;
                log?.Invoke(File.Exists(layout.KernelElf)
                    ? "Rebuilding the hypervisor image: a source is newer than " + layout.Display(layout.KernelElf)
                    : "Building the hypervisor image " + layout.Display(layout.KernelElf));
                // Inside 'dotnet test' or MSBuild, DOTNET_HOST_PATH names the running dotnet.
                string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
                    ? host
                    : ExternalTool.Find("dotnet", "(the .NET SDK, see README.md)");
                var (exitCode, output) = ExternalTool.Run(dotnet,
                    new[] { "build", layout.KernelProject, "-c", "Release", "-nologo" },
                    layout.Root, TimeSpan.FromMinutes(10));
                if (exitCode != 0 || !File.Exists(layout.KernelElf))
                    throw new InvalidOperationException($"Building the kernel failed (exit status {exitCode}):\n{output}");
                return layout.KernelElf;
            }
        }

        // The folders whose sources go into the image (PortableSources.props, the core library, the boot stub).
        private static readonly string[] SourceFolders = { "kernel", "memory", "devices", "scheduler", "configs" };
        private static readonly string[] SourceExtensions = { ".cs", ".asm", ".ld", ".props", ".csproj", ".targets" };

        private static bool IsStale(RepositoryLayout layout)
        {
            DateTime built = File.GetLastWriteTimeUtc(layout.KernelElf);
            foreach (string folder in SourceFolders)
            {
                string root = Path.Combine(layout.Root, folder);
                if (!Directory.Exists(root))
                    continue;
                foreach (string file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
                {
                    if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
                        continue;
                    if (Array.IndexOf(SourceExtensions, Path.GetExtension(file)) >= 0 && File.GetLastWriteTimeUtc(file) > built)
                        return true;
                }
            }
            return false;
        }
    }
}
