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

        // RSDP (revision 0) at 0 -> RSDT at 0x100 -> a MADT at 0x200 with the given entries after its header.
        private void BuildMadt(params byte[][] entries)
        {
            Put(0, "RSD PTR ");
            *(uint*)(_memory + 16) = (uint)(ulong)(_memory + 0x100);
            Put(0x100, "RSDT");
            *(uint*)(_memory + 0x104) = 40;
            *(uint*)(_memory + 0x100 + 36) = (uint)(ulong)(_memory + 0x200);
            Put(0x200, "APIC");
            int at = 44;
            foreach (var entry in entries)
            {
                entry.CopyTo(new Span<byte>(_memory + 0x200 + at, entry.Length));
                at += entry.Length;
            }
            *(uint*)(_memory + 0x204) = (uint)at;
        }

        private static byte[] IoApic(byte id, uint address, uint gsiBase)
        {
            var entry = new byte[12];
            entry[0] = 1; entry[1] = 12; entry[2] = id;
            BitConverter.GetBytes(address).CopyTo(entry, 4);
            BitConverter.GetBytes(gsiBase).CopyTo(entry, 8);
            return entry;
        }

        private static byte[] SourceOverride(byte irq, uint gsi, ushort flags)
        {
            var entry = new byte[10];
            entry[0] = 2; entry[1] = 10; entry[2] = 0; entry[3] = irq;
            BitConverter.GetBytes(gsi).CopyTo(entry, 4);
            BitConverter.GetBytes(flags).CopyTo(entry, 8);
            return entry;
        }

        [Test]
        public void An_ISA_IRQ_reaches_the_IO_APIC_input_of_its_GSI_as_the_MADT_overrides_it_or_ISA_signals_it()
        {
            BuildMadt(IoApic(1, 0xFEC0_0000, 0), SourceOverride(0, 2, 0), IoApic(2, 0xFEC0_1000, 24), SourceOverride(4, 28, 0xF));
            Assert.That(Acpi.FindIsaRoute(_memory, 3, out var route), Is.True);
            Assert.That((route.IoApicAddress, route.GsiBase, route.Pin, route.ActiveLow, route.LevelTriggered),
                Is.EqualTo((0xFEC0_0000UL, 0u, 3, false, false)), "no override: GSI = IRQ, active high, edge (ISA)");
            Assert.That(Acpi.FindIsaRoute(_memory, 0, out route) && route.Pin == 2 && !route.LevelTriggered, Is.True, "the timer's usual override to GSI 2 (flags 0: as the bus signals)");
            Assert.That(Acpi.FindIsaRoute(_memory, 4, out route), Is.True);
            Assert.That((route.IoApicAddress, route.GsiBase, route.Pin, route.ActiveLow, route.LevelTriggered),
                Is.EqualTo((0xFEC0_1000UL, 24u, 4, true, true)), "GSI 28 is the second I/O APIC's input 4; flags 1111b: active low, level");

            BuildMadt(SourceOverride(4, 4, 0));
            Assert.That(Acpi.FindIsaRoute(_memory, 4, out _), Is.False, "no I/O APIC");
            Assert.That(Acpi.FindIsaRoute(null, 4, out _), Is.False, "no RSDP");
        }
    }
}
