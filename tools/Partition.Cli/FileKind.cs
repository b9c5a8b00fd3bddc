#nullable enable
using System.Runtime.InteropServices;

namespace Partition.Cli
{
    /// <summary>What a path names, found without opening it (opening a FIFO blocks until a writer comes).</summary>
    internal enum FileKind
    {
        Missing,
        /// <summary>There, perhaps, but stat is refused (EACCES on a directory on the way).</summary>
        Inaccessible,
        Regular,
        Directory,
        Fifo,
        CharacterDevice,
        BlockDevice,
        Socket,
        Other,
    }

    /// <summary>
    /// The kind and size of a file by statx(2) on Linux: .NET's FileInfo says neither whether a
    /// path is a FIFO or a device nor, for those, anything but a length of 0. Elsewhere only
    /// directories and files are told apart.
    /// </summary>
    internal static unsafe partial class FileKinds
    {
        public static FileKind Of(string path, out long size)
        {
            size = 0;
            if (OperatingSystem.IsLinux())
                return OfLinux(path, out size);
            if (Directory.Exists(path))
                return FileKind.Directory;
            if (!File.Exists(path))
                return FileKind.Missing;
            size = new FileInfo(path).Length;
            return FileKind.Regular;
        }

        /// <summary>"a directory", "a FIFO (named pipe)", ... for messages.</summary>
        public static string Describe(FileKind kind) => kind switch
        {
            FileKind.Directory => "a directory",
            FileKind.Fifo => "a FIFO (named pipe)",
            FileKind.CharacterDevice => "a character device",
            FileKind.BlockDevice => "a block device",
            FileKind.Socket => "a socket",
            FileKind.Regular => "a file",
            FileKind.Missing => "missing",
            FileKind.Inaccessible => "not accessible (permission denied)",
            _ => "not a regular file",
        };

        private const int AtFdCwd = -100;
        private const uint StatxType = 0x1, StatxSize = 0x200;
        private const int EAccess = 13;

        private static FileKind OfLinux(string path, out long size)
        {
            size = 0;
            // struct statx (linux/stat.h) has the same layout on every architecture: stx_mode is
            // a u16 at offset 28, stx_size a u64 at offset 40; the struct is 256 bytes.
            byte* buffer = stackalloc byte[256];
            if (statx(AtFdCwd, path, 0, StatxType | StatxSize, buffer) != 0)
                return Marshal.GetLastPInvokeError() == EAccess ? FileKind.Inaccessible : FileKind.Missing;
            int type = *(ushort*)(buffer + 28) & 0xF000;
            size = (long)*(ulong*)(buffer + 40);
            return type switch
            {
                0x8000 => FileKind.Regular,
                0x4000 => FileKind.Directory,
                0x1000 => FileKind.Fifo,
                0x2000 => FileKind.CharacterDevice,
                0x6000 => FileKind.BlockDevice,
                0xC000 => FileKind.Socket,
                _ => FileKind.Other,
            };
        }

        [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        private static partial int statx(int dirfd, string pathname, int flags, uint mask, byte* buffer);
    }
}
