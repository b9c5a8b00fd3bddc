#nullable enable
using Partition.Host;
using Partition.Host.Linux;

namespace Partition.Cli
{
    /// <summary>
    /// partition linux [guest] [host] [debian] [memtest]: the Linux images the Linux scenarios boot,
    /// built or fetched into the per-user cache and copied into the clone (Cake targets LinuxImages
    /// and DebianKernel; memtest is Debian's memtest86+, which loads by the same boot protocol). Without an argument: the guest's and the host partition's images, both
    /// through the one build of <see cref="LinuxKernelBuild"/>.
    /// </summary>
    internal static class LinuxCommand
    {
        public static int Run(string[] args)
        {
            string[] what = args.Length == 0 ? new[] { LinuxImage.Guest.Name, LinuxImage.Host.Name } : args;
            foreach (string name in what)
            {
                if (name != "debian" && name != "memtest" && LinuxImage.Find(name) == null)
                    throw new UsageException("linux takes only [guest] [host] [debian] [memtest]");
            }
            var layout = RepositoryLayout.Find();
            foreach (string name in what.Distinct())
            {
                if (name == "debian")
                    Debian(layout);
                else if (name == "memtest")
                    Memtest(layout);
                else
                    Build(layout, LinuxImage.Find(name)!);
            }
            return 0;
        }

        private static void Build(RepositoryLayout layout, LinuxImage image)
        {
            var result = LinuxKernelBuild.Run(layout, image, Console.Out.WriteLine);
            Console.Out.WriteLine(
                $"{image.Title} kernel {result.KernelVersion}: " +
                (result.CacheHit ? "cache hit" : "built") +
                $" ({result.CacheEntry}), done in {LoggedStep.Duration(result.Elapsed)}");
            var files = new List<string> { LinuxArtifacts.Kernel(layout, image), LinuxArtifacts.Initramfs(layout, image) };
            if (image == LinuxImage.Host)
            {
                // The disk the host partition's /init reads and hashes, for Bochs' ata0-master.
                var disk = HostDisk.Create(LinuxArtifacts.HostDisk(layout));
                LinuxArtifacts.Publish(disk.Path, LinuxArtifacts.ConfigImage(layout, image, "disk.img"));
                files.Add(disk.Path);
                Console.Out.WriteLine($"  test disk: {disk.Geometry}, sha256 {disk.Sha256}");
            }
            foreach (string path in files)
                Console.Out.WriteLine($"  {layout.Display(path)}: {new FileInfo(path).Length:N0} bytes");
            Console.Out.WriteLine(
                $"  also in {layout.Display(LinuxArtifacts.ConfigImages(layout))}/ as " +
                $"{image.ConfigImagePrefix}bzImage and {image.ConfigImagePrefix}initramfs.cpio, the names the example configs use");
        }

        private static void Debian(RepositoryLayout layout)
        {
            var result = DebianKernel.Run(layout, Console.Out.WriteLine);
            string path = LinuxArtifacts.DebianKernel(layout);
            Console.Out.WriteLine(
                $"Debian kernel {result.Package} {result.Version}: " +
                (result.CacheHit ? "cache hit" : "downloaded") +
                $" ({result.CacheEntry}), done in {LoggedStep.Duration(result.Elapsed)}");
            Console.Out.WriteLine($"  {layout.Display(path)}: {new FileInfo(path).Length:N0} bytes, {result.KernelVersion}");
        }

        private static void Memtest(RepositoryLayout layout)
        {
            var result = DebianMemtest.Run(layout, Console.Out.WriteLine);
            string path = LinuxArtifacts.DebianMemtest(layout);
            Console.Out.WriteLine(
                $"Debian {DebianMemtest.Package} {result.Version}: " +
                (result.CacheHit ? "cache hit" : "downloaded") +
                $" ({result.CacheEntry}), done in {LoggedStep.Duration(result.Elapsed)}");
            Console.Out.WriteLine($"  {layout.Display(path)}: {new FileInfo(path).Length:N0} bytes; also configs/images/{DebianMemtest.FileName} (configs/memtest.json)");
        }
    }
}
