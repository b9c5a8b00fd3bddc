using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;

namespace Partition.Host.Linux
{
    /// <summary>What one run of <see cref="LinuxKernelBuild.Run"/> produced.</summary>
    public sealed record LinuxKernelResult(LinuxImage Image, string Key, string CacheEntry, bool CacheHit, TimeSpan Elapsed, string KernelVersion);

    /// <summary>
    /// Builds a Linux kernel (<see cref="LinuxImage"/>: the guest's or the host partition's) from
    /// Debian's linux-source-6.1 and its fragment in tools/linux/: tinyconfig for x86_64, the
    /// fragment merged on top, every fragment option checked in the final .config, then bzImage
    /// with make -j(cores). The result is cached under ${XDG_CACHE_HOME:-~/.cache}/partition/linux/KEY/
    /// (<see cref="CacheKey"/>), the source it was built from under linux/source-VERSION/; a cache
    /// hit only copies. Then the results, and a freshly written initramfs, are copied into the clone.
    /// </summary>
    public static class LinuxKernelBuild
    {
        /// <summary>
        /// Part of the cache key: raise it whenever the steps below change what they produce (other
        /// make variables, another base config, another set of kept files), so that every clone
        /// rebuilds instead of taking a kernel made the old way.
        /// </summary>
        public const int RecipeVersion = 2;

        public const string SourcePackage = "linux-source-6.1";
        public const string SourceTarball = "/usr/src/linux-source-6.1.tar.xz";

        /// <summary>The top directory inside the tarball.</summary>
        private const string SourceDirectory = "linux-source-6.1";

        /// <summary>The file whose presence marks a complete cache entry; written last.</summary>
        private const string Marker = "bzImage";

        // Fixed so that the same recipe gives the same kernel (uname -v) whoever builds it, when.
        private static readonly (string Name, string Value)[] ReproducibleBuild =
        {
            ("KBUILD_BUILD_TIMESTAMP", "Thu Jan  1 00:00:00 UTC 1970"),
            ("KBUILD_BUILD_USER", "partition"),
            ("KBUILD_BUILD_HOST", "partition"),
            ("KBUILD_BUILD_VERSION", "1"),
        };

        // Programs the build runs, and the Debian package of each (bootstrap.sh installs them all).
        private static readonly (string Program, string Package)[] Tools =
        {
            ("dpkg-query", "dpkg"), ("tar", "tar"), ("xz", "xz-utils"), ("make", "make"), ("gcc", "gcc"),
            ("bc", "bc"), ("bison", "bison"), ("flex", "flex"), ("lz4", "lz4"),
        };

        // Headers: libelf for objtool, which x86-64 builds run on every object; OpenSSL for the certificate tools.
        private static readonly (string Header, string Package)[] Headers =
        {
            ("/usr/include/gelf.h", "libelf-dev"), ("/usr/include/openssl/ssl.h", "libssl-dev"),
        };

        /// <summary>
        /// The cache key: 12 hex digits of SHA-256 over the recipe version, the source package's
        /// version and the fragment's options in order. Anything that changes the kernel changes
        /// one of them; comments and blank lines in the fragment do not, so rewording them costs
        /// no rebuild. The image's name is not part of it: the key addresses what is built, so the
        /// guest's and the host's kernels differ by their fragments (LOCALVERSION among them), and
        /// the guest's key stayed what it was before the host kernel existed.
        /// </summary>
        public static string CacheKey(KernelConfigFragment fragment, string sourceVersion, int recipeVersion)
        {
            var text = new StringBuilder();
            text.Append($"recipe {recipeVersion}\nsource {SourcePackage} {sourceVersion}\n");
            foreach (var option in fragment.Options)
                text.Append(option).Append('\n');
            return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()))).Substring(0, 12).ToLowerInvariant();
        }

        public static LinuxKernelResult Run(RepositoryLayout layout, LinuxImage image, Action<string> log)
        {
            var clock = Stopwatch.StartNew();
            string fragmentPath = LinuxArtifacts.ConfigFragment(layout, image);
            byte[] fragmentBytes = File.ReadAllBytes(fragmentPath);
            // A malformed fragment or a missing busybox fails here, before minutes of building.
            KernelConfigFragment fragment;
            try
            {
                fragment = KernelConfigFragment.Parse(Encoding.UTF8.GetString(fragmentBytes), layout.Display(fragmentPath));
            }
            catch (FormatException e)
            {
                throw new InvalidOperationException(e.Message, e);
            }
            byte[] initramfs = LinuxInitramfs.Build(layout, image);
            string sourceVersion = SourceVersion();
            string key = CacheKey(fragment, sourceVersion, RecipeVersion);
            string entry = Path.Combine(BuildCache.Root(), "linux", key);

            bool hit = BuildCache.GetOrBuild(entry, Marker, partial =>
            {
                log($"{image.Title} kernel: no cache entry {key}; building {SourcePackage} {sourceVersion} with {layout.Display(fragmentPath)} in {partial} (about 5 to 11 minutes on 2 cores)");
                Build(partial, image, fragment, fragmentBytes, sourceVersion, key, log);
            }, log);

            string kernelPath = Path.Combine(entry, "bzImage");
            var header = BzImageHeader.TryRead(File.ReadAllBytes(kernelPath), out string problem)
                ?? throw new InvalidOperationException($"{kernelPath}: {problem}");

            string directory = LinuxArtifacts.ImageDirectory(layout, image);
            LinuxArtifacts.Publish(kernelPath, LinuxArtifacts.Kernel(layout, image));
            LinuxArtifacts.Publish(Path.Combine(entry, "config"), Path.Combine(directory, "config"));
            LinuxArtifacts.Publish(Path.Combine(entry, "System.map"), Path.Combine(directory, "System.map"));
            LinuxArtifacts.Publish(initramfs, LinuxArtifacts.Initramfs(layout, image));
            LinuxArtifacts.Publish(kernelPath, LinuxArtifacts.ConfigImage(layout, image, "bzImage"));
            LinuxArtifacts.Publish(initramfs, LinuxArtifacts.ConfigImage(layout, image, "initramfs.cpio"));
            return new LinuxKernelResult(image, key, entry, hit, clock.Elapsed, header.KernelVersion);
        }

        /// <summary>The installed linux-source-6.1's Debian version, e.g. "6.1.192-3".</summary>
        public static string SourceVersion()
        {
            string dpkgQuery = ExternalTool.Find("dpkg-query", "dpkg");
            var (status, output) = ExternalTool.Run(dpkgQuery, new[] { "-W", "-f=${Version}", SourcePackage }, null, TimeSpan.FromSeconds(30));
            if (status != 0 || output.Trim().Length == 0 || !File.Exists(SourceTarball))
                throw new InvalidOperationException(
                    $"The Debian package {SourcePackage} is not installed (no {SourceTarball}): install it (./bootstrap.sh installs everything the project needs).");
            return output.Trim();
        }

        /// <summary>
        /// The extracted source, shared by every key with the same linux-source version and never
        /// written to: each build puts its objects in its own directory (make O=). Extracting
        /// once saves the 20 s of tar per key, and deleting the 84,000 files after every build
        /// took longer than compiling on a slow disk (2.4 min against 4.6 min).
        /// </summary>
        private static string ExtractedSource(string sourceVersion, Action<string> log)
        {
            string entry = Path.Combine(BuildCache.Root(), "linux", $"source-{sourceVersion}");
            string marker = Path.Combine(SourceDirectory, "Makefile");
            BuildCache.GetOrBuild(entry, marker, partial =>
            {
                var step = new LoggedStep(Path.Combine(partial, "extract.log"), log);
                var took = step.Run("Extracting the source", ExternalTool.Find("tar", "tar"),
                    new[] { "-xJf", SourceTarball, "-C", partial }, partial, TimeSpan.FromMinutes(20));
                log($"  extracted {SourceTarball} into {entry} in {LoggedStep.Duration(took)} (once per {SourcePackage} version)");
            }, log);
            return Path.Combine(entry, SourceDirectory);
        }

        private static void Build(string partial, LinuxImage image, KernelConfigFragment fragment, byte[] fragmentBytes, string sourceVersion, string key, Action<string> log)
        {
            foreach (var (program, package) in Tools)
                ExternalTool.Find(program, package);
            foreach (var (headerFile, package) in Headers)
            {
                if (!File.Exists(headerFile))
                    throw new InvalidOperationException($"{headerFile} is missing: install the Debian package {package}.");
            }
            string source = ExtractedSource(sourceVersion, log);

            var step = new LoggedStep(Path.Combine(partial, "build.log"), log);
            foreach (var (name, value) in ReproducibleBuild)
                step.Environment[name] = value;
            string objects = Path.Combine(partial, "build");
            Directory.CreateDirectory(objects);
            // The fragment as built, next to the results: what the key was computed over.
            string fragmentCopy = Path.Combine(partial, image.Fragment);
            File.WriteAllBytes(fragmentCopy, fragmentBytes);
            string make = ExternalTool.Find("make", "make");
            // ARCH=x86_64 (not the default x86, which uname's x86_64 maps to) makes tinyconfig 64-bit.
            string[] makeVariables = { "ARCH=x86_64", $"O={objects}" };
            string[] Make(params string[] targets) => makeVariables.Concat(targets).ToArray();

            var configure = step.Run("make tinyconfig", make, Make("tinyconfig"), source, TimeSpan.FromMinutes(10));
            // -m only merges (into ./.config of the working directory); olddefconfig then settles dependencies.
            configure += step.Run("merge_config.sh", Path.Combine(source, "scripts", "kconfig", "merge_config.sh"),
                new[] { "-m", ".config", fragmentCopy }, objects, TimeSpan.FromMinutes(5));
            configure += step.Run("make olddefconfig", make, Make("olddefconfig"), source, TimeSpan.FromMinutes(10));
            string finalConfig = Path.Combine(objects, ".config");
            var unmet = fragment.FindUnmet(File.ReadAllText(finalConfig));
            if (unmet.Count > 0)
            {
                throw new InvalidOperationException(
                    $"{unmet.Count} option{(unmet.Count == 1 ? "" : "s")} of the fragment did not reach the final .config ({finalConfig}):\n  " +
                    string.Join("\n  ", unmet));
            }
            log($"  configured in {LoggedStep.Duration(configure)}: all {fragment.Options.Count} options of the fragment are in the final .config");

            int jobs = Environment.ProcessorCount;
            var compile = step.Run($"make -j{jobs} bzImage", make, Make($"-j{jobs}", "bzImage"), source, TimeSpan.FromMinutes(90));
            log($"  make -j{jobs} bzImage took {LoggedStep.Duration(compile)}");

            string built = Path.Combine(objects, "arch", "x86", "boot", "bzImage");
            byte[] kernel = File.ReadAllBytes(built);
            var header = BzImageHeader.TryRead(kernel, out string problem)
                ?? throw new InvalidOperationException($"{built}: {problem}");
            if (!header.Is64BitBootable)
                throw new InvalidOperationException($"{built}: boot protocol {header.ProtocolText}, xloadflags 0x{header.XLoadFlags:X}: no 64-bit entry point.");

            // Kept: what was booted (bzImage), how it was configured (config) and, for reading
            // guest addresses in crash reports, the symbols (System.map, vmlinux). The objects go:
            // another key always builds in a directory of its own.
            File.Copy(finalConfig, Path.Combine(partial, "config"));
            File.Copy(Path.Combine(objects, "System.map"), Path.Combine(partial, "System.map"));
            File.Copy(Path.Combine(objects, "vmlinux"), Path.Combine(partial, "vmlinux"));
            var cleanup = Stopwatch.StartNew();
            Directory.Delete(objects, recursive: true);
            log($"  removed the objects in {LoggedStep.Duration(cleanup.Elapsed)}");
            File.WriteAllText(Path.Combine(partial, "build-info.txt"),
                $"key {key}\nrecipe {RecipeVersion}\nsource {SourcePackage} {sourceVersion} ({source})\nkernel {header.KernelVersion}\n" +
                $"configure {LoggedStep.Duration(configure)}, make -j{jobs} {LoggedStep.Duration(compile)}\n" +
                $"built {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC\n");
            File.WriteAllBytes(Path.Combine(partial, Marker), kernel);
        }
    }
}
