using System;
using System.IO;
using System.Text;
using NUnit.Framework;
using Partition.Kernel;
using Partition.Tests.Support;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The AML encoder, byte by byte against ACPI 6.4 chapter 20 and against what iasl compiles
    /// from the same ASL.
    /// </summary>
    public class AmlWriterTests
    {
        private delegate void Write(ref AmlWriter aml);

        private static byte[] Encode(Write write, int capacity = 65536)
        {
            var buffer = new byte[capacity];
            var aml = new AmlWriter(buffer);
            write(ref aml);
            Assert.That(aml.Error, Is.EqualTo(AmlError.None));
            return aml.Written.ToArray();
        }

        private static AmlError ErrorOf(Write write, int capacity = 256)
        {
            var aml = new AmlWriter(new byte[capacity]);
            write(ref aml);
            return aml.Error;
        }

        private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

        private static byte[] Concat(params object[] parts)
        {
            var bytes = new System.Collections.Generic.List<byte>();
            foreach (object part in parts)
            {
                if (part is string s)
                    bytes.AddRange(Ascii(s));
                else if (part is byte[] array)
                    bytes.AddRange(array);
                else
                    bytes.Add(Convert.ToByte(part));
            }
            return bytes.ToArray();
        }

        // ACPI 6.4, 20.2.4: the value counts the PkgLength bytes themselves; one byte holds up
        // to 63, then bits 7:6 say how many bytes follow, bits 3:0 are the low nibble.
        [TestCase(0, new byte[] { 0x01 })]
        [TestCase(62, new byte[] { 0x3F })]
        [TestCase(63, new byte[] { 0x41, 0x04 })]                        // 65 = 0x041
        [TestCase(4093, new byte[] { 0x4F, 0xFF })]                      // 4095 = 0xFFF, the largest in two bytes
        [TestCase(4094, new byte[] { 0x81, 0x00, 0x01 })]                // 4097 = 0x1001
        [TestCase(0xFFFFC, new byte[] { 0x8F, 0xFF, 0xFF })]             // 0xFFFFF
        [TestCase(0xFFFFD, new byte[] { 0xC1, 0x00, 0x00, 0x01 })]       // 0x100001
        [TestCase(0xFFFFFFB, new byte[] { 0xCF, 0xFF, 0xFF, 0xFF })]     // 2^28 - 1, the largest there is
        public void PackageLengthIsTheShortestEncoding(int bodyLength, byte[] expected)
        {
            var bytes = new byte[4];
            int size = AmlWriter.EncodePackageLength(bodyLength, bytes);
            Assert.That(bytes[..size], Is.EqualTo(expected));
            Assert.That(AmlWriter.PackageLengthSize(bodyLength), Is.EqualTo(expected.Length));
        }

        [Test]
        public void PackageLengthBeyond2To28IsRefused()
        {
            Assert.That(AmlWriter.PackageLengthSize(0xFFFFFFC), Is.EqualTo(0));
            Assert.That(AmlWriter.EncodePackageLength(0xFFFFFFC, new byte[4]), Is.EqualTo(0));
            Assert.That(AmlWriter.EncodePackageLength(100, new byte[1]), Is.EqualTo(0), "no room for two bytes");
        }

        // ACPI 6.4, 20.2.2: NameSeg padded with '_', DualNamePrefix 0x2E, MultiNamePrefix 0x2F
        // with a count, RootChar 0x5C, ParentPrefixChar 0x5E, NullName 0x00.
        [TestCase("_SB", "5F53425F")]
        [TestCase("COM1", "434F4D31")]
        [TestCase("\\_SB", "5C5F53425F")]
        [TestCase("\\_SB.COM1", "5C2E5F53425F434F4D31")]
        [TestCase("\\_SB.PCI0.ISA", "5C2F035F53425F50434930495341 5F")]
        [TestCase("^^FOO", "5E5E464F4F5F")]
        [TestCase("\\", "5C00")]
        public void NameStrings(string path, string hex)
        {
            byte[] bytes = Encode((ref AmlWriter aml) => aml.NameString(path));
            Assert.That(Convert.ToHexString(bytes), Is.EqualTo(hex.Replace(" ", "")));
        }

        [TestCase("")]
        [TestCase("^")]
        [TestCase("com1")]
        [TestCase("1ABC")]
        [TestCase("ABCDE")]
        [TestCase("A..B")]
        [TestCase("\\_SB.")]
        [TestCase("_S-5")]
        public void InvalidNamesStopTheWriter(string path)
        {
            Assert.That(ErrorOf((ref AmlWriter aml) => aml.NameString(path)), Is.EqualTo(AmlError.InvalidName));
        }

        // ACPI 6.4, 20.2.3: ZeroOp, OneOp, OnesOp, then Byte/Word/DWord/QWord prefixes.
        [TestCase(0UL, "00")]
        [TestCase(1UL, "01")]
        [TestCase(2UL, "0A02")]
        [TestCase(0xFFUL, "0AFF")]
        [TestCase(0x100UL, "0B0001")]
        [TestCase(0xFFFFUL, "0BFFFF")]
        [TestCase(0x10000UL, "0C00000100")]
        [TestCase(0xFFFFFFFFUL, "0CFFFFFFFF")]
        [TestCase(0x100000000UL, "0E0000000001000000")]
        [TestCase(0xFFFFFFFFFFFFFFFEUL, "0EFEFFFFFFFFFFFFFF")]
        [TestCase(ulong.MaxValue, "FF")]
        public void IntegersInTheirShortestForm(ulong value, string hex)
        {
            Assert.That(Convert.ToHexString(Encode((ref AmlWriter aml) => aml.Integer(value))), Is.EqualTo(hex));
        }

        [Test]
        public void StringsAreNullTerminatedAscii()
        {
            Assert.That(Encode((ref AmlWriter aml) => aml.String("ACPI0007")), Is.EqualTo(Concat(0x0D, "ACPI0007", 0)));
            Assert.That(ErrorOf((ref AmlWriter aml) => aml.String("caf\u00e9")), Is.EqualTo(AmlError.InvalidArgument));
        }

        // The compressed EISA ID: 5-bit letters, big-endian, then the hex digits as two bytes.
        [TestCase("PNP0501", 0x0105D041u)]
        [TestCase("PNP0A03", 0x030AD041u)]
        [TestCase("PNP0C0F", 0x0F0CD041u)]
        [TestCase("ACP0001", 0x01007004u)]
        public void EisaIds(string id, uint expected)
        {
            Assert.That(AmlWriter.TryEncodeEisaId(id, out uint value), Is.True);
            Assert.That(value, Is.EqualTo(expected));
            byte[] bytes = Encode((ref AmlWriter aml) => aml.EisaId(id));
            Assert.That(bytes, Is.EqualTo(Concat(0x0C, BitConverter.GetBytes(expected))));
        }

        [TestCase("pnp0501")]
        [TestCase("PNP050")]
        [TestCase("PNP05011")]
        [TestCase("PNP050G")]
        [TestCase("P1P0501")]
        public void InvalidEisaIdsStopTheWriter(string id)
        {
            Assert.That(AmlWriter.TryEncodeEisaId(id, out _), Is.False);
            Assert.That(ErrorOf((ref AmlWriter aml) => aml.EisaId(id)), Is.EqualTo(AmlError.InvalidEisaId));
        }

        [Test]
        public void MethodReturningAConstant()
        {
            // Method (_STA, 0, NotSerialized) { Return (0x0F) }: MethodOp, PkgLength 9, name, flags 0.
            byte[] bytes = Encode((ref AmlWriter aml) =>
            {
                int method = aml.BeginMethod("_STA", 0, serialized: false);
                aml.Return();
                aml.Integer(0x0F);
                aml.End(method);
            });
            Assert.That(bytes, Is.EqualTo(Concat(0x14, 0x09, "_STA", 0x00, 0xA4, 0x0A, 0x0F)));
        }

        [Test]
        public void MethodFlagsHoldArgumentCountAndSerialization()
        {
            byte[] bytes = Encode((ref AmlWriter aml) =>
            {
                int method = aml.BeginMethod("_PTS", 1, serialized: true);
                aml.End(method);
            });
            Assert.That(bytes, Is.EqualTo(Concat(0x14, 0x06, "_PTS", 0x09)));
            Assert.That(ErrorOf((ref AmlWriter aml) => aml.BeginMethod("_PTS", 8, false)), Is.EqualTo(AmlError.InvalidArgument));
        }

        [Test]
        public void PackageCountsItsElements()
        {
            // Name (\_S5, Package (4) { 5, 5, 0, 0 })
            byte[] bytes = Encode((ref AmlWriter aml) =>
            {
                aml.Name("\\_S5");
                int package = aml.BeginPackage(4);
                aml.Integer(5);
                aml.Integer(5);
                aml.Integer(0);
                aml.Integer(0);
                aml.End(package);
            });
            Assert.That(bytes, Is.EqualTo(Concat(0x08, 0x5C, "_S5_", 0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00)));
            Assert.That(ErrorOf((ref AmlWriter aml) => aml.BeginPackage(256)), Is.EqualTo(AmlError.InvalidArgument));
        }

        [Test]
        public void ResourceTemplateWithIoPortAndIrq()
        {
            // ResourceTemplate () { IO (Decode16, 0x3F8, 0x3F8, 1, 8) IRQNoFlags () {4} }:
            // BufferOp, PkgLength, BufferSize 13, then the descriptors and the End Tag.
            byte[] bytes = Encode((ref AmlWriter aml) =>
            {
                int template = aml.BeginResourceTemplate();
                aml.IoPort(true, 0x3F8, 0x3F8, 1, 8);
                aml.IrqNoFlags(1 << 4);
                aml.EndResourceTemplate(template);
            });
            Assert.That(Convert.ToHexString(bytes), Is.EqualTo("11100A0D4701F803F803010822100079" + "00"));
        }

        [Test]
        public void BodiesAreMovedUpWhenTheirLengthNeedsMoreBytes()
        {
            // A device whose body is 100 bytes takes a two-byte PkgLength: its name and contents
            // must come out whole after the insertion.
            byte[] bytes = Encode((ref AmlWriter aml) =>
            {
                int device = aml.BeginDevice("DEV0");
                for (int i = 0; i < 96; i++)
                    aml.Byte((byte)i);
                aml.End(device);
            });
            Assert.That(bytes[..5], Is.EqualTo(new byte[] { 0x5B, 0x82, 0x46, 0x06, (byte)'D' }), "ExtOp, DeviceOp, PkgLength 102 = 0x066");
            Assert.That(bytes[4..8], Is.EqualTo(Ascii("DEV0")));
            for (int i = 0; i < 96; i++)
                Assert.That(bytes[8 + i], Is.EqualTo((byte)i));
        }

        [Test]
        public void AFullBufferStopsTheWriterWithoutThrowing()
        {
            for (int capacity = 0; capacity < 17; capacity++)
            {
                var buffer = new byte[capacity];
                var aml = new AmlWriter(buffer);
                int template = aml.BeginResourceTemplate();
                aml.IoPort(true, 0x3F8, 0x3F8, 1, 8);
                aml.IrqNoFlags(1 << 4);
                aml.EndResourceTemplate(template);
                aml.Integer(7); // ignored after the failure
                Assert.That(aml.Error, Is.EqualTo(AmlError.BufferFull), "capacity " + capacity);
                Assert.That(aml.Length, Is.LessThanOrEqualTo(capacity));
            }
            var exact = new AmlWriter(new byte[17]);
            int t = exact.BeginResourceTemplate();
            exact.IoPort(true, 0x3F8, 0x3F8, 1, 8);
            exact.IrqNoFlags(1 << 4);
            exact.EndResourceTemplate(t);
            Assert.That(exact.Error, Is.EqualTo(AmlError.None), "17 bytes are enough");
        }

        [Test]
        public void AnEndWithoutABeginIsRefused()
        {
            Assert.That(ErrorOf((ref AmlWriter aml) => aml.End(5)), Is.EqualTo(AmlError.InvalidArgument));
            Assert.That(ErrorOf((ref AmlWriter aml) => aml.EndBuffer(-1)), Is.EqualTo(AmlError.InvalidArgument));
        }

        private static string TempDirectory()
        {
            string directory = Path.Combine(Path.GetTempPath(), "partition-aml-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(directory);
            return directory;
        }

        private static string Hex(byte[] bytes, int from) => Convert.ToHexString(bytes, from, bytes.Length - from);

        /// <summary>
        /// The writer's bytes equal iasl's for the same ASL (compiled with -on, which keeps the
        /// '\' prefixes as written), with bodies long enough for one-, two- and three-byte
        /// PkgLengths and buffer sizes of every integer width.
        /// </summary>
        [TestCase(5)]
        [TestCase(70)]
        [TestCase(300)]
        [TestCase(5000)]
        public void SameBytesAsIasl(int bufferSize)
        {
            var asl = new StringBuilder();
            asl.AppendLine("DefinitionBlock (\"\", \"SSDT\", 2, \"PARTN \", \"AMLTEST\", 1)");
            asl.AppendLine("{");
            asl.AppendLine("  Scope (\\_SB) {");
            asl.AppendLine("    Device (DEV0) {");
            asl.AppendLine("      Name (_HID, EisaId (\"PNP0C0F\"))");
            asl.AppendLine("      Name (_UID, 0x1234)");
            asl.AppendLine("      Method (_STA, 0, NotSerialized) { Return (0x0F) }");
            asl.AppendLine("      Method (_PS0, 1, Serialized) { Return (0xFFFFFFFF0) }");
            asl.Append("      Name (BUF0, Buffer (" + bufferSize + ") {");
            for (int i = 0; i < bufferSize; i++)
                asl.Append(i == 0 ? "" : ", ").Append("0x").Append((i * 7 & 0xFF).ToString("X2"));
            asl.AppendLine("})");
            asl.AppendLine("      Name (_CRS, ResourceTemplate () { IO (Decode16, 0x02F8, 0x02F8, 0x01, 0x08) IRQNoFlags () {3} })");
            asl.AppendLine("    }");
            asl.AppendLine("  }");
            asl.AppendLine("  Name (\\_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })");
            asl.AppendLine("  Name (\\_SB.DEV0.STR0, \"ACPI0007\")");
            asl.AppendLine("}");

            byte[] ours = Encode((ref AmlWriter aml) =>
            {
                int scope = aml.BeginScope("\\_SB");
                int device = aml.BeginDevice("DEV0");
                aml.Name("_HID");
                aml.EisaId("PNP0C0F");
                aml.Name("_UID");
                aml.Integer(0x1234);
                int sta = aml.BeginMethod("_STA", 0, false);
                aml.Return();
                aml.Integer(0x0F);
                aml.End(sta);
                int ps0 = aml.BeginMethod("_PS0", 1, true);
                aml.Return();
                aml.Integer(0xFFFFFFFF0);
                aml.End(ps0);
                aml.Name("BUF0");
                int buffer = aml.BeginBuffer();
                for (int i = 0; i < bufferSize; i++)
                    aml.Byte((byte)(i * 7));
                aml.EndBuffer(buffer);
                aml.Name("_CRS");
                int template = aml.BeginResourceTemplate();
                aml.IoPort(true, 0x2F8, 0x2F8, 1, 8);
                aml.IrqNoFlags(1 << 3);
                aml.EndResourceTemplate(template);
                aml.End(device);
                aml.End(scope);
                aml.Name("\\_S5");
                int package = aml.BeginPackage(4);
                aml.Integer(5);
                aml.Integer(5);
                aml.Integer(0);
                aml.Integer(0);
                aml.End(package);
                aml.Name("\\_SB.DEV0.STR0");
                aml.String("ACPI0007");
            });

            string directory = TempDirectory();
            try
            {
                var run = Iasl.Compile(directory, "test", asl.ToString(), "-on");
                Assert.That(run.Produced, Is.Not.Null, "iasl did not compile the reference ASL:\n" + run.Output);
                byte[] reference = Convert.FromBase64String(run.Produced);
                Assert.That(Hex(ours, 0), Is.EqualTo(Hex(reference, 36)), "AML after the 36-byte table header");
            }
            finally
            {
                Directory.Delete(directory, true);
            }
        }
    }
}
