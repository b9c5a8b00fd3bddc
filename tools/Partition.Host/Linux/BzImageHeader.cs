using System.Buffers.Binary;
using System.Text;

namespace Partition.Host.Linux
{
    /// <summary>
    /// The few fields of a bzImage's real-mode setup header that say whether a 64-bit boot loader
    /// can start it (Documentation/arch/x86/boot.rst, "The real-mode kernel header"). The host
    /// build checks its kernel with this; the hypervisor's own loader reads the header itself.
    /// </summary>
    public sealed record BzImageHeader(ushort ProtocolVersion, ushort XLoadFlags, byte LoadFlags, int SetupSectors, string KernelVersion)
    {
        public const int HeaderMagicOffset = 0x202;
        public const uint HeaderMagic = 0x53726448; // "HdrS"

        /// <summary>XLF_KERNEL_64: the kernel has the 64-bit entry point at load address + 0x200 (protocol 2.12).</summary>
        public const ushort XlfKernel64 = 1 << 0;

        /// <summary>LOADED_HIGH: the protected-mode kernel is loaded at 1 MiB (every bzImage).</summary>
        public const byte LoadedHigh = 1 << 0;

        public bool Is64BitBootable => ProtocolVersion >= 0x020C && (XLoadFlags & XlfKernel64) != 0;

        public string ProtocolText => $"{ProtocolVersion >> 8}.{ProtocolVersion & 0xFF:D2}";

        /// <summary>Reads the header, or returns null with the reason when the bytes are no bzImage.</summary>
        public static BzImageHeader? TryRead(ReadOnlySpan<byte> image, out string problem)
        {
            if (image.Length < 0x400)
            {
                problem = $"only {image.Length} bytes: too short for a bzImage's setup header";
                return null;
            }
            uint magic = BinaryPrimitives.ReadUInt32LittleEndian(image.Slice(HeaderMagicOffset));
            if (magic != HeaderMagic || BinaryPrimitives.ReadUInt16LittleEndian(image.Slice(0x1FE)) != 0xAA55)
            {
                problem = $"no \"HdrS\" at 0x{HeaderMagicOffset:X} or no 0xAA55 boot flag at 0x1FE: not a Linux boot-protocol image";
                return null;
            }
            ushort version = BinaryPrimitives.ReadUInt16LittleEndian(image.Slice(0x206));
            // Protocol 2.12 added xloadflags; before it the field is part of another one.
            ushort xloadflags = version >= 0x020C ? BinaryPrimitives.ReadUInt16LittleEndian(image.Slice(0x236)) : (ushort)0;
            byte setupSectors = image[0x1F1];
            problem = "";
            return new BzImageHeader(version, xloadflags, image[0x211], setupSectors == 0 ? 4 : setupSectors, ReadVersionString(image));
        }

        // kernel_version (0x20E) points at a NUL-terminated string, 0x200 bytes before where it says.
        private static string ReadVersionString(ReadOnlySpan<byte> image)
        {
            int offset = BinaryPrimitives.ReadUInt16LittleEndian(image.Slice(0x20E)) + 0x200;
            if (offset <= 0x200 || offset >= image.Length)
                return "";
            var text = image.Slice(offset, Math.Min(256, image.Length - offset));
            int end = text.IndexOf((byte)0);
            return Encoding.ASCII.GetString(end < 0 ? text : text.Slice(0, end));
        }
    }
}
