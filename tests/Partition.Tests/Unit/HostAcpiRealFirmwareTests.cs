using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Partition.Kernel;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// <see cref="HostAcpi"/> on the tables of four real firmwares (Unit/Data/acpi, README
    /// there): Firecracker's (the VM these tests were written on: XSDT, hardware-reduced FADT,
    /// MCFG), QEMU q35's with an Intel IOMMU (RSDT only, DMAR, MCFG, reset register), QEMU
    /// pc's (ACPI 1.0 FADT) and Bochs' (the system tests' machine). Checked: every checksum,
    /// the XSDT against the firmware's root, the MADT's entries, DMAR and MCFG gone, the
    /// FADT's registers, iasl's disassembly of the new tables, and the hypervisor's own MADT
    /// reader on them.
    /// </summary>
    public class HostAcpiRealFirmwareTests
    {
        private static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));

        public static readonly string[] Machines = { "firecracker", "qemu-q35", "qemu-pc", "bochs" };

        /// <summary>What each dump holds, read off iasl's disassembly of the firmware's own tables.</summary>
        private sealed record Expected(string Root, int Processors, int IoApics, int Overrides, int AllCpuNmis, string[] Kept,
            (ulong Base, byte EndBus)[] Ecam, (ulong Start, ulong End)[] Iommu, (ushort Port, int Count)[] Trapped);

        private static readonly Dictionary<string, Expected> Machine = new()
        {
            ["firecracker"] = new("XSDT", 2, 1, 0, 0, new[] { "FACP", "APIC" },
                new[] { (0xEEC0_0000UL, (byte)0) }, new (ulong, ulong)[0], new (ushort, int)[0]),
            ["qemu-q35"] = new("RSDT", 4, 1, 5, 1, new[] { "FACP", "APIC", "HPET", "WAET" },
                new[] { (0xB000_0000UL, (byte)0xFF) }, new[] { (0xFED9_0000UL, 0xFED9_1000UL) }, new[] { ((ushort)0xCF9, 1), ((ushort)0x604, 2) }),
            ["qemu-pc"] = new("RSDT", 2, 1, 5, 1, new[] { "FACP", "APIC", "HPET", "WAET" },
                new (ulong, byte)[0], new (ulong, ulong)[0], new[] { ((ushort)0x604, 2) }),
            ["bochs"] = new("RSDT", 2, 1, 1, 0, new[] { "FACP", "APIC", "SSDT", "HPET" },
                new (ulong, byte)[0], new (ulong, ulong)[0], new[] { ((ushort)0xB004, 2) }),
        };

        [TestCaseSource(nameof(Machines))]
        public void EveryNewTableSumsToZeroAndTheXsdtFollowsTheFirmwaresRoot(string machine)
        {
            var firmware = FirmwareMemory.Dump(machine);
            var image = new HostAcpiImage(firmware, 2);
            var expected = Machine[machine];

            Assert.That(HostAcpiImage.Sum(image.RsdpBytes.AsSpan(0, 20)), Is.Zero, "RSDP checksum");
            Assert.That(HostAcpiImage.Sum(image.RsdpBytes), Is.Zero, "RSDP extended checksum");
            Assert.That(HostAcpiImage.Sum(image.Xsdt), Is.Zero, "XSDT checksum");
            Assert.That(HostAcpiImage.Sum(image.Madt), Is.Zero, "MADT checksum");
            foreach (ulong address in image.XsdtEntries)
                Assert.That(HostAcpiImage.Sum(image.TableAt(address)), Is.Zero, "table at 0x" + address.ToString("X"));

            var root = firmware.RootEntries(out string rootSignature);
            Assert.That(rootSignature, Is.EqualTo(expected.Root));
            Assert.That(image.View.FirmwareRoot, Is.EqualTo(expected.Root));
            var kept = root.Where(a => firmware.SignatureAt(a) is not ("DMAR" or "MCFG")).ToList();
            var madtIndex = kept.FindIndex(a => firmware.SignatureAt(a) == "APIC");
            kept[madtIndex] = image.MadtAddress;
            Assert.That(image.XsdtEntries, Is.EqualTo(kept), "the firmware's entries in order, the MADT replaced, the DMAR and MCFG left out");
            Assert.That(image.XsdtEntries.Select(a => System.Text.Encoding.ASCII.GetString(image.Slice(a, 4))), Is.EqualTo(expected.Kept));
        }

        [TestCaseSource(nameof(Machines))]
        public void TheMadtHasTheHostsVcpusAndTheFirmwaresInterruptRouting(string machine)
        {
            var firmware = FirmwareMemory.Dump(machine);
            var expected = Machine[machine];
            foreach (int vcpus in new[] { 1, 2, 3 })
            {
                var image = new HostAcpiImage(firmware, vcpus);
                var entries = image.MadtEntries();
                byte[] madt = image.Madt;
                ulong firmwareMadt = firmware.RootEntries(out _).Single(a => firmware.SignatureAt(a) == "APIC");
                byte[] original = firmware.Table(firmwareMadt);

                Assert.That(entries.Count(e => e.Type == 0), Is.EqualTo(vcpus), machine + ": one local APIC per vCPU");
                Assert.That(entries.Where(e => e.Type == 0).Select(e => (e.Bytes[2], e.Bytes[3], U32(e.Bytes, 4))),
                    Is.EqualTo(Enumerable.Range(0, vcpus).Select(i => ((byte)i, (byte)i, 1u))), "UID = APIC ID = vCPU, enabled");
                Assert.That(U32(madt, 36), Is.EqualTo(U32(original, 36)), "local APIC address");
                Assert.That(U32(madt, 40), Is.EqualTo(U32(original, 40)), "flags");
                Assert.That(madt[10..28], Is.EqualTo(original[10..28]), "OEM fields");

                var originalEntries = Entries(original);
                foreach (byte type in new byte[] { 1, 2, 3 })
                    Assert.That(entries.Where(e => e.Type == type).Select(e => e.Bytes), Is.EqualTo(originalEntries.Where(e => e.Type == type).Select(e => e.Bytes)),
                        machine + ": entries of type " + type + " as the firmware's");
                Assert.That(entries.Count(e => e.Type == 1), Is.EqualTo(expected.IoApics));
                Assert.That(entries.Count(e => e.Type == 2), Is.EqualTo(expected.Overrides));
                Assert.That(entries.Count(e => e.Type == 4), Is.EqualTo(expected.AllCpuNmis), "QEMU's one Local APIC NMI for all processors");
                Assert.That(image.View.FirmwareProcessors, Is.EqualTo(expected.Processors));
                Assert.That(image.View.DroppedMadtEntries, Is.Zero);
                Assert.That(image.View.IoApics.Select(a => a.Address), Is.EqualTo(new[] { 0xFEC0_0000u }));
            }
        }

        [TestCaseSource(nameof(Machines))]
        public void DmarAndMcfgAreGoneAndTheFadtsRegistersAreParsed(string machine)
        {
            var expected = Machine[machine];
            var image = new HostAcpiImage(FirmwareMemory.Dump(machine), 2);
            Assert.That(image.Tables.ContainsKey("DMAR"), Is.False);
            Assert.That(image.View.IommuRegisters.Select(r => (r.Start, r.End)), Is.EqualTo(expected.Iommu));
            Assert.That(image.Tables.ContainsKey("MCFG"), Is.False);
            Assert.That(image.View.EcamWindows.Select(w => (w.Base, w.EndBus)), Is.EqualTo(expected.Ecam));
            Assert.That(image.View.HasFadt, Is.True);
            Span<IoPortRange> ports = stackalloc IoPortRange[FadtRegisters.MaxTrappedPorts];
            int count = image.View.Fadt.TrappedPorts(ports);
            Assert.That(ports.Slice(0, count).ToArray().Select(p => (p.Start, p.Count)), Is.EqualTo(expected.Trapped));
        }

        /// <summary>q35's whole ECAM window (256 buses at 0xB0000000) is out of the host's EPT.</summary>
        [Test]
        public void OnQ35TheWholeEcamWindowIsExcluded()
        {
            var image = new HostAcpiImage(FirmwareMemory.Dump("qemu-q35"), 2);
            Assert.That(image.View.HostEptExclusions.Select(r => (r.Start, r.End)), Is.EqualTo(new[]
            {
                (0xB000_0000UL, 0xC000_0000UL), (0xFEC0_0000UL, 0xFEC0_1000UL), (0xFED9_0000UL, 0xFED9_1000UL), (0xFEE0_0000UL, 0xFEE0_1000UL),
            }));
        }

        /// <summary>
        /// The dumps placed at their physical addresses in this process and read by the image's
        /// own code: <see cref="IdentityMappedMemory"/> for HostAcpi, then the boot-time MADT
        /// parser (kernel/Boot/Acpi.cs) on the result, which must find the host's vCPUs only,
        /// and still the firmware's processors through the firmware's RSDP.
        /// </summary>
        [TestCaseSource(nameof(Machines))]
        [NonParallelizable]
        public void TheHypervisorsOwnMadtReaderFindsExactlyTheHostsVcpus(string machine)
        {
            const ulong AreaAddress = 0x6000_0000;
            var firmware = FirmwareMemory.Dump(machine);
            using var mapped = new MappedPhysicalMemory();
            foreach (var (address, bytes) in firmware.Regions)
                mapped.Write(address, bytes);
            foreach (int vcpus in new[] { 1, 2, 5 })
            {
                var reader = new IdentityMappedMemory(IdentityMappedMemory.BootMappingLimit);
                Assert.That(HostAcpi.TryBuild(ref reader, firmware.Rsdp, vcpus, mapped.Span(AreaAddress, 0x1000), AreaAddress,
                    out var view, out string error), Is.True, error);
                Assert.That(MappedPhysicalMemory.FindProcessors(view.Rsdp), Is.EqualTo(Enumerable.Range(0, vcpus).Select(i => (uint)i)), machine);
            }
            Assert.That(MappedPhysicalMemory.FindProcessors(firmware.Rsdp).Length, Is.EqualTo(Machine[machine].Processors), "the firmware's MADT, unchanged");
        }

        private static List<(byte Type, byte[] Bytes)> Entries(byte[] madt)
        {
            var entries = new List<(byte, byte[])>();
            for (int at = 44; at < madt.Length; at += madt[at + 1])
                entries.Add((madt[at], madt.AsSpan(at, madt[at + 1]).ToArray()));
            return entries;
        }
    }

    /// <summary>
    /// The new MADT and XSDT as ACPICA's disassembler reads them (iasl -d, acpica-tools), for
    /// the real firmwares' tables and the synthetic firmware's richest case: no error or
    /// warning, and the entries the host must see.
    /// </summary>
    public class HostAcpiIaslTests
    {
        private string _directory;

        [SetUp]
        public void CreateDirectory()
        {
            Iasl.Require();
            _directory = Path.Combine(Path.GetTempPath(), "partition-hostacpi-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_directory);
        }

        [TearDown]
        public void RemoveDirectory() => Directory.Delete(_directory, true);

        private string Disassemble(string name, byte[] table)
        {
            var run = Iasl.Disassemble(_directory, name, table);
            Assert.That(run.ExitCode, Is.Zero, "iasl -d " + name + ":\n" + run.Output);
            Assert.That(run.Produced, Is.Not.Null, "iasl -d " + name + " wrote no .dsl:\n" + run.Output);
            Assert.That(run.Output, Does.Not.Match("(?i)error|warning|invalid|incorrect"), "iasl -d " + name);
            Assert.That(run.Produced, Does.Not.Match("(?i)error|warning|invalid|incorrect checksum|unknown"), "the disassembly of " + name);
            return run.Produced;
        }

        private static int Count(string text, string pattern) => Regex.Matches(text, pattern).Count;

        [TestCaseSource(typeof(HostAcpiRealFirmwareTests), nameof(HostAcpiRealFirmwareTests.Machines))]
        public void IaslReadsTheNewMadtAndXsdt(string machine)
        {
            var image = new HostAcpiImage(FirmwareMemory.Dump(machine), 3);
            string madt = Disassemble(machine + "-apic", image.Madt);
            Assert.That(Count(madt, @"Subtable Type : 00 \[Processor Local APIC\]"), Is.EqualTo(3));
            for (int i = 0; i < 3; i++)
                Assert.That(madt, Does.Match(@"Processor ID : 0" + i + @"\s.*Local Apic ID : 0" + i + @"\s.*\s*Processor Enabled : 1"));
            Assert.That(Count(madt, @"Subtable Type : 01 \[I/O APIC\]"), Is.EqualTo(1));
            Assert.That(madt, Does.Match(@"Address : FEC00000"));

            string xsdt = Disassemble(machine + "-xsdt", image.Xsdt);
            Assert.That(Count(xsdt, "ACPI Table Address"), Is.EqualTo(image.XsdtEntries.Count));
            for (int i = 0; i < image.XsdtEntries.Count; i++)
                Assert.That(xsdt, Does.Match(@"ACPI Table Address\s+" + i + " : " + image.XsdtEntries[i].ToString("X16")));
        }

        [Test]
        public void IaslReadsTheRewrittenMadtOfARichFirmware()
        {
            var image = new HostAcpiImage(HostAcpiTests.RichFirmware().Memory, 300, areaSize: 0x10000);
            string madt = Disassemble("rich-apic", image.Madt);
            Assert.That(Count(madt, @"Subtable Type : 00 \[Processor Local APIC\]"), Is.EqualTo(255));
            Assert.That(Count(madt, @"Subtable Type : 09 \[Processor Local x2APIC\]"), Is.EqualTo(45));
            Assert.That(Count(madt, @"Subtable Type : 01 \[I/O APIC\]"), Is.EqualTo(2));
            Assert.That(Count(madt, @"Subtable Type : 02 \[Interrupt Source Override\]"), Is.EqualTo(2));
            Assert.That(Count(madt, @"Subtable Type : 03 \[NMI Source\]"), Is.EqualTo(1));
            Assert.That(Count(madt, @"Subtable Type : 04 \[Local APIC NMI\]"), Is.EqualTo(256), "255 per-vCPU entries and the firmware's all-processors one");
            Assert.That(Count(madt, @"Subtable Type : 0A \[Local x2APIC NMI\]"), Is.EqualTo(45));
            Assert.That(madt, Does.Contain("PC-AT Compatibility : 1"));
            Disassemble("rich-xsdt", image.Xsdt);
        }
    }
}
