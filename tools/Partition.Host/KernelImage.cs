namespace Partition.Host
{
    /// <summary>The hypervisor image, artifacts/image/partition.elf, built on demand.</summary>
    public static class KernelImage
    {
        private static readonly object BuildLock = new();

        /// <summary>
        /// Returns the path of the kernel ELF, first running
        /// <c>dotnet build kernel/Partition.Kernel.csproj -c Release</c> if it does not exist.
        /// </summary>
        public static string EnsureBuilt(RepositoryLayout layout)
        {
            lock (BuildLock)
            {
                if (File.Exists(layout.KernelElf))
                    return layout.KernelElf;
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
    }
}
