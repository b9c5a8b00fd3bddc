using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    public class VmcsFieldTests
    {
        private static Dictionary<string, uint> SdmTable()
        {
            string path = Path.Combine(TestContext.CurrentContext.TestDirectory, "Unit", "Data", "vmcs-fields.tsv");
            return File.ReadLines(path)
                .Where(line => line.Length > 0 && !line.StartsWith('#'))
                .Select(line => line.Split('\t'))
                .ToDictionary(p => p[0], p => uint.Parse(p[1].AsSpan(2), NumberStyles.HexNumber));
        }

        private static IEnumerable<PropertyInfo> Fields() =>
            typeof(VmcsField).GetProperties(BindingFlags.Public | BindingFlags.Static).Where(p => p.PropertyType == typeof(VmcsField));

        [Test]
        public void EveryFieldMatchesTheSdmTableAndEveryRowHasAField()
        {
            var table = SdmTable();
            var fields = Fields().ToDictionary(p => p.Name, p => ((VmcsField)p.GetValue(null)).Encoding);
            Assert.Multiple(() =>
            {
                foreach (var (name, encoding) in fields)
                {
                    Assert.That(table.ContainsKey(name), $"{name} is not in the SDM table");
                    if (table.TryGetValue(name, out uint expected))
                        Assert.That(encoding, Is.EqualTo(expected), $"{name}: 0x{encoding:X4}, SDM says 0x{expected:X4}");
                }
                foreach (string name in table.Keys)
                    Assert.That(fields.ContainsKey(name), $"SDM row {name} has no VmcsField");
            });
            Assert.That(fields, Has.Count.GreaterThan(140));
        }

        [Test]
        public void EncodingsAreUnique()
        {
            var encodings = Fields().Select(p => ((VmcsField)p.GetValue(null)).Encoding).ToList();
            Assert.That(encodings, Is.Unique);
        }

        [Test]
        public void DecodesWidthTypeAndIndex()
        {
            var rip = VmcsField.GuestRip;
            Assert.That(rip.Width, Is.EqualTo(VmcsFieldWidth.Natural));
            Assert.That(rip.Type, Is.EqualTo(VmcsFieldType.GuestState));
            Assert.That(rip.Index, Is.EqualTo(15));
            Assert.That(VmcsField.ExitReason.IsReadOnly, Is.True);
            Assert.That(VmcsField.GuestCsSelector.WidthMask, Is.EqualTo(0xFFFFUL));
            Assert.That(VmcsField.PinBasedControls.WidthMask, Is.EqualTo(0xFFFFFFFFUL));
        }
    }
}
