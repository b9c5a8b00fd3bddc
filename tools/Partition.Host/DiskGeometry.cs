using System.Globalization;

namespace Partition.Host
{
    /// <summary>
    /// An ATA disk's cylinders, heads and sectors per track, as Bochs' ata*-master line takes them:
    /// Bochs requires a flat image of exactly C*H*S*512 bytes.
    /// </summary>
    public sealed record DiskGeometry(int Cylinders, int Heads, int SectorsPerTrack)
    {
        public const int SectorSize = 512;

        /// <summary>What bximage uses (and Bochs assumes when it detects a geometry): 16 heads, 63 sectors a track.</summary>
        public static DiskGeometry Standard(int cylinders) => new(cylinders, 16, 63);

        /// <summary>
        /// The <see cref="Standard"/> geometry of a flat image of <paramref name="bytes"/>, or null
        /// when the size is not a whole number of its cylinders (Bochs would refuse it).
        /// </summary>
        public static DiskGeometry? ForSize(long bytes)
        {
            long cylinder = Standard(1).Bytes;
            if (bytes <= 0 || bytes % cylinder != 0 || bytes / cylinder > 65535)
                return null;
            return Standard((int)(bytes / cylinder));
        }

        public long Sectors => (long)Cylinders * Heads * SectorsPerTrack;

        public long Bytes => Sectors * SectorSize;

        /// <summary>Cylinders 1-65535, heads 1-16 and 1-63 sectors a track: the ATA/BIOS CHS limits.</summary>
        public bool IsValid => Cylinders is >= 1 and <= 65535 && Heads is >= 1 and <= 16 && SectorsPerTrack is >= 1 and <= 63;

        /// <summary>CHS address of an LBA, as an MBR partition entry stores it (1023/254/63 beyond what CHS reaches).</summary>
        public (int Cylinder, int Head, int Sector) ChsOf(long lba)
        {
            long cylinder = lba / (Heads * SectorsPerTrack);
            if (cylinder > 1023)
                return (1023, 254, 63);
            long rest = lba % (Heads * SectorsPerTrack);
            return ((int)cylinder, (int)(rest / SectorsPerTrack), (int)(rest % SectorsPerTrack) + 1);
        }

        public override string ToString() =>
            string.Create(CultureInfo.InvariantCulture, $"{Cylinders}/{Heads}/{SectorsPerTrack} C/H/S, {Bytes:N0} bytes");
    }
}
