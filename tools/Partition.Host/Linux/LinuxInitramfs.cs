using System.Buffers.Binary;

namespace Partition.Host.Linux
{
    /// <summary>
    /// A Linux image's initramfs: Debian's statically linked busybox, the image's /init from
    /// tools/linux/ (init for the guest, host-init for the host) and its extra files, in an
    /// uncompressed newc cpio. Built afresh on every run (it takes milliseconds), so it always
    /// matches the init script; the same inputs give the same bytes.
    /// </summary>
    public static class LinuxInitramfs
    {
        /// <summary>busybox-static's binary; the busybox package puts a dynamically linked one at the same path.</summary>
        public const string BusyboxPath = "/bin/busybox";

        public static byte[] Build(RepositoryLayout layout, LinuxImage image)
        {
            var extras = new List<(string, byte[])>();
            foreach (var (archivePath, recipeFile) in image.ExtraFiles)
                extras.Add((archivePath, File.ReadAllBytes(Path.Combine(LinuxArtifacts.RecipeDirectory(layout), recipeFile))));
            return Create(File.ReadAllBytes(LinuxArtifacts.InitScript(layout, image)), ReadStaticBusybox(BusyboxPath), extras).ToArray();
        }

        /// <summary>
        /// The archive's entries, parents first: the kernel creates no directory by itself. Extra
        /// files (read-only, in directories that already exist) follow /init.
        /// </summary>
        public static CpioArchive Create(byte[] initScript, byte[] busybox, IReadOnlyList<(string Path, byte[] Data)>? extraFiles = null)
        {
            var archive = new CpioArchive();
            archive.AddDirectory("/bin");
            archive.AddFile("/bin/busybox", busybox, 0x1ED /* 0755 */);
            // The interpreter /init names; the other applets are linked by /init itself.
            archive.AddSymlink("/bin/sh", "busybox");
            archive.AddDirectory("/dev");
            // The kernel opens /dev/console for init's stdin, stdout and stderr before init runs;
            // without this node init would print nowhere.
            archive.AddCharacterDevice("/dev/console", 0x180 /* 0600 */, 5, 1);
            archive.AddDirectory("/proc", 0x16D /* 0555 */);
            archive.AddDirectory("/sys", 0x16D /* 0555 */);
            archive.AddDirectory("/root", 0x1C0 /* 0700 */);
            archive.AddFile("/init", initScript, 0x1ED /* 0755 */);
            foreach (var (path, data) in extraFiles ?? Array.Empty<(string, byte[])>())
                archive.AddFile(path, data);
            return archive;
        }

        /// <summary>
        /// Reads busybox and makes sure it is a static x86-64 executable: a dynamically linked one
        /// (package busybox) would find no C library in the initramfs and the kernel would panic
        /// with "No working init found".
        /// </summary>
        public static byte[] ReadStaticBusybox(string path)
        {
            if (!File.Exists(path))
                throw new InvalidOperationException($"{path} does not exist: install the Debian package busybox-static.");
            byte[] bytes = File.ReadAllBytes(path);
            if (!IsStaticElf64(bytes, out string problem))
                throw new InvalidOperationException($"{path} {problem}: install the Debian package busybox-static (it replaces busybox).");
            return bytes;
        }

        /// <summary>An x86-64 ELF executable without a PT_INTERP program header (no dynamic loader).</summary>
        public static bool IsStaticElf64(ReadOnlySpan<byte> elf, out string problem)
        {
            const uint PtInterp = 3;
            const ushort EmX8664 = 62;
            if (elf.Length < 64 || elf[0] != 0x7F || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F' || elf[4] != 2 /* ELFCLASS64 */)
            {
                problem = "is not a 64-bit ELF file";
                return false;
            }
            if (BinaryPrimitives.ReadUInt16LittleEndian(elf.Slice(0x12)) != EmX8664)
            {
                problem = "is not an x86-64 program";
                return false;
            }
            ulong phoff = BinaryPrimitives.ReadUInt64LittleEndian(elf.Slice(0x20));
            ushort phentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf.Slice(0x36));
            ushort phnum = BinaryPrimitives.ReadUInt16LittleEndian(elf.Slice(0x38));
            for (int i = 0; i < phnum; i++)
            {
                ulong at = phoff + (ulong)(i * phentsize);
                if (at + 4 > (ulong)elf.Length)
                {
                    problem = "has program headers beyond its end";
                    return false;
                }
                if (BinaryPrimitives.ReadUInt32LittleEndian(elf.Slice((int)at)) == PtInterp)
                {
                    problem = "is dynamically linked (it has a PT_INTERP program header)";
                    return false;
                }
            }
            problem = "";
            return true;
        }
    }
}
