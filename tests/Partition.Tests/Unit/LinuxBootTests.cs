using System;
using System.Runtime.InteropServices;
using System.Text;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The Linux 64-bit boot protocol loader on a synthetic bzImage: every boot_params field at
    /// its zero-page offset, the page tables walked, the GDT decoded, the e820 table, the command
    /// line and the initrd's placement.
    /// </summary>
    public unsafe class LinuxBootTests
    {
        private const ulong Ram = 64UL << 20;
        private const ulong Rsdp = 0xF0000;
        private byte* _ram;
        private byte* _initrd;
        private const ulong InitrdSize = 0x123457; // not a page multiple, on purpose

        [SetUp]
        public void GiveMemory()
        {
            _ram = (byte*)NativeMemory.AllocZeroed((nuint)Ram);
            _initrd = (byte*)NativeMemory.Alloc((nuint)InitrdSize);
            for (ulong i = 0; i < InitrdSize; i++)
                _initrd[i] = (byte)(i * 13 + 1);
        }

        [TearDown]
        public void Release()
        {
            NativeMemory.Free(_ram);
            NativeMemory.Free(_initrd);
        }

        private static E820Entry[] GuestMap(ulong ram)
        {
            var map = new E820Entry[LinuxBoot.GuestMemoryMapEntries];
            int count = LinuxBoot.GuestMemoryMap(ram, map);
            return map.AsSpan(0, count).ToArray();
        }

        private bool Load(byte[] kernel, string cmdline, out LinuxBootState state, out string error, ulong ram = Ram, bool withInitrd = true, E820Entry[] map = null) =>
            LinuxBoot.TryLoad(kernel, withInitrd ? _initrd : null, withInitrd ? InitrdSize : 0, cmdline, _ram, ram, map ?? GuestMap(ram), Rsdp, out state, out error);

        private byte U8(ulong at) => _ram[at];
        private ushort U16(ulong at) => *(ushort*)(_ram + at);
        private uint U32(ulong at) => *(uint*)(_ram + at);
        private ulong U64(ulong at) => *(ulong*)(_ram + at);
        private ulong Bp(int offset) => LinuxBoot.BootParamsAddress + (ulong)offset;

        private string CString(ulong at)
        {
            int length = 0;
            while (_ram[at + (ulong)length] != 0)
                length++;
            return Encoding.UTF8.GetString(_ram + at, length);
        }

        [Test]
        public void TheKernelGoesToPrefAddressAndStartsAtItsSixtyFourBitEntry()
        {
            var bz = new SyntheticBzImage();
            Assert.That(Load(bz.Build(), "console=ttyS0", out var s, out string error), Is.True, error);
            Assert.That(new Span<byte>(_ram + bz.PrefAddress, bz.Payload.Length).ToArray(), Is.EqualTo(bz.Payload), "the protected-mode code, not the setup");
            Assert.That(U8(bz.PrefAddress - 1), Is.Zero, "nothing before it");
            Assert.That(U8(bz.PrefAddress + (ulong)bz.Payload.Length), Is.Zero, "nothing after it");
            Assert.That(s.Rip, Is.EqualTo(0x1000200UL), "load address + 0x200 (startup_64)");
            Assert.That(s.Rsi, Is.EqualTo(LinuxBoot.BootParamsAddress));
            Assert.That(s.Kernel.Start, Is.EqualTo(0x1000000UL));
            Assert.That(s.Kernel.End, Is.EqualTo(0x1000000UL + bz.InitSize), "init_size is reserved from the load address");
        }

        [Test]
        public void TheCpuStateIsSixtyFourBitModeWithInterruptsOff()
        {
            Assert.That(Load(new SyntheticBzImage().Build(), "", out var s, out string error), Is.True, error);
            Assert.That(s.Cr0, Is.EqualTo(0x80000031UL), "PG, NE, ET, PE");
            Assert.That(s.Cr4, Is.EqualTo(0x20UL), "PAE");
            Assert.That(s.Efer, Is.EqualTo(0x500UL), "LMA, LME");
            Assert.That(s.Rflags, Is.EqualTo(0x2UL), "IF clear");
            Assert.That(s.Cr3, Is.EqualTo(LinuxBoot.PageTablesAddress));
            Assert.That(s.CodeSelector, Is.EqualTo((ushort)0x10), "__BOOT_CS");
            Assert.That(s.DataSelector, Is.EqualTo((ushort)0x18), "__BOOT_DS");
            Assert.That(s.GdtBase, Is.EqualTo(LinuxBoot.GdtAddress));
            Assert.That(s.GdtLimit, Is.EqualTo((ushort)0x1F));
        }

        [Test]
        public void BootParamsHoldsTheSetupHeaderAndTheLoadersFields()
        {
            var bz = new SyntheticBzImage();
            byte[] image = bz.Build();
            Assert.That(Load(image, "console=ttyS0 rdinit=/init", out var s, out string error), Is.True, error);
            ulong bp = LinuxBoot.BootParamsAddress;

            // The fields the loader writes, at their zero-page offsets (zero-page.rst, boot.rst).
            Assert.That(U8(Bp(0x210)), Is.EqualTo(0xFF), "type_of_loader: undefined");
            Assert.That(U8(Bp(0x211)) & 0x01, Is.EqualTo(0x01), "loadflags: LOADED_HIGH");
            Assert.That(U8(Bp(0x211)) & 0x80, Is.Zero, "loadflags: CAN_USE_HEAP is for the real-mode setup only");
            Assert.That(U32(Bp(0x214)), Is.EqualTo(0x1000000u), "code32_start: the load address");
            Assert.That(U32(Bp(0x218)), Is.EqualTo((uint)s.Initrd.Start), "ramdisk_image");
            Assert.That(U32(Bp(0x21C)), Is.EqualTo((uint)InitrdSize), "ramdisk_size");
            Assert.That(U32(Bp(0x0C0)), Is.Zero, "ext_ramdisk_image: below 4 GiB");
            Assert.That(U32(Bp(0x0C4)), Is.Zero, "ext_ramdisk_size");
            Assert.That(U32(Bp(0x228)), Is.EqualTo((uint)LinuxBoot.CommandLineAddress), "cmd_line_ptr");
            Assert.That(U32(Bp(0x0C8)), Is.Zero, "ext_cmd_line_ptr");
            Assert.That(U64(Bp(0x070)), Is.EqualTo(Rsdp), "acpi_rsdp_addr");
            Assert.That(U8(Bp(0x1E8)), Is.EqualTo(4), "e820_entries");
            Assert.That(U8(Bp(0x1EF)), Is.Zero, "sentinel: only the header was copied");

            // The rest of the setup header is the image's, byte for byte, up to 0x202 + image[0x201].
            var written = new[] { 0x210, 0x211, 0x214, 0x215, 0x216, 0x217, 0x218, 0x219, 0x21A, 0x21B, 0x21C, 0x21D, 0x21E, 0x21F, 0x228, 0x229, 0x22A, 0x22B };
            for (int i = 0x1F1; i < 0x26C; i++)
                if (Array.IndexOf(written, i) < 0)
                    Assert.That(U8(bp + (ulong)i), Is.EqualTo(image[i]), $"setup header byte 0x{i:X}");
            Assert.That(U16(Bp(0x206)), Is.EqualTo((ushort)0x020F), "version, from the image");
            Assert.That(U16(Bp(0x1FA)), Is.EqualTo((ushort)0xFFFF), "vid_mode, from the image");

            // Nothing else is non-zero: not the image's bytes after the header, not screen_info.
            for (int i = 0; i < 4096; i++)
            {
                bool header = i >= 0x1F1 && i < 0x26C;
                bool e820 = i >= 0x2D0 && i < 0x2D0 + 4 * 20;
                bool known = i == 0x1E8 || (i >= 0x070 && i < 0x078);
                if (!header && !e820 && !known)
                    Assert.That(U8(bp + (ulong)i), Is.Zero, $"boot_params byte 0x{i:X}");
            }
            Assert.That(U8(Bp(0x00F)), Is.Zero, "screen_info.orig_video_isVGA: no VGA");
            Assert.That(U8(Bp(0x007)) | U8(Bp(0x00E)), Is.Zero, "orig_video_cols and _lines 0: the decompressor and vgacon leave the screen alone");
        }

        [Test]
        public void TheE820TableIsTheCallersMap()
        {
            Assert.That(Load(new SyntheticBzImage().Build(), "", out _, out string error), Is.True, error);
            var expected = new (ulong, ulong, uint)[]
            {
                (0, 0x9FC00, 1),
                (0x9FC00, 0x400, 2),
                (0xE0000, 0x20000, 2),
                (0x100000, Ram - 0x100000, 1),
            };
            for (int i = 0; i < expected.Length; i++)
            {
                ulong entry = Bp(0x2D0 + i * 20);
                Assert.That((U64(entry), U64(entry + 8), U32(entry + 16)), Is.EqualTo(expected[i]), $"e820_table[{i}]");
            }
            Assert.That(U64(Bp(0x2D0 + 4 * 20)), Is.Zero, "no fifth entry");
        }

        [Test]
        public void TheCommandLineIsNulTerminatedUtf8InLowMemory()
        {
            Assert.That(Load(new SyntheticBzImage().Build(), "console=ttyS0 name=café", out var s, out string error), Is.True, error);
            Assert.That(CString(LinuxBoot.CommandLineAddress), Is.EqualTo("console=ttyS0 name=café"));
            Assert.That(s.CommandLine.Start, Is.EqualTo(LinuxBoot.CommandLineAddress));
            Assert.That(s.CommandLine.Length, Is.EqualTo((ulong)Encoding.UTF8.GetByteCount("console=ttyS0 name=café") + 1));
            Assert.That(s.CommandLine.End, Is.LessThanOrEqualTo(0xA0000UL), "boot.rst: between the setup heap and 0xA0000");
        }

        [Test]
        public void AnEmptyCommandLineIsStillPointedTo()
        {
            Assert.That(Load(new SyntheticBzImage().Build(), null, out _, out string error), Is.True, error);
            Assert.That(U32(Bp(0x228)), Is.EqualTo((uint)LinuxBoot.CommandLineAddress), "boot.rst: a zero cmd_line_ptr means a pre-2.02 loader");
            Assert.That(U8(LinuxBoot.CommandLineAddress), Is.Zero);
        }

        [Test]
        public void TheInitrdGoesHighPageAlignedAboveTheKernel()
        {
            var bz = new SyntheticBzImage();
            Assert.That(Load(bz.Build(), "", out var s, out string error), Is.True, error);
            ulong start = s.Initrd.Start;
            Assert.That(start % 4096, Is.Zero, "page aligned");
            Assert.That(start, Is.EqualTo((Ram - InitrdSize) & ~0xFFFUL), "as high as it goes: the end of RAM");
            Assert.That(start, Is.GreaterThanOrEqualTo(s.Kernel.End), "above the kernel's init_size");
            Assert.That(s.Initrd.Length, Is.EqualTo(InitrdSize));
            Assert.That(new Span<byte>(_ram + start, (int)InitrdSize).SequenceEqual(new ReadOnlySpan<byte>(_initrd, (int)InitrdSize)), Is.True);
        }

        [Test]
        public void TheInitrdStaysBelowInitrdAddrMax()
        {
            var bz = new SyntheticBzImage { InitrdAddrMax = 0x2FFFFFF }; // its last byte may be at 48 MiB - 1
            Assert.That(Load(bz.Build(), "", out var s, out string error), Is.True, error);
            Assert.That(s.Initrd.End, Is.LessThanOrEqualTo(0x3000000UL));
            Assert.That(s.Initrd.Start, Is.EqualTo((0x3000000UL - InitrdSize) & ~0xFFFUL));
        }

        [Test]
        public void WithoutAnInitrdTheRamdiskFieldsAreZero()
        {
            Assert.That(Load(new SyntheticBzImage().Build(), "", out var s, out string error, withInitrd: false), Is.True, error);
            Assert.That(U32(Bp(0x218)) | U32(Bp(0x21C)), Is.Zero);
            Assert.That(s.Initrd.Length, Is.Zero);
            Assert.That(s.Overlapping(0, ulong.MaxValue), Is.EqualTo("kernel"), "an empty initrd overlaps nothing");
        }

        [Test]
        public void ThePageTablesIdentityMapTheFirstFourGiB()
        {
            Assert.That(Load(new SyntheticBzImage().Build(), "", out var s, out string error), Is.True, error);
            foreach (ulong address in new ulong[] { 0, LinuxBoot.BootParamsAddress, LinuxBoot.CommandLineAddress + 5, 0x1000200, s.Initrd.Start, Ram - 1, 0xFEE00000, 0xFFFFFFFF })
                Assert.That(Translate(s.Cr3, address), Is.EqualTo(address), $"0x{address:X}");
            Assert.That(Translate(s.Cr3, 0x100000000), Is.EqualTo(ulong.MaxValue), "4 GiB and above: not present");
            Assert.That(s.PageTables.Start, Is.EqualTo(LinuxBoot.PageTablesAddress));
            Assert.That(s.PageTables.Length, Is.EqualTo(6UL * 4096));
        }

        // A 4-level walk (SDM Vol. 3A, 4.5): PML4E, PDPTE, then a 2 MiB PDE; ulong.MaxValue if not present.
        private ulong Translate(ulong cr3, ulong linear)
        {
            ulong pml4e = U64((cr3 & ~0xFFFUL) + (linear >> 39 & 511) * 8);
            if ((pml4e & 1) == 0) return ulong.MaxValue;
            Assert.That(pml4e & 2, Is.EqualTo(2UL), "writable");
            ulong pdpte = U64((pml4e & 0xFFFFFFFFFF000UL) + (linear >> 30 & 511) * 8);
            if ((pdpte & 1) == 0) return ulong.MaxValue;
            Assert.That(pdpte & 0x80, Is.Zero, "a page directory, not a 1 GiB page");
            ulong pde = U64((pdpte & 0xFFFFFFFFFF000UL) + (linear >> 21 & 511) * 8);
            if ((pde & 1) == 0) return ulong.MaxValue;
            Assert.That(pde & 0x83, Is.EqualTo(0x83UL), "present, writable, 2 MiB page");
            return (pde & 0xFFFFFFFE00000UL) | (linear & 0x1FFFFF);
        }

        [Test]
        public void TheGdtHasFlatBootCsAndBootDs()
        {
            Assert.That(Load(new SyntheticBzImage().Build(), "", out var s, out string error), Is.True, error);
            Assert.That(U64(s.GdtBase), Is.Zero, "null descriptor");
            Assert.That(U64(s.GdtBase + 8), Is.Zero);
            ulong cs = U64(s.GdtBase + s.CodeSelector);
            ulong ds = U64(s.GdtBase + s.DataSelector);
            Assert.That(cs, Is.EqualTo(s.CodeDescriptor));
            Assert.That(ds, Is.EqualTo(s.DataDescriptor));
            // SDM Vol. 3A, 3.4.5: base 0, limit 0xFFFFF in 4 KiB units (4 GiB), present, DPL 0, S=1.
            foreach (ulong d in new[] { cs, ds })
            {
                Assert.That(Base(d), Is.Zero);
                Assert.That(Limit(d), Is.EqualTo(0xFFFFFu));
                Assert.That(d >> 55 & 1, Is.EqualTo(1UL), "G");
                Assert.That(d >> 47 & 1, Is.EqualTo(1UL), "P");
                Assert.That(d >> 45 & 3, Is.Zero, "DPL 0");
                Assert.That(d >> 44 & 1, Is.EqualTo(1UL), "code or data");
            }
            Assert.That(cs >> 40 & 0xF, Is.EqualTo(0xBUL), "execute/read, accessed");
            Assert.That(cs >> 53 & 1, Is.EqualTo(1UL), "L: 64-bit code");
            Assert.That(cs >> 54 & 1, Is.Zero, "D must be 0 with L");
            Assert.That(ds >> 40 & 0xF, Is.EqualTo(0x3UL), "read/write, accessed");
            Assert.That(ds >> 54 & 1, Is.EqualTo(1UL), "B: 32-bit");
            Assert.That(s.Gdt.Start, Is.EqualTo(LinuxBoot.GdtAddress));
        }

        private static ulong Base(ulong d) => (d >> 16 & 0xFFFFFF) | (d >> 56 & 0xFF) << 24;
        private static uint Limit(ulong d) => (uint)(d & 0xFFFF) | (uint)(d >> 48 & 0xF) << 16;

        [Test]
        public void NothingOverlapsAnotherOrTheAcpiAreaOrTheDecompressorsTrampoline()
        {
            Assert.That(Load(new SyntheticBzImage().Build(), "console=ttyS0", out var s, out string error), Is.True, error);
            Assert.That(s.Overlapping(LinuxBoot.AcpiAreaStart, LinuxBoot.AcpiAreaEnd), Is.Null);
            Assert.That(s.Overlapping(0x9D000, 0xA0000), Is.Null, "pgtable_64.c's trampoline below 0x9F000, and the EBDA");
            Assert.That(s.Overlapping(0, 0x1000), Is.Null, "the BIOS data area the decompressor reads");
            var ranges = new[] { s.Kernel, s.Initrd, s.BootParams, s.CommandLine, s.PageTables, s.Gdt };
            for (int i = 0; i < ranges.Length; i++)
                for (int j = i + 1; j < ranges.Length; j++)
                    Assert.That(ranges[i].Start < ranges[j].End && ranges[j].Start < ranges[i].End, Is.False, $"ranges {i} and {j}");
            Assert.That(s.Overlapping(0x2000, 0x2001), Is.EqualTo("boot_params"));
            Assert.That(s.Overlapping(0x1000, 0x1001), Is.EqualTo("GDT"));
        }

        [Test]
        public void AFixedKernelLoadsAtPrefAddressAndARelocatableOneAlignsItUp()
        {
            var fixedKernel = new SyntheticBzImage { Relocatable = false, PrefAddress = 0x1100000 };
            Assert.That(Load(fixedKernel.Build(), "", out var s, out string error), Is.True, error);
            Assert.That(s.Kernel.Start, Is.EqualTo(0x1100000UL));
            Assert.That(s.Rip, Is.EqualTo(0x1100200UL));

            NativeMemory.Clear(_ram, (nuint)Ram);
            var relocatable = new SyntheticBzImage { PrefAddress = 0x1100000 };
            Assert.That(Load(relocatable.Build(), "", out s, out error), Is.True, error);
            Assert.That(s.Kernel.Start, Is.EqualTo(0x1200000UL), "aligned up to kernel_alignment (2 MiB)");
            Assert.That(U32(Bp(0x214)), Is.EqualTo(0x1200000u), "code32_start follows");
        }

        [Test]
        public void RefusesAKernelThatDoesNotFit()
        {
            var bz = new SyntheticBzImage { InitSize = 0x4000000 };
            Assert.That(Load(bz.Build(), "", out _, out string error), Is.False);
            Assert.That(error, Is.EqualTo("the kernel does not fit: it needs 0x4000000 bytes (init_size) from 0x1000000 (pref_address), up to 0x5000000, but the partition has 64 MiB of RAM"));
        }

        [Test]
        public void RefusesAnInitrdThatDoesNotFit()
        {
            var bz = new SyntheticBzImage { InitSize = 0x2F00000 }; // the kernel takes 16 MiB to 63 MiB
            Assert.That(Load(bz.Build(), "", out _, out string error), Is.False);
            Assert.That(error, Is.EqualTo("the initrd (1193047 B) does not fit in usable RAM between the end of the kernel's memory (0x3F00000) and 0x4000000 "
                + "(the lower of the end of RAM, initrd_addr_max + 1 and 4 GiB); give the partition more memory"));
        }

        [Test]
        public void RefusesTheSameCommandLineAsTheHeaderCheck()
        {
            var bz = new SyntheticBzImage { CmdlineSize = 8 };
            Assert.That(Load(bz.Build(), "console=ttyS0", out _, out string error), Is.False);
            Assert.That(error, Is.EqualTo("the command line is 13 bytes, longer than the 8 the kernel accepts (its cmdline_size)"));
            Assert.That(Load(bz.Build(), "a\0b", out _, out error), Is.False);
            Assert.That(error, Does.StartWith("the command line contains a NUL character at offset 1"));
        }

        [Test]
        public void RefusesWhatIsNotABzImageWithTheHeadersWords()
        {
            Assert.That(Load(new SyntheticBzImage { XLoadFlags = 0 }.Build(), "", out _, out string error), Is.False);
            Assert.That(error, Is.EqualTo("the kernel has no 64-bit entry (xloadflags bit 0, XLF_KERNEL_64, is clear)"));
        }

        [Test]
        public void RefusesAMapWhoseLowMemoryIsNotRam()
        {
            var map = new[] { new E820Entry(0, 0xA0000, E820Type.Reserved), new E820Entry(0x100000, Ram - 0x100000, E820Type.Ram) };
            Assert.That(Load(new SyntheticBzImage().Build(), "", out _, out string error, map: map), Is.False);
            Assert.That(error, Is.EqualTo("the loader needs 0x1000-0x9D000 to be RAM in the partition and usable (type 1) in its e820 map, for the GDT, boot_params, page tables and command line"));
        }

        [Test]
        public void RefusesAMapWhereAFixedKernelsMemoryIsReserved()
        {
            var map = new[]
            {
                new E820Entry(0, 0x9FC00, E820Type.Ram),
                new E820Entry(0x100000, 0x1000000, E820Type.Ram),
                new E820Entry(0x1100000, 0x100000, E820Type.Reserved),
                new E820Entry(0x1200000, Ram - 0x1200000, E820Type.Ram),
            };
            Assert.That(Load(new SyntheticBzImage { Relocatable = false }.Build(), "", out _, out string error, map: map), Is.False);
            Assert.That(error, Is.EqualTo("the kernel's memory 0x1000000-0x1800000 (pref_address + init_size) is not all usable RAM (type 1) in the e820 map, and the kernel is not relocatable"));
        }

        [Test]
        public void PlacesARelocatableKernelAtTheFirstAlignedPlaceAbovePrefAddressWhereItFits()
        {
            // A host partition's RAM: what lies at pref_address (16 MiB) may be the hypervisor's.
            var map = new[]
            {
                new E820Entry(0, 0x9FC00, E820Type.Ram),
                new E820Entry(0x100000, 0x1000000, E820Type.Ram),
                new E820Entry(0x1100000, 0x100000, E820Type.Reserved),
                new E820Entry(0x1200000, 0x300000, E820Type.Ram),      // too small for init_size (8 MiB)
                new E820Entry(0x1500000, 0x100000, E820Type.Reserved),
                new E820Entry(0x1600000, Ram - 0x1600000, E820Type.Ram),
            };
            Assert.That(Load(new SyntheticBzImage().Build(), "", out var state, out string error, map: map), Is.True, error);
            Assert.That(state.Kernel.Start, Is.EqualTo(0x1600000UL), "0x1600000 is on the 2 MiB kernel_alignment and starts 8 MiB of RAM");
            Assert.That(state.Rip, Is.EqualTo(0x1600000UL + 0x200));
            Assert.That(U32(Bp(LinuxBoot.Code32StartOffset)), Is.EqualTo(0x1600000u), "code32_start names the load address");
        }

        [Test]
        public void RefusesARelocatableKernelWithNoPlaceBigEnoughAbovePrefAddress()
        {
            var map = new[]
            {
                new E820Entry(0, 0x9FC00, E820Type.Ram),
                new E820Entry(0x100000, 0x1000000, E820Type.Ram),
                new E820Entry(0x1100000, 0x100000, E820Type.Reserved),
                new E820Entry(0x1200000, Ram - 0x1200000, E820Type.Ram),
            };
            Assert.That(Load(new SyntheticBzImage { InitSize = (uint)Ram }.Build(), "", out _, out string error, map: map, withInitrd: false), Is.False);
            Assert.That(error, Does.StartWith("the kernel does not fit"));
        }

        [Test]
        public void ARelocatableKernelAlignsUpInsideARangeThatStartsOffTheAlignmentAndSkipsItWhenItNoLongerFits()
        {
            var map = new[]
            {
                new E820Entry(0, 0x9FC00, E820Type.Ram),
                new E820Entry(0x100000, 0x1000000, E820Type.Reserved),        // the hypervisor's, pref_address (16 MiB) too
                new E820Entry(0x1100000, 0x800000, E820Type.Ram),             // 8 MiB, but only 7 from its first 2 MiB boundary
                new E820Entry(0x1900000, 0x200000, E820Type.Reserved),
                new E820Entry(0x1B00000, Ram - 0x1B00000, E820Type.Ram),      // aligned up: 0x1C00000
            };
            // init_size is 8 MiB; 0x1100000 is not on the 2 MiB kernel_alignment, 0x1200000 is, but 0x1200000 + 8 MiB > 0x1900000.
            Assert.That(Load(new SyntheticBzImage().Build(), "", out var state, out string error, map: map), Is.True, error);
            Assert.That(state.Kernel.Start, Is.EqualTo(0x1C00000UL), "the first 2 MiB boundary of the next RAM range");
            Assert.That(state.Kernel.End, Is.EqualTo(0x1C00000UL + 0x800000), "init_size from there");
            Assert.That(state.Initrd.Start, Is.GreaterThanOrEqualTo(state.Kernel.End), "the initrd stays out of the kernel's area where it went");

            map[2] = new E820Entry(0x1100000, 0x900000, E820Type.Ram);        // up to 0x1A00000: 8 MiB fit from 0x1200000
            map[3] = new E820Entry(0x1A00000, 0x100000, E820Type.Reserved);
            NativeMemory.Clear(_ram, (nuint)Ram);
            Assert.That(Load(new SyntheticBzImage().Build(), "", out state, out error, map: map), Is.True, error);
            Assert.That(state.Kernel.Start, Is.EqualTo(0x1200000UL));
        }

        [Test]
        public void ARelocatableKernelTakesTheLowestPlaceWhateverTheOrderOfTheMap()
        {
            var map = new[]
            {
                new E820Entry(0x2000000, Ram - 0x2000000, E820Type.Ram),
                new E820Entry(0x1800000, 0x800000, E820Type.Ram),             // exactly init_size, from a 2 MiB boundary
                new E820Entry(0, 0x9FC00, E820Type.Ram),
                new E820Entry(0x100000, 0x1700000, E820Type.Reserved),
            };
            Assert.That(Load(new SyntheticBzImage().Build(), "", out var state, out string error, map: map), Is.True, error);
            Assert.That(state.Kernel.Start, Is.EqualTo(0x1800000UL));
        }

        [Test]
        public void ARelocatableKernelNeverGoesBelowPrefAddressEvenWhereThereIsRoom()
        {
            // head_64.S never runs below LOAD_PHYSICAL_ADDR: 15 MiB of free RAM under pref_address do not help.
            var map = new[]
            {
                new E820Entry(0, 0x9FC00, E820Type.Ram),
                new E820Entry(0x100000, 0xF00000, E820Type.Ram),
                new E820Entry(0x1000000, Ram - 0x1000000, E820Type.Reserved),
            };
            Assert.That(Load(new SyntheticBzImage().Build(), "", out _, out string error, map: map, withInitrd: false), Is.False);
            Assert.That(error, Is.EqualTo("the kernel needs 0x800000 bytes (init_size) of usable RAM (type 1 in the e820 map) in one piece at or above 0x1000000 (pref_address), below 4 GiB, and the partition has none"));
        }

        [Test]
        public void ARelocatableKernelIsNotPlacedInE820RamBeyondThePartitionsRam()
        {
            // The map claims RAM up to 128 MiB, the partition has 64 MiB; the only room above
            // pref_address in the map is past its end. A larger buffer, so that a wrong placement
            // would show as an answer, not as a write outside the test's memory.
            const ulong buffer = 128UL << 20;
            byte* ram = (byte*)NativeMemory.AllocZeroed((nuint)buffer);
            try
            {
                var map = new[]
                {
                    new E820Entry(0, 0x9FC00, E820Type.Ram),
                    new E820Entry(0x100000, 0x3F00000, E820Type.Reserved),
                    new E820Entry(0x4000000, 0x4000000, E820Type.Ram),
                };
                bool loaded = LinuxBoot.TryLoad(new SyntheticBzImage().Build(), null, 0, "", ram, Ram, map, Rsdp, out var state, out string error);
                Assert.That(loaded, Is.False, $"placed at 0x{state.Kernel.Start:X}");
                Assert.That(error, Does.StartWith("the kernel needs 0x800000 bytes (init_size) of usable RAM"));
            }
            finally
            {
                NativeMemory.Free(ram);
            }
        }

        [Test]
        public void AFixedKernelStaysAtPrefAddressEvenWhenTheMapHasRoomElsewhere()
        {
            var map = new[]
            {
                new E820Entry(0, 0x9FC00, E820Type.Ram),
                new E820Entry(0x100000, 0xF00000, E820Type.Ram),
                new E820Entry(0x1000000, 0x1000, E820Type.Reserved),          // one page at pref_address
                new E820Entry(0x1001000, Ram - 0x1001000, E820Type.Ram),
            };
            Assert.That(Load(new SyntheticBzImage { Relocatable = false }.Build(), "", out _, out string error, map: map), Is.False);
            Assert.That(error, Does.Contain("is not all usable RAM (type 1) in the e820 map, and the kernel is not relocatable"));
        }

        [TestCase(129)]
        [TestCase(1)]
        [TestCase(0)]
        public void RefusesAnE820MapBootParamsCannotHoldOrLinuxWouldIgnore(int entries)
        {
            var map = new E820Entry[entries];
            if (entries > 0)
                map[0] = new E820Entry(0, Ram, E820Type.Ram);
            Assert.That(Load(new SyntheticBzImage().Build(), "", out _, out string error, map: map), Is.False);
            Assert.That(error, Is.EqualTo($"the e820 map has {entries} entries; boot_params holds at most 128, and Linux ignores a map of fewer than 2"));
        }

        [Test]
        public void TheGuestMemoryMapIsAPcsMap()
        {
            var map = GuestMap(256UL << 20);
            Assert.That(map.Length, Is.EqualTo(4));
            Assert.That(Describe(map), Is.EqualTo(new[]
            {
                "0x0-0x9FC00 Ram",
                "0x9FC00-0xA0000 Reserved",
                "0xE0000-0x100000 Reserved",
                "0x100000-0x10000000 Ram",
            }));
            Assert.That(Describe(GuestMap(0x80000)), Is.EqualTo(new[] { "0x0-0x80000 Ram" }), "cut at the end of a tiny RAM");
            Assert.That(Describe(GuestMap(0x100000)), Is.EqualTo(new[] { "0x0-0x9FC00 Ram", "0x9FC00-0xA0000 Reserved", "0xE0000-0x100000 Reserved" }));
        }

        private static string[] Describe(E820Entry[] map) =>
            Array.ConvertAll(map, e => $"0x{e.Start:X}-0x{e.End:X} {e.Type}");
    }
}
