namespace Partition.Host.Linux
{
    /// <summary>
    /// One of the Linux kernel + initramfs pairs the project builds, named by its recipe in
    /// tools/linux/: the guest partitions' kernel, or the host partition's, which owns the
    /// machine's devices. Both are built by the one code path of <see cref="LinuxKernelBuild"/>;
    /// only the files named here differ.
    /// </summary>
    /// <param name="Name">"guest" or "host": the argument of 'partition linux' and the directory under artifacts/linux/.</param>
    /// <param name="Title">How build messages name it ("Guest kernel ...").</param>
    /// <param name="Fragment">The config fragment in tools/linux/, merged on top of tinyconfig.</param>
    /// <param name="InitScript">The initramfs's /init in tools/linux/.</param>
    /// <param name="ConfigImagePrefix">
    /// Prefix of the copies in configs/images/ that example configurations name ("" gives
    /// images/bzImage and images/initramfs.cpio, "host-" images/host-bzImage ...).
    /// </param>
    /// <param name="ExtraFiles">Further files of the initramfs: its path there, and the file in tools/linux/.</param>
    public sealed record LinuxImage(
        string Name,
        string Title,
        string Fragment,
        string InitScript,
        string ConfigImagePrefix,
        IReadOnlyList<(string ArchivePath, string RecipeFile)> ExtraFiles)
    {
        /// <summary>The guest partitions' kernel: the virtual platform's devices only (tools/linux/guest.config).</summary>
        public static readonly LinuxImage Guest = new("guest", "Guest", "guest.config", "init", "",
            Array.Empty<(string, string)>());

        /// <summary>
        /// The host partition's kernel: the machine's own ACPI, PCI, ATA disk, RTC and UARTs
        /// (tools/linux/host.config); its /init reports what it found and can drive the
        /// management channel with the commands of /mgmt-script.
        /// </summary>
        public static readonly LinuxImage Host = new("host", "Host", "host.config", "host-init", "host-",
            new[] { (HostInitramfs.ManagementScriptPath, "host-mgmt-script") });

        /// <summary>Every image, in the order 'partition linux' builds them.</summary>
        public static IReadOnlyList<LinuxImage> All { get; } = new[] { Guest, Host };

        public static LinuxImage? Find(string name)
        {
            foreach (var image in All)
            {
                if (image.Name == name)
                    return image;
            }
            return null;
        }
    }
}
