using System;
using Partition.Configs;
using Partition.Memory;

namespace Partition.Kernel
{
    /// <summary>
    /// The CPU state a Linux guest starts in by the 64-bit boot protocol (boot.rst, "64-bit BOOT
    /// PROTOCOL"), and the guest-physical ranges the loader filled to get there.
    /// </summary>
    public struct LinuxBootState
    {
        /// <summary>The 64-bit entry: the protected-mode kernel's load address + 0x200.</summary>
        public ulong Rip;

        /// <summary>The address of boot_params ("%rsi must hold the base address of the struct boot_params").</summary>
        public ulong Rsi;

        /// <summary>PE, ET, NE and PG: protected mode with paging, as long mode needs.</summary>
        public ulong Cr0;

        /// <summary>The identity-mapping PML4.</summary>
        public ulong Cr3;

        /// <summary>PAE (long mode's paging).</summary>
        public ulong Cr4;

        /// <summary>LME and LMA: the guest is in IA-32e mode at entry.</summary>
        public ulong Efer;

        /// <summary>Only the fixed bit 1: interrupts disabled, as the protocol requires.</summary>
        public ulong Rflags;

        public ulong GdtBase;
        public ushort GdtLimit;

        /// <summary>__BOOT_CS (0x10), and its descriptor as written in the GDT.</summary>
        public ushort CodeSelector;
        public ulong CodeDescriptor;

        /// <summary>__BOOT_DS (0x18) for DS, ES and SS, and its descriptor as written in the GDT.</summary>
        public ushort DataSelector;
        public ulong DataDescriptor;

        /// <summary>The kernel's memory: from its load address, init_size bytes (or the file's protected-mode code, if longer).</summary>
        public PhysicalRange Kernel;

        /// <summary>The initrd, page aligned; empty (0, 0) without one.</summary>
        public PhysicalRange Initrd;

        public PhysicalRange BootParams;
        public PhysicalRange CommandLine;
        public PhysicalRange PageTables;
        public PhysicalRange Gdt;

        /// <summary>
        /// The name of the first range the loader filled that overlaps [start, end) ("kernel",
        /// "initrd", "boot_params", "command line", "page tables", "GDT"), or null if none does:
        /// e.g. to check that nothing lies where the ACPI tables go.
        /// </summary>
        public string Overlapping(ulong start, ulong end)
        {
            if (Overlaps(Kernel, start, end)) return "kernel";
            if (Overlaps(Initrd, start, end)) return "initrd";
            if (Overlaps(BootParams, start, end)) return "boot_params";
            if (Overlaps(CommandLine, start, end)) return "command line";
            if (Overlaps(PageTables, start, end)) return "page tables";
            if (Overlaps(Gdt, start, end)) return "GDT";
            return null;
        }

        private static bool Overlaps(PhysicalRange range, ulong start, ulong end) =>
            range.Length > 0 && start < end && range.Start < end && start < range.End;
    }

    /// <summary>
    /// Loads a Linux bzImage into a partition's RAM by the x86 boot protocol's 64-bit entry
    /// (Documentation/x86/boot.rst, "64-bit BOOT PROTOCOL"): the protected-mode kernel at its
    /// preferred address, boot_params (the "zero page", zero-page.rst) with the setup header,
    /// command line, initrd and e820 map, identity page tables and a GDT with __BOOT_CS and
    /// __BOOT_DS. The guest then starts in 64-bit mode at the kernel's startup_64.
    /// </summary>
    /// <remarks>
    /// Where the loader's own structures go (guest-physical, all in the e820's first RAM range):
    /// <code>
    /// 0x00000-0x00FFF  untouched: the decompressor reads the BIOS data area here (EBDA segment at
    ///                  0x40E, base memory size at 0x413); zero means "no EBDA, assume 640 KiB"
    /// 0x01000          GDT (null, null, __BOOT_CS, __BOOT_DS)
    /// 0x02000          boot_params, 4 KiB
    /// 0x03000-0x08FFF  page tables: PML4, PDPT, four page directories (the first 4 GiB, 2 MiB pages)
    /// 0x09000          the command line, NUL-terminated
    /// 0x9D000-0x9EFFF  left free: arch/x86/boot/compressed/pgtable_64.c puts its 32-bit trampoline
    ///                  for switching between 4- and 5-level paging 8 KiB below the top of the
    ///                  first RAM range under 0x9F000
    /// </code>
    /// Why low memory: the kernel's own work area is [load address, + init_size) (head_64.S copies
    /// the compressed kernel to the end of that area and decompresses in place), and with KASLR
    /// extract_kernel may pick any RAM above LOAD_PHYSICAL_ADDR (pref_address, 16 MiB in distribution
    /// kernels) that is not boot_params, the command line or the initrd. Below 1 MiB the kernel
    /// writes only the trampoline (saved and restored around its use) before it has left our
    /// tables: startup_64 loads its own GDT (gdt64) in its first instructions, and
    /// initialize_identity_maps switches CR3 to page tables in its own area before extract_kernel
    /// runs. From then on only boot_params and the command line are read, until the kernel copies
    /// them (copy_bootdata); afterwards Linux owns all of low memory (its real-mode trampoline,
    /// reserve_real_mode) like any other RAM in the e820. Other direct 64-bit loaders put the same
    /// structures in the same place (Firecracker and cloud-hypervisor: zero page at 0x7000, page
    /// tables at 0x9000, command line at 0x20000).
    /// Seen working: Debian 12's 6.1 kernel (relocatable) in 256 MiB and the project's guest kernel
    /// (not relocatable) in 64 MiB, loaded by this code and entered with this state by a small stub
    /// under QEMU TCG, ran their initrd's /init; Debian's also with 5-level paging (-cpu
    /// max,la57=on), where the decompressor goes through its trampoline.
    /// </remarks>
    public static unsafe class LinuxBoot
    {
        public const ulong GdtAddress = 0x1000;
        public const ulong BootParamsAddress = 0x2000;
        public const ulong PageTablesAddress = 0x3000;
        public const ulong CommandLineAddress = 0x9000;

        /// <summary>The command line must end below this (the decompressor's trampoline, see the remarks).</summary>
        public const ulong LowMemoryLimit = 0x9D000;

        public const ulong BootParamsSize = 4096;

        /// <summary>PML4, PDPT and four page directories.</summary>
        public const ulong PageTablesSize = 6 * 4096;

        /// <summary>Four 8-byte descriptors: null, unused (0x08), __BOOT_CS (0x10), __BOOT_DS (0x18).</summary>
        public const ulong GdtSize = 4 * 8;

        public const ushort BootCsSelector = 0x10;
        public const ushort BootDsSelector = 0x18;

        /// <summary>64-bit code: present, DPL 0, execute/read, accessed, L=1, G=1, base 0, limit 4 GiB.</summary>
        public const ulong BootCsDescriptor = 0x00AF9B000000FFFF;

        /// <summary>Data: present, DPL 0, read/write, accessed, D/B=1, G=1, base 0, limit 4 GiB ("4G flat").</summary>
        public const ulong BootDsDescriptor = 0x00CF93000000FFFF;

        /// <summary>type_of_loader 0xFF: a boot loader without an assigned id (boot.rst, "type_of_loader").</summary>
        public const byte TypeOfLoaderUndefined = 0xFF;

        /// <summary>boot_params.e820_table holds at most E820_MAX_ENTRIES_ZEROPAGE entries.</summary>
        public const int MaxE820Entries = 128;

        /// <summary>Entries in <see cref="GuestMemoryMap"/>'s map when the partition has more than 1 MiB of RAM.</summary>
        public const int GuestMemoryMapEntries = 4;

        /// <summary>Where the ACPI tables and the RSDP of a guest partition live (reserved in its e820 map).</summary>
        public const ulong AcpiAreaStart = 0xE0000;
        public const ulong AcpiAreaEnd = 0x100000;

        // Offsets in boot_params (arch/x86/include/uapi/asm/bootparam.h, zero-page.rst).
        public const int AcpiRsdpAddrOffset = 0x070;
        public const int ExtRamdiskImageOffset = 0x0C0;
        public const int ExtRamdiskSizeOffset = 0x0C4;
        public const int ExtCmdLinePtrOffset = 0x0C8;
        public const int E820EntriesOffset = 0x1E8;
        public const int SentinelOffset = 0x1EF;
        public const int E820TableOffset = 0x2D0;
        // Setup header fields the loader writes (boot.rst, "Details of Header Fields").
        public const int TypeOfLoaderOffset = 0x210;
        public const int LoadFlagsOffset = 0x211;
        public const int Code32StartOffset = 0x214;
        public const int RamdiskImageOffset = 0x218;
        public const int RamdiskSizeOffset = 0x21C;
        public const int CmdLinePtrOffset = 0x228;

        private const ulong LowMemoryTop = 0x9FC00;
        private const ulong OneMiB = 0x100000;
        private const ulong FourGiB = 1UL << 32;
        private const ulong PageSize = 4096;

        /// <summary>
        /// The e820 map of a guest partition with <paramref name="ramSize"/> bytes of RAM at
        /// guest-physical 0, as a PC's BIOS would report it: RAM below 0x9FC00, the 1 KiB at
        /// 0x9FC00 reserved (where an EBDA would be), the VGA and option ROM hole 0xA0000-0xDFFFF
        /// absent, 0xE0000-0xFFFFF reserved (the BIOS area, which holds the guest's ACPI tables and
        /// RSDP), and RAM from 1 MiB to the end. Entries beyond the RAM are left out, ones that
        /// reach past it are cut. Returns the number written (at most <see cref="GuestMemoryMapEntries"/>).
        /// </summary>
        public static int GuestMemoryMap(ulong ramSize, Span<E820Entry> map)
        {
            int count = 0;
            count = AddClipped(map, count, 0, LowMemoryTop, E820Type.Ram, ramSize);
            count = AddClipped(map, count, LowMemoryTop, 0xA0000, E820Type.Reserved, ramSize);
            count = AddClipped(map, count, AcpiAreaStart, AcpiAreaEnd, E820Type.Reserved, ramSize);
            count = AddClipped(map, count, OneMiB, ramSize, E820Type.Ram, ramSize);
            return count;
        }

        private static int AddClipped(Span<E820Entry> map, int count, ulong start, ulong end, E820Type type, ulong ramSize)
        {
            end = Math.Min(end, ramSize);
            if (start >= end)
                return count;
            map[count] = new E820Entry(start, end - start, type);
            return count + 1;
        }

        /// <summary>
        /// Loads <paramref name="kernel"/> (a bzImage) into the partition's zeroed RAM at
        /// <paramref name="ram"/> (<paramref name="ramSize"/> bytes, guest-physical 0 = ram[0]),
        /// with <paramref name="initrdSize"/> bytes of initrd from <paramref name="initrd"/> (null
        /// or 0 for none), the command line, the e820 map the guest is to see and the guest-physical
        /// address of the ACPI RSDP (0 if there is none: Linux then searches 0xE0000-0xFFFFF).
        /// On success <paramref name="state"/> is where the vCPU starts; on failure
        /// <paramref name="error"/> says what did not fit or what the kernel lacks.
        /// </summary>
        public static bool TryLoad(ReadOnlySpan<byte> kernel, byte* initrd, ulong initrdSize, string commandLine,
            byte* ram, ulong ramSize, ReadOnlySpan<E820Entry> e820, ulong rsdpAddress, out LinuxBootState state, out string error)
        {
            state = default;
            if (!LinuxKernelHeader.TryParse(kernel, out var header, out error))
                return false;
            commandLine = commandLine ?? "";
            if (!header.TryCheckCommandLine(commandLine, out error))
                return false;
            // e820.c, append_e820_table: "Only one memory region (or negative)? Ignore it", and the
            // kernel would fall back to the BIOS-88/e801 sizes, which we leave 0.
            if (e820.Length < 2 || e820.Length > MaxE820Entries)
            {
                error = string.Concat("the e820 map has ", ConfigText.Decimal(e820.Length),
                    " entries; boot_params holds at most 128, and Linux ignores a map of fewer than 2");
                return false;
            }
            if (initrd == null)
                initrdSize = 0;

            // The low structures, in the e820's first RAM range (see the remarks above).
            ulong commandLineBytes = LinuxKernelHeader.Utf8Length(commandLine) + 1;
            if (CommandLineAddress + commandLineBytes > LowMemoryLimit)
            {
                error = string.Concat("the command line (", ConfigText.Decimal(commandLineBytes - 1), " bytes) does not fit below ", ConfigText.Hex(LowMemoryLimit));
                return false;
            }
            if (!InUsableRam(e820, GdtAddress, LowMemoryLimit) || ramSize < LowMemoryLimit)
            {
                error = string.Concat("the loader needs ", ConfigText.Hex(GdtAddress), "-", string.Concat(ConfigText.Hex(LowMemoryLimit),
                    " to be RAM in the partition and usable (type 1) in its e820 map, for the GDT, boot_params, page tables and command line"));
                return false;
            }

            if (!TryPlaceKernel(header, ramSize, e820, out ulong load, out ulong kernelEnd, out error))
                return false;

            ulong initrdStart = 0;
            if (initrdSize > 0 && !TryPlaceInitrd(header, initrdSize, kernelEnd, ramSize, e820, out initrdStart, out error))
                return false;

            // Everything fits: fill RAM.
            fixed (byte* image = kernel)
            {
                Copy(ram + load, image + header.SetupSize, header.ProtectedModeSize);
                if (initrdSize > 0)
                    Copy(ram + initrdStart, initrd, initrdSize);
                WriteBootParams(ram, image, header, load, initrdStart, initrdSize, e820, rsdpAddress);
            }
            WriteCommandLine(ram + CommandLineAddress, commandLine);
            WritePageTables(ram);
            WriteGdt(ram);

            state.Rip = load + LinuxKernelHeader.Entry64Offset;
            state.Rsi = BootParamsAddress;
            state.Cr0 = Cr0Pe | Cr0Et | Cr0Ne | Cr0Pg;
            state.Cr3 = PageTablesAddress;
            state.Cr4 = Cr4Pae;
            state.Efer = EferLme | EferLma;
            state.Rflags = 0x2;
            state.GdtBase = GdtAddress;
            state.GdtLimit = (ushort)(GdtSize - 1);
            state.CodeSelector = BootCsSelector;
            state.CodeDescriptor = BootCsDescriptor;
            state.DataSelector = BootDsSelector;
            state.DataDescriptor = BootDsDescriptor;
            state.Kernel = new PhysicalRange(load, kernelEnd);
            state.Initrd = new PhysicalRange(initrdStart, initrdStart + initrdSize);
            state.BootParams = new PhysicalRange(BootParamsAddress, BootParamsAddress + BootParamsSize);
            state.CommandLine = new PhysicalRange(CommandLineAddress, CommandLineAddress + commandLineBytes);
            state.PageTables = new PhysicalRange(PageTablesAddress, PageTablesAddress + PageTablesSize);
            state.Gdt = new PhysicalRange(GdtAddress, GdtAddress + GdtSize);
            error = null;
            return true;
        }

        private const ulong Cr0Pe = 1UL << 0, Cr0Et = 1UL << 4, Cr0Ne = 1UL << 5, Cr0Pg = 1UL << 31;
        private const ulong Cr4Pae = 1UL << 5;
        private const ulong EferLme = 1UL << 8, EferLma = 1UL << 10;

        // boot.rst, "pref_address" and "init_size": a relocatable kernel runs from its load address
        // aligned up to kernel_alignment, a fixed one from pref_address; it needs init_size bytes
        // from there. The 64-bit entry (compressed/head_64.S, startup_64) moreover never runs
        // below LOAD_PHYSICAL_ADDR, which header.S gives as pref_address: loading below it would
        // leave the file's copy outside the area the kernel then decompresses into. So a fixed
        // kernel goes at pref_address, and a relocatable one at the lowest kernel_alignment
        // boundary at or above pref_address where [load, + init_size) is usable RAM below 4 GiB
        // (pref_address itself when it is free, as in a guest partition; higher in a host
        // partition, whose RAM below that may be the hypervisor's).
        private static bool TryPlaceKernel(in LinuxKernelHeader header, ulong ramSize, ReadOnlySpan<E820Entry> e820,
            out ulong load, out ulong end, out string error)
        {
            ulong pref = header.PrefAddress != 0 ? header.PrefAddress : OneMiB;
            ulong alignment = header.RelocatableKernel && header.KernelAlignment != 0 ? header.KernelAlignment : 1;
            load = AlignUp(pref, alignment);
            ulong needed = Math.Max(header.InitSize, header.ProtectedModeSize);
            end = load + needed;
            if (load < OneMiB)
            {
                error = string.Concat("the kernel's pref_address ", ConfigText.Hex(header.PrefAddress), " is below 1 MiB, where the loader's own structures are");
                return false;
            }
            if (header.RelocatableKernel && !InUsableRam(e820, load, end))
            {
                bool found = false;
                ulong best = 0;
                for (int i = 0; i < e820.Length; i++)
                {
                    if (e820[i].Type != E820Type.Ram)
                        continue;
                    ulong candidate = AlignUp(Math.Max(e820[i].Start, pref), alignment);
                    if (candidate + needed <= e820[i].End && candidate + needed <= Math.Min(ramSize, FourGiB) && (!found || candidate < best))
                    {
                        best = candidate;
                        found = true;
                    }
                }
                if (found)
                {
                    load = best;
                    end = best + needed;
                }
            }
            if (end > ramSize || end > FourGiB)
            {
                error = string.Concat("the kernel does not fit: it needs ", ConfigText.Hex(needed), " bytes (init_size) from ",
                    string.Concat(ConfigText.Hex(load), load == AlignUp(pref, alignment) ? " (pref_address)" : " (the first place above pref_address that is RAM)", ", up to "),
                    string.Concat(ConfigText.Hex(end), ", but the partition has ", ConfigText.Size(ramSize), " of RAM"));
                return false;
            }
            if (!InUsableRam(e820, load, end))
            {
                error = header.RelocatableKernel
                    ? string.Concat("the kernel needs ", ConfigText.Hex(needed), " bytes (init_size) of usable RAM (type 1 in the e820 map) in one piece at or above ",
                        string.Concat(ConfigText.Hex(pref), " (pref_address), below 4 GiB, and the partition has none"))
                    : string.Concat("the kernel's memory ", ConfigText.Hex(load), "-", string.Concat(ConfigText.Hex(end),
                        " (pref_address + init_size) is not all usable RAM (type 1) in the e820 map, and the kernel is not relocatable"));
                return false;
            }
            error = null;
            return true;
        }

        // boot.rst, "initrd_addr_max": the highest byte the initrd may occupy. Like GRUB, the
        // initrd goes as high as it can, page aligned, above the kernel's memory (so that nothing
        // the kernel decompresses into or allocates early lies on it) and below 4 GiB (the
        // identity map, and the 32-bit ramdisk_image for kernels without ext_ramdisk_image).
        private static bool TryPlaceInitrd(in LinuxKernelHeader header, ulong size, ulong kernelEnd, ulong ramSize,
            ReadOnlySpan<E820Entry> e820, out ulong start, out string error)
        {
            ulong limit = Math.Min(Math.Min(ramSize, (ulong)header.InitrdAddrMax + 1), FourGiB);
            start = 0;
            bool found = false;
            for (int i = 0; i < e820.Length; i++)
            {
                var entry = e820[i];
                if (entry.Type != E820Type.Ram)
                    continue;
                ulong top = Math.Min(entry.End, limit);
                if (top < size)
                    continue;
                ulong candidate = (top - size) & ~(PageSize - 1);
                if (candidate < entry.Start || candidate < kernelEnd)
                    continue;
                if (!found || candidate > start)
                {
                    start = candidate;
                    found = true;
                }
            }
            if (!found)
            {
                error = string.Concat("the initrd (", ConfigText.Size(size), ") does not fit in usable RAM between the end of the kernel's memory (",
                    string.Concat(ConfigText.Hex(kernelEnd), ") and ", ConfigText.Hex(limit)),
                    " (the lower of the end of RAM, initrd_addr_max + 1 and 4 GiB); give the partition more memory");
                return false;
            }
            error = null;
            return true;
        }

        // The zero page (zero-page.rst): all zero, the setup header copied from the image "from
        // offset 0x01f1 ... 0x0202 + byte value at offset 0x0201" ("64-bit BOOT PROTOCOL"), then the
        // fields a loader writes. Only the header is copied so the sentinel at 0x1EF stays 0 and
        // sanitize_boot_params keeps what we wrote.
        private static void WriteBootParams(byte* ram, byte* image, in LinuxKernelHeader header, ulong load,
            ulong initrdStart, ulong initrdSize, ReadOnlySpan<E820Entry> e820, ulong rsdpAddress)
        {
            byte* bp = ram + BootParamsAddress;
            Cpu.Zero(bp, BootParamsSize);
            for (int i = LinuxKernelHeader.SetupHeaderOffset; i < header.SetupHeaderEnd; i++)
                bp[i] = image[i];

            // screen_info stays all zero: orig_video_isVGA 0 (no VGA), and orig_video_lines and
            // orig_video_cols 0, which makes the decompressor's __putstr skip the screen and
            // vgacon_startup fall back to the dummy console; earlyprintk=vga needs isVGA == 1.
            // The guest's console is its serial port (console=ttyS0, earlyprintk=serial).
            bp[TypeOfLoaderOffset] = TypeOfLoaderUndefined;
            // LOADED_HIGH is the kernel's own (a bzImage sets it); CAN_USE_HEAP and heap_end_ptr
            // concern the real-mode setup code, which the 64-bit entry skips.
            bp[LoadFlagsOffset] = (byte)(bp[LoadFlagsOffset] | LinuxKernelHeader.LoadedHigh);
            // "a bootloader which ... loads a relocatable kernel at a nonstandard address ... will
            // have to modify this field to point to the load address" (boot.rst, "code32_start").
            *(uint*)(bp + Code32StartOffset) = (uint)load;
            *(uint*)(bp + RamdiskImageOffset) = (uint)initrdStart;
            *(uint*)(bp + RamdiskSizeOffset) = (uint)initrdSize;
            *(uint*)(bp + ExtRamdiskImageOffset) = (uint)(initrdStart >> 32);
            *(uint*)(bp + ExtRamdiskSizeOffset) = (uint)(initrdSize >> 32);
            *(uint*)(bp + CmdLinePtrOffset) = (uint)CommandLineAddress;
            *(uint*)(bp + ExtCmdLinePtrOffset) = (uint)(CommandLineAddress >> 32);
            // The RSDP's address is boot_params.acpi_rsdp_addr (0x070) since Linux 5.0; the setup
            // header field of protocol 2.14 that first carried it was withdrawn ("BURNT BY
            // INCORRECT COMMIT ... DO NOT USE", boot.rst). Kernels that do not read it find the
            // RSDP by scanning 0xE0000-0xFFFFF, where it is anyway.
            *(ulong*)(bp + AcpiRsdpAddrOffset) = rsdpAddress;

            bp[E820EntriesOffset] = (byte)e820.Length;
            for (int i = 0; i < e820.Length; i++)
            {
                byte* entry = bp + E820TableOffset + i * E820Entry.Size;
                *(ulong*)entry = e820[i].Start;
                *(ulong*)(entry + 8) = e820[i].Length;
                *(uint*)(entry + 16) = (uint)e820[i].Type;
            }
        }

        private static void WriteCommandLine(byte* destination, string text)
        {
            ulong at = 0;
            for (int i = 0; i < text.Length; i++)
            {
                uint c = text[i];
                if (LinuxKernelHeader.IsSurrogatePair(text, i))
                {
                    c = 0x10000 + ((c - 0xD800) << 10) + (uint)(text[i + 1] - 0xDC00);
                    i++;
                }
                else if (c >= 0xD800 && c <= 0xDFFF)
                    c = 0xFFFD; // a lone surrogate: the replacement character, as .NET's encoder writes
                if (c < 0x80)
                    destination[at++] = (byte)c;
                else if (c < 0x800)
                {
                    destination[at++] = (byte)(0xC0 | c >> 6);
                    destination[at++] = (byte)(0x80 | c & 0x3F);
                }
                else if (c < 0x10000)
                {
                    destination[at++] = (byte)(0xE0 | c >> 12);
                    destination[at++] = (byte)(0x80 | c >> 6 & 0x3F);
                    destination[at++] = (byte)(0x80 | c & 0x3F);
                }
                else
                {
                    destination[at++] = (byte)(0xF0 | c >> 18);
                    destination[at++] = (byte)(0x80 | c >> 12 & 0x3F);
                    destination[at++] = (byte)(0x80 | c >> 6 & 0x3F);
                    destination[at++] = (byte)(0x80 | c & 0x3F);
                }
            }
            destination[at] = 0;
        }

        // "The range with setup_header.init_size from start address of loaded kernel and zero
        // page and command line buffer get ident mapping" (boot.rst): the first 4 GiB with 2 MiB
        // pages covers all of them, the initrd, and the low memory the decompressor reads.
        private static void WritePageTables(byte* ram)
        {
            Cpu.Zero(ram + PageTablesAddress, PageTablesSize);
            ulong* pml4 = (ulong*)(ram + PageTablesAddress);
            ulong* pdpt = (ulong*)(ram + PageTablesAddress + 0x1000);
            pml4[0] = (PageTablesAddress + 0x1000) | PagePresent | PageWritable;
            for (ulong d = 0; d < 4; d++)
            {
                ulong directory = PageTablesAddress + 0x2000 + d * 0x1000;
                pdpt[d] = directory | PagePresent | PageWritable;
                ulong* pd = (ulong*)(ram + directory);
                for (ulong i = 0; i < 512; i++)
                    pd[i] = (d << 30) | (i << 21) | PagePresent | PageWritable | PageSize2M;
            }
        }

        private const ulong PagePresent = 1UL << 0, PageWritable = 1UL << 1, PageSize2M = 1UL << 7;

        // "a GDT must be loaded with the descriptors for selectors __BOOT_CS(0x10) and
        // __BOOT_DS(0x18); both descriptors must be 4G flat segment" (boot.rst). The accessed bits
        // are set so that the CPU never writes the table and the VMCS access rights match it.
        private static void WriteGdt(byte* ram)
        {
            Cpu.Zero(ram + GdtAddress, PageSize);
            ulong* gdt = (ulong*)(ram + GdtAddress);
            gdt[BootCsSelector / 8] = BootCsDescriptor;
            gdt[BootDsSelector / 8] = BootDsDescriptor;
        }

        private static bool InUsableRam(ReadOnlySpan<E820Entry> e820, ulong start, ulong end)
        {
            for (int i = 0; i < e820.Length; i++)
                if (e820[i].Type == E820Type.Ram && e820[i].Contains(start, end))
                    return true;
            return false;
        }

        // Eight bytes at a time: an initrd is tens of MiB, and in an emulator every instruction counts.
        private static void Copy(byte* destination, byte* source, ulong bytes)
        {
            ulong words = bytes / 8;
            for (ulong i = 0; i < words; i++)
                ((ulong*)destination)[i] = ((ulong*)source)[i];
            for (ulong i = words * 8; i < bytes; i++)
                destination[i] = source[i];
        }

        private static ulong AlignUp(ulong value, ulong alignment) => (value + alignment - 1) & ~(alignment - 1);
    }
}
