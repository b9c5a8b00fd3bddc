using System.Collections.Generic;
using NUnit.Framework;
using Partition.Devices;

namespace Partition.Tests.Unit
{
    /// <summary>Records what an interrupt controller model delivers, in order.</summary>
    public sealed class RecordingSink : IInterruptSink
    {
        public readonly List<InterruptMessage> Messages = new List<InterruptMessage>();

        public void Deliver(in InterruptMessage message) => Messages.Add(message);
    }

    /// <summary>
    /// The virtual I/O APIC against the 82093AA datasheet (section 3) and against the exact
    /// register sequences of Linux 6.1's arch/x86/kernel/apic/io_apic.c.
    /// </summary>
    public class VirtualIoApicTests
    {
        private const byte Vector = 0x21;
        private RecordingSink _sink;
        private VirtualIoApic _ioApic;

        [SetUp]
        public void Machine()
        {
            _sink = new RecordingSink();
            _ioApic = new VirtualIoApic(2, _sink);      // two vCPUs: APIC IDs 0 and 1, the I/O APIC 2
        }

        // native_io_apic_read / io_apic_write: writel(reg, &io_apic->index), then readl/writel(&io_apic->data).
        private uint IoApicRead(uint register)
        {
            _ioApic.Write(VirtualIoApic.IoRegSel, 4, register);
            return _ioApic.Read(VirtualIoApic.IoWin, 4);
        }

        private void IoApicWrite(uint register, uint value)
        {
            _ioApic.Write(VirtualIoApic.IoRegSel, 4, register);
            _ioApic.Write(VirtualIoApic.IoWin, 4, value);
        }

        // __ioapic_write_entry: "we need to write the high word first! If the mask bit in the low
        // word is clear, we will enable the interrupt".
        private void WriteEntry(int pin, ulong entry)
        {
            IoApicWrite(0x11 + 2 * (uint)pin, (uint)(entry >> 32));
            IoApicWrite(0x10 + 2 * (uint)pin, (uint)entry);
        }

        private ulong ReadEntry(int pin) => IoApicRead(0x10 + 2 * (uint)pin) | (ulong)IoApicRead(0x11 + 2 * (uint)pin) << 32;

        private static ulong Entry(byte vector, byte destination, bool level = false, bool masked = false,
            DeliveryMode mode = DeliveryMode.Fixed, bool logical = false) =>
            vector | (ulong)mode << 8 | (logical ? 1UL << 11 : 0) | (level ? 1UL << 15 : 0) | (masked ? 1UL << 16 : 0)
            | (ulong)destination << 56;

        private const ulong RemoteIrr = 1UL << 14;

        [Test]
        public void At_reset_every_entry_is_masked_and_the_identification_registers_answer()
        {
            for (int pin = 0; pin < VirtualIoApic.PinCount; pin++)
                Assert.That(ReadEntry(pin), Is.EqualTo(0x0001_0000UL), $"entry {pin}: masked, everything else 0");
            Assert.That(IoApicRead(0), Is.EqualTo(0x0200_0000u), "IOAPICID: ID in bits 31:24");
            Assert.That(IoApicRead(1), Is.EqualTo(0x0017_0020u), "IOAPICVER: version 0x20, maximum redirection entry 23");
            Assert.That(IoApicRead(2), Is.EqualTo(0x0200_0000u), "IOAPICARB: the arbitration ID follows the ID");
            Assert.That(IoApicRead(3), Is.Zero, "an unimplemented register reads 0");
            Assert.That(IoApicRead(0x40), Is.Zero, "past the redirection table");
            _ioApic.SetLevel(4, true);
            Assert.That(_sink.Messages, Is.Empty, "masked entries deliver nothing");
        }

        [Test]
        public void The_ID_register_is_writable_and_the_others_are_not()
        {
            IoApicWrite(0, 0x0500_0000);
            IoApicWrite(1, 0xFFFF_FFFF);
            IoApicWrite(2, 0xFFFF_FFFF);
            Assert.That(_ioApic.Id, Is.EqualTo(5));
            Assert.That(IoApicRead(0), Is.EqualTo(0x0500_0000u));
            Assert.That(IoApicRead(1), Is.EqualTo(0x0017_0020u));
            Assert.That(IoApicRead(2), Is.EqualTo(0x0500_0000u));
        }

        [Test]
        public void An_entry_programmed_through_IOREGSEL_and_IOWIN_reads_back_less_its_read_only_and_reserved_bits()
        {
            _ioApic.Write(VirtualIoApic.IoRegSel, 4, 0x19);
            Assert.That(_ioApic.Read(VirtualIoApic.IoRegSel, 4), Is.EqualTo(0x19u), "IOREGSEL reads back");
            _ioApic.Write(VirtualIoApic.IoWin, 4, 0x03FF_0000);         // high dword of entry 4: reserved 55:48 set too
            _ioApic.Write(VirtualIoApic.IoRegSel, 4, 0x18);
            _ioApic.Write(VirtualIoApic.IoWin, 4, 0xFFFF_FFFF);         // everything, masked, level
            Assert.That(_ioApic.Read(VirtualIoApic.IoWin, 4), Is.EqualTo(0x0001_AFFFu),
                "vector, mode, destination mode, polarity, trigger mode and mask stick; delivery status, Remote IRR and 31:17 do not");
            Assert.That(IoApicRead(0x19), Is.EqualTo(0x0300_0000u), "only the destination (63:56) in the high dword");
            Assert.That(_ioApic.RedirectionEntry(4), Is.EqualTo(0x0300_0000_0001_AFFFUL));
        }

        [Test]
        public void An_edge_triggered_entry_delivers_once_per_rising_edge()
        {
            WriteEntry(4, Entry(Vector, 0));
            _ioApic.SetLevel(4, true);
            _ioApic.SetLevel(4, true);
            Assert.That(_sink.Messages, Has.Count.EqualTo(1), "a level held high is one edge");
            _ioApic.SetLevel(4, false);
            Assert.That(_sink.Messages, Has.Count.EqualTo(1));
            _ioApic.SetLevel(4, true);
            Assert.That(_sink.Messages, Has.Count.EqualTo(2));
            var m = _sink.Messages[1];
            Assert.That((m.Vector, m.Mode, m.Logical, m.Destination, m.LevelTriggered),
                Is.EqualTo((Vector, DeliveryMode.Fixed, false, 0u, false)));
            Assert.That(ReadEntry(4) & RemoteIrr, Is.Zero, "no Remote IRR for edge-triggered entries");
            Assert.That(_ioApic.Delivered(4), Is.EqualTo(2));
            Assert.That(_ioApic.Delivered(3), Is.Zero);
        }

        [Test]
        public void An_edge_on_a_masked_entry_is_lost_and_unmasking_does_not_bring_it_back()
        {
            WriteEntry(4, Entry(Vector, 0, masked: true));
            _ioApic.SetLevel(4, true);
            WriteEntry(4, Entry(Vector, 0));
            Assert.That(_sink.Messages, Is.Empty, "82093AA 3.2.4: edges on a masked pin are not held pending");
            _ioApic.SetLevel(4, false);
            _ioApic.SetLevel(4, true);
            Assert.That(_sink.Messages, Has.Count.EqualTo(1));
        }

        [Test]
        public void A_level_triggered_entry_sets_Remote_IRR_and_delivers_again_after_an_EOI_register_write_while_asserted()
        {
            WriteEntry(9, Entry(0x30, 1, level: true));
            _ioApic.SetLevel(9, true);
            Assert.That(_sink.Messages, Has.Count.EqualTo(1));
            Assert.That(_sink.Messages[0].LevelTriggered, Is.True);
            Assert.That(ReadEntry(9) & RemoteIrr, Is.EqualTo(RemoteIrr));
            _ioApic.SetLevel(9, true);
            Assert.That(_sink.Messages, Has.Count.EqualTo(1), "nothing more while Remote IRR is set");

            _ioApic.Write(VirtualIoApic.Eoi, 4, 0x31);
            Assert.That(_sink.Messages, Has.Count.EqualTo(1), "an EOI for another vector changes nothing");
            _ioApic.Write(VirtualIoApic.Eoi, 4, 0x30);
            Assert.That(_sink.Messages, Has.Count.EqualTo(2), "still asserted: delivered again at once");
            Assert.That(ReadEntry(9) & RemoteIrr, Is.EqualTo(RemoteIrr));

            _ioApic.SetLevel(9, false);
            _ioApic.Write(VirtualIoApic.Eoi, 4, 0x30);
            Assert.That(_sink.Messages, Has.Count.EqualTo(2), "deasserted: the EOI only clears Remote IRR");
            Assert.That(ReadEntry(9) & RemoteIrr, Is.Zero);
            _ioApic.SetLevel(9, true);
            Assert.That(_sink.Messages, Has.Count.EqualTo(3));
            Assert.That(_ioApic.Delivered(9), Is.EqualTo(3));
        }

        [Test]
        public void EndOfInterrupt_from_the_local_APIC_clears_Remote_IRR_of_every_level_entry_with_that_vector()
        {
            WriteEntry(10, Entry(0x40, 0, level: true));
            WriteEntry(11, Entry(0x40, 0, level: true));
            _ioApic.SetLevel(10, true);
            _ioApic.SetLevel(11, true);
            Assert.That(_sink.Messages, Has.Count.EqualTo(2));
            _ioApic.SetLevel(10, false);
            _ioApic.EndOfInterrupt(0x40);
            Assert.That(ReadEntry(10) & RemoteIrr, Is.Zero);
            Assert.That(_sink.Messages, Has.Count.EqualTo(3), "pin 11 is still asserted");
            Assert.That(ReadEntry(11) & RemoteIrr, Is.EqualTo(RemoteIrr));
        }

        [Test]
        public void A_level_entry_unmasked_while_its_input_is_asserted_delivers_then()
        {
            WriteEntry(4, Entry(Vector, 0, level: true, masked: true));
            _ioApic.SetLevel(4, true);
            Assert.That(_sink.Messages, Is.Empty);
            IoApicWrite(0x18, (uint)Entry(Vector, 0, level: true));
            Assert.That(_sink.Messages, Has.Count.EqualTo(1));
        }

        [Test]
        public void Switching_an_entry_to_edge_clears_Remote_IRR()
        {
            // Linux's EOI for I/O APICs before version 0x20 and clear_IO_APIC_pin depend on it.
            WriteEntry(4, Entry(Vector, 0, level: true));
            _ioApic.SetLevel(4, true);
            Assert.That(ReadEntry(4) & RemoteIrr, Is.EqualTo(RemoteIrr));
            WriteEntry(4, Entry(Vector, 0, masked: true));
            Assert.That(ReadEntry(4) & RemoteIrr, Is.Zero);
        }

        [Test]
        public void The_message_carries_vector_delivery_mode_destination_mode_and_destination()
        {
            WriteEntry(5, Entry(0x55, 0x0C, mode: DeliveryMode.LowestPriority, logical: true));
            WriteEntry(6, Entry(0x00, 0xFF, level: true, mode: DeliveryMode.Nmi));
            _ioApic.SetLevel(5, true);
            _ioApic.SetLevel(6, true);
            var m = _sink.Messages[0];
            Assert.That((m.Vector, m.Mode, m.Logical, m.Destination, m.LevelTriggered),
                Is.EqualTo(((byte)0x55, DeliveryMode.LowestPriority, true, 0x0Cu, false)));
            m = _sink.Messages[1];
            Assert.That((m.Mode, m.Destination, m.LevelTriggered), Is.EqualTo((DeliveryMode.Nmi, 0xFFu, false)),
                "NMI is edge-triggered even when the entry says level (82093AA 3.2.4)");
            Assert.That(ReadEntry(6) & RemoteIrr, Is.Zero);
        }

        [Test]
        public void The_extended_destination_ID_gives_destination_bits_14_to_8_only_when_asked_for()
        {
            const ulong extended = 0x5AUL << 49;      // destination bits 14:8 = 0x5A
            WriteEntry(4, Entry(Vector, 0x34) | extended);
            _ioApic.SetLevel(4, true);
            Assert.That(_sink.Messages[0].Destination, Is.EqualTo(0x34u), "bits 55:49 are reserved on the 82093AA");
            Assert.That(ReadEntry(4) >> 32, Is.EqualTo(0x3400_0000UL));

            var sink = new RecordingSink();
            var ioApic = new VirtualIoApic(0, sink, extendedDestinationId: true);
            ioApic.Write(VirtualIoApic.IoRegSel, 4, 0x19);
            ioApic.Write(VirtualIoApic.IoWin, 4, (uint)((Entry(Vector, 0x34) | extended) >> 32) | 1u << 16);
            ioApic.Write(VirtualIoApic.IoRegSel, 4, 0x18);
            ioApic.Write(VirtualIoApic.IoWin, 4, Vector);
            ioApic.SetLevel(4, true);
            Assert.That(sink.Messages[0].Destination, Is.EqualTo(0x5A34u));
            Assert.That(ioApic.RedirectionEntry(4) >> 32, Is.EqualTo(0x34B4_0000UL), "bit 48 (remappable format) stays reserved");
        }

        [Test]
        public void Accesses_other_than_aligned_dwords_have_defined_results()
        {
            WriteEntry(4, Entry(Vector, 0x12, masked: true));
            _ioApic.Write(VirtualIoApic.IoRegSel, 1, 0x19);                 // a byte write selects
            Assert.That(_ioApic.Read(VirtualIoApic.IoWin, 4), Is.EqualTo(0x1200_0000u));
            Assert.That(_ioApic.Read(VirtualIoApic.IoWin + 3, 1), Is.EqualTo(0x12u), "a byte read gives that byte of the dword");
            Assert.That(_ioApic.Read(VirtualIoApic.IoWin, 2), Is.Zero);
            _ioApic.Write(VirtualIoApic.IoWin, 2, 0xFFFF);                  // partial writes to IOWIN are dropped
            _ioApic.Write(VirtualIoApic.IoWin + 1, 4, 0xFFFF_FFFF);         // so are misaligned ones
            Assert.That(_ioApic.Read(VirtualIoApic.IoWin, 4), Is.EqualTo(0x1200_0000u));
            Assert.That(_ioApic.Read(VirtualIoApic.Eoi, 4), Is.Zero, "the EOI register is write-only");
            Assert.That(_ioApic.Read(0x20, 4), Is.Zero, "nothing at unused offsets");
            _ioApic.SetLevel(24, true);                                     // no such pin: ignored
            _ioApic.SetLevel(-1, true);
            Assert.That(_ioApic.Delivered(24), Is.Zero);
        }

        /// <summary>
        /// The life of ISA IRQ 4 (the console's UART) under Linux 6.1, register by register:
        /// clear_IO_APIC at boot, the version read, ioapic_write_entry when the IRQ is set up
        /// (masked), unmask_ioapic_irq when the driver requests it, mask_ioapic_irq with its
        /// io_apic_sync read, and the EOI register that __eoi_ioapic_pin writes for version 0x20.
        /// </summary>
        [Test]
        public void Linux_programs_masks_unmasks_and_EOIs_an_entry_with_its_own_register_sequence()
        {
            // clear_IO_APIC_pin: ioapic_read_entry (low, then high); masked already, no Remote IRR;
            // ioapic_mask_entry writes the low word first ("to set the mask bit before we change the high bits").
            for (int pin = 0; pin < 24; pin++)
            {
                ulong e = ReadEntry(pin);
                Assert.That(e & (1UL << 16), Is.Not.Zero);
                IoApicWrite(0x10 + 2 * (uint)pin, 1u << 16);
                IoApicWrite(0x11 + 2 * (uint)pin, 0);
            }
            // io_apic_get_redir_entries and io_apic_get_version read register 1.
            uint version = IoApicRead(1);
            Assert.That((version >> 16 & 0xFF) + 1, Is.EqualTo(24u));
            Assert.That(version & 0xFF, Is.GreaterThanOrEqualTo(0x20u), "so Linux uses the EOI register");

            // The device raises its line before the entry is set up: nothing may come out.
            _ioApic.SetLevel(4, true);
            _ioApic.SetLevel(4, false);

            // mp_setup_entry + ioapic_write_entry: ISA IRQ 4 is edge, active high; physical
            // destination APIC ID 1; masked until the driver asks for it. High word first.
            ulong entry = Entry(Vector, 1, masked: true);
            IoApicWrite(0x19, (uint)(entry >> 32));
            Assert.That(_sink.Messages, Is.Empty);
            IoApicWrite(0x18, (uint)entry);
            Assert.That(ReadEntry(4), Is.EqualTo(entry));

            // unmask_ioapic_irq -> io_apic_modify_irq(masked = false): the low word only.
            entry &= ~(1UL << 16);
            IoApicWrite(0x18, (uint)entry);
            _ioApic.SetLevel(4, true);
            Assert.That(_sink.Messages, Has.Count.EqualTo(1));
            Assert.That((_sink.Messages[0].Vector, _sink.Messages[0].Destination, _sink.Messages[0].Logical),
                Is.EqualTo((Vector, 1u, false)), "the high word written first was in place when the entry was unmasked");
            _ioApic.SetLevel(4, false);

            // mask_ioapic_irq -> io_apic_modify_irq(masked = true, io_apic_sync): the low word,
            // then a dummy read of the data window.
            IoApicWrite(0x18, (uint)entry | 1u << 16);
            _ioApic.Read(VirtualIoApic.IoWin, 4);
            _ioApic.SetLevel(4, true);
            _ioApic.SetLevel(4, false);
            Assert.That(_sink.Messages, Has.Count.EqualTo(1), "masked");
            IoApicWrite(0x18, (uint)entry);

            // A level-triggered interrupt (e.g. an ACPI SCI on GSI 9, active low, level): the
            // ack path io_apic_eoi writes the vector to the EOI register (writel(vector, &io_apic->eoi)).
            ulong sci = Entry(0x29, 0, level: true) | 1UL << 13;
            IoApicWrite(0x23, 0);                   // high word of entry 9 first
            IoApicWrite(0x22, (uint)sci);
            _ioApic.SetLevel(9, true);
            Assert.That(_sink.Messages, Has.Count.EqualTo(2));
            Assert.That((IoApicRead(0x22) & (1u << 14)) != 0, Is.True, "io_apic_level_ack_pending sees Remote IRR");
            _ioApic.SetLevel(9, false);
            _ioApic.Write(VirtualIoApic.Eoi, 4, 0x29);
            Assert.That(IoApicRead(0x22) & (1u << 14), Is.Zero);
            Assert.That(_ioApic.Delivered(4), Is.EqualTo(1));
            Assert.That(_ioApic.Delivered(9), Is.EqualTo(1));
        }

        [Test]
        public void Reset_masks_every_entry_and_restores_the_ID_but_keeps_the_statistics()
        {
            IoApicWrite(0, 0x0700_0000);
            WriteEntry(4, Entry(Vector, 1, level: true));
            _ioApic.SetLevel(4, true);
            _ioApic.Reset();
            Assert.That(ReadEntry(4), Is.EqualTo(0x0001_0000UL), "masked, Remote IRR cleared");
            Assert.That(IoApicRead(0), Is.EqualTo(0x0200_0000u));
            Assert.That(_ioApic.Delivered(4), Is.EqualTo(1));
            WriteEntry(4, Entry(Vector, 1, level: true));
            Assert.That(_sink.Messages, Has.Count.EqualTo(2), "the input is still asserted: its device did not reset");
        }
    }
}
