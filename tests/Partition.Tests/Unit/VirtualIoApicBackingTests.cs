using System.Collections.Generic;
using System.Linq;
using NUnit.Framework;
using Partition.Devices;

namespace Partition.Tests.Unit
{
    /// <summary>Records what a virtual I/O APIC tells the physical side of its backed inputs, in order.</summary>
    public sealed class RecordingPhysicalLines : IPhysicalInterruptLines
    {
        public readonly List<(int Pin, ulong Entry)> Entries = new List<(int, ulong)>();
        public readonly List<int> LevelsEnded = new List<int>();

        public void EntryWritten(int pin, ulong entry) => Entries.Add((pin, entry));

        public void LevelEnded(int pin) => LevelsEnded.Add(pin);

        /// <summary>The last entry reported for <paramref name="pin"/>, or null.</summary>
        public ulong? Last(int pin)
        {
            for (int i = Entries.Count - 1; i >= 0; i--)
                if (Entries[i].Pin == pin)
                    return Entries[i].Entry;
            return null;
        }

        public void Clear()
        {
            Entries.Clear();
            LevelsEnded.Clear();
        }
    }

    /// <summary>
    /// The host partition's I/O APIC backed by the machine's (<see cref="VirtualIoApic.BackWith"/>,
    /// <see cref="IPhysicalInterruptLines"/>): the guest's redirection entries of backed inputs
    /// reach the physical side as written, masking included; a level-triggered interrupt from a
    /// backed input is ended there (mask-and-EOI), and inputs that are not backed never are.
    /// </summary>
    public class VirtualIoApicBackingTests
    {
        private const ulong Masked = 1UL << 16, RemoteIrr = 1UL << 14, Level = 1UL << 15;
        // Pins 2 and 8 are the host's own virtual devices' (as the PIT and the RTC would be); the rest is the machine's.
        private const uint VirtualPins = 1u << 2 | 1u << 8;
        private const uint Backed = 0x00FF_FFFF & ~VirtualPins;

        private RecordingSink _sink;
        private RecordingPhysicalLines _lines;
        private VirtualIoApic _ioApic;

        [SetUp]
        public void Machine()
        {
            _sink = new RecordingSink();
            _lines = new RecordingPhysicalLines();
            _ioApic = new VirtualIoApic(0, _sink);
            _ioApic.BackWith(_lines, Backed);
        }

        private void IoApicWrite(uint register, uint value)
        {
            _ioApic.Write(VirtualIoApic.IoRegSel, 4, register);
            _ioApic.Write(VirtualIoApic.IoWin, 4, value);
        }

        private uint IoApicRead(uint register)
        {
            _ioApic.Write(VirtualIoApic.IoRegSel, 4, register);
            return _ioApic.Read(VirtualIoApic.IoWin, 4);
        }

        // Linux's __ioapic_write_entry: the high word first, then the low word (which may unmask).
        private void WriteEntry(int pin, ulong entry)
        {
            IoApicWrite(0x11 + 2 * (uint)pin, (uint)(entry >> 32));
            IoApicWrite(0x10 + 2 * (uint)pin, (uint)entry);
        }

        private ulong ReadEntry(int pin) => IoApicRead(0x10 + 2 * (uint)pin) | (ulong)IoApicRead(0x11 + 2 * (uint)pin) << 32;

        private static ulong Entry(byte vector, byte destination, bool level = false, bool masked = false, bool activeLow = false) =>
            vector | (level ? Level : 0) | (masked ? Masked : 0) | (activeLow ? 1UL << 13 : 0) | (ulong)destination << 56;

        [Test]
        public void BackWith_reports_each_backed_input_once_masked_and_no_other()
        {
            Assert.That(_ioApic.BackedPins, Is.EqualTo(Backed));
            Assert.That(_lines.Entries.Select(e => e.Pin), Is.EqualTo(Enumerable.Range(0, VirtualIoApic.PinCount).Where(p => (Backed & 1u << p) != 0)));
            Assert.That(_lines.Entries.All(e => e.Entry == Masked), Is.True, "the reset state: masked, the rest 0");
            Assert.That(_lines.LevelsEnded, Is.Empty);
        }

        [Test]
        public void BackWith_reports_the_entries_as_they_are_when_backing_starts()
        {
            var ioApic = new VirtualIoApic(0, _sink);
            var lines = new RecordingPhysicalLines();
            ulong entry = Entry(0x31, 1, level: true, activeLow: true);
            ioApic.Write(VirtualIoApic.IoRegSel, 4, 0x10 + 2 * 9 + 1);
            ioApic.Write(VirtualIoApic.IoWin, 4, (uint)(entry >> 32));
            ioApic.Write(VirtualIoApic.IoRegSel, 4, 0x10 + 2 * 9);
            ioApic.Write(VirtualIoApic.IoWin, 4, (uint)entry);
            ioApic.BackWith(lines, 1u << 9 | 1u << 10);
            Assert.That(lines.Entries, Is.EqualTo(new[] { (9, entry), (10, Masked) }));
        }

        [Test]
        public void Only_the_24_inputs_there_are_can_be_backed_and_no_lines_backs_none()
        {
            var ioApic = new VirtualIoApic(0, _sink);
            var lines = new RecordingPhysicalLines();
            ioApic.BackWith(lines, ~0u);
            Assert.That(ioApic.BackedPins, Is.EqualTo(0x00FF_FFFFu));
            Assert.That(lines.Entries, Has.Count.EqualTo(VirtualIoApic.PinCount));

            ioApic.BackWith(null, ~0u);
            Assert.That(ioApic.BackedPins, Is.Zero);
            ioApic.Write(VirtualIoApic.IoRegSel, 4, 0x10);
            ioApic.Write(VirtualIoApic.IoWin, 4, 0x30);     // nothing to report it to, and nothing fails
            ioApic.Reset();
            Assert.That(ioApic.RedirectionEntry(0), Is.EqualTo(Masked));
        }

        [Test]
        public void A_guest_write_to_a_backed_entry_reaches_the_physical_side_as_the_guest_reads_it_back()
        {
            _lines.Clear();
            ulong entry = Entry(0x3E, 1, masked: true);         // ISA IRQ 14 (ATA), as mp_setup_entry leaves it
            WriteEntry(14, entry);
            Assert.That(_lines.Entries, Is.EqualTo(new[] { (14, Masked | (ulong)1 << 56), (14, entry) }),
                "each dword written is reported, the whole entry each time");
            Assert.That(_lines.Last(14), Is.EqualTo(ReadEntry(14)));

            // unmask_ioapic_irq: the low word only.
            IoApicWrite(0x10 + 2 * 14, (uint)(entry & ~Masked));
            Assert.That(_lines.Last(14), Is.EqualTo(entry & ~Masked));
            Assert.That(_lines.Entries, Has.Count.EqualTo(3));
            Assert.That(_sink.Messages, Is.Empty, "programming an entry interrupts nobody");
        }

        [Test]
        public void Read_only_and_reserved_bits_reach_the_physical_side_as_the_guest_would_read_them()
        {
            _lines.Clear();
            IoApicWrite(0x11 + 2 * 5, 0xFFFF_FFFF);
            IoApicWrite(0x10 + 2 * 5, 0xFFFF_FFFF);
            Assert.That(_lines.Last(5), Is.EqualTo(ReadEntry(5)));
            Assert.That(_lines.Last(5) & (RemoteIrr | 1UL << 12 | 0xFFFEUL << 16 | 0xFF_FFFFUL << 32), Is.Zero,
                "no delivery status, Remote IRR or reserved bits from a guest write");
        }

        [Test]
        public void Masking_a_backed_entry_is_reported_and_so_is_unmasking_it()
        {
            WriteEntry(12, Entry(0x3C, 0));                     // ISA IRQ 12 (mouse), unmasked
            _lines.Clear();
            IoApicWrite(0x10 + 2 * 12, (uint)(Entry(0x3C, 0) | Masked));   // mask_ioapic_irq
            Assert.That(_lines.Entries, Is.EqualTo(new[] { (12, Entry(0x3C, 0) | Masked) }));
            IoApicWrite(0x10 + 2 * 12, (uint)Entry(0x3C, 0));
            Assert.That(_lines.Last(12), Is.EqualTo(Entry(0x3C, 0)));
        }

        [Test]
        public void Entries_of_the_virtual_devices_inputs_stay_with_the_virtual_I_O_APIC()
        {
            _lines.Clear();
            WriteEntry(2, Entry(0x30, 0));
            WriteEntry(8, Entry(0x38, 0, level: true));
            _ioApic.SetLevel(8, true);
            _ioApic.EndOfInterrupt(0x38);
            Assert.That(_lines.Entries, Is.Empty);
            Assert.That(_lines.LevelsEnded, Is.Empty, "a virtual device's level line is not the machine's");
            Assert.That(_sink.Messages, Has.Count.EqualTo(2), "and it is still asserted: delivered again after the EOI");
        }

        [Test]
        public void A_backed_level_interrupt_is_delivered_once_and_ended_on_the_physical_side_by_the_guests_EOI()
        {
            // An ACPI SCI on GSI 9: level, active low. The physical side has masked the real pin
            // and asserts the input.
            WriteEntry(9, Entry(0x29, 0, level: true, activeLow: true));
            _lines.Clear();
            _ioApic.SetLevel(9, true);
            Assert.That(_sink.Messages, Has.Count.EqualTo(1));
            Assert.That((_sink.Messages[0].Vector, _sink.Messages[0].LevelTriggered), Is.EqualTo(((byte)0x29, true)));
            Assert.That(_ioApic.RedirectionEntry(9) & RemoteIrr, Is.Not.Zero);
            Assert.That(_lines.LevelsEnded, Is.Empty, "not before the guest's EOI");

            _ioApic.EndOfInterrupt(0x29);                       // the local APIC's broadcast EOI
            Assert.That(_lines.LevelsEnded, Is.EqualTo(new[] { 9 }));
            Assert.That(_ioApic.RedirectionEntry(9) & RemoteIrr, Is.Zero);
            Assert.That(_sink.Messages, Has.Count.EqualTo(1),
                "the input is deasserted: whether the device still holds its line is for the real pin to say");
            Assert.That(_lines.Entries, Is.Empty, "ending the interrupt is not a guest write of the entry");

            // The device still holds its line: the unmasked real pin interrupts again.
            _ioApic.SetLevel(9, true);
            Assert.That(_sink.Messages, Has.Count.EqualTo(2));
            _ioApic.Write(VirtualIoApic.Eoi, 4, 0x29);          // io_apic_eoi: the EOI register ends it too
            Assert.That(_lines.LevelsEnded, Is.EqualTo(new[] { 9, 9 }));
            Assert.That(_ioApic.Delivered(9), Is.EqualTo(2));
        }

        [Test]
        public void An_EOI_ends_only_the_backed_level_interrupts_in_service_with_that_vector()
        {
            WriteEntry(10, Entry(0x2A, 0, level: true));
            WriteEntry(11, Entry(0x2A, 0, level: true));        // shares the vector, not in service
            WriteEntry(16, Entry(0x50, 0, level: true));        // in service, another vector
            WriteEntry(1, Entry(0x2A, 0));                      // edge-triggered, same vector
            _ioApic.SetLevel(10, true);
            _ioApic.SetLevel(16, true);
            _ioApic.SetLevel(1, true);
            _ioApic.SetLevel(1, false);
            Assert.That(_sink.Messages, Has.Count.EqualTo(3));
            _lines.Clear();

            _ioApic.EndOfInterrupt(0x2A);
            Assert.That(_lines.LevelsEnded, Is.EqualTo(new[] { 10 }));
            _ioApic.EndOfInterrupt(0x2A);
            Assert.That(_lines.LevelsEnded, Is.EqualTo(new[] { 10 }), "a second EOI finds nothing in service");
            _ioApic.EndOfInterrupt(0x50);
            Assert.That(_lines.LevelsEnded, Is.EqualTo(new[] { 10, 16 }));
        }

        [Test]
        public void A_backed_edge_interrupt_is_a_pulse_and_needs_nothing_ended()
        {
            WriteEntry(1, Entry(0x31, 0));                      // the keyboard
            _lines.Clear();
            _ioApic.SetLevel(1, true);
            _ioApic.SetLevel(1, false);
            _ioApic.SetLevel(1, true);
            _ioApic.SetLevel(1, false);
            Assert.That(_sink.Messages.Select(m => (m.Vector, m.LevelTriggered)), Is.EqualTo(new[] { ((byte)0x31, false), ((byte)0x31, false) }));
            _ioApic.EndOfInterrupt(0x31);
            Assert.That(_lines.LevelsEnded, Is.Empty);
        }

        [Test]
        public void A_masked_backed_entry_delivers_nothing()
        {
            WriteEntry(14, Entry(0x3E, 0, masked: true));
            WriteEntry(15, Entry(0x3F, 0, level: true, masked: true));
            _ioApic.SetLevel(14, true);
            _ioApic.SetLevel(14, false);
            _ioApic.SetLevel(15, true);
            Assert.That(_sink.Messages, Is.Empty);
        }

        [Test]
        public void Reset_reports_every_backed_input_masked_and_drops_their_levels()
        {
            WriteEntry(9, Entry(0x29, 0, level: true));
            WriteEntry(8, Entry(0x38, 0, level: true));         // a virtual device's
            _ioApic.SetLevel(9, true);                          // in service, Remote IRR set
            _ioApic.SetLevel(8, true);
            _lines.Clear();

            _ioApic.Reset();
            Assert.That(_lines.Entries.Select(e => e.Pin), Is.EqualTo(Enumerable.Range(0, VirtualIoApic.PinCount).Where(p => (Backed & 1u << p) != 0)));
            Assert.That(_lines.Entries.All(e => e.Entry == Masked), Is.True);
            Assert.That(_lines.LevelsEnded, Is.Empty, "the physical side is told the entry, masked, not an EOI");
            Assert.That(_ioApic.BackedPins, Is.EqualTo(Backed), "still backed after a restart");

            _sink.Messages.Clear();
            WriteEntry(9, Entry(0x29, 0, level: true));
            WriteEntry(8, Entry(0x38, 0, level: true));
            Assert.That(_sink.Messages.Select(m => m.Vector), Is.EqualTo(new[] { (byte)0x38 }),
                "the backed input waits for the real pin to interrupt again; the virtual device's line is still held");
            Assert.That(_lines.Last(9), Is.EqualTo(Entry(0x29, 0, level: true)));
        }
    }
}
