using System.Diagnostics;

namespace Partition.Host.Linux
{
    /// <summary>What one run of <see cref="DebianKernel.Run"/> produced.</summary>
    public sealed record DebianKernelResult(string Package, string Version, string CacheEntry, bool CacheHit, TimeSpan Elapsed, string KernelVersion);

    /// <summary>
    /// Debian's stock kernel, the one a distribution would boot in a partition (ACPI, x2APIC,
    /// KVM guest support, xz-compressed, about 8 MB): the package linux-image-amd64 depends on,
    /// fetched with 'apt-get download' (never installed), its /boot/vmlinuz-* and /boot/config-*
    /// kept under ${XDG_CACHE_HOME:-~/.cache}/partition/debian-kernel/PACKAGE_VERSION/ and copied
    /// to artifacts/linux/debian/.
    /// </summary>
    public static class DebianKernel
    {
        public const string MetaPackage = "linux-image-amd64";

        private const string Marker = "vmlinuz";

        public static DebianKernelResult Run(RepositoryLayout layout, Action<string> log)
        {
            var clock = Stopwatch.StartNew();
            string package = ResolvePackage();
            string version = CandidateVersion(package);
            string entry = Path.Combine(BuildCache.Root(), "debian-kernel", $"{package}_{version}");
            bool hit = BuildCache.GetOrBuild(entry, Marker, partial =>
            {
                log($"Debian kernel: downloading {package} {version} into {partial}");
                Download(package, version, partial);
            }, log);

            string kernelPath = Path.Combine(entry, "vmlinuz");
            var header = BzImageHeader.TryRead(File.ReadAllBytes(kernelPath), out string problem)
                ?? throw new InvalidOperationException($"{kernelPath}: {problem}");
            if (!header.Is64BitBootable)
                throw new InvalidOperationException($"{kernelPath}: boot protocol {header.ProtocolText}, xloadflags 0x{header.XLoadFlags:X}: no 64-bit entry point.");

            string target = LinuxArtifacts.DebianDirectory(layout);
            LinuxArtifacts.Publish(kernelPath, Path.Combine(target, "vmlinuz"));
            LinuxArtifacts.Publish(Path.Combine(entry, "config"), Path.Combine(target, "config"));
            // Where configs/linux-debian.json names it.
            LinuxArtifacts.Publish(kernelPath, Path.Combine(LinuxArtifacts.ConfigImages(layout), "debian-vmlinuz"));
            return new DebianKernelResult(package, version, entry, hit, clock.Elapsed, header.KernelVersion);
        }

        /// <summary>
        /// The real package behind the meta-package, from 'apt-cache depends linux-image-amd64'
        /// ("Depends: linux-image-6.1.0-57-amd64").
        /// </summary>
        public static string ResolvePackage()
        {
            string output = AptCache("depends", MetaPackage);
            string? package = ParseKernelDependency(output);
            return package ?? throw new InvalidOperationException(
                $"'apt-cache depends {MetaPackage}' names no linux-image package; run 'apt-get update' first. It printed:\n{output}");
        }

        public static string? ParseKernelDependency(string aptCacheDepends)
        {
            foreach (string raw in aptCacheDepends.Split('\n'))
            {
                string line = raw.Trim().TrimStart('|');
                const string depends = "Depends:";
                if (!line.StartsWith(depends, StringComparison.Ordinal))
                    continue;
                string name = line.Substring(depends.Length).Trim();
                if (name.StartsWith("linux-image-", StringComparison.Ordinal) && !name.Contains(' ') && !name.Contains('<'))
                    return name;
            }
            return null;
        }

        internal static string CandidateVersion(string package)
        {
            foreach (string line in AptCache("policy", package).Split('\n'))
            {
                string trimmed = line.Trim();
                if (trimmed.StartsWith("Candidate:", StringComparison.Ordinal))
                {
                    string version = trimmed.Substring("Candidate:".Length).Trim();
                    if (version.Length > 0 && version != "(none)")
                        return version;
                }
            }
            throw new InvalidOperationException($"apt has no candidate version of {package}; run 'apt-get update' first.");
        }

        private static string AptCache(string verb, string package)
        {
            string aptCache = ExternalTool.Find("apt-cache", "apt");
            var (status, output) = ExternalTool.Run(aptCache, new[] { verb, package }, null, TimeSpan.FromMinutes(2));
            if (status != 0)
                throw new InvalidOperationException($"apt-cache {verb} {package} failed (exit status {status}):\n{output}");
            return output;
        }

        private static void Download(string package, string version, string partial)
        {
            // Only /boot is wanted, not the 400 MB of modules 'dpkg-deb -x' would unpack.
            var kept = DebianPackage.DownloadAndExtract(package, version, partial, TimeSpan.FromMinutes(20),
                name => name.StartsWith("boot/vmlinuz-", StringComparison.Ordinal) ? "vmlinuz.part"
                    : name.StartsWith("boot/config-", StringComparison.Ordinal) ? "config" : null);
            if (!kept.Contains("vmlinuz.part") || !kept.Contains("config"))
                throw new InvalidOperationException(
                    $"{package}={version} has {(kept.Contains("vmlinuz.part") ? "" : "no boot/vmlinuz-* ")}{(kept.Contains("config") ? "" : "no boot/config-*")}");
            File.Move(Path.Combine(partial, "vmlinuz.part"), Path.Combine(partial, Marker));
        }
    }
}
