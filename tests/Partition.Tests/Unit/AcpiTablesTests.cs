using System;
using System.Buffers.Binary;
using System.Linq;
using System.Runtime.InteropServices;
using NUnit.Framework;
using Partition.Kernel;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The tables a partition's OS reads, parsed back field by field at the offsets ACPI 6.4
    /// gives: RSDP 5.2.5.3, header 5.2.6, XSDT 5.2.8, FADT 5.2.9 (Table 5.9), MADT 5.2.12.
    /// </summary>
    public class AcpiTablesTests
    {
        private static ushort U16(byte[] b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at));
        private static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));
        private static ulong U64(byte[] b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(at));

        private static AcpiImage Image(int vcpus = 2, ushort uart = 0x3F8) => new AcpiImage(AcpiPlatform.Create(vcpus, uart));

        [Test]
        public void RsdpRevision2PointsAtTheXsdtWithBothChecksums()
        {
            var image = Image();
            byte[] rsdp = image.RsdpBytes;
            Assert.That(AcpiImage.Ascii(rsdp, 0, 8), Is.EqualTo("RSD PTR "));
            Assert.That(AcpiImage.Sum(rsdp.AsSpan(0, 20)), Is.EqualTo(0), "checksum over the ACPI 1.0 part (offset 8)");
            Assert.That(AcpiImage.Sum(rsdp), Is.EqualTo(0), "extended checksum over all 36 bytes (offset 32)");
            Assert.That(AcpiImage.Ascii(rsdp, 9, 6), Is.EqualTo("PARTN "));
            Assert.That(rsdp[15], Is.EqualTo(2), "revision");
            Assert.That(U32(rsdp, 16), Is.EqualTo(0), "no RSDT");
            Assert.That(U32(rsdp, 20), Is.EqualTo(36), "length");
            Assert.That(AcpiImage.Signature(image.TableAt(U64(rsdp, 24))), Is.EqualTo("XSDT"));
            Assert.That(rsdp[33] | rsdp[34] | rsdp[35], Is.EqualTo(0), "reserved");
            Assert.That(image.Rsdp, Is.EqualTo(0xE0000), "first in an aligned area");
        }

        [TestCase(1)]
        [TestCase(2)]
        [TestCase(8)]
        [TestCase(300)]
        public void EveryTableHasItsHeaderAndSumsToZero(int vcpus)
        {
            var image = Image(vcpus);
            foreach (var (table, signature, revision) in new[]
                     {
                         (image.Xsdt, "XSDT", 1), (image.Fadt, "FACP", 6), (image.Madt, "APIC", 5), (image.Dsdt, "DSDT", 2),
                     })
            {
                Assert.That(AcpiImage.Signature(table), Is.EqualTo(signature));
                Assert.That(U32(table, 4), Is.EqualTo(table.Length), signature + " length");
                Assert.That(table[8], Is.EqualTo(revision), signature + " revision");
                Assert.That(AcpiImage.Sum(table), Is.EqualTo(0), signature + " checksum");
                Assert.That(AcpiImage.Ascii(table, 10, 6), Is.EqualTo("PARTN "), signature + " OEM ID");
                Assert.That(AcpiImage.Ascii(table, 16, 8), Is.EqualTo("PARTITIO"), signature + " OEM table ID");
                Assert.That(U32(table, 24), Is.EqualTo(1), signature + " OEM revision");
                Assert.That(AcpiImage.Ascii(table, 28, 4), Is.EqualTo("PTHV"), signature + " creator ID");
            }
        }

        [Test]
        public void TablesAre16ByteAlignedAndDoNotOverlap()
        {
            var image = Image(300);
            ulong rsdp = image.Rsdp;
            ulong xsdt = U64(image.RsdpBytes, 24);
            ulong fadt = U64(image.Xsdt, 36);
            ulong madt = U64(image.Xsdt, 44);
            ulong dsdt = U64(image.Fadt, 140);
            Assert.That(new[] { rsdp, xsdt, fadt, madt, dsdt }.All(a => a % 16 == 0), Is.True);
            Assert.That(xsdt, Is.GreaterThanOrEqualTo(rsdp + 36));
            Assert.That(fadt, Is.GreaterThanOrEqualTo(xsdt + (ulong)image.Xsdt.Length));
            Assert.That(madt, Is.GreaterThanOrEqualTo(fadt + 276));
            Assert.That(dsdt, Is.GreaterThanOrEqualTo(madt + (ulong)image.Madt.Length));
            Assert.That(dsdt + (ulong)image.Dsdt.Length, Is.EqualTo(image.Base + (ulong)image.Used), "Build returns the end of the DSDT");
        }

        [Test]
        public void XsdtListsTheFadtAndTheMadtOnly()
        {
            var image = Image();
            Assert.That(image.Xsdt.Length, Is.EqualTo(36 + 2 * 8));
            Assert.That(image.Tables.Keys, Is.EquivalentTo(new[] { "FACP", "APIC" }), "the DSDT is reached through the FADT");
        }

        [Test]
        public void FadtIsHardwareReducedWithSleepAndResetRegisters()
        {
            var image = Image();
            byte[] fadt = image.Fadt;
            Assert.That(fadt.Length, Is.EqualTo(276));
            Assert.That(fadt[131], Is.EqualTo(4), "FADT minor version: ACPI 6.4");

            uint flags = U32(fadt, 112);
            Assert.That(flags & (1u << 20), Is.Not.Zero, "HW_REDUCED_ACPI");
            Assert.That(flags & (1u << 10), Is.Not.Zero, "RESET_REG_SUP");
            Assert.That(flags & ((1u << 4) | (1u << 5)), Is.EqualTo((1u << 4) | (1u << 5)), "no fixed-feature power or sleep button");
            Assert.That(flags, Is.EqualTo(0x00101531u), "WBINVD, PWR_BUTTON, SLP_BUTTON, TMR_VAL_EXT, RESET_REG_SUP, HEADLESS, HW_REDUCED_ACPI");

            ushort boot = U16(fadt, 109);
            Assert.That(boot & 1, Is.Zero, "no LEGACY_DEVICES");
            Assert.That(boot & 2, Is.Zero, "no 8042");
            Assert.That(boot & (1 << 2), Is.Not.Zero, "VGA not present");
            Assert.That(boot & (1 << 3), Is.Not.Zero, "MSI not supported");
            Assert.That(boot & (1 << 5), Is.Not.Zero, "CMOS RTC not present");
            Assert.That(boot, Is.EqualTo(0x2C));

            Assert.That(U32(fadt, 36), Is.Zero, "FIRMWARE_CTRL: no FACS");
            Assert.That(U64(fadt, 132), Is.Zero, "X_FIRMWARE_CTRL: no FACS");
            ulong dsdt = U64(fadt, 140);
            Assert.That(AcpiImage.Signature(image.TableAt(dsdt)), Is.EqualTo("DSDT"), "X_DSDT");
            Assert.That(U32(fadt, 40), Is.EqualTo((uint)dsdt), "the 32-bit DSDT agrees");
            Assert.That(U16(fadt, 46), Is.Zero, "SCI_INT");
            Assert.That(U32(fadt, 48), Is.Zero, "SMI_CMD");
            Assert.That(fadt.AsSpan(56, 20).ToArray().All(b => b == 0), Is.True, "PM1a/b event and control, PM2 control blocks (56-75)");
            Assert.That(fadt.AsSpan(80, 11).ToArray().All(b => b == 0), Is.True, "GPE blocks, PM1/PM2 lengths (80-90)");
            Assert.That(fadt.AsSpan(92, 4).ToArray().All(b => b == 0), Is.True, "GPE lengths and base (92-95)");
            Assert.That(fadt.AsSpan(148, 60).ToArray().All(b => b == 0), Is.True, "the X_ GAS forms of PM1 and PM2 (148-207)");
            Assert.That(fadt.AsSpan(220, 24).ToArray().All(b => b == 0), Is.True, "the X_ GAS forms of the GPE blocks (220-243)");
            // The PM timer, for those that read it on a hardware-reduced FADT (memtest86+, Linux's acpi_parse_fadt).
            Assert.That(U32(fadt, 76), Is.EqualTo(0x608u), "PM_TMR_BLK");
            Assert.That(fadt[91], Is.EqualTo(4), "PM_TMR_LEN");
            Assert.That(fadt[208..212], Is.EqualTo(new byte[] { 1, 32, 0, 3 }), "X_PM_TMR_BLK: System I/O, 32 bits, DWORD access");
            Assert.That(U64(fadt, 212), Is.EqualTo(0x608));

            // GAS (5.2.3.2): space ID, bit width, bit offset, access size, address.
            Assert.That(fadt[116..120], Is.EqualTo(new byte[] { 1, 8, 0, 1 }), "RESET_REG: System I/O, 8 bits, byte access");
            Assert.That(U64(fadt, 120), Is.EqualTo(0x604));
            Assert.That(fadt[128], Is.EqualTo(1), "RESET_VALUE");
            Assert.That(fadt[244..248], Is.EqualTo(new byte[] { 1, 8, 0, 1 }), "SLEEP_CONTROL_REG");
            Assert.That(U64(fadt, 248), Is.EqualTo(0x600));
            Assert.That(fadt[256..260], Is.EqualTo(new byte[] { 1, 8, 0, 1 }), "SLEEP_STATUS_REG");
            Assert.That(U64(fadt, 260), Is.EqualTo(0x601));
            Assert.That(AcpiImage.Ascii(fadt, 268, 8), Is.EqualTo("PARTN HV"), "hypervisor vendor identity");
        }

        [Test]
        public void WithoutAPmTimerItsFieldsStayZero()
        {
            var platform = AcpiPlatform.Create(2, 0x3F8);
            platform.PmTimerPort = 0;
            byte[] fadt = new AcpiImage(platform).Fadt;
            Assert.That(U32(fadt, 112), Is.EqualTo(0x00101431u), "no TMR_VAL_EXT");
            Assert.That(fadt.AsSpan(56, 40).ToArray().All(b => b == 0), Is.True, "PM1/PM2/PM timer/GPE blocks and lengths (56-95)");
            Assert.That(fadt.AsSpan(148, 96).ToArray().All(b => b == 0), Is.True, "their X_ GAS forms (148-243)");
        }

        /// <summary>
        /// memtest86+ 6.10's parse_fadt (system/acpi.c) and correct_tsc (system/timers.c), on
        /// the bytes: PM_TMR_BLK at 76, then, the FADT being longer than 208 bytes, the I/O space
        /// flag from X_PM_TMR_BLK's space ID and its address if non-zero.
        /// </summary>
        [Test]
        public void MemtestFindsThePmTimerInIoSpace()
        {
            byte[] fadt = Image().Fadt;
            ulong address = U32(fadt, 76);
            bool isIo = true;
            if (fadt.Length > 208)
            {
                isIo = fadt[208] == 1;
                if (U64(fadt, 212) != 0)
                    address = U64(fadt, 212);
            }
            Assert.That(isIo, Is.True);
            Assert.That(address, Is.EqualTo((ulong)AcpiPlatform.DefaultPmTimerPort));
        }

        [Test]
        public void PortsComeFromThePlatform()
        {
            var platform = AcpiPlatform.Create(1, 0x2F8);
            platform.SleepControlPort = 0x3C0;
            platform.SleepStatusPort = 0x3C0;
            platform.ResetPort = 0x3C4;
            platform.ResetValue = 0xFE;
            platform.SoftOffSleepType = 7;
            platform.PmTimerPort = 0xB008;
            var image = new AcpiImage(platform);
            Assert.That(U32(image.Fadt, 76), Is.EqualTo(0xB008u));
            Assert.That(U64(image.Fadt, 212), Is.EqualTo(0xB008));
            Assert.That(U64(image.Fadt, 248), Is.EqualTo(0x3C0));
            Assert.That(U64(image.Fadt, 260), Is.EqualTo(0x3C0), "one port for control and status is allowed");
            Assert.That(U64(image.Fadt, 120), Is.EqualTo(0x3C4));
            Assert.That(image.Fadt[128], Is.EqualTo(0xFE));
            Assert.That(Convert.ToHexString(image.Dsdt), Does.Contain("4701F802F8020108"), "IO (Decode16, 0x2F8, 0x2F8, 1, 8)");
            Assert.That(Convert.ToHexString(image.Dsdt), Does.Contain("085C5F53355F1208040A070A070000"), "\\_S5 with SLP_TYP 7");
        }

        [TestCase(1)]
        [TestCase(2)]
        [TestCase(8)]
        [TestCase(254)]
        [TestCase(255)]
        [TestCase(256)]
        [TestCase(300)]
        public void MadtListsEveryVcpuThenTheIoApic(int vcpus)
        {
            var image = Image(vcpus);
            byte[] madt = image.Madt;
            Assert.That(U32(madt, 36), Is.EqualTo(0xFEE00000u), "local APIC address");
            Assert.That(U32(madt, 40), Is.Zero, "flags: PCAT_COMPAT clear");

            var entries = image.MadtEntries();
            int local = Math.Min(vcpus, 255);
            Assert.That(entries.Count, Is.EqualTo(vcpus + 1));
            for (int i = 0; i < vcpus; i++)
            {
                var (type, bytes) = entries[i];
                if (i < 255)
                {
                    // Processor Local APIC (5.2.12.2): UID, APIC ID, flags (bit 0 enabled).
                    Assert.That(type, Is.EqualTo(0), "vCPU " + i);
                    Assert.That(bytes.Length, Is.EqualTo(8));
                    Assert.That(bytes[2], Is.EqualTo(i), "processor UID");
                    Assert.That(bytes[3], Is.EqualTo(i), "APIC ID");
                    Assert.That(U32(bytes, 4), Is.EqualTo(1), "enabled");
                }
                else
                {
                    // Processor Local x2APIC (5.2.12.12): reserved, x2APIC ID, flags, UID.
                    Assert.That(type, Is.EqualTo(9), "vCPU " + i);
                    Assert.That(bytes.Length, Is.EqualTo(16));
                    Assert.That(U16(bytes, 2), Is.Zero, "reserved");
                    Assert.That(U32(bytes, 4), Is.EqualTo(i), "x2APIC ID");
                    Assert.That(U32(bytes, 8), Is.EqualTo(1), "enabled");
                    Assert.That(U32(bytes, 12), Is.EqualTo(i), "processor UID");
                }
            }
            Assert.That(entries.Count(e => e.Type == 0), Is.EqualTo(local));
            Assert.That(entries.Count(e => e.Type == 9), Is.EqualTo(vcpus - local));

            // I/O APIC (5.2.12.3): ID, reserved, address, GSI base; no overrides (type 2).
            var (ioType, io) = entries[^1];
            Assert.That(ioType, Is.EqualTo(1));
            Assert.That(io.Length, Is.EqualTo(12));
            Assert.That(io[2], Is.EqualTo(Math.Min(vcpus, 255)), "I/O APIC ID: the vCPU count");
            Assert.That(io[3], Is.Zero);
            Assert.That(U32(io, 4), Is.EqualTo(0xFEC00000u));
            Assert.That(U32(io, 8), Is.Zero, "GSI base");
            Assert.That(entries.Any(e => e.Type == 2), Is.False, "no interrupt source overrides");
        }

        [TestCase(1, 1)]
        [TestCase(8, 8)]
        [TestCase(254, 254)]
        [TestCase(255, 255)]
        [TestCase(300, 255)]
        public void IoApicIdIsTheFirstIdNoLocalApicHas(int vcpus, int id)
        {
            Assert.That(AcpiPlatform.Create(vcpus, 0).IoApicId, Is.EqualTo(id));
        }

        /// <summary>The hypervisor's own MADT reader (kernel/Boot/Acpi.cs) finds every vCPU in tables the guest gets.</summary>
        [TestCase(1)]
        [TestCase(2)]
        [TestCase(8)]
        [TestCase(300)]
        public unsafe void TheHypervisorsOwnMadtReaderFindsEveryVcpu(int vcpus)
        {
            const int size = 0x20000;
            byte* area = (byte*)NativeMemory.AlignedAlloc(size, 16);
            try
            {
                // Guest-physical = host address: the reader follows the pointers as they are.
                var platform = AcpiPlatform.Create(vcpus, 0x3F8);
                int used = AcpiTables.Build(new Span<byte>(area, size), (ulong)area, in platform, out ulong rsdp);
                Assert.That(used, Is.GreaterThan(0));
                uint[] ids = new uint[vcpus + 1];
                fixed (uint* output = ids)
                    Assert.That(Acpi.FindProcessors((byte*)rsdp, output, ids.Length), Is.EqualTo(vcpus));
                Assert.That(ids[..vcpus], Is.EqualTo(Enumerable.Range(0, vcpus).Select(i => (uint)i).ToArray()));
            }
            finally
            {
                NativeMemory.AlignedFree(area);
            }
        }

        [Test]
        public void DsdtDeclaresTheUartAndS5()
        {
            string hex = Convert.ToHexString(Image().Dsdt);
            Assert.That(hex, Does.Contain(Convert.ToHexString("COM1"u8)));
            Assert.That(hex, Does.Contain("085F4849440C41D00501"), "Name (_HID, EisaId (\"PNP0501\"))");
            Assert.That(hex, Does.Contain("085F55494401"), "Name (_UID, One)");
            Assert.That(hex, Does.Contain("14095F53544100A40A0F"), "Method (_STA) { Return (0x0F) }");
            Assert.That(hex, Does.Contain("085F4352531110" + "0A0D4701F803F8030108221000" + "7900"), "_CRS: IO 0x3F8 x 8, IRQNoFlags {4}, End Tag");
            Assert.That(hex, Does.EndWith("085C5F53355F1208040A050A050000"), "Name (\\_S5, Package (4) { 5, 5, 0, 0 })");
        }

        [Test]
        public void WithoutAUartTheDsdtHasOnlyS5()
        {
            byte[] dsdt = Image(uart: 0).Dsdt;
            Assert.That(Convert.ToHexString(dsdt, 36, dsdt.Length - 36), Is.EqualTo("085C5F53355F1208040A050A050000"));
        }

        [Test]
        public void WithoutAnIoApicTheUartIsPolledAndTheMadtHasNoIoApic()
        {
            var platform = AcpiPlatform.Create(4, 0x3F8);
            platform.HasIoApic = false;
            var image = new AcpiImage(platform);
            Assert.That(image.MadtEntries().Any(e => e.Type == 1), Is.False);
            Assert.That(image.MadtEntries().Count, Is.EqualTo(4));
            string hex = Convert.ToHexString(image.Dsdt);
            Assert.That(hex, Does.Contain("085F435253110D0A0A4701F803F80301087900"), "_CRS: only the I/O ports and the End Tag");
        }

        [TestCase(1)]
        [TestCase(300)]
        public void RequiredSizeIsWhatBuildUses(int vcpus)
        {
            var platform = AcpiPlatform.Create(vcpus, 0x3F8);
            foreach (ulong address in new ulong[] { 0xE0000, 0xE0008, 0x9F001, 0x100000000 })
            {
                int required = AcpiTables.RequiredSize(address, in platform);
                int used = AcpiTables.Build(new byte[0x20000], address, in platform, out _);
                Assert.That(used, Is.EqualTo(required), "at 0x" + address.ToString("X"));
            }
        }

        [Test]
        public void AnAreaTooSmallIsRefusedWithoutWritingBeyondIt()
        {
            var platform = AcpiPlatform.Create(8, 0x3F8);
            int required = AcpiTables.RequiredSize(0xE0000, in platform);
            var buffer = new byte[required + 64];
            for (int size = 0; size < required; size++)
            {
                Array.Fill(buffer, (byte)0xA5);
                int result = AcpiTables.Build(buffer.AsSpan(0, size), 0xE0000, in platform, out ulong rsdp);
                Assert.That(result, Is.EqualTo(AcpiTables.AreaTooSmall), "size " + size);
                Assert.That(rsdp, Is.Zero);
                Assert.That(buffer.Skip(size).All(b => b == 0xA5), Is.True, "nothing written past " + size);
            }
            Assert.That(AcpiTables.Build(buffer.AsSpan(0, required), 0xE0000, in platform, out _), Is.EqualTo(required));
        }

        [Test]
        public void WhateverWasInTheAreaBeforeDoesNotShowThrough()
        {
            var platform = AcpiPlatform.Create(2, 0x3F8);
            var clean = new byte[4096];
            var dirty = Enumerable.Repeat((byte)0xCC, 4096).ToArray();
            int used = AcpiTables.Build(clean, 0xE0000, in platform, out _);
            Assert.That(AcpiTables.Build(dirty, 0xE0000, in platform, out _), Is.EqualTo(used));
            Assert.That(dirty[..used], Is.EqualTo(clean[..used]));
        }

        [Test]
        public void InvalidPlatformsAreRefusedWithAReason()
        {
            void Refused(string what, Action<AcpiPlatform[]> change)
            {
                var platforms = new[] { AcpiPlatform.Create(2, 0x3F8) };
                change(platforms);
                Assert.That(AcpiTables.Check(in platforms[0]), Is.Not.Null, what);
                Assert.That(AcpiTables.Build(new byte[0x20000], 0xE0000, in platforms[0], out _), Is.EqualTo(AcpiTables.InvalidPlatform), what);
                Assert.That(AcpiTables.RequiredSize(0xE0000, in platforms[0]), Is.EqualTo(AcpiTables.InvalidPlatform), what);
            }

            Assert.That(AcpiTables.Check(AcpiPlatform.Create(2, 0x3F8)), Is.Null);
            Refused("no vCPU", p => p[0].VcpuCount = 0);
            Refused("negative vCPUs", p => p[0].VcpuCount = -1);
            Refused("SLP_TYP beyond three bits", p => p[0].SoftOffSleepType = 8);
            Refused("no sleep control port", p => p[0].SleepControlPort = 0);
            Refused("no reset port", p => p[0].ResetPort = 0);
            Refused("sleep port inside the UART", p => p[0].SleepStatusPort = 0x3FD);
            Refused("I/O APIC at 0", p => p[0].IoApicAddress = 0);
            Refused("I/O APIC unaligned", p => p[0].IoApicAddress = 0xFEC00010);
            Refused("UART past 0xFFFF", p => p[0].UartPort = 0xFFFC);
            Refused("PM timer past 0xFFFF", p => p[0].PmTimerPort = 0xFFFD);
            Refused("reset port inside the PM timer", p => p[0].ResetPort = 0x60B);
            Refused("PM timer overlapping the UART", p => p[0].PmTimerPort = 0x3F6);
            Refused("PM timer inside the UART", p => p[0].PmTimerPort = 0x3FC);
        }

        [Test]
        public void AnUnalignedAreaStartsTheRsdpOnThe16ByteBoundary()
        {
            var image = new AcpiImage(AcpiPlatform.Create(2, 0x3F8), areaGuestPhysical: 0xE0003);
            Assert.That(image.Rsdp, Is.EqualTo(0xE0010));
            Assert.That(AcpiImage.Ascii(image.RsdpBytes, 0, 8), Is.EqualTo("RSD PTR "));
        }

        /// <summary>
        /// What an OS without boot_params.acpi_rsdp_addr does (ACPI 6.4, 5.2.5.1; ACPICA's
        /// acpi_find_root_pointer): scan 0xE0000-0xFFFFF on 16-byte boundaries for the
        /// signature with a valid checksum (and extended checksum for revision 2).
        /// </summary>
        [Test]
        public void ALegacyScanOfTheBiosAreaFindsTheRsdp()
        {
            var image = Image(8);
            ulong found = 0;
            for (int offset = 0; offset + 36 <= image.Area.Length; offset += 16)
            {
                var candidate = image.Area.AsSpan(offset, 36);
                if (AcpiImage.Ascii(image.Area, offset, 8) == "RSD PTR " && AcpiImage.Sum(candidate[..20]) == 0 &&
                    (candidate[15] < 2 || AcpiImage.Sum(candidate) == 0))
                {
                    found = 0xE0000 + (ulong)offset;
                    break;
                }
            }
            Assert.That(found, Is.EqualTo(image.Rsdp));
            Assert.That(AcpiTables.FoundByLegacyScan(image.Rsdp), Is.True);
            Assert.That(AcpiTables.FoundByLegacyScan(0x100000), Is.False, "above the BIOS area");
            Assert.That(AcpiTables.FoundByLegacyScan(0xFFFF0), Is.False, "would run past 1 MiB");
            Assert.That(AcpiTables.FoundByLegacyScan(0xE0008), Is.False, "not on a 16-byte boundary");
            Assert.That(AcpiTables.FoundByLegacyScan(0x9FC00), Is.False, "below the BIOS area");
        }

        [Test]
        public void SoftOffIsSleepEnableWithS5sSleepType()
        {
            var platform = AcpiPlatform.Create(1, 0);
            // Linux: (SLP_TYP << 2) & 0x1C | SLP_EN (0x20), acpi_hw_extended_sleep.
            Assert.That(platform.IsSoftOffRequest((5 << 2) | 0x20), Is.True);
            Assert.That(platform.IsSoftOffRequest(5 << 2), Is.False, "SLP_EN clear");
            Assert.That(platform.IsSoftOffRequest((3 << 2) | 0x20), Is.False, "another sleep type");
            Assert.That(platform.IsSoftOffRequest(0x80), Is.False, "clearing WAK_STS");
        }
    }
}
