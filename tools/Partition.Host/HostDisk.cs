using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Partition.Host
{
    /// <summary>A disk image <see cref="HostDisk.Create"/> wrote: where, its geometry and the SHA-256 of all its bytes.</summary>
    public sealed record HostDiskImage(string Path, DiskGeometry Geometry, string Sha256);

    /// <summary>
    /// The test disk the host partition reads through the machine's ATA controller: a raw image
    /// with known content, generated here (no external tool), so that a test can compare the
    /// SHA-256 the host's /init prints ("host disk: /dev/sda SIZE bytes sha256 HEX") with the one
    /// computed on the host. The same geometry always gives the same bytes.
    /// </summary>
    /// <remarks>
    /// Layout: sector 0 is an MBR (no boot code, which the machine never runs: it boots from the
    /// CD-ROM) with disk signature "PART" and one partition of type 0xDA (non-file-system data)
    /// from LBA 63 to the end, so Linux shows sda1 too. Every other sector starts with
    /// "PARTITION-DISK " and its LBA as 16 hex digits, then bytes of a xorshift64* stream seeded by
    /// the LBA: no two sectors are alike and none is zero, so a misplaced or unread sector changes
    /// the hash.
    /// </remarks>
    public static class HostDisk
    {
        /// <summary>2 cylinders of 16 heads and 63 sectors: 2,016 sectors, 1,032,192 bytes.</summary>
        public static readonly DiskGeometry DefaultGeometry = DiskGeometry.Standard(2);

        public const uint DiskSignature = 0x54524150; // "PART" in the MBR's bytes 0x1B8-0x1BB

        public const byte PartitionType = 0xDA;

        public const int FirstPartitionLba = 63;

        /// <summary>Writes the image to <paramref name="path"/> (replacing it whole) and returns its hash.</summary>
        public static HostDiskImage Create(string path, DiskGeometry? geometry = null)
        {
            var chs = geometry ?? DefaultGeometry;
            byte[] bytes = Bytes(chs);
            string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
            Directory.CreateDirectory(directory);
            // Renamed into place: an emulator that has the old image open never sees half a new one.
            string temporary = $"{path}.{Environment.ProcessId}.tmp";
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: true);
            return new HostDiskImage(System.IO.Path.GetFullPath(path), chs, Sha256(bytes));
        }

        /// <summary>The SHA-256 of the image of <paramref name="geometry"/>, as sha256sum prints it (lowercase hex).</summary>
        public static string Sha256Of(DiskGeometry? geometry = null) => Sha256(Bytes(geometry ?? DefaultGeometry));

        /// <summary>The image's bytes.</summary>
        public static byte[] Bytes(DiskGeometry geometry)
        {
            if (!geometry.IsValid || geometry.Sectors <= FirstPartitionLba || geometry.Bytes > 64L << 20)
                throw new ArgumentOutOfRangeException(nameof(geometry), $"{geometry}: a test disk has a valid CHS geometry, more than {FirstPartitionLba} sectors and at most 64 MiB.");
            var image = new byte[geometry.Bytes];
            WriteMbr(image.AsSpan(0, DiskGeometry.SectorSize), geometry);
            for (long lba = 1; lba < geometry.Sectors; lba++)
                WriteSector(image.AsSpan((int)(lba * DiskGeometry.SectorSize), DiskGeometry.SectorSize), lba);
            return image;
        }

        private static string Sha256(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

        private static void WriteMbr(Span<byte> sector, DiskGeometry geometry)
        {
            // The boot code area says what this is, for anyone who dumps the disk.
            Encoding.ASCII.GetBytes("Partition host test disk: not bootable\0").CopyTo(sector);
            BinaryPrimitives.WriteUInt32LittleEndian(sector.Slice(0x1B8), DiskSignature);
            var entry = sector.Slice(0x1BE, 16);
            long count = geometry.Sectors - FirstPartitionLba;
            entry[0] = 0x00; // not active
            WriteChs(entry.Slice(1, 3), geometry.ChsOf(FirstPartitionLba));
            entry[4] = PartitionType;
            WriteChs(entry.Slice(5, 3), geometry.ChsOf(geometry.Sectors - 1));
            BinaryPrimitives.WriteUInt32LittleEndian(entry.Slice(8), FirstPartitionLba);
            BinaryPrimitives.WriteUInt32LittleEndian(entry.Slice(12), (uint)count);
            sector[510] = 0x55;
            sector[511] = 0xAA;
        }

        // head; sector (bits 0-5) with cylinder bits 8-9 in bits 6-7; cylinder bits 0-7.
        private static void WriteChs(Span<byte> target, (int Cylinder, int Head, int Sector) chs)
        {
            target[0] = (byte)chs.Head;
            target[1] = (byte)(chs.Sector | ((chs.Cylinder >> 2) & 0xC0));
            target[2] = (byte)chs.Cylinder;
        }

        private static void WriteSector(Span<byte> sector, long lba)
        {
            int header = Encoding.ASCII.GetBytes($"PARTITION-DISK {lba:X16}\n", sector);
            // xorshift64* seeded by the LBA (never 0); 8 bytes at a time, little-endian.
            ulong state = 0x9E3779B97F4A7C15UL ^ (ulong)lba;
            Span<byte> word = stackalloc byte[8];
            for (int at = header; at < sector.Length; at += 8)
            {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                BinaryPrimitives.WriteUInt64LittleEndian(word, state * 0x2545F4914F6CDD1DUL);
                word.Slice(0, Math.Min(8, sector.Length - at)).CopyTo(sector.Slice(at));
            }
        }
    }
}
