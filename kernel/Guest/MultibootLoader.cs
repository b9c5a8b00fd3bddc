using System;

namespace Partition.Kernel
{
    /// <summary>Which Multiboot protocol a guest kernel asked for.</summary>
    public enum MultibootVersion
    {
        None,
        One,
        Two,
    }

    /// <summary>A module to hand to a Multiboot guest: its bytes and its command line.</summary>
    public readonly struct GuestModule
    {
        public GuestModule(ulong hostAddress, ulong size, string commandLine)
        {
            HostAddress = hostAddress;
            Size = size;
            CommandLine = commandLine;
        }

        public ulong HostAddress { get; }
        public ulong Size { get; }
        public string CommandLine { get; }
    }

    /// <summary>
    /// Loads a Multiboot kernel into a partition's memory the way a Multiboot boot loader would
    /// (Multiboot 0.6.96, section 3; Multiboot2 2.0, section 3): from its ELF32 program headers,
    /// or from the header's address fields (the "a.out kludge"); then places the modules and
    /// the boot information (memory map, command line, modules) after the kernel. The guest
    /// starts in 32-bit protected mode with paging off, EAX = the magic, EBX = the information.
    /// </summary>
    public static unsafe class MultibootLoader
    {
        public const uint Magic1 = 0x1BADB002;
        public const uint BootMagic1 = 0x2BADB002;
        public const uint Magic2 = 0xE85250D6;
        public const uint BootMagic2 = 0x36D76289;
        private const int Search1 = 8192;
        private const int Search2 = 32768;
        public const string BootLoaderName = "Partition hypervisor";

        public struct Result
        {
            public MultibootVersion Version;
            public ulong Entry;
            public ulong InformationAddress;
            public uint Magic;
        }

        /// <summary>
        /// Loads <paramref name="kernel"/> into the guest memory at <paramref name="guest"/>
        /// (<paramref name="memorySize"/> bytes, guest-physical 0 upwards, zeroed).
        /// </summary>
        public static bool TryLoad(ReadOnlySpan<byte> kernel, byte* guest, ulong memorySize, string commandLine,
            ReadOnlySpan<GuestModule> modules, out Result result, out string error)
        {
            result = default;
            int header = FindHeader(kernel, out MultibootVersion version);
            if (header < 0)
            {
                error = "the kernel has no Multiboot or Multiboot2 header in its first 8 or 32 KiB";
                return false;
            }
            ulong end;
            ulong entry;
            if (!TryAddressFields(kernel, header, version, guest, memorySize, out bool used, out entry, out end, out error))
                return false;
            if (!used && !TryLoadElf(kernel, guest, memorySize, out entry, out end, out error))
                return false;

            // Modules, then the information structure, page aligned above the kernel.
            ulong next = Align(end, 4096);
            var moduleStarts = new ulong[modules.Length];
            for (int i = 0; i < modules.Length; i++)
            {
                if (next + modules[i].Size > memorySize)
                {
                    error = "the modules do not fit in the partition's memory after the kernel";
                    return false;
                }
                moduleStarts[i] = next;
                byte* source = (byte*)modules[i].HostAddress;
                for (ulong b = 0; b < modules[i].Size; b++)
                    guest[next + b] = source[b];
                next = Align(next + modules[i].Size + 1, 4096); // +1: a zero byte after each module
            }
            var writer = new InfoWriter(guest, next, memorySize);
            result.InformationAddress = version == MultibootVersion.One
                ? WriteInformation1(ref writer, memorySize, commandLine, modules, moduleStarts)
                : WriteInformation2(ref writer, memorySize, commandLine, modules, moduleStarts);
            if (writer.Overflowed)
            {
                error = "the boot information does not fit in the partition's memory";
                return false;
            }
            result.Version = version;
            result.Entry = entry;
            result.Magic = version == MultibootVersion.One ? BootMagic1 : BootMagic2;
            error = null;
            return true;
        }

        /// <summary>Offset of the Multiboot2 (preferred) or Multiboot header, or -1.</summary>
        public static int FindHeader(ReadOnlySpan<byte> kernel, out MultibootVersion version)
        {
            for (int at = 0; at + 16 <= Math.Min(kernel.Length, Search2); at += 8)
            {
                uint magic = U32(kernel, at), arch = U32(kernel, at + 4), length = U32(kernel, at + 8);
                if (magic == Magic2 && arch == 0 && length >= 16 && unchecked(magic + arch + length + U32(kernel, at + 12)) == 0)
                {
                    version = MultibootVersion.Two;
                    return at;
                }
            }
            for (int at = 0; at + 12 <= Math.Min(kernel.Length, Search1); at += 4)
            {
                uint magic = U32(kernel, at), flags = U32(kernel, at + 4);
                if (magic == Magic1 && unchecked(magic + flags + U32(kernel, at + 8)) == 0)
                {
                    version = MultibootVersion.One;
                    return at;
                }
            }
            version = MultibootVersion.None;
            return -1;
        }

        // Multiboot flag 16 / Multiboot2 address tag (type 2) with an entry tag (type 3).
        private static bool TryAddressFields(ReadOnlySpan<byte> kernel, int header, MultibootVersion version, byte* guest, ulong memorySize,
            out bool used, out ulong entry, out ulong end, out string error)
        {
            used = false;
            entry = end = 0;
            error = null;
            uint headerAddress, loadAddress, loadEnd, bssEnd;
            if (version == MultibootVersion.One)
            {
                if ((U32(kernel, header + 4) & (1u << 16)) == 0 || header + 32 > kernel.Length)
                    return true;
                headerAddress = U32(kernel, header + 12);
                loadAddress = U32(kernel, header + 16);
                loadEnd = U32(kernel, header + 20);
                bssEnd = U32(kernel, header + 24);
                entry = U32(kernel, header + 28);
            }
            else
            {
                int headerEnd = header + (int)Math.Min(U32(kernel, header + 8), (uint)(kernel.Length - header));
                int address = -1, entryTag = -1;
                for (int tag = header + 16; tag + 8 <= headerEnd;)
                {
                    uint type = (ushort)U32(kernel, tag);
                    uint size = U32(kernel, tag + 4);
                    if (type == 0 || size < 8 || size > (uint)(headerEnd - tag))
                        break;
                    if (type == 2 && size >= 24) address = tag;
                    if (type == 3 && size >= 12) entryTag = tag;
                    tag += (int)((size + 7) & ~7u);
                }
                if (address < 0 || entryTag < 0)
                    return true;
                headerAddress = U32(kernel, address + 8);
                loadAddress = U32(kernel, address + 12);
                loadEnd = U32(kernel, address + 16);
                bssEnd = U32(kernel, address + 20);
                entry = U32(kernel, entryTag + 8);
            }
            used = true;
            // The file is loaded from the offset at which the header sits, less the header's
            // distance from load_addr; load_end 0 means "to the end of the file".
            long fileStart = header - (long)(headerAddress - loadAddress);
            if (fileStart < 0 || headerAddress < loadAddress)
            {
                error = "the Multiboot header's address fields place the load address after the header";
                return false;
            }
            ulong length = loadEnd == 0 ? (ulong)(kernel.Length - fileStart) : loadEnd - (ulong)loadAddress;
            end = bssEnd == 0 ? loadAddress + length : bssEnd;
            if (loadEnd != 0 && loadEnd < loadAddress || (ulong)fileStart + length > (ulong)kernel.Length || end > memorySize || entry >= memorySize)
            {
                error = "the kernel's Multiboot address fields do not fit the file or the partition's memory";
                return false;
            }
            for (ulong i = 0; i < length; i++)
                guest[loadAddress + i] = kernel[(int)fileStart + (int)i];
            return true;
        }

        private static bool TryLoadElf(ReadOnlySpan<byte> kernel, byte* guest, ulong memorySize, out ulong entry, out ulong end, out string error)
        {
            entry = end = 0;
            if (kernel.Length < 52 || U32(kernel, 0) != 0x464C457F || kernel[4] != 1 || kernel[5] != 1 || U16(kernel, 18) != 3)
            {
                error = "the kernel is neither an ELF32 x86 file nor carries Multiboot address fields";
                return false;
            }
            entry = U32(kernel, 24);
            uint programHeaders = U32(kernel, 28);
            int entrySize = U16(kernel, 42), count = U16(kernel, 44);
            for (int i = 0; i < count; i++)
            {
                long at = programHeaders + (long)i * entrySize;
                if (entrySize < 32 || at + 32 > kernel.Length)
                {
                    error = "an ELF program header lies outside the file";
                    return false;
                }
                int h = (int)at;
                if (U32(kernel, h) != 1) // PT_LOAD
                    continue;
                uint offset = U32(kernel, h + 4), physical = U32(kernel, h + 12), fileSize = U32(kernel, h + 16), memSize = U32(kernel, h + 20);
                if ((ulong)offset + fileSize > (ulong)kernel.Length || fileSize > memSize || (ulong)physical + memSize > memorySize)
                {
                    error = "an ELF segment lies outside the file or the partition's memory";
                    return false;
                }
                for (uint b = 0; b < fileSize; b++)
                    guest[physical + b] = kernel[(int)(offset + b)];
                for (uint b = fileSize; b < memSize; b++)
                    guest[physical + b] = 0;
                end = Math.Max(end, (ulong)physical + memSize);
            }
            if (end == 0 || entry >= memorySize)
            {
                error = "the ELF kernel has no loadable segment, or its entry lies outside the partition's memory";
                return false;
            }
            error = null;
            return true;
        }

        // Multiboot 0.6.96, 3.3 "Boot information format".
        private static ulong WriteInformation1(ref InfoWriter w, ulong memorySize, string commandLine, ReadOnlySpan<GuestModule> modules, ulong[] starts)
        {
            ulong info = w.Reserve(88);
            ulong cmdline = w.String(commandLine);
            ulong name = w.String(BootLoaderName);
            ulong moduleTable = w.Reserve((ulong)(16 * modules.Length));
            for (int i = 0; i < modules.Length; i++)
            {
                ulong entry = moduleTable + (ulong)(16 * i);
                w.U32(entry, (uint)starts[i]);
                w.U32(entry + 4, (uint)(starts[i] + modules[i].Size));
                w.U32(entry + 8, (uint)w.String(modules[i].CommandLine));
            }
            ulong mmap = w.Reserve(2 * 24);
            WriteMemoryMap1(ref w, mmap, memorySize);
            const uint flags = 1 << 0 | 1 << 2 | 1 << 3 | 1 << 6 | 1 << 9; // mem, cmdline, mods, mmap, loader name
            w.U32(info, flags);
            w.U32(info + 4, 640);
            w.U32(info + 8, (uint)((Math.Min(memorySize, 0xFFFFFFFFUL) - 0x100000) / 1024));
            w.U32(info + 16, (uint)cmdline);
            w.U32(info + 20, (uint)modules.Length);
            w.U32(info + 24, (uint)moduleTable);
            w.U32(info + 44, 2 * 24);
            w.U32(info + 48, (uint)mmap);
            w.U32(info + 64, (uint)name);
            return info;
        }

        // Two entries: low memory, and RAM from 1 MiB to the end of the partition (the 640 KiB
        // to 1 MiB hole is reported as absent, as on a PC).
        private static void WriteMemoryMap1(ref InfoWriter w, ulong at, ulong memorySize)
        {
            // Each entry: size (of the rest, 20), base, length, type.
            w.U32(at, 20);
            w.U64(at + 4, 0);
            w.U64(at + 12, 0xA0000);
            w.U32(at + 20, 1);
            w.U32(at + 24, 20);
            w.U64(at + 28, 0x100000);
            w.U64(at + 36, memorySize > 0x100000 ? memorySize - 0x100000 : 0);
            w.U32(at + 44, 1);
        }

        // Multiboot2 2.0, 3.6: tags, 8-byte aligned, ending with an end tag.
        private static ulong WriteInformation2(ref InfoWriter w, ulong memorySize, string commandLine, ReadOnlySpan<GuestModule> modules, ulong[] starts)
        {
            ulong info = w.Reserve(8);
            w.Tag2String(1, commandLine);
            w.Tag2String(2, BootLoaderName);
            for (int i = 0; i < modules.Length; i++)
            {
                ulong tag = w.Reserve(16);
                w.U32(tag, 3);
                ulong text = w.String(modules[i].CommandLine);
                w.U32(tag + 4, (uint)(16 + (text + (ulong)modules[i].CommandLine.Length + 1 - (tag + 16))));
                w.U32(tag + 8, (uint)starts[i]);
                w.U32(tag + 12, (uint)(starts[i] + modules[i].Size));
                w.AlignTo8();
            }
            ulong meminfo = w.Reserve(16);
            w.U32(meminfo, 4);
            w.U32(meminfo + 4, 16);
            w.U32(meminfo + 8, 640);
            w.U32(meminfo + 12, (uint)((Math.Min(memorySize, 0xFFFFFFFFUL) - 0x100000) / 1024));
            ulong mmap = w.Reserve(16 + 2 * 24);
            w.U32(mmap, 6);
            w.U32(mmap + 4, 16 + 2 * 24);
            w.U32(mmap + 8, 24);
            w.U32(mmap + 12, 0);
            w.U64(mmap + 16, 0);
            w.U64(mmap + 24, 0xA0000);
            w.U32(mmap + 32, 1);
            w.U64(mmap + 40, 0x100000);
            w.U64(mmap + 48, memorySize > 0x100000 ? memorySize - 0x100000 : 0);
            w.U32(mmap + 56, 1);
            ulong end = w.Reserve(8);
            w.U32(end, 0);
            w.U32(end + 4, 8);
            w.U32(info, (uint)(w.Next - info));
            return info;
        }

        /// <summary>Writes into guest memory from a start address upwards, never past its end.</summary>
        private struct InfoWriter
        {
            private readonly byte* _guest;
            private readonly ulong _limit;

            public InfoWriter(byte* guest, ulong start, ulong limit)
            {
                _guest = guest;
                Next = start;
                _limit = limit;
                Overflowed = false;
            }

            public ulong Next { get; private set; }
            public bool Overflowed { get; private set; }

            public ulong Reserve(ulong bytes)
            {
                ulong at = Next;
                if (at + bytes > _limit)
                {
                    Overflowed = true;
                    return _limit - 1 - Math.Min(bytes, _limit - 1);
                }
                Next = at + bytes;
                return at;
            }

            public void AlignTo8() => Next = Align(Next, 8);

            public ulong String(string text)
            {
                ulong at = Reserve((ulong)text.Length + 1);
                if (Overflowed)
                    return at;
                for (int i = 0; i < text.Length; i++)
                    _guest[at + (ulong)i] = text[i] < 0x80 ? (byte)text[i] : (byte)'?';
                _guest[at + (ulong)text.Length] = 0;
                return at;
            }

            public void Tag2String(uint type, string text)
            {
                ulong tag = Reserve(8);
                String(text);
                U32(tag, type);
                U32(tag + 4, (uint)(8 + text.Length + 1));
                AlignTo8();
            }

            public void U32(ulong at, uint value)
            {
                if (Overflowed)
                    return;
                *(uint*)(_guest + at) = value;
            }

            public void U64(ulong at, ulong value)
            {
                if (Overflowed)
                    return;
                *(ulong*)(_guest + at) = value;
            }
        }

        private static ulong Align(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
        private static uint U32(ReadOnlySpan<byte> s, int at) => (uint)(s[at] | s[at + 1] << 8 | s[at + 2] << 16 | s[at + 3] << 24);
        private static ushort U16(ReadOnlySpan<byte> s, int at) => (ushort)(s[at] | s[at + 1] << 8);
    }
}
