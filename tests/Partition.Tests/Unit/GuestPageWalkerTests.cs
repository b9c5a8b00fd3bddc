using System;
using System.Runtime.InteropServices;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The guest page walker on page tables built by hand in 2 MiB of "guest RAM" (read through
    /// <see cref="GuestRam"/>, the hypervisor's own backing): every paging mode of SDM Vol. 3A,
    /// chapter 4, every page size, a missing entry at each level, reserved bits, tables outside
    /// RAM, and instruction fetches that cross a page boundary.
    /// </summary>
    public unsafe class GuestPageWalkerTests
    {
        private const ulong RamSize = 2UL << 20;
        private const ulong P = 1, RW = 2, PS = 1UL << 7, XD = 1UL << 63;
        private const ulong Cr0Pg = 1UL << 31 | 1, Cr4Pse = 1 << 4, Cr4Pae = 1 << 5, Cr4La57 = 1 << 12;
        private const ulong EferLme = 1 << 8, EferLma = 1 << 10, EferNxe = 1 << 11;
        private const ulong LongModeEfer = EferLme | EferLma;

        private byte* _ram;
        private GuestRam _memory;

        [SetUp]
        public void GiveRam()
        {
            _ram = (byte*)NativeMemory.AllocZeroed((nuint)RamSize);
            _memory = new GuestRam(_ram, RamSize);
        }

        [TearDown]
        public void Release() => NativeMemory.Free(_ram);

        private void Write64(ulong address, ulong value) => *(ulong*)(_ram + address) = value;
        private void Write32(ulong address, uint value) => *(uint*)(_ram + address) = value;

        private static GuestPaging LongMode(ulong cr3, int maxPhysicalAddress = 46, ulong efer = LongModeEfer, ulong cr4 = Cr4Pae) =>
            new(Cr0Pg, cr3, cr4, efer, maxPhysicalAddress);

        private GuestWalkStatus Translate(in GuestPaging paging, ulong linear, out ulong physical, out GuestPagingLevel level) =>
            GuestPageWalker.Translate(ref _memory, in paging, linear, out physical, out level);

        private static ulong Index(ulong linear, int level) => linear >> (12 + 9 * (level - 1)) & 0x1FF;

        // A 4-level hierarchy for one linear address: PML4 at 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000.
        private const ulong Linear = 0xFFFF_8123_4567_89ABUL;

        private void BuildLevel4(ulong linear, ulong pte)
        {
            Write64(0x1000 + Index(linear, 4) * 8, 0x2000 | P | RW);
            Write64(0x2000 + Index(linear, 3) * 8, 0x3000 | P | RW);
            Write64(0x3000 + Index(linear, 2) * 8, 0x4000 | P | RW);
            Write64(0x4000 + Index(linear, 1) * 8, pte);
        }

        [TestCase(0x12345UL, 0x12345UL, TestName = "Paging off: linear is physical")]
        [TestCase(0x1_0000_1234UL, 0x1234UL, TestName = "Paging off: 32-bit linear addresses")]
        public void Paging_off_translates_to_itself(ulong linear, ulong expected)
        {
            var paging = new GuestPaging(1, 0, 0, 0, 46);
            Assert.That(paging.Mode, Is.EqualTo(GuestPagingMode.Off));
            Assert.That(Translate(paging, linear, out ulong physical, out var level), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That((physical, level), Is.EqualTo((expected, GuestPagingLevel.None)));
        }

        [Test]
        public void Four_level_paging_maps_a_4KiB_page_and_the_result_may_be_mmio()
        {
            BuildLevel4(Linear, 0xFEC0_0000 | P | RW | XD);
            var paging = LongMode(0x1000, efer: LongModeEfer | EferNxe);
            Assert.That(paging.Mode, Is.EqualTo(GuestPagingMode.Level4));
            Assert.That(Translate(paging, Linear, out ulong physical, out var level), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That(physical, Is.EqualTo(0xFEC0_09ABUL), "outside RAM, and still a translation: MMIO");
            Assert.That(level, Is.EqualTo(GuestPagingLevel.PageTable));
        }

        [Test]
        public void Four_level_paging_maps_2MiB_and_1GiB_pages()
        {
            Write64(0x1000 + Index(Linear, 4) * 8, 0x2000 | P);
            Write64(0x2000 + Index(Linear, 3) * 8, 0x3000 | P);
            Write64(0x3000 + Index(Linear, 2) * 8, 0x4060_0000 | PS | P | 1UL << 12); // bit 12 is PAT in a large page
            var paging = LongMode(0x1000);
            Assert.That(Translate(paging, Linear, out ulong physical, out var level), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That((physical, level), Is.EqualTo((0x4060_0000UL + (Linear & 0x1F_FFFF), GuestPagingLevel.PageDirectory)));

            Write64(0x2000 + Index(Linear, 3) * 8, 0x1_4000_0000 | PS | P);
            Assert.That(Translate(paging, Linear, out physical, out level), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That((physical, level), Is.EqualTo((0x1_4000_0000UL + (Linear & 0x3FFF_FFFF), GuestPagingLevel.PageDirectoryPointerTable)));
        }

        [TestCase(4, TestName = "Not present: PML4E")]
        [TestCase(3, TestName = "Not present: PDPTE")]
        [TestCase(2, TestName = "Not present: PDE")]
        [TestCase(1, TestName = "Not present: PTE")]
        public void A_missing_entry_is_reported_with_its_level(int missing)
        {
            BuildLevel4(Linear, 0x5000 | P);
            ulong table = 0x1000UL * (ulong)(5 - missing);
            ulong entry = table + Index(Linear, missing) * 8;
            Write64(entry, *(ulong*)(_ram + entry) & ~P);
            Assert.That(Translate(LongMode(0x1000), Linear, out _, out var level), Is.EqualTo(GuestWalkStatus.NotPresent));
            Assert.That(level, Is.EqualTo((GuestPagingLevel)missing));
        }

        [TestCase(4, PS, TestName = "Reserved: PS in a PML4E")]
        [TestCase(3, 1UL << 46, TestName = "Reserved: bit 46 of a PDPTE with MAXPHYADDR 46")]
        [TestCase(2, 1UL << 51, TestName = "Reserved: bit 51 of a PDE")]
        [TestCase(1, XD, TestName = "Reserved: XD of a PTE without EFER.NXE")]
        public void A_reserved_bit_is_reported_with_its_level(int level, ulong bit)
        {
            BuildLevel4(Linear, 0x5000 | P);
            ulong entry = 0x1000UL * (ulong)(5 - level) + Index(Linear, level) * 8;
            Write64(entry, *(ulong*)(_ram + entry) | bit);
            Assert.That(Translate(LongMode(0x1000), Linear, out _, out var at), Is.EqualTo(GuestWalkStatus.ReservedBit));
            Assert.That(at, Is.EqualTo((GuestPagingLevel)level));
        }

        [Test]
        public void Bits_of_a_large_page_below_its_base_are_reserved_but_the_ignored_high_bits_are_not()
        {
            Write64(0x1000 + Index(Linear, 4) * 8, 0x2000 | P | 0x7FFUL << 52); // bits 62:52 are ignored in IA-32e entries
            Write64(0x2000 + Index(Linear, 3) * 8, 0x3000 | P);
            Write64(0x3000 + Index(Linear, 2) * 8, 0x4060_0000 | PS | P | 1UL << 13);
            Assert.That(Translate(LongMode(0x1000), Linear, out _, out var level), Is.EqualTo(GuestWalkStatus.ReservedBit));
            Assert.That(level, Is.EqualTo(GuestPagingLevel.PageDirectory));

            Write64(0x2000 + Index(Linear, 3) * 8, 0x4000_0000 | PS | P | 1UL << 29);
            Assert.That(Translate(LongMode(0x1000), Linear, out _, out level), Is.EqualTo(GuestWalkStatus.ReservedBit));
            Assert.That(level, Is.EqualTo(GuestPagingLevel.PageDirectoryPointerTable));
        }

        [Test]
        public void XD_is_allowed_with_EFER_NXE()
        {
            BuildLevel4(Linear, 0x5000 | P | XD);
            Assert.That(Translate(LongMode(0x1000, efer: LongModeEfer | EferNxe), Linear, out ulong physical, out _), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That(physical, Is.EqualTo(0x59ABUL));
        }

        [Test]
        public void A_table_outside_guest_RAM_is_reported()
        {
            Write64(0x1000 + Index(Linear, 4) * 8, 0x4000_0000 | P);
            Assert.That(Translate(LongMode(0x1000), Linear, out _, out var level), Is.EqualTo(GuestWalkStatus.OutsideGuestMemory));
            Assert.That(level, Is.EqualTo(GuestPagingLevel.PageDirectoryPointerTable), "the table that could not be read");
            Assert.That(Translate(LongMode(0x4000_0000), Linear, out _, out level), Is.EqualTo(GuestWalkStatus.OutsideGuestMemory));
            Assert.That(level, Is.EqualTo(GuestPagingLevel.Pml4));
        }

        [TestCase(0x0000_8000_0000_0000UL, TestName = "Non-canonical: bit 47 set, 63:48 clear")]
        [TestCase(0xFFFF_7FFF_FFFF_F000UL, TestName = "Non-canonical: bit 47 clear, 63:48 set")]
        public void A_non_canonical_address_is_reported(ulong linear)
        {
            Assert.That(Translate(LongMode(0x1000), linear, out _, out var level), Is.EqualTo(GuestWalkStatus.NonCanonical));
            Assert.That(level, Is.EqualTo(GuestPagingLevel.None));
        }

        [Test]
        public void CR3_flags_and_PCID_bits_are_not_part_of_the_table_address()
        {
            BuildLevel4(Linear, 0x5000 | P);
            Assert.That(Translate(LongMode(0x1000 | 0x18 | 0xABC), Linear, out ulong physical, out _), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That(physical, Is.EqualTo(0x59ABUL));
        }

        [Test]
        public void Five_level_paging_walks_one_more_table_and_widens_canonical_addresses()
        {
            const ulong linear = 0x00AB_CDEF_1234_5678UL; // canonical only with 57 bits
            Assert.That(Translate(LongMode(0x1000), linear, out _, out _), Is.EqualTo(GuestWalkStatus.NonCanonical));

            Write64(0x6000 + Index(linear, 5) * 8, 0x1000 | P);
            BuildLevel4(linear, 0x7000 | P);
            var paging = LongMode(0x6000, cr4: Cr4Pae | Cr4La57);
            Assert.That(paging.Mode, Is.EqualTo(GuestPagingMode.Level5));
            Assert.That(Translate(paging, linear, out ulong physical, out var level), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That((physical, level), Is.EqualTo((0x7678UL, GuestPagingLevel.PageTable)));

            Write64(0x6000 + Index(linear, 5) * 8, 0x1000 | P | PS);
            Assert.That(Translate(paging, linear, out _, out level), Is.EqualTo(GuestWalkStatus.ReservedBit));
            Assert.That(level, Is.EqualTo(GuestPagingLevel.Pml5));
            Write64(0x6000 + Index(linear, 5) * 8, 0);
            Assert.That(Translate(paging, linear, out _, out level), Is.EqualTo(GuestWalkStatus.NotPresent));
            Assert.That(level, Is.EqualTo(GuestPagingLevel.Pml5));
        }

        // PAE: the PDPT is 32 bytes at CR3[31:5] (here 0x1020), PD at 0x3000, PT at 0x4000.
        private const uint PaeLinear = 0xBFC1_2345; // PDPTE 2, PDE 0x1FE, PTE 0x12

        private static GuestPaging Pae(ulong cr3, bool nxe = false) =>
            new(Cr0Pg, cr3, Cr4Pae, nxe ? EferNxe : 0, 36);

        private void BuildPae(ulong pde, ulong pte)
        {
            Write64(0x1020 + 2 * 8, 0x3000 | P);
            Write64(0x3000 + 0x1FE * 8, pde);
            Write64(0x4000 + 0x12 * 8, pte);
        }

        [Test]
        public void PAE_paging_maps_4KiB_and_2MiB_pages()
        {
            BuildPae(0x4000 | P | RW, 0xF_FEC0_0000 | P);
            var paging = Pae(0x1020);
            Assert.That(paging.Mode, Is.EqualTo(GuestPagingMode.Pae));
            Assert.That(Translate(paging, PaeLinear, out ulong physical, out var level), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That((physical, level), Is.EqualTo((0xF_FEC0_0345UL, GuestPagingLevel.PageTable)));

            BuildPae(0x8_0060_0000 | PS | P, 0);
            Assert.That(Translate(paging, PaeLinear, out physical, out level), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That((physical, level), Is.EqualTo((0x8_0060_0000UL + (PaeLinear & 0x1F_FFFF), GuestPagingLevel.PageDirectory)));
        }

        [TestCase(3, RW, TestName = "PAE reserved: RW of a PDPTE (bits 2:1 are reserved there)")]
        [TestCase(3, 1UL << 63, TestName = "PAE reserved: bit 63 of a PDPTE, even with NXE")]
        [TestCase(2, 1UL << 36, TestName = "PAE reserved: bit 36 of a PDE with MAXPHYADDR 36")]
        [TestCase(1, 1UL << 62, TestName = "PAE reserved: bit 62 of a PTE (62:M, unlike IA-32e)")]
        public void PAE_reserved_bits(int level, ulong bit)
        {
            BuildPae(0x4000 | P, 0x5000 | P);
            ulong entry = level == 3 ? 0x1020UL + 2 * 8 : level == 2 ? 0x3000UL + 0x1FE * 8 : 0x4000UL + 0x12 * 8;
            Write64(entry, *(ulong*)(_ram + entry) | bit);
            Assert.That(Translate(Pae(0x1020, nxe: true), PaeLinear, out _, out var at), Is.EqualTo(GuestWalkStatus.ReservedBit));
            Assert.That(at, Is.EqualTo((GuestPagingLevel)level));
        }

        [Test]
        public void PAE_not_present_at_each_level()
        {
            BuildPae(0x4000 | P, 0x5000);
            Assert.That(Translate(Pae(0x1020), PaeLinear, out _, out var level), Is.EqualTo(GuestWalkStatus.NotPresent));
            Assert.That(level, Is.EqualTo(GuestPagingLevel.PageTable));
            Write64(0x3000 + 0x1FE * 8, 0x4000);
            Assert.That(Translate(Pae(0x1020), PaeLinear, out _, out level), Is.EqualTo(GuestWalkStatus.NotPresent));
            Assert.That(level, Is.EqualTo(GuestPagingLevel.PageDirectory));
            Assert.That(Translate(Pae(0x1020), 0x1234, out _, out level), Is.EqualTo(GuestWalkStatus.NotPresent), "PDPTE 0 is empty");
            Assert.That(level, Is.EqualTo(GuestPagingLevel.PageDirectoryPointerTable));
        }

        [Test]
        public void PAE_uses_the_PDPTEs_from_the_VMCS_when_given()
        {
            BuildPae(0x4000 | P, 0x5000 | P);
            Write64(0x1020 + 2 * 8, 0);   // the guest changed memory without reloading CR3
            var paging = Pae(0x1020);
            Assert.That(Translate(paging, PaeLinear, out _, out _), Is.EqualTo(GuestWalkStatus.NotPresent));
            var loaded = paging.WithPdptes(0, 0, 0x3000 | P, 0);
            Assert.That(Translate(loaded, PaeLinear, out ulong physical, out _), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That(physical, Is.EqualTo(0x5345UL));
        }

        // 32-bit paging: the page directory at 0x1000, a page table at 0x2000.
        private static GuestPaging Paging32(bool pse, int maxPhysicalAddress = 40) =>
            new(Cr0Pg, 0x1000, pse ? Cr4Pse : 0, 0, maxPhysicalAddress);

        [Test]
        public void Bit32_paging_maps_a_4KiB_page()
        {
            const uint linear = 0xFEC0_0ABC; // PDE 0x3FB, PTE 0
            Write32(0x1000 + 0x3FB * 4, 0x2000 | (uint)(P | RW));
            Write32(0x2000, 0xFEC0_0000 | (uint)P);
            Assert.That(Paging32(false).Mode, Is.EqualTo(GuestPagingMode.Bit32));
            Assert.That(Translate(Paging32(false), linear, out ulong physical, out var level), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That((physical, level), Is.EqualTo((0xFEC0_0ABCUL, GuestPagingLevel.PageTable)));

            Write32(0x2000, 0xFEC0_0000);
            Assert.That(Translate(Paging32(false), linear, out _, out level), Is.EqualTo(GuestWalkStatus.NotPresent));
            Assert.That(level, Is.EqualTo(GuestPagingLevel.PageTable));
            Write32(0x1000 + 0x3FB * 4, 0x2000);
            Assert.That(Translate(Paging32(false), linear, out _, out level), Is.EqualTo(GuestWalkStatus.NotPresent));
            Assert.That(level, Is.EqualTo(GuestPagingLevel.PageDirectory));
        }

        [Test]
        public void Bit32_paging_with_PSE_maps_4MiB_pages_above_4GiB_with_PSE36()
        {
            const uint linear = 0x0076_5432; // PDE 1
            Write32(0x1000 + 4, 0xFEC0_0000 | 0x5u << 13 | (uint)(PS | P));
            Assert.That(Translate(Paging32(true), linear, out ulong physical, out var level), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That((physical, level), Is.EqualTo((0x5_FEF6_5432UL, GuestPagingLevel.PageDirectory)));

            // With MAXPHYADDR 36, PDE bits 21:17 are reserved.
            Write32(0x1000 + 4, 0xFEC0_0000 | 1u << 17 | (uint)(PS | P));
            Assert.That(Translate(Paging32(true, 36), linear, out _, out level), Is.EqualTo(GuestWalkStatus.ReservedBit));
            Assert.That(level, Is.EqualTo(GuestPagingLevel.PageDirectory));
            Assert.That(Translate(Paging32(true, 40), linear, out _, out _), Is.EqualTo(GuestWalkStatus.Ok), "but not with 40");
        }

        [Test]
        public void Bit32_paging_without_PSE_ignores_the_PS_bit()
        {
            const uint linear = 0x0040_1ABC; // PDE 1, PTE 1
            Write32(0x1000 + 4, 0x2000 | (uint)(PS | P));
            Write32(0x2000 + 4, 0x9000 | (uint)P);
            Assert.That(Translate(Paging32(false), linear, out ulong physical, out var level), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That((physical, level), Is.EqualTo((0x9ABCUL, GuestPagingLevel.PageTable)));
        }

        [Test]
        public void A_fetch_crossing_into_a_page_mapped_elsewhere_reads_both_parts()
        {
            // The last 3 bytes of one page (physical 0x8000) and the first 12 of the next (physical 0x5000).
            const ulong linear = 0x7000_0FFDUL;
            BuildLevel4(linear, 0x8000 | P);
            BuildLevel4(linear + 3, 0x5000 | P);
            for (int i = 0; i < 3; i++)
                _ram[0x8FFD + i] = (byte)(0xA0 + i);
            for (int i = 0; i < 12; i++)
                _ram[0x5000 + i] = (byte)(0xB0 + i);
            Span<byte> code = stackalloc byte[MmioDecoder.MaxInstructionLength];
            var paging = LongMode(0x1000);
            Assert.That(GuestPageWalker.Fetch(ref _memory, in paging, linear, code, out int fetched), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That(fetched, Is.EqualTo(15));
            Assert.That(code.ToArray(), Is.EqualTo(new byte[] { 0xA0, 0xA1, 0xA2, 0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7, 0xB8, 0xB9, 0xBA, 0xBB }));
        }

        [Test]
        public void A_fetch_stops_at_an_unmapped_next_page_with_what_it_has()
        {
            const ulong linear = 0x7000_0FFDUL;
            BuildLevel4(linear, 0x8000 | P);
            // 89 08 = mov [rax], ecx: complete in the first page; the next one is not present.
            _ram[0x8FFE] = 0x89;
            _ram[0x8FFF] = 0x08;
            Span<byte> code = stackalloc byte[MmioDecoder.MaxInstructionLength];
            var paging = LongMode(0x1000);
            Assert.That(GuestPageWalker.Fetch(ref _memory, in paging, linear + 1, code, out int fetched), Is.EqualTo(GuestWalkStatus.NotPresent));
            Assert.That(fetched, Is.EqualTo(2));
            Assert.That(MmioDecoder.TryDecode(code.Slice(0, fetched), InstructionMode.Bits64, out var m, out _), Is.True,
                "the instruction did not need the next page");
            Assert.That((m.Length, m.Kind, m.Register), Is.EqualTo((2, MmioAccessKind.Write, 1)));

            // One byte short: the decoder says so.
            Assert.That(GuestPageWalker.Fetch(ref _memory, in paging, linear + 2, code, out fetched), Is.EqualTo(GuestWalkStatus.NotPresent));
            Assert.That(MmioDecoder.TryDecode(code.Slice(0, fetched), InstructionMode.Bits64, out _, out var error), Is.False);
            Assert.That(error, Is.EqualTo(MmioDecodeError.Truncated));
        }

        [Test]
        public void A_fetch_from_an_unmapped_page_or_outside_RAM_fails_at_once()
        {
            Span<byte> code = stackalloc byte[MmioDecoder.MaxInstructionLength];
            var paging = LongMode(0x1000);
            Assert.That(GuestPageWalker.Fetch(ref _memory, in paging, Linear, code, out int fetched), Is.EqualTo(GuestWalkStatus.NotPresent));
            Assert.That(fetched, Is.Zero);

            BuildLevel4(Linear, 0xFEC0_0000 | P);
            Assert.That(GuestPageWalker.Fetch(ref _memory, in paging, Linear, code, out fetched), Is.EqualTo(GuestWalkStatus.OutsideGuestMemory));
            Assert.That(fetched, Is.Zero);
        }

        [Test]
        public void A_fetch_with_paging_off_reads_RAM_directly()
        {
            _ram[0xFFFF0] = 0xEA;
            var paging = new GuestPaging(0, 0, 0, 0, 36);
            ulong linear = GuestPageWalker.InstructionLinearAddress(0xF0000, 0xFFF0, InstructionMode.Bits16);
            Span<byte> code = stackalloc byte[1];
            Assert.That(GuestPageWalker.Fetch(ref _memory, in paging, linear, code, out int fetched), Is.EqualTo(GuestWalkStatus.Ok));
            Assert.That((fetched, code[0]), Is.EqualTo((1, (byte)0xEA)));
        }

        [TestCase(0x1000UL, 0x7FFF_FFFF_F000UL, InstructionMode.Bits64, 0x7FFF_FFFF_F000UL, TestName = "64-bit mode ignores the CS base")]
        [TestCase(0x1000UL, 0x234UL, InstructionMode.Bits32, 0x1234UL, TestName = "32-bit mode adds the CS base")]
        [TestCase(0xFFFF_F000UL, 0x2000UL, InstructionMode.Bits32, 0x1000UL, TestName = "and wraps at 4 GiB")]
        [TestCase(0xF0000UL, 0xFFF0UL, InstructionMode.Bits16, 0xFFFF0UL, TestName = "real mode: CS * 16 + IP")]
        public void The_instruction_address_is_CS_base_plus_RIP(ulong csBase, ulong rip, InstructionMode mode, ulong expected) =>
            Assert.That(GuestPageWalker.InstructionLinearAddress(csBase, rip, mode), Is.EqualTo(expected));

        [Test]
        public void GuestRam_refuses_reads_that_leave_it()
        {
            Assert.That(_memory.TryRead64(RamSize - 8, out _), Is.True);
            Assert.That(_memory.TryRead64(RamSize - 4, out _), Is.False);
            Assert.That(_memory.TryRead64(ulong.MaxValue - 3, out _), Is.False);
            Span<byte> two = stackalloc byte[2];
            Assert.That(_memory.TryRead(RamSize - 2, two), Is.True);
            Assert.That(_memory.TryRead(RamSize - 1, two), Is.False);
        }
    }
}
