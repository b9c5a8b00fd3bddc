using System;
using Partition.Configs;

namespace Partition.Kernel
{
    /// <summary>
    /// The setup header of a Linux bzImage (Documentation/x86/boot.rst, "The Real-Mode Kernel
    /// Header"), read from the file at offset 0x1F1, and checked for what the 64-bit boot
    /// protocol needs. Field names are the documentation's. Both the hypervisor's loader
    /// (<see cref="LinuxBoot"/>) and the config validator (<c>partition check --images</c>)
    /// parse with this type, so a kernel is refused with the same words before and at boot.
    /// </summary>
    public readonly struct LinuxKernelHeader
    {
        /// <summary>Where the setup header starts in the file and in boot_params (boot.rst, zero-page.rst).</summary>
        public const int SetupHeaderOffset = 0x1F1;

        /// <summary>boot_params has room for the setup header up to 0x290 (edd_mbr_sig_buffer follows).</summary>
        public const int SetupHeaderLimit = 0x290;

        public const ushort BootFlag = 0xAA55;

        /// <summary>"HdrS" at 0x202, little-endian.</summary>
        public const uint HeaderMagic = 0x53726448;

        /// <summary>2.12 added xloadflags (XLF_KERNEL_64) and the ext_* fields of boot_params.</summary>
        public const ushort MinimumVersion = 0x020C;

        /// <summary>Version 2.10 added pref_address and init_size, which the loader places the kernel by.</summary>
        public const ushort PrefAddressVersion = 0x020A;

        /// <summary>loadflags bit 0: the protected-mode code is loaded at 0x100000 (a bzImage).</summary>
        public const byte LoadedHigh = 1 << 0;

        /// <summary>xloadflags bit 0: the kernel has the legacy 64-bit entry point at 0x200.</summary>
        public const ushort XlfKernel64 = 1 << 0;

        /// <summary>xloadflags bit 1: kernel, boot_params, command line and ramdisk may lie above 4 GiB.</summary>
        public const ushort XlfCanBeLoadedAbove4G = 1 << 1;

        /// <summary>The 64-bit entry is this far into the protected-mode code ("64-bit BOOT PROTOCOL").</summary>
        public const ulong Entry64Offset = 0x200;

        // The header reaches init_size (0x260, 4 bytes) in every 2.12+ kernel; a jump that ends
        // it earlier describes a header we cannot read.
        private const int MinimumHeaderEnd = 0x264;

        private LinuxKernelHeader(ReadOnlySpan<byte> image, int headerEnd)
        {
            SetupHeaderEnd = headerEnd;
            SetupSects = image[0x1F1];
            SysSize = U32(image, 0x1F4);
            Version = U16(image, 0x206);
            LoadFlags = image[0x211];
            Code32Start = U32(image, 0x214);
            InitrdAddrMax = U32(image, 0x22C);
            KernelAlignment = U32(image, 0x230);
            RelocatableKernel = image[0x234] != 0;
            MinAlignment = image[0x235];
            XLoadFlags = U16(image, 0x236);
            CmdlineSize = U32(image, 0x238);
            PrefAddress = U64(image, 0x258);
            InitSize = U32(image, 0x260);
            FileSize = (ulong)image.Length;
        }

        /// <summary>setup_sects as stored; see <see cref="SetupSectors"/>.</summary>
        public byte SetupSects { get; }

        /// <summary>The size of the setup code in 512-byte sectors: setup_sects, where 0 means 4.</summary>
        public int SetupSectors => SetupSects == 0 ? 4 : SetupSects;

        /// <summary>Where the protected-mode kernel starts in the file: the boot sector and the setup code.</summary>
        public ulong SetupSize => (ulong)(SetupSectors + 1) * 512;

        /// <summary>syssize: the protected-mode code's size in 16-byte paragraphs.</summary>
        public uint SysSize { get; }

        /// <summary>The boot protocol version, (major &lt;&lt; 8) + minor.</summary>
        public ushort Version { get; }

        public byte LoadFlags { get; }
        public uint Code32Start { get; }

        /// <summary>The highest address the initrd may occupy (its last byte, not its end).</summary>
        public uint InitrdAddrMax { get; }

        public uint KernelAlignment { get; }
        public bool RelocatableKernel { get; }

        /// <summary>The minimum alignment, as a power of two.</summary>
        public byte MinAlignment { get; }

        public ushort XLoadFlags { get; }

        /// <summary>The longest command line the kernel takes, without its terminating NUL.</summary>
        public uint CmdlineSize { get; }

        public ulong PrefAddress { get; }

        /// <summary>Memory the kernel needs from its runtime start before it reads the memory map.</summary>
        public uint InitSize { get; }

        /// <summary>The end of the setup header in the file: 0x202 plus the byte at 0x201 (the jump's offset).</summary>
        public int SetupHeaderEnd { get; }

        /// <summary>The size of the whole file the header was read from.</summary>
        public ulong FileSize { get; }

        /// <summary>The protected-mode kernel: everything after the setup code.</summary>
        public ulong ProtectedModeSize => FileSize - SetupSize;

        /// <summary>"2.15".</summary>
        public string VersionText => FormatVersion(Version);

        /// <summary>
        /// Reads and checks the setup header of <paramref name="image"/>: a bzImage (boot flag,
        /// "HdrS", LOADED_HIGH) of boot protocol 2.12 or later with a 64-bit entry, whose file
        /// holds all the code its header describes. The error says which requirement failed.
        /// </summary>
        public static bool TryParse(ReadOnlySpan<byte> image, out LinuxKernelHeader header, out string error)
        {
            header = default;
            if (image.Length < SetupHeaderLimit)
            {
                error = string.Concat("not a bzImage: the file is ", ConfigText.Decimal(image.Length), " bytes, too short to hold a setup header (0x1F1 to 0x290)");
                return false;
            }
            if (U16(image, 0x1FE) != BootFlag)
            {
                error = "not a bzImage: no boot flag 0xAA55 at 0x1FE";
                return false;
            }
            if (U32(image, 0x202) != HeaderMagic)
            {
                error = "not a bzImage: no HdrS signature at 0x202";
                return false;
            }
            ushort version = U16(image, 0x206);
            if (version < MinimumVersion)
            {
                error = string.Concat("boot protocol ", FormatVersion(version), " is too old: the 64-bit entry needs 2.12 or later");
                return false;
            }
            if ((image[0x211] & LoadedHigh) == 0)
            {
                error = "not a bzImage: loadflags bit 0 (LOADED_HIGH) is clear, so this is a zImage that loads below 1 MiB";
                return false;
            }
            if ((U16(image, 0x236) & XlfKernel64) == 0)
            {
                error = "the kernel has no 64-bit entry (xloadflags bit 0, XLF_KERNEL_64, is clear)";
                return false;
            }
            // boot.rst: "0x0202 + byte value at offset 0x0201" is the end of the setup header.
            int headerEnd = 0x202 + image[0x201];
            if (image[0x200] != 0xEB || headerEnd < MinimumHeaderEnd || headerEnd > SetupHeaderLimit)
            {
                error = string.Concat("the setup header's length is wrong: the jump at 0x200 (", ConfigText.Hex(U16(image, 0x200)),
                    ") must be a short jump (0xEB) ending the header between 0x264 and 0x290");
                return false;
            }
            var parsed = new LinuxKernelHeader(image, headerEnd);
            if (parsed.SetupSize >= (ulong)image.Length)
            {
                error = string.Concat("the file (", ConfigText.Decimal(image.Length), " bytes) ends inside its setup code (",
                    string.Concat(ConfigText.Decimal(parsed.SetupSectors), " sectors after the boot sector, ", ConfigText.Decimal(parsed.SetupSize), " bytes)"));
                return false;
            }
            // syssize counts 16-byte paragraphs, and a file whose code is not a whole number of
            // them may round up (memtest86+: "_sys_size = (_end - _start + 15) >> 4", so its
            // syssize is 8 bytes past the end of the file); only a shortfall of a whole
            // paragraph or more is missing code. GRUB does not look at syssize at all.
            if ((ulong)parsed.SysSize * 16 > parsed.ProtectedModeSize + 15)
            {
                error = string.Concat("the file is truncated: syssize says ", ConfigText.Decimal((ulong)parsed.SysSize * 16),
                    " bytes of protected-mode code, the file has ", string.Concat(ConfigText.Decimal(parsed.ProtectedModeSize), " after the setup code"));
                return false;
            }
            if (parsed.RelocatableKernel && (parsed.KernelAlignment == 0 || (parsed.KernelAlignment & (parsed.KernelAlignment - 1)) != 0))
            {
                error = string.Concat("kernel_alignment ", ConfigText.Hex(parsed.KernelAlignment), " is not a power of two");
                return false;
            }
            if (parsed.InitSize < parsed.ProtectedModeSize)
            {
                error = string.Concat("init_size ", ConfigText.Hex(parsed.InitSize), " is smaller than the protected-mode code (",
                    ConfigText.Hex(parsed.ProtectedModeSize), " bytes)");
                return false;
            }
            header = parsed;
            error = null;
            return true;
        }

        /// <summary>
        /// Checks that <paramref name="commandLine"/> can be given to this kernel: at most
        /// cmdline_size bytes (UTF-8, without the NUL the loader adds; boot.rst, "cmdline_size"),
        /// and no NUL inside (it would end the string early and hide the rest).
        /// </summary>
        public bool TryCheckCommandLine(string commandLine, out string error) => TryCheckCommandLine(commandLine, CmdlineSize, out error);

        /// <summary>As above, against a given cmdline_size.</summary>
        public static bool TryCheckCommandLine(string commandLine, uint cmdlineSize, out string error)
        {
            string text = commandLine ?? "";
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] == '\0')
                {
                    error = string.Concat("the command line contains a NUL character at offset ", ConfigText.Decimal(i),
                        "; the kernel would read only what comes before it");
                    return false;
                }
            }
            ulong length = Utf8Length(text);
            if (length > cmdlineSize)
            {
                error = string.Concat("the command line is ", ConfigText.Decimal(length), " bytes, longer than the ",
                    string.Concat(ConfigText.Decimal(cmdlineSize), " the kernel accepts (its cmdline_size)"));
                return false;
            }
            error = null;
            return true;
        }

        /// <summary>The length of <paramref name="text"/> in UTF-8, the bytes the loader writes.</summary>
        public static ulong Utf8Length(string text)
        {
            ulong length = 0;
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (c < 0x80)
                    length += 1;
                else if (c < 0x800)
                    length += 2;
                else if (IsSurrogatePair(text, i))
                {
                    length += 4;
                    i++;
                }
                else
                    length += 3;
            }
            return length;
        }

        /// <summary>True if a high and a low surrogate start at <paramref name="i"/>: one code point, four UTF-8 bytes.</summary>
        internal static bool IsSurrogatePair(string text, int i) =>
            text[i] >= 0xD800 && text[i] <= 0xDBFF && i + 1 < text.Length && text[i + 1] >= 0xDC00 && text[i + 1] <= 0xDFFF;

        private static string FormatVersion(ushort version) =>
            string.Concat(ConfigText.Decimal(version >> 8), (version & 0xFF) < 10 ? ".0" : ".", ConfigText.Decimal(version & 0xFF));

        private static ushort U16(ReadOnlySpan<byte> s, int at) => (ushort)(s[at] | s[at + 1] << 8);
        private static uint U32(ReadOnlySpan<byte> s, int at) => (uint)(s[at] | s[at + 1] << 8 | s[at + 2] << 16 | s[at + 3] << 24);
        private static ulong U64(ReadOnlySpan<byte> s, int at) => U32(s, at) | (ulong)U32(s, at + 4) << 32;
    }
}
