using NUnit.Framework;
using Partition.Devices;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The host partition's register-only 8259A pair against the data sheet's programming
    /// sequence ("Programming the 8259A": ICW1 on the command port, then ICW2, ICW3 if cascaded,
    /// ICW4 if asked for, on the data port) and against Linux 6.1's arch/x86/kernel/i8259.c,
    /// whose probe_8259A must find a PIC here and whose init_8259A must leave it masked.
    /// </summary>
    public class VirtualPic8259Tests
    {
        private const ushort MasterCommand = VirtualPic8259.MasterCommand, MasterData = VirtualPic8259.MasterData;
        private const ushort SlaveCommand = VirtualPic8259.SlaveCommand, SlaveData = VirtualPic8259.SlaveData;

        private VirtualPic8259 _pic;

        [SetUp]
        public void PowerOn() => _pic = new VirtualPic8259();

        [TestCase((ushort)0x20, true)]
        [TestCase((ushort)0x21, true)]
        [TestCase((ushort)0xA0, true)]
        [TestCase((ushort)0xA1, true)]
        [TestCase((ushort)0x22, false, TestName = "Claims: not 0x22 (IMCR on some chipsets)")]
        [TestCase((ushort)0x1F, false)]
        [TestCase((ushort)0xA2, false)]
        [TestCase((ushort)0x4D0, false, TestName = "Claims: not the ELCR (0x4D0)")]
        public void Claims_exactly_the_four_ports_of_the_pair(ushort port, bool claimed) =>
            Assert.That(VirtualPic8259.Claims(port), Is.EqualTo(claimed));

        [Test]
        public void At_power_on_every_input_is_masked_and_no_vector_base_is_set()
        {
            Assert.That(_pic.Read(MasterData), Is.EqualTo(0xFF));
            Assert.That(_pic.Read(SlaveData), Is.EqualTo(0xFF));
            Assert.That((_pic.MaskOf(false), _pic.MaskOf(true)), Is.EqualTo(((byte)0xFF, (byte)0xFF)));
            Assert.That((_pic.VectorBaseOf(false), _pic.VectorBaseOf(true)), Is.EqualTo(((byte)0, (byte)0)));
        }

        [Test]
        public void Outside_an_init_sequence_the_data_port_is_the_mask_register_and_reads_back_as_written()
        {
            // probe_8259A: mask the slave, write ~(1 << PIC_CASCADE_IR) to the master and read it back.
            _pic.Write(SlaveData, 0xFF);
            _pic.Write(MasterData, 0xFB);
            Assert.That(_pic.Read(MasterData), Is.EqualTo(0xFB), "otherwise Linux decides there is no PIC");
            Assert.That(_pic.Read(SlaveData), Is.EqualTo(0xFF));
            _pic.Write(SlaveData, 0x5A);
            Assert.That(_pic.Read(SlaveData), Is.EqualTo(0x5A));
            Assert.That(_pic.Read(MasterData), Is.EqualTo(0xFB), "the chips have a mask register each");
            Assert.That((_pic.MaskOf(false), _pic.MaskOf(true)), Is.EqualTo(((byte)0xFB, (byte)0x5A)));
        }

        [Test]
        public void Linux_init_8259A_sets_the_vector_bases_and_leaves_the_pair_as_it_masks_it()
        {
            // init_8259A(auto_eoi = 0), in its order.
            _pic.Write(MasterData, 0xFF);
            _pic.Write(SlaveData, 0xFF);
            _pic.Write(MasterCommand, 0x11);         // ICW1: edge, cascade, ICW4 follows
            _pic.Write(MasterData, 0x30);            // ICW2: ISA_IRQ_VECTOR(0)
            _pic.Write(MasterData, 0x04);            // ICW3: slave on IR2
            _pic.Write(MasterData, 0x01);            // ICW4: MASTER_ICW4_DEFAULT (8086 mode)
            _pic.Write(SlaveCommand, 0x11);
            _pic.Write(SlaveData, 0x38);             // ISA_IRQ_VECTOR(8)
            _pic.Write(SlaveData, 0x02);             // slave identity: IR2 of the master
            _pic.Write(SlaveData, 0x01);             // SLAVE_ICW4_DEFAULT
            Assert.That(_pic.VectorBaseOf(false), Is.EqualTo(0x30));
            Assert.That(_pic.VectorBaseOf(true), Is.EqualTo(0x38));
            Assert.That(_pic.Read(MasterData), Is.Zero, "ICW1 cleared the mask; no ICW was taken as a mask");
            Assert.That(_pic.Read(SlaveData), Is.Zero);

            // "restore master IRQ mask": cached_irq_mask, everything but the cascade masked.
            _pic.Write(MasterData, 0xFB);
            _pic.Write(SlaveData, 0xFF);
            Assert.That((_pic.Read(MasterData), _pic.Read(SlaveData)), Is.EqualTo(((byte)0xFB, (byte)0xFF)));
            Assert.That(_pic.VectorBaseOf(false), Is.EqualTo(0x30), "a mask write after the sequence is not another ICW2");
        }

        [Test]
        public void ICW1_clears_the_mask_register()
        {
            _pic.Write(MasterData, 0xA5);
            _pic.Write(MasterCommand, 0x11);
            Assert.That(_pic.Read(MasterData), Is.Zero);
            Assert.That(_pic.Read(SlaveData), Is.EqualTo(0xFF), "the other chip keeps its own");
        }

        [TestCase((byte)0x11, 3, TestName = "ICW1 0x11 (cascade, ICW4): ICW2, ICW3, ICW4, then the mask")]
        [TestCase((byte)0x10, 2, TestName = "ICW1 0x10 (cascade, no ICW4): ICW2, ICW3, then the mask")]
        [TestCase((byte)0x13, 2, TestName = "ICW1 0x13 (single, ICW4): ICW2, ICW4, then the mask")]
        [TestCase((byte)0x12, 1, TestName = "ICW1 0x12 (single, no ICW4): ICW2, then the mask")]
        [TestCase((byte)0x19, 3, TestName = "ICW1 0x19 (level-triggered, cascade, ICW4): the trigger bit changes nothing")]
        public void The_sequence_takes_as_many_data_writes_as_ICW1_announces(byte icw1, int icws)
        {
            _pic.Write(MasterCommand, icw1);
            _pic.Write(MasterData, 0x20);                // ICW2
            for (int i = 1; i < icws; i++)
                _pic.Write(MasterData, 0x77);            // ICW3 / ICW4: not masks
            Assert.That(_pic.Read(MasterData), Is.Zero, "the sequence's writes are not the mask");
            _pic.Write(MasterData, 0xEE);                // the first write after the sequence
            Assert.That(_pic.Read(MasterData), Is.EqualTo(0xEE));
            Assert.That(_pic.VectorBaseOf(false), Is.EqualTo(0x20));
        }

        [Test]
        public void ICW2_gives_the_vector_base_in_bits_7_to_3()
        {
            _pic.Write(SlaveCommand, 0x11);
            _pic.Write(SlaveData, 0x77);
            Assert.That(_pic.VectorBaseOf(true), Is.EqualTo(0x70), "in 8086 mode the low three bits are the input's number");
            Assert.That(_pic.VectorBaseOf(false), Is.Zero);
        }

        [Test]
        public void A_new_ICW1_in_the_middle_of_a_sequence_starts_it_again()
        {
            _pic.Write(MasterCommand, 0x11);
            _pic.Write(MasterData, 0x08);
            _pic.Write(MasterCommand, 0x11);
            _pic.Write(MasterData, 0x30);
            _pic.Write(MasterData, 0x04);
            _pic.Write(MasterData, 0x01);
            _pic.Write(MasterData, 0xFD);
            Assert.That(_pic.VectorBaseOf(false), Is.EqualTo(0x30));
            Assert.That(_pic.Read(MasterData), Is.EqualTo(0xFD));
        }

        [Test]
        public void The_chips_are_programmed_independently()
        {
            // The master's sequence is still open while the slave gets its mask.
            _pic.Write(MasterCommand, 0x11);
            _pic.Write(SlaveData, 0xC3);
            Assert.That(_pic.Read(SlaveData), Is.EqualTo(0xC3), "the slave was not in a sequence");
            Assert.That(_pic.VectorBaseOf(true), Is.Zero);
            _pic.Write(MasterData, 0x30);
            Assert.That(_pic.VectorBaseOf(false), Is.EqualTo(0x30));
        }

        [TestCase((byte)0x20, TestName = "OCW2 0x20 (non-specific EOI)")]
        [TestCase((byte)0x62, TestName = "OCW2 0x62 (specific EOI for IR2, Linux's mask_and_ack_8259A)")]
        [TestCase((byte)0x0A, TestName = "OCW3 0x0A (read IRR next)")]
        [TestCase((byte)0x0B, TestName = "OCW3 0x0B (read ISR next)")]
        [TestCase((byte)0x68, TestName = "OCW3 0x68 (special mask mode)")]
        public void OCW2_and_OCW3_neither_start_a_sequence_nor_touch_the_mask(byte ocw)
        {
            _pic.Write(MasterData, 0xB6);
            _pic.Write(MasterCommand, ocw);
            Assert.That(_pic.Read(MasterData), Is.EqualTo(0xB6));
            _pic.Write(MasterData, 0x9C);
            Assert.That(_pic.Read(MasterData), Is.EqualTo(0x9C), "the data port is still the mask register");
            Assert.That(_pic.VectorBaseOf(false), Is.Zero, "no ICW2 was taken");
        }

        [Test]
        public void IRR_and_ISR_read_zero_since_nothing_is_ever_requested_or_in_service()
        {
            _pic.Write(MasterData, 0x00);            // everything unmasked: still nothing pending
            // i8259A_irq_pending / i8259A_irq_real: OCW3 to select, then read the command port.
            _pic.Write(MasterCommand, 0x0A);
            Assert.That(_pic.Read(MasterCommand), Is.Zero, "IRR");
            _pic.Write(MasterCommand, 0x0B);
            Assert.That(_pic.Read(MasterCommand), Is.Zero, "ISR");
            _pic.Write(SlaveCommand, 0x0B);
            Assert.That(_pic.Read(SlaveCommand), Is.Zero);
            Assert.That(_pic.Read(MasterData), Is.Zero, "reading the command port leaves the mask");
        }

        [Test]
        public void Reset_masks_everything_ends_open_sequences_and_forgets_the_vector_bases()
        {
            _pic.Write(MasterCommand, 0x11);
            _pic.Write(MasterData, 0x30);            // ICW3 and ICW4 still expected
            _pic.Write(SlaveCommand, 0x11);
            _pic.Write(SlaveData, 0x38);
            _pic.Write(SlaveData, 0x02);
            _pic.Write(SlaveData, 0x01);
            _pic.Write(SlaveData, 0x00);
            _pic.Reset();
            Assert.That((_pic.Read(MasterData), _pic.Read(SlaveData)), Is.EqualTo(((byte)0xFF, (byte)0xFF)));
            Assert.That((_pic.VectorBaseOf(false), _pic.VectorBaseOf(true)), Is.EqualTo(((byte)0, (byte)0)));
            _pic.Write(MasterData, 0x12);
            Assert.That(_pic.Read(MasterData), Is.EqualTo(0x12), "the master's half-done sequence ended: this is a mask");
            Assert.That(_pic.VectorBaseOf(false), Is.Zero);
        }
    }
}
