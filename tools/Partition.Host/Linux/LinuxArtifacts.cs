namespace Partition.Host.Linux
{
    /// <summary>
    /// Where the Linux images and their recipe live in a clone. The built files go to
    /// artifacts/linux/ (generated, ignored by git) and the images the example configurations name
    /// ("images/bzImage", "images/initramfs.cpio", relative to the config) also to configs/images/,
    /// next to the images 'partition guests' writes there.
    /// </summary>
    public static class LinuxArtifacts
    {
        public static string RecipeDirectory(RepositoryLayout layout) => Path.Combine(layout.Root, "tools", "linux");

        public static string ConfigFragment(RepositoryLayout layout) => Path.Combine(RecipeDirectory(layout), "guest.config");

        public static string InitScript(RepositoryLayout layout) => Path.Combine(RecipeDirectory(layout), "init");

        public static string GuestDirectory(RepositoryLayout layout) => Path.Combine(layout.Root, "artifacts", "linux", "guest");

        public static string GuestKernel(RepositoryLayout layout) => Path.Combine(GuestDirectory(layout), "bzImage");

        public static string GuestInitramfs(RepositoryLayout layout) => Path.Combine(GuestDirectory(layout), "initramfs.cpio");

        public static string DebianDirectory(RepositoryLayout layout) => Path.Combine(layout.Root, "artifacts", "linux", "debian");

        public static string DebianKernel(RepositoryLayout layout) => Path.Combine(DebianDirectory(layout), "vmlinuz");

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
