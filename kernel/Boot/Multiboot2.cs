using System;

namespace Partition.Kernel
{
    /// <summary>A range of physical memory as the boot loader reported it.</summary>
    public readonly struct MemoryRegion
    {
        public MemoryRegion(ulong start, ulong length, MemoryRegionType type)
        {
            Start = start;
            Length = length;
            Type = type;
        }

        public ulong Start { get; }
        public ulong Length { get; }
        public ulong End => Start + Length;
        public MemoryRegionType Type { get; }
    }

    /// <summary>Multiboot2 memory map entry types (Multiboot2 spec, 3.6.8).</summary>
    public enum MemoryRegionType : uint
    {
        Available = 1,
        Reserved = 2,
        AcpiReclaimable = 3,
        AcpiNvs = 4,
        Defective = 5,
    }

    /// <summary>A file GRUB loaded beside the kernel (module2): a config or a guest image.</summary>
    public readonly struct BootModule
    {
        public BootModule(ulong start, ulong end, string commandLine)
        {
            Start = start;
            End = end;
            CommandLine = commandLine;
        }

        public ulong Start { get; }
        public ulong End { get; }
        public ulong Size => End - Start;
        public string CommandLine { get; }
    }

    /// <summary>
    /// The Multiboot2 boot information structure, parsed (Multiboot2 spec, 3.6 "Boot
    /// information format"): command line, boot loader name, memory map, modules and the
    /// ACPI RSDP. Parsing checks every size against the structure's bounds, so a malformed
    /// structure gives an error naming the tag instead of a wild read.
    /// </summary>
    public sealed class BootInformation
    {
        public const uint BootloaderMagic = 0x36D76289;

        private const uint TagEnd = 0;
        private const uint TagCommandLine = 1;
        private const uint TagBootLoaderName = 2;
        private const uint TagModule = 3;
        private const uint TagMemoryMap = 6;
        private const uint TagAcpiOldRsdp = 14;
        private const uint TagAcpiNewRsdp = 15;

        public string CommandLine { get; private set; } = "";
        public string BootLoaderName { get; private set; } = "";
        public MemoryRegion[] MemoryMap { get; private set; } = new MemoryRegion[0];
        public BootModule[] Modules { get; private set; } = new BootModule[0];

        /// <summary>Offset of the RSDP copy inside the structure (0: none given).</summary>
        public int AcpiRsdpOffset { get; private set; }

        /// <summary>The RSDP copy's length (20 bytes for ACPI 1.0, 36 from 2.0 on).</summary>
        public int AcpiRsdpLength { get; private set; }

        /// <summary>Total bytes of RAM the memory map calls available.</summary>
        public ulong AvailableMemory
        {
            get
            {
                ulong total = 0;
                foreach (var region in MemoryMap)
                    if (region.Type == MemoryRegionType.Available)
                        total += region.Length;
                return total;
            }
        }

        /// <summary>Parses the structure; on failure <paramref name="error"/> says which tag is wrong and why.</summary>
        public static bool TryParse(ReadOnlySpan<byte> information, out BootInformation result, out string error)
        {
            result = null;
            if (information.Length < 16)
            {
                error = "boot information shorter than its 8-byte header and an end tag";
                return false;
            }
            uint totalSize = U32(information, 0);
            if (totalSize > (uint)information.Length || totalSize < 16)
            {
                error = "boot information total_size is out of range";
                return false;
            }
            information = information.Slice(0, (int)totalSize);

            var parsed = new BootInformation();
            int moduleCount = 0;
            int memoryEntries = 0;
            // Two passes: count, then fill arrays of the right size (nothing grows at boot).
            for (int pass = 0; pass < 2; pass++)
            {
                int modulesSeen = 0;
                int offset = 8;
                bool ended = false;
                while (offset + 8 <= information.Length)
                {
                    uint type = U32(information, offset);
                    uint size = U32(information, offset + 4);
                    if (size < 8 || size > (uint)(information.Length - offset))
                    {
                        error = string.Concat("tag at offset ", Decimal(offset), " has a size beyond the structure");
                        return false;
                    }
                    var tag = information.Slice(offset, (int)size);
                    if (type == TagEnd)
                    {
                        ended = true;
                        break;
                    }
                    if (type == TagModule)
                    {
                        if (size < 16)
                        {
                            error = "module tag shorter than 16 bytes";
                            return false;
                        }
                        if (pass == 0)
                            moduleCount++;
                        else
                            parsed.Modules[modulesSeen++] = new BootModule(U32(tag, 8), U32(tag, 12), CString(tag.Slice(16)));
                    }
                    else if (type == TagMemoryMap)
                    {
                        if (size < 16)
                        {
                            error = "memory map tag shorter than 16 bytes";
                            return false;
                        }
                        uint entrySize = U32(tag, 8);
                        if (entrySize < 24 || entrySize % 8 != 0)
                        {
                            error = "memory map entry_size is not a multiple of 8 of at least 24";
                            return false;
                        }
                        int entries = (int)((size - 16) / entrySize);
                        if (pass == 0)
                        {
                            memoryEntries = entries;
                        }
                        else
                        {
                            for (int i = 0; i < entries; i++)
                            {
                                var entry = tag.Slice(16 + i * (int)entrySize);
                                parsed.MemoryMap[i] = new MemoryRegion(U64(entry, 0), U64(entry, 8), (MemoryRegionType)U32(entry, 16));
                            }
                        }
                    }
                    else if (pass == 1 && type == TagCommandLine)
                    {
                        parsed.CommandLine = CString(tag.Slice(8));
                    }
                    else if (pass == 1 && type == TagBootLoaderName)
                    {
                        parsed.BootLoaderName = CString(tag.Slice(8));
                    }
                    else if (pass == 1 && (type == TagAcpiNewRsdp || (type == TagAcpiOldRsdp && parsed.AcpiRsdpOffset == 0)))
                    {
                        parsed.AcpiRsdpOffset = offset + 8;
                        parsed.AcpiRsdpLength = (int)size - 8;
                    }
                    offset += (int)((size + 7) & ~7u);
                }
                if (!ended)
                {
                    error = "no end tag before total_size";
                    return false;
                }
                if (pass == 0)
                {
                    parsed.Modules = new BootModule[moduleCount];
                    parsed.MemoryMap = new MemoryRegion[memoryEntries];
                }
            }
            result = parsed;
            error = null;
            return true;
        }

        private static uint U32(ReadOnlySpan<byte> s, int at) =>
            (uint)(s[at] | s[at + 1] << 8 | s[at + 2] << 16 | s[at + 3] << 24);

        private static ulong U64(ReadOnlySpan<byte> s, int at) => U32(s, at) | (ulong)U32(s, at + 4) << 32;

        // Multiboot2 strings are zero-terminated UTF-8; anything outside ASCII shows as '?'.
        private static string CString(ReadOnlySpan<byte> bytes)
        {
            int length = 0;
            while (length < bytes.Length && bytes[length] != 0)
                length++;
            if (length == 0)
                return "";
            var chars = new char[length];
            for (int i = 0; i < length; i++)
                chars[i] = bytes[i] < 0x80 ? (char)bytes[i] : '?';
            return new string(chars);
        }

        private static string Decimal(int value)
        {
            Span<char> buffer = stackalloc char[12];
            return new string(buffer.Slice(0, NumberFormat.FormatDecimal(value, buffer)));
        }
    }
}
