using System.Diagnostics;

namespace Partition.Host.Linux
{
    /// <summary>What one run of <see cref="DebianMemtest.Run"/> produced.</summary>
    public sealed record DebianMemtestResult(string Version, string CacheEntry, bool CacheHit, TimeSpan Elapsed);

    /// <summary>
    /// Debian's memtest86+ (6.10 in bookworm), whose /boot/memtest86+x64.bin speaks the Linux
    /// boot protocol and so loads into a partition like a bzImage (configs/memtest.json):
    /// fetched with 'apt-get download memtest86+' (never installed), the one file kept under
    /// ${XDG_CACHE_HOME:-~/.cache}/partition/debian-memtest/VERSION/ and copied to
    /// artifacts/linux/debian/ and configs/images/. See docs/memtest86plus-notes.md.
    /// </summary>
    public static class DebianMemtest
    {
        public const string Package = "memtest86+";

        /// <summary>The 64-bit Linux-boot-protocol image in the package, and its name in artifacts/ and configs/images/.</summary>
        public const string FileName = "memtest86+x64.bin";

        public static DebianMemtestResult Run(RepositoryLayout layout, Action<string> log)
        {
            var clock = Stopwatch.StartNew();
            string version = DebianKernel.CandidateVersion(Package);
            string entry = Path.Combine(BuildCache.Root(), "debian-memtest", version);
            bool hit = BuildCache.GetOrBuild(entry, FileName, partial =>
            {
                log($"Debian memtest86+: downloading {Package} {version} into {partial}");
                Download(version, partial);
            }, log);

            string path = Path.Combine(entry, FileName);
            var header = BzImageHeader.TryRead(File.ReadAllBytes(path), out string problem)
                ?? throw new InvalidOperationException($"{path}: {problem}");
            if (!header.Is64BitBootable)
                throw new InvalidOperationException($"{path}: boot protocol {header.ProtocolText}, xloadflags 0x{header.XLoadFlags:X}: no 64-bit entry point.");

            LinuxArtifacts.Publish(path, LinuxArtifacts.DebianMemtest(layout));
            // Where configs/memtest.json names it.
            LinuxArtifacts.Publish(path, Path.Combine(LinuxArtifacts.ConfigImages(layout), FileName));
            return new DebianMemtestResult(version, entry, hit, clock.Elapsed);
        }

        private static void Download(string version, string partial)
        {
            // The package is small (120 KB), but only one file of it is wanted.
            string part = FileName + ".part";
            var kept = DebianPackage.DownloadAndExtract(Package, version, partial, TimeSpan.FromMinutes(10),
                name => name == "boot/" + FileName ? part : null);
            if (!kept.Contains(part))
                throw new InvalidOperationException($"{Package}={version} has no boot/{FileName}");
            File.Move(Path.Combine(partial, part), Path.Combine(partial, FileName));
        }
    }
}
