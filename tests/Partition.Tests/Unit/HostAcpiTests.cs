using System;
using System.Buffers.Binary;
using System.Linq;
using NUnit.Framework;
using Partition.Kernel;
using Partition.Memory;
using Partition.Tests.Support;
using static Partition.Tests.Support.SyntheticFirmware;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The host partition's view of the firmware's ACPI tables (<see cref="HostAcpi"/>), built
    /// from synthetic firmware that has what real firmware seldom shows at once: disabled,
    /// online-capable and x2APIC processors, per-processor NMI entries, two I/O APICs, MADT
    /// entries of kinds the hypervisor does not know, an IOMMU with two units, two ECAM
    /// segments. The real firmwares' tables are in <see cref="HostAcpiRealFirmwareTests"/>.
    /// </summary>
    public class HostAcpiTests
    {
        private static ushort U16(byte[] b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at));
        private static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));
        private static ulong U64(byte[] b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(at));

        private const ulong FirmwareBase = 0x7FE0_0000;
        private const ulong Ecam = 0xE000_0000;

        /// <summary>The rich firmware's tables, by what they are, with their addresses.</summary>
        internal sealed class Rich
        {
            public FirmwareMemory Memory;
            public SyntheticFirmware Firmware;
            public ulong Fadt, Madt, Ssdt, Dmar, Mcfg, Hpet, Root, RsdpAddress;
            public byte[] Rsdp;
            public byte[][] KeptEntries;
        }

        internal static Rich RichFirmware(bool xsdt = true)
        {
            var fw = new SyntheticFirmware(FirmwareBase);
            var rich = new Rich { Firmware = fw };
            rich.Fadt = fw.AddGuestFadt();
            rich.KeptEntries = new[]
            {
                IoApic(8, 0xFEC0_0000, 0), IoApic(9, 0xFEC0_1000, 24),
                SourceOverride(0, 2, 0), SourceOverride(9, 9, 0xD), NmiSource(5, 23),
                LocalApicNmi(0xFF, 0, 0),
            };
            rich.Madt = fw.Add(Madt(0xFEE0_0000, 1,
                LocalApic(0, 0), LocalApic(1, 2), LocalApic(2, 4, flags: 0), LocalApic(3, 6, flags: 2), LocalApic(4, 0xFF, flags: 1),
                LocalX2Apic(0x100, 300),
                rich.KeptEntries[0], rich.KeptEntries[1], rich.KeptEntries[2], rich.KeptEntries[3], rich.KeptEntries[4],
                LocalApicNmi(0, 5, 1), LocalApicNmi(1, 5, 1), LocalApicNmi(3, 5, 1), LocalX2ApicNmi(300, 5, 1),
                rich.KeptEntries[5],
                Other(7, 16), Other(0x10, 16), Other(0x80, 4)));
            rich.Ssdt = fw.Add(Opaque("SSDT", 200));
            rich.Dmar = fw.Add(Dmar((0xFED9_0000, 0), (0xFED9_1000, 1)));
            rich.Mcfg = fw.Add(Mcfg(new EcamWindow(Ecam, 0, 0, 0x3F), new EcamWindow(0x40_0000_0000, 1, 0, 15)));
            rich.Hpet = fw.Add(Opaque("HPET", 20));
            ulong[] tables = { rich.Fadt, rich.Madt, rich.Ssdt, rich.Dmar, rich.Mcfg, rich.Hpet };
            rich.Root = xsdt ? fw.AddXsdt(tables) : fw.AddRsdt(tables);
            (rich.Rsdp, rich.RsdpAddress) = xsdt ? fw.AddRsdp(0, rich.Root) : fw.AddRsdp(rich.Root, 0);
            rich.Memory = new FirmwareMemory { Rsdp = rich.RsdpAddress };
            rich.Memory.Add(fw.Base, fw.Image);
            return rich;
        }

        [Test]
        public void RsdpIsRevision2WithBothChecksumsAndNoRsdt()
        {
            var rich = RichFirmware();
            var image = new HostAcpiImage(rich.Memory, 2);
            byte[] rsdp = image.RsdpBytes;
            Assert.That(HostAcpiImage.Sum(rsdp.AsSpan(0, 20)), Is.Zero, "checksum of the first 20 bytes");
            Assert.That(HostAcpiImage.Sum(rsdp), Is.Zero, "extended checksum");
            Assert.That(System.Text.Encoding.ASCII.GetString(rsdp, 0, 8), Is.EqualTo("RSD PTR "));
            Assert.That(System.Text.Encoding.ASCII.GetString(rsdp, 9, 6), Is.EqualTo("FWOEM "), "the firmware's OEM ID");
            Assert.That(rsdp[15], Is.EqualTo(2));
            Assert.That(U32(rsdp, 16), Is.Zero, "no RSDT");
            Assert.That(U32(rsdp, 20), Is.EqualTo(36));
            Assert.That(image.View.Rsdp, Is.EqualTo(HostAcpiImage.DefaultArea));
            Assert.That(image.View.Rsdp % 16, Is.Zero);
        }

        [Test]
        public void XsdtListsTheFirmwaresTablesInOrderWithTheMadtReplacedAndNoDmar()
        {
            var rich = RichFirmware();
            var image = new HostAcpiImage(rich.Memory, 2);
            byte[] xsdt = image.Xsdt;
            Assert.That(HostAcpiImage.Sum(xsdt), Is.Zero, "XSDT checksum");
            Assert.That(System.Text.Encoding.ASCII.GetString(xsdt, 0, 4), Is.EqualTo("XSDT"));
            Assert.That(xsdt[8], Is.EqualTo(1), "revision");
            Assert.That(System.Text.Encoding.ASCII.GetString(xsdt, 10, 14), Is.EqualTo("FWOEM FWTABLE "), "the firmware root's OEM IDs");
            Assert.That(U32(xsdt, 24), Is.EqualTo(7), "the firmware root's OEM revision");
            Assert.That(System.Text.Encoding.ASCII.GetString(xsdt, 28, 4), Is.EqualTo("PTHV"), "creator: this hypervisor");
            Assert.That(image.XsdtEntries, Is.EqualTo(new[] { rich.Fadt, image.MadtAddress, rich.Ssdt, rich.Hpet }));
            Assert.That(image.InArea(image.MadtAddress), Is.True, "the new MADT is in the area");
            Assert.That(image.Tables.Keys, Is.EquivalentTo(new[] { "FACP", "APIC", "SSDT", "HPET" }));
            Assert.That(image.View.KeptTables, Is.EqualTo(3));
            Assert.That(image.View.RemovedTables, Is.EqualTo(2), "the DMAR and the MCFG");
            Assert.That(image.View.FirmwareRoot, Is.EqualTo("XSDT"));
            Assert.That(image.View.FirmwareRootAddress, Is.EqualTo(rich.Root));
        }

        [Test]
        public void FirmwareTablesAreNotTouched()
        {
            var rich = RichFirmware();
            byte[] before = rich.Memory.Regions[0].Bytes.ToArray();
            _ = new HostAcpiImage(rich.Memory, 4);
            Assert.That(rich.Memory.Regions[0].Bytes, Is.EqualTo(before));
            Assert.That(rich.Memory.LargestRead, Is.LessThanOrEqualTo(512), "tables are read piecewise");
        }

        [TestCase(1)]
        [TestCase(2)]
        [TestCase(4)]
        [TestCase(255)]
        [TestCase(300)]
        public void MadtHasExactlyTheHostsVcpusFirst(int vcpus)
        {
            var image = new HostAcpiImage(RichFirmware().Memory, vcpus, areaSize: 0x10000);
            var entries = image.MadtEntries();
            var processors = entries.Where(e => e.Type == 0 || e.Type == 9).ToList();
            Assert.That(processors.Count, Is.EqualTo(vcpus));
            Assert.That(entries.Take(vcpus).Select(e => e.Type), Is.All.EqualTo((byte)0).Or.EqualTo((byte)9), "processors come first");
            for (int i = 0; i < vcpus; i++)
            {
                var (type, bytes) = processors[i];
                if (i < 255)
                {
                    Assert.That(type, Is.EqualTo(0), "vCPU " + i);
                    Assert.That(bytes, Is.EqualTo(new byte[] { 0, 8, (byte)i, (byte)i, 1, 0, 0, 0 }), "UID, APIC ID, enabled");
                }
                else
                {
                    Assert.That(type, Is.EqualTo(9), "vCPU " + i);
                    Assert.That(bytes.Length, Is.EqualTo(16));
                    Assert.That(U32(bytes, 4), Is.EqualTo(i), "x2APIC ID");
                    Assert.That(U32(bytes, 8), Is.EqualTo(1), "enabled");
                    Assert.That(U32(bytes, 12), Is.EqualTo(i), "UID");
                }
            }
            Assert.That(image.View.FirmwareProcessors, Is.EqualTo(4), "enabled or online-capable: UIDs 0, 1, 3 and x2APIC 300");
        }

        [Test]
        public void MadtKeepsHeaderFlagsAddressIoApicsOverridesAndNmiSources()
        {
            var rich = RichFirmware();
            var image = new HostAcpiImage(rich.Memory, 2);
            byte[] madt = image.Madt;
            byte[] firmware = rich.Memory.Table(rich.Madt);
            Assert.That(HostAcpiImage.Sum(madt), Is.Zero, "checksum");
            Assert.That(madt[..4], Is.EqualTo(firmware[..4]), "signature");
            Assert.That(madt[8..9], Is.EqualTo(firmware[8..9]), "revision");
            Assert.That(madt[10..28], Is.EqualTo(firmware[10..28]), "OEM ID, table ID, revision");
            Assert.That(System.Text.Encoding.ASCII.GetString(madt, 28, 4), Is.EqualTo("PTHV"));
            Assert.That(U32(madt, 36), Is.EqualTo(0xFEE0_0000u), "local APIC address");
            Assert.That(U32(madt, 40), Is.EqualTo(1u), "flags: PCAT_COMPAT as the firmware's");

            var kept = image.MadtEntries().Where(e => e.Type is 1 or 2 or 3 or 5).Select(e => e.Bytes).ToList();
            Assert.That(kept, Is.EqualTo(rich.KeptEntries.Take(5)), "I/O APICs, overrides, NMI source, in the firmware's order");
            Assert.That(image.View.IoApics.Select(a => (a.Id, a.Address, a.GsiBase)),
                Is.EqualTo(new[] { ((byte)8, 0xFEC0_0000u, 0u), ((byte)9, 0xFEC0_1000u, 24u) }));
            Assert.That(image.View.DroppedMadtEntries, Is.EqualTo(3), "SAPIC, wakeup mailbox, OEM");
            Assert.That(image.MadtEntries().Any(e => e.Type is 7 or 0x10 or 0x80), Is.False);
        }

        [TestCase(3)]
        [TestCase(256)]
        public void PerProcessorNmiEntriesAreRewrittenForTheNewUids(int vcpus)
        {
            var image = new HostAcpiImage(RichFirmware().Memory, vcpus, areaSize: 0x10000);
            var entries = image.MadtEntries();
            var all = entries.Where(e => e.Type == 4 && e.Bytes[2] == 0xFF).ToList();
            Assert.That(all.Count, Is.EqualTo(1), "the all-processors entry, as it was");
            Assert.That(all[0].Bytes, Is.EqualTo(LocalApicNmi(0xFF, 0, 0)));

            var perVcpu = entries.Where(e => (e.Type == 4 && e.Bytes[2] != 0xFF) || e.Type == 10).ToList();
            Assert.That(perVcpu.Count, Is.EqualTo(vcpus), "one per vCPU for the one setting (flags 5, LINT1) the firmware's carry");
            for (int i = 0; i < vcpus; i++)
                Assert.That(perVcpu[i].Bytes, Is.EqualTo(i < 255 ? LocalApicNmi((byte)i, 5, 1) : LocalX2ApicNmi((uint)i, 5, 1)), "vCPU " + i);
        }

        [Test]
        public void EachDistinctNmiSettingGetsAnEntryPerVcpu()
        {
            var fw = new SyntheticFirmware(FirmwareBase);
            ulong madt = fw.Add(Madt(0xFEE0_0000, 0, LocalApic(0, 0), LocalApic(1, 1),
                LocalApicNmi(0, 5, 1), LocalApicNmi(1, 5, 1), LocalApicNmi(0, 0xD, 0), IoApic(2, 0xFEC0_0000, 0)));
            ulong xsdt = fw.AddXsdt(madt);
            var memory = new FirmwareMemory { Rsdp = fw.AddRsdp(0, xsdt).Address };
            memory.Add(fw.Base, fw.Image);
            var nmi = new HostAcpiImage(memory, 2).MadtEntries().Where(e => e.Type == 4).Select(e => e.Bytes).ToList();
            Assert.That(nmi, Is.EqualTo(new[] { LocalApicNmi(0, 5, 1), LocalApicNmi(1, 5, 1), LocalApicNmi(0, 0xD, 0), LocalApicNmi(1, 0xD, 0) }));
        }

        /// <summary>
        /// The tables placed at their addresses in this process, read by the hypervisor's own
        /// identity-mapped reader and its boot-time MADT parser (kernel/Boot/Acpi.cs).
        /// </summary>
        [Test]
        [NonParallelizable]
        public void TheHypervisorsOwnMadtReaderFindsExactlyTheHostsVcpus()
        {
            const ulong AreaAddress = 0x6000_0000;
            foreach (bool xsdt in new[] { true, false })
            foreach (int vcpus in new[] { 1, 3, 300 })
            {
                using var mapped = new MappedPhysicalMemory();
                var rich = RichFirmware(xsdt);
                mapped.Write(FirmwareBase, rich.Firmware.Image);
                var reader = new IdentityMappedMemory(IdentityMappedMemory.BootMappingLimit);
                Assert.That(HostAcpi.TryBuild(ref reader, rich.RsdpAddress, vcpus, mapped.Span(AreaAddress, 0x4000), AreaAddress,
                    out var view, out string error), Is.True, error);
                Assert.That(MappedPhysicalMemory.FindProcessors(view.Rsdp), Is.EqualTo(Enumerable.Range(0, vcpus).Select(i => (uint)i)),
                    (xsdt ? "XSDT" : "RSDT") + " firmware, " + vcpus + " vCPUs");
                Assert.That(MappedPhysicalMemory.FindProcessors(rich.RsdpAddress), Is.SupersetOf(new uint[] { 0, 2, 6, 0x100 }),
                    "the firmware's own MADT, as it was");
            }
        }

        [Test]
        public void Acpi10FirmwareGetsAnXsdtListingTheRsdtsTables()
        {
            var rich = RichFirmware(xsdt: false);
            var image = new HostAcpiImage(rich.Memory, 2);
            Assert.That(rich.Rsdp.Length, Is.EqualTo(20), "an ACPI 1.0 RSDP");
            Assert.That(image.View.FirmwareRoot, Is.EqualTo("RSDT"));
            Assert.That(image.XsdtEntries, Is.EqualTo(new[] { rich.Fadt, image.MadtAddress, rich.Ssdt, rich.Hpet }));
            Assert.That(image.RsdpBytes[15], Is.EqualTo(2));
        }

        [Test]
        public void TheRsdpCanBeGivenByAddressOrAsBytes()
        {
            var rich = RichFirmware();
            var byAddress = new HostAcpiImage(rich.Memory, 2);
            var byBytes = new HostAcpiImage(rich.Memory, 2, rsdp: rich.Rsdp);
            Assert.That(byBytes.Area, Is.EqualTo(byAddress.Area));
        }

        [Test]
        public void AnXsdtWinsOverTheRsdtWhenTheRsdpHasBoth()
        {
            var rich = RichFirmware();
            ulong rsdt = rich.Firmware.AddRsdt(rich.Ssdt);
            var (rsdp, _) = rich.Firmware.AddRsdp(rsdt, rich.Root);
            rich.Memory = new FirmwareMemory();
            rich.Memory.Add(rich.Firmware.Base, rich.Firmware.Image);
            var image = new HostAcpiImage(rich.Memory, 1, rsdp: rsdp);
            Assert.That(image.View.FirmwareRoot, Is.EqualTo("XSDT"));
            Assert.That(image.XsdtEntries.Count, Is.EqualTo(4), "FACP, APIC, SSDT, HPET");
        }

        [Test]
        public void DmarIsRemovedAndItsRegisterSetsAreExposed()
        {
            var image = new HostAcpiImage(RichFirmware().Memory, 1);
            Assert.That(image.Tables.ContainsKey("DMAR"), Is.False);
            Assert.That(image.View.IommuRegisters.Select(r => (r.Start, r.End)),
                Is.EqualTo(new[] { (0xFED9_0000UL, 0xFED9_1000UL), (0xFED9_1000UL, 0xFED9_3000UL) }), "one page, then 2^1 pages");
        }

        [Test]
        public void IvrsAndASecondMadtAndNullEntriesAreRemoved()
        {
            var fw = new SyntheticFirmware(FirmwareBase);
            ulong madt = fw.Add(Madt(0xFEE0_0000, 0, LocalApic(0, 0), IoApic(1, 0xFEC0_0000, 0)));
            ulong other = fw.Add(Madt(0xFEE0_0000, 0, LocalApic(0, 0), LocalApic(1, 1), LocalApic(2, 2)));
            ulong ivrs = fw.Add(Opaque("IVRS"));
            ulong xsdt = fw.AddXsdt(madt, 0, other, ivrs);
            var memory = new FirmwareMemory { Rsdp = fw.AddRsdp(0, xsdt).Address };
            memory.Add(fw.Base, fw.Image);
            var image = new HostAcpiImage(memory, 2);
            Assert.That(image.XsdtEntries, Is.EqualTo(new[] { image.MadtAddress }));
            Assert.That(image.View.RemovedTables, Is.EqualTo(3));
            Assert.That(image.View.FirmwareProcessors, Is.EqualTo(1), "the first MADT's");
        }

        [Test]
        public void TheMcfgIsLeftOutAndItsWindowsAreRead()
        {
            var rich = RichFirmware();
            var image = new HostAcpiImage(rich.Memory, 1);
            Assert.That(image.XsdtEntries, Does.Not.Contain(rich.Mcfg));
            Assert.That(image.Tables.ContainsKey("MCFG"), Is.False);
            Assert.That(image.View.EcamWindows.Select(w => (w.Base, w.Segment, w.StartBus, w.EndBus)),
                Is.EqualTo(new[] { (Ecam, (ushort)0, (byte)0, (byte)0x3F), (0x40_0000_0000UL, (ushort)1, (byte)0, (byte)15) }));
            Assert.That(image.View.EcamWindows[0].Range.Start, Is.EqualTo(Ecam));
            Assert.That(image.View.EcamWindows[0].Range.End, Is.EqualTo(Ecam + (0x40UL << 20)));
        }

        [Test]
        public void TheHostsEptExclusionsAreTheApicsTheIommuAndTheEcamWindows()
        {
            var image = new HostAcpiImage(RichFirmware().Memory, 1);
            Assert.That(image.View.HostEptExclusions.Select(r => (r.Start, r.End)), Is.EqualTo(new[]
            {
                (Ecam, Ecam + (0x40UL << 20)),          // segment 0, buses 0-3Fh, whole
                (0xFEC0_0000UL, 0xFEC0_2000UL),         // both I/O APICs, merged
                (0xFED9_0000UL, 0xFED9_3000UL),         // both IOMMU units, merged
                (0xFEE0_0000UL, 0xFEE0_1000UL),
                (0x40_0000_0000UL, 0x40_0100_0000UL),   // segment 1, buses 0-15
            }));
        }

        [Test]
        public void AnEcamWindowStartingAboveBusZeroIsExcludedFromItsFirstBus()
        {
            var fw = new SyntheticFirmware(FirmwareBase);
            ulong madt = fw.Add(Madt(0xFEE0_0000, 0, LocalApic(0, 0), IoApic(1, 0xFEC0_0000, 0)));
            ulong mcfg = fw.Add(Mcfg(new EcamWindow(Ecam, 0, 0x10, 0x1F)));
            ulong xsdt = fw.AddXsdt(madt, mcfg);
            var memory = new FirmwareMemory { Rsdp = fw.AddRsdp(0, xsdt).Address };
            memory.Add(fw.Base, fw.Image);
            var image = new HostAcpiImage(memory, 1);
            Assert.That(image.View.HostEptExclusions.Select(r => (r.Start, r.End)), Does.Contain((Ecam + 0x100_0000, Ecam + 0x200_0000)));
            Assert.That(image.XsdtEntries, Is.EqualTo(new[] { image.MadtAddress }));
        }

        [Test]
        public void ALocalApicAddressOverrideMovesTheExcludedPage()
        {
            var fw = new SyntheticFirmware(FirmwareBase);
            ulong madt = fw.Add(Madt(0xFEE0_0000, 0, LocalApic(0, 0), LocalApicAddressOverride(0x1_0000_0000), IoApic(1, 0xFEC0_0000, 0)));
            ulong xsdt = fw.AddXsdt(madt);
            var memory = new FirmwareMemory { Rsdp = fw.AddRsdp(0, xsdt).Address };
            memory.Add(fw.Base, fw.Image);
            var image = new HostAcpiImage(memory, 1);
            Assert.That(image.View.LocalApicAddress, Is.EqualTo(0x1_0000_0000UL));
            Assert.That(image.MadtEntries().Count(e => e.Type == 5), Is.EqualTo(1), "the override is kept");
            Assert.That(image.View.HostEptExclusions.Select(r => r.Start), Does.Contain(0x1_0000_0000UL));
        }

        [Test]
        public void TheFadtsRegistersAreParsed()
        {
            var image = new HostAcpiImage(RichFirmware().Memory, 1);
            Assert.That(image.View.HasFadt, Is.True);
            var fadt = image.View.Fadt;
            Assert.That(fadt.HardwareReduced, Is.True, "a guest partition's FADT");
            Assert.That(fadt.ResetRegisterSupported, Is.True);
            Assert.That(fadt.ResetRegister.Address, Is.EqualTo(AcpiPlatform.DefaultResetPort));
            Assert.That(fadt.SleepControl.Address, Is.EqualTo(AcpiPlatform.DefaultSleepControlPort));
        }

        [Test]
        public void AnUnalignedAreaStillGetsAlignedTables()
        {
            var image = new HostAcpiImage(RichFirmware().Memory, 2, areaPhysical: HostAcpiImage.DefaultArea + 4);
            Assert.That(image.View.Rsdp, Is.EqualTo(HostAcpiImage.DefaultArea + 16));
            Assert.That(image.XsdtAddress % 16, Is.Zero);
            Assert.That(image.MadtAddress % 16, Is.Zero);
            Assert.That(image.View.Used, Is.EqualTo(image.MadtAddress + (ulong)image.Madt.Length - image.Base));
        }

        private static string Fails(FirmwareMemory memory, byte[] rsdp = null, int vcpus = 2, int areaSize = 0x4000)
        {
            var reader = memory.Read();
            var area = new byte[areaSize];
            bool built = rsdp == null
                ? HostAcpi.TryBuild(ref reader, memory.Rsdp, vcpus, area, HostAcpiImage.DefaultArea, out var view, out string error)
                : HostAcpi.TryBuild(ref reader, rsdp, vcpus, area, HostAcpiImage.DefaultArea, out view, out error);
            Assert.That(built, Is.False);
            Assert.That(view, Is.Null);
            Assert.That(error, Is.Not.Null.And.Not.Empty);
            return error;
        }

        [Test]
        public void ErrorsSayWhatIsWrong()
        {
            var rich = RichFirmware();
            Assert.That(Fails(rich.Memory, rsdp: new byte[0]), Is.EqualTo("no RSDP: the firmware gave none (no ACPI tag from the boot loader)"));
            Assert.That(Fails(new FirmwareMemory { Rsdp = 0xE0000 }), Is.EqualTo("no RSDP: nothing can be read at 0xE0000"));
            var notRsdp = (byte[])rich.Rsdp.Clone();
            notRsdp[0] = (byte)'X';
            Assert.That(Fails(rich.Memory, notRsdp), Is.EqualTo("no RSDP: what the boot loader gave does not start with \"RSD PTR \""));
            var badSum = (byte[])rich.Rsdp.Clone();
            badSum[8]++;
            Assert.That(Fails(rich.Memory, badSum), Is.EqualTo("bad checksum in the firmware's RSDP"));
            var badExtended = (byte[])rich.Rsdp.Clone();
            badExtended[32]++;
            Assert.That(Fails(rich.Memory, badExtended), Is.EqualTo("bad extended checksum in the firmware's RSDP"));
            Assert.That(Fails(rich.Memory, vcpus: 0), Is.EqualTo("the host partition needs 1 to 65536 vCPUs for its MADT"));
            rich.Memory.Regions[0].Bytes[rich.Root - FirmwareBase] = (byte)'R';
            Assert.That(Fails(rich.Memory), Is.EqualTo("the firmware's XSDT at 0x" + rich.Root.ToString("X") + " has the signature \"RSDT\""));
        }

        [TestCase("XSDT")]
        [TestCase("SSDT")]
        [TestCase("APIC")]
        [TestCase("MCFG")]
        [TestCase("DMAR")]
        [TestCase("FACP")]
        [TestCase("DSDT")]
        public void ABadChecksumInAFirmwareTableIsNamed(string signature)
        {
            var rich = RichFirmware();
            ulong dsdt = U64(rich.Memory.Table(rich.Fadt), 140);
            ulong address = signature switch
            {
                "XSDT" => rich.Root, "SSDT" => rich.Ssdt, "APIC" => rich.Madt, "MCFG" => rich.Mcfg, "DMAR" => rich.Dmar,
                "FACP" => rich.Fadt, _ => dsdt,
            };
            byte[] region = rich.Memory.Regions[0].Bytes;
            region[address - FirmwareBase + 9]++;
            Assert.That(Fails(rich.Memory), Is.EqualTo("bad checksum in the firmware's " + signature + " at 0x" + address.ToString("X")));
        }

        [Test]
        public void TheAreaMustHoldTheTables()
        {
            var rich = RichFirmware();
            var image = new HostAcpiImage(rich.Memory, 2);
            int needed = image.View.Used;
            Assert.That(Fails(rich.Memory, areaSize: needed - 1),
                Is.EqualTo("the area for the host's ACPI tables is too small: " + (needed - 1) + " bytes, and they need " + needed));
            Assert.That(new HostAcpiImage(rich.Memory, 2, areaSize: needed).View.Used, Is.EqualTo(needed));
        }

        [Test]
        public void UnreadableAndMalformedTablesAreNamed()
        {
            var fw = new SyntheticFirmware(FirmwareBase);
            ulong xsdt = fw.AddXsdt(0xDEAD_0000);
            var memory = new FirmwareMemory { Rsdp = fw.AddRsdp(0, xsdt).Address };
            memory.Add(fw.Base, fw.Image);
            Assert.That(Fails(memory), Is.EqualTo("entry 0 of the firmware's XSDT points at 0xDEAD0000, which cannot be read"));

            fw = new SyntheticFirmware(FirmwareBase);
            // An I/O APIC entry that says 40 bytes with 4 left in the table.
            xsdt = fw.AddXsdt(fw.Add(Madt(0xFEE0_0000, 0, LocalApic(0, 0), new byte[] { 1, 40, 0, 0 })));
            memory = new FirmwareMemory { Rsdp = fw.AddRsdp(0, xsdt).Address };
            memory.Add(fw.Base, fw.Image);
            Assert.That(Fails(memory), Does.Match("^the firmware's MADT at 0x7FE00000 has a malformed entry at offset 52$"));

            fw = new SyntheticFirmware(FirmwareBase);
            xsdt = fw.AddXsdt(fw.Add(Opaque("SSDT")));
            memory = new FirmwareMemory { Rsdp = fw.AddRsdp(0, xsdt).Address };
            memory.Add(fw.Base, fw.Image);
            Assert.That(Fails(memory), Is.EqualTo("the firmware's XSDT lists no MADT: the host's processors and I/O APICs cannot be described"));

            fw = new SyntheticFirmware(FirmwareBase);
            byte[] huge = Opaque("SSDT");
            BinaryPrimitives.WriteUInt32LittleEndian(huge.AsSpan(4), 0x4000_0000);
            ulong hugeAt = fw.Add(huge);
            xsdt = fw.AddXsdt(hugeAt);
            memory = new FirmwareMemory { Rsdp = fw.AddRsdp(0, xsdt).Address };
            memory.Add(fw.Base, fw.Image);
            Assert.That(Fails(memory), Is.EqualTo("the firmware's SSDT at 0x" + hugeAt.ToString("X") + " has an implausible length, 1073741824"));
        }
    }
}
