namespace Partition.Host
{
    /// <summary>
    /// A file that GRUB loads next to the kernel as a Multiboot2 module (a configuration file, a
    /// guest image), with the string the kernel sees as that module's command line.
    /// </summary>
    public sealed record IsoModule(string FilePath, string CommandLine = "");
}
