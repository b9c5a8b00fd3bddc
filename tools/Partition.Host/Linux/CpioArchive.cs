using System.Globalization;
using System.Text;

namespace Partition.Host.Linux
{
    /// <summary>
    /// A cpio archive in the "new ASCII" format (newc, magic 070701), the one format the kernel
    /// unpacks as an initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
    /// Written here rather than by the cpio tool so that the build needs no such package and the
    /// bytes depend only on the entries: every mtime, uid and gid is 0, inode numbers count up in
    /// the order entries were added, and nothing is read from the file system.
    /// </summary>
    public sealed class CpioArchive
    {
        public const string Magic = "070701";

        /// <summary>The magic and 13 fields of 8 hexadecimal digits.</summary>
        public const int HeaderSize = 110;

        public const string TrailerName = "TRAILER!!!";

        /// <summary>The archive is padded with zeros to a multiple of this, as cpio and the kernel's gen_init_cpio do.</summary>
        public const int BlockSize = 512;

        // File types in the mode field (S_IFMT bits of stat.h).
        public const uint TypeCharacterDevice = 0x2000;
        public const uint TypeDirectory = 0x4000;
        public const uint TypeRegular = 0x8000;
        public const uint TypeSymlink = 0xA000;

        private readonly List<Entry> _entries = new();
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        // The root is the kernel's rootfs itself and never an entry; everything hangs below it.
        private readonly HashSet<string> _directories = new(StringComparer.Ordinal) { "" };

        private sealed record Entry(string Name, uint Mode, uint NLink, byte[] Data, uint RdevMajor, uint RdevMinor);

        public int Count => _entries.Count;

        public void AddDirectory(string path, uint permissions = 0x1ED /* 0755 */)
        {
            string name = Add(path, TypeDirectory | Permissions(permissions), nlink: 2, Array.Empty<byte>(), 0, 0);
            _directories.Add(name);
        }

        public void AddFile(string path, byte[] data, uint permissions = 0x1A4 /* 0644 */) =>
            Add(path, TypeRegular | Permissions(permissions), nlink: 1, data, 0, 0);

        /// <summary>A symbolic link; like the kernel, cpio stores its target as the file data.</summary>
        public void AddSymlink(string path, string target)
        {
            if (target.Length == 0)
                throw new ArgumentException($"Symlink '{path}' needs a target.", nameof(target));
            Add(path, TypeSymlink | 0x1FF /* 0777 */, nlink: 1, Encoding.UTF8.GetBytes(target), 0, 0);
        }

        /// <summary>
        /// A device node, such as /dev/console (5, 1): the kernel opens it for init's standard
        /// streams before init could mount devtmpfs.
        /// </summary>
        public void AddCharacterDevice(string path, uint permissions, uint major, uint minor) =>
            Add(path, TypeCharacterDevice | Permissions(permissions), nlink: 1, Array.Empty<byte>(), major, minor);

        public byte[] ToArray()
        {
            using var stream = new MemoryStream();
            WriteTo(stream);
            return stream.ToArray();
        }

        public void WriteTo(Stream stream)
        {
            long written = 0;
            uint inode = 1;
            foreach (var entry in _entries)
                written += WriteEntry(stream, inode++, entry);
            // The trailer's fields are all zero but nlink (1), as GNU cpio and gen_init_cpio write it.
            written += WriteEntry(stream, 0, new Entry(TrailerName, 0, 1, Array.Empty<byte>(), 0, 0));
            written += WritePadding(stream, written, BlockSize);
        }

        private string Add(string path, uint mode, uint nlink, byte[] data, uint rdevMajor, uint rdevMinor)
        {
            string name = Normalize(path);
            int slash = name.LastIndexOf('/');
            string parent = slash < 0 ? "" : name.Substring(0, slash);
            // The kernel creates nothing implicitly: a file whose directory came later would fail to unpack.
            if (!_directories.Contains(parent))
                throw new ArgumentException($"'{path}': its directory '/{parent}' must be added first.", nameof(path));
            if (!_names.Add(name))
                throw new ArgumentException($"'{path}' is already in the archive.", nameof(path));
            _entries.Add(new Entry(name, mode, nlink, data, rdevMajor, rdevMinor));
            return name;
        }

        /// <summary>Archive names are relative ("bin/sh"), as gen_init_cpio writes them; "/bin/sh" is accepted.</summary>
        private static string Normalize(string path)
        {
            string name = path.TrimStart('/');
            if (name.Length == 0 || name.EndsWith('/') || name == TrailerName)
                throw new ArgumentException($"'{path}' is not a valid archive path.", nameof(path));
            foreach (string part in name.Split('/'))
            {
                if (part.Length == 0 || part == "." || part == "..")
                    throw new ArgumentException($"'{path}' is not a valid archive path.", nameof(path));
            }
            return name;
        }

        private static uint Permissions(uint permissions)
        {
            if (permissions > 0xFFF)
                throw new ArgumentOutOfRangeException(nameof(permissions), "Only the permission bits (07777) may be given.");
            return permissions;
        }

        private static long WriteEntry(Stream stream, uint inode, Entry entry)
        {
            byte[] name = Encoding.UTF8.GetBytes(entry.Name + "\0");
            var header = new StringBuilder(HeaderSize);
            header.Append(Magic);
            foreach (uint field in new uint[]
                     {
                         inode, entry.Mode, 0 /* uid */, 0 /* gid */, entry.NLink, 0 /* mtime */,
                         checked((uint)entry.Data.Length), 0 /* devmajor */, 0 /* devminor */,
                         entry.RdevMajor, entry.RdevMinor, (uint)name.Length, 0 /* check: newc has none */,
                     })
            {
                header.Append(field.ToString("X8", CultureInfo.InvariantCulture));
            }
            byte[] headerBytes = Encoding.ASCII.GetBytes(header.ToString());
            stream.Write(headerBytes);
            stream.Write(name);
            // Name and data each start on a 4-byte boundary; the header is 110 bytes, so the name is padded.
            long written = headerBytes.Length + name.Length;
            written += WritePadding(stream, written, 4);
            stream.Write(entry.Data);
            written += entry.Data.Length;
            written += WritePadding(stream, written, 4);
            return written;
        }

        private static int WritePadding(Stream stream, long offset, int alignment)
        {
            int padding = (int)((alignment - offset % alignment) % alignment);
            for (int i = 0; i < padding; i++)
                stream.WriteByte(0);
            return padding;
        }
    }
}
