namespace Partition.Host.Linux
{
    /// <summary>
    /// Where the Linux images and their recipes live in a clone. The built files go to
    /// artifacts/linux/NAME/ (generated, ignored by git) and the images the example configurations
    /// name ("images/bzImage", "images/host-bzImage", ... relative to the config) also to
    /// configs/images/, next to the images 'partition guests' writes there.
    /// </summary>
    public static class LinuxArtifacts
    {
        public static string RecipeDirectory(RepositoryLayout layout) => Path.Combine(layout.Root, "tools", "linux");

        public static string ConfigFragment(RepositoryLayout layout, LinuxImage image) => Path.Combine(RecipeDirectory(layout), image.Fragment);

        public static string InitScript(RepositoryLayout layout, LinuxImage image) => Path.Combine(RecipeDirectory(layout), image.InitScript);

        /// <summary>artifacts/linux/NAME/: bzImage, initramfs.cpio, and for reference config and System.map.</summary>
        public static string ImageDirectory(RepositoryLayout layout, LinuxImage image) => Path.Combine(layout.Root, "artifacts", "linux", image.Name);

        public static string Kernel(RepositoryLayout layout, LinuxImage image) => Path.Combine(ImageDirectory(layout, image), "bzImage");

        public static string Initramfs(RepositoryLayout layout, LinuxImage image) => Path.Combine(ImageDirectory(layout, image), "initramfs.cpio");

        /// <summary>The copy in configs/images/ that example configurations name: bzImage, host-bzImage, ...</summary>
        public static string ConfigImage(RepositoryLayout layout, LinuxImage image, string fileName) =>
            Path.Combine(ConfigImages(layout), image.ConfigImagePrefix + fileName);

        public static string GuestDirectory(RepositoryLayout layout) => ImageDirectory(layout, LinuxImage.Guest);

        public static string GuestKernel(RepositoryLayout layout) => Kernel(layout, LinuxImage.Guest);

        public static string GuestInitramfs(RepositoryLayout layout) => Initramfs(layout, LinuxImage.Guest);

        public static string HostKernel(RepositoryLayout layout) => Kernel(layout, LinuxImage.Host);

        public static string HostInitramfs(RepositoryLayout layout) => Initramfs(layout, LinuxImage.Host);

        /// <summary>The deterministic test disk (<see cref="Partition.Host.HostDisk"/>) 'partition linux host' writes beside the host images.</summary>
        public static string HostDisk(RepositoryLayout layout) => Path.Combine(ImageDirectory(layout, LinuxImage.Host), "disk.img");

        public static string DebianDirectory(RepositoryLayout layout) => Path.Combine(layout.Root, "artifacts", "linux", "debian");

        public static string DebianKernel(RepositoryLayout layout) => Path.Combine(DebianDirectory(layout), "vmlinuz");

        /// <summary>Debian's memtest86+x64.bin (<see cref="Linux.DebianMemtest"/>), beside Debian's kernel.</summary>
        public static string DebianMemtest(RepositoryLayout layout) => Path.Combine(DebianDirectory(layout), Linux.DebianMemtest.FileName);

        public static string ConfigImages(RepositoryLayout layout) => Path.Combine(layout.Root, "configs", "images");

        /// <summary>
        /// Copies a file by writing a temporary file beside the target and renaming it over the
        /// target, so that a test or emulator reading the target never sees half a kernel.
        /// </summary>
        public static void Publish(string source, string target)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            string temporary = $"{target}.{Environment.ProcessId}.tmp";
            File.Copy(source, temporary, overwrite: true);
            File.Move(temporary, target, overwrite: true);
        }

        public static void Publish(byte[] bytes, string target)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            string temporary = $"{target}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, target, overwrite: true);
        }
    }
}
