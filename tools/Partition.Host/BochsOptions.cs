namespace Partition.Host
{
    /// <summary>The emulated machine a <see cref="BochsRun"/> boots: CPU model and count, speed, memory.</summary>
    public sealed record BochsOptions
    {
        /// <summary>
        /// Bochs CPU model. tigerlake has the richest VMX of Debian's Bochs 2.7 (EPT, VPID,
        /// unrestricted guest, VMFUNC, VMCS shadowing, PML, preemption timer).
        /// </summary>
        public string CpuModel { get; init; } = "tigerlake";

        /// <summary>Number of emulated CPUs (Bochs' cpu count).</summary>
        public int CpuCount { get; init; } = 1;

        /// <summary>
        /// Emulated instructions per emulated second. Low, because the BIOS waits about 3 emulated
        /// seconds before booting; the TSC counts instructions whatever this says.
        /// </summary>
        public int InstructionsPerSecond { get; init; } = 10_000_000;

        public int MemoryMegabytes { get; init; } = 128;

        /// <summary>
        /// A raw disk image on the first ATA channel's master (ata0-master, /dev/sda to Linux), for
        /// the host partition to own (<see cref="HostDisk"/> writes one); null: no disk. The boot
        /// CD-ROM is on the second channel's master either way.
        /// </summary>
        public BochsDisk? Disk { get; init; }
    }

    /// <summary>A flat disk image and the geometry Bochs is to give it (Bochs requires exactly C*H*S*512 bytes).</summary>
    public sealed record BochsDisk(string Path, DiskGeometry Geometry)
    {
        public static BochsDisk From(HostDiskImage image) => new(image.Path, image.Geometry);
    }
}
