using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Partition.Kernel;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The partition's ACPI tables as ACPICA sees them, ACPICA being the code Linux runs:
    /// iasl disassembles every table without complaint and compiles its disassembly back to
    /// the same bytes, and acpiexec (ACPICA's interpreter) loads FADT, DSDT and MADT, decodes
    /// the UART's resources as Linux's PNPACPI will, and powers off through the sleep control
    /// register. Both tools come with acpica-tools; a missing iasl fails with what to install.
    /// </summary>
    public class AcpiTablesIaslTests
    {
        private string _directory;

        [SetUp]
        public void CreateDirectory()
        {
            Iasl.Require();
            _directory = Path.Combine(Path.GetTempPath(), "partition-acpi-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_directory);
        }

        [TearDown]
        public void RemoveDirectory() => Directory.Delete(_directory, true);

        private static AcpiImage Image(int vcpus = 2, ushort uart = 0x3F8) => new AcpiImage(AcpiPlatform.Create(vcpus, uart));

        /// <summary>iasl -d must succeed, and say nothing about errors, warnings or bad checksums.</summary>
        private string Disassemble(string name, byte[] table)
        {
            var run = Iasl.Disassemble(_directory, name, table);
            Assert.That(run.ExitCode, Is.Zero, "iasl -d " + name + ":\n" + run.Output);
            Assert.That(run.Produced, Is.Not.Null, "iasl -d " + name + " wrote no .dsl:\n" + run.Output);
            Assert.That(run.Output, Does.Not.Match("(?i)error|warning|invalid|incorrect"), "iasl -d " + name);
            Assert.That(run.Produced, Does.Not.Match("(?i)error|warning|invalid|incorrect checksum"), "the disassembly of " + name);
            return run.Produced;
        }

        private static int Count(string text, string pattern) => Regex.Matches(text, pattern).Count;

        [Test]
        public void DsdtDisassemblesToTheUartAndS5()
        {
            string dsl = Disassemble("dsdt", Image().Dsdt);
            Assert.That(dsl, Does.Contain("Device (COM1)"));
            Assert.That(dsl, Does.Contain("Name (_HID, EisaId (\"PNP0501\")"));
            Assert.That(dsl, Does.Contain("Name (_UID, One)"));
            Assert.That(dsl, Does.Match(@"Method \(_STA, 0, NotSerialized\)[^}]*Return \(0x0F\)"));
            Assert.That(dsl, Does.Match(@"IO \(Decode16,\s*0x03F8,\s*// Range Minimum\s*0x03F8,\s*// Range Maximum\s*0x01,\s*// Alignment\s*0x08,"));
            Assert.That(dsl, Does.Match(@"IRQNoFlags \(\)\s*\{4\}"));
            Assert.That(dsl, Does.Match(@"Name \(\\_S5, Package \(0x04\)[^{]*\{\s*0x05,\s*0x05,\s*Zero,\s*Zero\s*\}"));
        }

        [Test]
        public void WithoutAUartTheDsdtDisassemblesToS5Alone()
        {
            string dsl = Disassemble("dsdt", Image(uart: 0).Dsdt);
            Assert.That(dsl, Does.Not.Contain("Device"));
            Assert.That(dsl, Does.Contain("Name (\\_S5, Package (0x04)"));
        }

        [Test]
        public void FadtDisassemblesAsHardwareReducedWithItsRegistersAndPmTimer()
        {
            string dsl = Disassemble("facp", Image().Fadt);
            foreach (string field in new[]
                     {
                         @"Revision : 06", @"Table Length : 00000114", @"FADT Minor Revision : 04",
                         @"Hardware Reduced \(V5\) : 1", @"Reset Register Supported \(V2\) : 1",
                         @"Legacy Devices Supported \(V2\) : 0", @"8042 Present on ports 60/64 \(V2\) : 0",
                         @"VGA Not Present \(V4\) : 1", @"MSI Not Supported \(V4\) : 1", @"CMOS RTC Not Present \(V5\) : 1",
                         @"FACS Address : 00000000\b", @"FACS Address : 0000000000000000", @"SCI Interrupt : 0000",
                         @"Reset Register : \[Generic Address Structure\]\s*\[[^]]*\]\s*Space ID : 01 \[SystemIO\]\s*\[[^]]*\]\s*Bit Width : 08\s*\[[^]]*\]\s*Bit Offset : 00\s*\[[^]]*\]\s*Encoded Access Width : 01 \[Byte Access:8\]\s*\[[^]]*\]\s*Address : 0000000000000604",
                         @"Value to cause reset : 01",
                         @"PM Timer Block Address : 00000608", @"PM Timer Block Length : 04", @"32-bit PM Timer \(V1\) : 1",
                         @"PM Timer Block : \[Generic Address Structure\]\s*\[[^]]*\]\s*Space ID : 01 \[SystemIO\]\s*\[[^]]*\]\s*Bit Width : 20\s*\[[^]]*\]\s*Bit Offset : 00\s*\[[^]]*\]\s*Encoded Access Width : 03 \[DWord Access:32\]\s*\[[^]]*\]\s*Address : 0000000000000608",
                         @"Sleep Control Register : \[Generic Address Structure\]\s*\[[^]]*\]\s*Space ID : 01 \[SystemIO\]\s*\[[^]]*\]\s*Bit Width : 08\s*\[[^]]*\]\s*Bit Offset : 00\s*\[[^]]*\]\s*Encoded Access Width : 01 \[Byte Access:8\]\s*\[[^]]*\]\s*Address : 0000000000000600",
                         @"Sleep Status Register : \[Generic Address Structure\]\s*\[[^]]*\]\s*Space ID : 01 \[SystemIO\]\s*\[[^]]*\]\s*Bit Width : 08\s*\[[^]]*\]\s*Bit Offset : 00\s*\[[^]]*\]\s*Encoded Access Width : 01 \[Byte Access:8\]\s*\[[^]]*\]\s*Address : 0000000000000601",
                     })
                Assert.That(dsl, Does.Match(field), field);
        }

        [TestCase(1)]
        [TestCase(2)]
        [TestCase(8)]
        [TestCase(300)]
        public void MadtDisassemblesWithAnEntryPerVcpuAndTheIoApic(int vcpus)
        {
            string dsl = Disassemble("apic", Image(vcpus).Madt);
            Assert.That(dsl, Does.Contain("Local Apic Address : FEE00000"));
            Assert.That(dsl, Does.Match(@"PC-AT Compatibility : 0"));
            Assert.That(Count(dsl, @"Subtable Type : 00 \[Processor Local APIC\]"), Is.EqualTo(Math.Min(vcpus, 255)));
            Assert.That(Count(dsl, @"Subtable Type : 09 \[Processor Local x2APIC\]"), Is.EqualTo(Math.Max(0, vcpus - 255)));
            Assert.That(Count(dsl, @"Processor Enabled : 1"), Is.EqualTo(vcpus));
            Assert.That(Count(dsl, @"Subtable Type : 01 \[I/O APIC\]"), Is.EqualTo(1));
            Assert.That(dsl, Does.Match(@"I/O Apic ID : " + Math.Min(vcpus, 255).ToString("X2") + @"\s.*\s.*Address : FEC00000\s.*Interrupt : 00000000"));
            Assert.That(Count(dsl, @"Interrupt Source Override"), Is.Zero);
            Assert.That(dsl, Does.Contain("Local Apic ID : " + (Math.Min(vcpus, 255) - 1).ToString("X2")));
            if (vcpus > 255)
                Assert.That(dsl, Does.Contain("Processor x2Apic ID : " + (vcpus - 1).ToString("X8")));
        }

        [Test]
        public void XsdtDisassemblesWithTheFadtAndTheMadt()
        {
            var image = Image();
            string dsl = Disassemble("xsdt", image.Xsdt);
            ulong fadt = BitConverter.ToUInt64(image.Xsdt, 36);
            ulong madt = BitConverter.ToUInt64(image.Xsdt, 44);
            Assert.That(dsl, Does.Match(@"ACPI Table Address\s+0 : " + fadt.ToString("X16")));
            Assert.That(dsl, Does.Match(@"ACPI Table Address\s+1 : " + madt.ToString("X16")));
            Assert.That(Count(dsl, "ACPI Table Address"), Is.EqualTo(2));
        }

        /// <summary>
        /// Compiling iasl's own disassembly gives back our bytes: iasl understood every field,
        /// reserved ones included.
        /// </summary>
        [TestCase("facp")]
        [TestCase("apic")]
        [TestCase("xsdt")]
        public void DataTablesSurviveADisassemblyRoundTrip(string name)
        {
            var image = Image(300);
            byte[] table = name switch { "facp" => image.Fadt, "apic" => image.Madt, _ => image.Xsdt };
            string dsl = Disassemble(name, table);
            var run = Iasl.Compile(_directory, name + "-again", dsl);
            Assert.That(run.Produced, Is.Not.Null, "iasl could not compile its disassembly of " + name + ":\n" + run.Output);
            byte[] again = Convert.FromBase64String(run.Produced);
            // iasl writes its own compiler ID and version (offsets 28-35), so the checksum
            // (offset 9) differs accordingly; it must still sum to zero, and all else be ours.
            Assert.That(again.Length, Is.EqualTo(table.Length));
            Assert.That(AcpiImage.Sum(again), Is.Zero, "iasl's checksum");
            Assert.That(AcpiImage.Ascii(again, 28, 4), Is.EqualTo("INTL"));
            for (int i = 0; i < table.Length; i++)
                if (i != 9 && (i < 28 || i >= 36))
                    Assert.That(again[i], Is.EqualTo(table[i]), name + " byte " + i);
        }

        [Test]
        public void DsdtSurvivesADisassemblyRoundTrip()
        {
            byte[] dsdt = Image().Dsdt;
            string dsl = Disassemble("dsdt", dsdt);
            var run = Iasl.Compile(_directory, "dsdt-again", dsl, "-on");
            Assert.That(run.Produced, Is.Not.Null, run.Output);
            Assert.That(run.Output, Does.Contain("0 Errors, 0 Warnings, 0 Remarks"));
            byte[] again = Convert.FromBase64String(run.Produced);
            // The header differs where iasl puts its own compiler ID and version (offset 28 on).
            Assert.That(again[36..], Is.EqualTo(dsdt[36..]), "the AML");
            Assert.That(again[..28].Where((_, i) => i != 9), Is.EqualTo(dsdt[..28].Where((_, i) => i != 9)), "signature, length, revision, OEM fields");
        }

        /// <summary>
        /// iasl does not disassemble an RSDP (it has no table header), but its data table
        /// compiler builds one: from our field values it must produce our 36 bytes, both
        /// checksums included.
        /// </summary>
        [Test]
        public void IaslBuildsTheSameRsdp()
        {
            var image = Image();
            ulong xsdt = BitConverter.ToUInt64(image.RsdpBytes, 24);
            string source =
                "[0008]                          Signature : \"RSD PTR \"\n" +
                "[0001]                           Checksum : 00\n" +
                "[0006]                             Oem ID : \"PARTN \"\n" +
                "[0001]                           Revision : 02\n" +
                "[0004]                       RSDT Address : 00000000\n" +
                "[0004]                             Length : 00000024\n" +
                "[0008]                       XSDT Address : " + xsdt.ToString("X16") + "\n" +
                "[0001]                  Extended Checksum : 00\n" +
                "[0003]                           Reserved : 000000\n";
            var run = Iasl.Compile(_directory, "rsdp", source);
            Assert.That(run.Produced, Is.Not.Null, run.Output);
            Assert.That(Convert.FromBase64String(run.Produced), Is.EqualTo(image.RsdpBytes));
        }

        private string AcpiExec(string commands, AcpiImage image)
        {
            File.WriteAllBytes(Path.Combine(_directory, "facp.dat"), image.Fadt);
            File.WriteAllBytes(Path.Combine(_directory, "dsdt.dat"), image.Dsdt);
            File.WriteAllBytes(Path.Combine(_directory, "apic.dat"), image.Madt);
            var start = new ProcessStartInfo("acpiexec")
            {
                WorkingDirectory = _directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string argument in new[] { "-b", commands, "facp.dat", "dsdt.dat", "apic.dat" })
                start.ArgumentList.Add(argument);
            using var process = Process.Start(start);
            var stderr = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            Assert.That(process.WaitForExit(30_000), Is.True, "acpiexec did not finish in 30 s");
            output += stderr.Result;
            Assert.That(process.ExitCode, Is.Zero, "acpiexec:\n" + output);
            // Whitespace between the prefix and the signature: acpiexec once wrote "ACPI: \nDSDT" under load.
            Assert.That(output, Does.Match(@"ACPI:\s+FACP").And.Match(@"ACPI:\s+DSDT").And.Match(@"ACPI:\s+APIC"), "tables loaded\n" + output);
            Assert.That(output, Does.Not.Match("(?i)warning|error|AE_AML|AE_BAD|AE_TYPE"), "acpiexec:\n" + output);
            return output;
        }

        /// <summary>ACPICA's resource manager (acpi_walk_resources, what PNPACPI calls) decodes COM1's _CRS.</summary>
        [Test]
        public void AcpicaDecodesTheUartsResources()
        {
            string output = AcpiExec("resources \\_SB.COM1", Image());
            Assert.That(output, Does.Match(@"I/O Resource\s+Address Decoding : Decode16\s+Address Minimum : 03F8\s+Address Maximum : 03F8\s+Alignment : 01\s+Address Length : 08"));
            Assert.That(output, Does.Match(@"IRQ Resource\s+Descriptor Length : 02\s+Triggering : Edge\s+Polarity : ActiveHigh\s+Sharing : Exclusive\s+Interrupt Count : 01\s+Interrupt List : 4\s"));
        }

        /// <summary>Every predefined name evaluates to the type ACPICA expects (_HID, _UID, _STA, _CRS, \_S5).</summary>
        [Test]
        public void AcpicaEvaluatesEveryPredefinedName()
        {
            string output = AcpiExec("execute predefined", Image());
            foreach (string name in new[] { "_HID", "_UID", "_STA", "_CRS" })
                Assert.That(output, Does.Contain("\\_SB_.COM1." + name + " ").And.Contain("returned AE_OK"), name);
            Assert.That(output, Does.Match(@"\\_SB_.COM1._STA\s+returned AE_OK[^\[]*\[Integer\] = 000000000000000F"));
            Assert.That(output, Does.Match(@"\\_SB_.COM1._HID\s+returned AE_OK[^\[]*\[Integer\] = 000000000105D041"));
        }

        /// <summary>
        /// S5 goes through ACPICA's hardware-reduced path (hwesleep.c) with \_S5's SLP_TYP: what
        /// Linux does on power-off, and why it offers power-off at all.
        /// </summary>
        [Test]
        public void AcpicaSleepsToS5ThroughTheSleepControlRegister()
        {
            string output = AcpiExec("sleep 5", Image());
            Assert.That(output, Does.Contain("Register values for sleep state S5: Sleep-A: 05"));
            Assert.That(output, Does.Contain("HwExtendedSleep"), "the extended (hardware-reduced) sleep path");
            Assert.That(output, Does.Contain("Entering sleep state [S5]"));
        }
    }
}
