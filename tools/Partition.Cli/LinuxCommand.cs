#nullable enable
using Partition.Host;
using Partition.Host.Linux;

namespace Partition.Cli
{
    /// <summary>
    /// partition linux [guest|debian]: the Linux images the Linux scenarios boot, built or fetched
    /// into the per-user cache and copied into the clone (Cake targets LinuxImages and DebianKernel).
    /// </summary>
    internal static class LinuxCommand
    {
        public static int Run(string[] args)
        {
            string what = args.Length == 0 ? "guest" : args[0];
            if (args.Length > 1 || (what != "guest" && what != "debian"))
                throw new UsageException("linux takes only [guest|debian]");
            var layout = RepositoryLayout.Find();
            return what == "guest" ? Guest(layout) : Debian(layout);
        }

        private static int Guest(RepositoryLayout layout)
        {
            var result = GuestKernelBuild.Run(layout, Console.Out.WriteLine);
            Console.Out.WriteLine(
                $"Guest kernel {result.KernelVersion}: " +
                (result.CacheHit ? "cache hit" : "built") +
                $" ({result.CacheEntry}), done in {LoggedStep.Duration(result.Elapsed)}");
            foreach (string path in new[] { LinuxArtifacts.GuestKernel(layout), LinuxArtifacts.GuestInitramfs(layout) })
                Console.Out.WriteLine($"  {layout.Display(path)}: {new FileInfo(path).Length:N0} bytes");
            Console.Out.WriteLine($"  also in {layout.Display(LinuxArtifacts.ConfigImages(layout))}/ as bzImage and initramfs.cpio, the names the example configs use");
            return 0;
        }

        private static int Debian(RepositoryLayout layout)
        {
            var result = DebianKernel.Run(layout, Console.Out.WriteLine);
            string path = LinuxArtifacts.DebianKernel(layout);
            Console.Out.WriteLine(
                $"Debian kernel {result.Package} {result.Version}: " +
                (result.CacheHit ? "cache hit" : "downloaded") +
                $" ({result.CacheEntry}), done in {LoggedStep.Duration(result.Elapsed)}");
            Console.Out.WriteLine($"  {layout.Display(path)}: {new FileInfo(path).Length:N0} bytes, {result.KernelVersion}");
            return 0;
        }
    }
}
