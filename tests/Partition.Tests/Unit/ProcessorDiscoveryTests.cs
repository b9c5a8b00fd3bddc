using System;
using System.Runtime.InteropServices;
using System.Text;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>ACPI MADT and MP table parsing over tables built in memory, as firmware lays them out.</summary>
    public unsafe class ProcessorDiscoveryTests
    {
        private byte* _memory;
        private const int Size = 8192;

        // Firmware tables hold 32-bit physical pointers: the memory must lie below 4 GiB, as it
        // does on the machine (mmap with MAP_32BIT).
        [DllImport("libc", SetLastError = true)]
        private static extern void* mmap(void* address, nuint length, int protection, int flags, int fd, nint offset);

        [DllImport("libc")]
        private static extern int munmap(void* address, nuint length);

        [SetUp]
        public void Allocate()
        {
            const int read = 1, write = 2, privateMapping = 0x02, anonymous = 0x20, below4G = 0x40;
            _memory = (byte*)mmap(null, Size, read | write, privateMapping | anonymous | below4G, -1, 0);
            Assert.That((ulong)_memory, Is.LessThan(1UL << 32).And.Not.EqualTo(ulong.MaxValue), "mmap below 4 GiB");
        }

        [TearDown]
        public void Release() => munmap(_memory, Size);

        private void Put(int at, string text) => Encoding.ASCII.GetBytes(text).CopyTo(new Span<byte>(_memory + at, text.Length));

        private void FixChecksum(int start, int length, int checksumAt)
        {
            _memory[checksumAt] = 0;
            byte sum = 0;
            for (int i = 0; i < length; i++)
                sum += _memory[start + i];
            _memory[checksumAt] = (byte)(0 - sum);
        }

        // MP floating pointer at 0, configuration table at 0x100: processors APIC 0 and 2 enabled,
        // APIC 1 disabled, then a bus entry and one more processor (APIC 3).
        private byte* BuildMpTable()
        {
            Put(0, "_MP_");
            *(uint*)(_memory + 4) = (uint)(ulong)(_memory + 0x100);
            _memory[8] = 1;
            FixChecksum(0, 16, 10);
            byte* t = _memory + 0x100;
            Put(0x100, "PCMP");
            int at = 44;
            foreach (var (apic, flags) in new[] { (0, 3), (1, 0), (2, 1) })
            {
                t[at] = 0; t[at + 1] = (byte)apic; t[at + 3] = (byte)flags;
                at += 20;
            }
            t[at] = 1; at += 8;                     // a bus entry
            t[at] = 0; t[at + 1] = 3; t[at + 3] = 1; at += 20;
            *(ushort*)(t + 4) = (ushort)at;
            *(ushort*)(t + 34) = 5;
            FixChecksum(0x100, at, 0x100 + 7);
            return _memory;
        }

        [Test]
        public void MpTableListsEnabledProcessors()
        {
            byte* pointer = MpTable.Search(BuildMpTable(), 1024);
            Assert.That(pointer != null, Is.True);
            uint* ids = stackalloc uint[8];
            int count = MpTable.ReadConfiguration(pointer, ids, 8);
            Assert.That(new[] { ids[0], ids[1], ids[2] }.AsSpan(0, count).ToArray(), Is.EqualTo(new uint[] { 0, 2, 3 }));
        }

        [Test]
        public void MpTableWithABadChecksumIsIgnored()
        {
            BuildMpTable();
            _memory[0x100 + 50]++;                  // corrupt the configuration table
            uint* ids = stackalloc uint[8];
            Assert.That(MpTable.ReadConfiguration(MpTable.Search(_memory, 1024), ids, 8), Is.Zero);
            _memory[12]++;                          // and the floating pointer
            Assert.That(MpTable.Search(_memory, 1024) == null, Is.True);
        }

        [Test]
        public void MadtListsLocalApicAndX2ApicProcessors()
        {
            // RSDP (revision 0) at 0 -> RSDT at 0x100 -> MADT at 0x200.
            Put(0, "RSD PTR ");
            *(uint*)(_memory + 16) = (uint)(ulong)(_memory + 0x100);
            Put(0x100, "RSDT");
            *(uint*)(_memory + 0x104) = 40;
            *(uint*)(_memory + 0x100 + 36) = (uint)(ulong)(_memory + 0x200);
            Put(0x200, "APIC");
            int at = 44;
            byte* m = _memory + 0x200;
            m[at] = 0; m[at + 1] = 8; m[at + 3] = 0; *(uint*)(m + at + 4) = 1; at += 8;     // APIC ID 0, enabled
            m[at] = 0; m[at + 1] = 8; m[at + 3] = 1; *(uint*)(m + at + 4) = 0; at += 8;     // APIC ID 1, disabled
            m[at] = 9; m[at + 1] = 16; *(uint*)(m + at + 4) = 300; *(uint*)(m + at + 8) = 2; at += 16; // x2APIC 300, online capable
            *(uint*)(m + 4) = (uint)at;
            uint* ids = stackalloc uint[8];
            int count = Acpi.FindProcessors(_memory, ids, 8);
            Assert.That(count, Is.EqualTo(2));
            Assert.That((ids[0], ids[1]), Is.EqualTo((0u, 300u)));
        }
    }
}
