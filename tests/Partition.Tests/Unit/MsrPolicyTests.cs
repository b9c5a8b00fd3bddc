using System.Linq;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The MSR bitmap against the SDM's layout (Vol. 3C, 25.6.9): read bitmap for MSRs
    /// 0..1FFFH at byte 0, for C0000000H..C0001FFFH at byte 1024, write bitmaps at 2048 and
    /// 3072; one bit per MSR, a set bit makes the access exit.
    /// </summary>
    public class MsrPolicyTests
    {
        private static byte[] Bitmap()
        {
            var bitmap = new byte[MsrPolicy.BitmapSize];
            MsrPolicy.Fill(bitmap);
            return bitmap;
        }

        // (byte, bit) worked out by hand from the SDM's layout, not from the code under test.
        [TestCase(0xC0000100u, false, 1024 + 0x20, 0, TestName = "RDMSR IA32_FS_BASE passes through")]
        [TestCase(0xC0000101u, true, 3072 + 0x20, 1, TestName = "WRMSR IA32_GS_BASE passes through")]
        [TestCase(0xC0000080u, true, 3072 + 0x10, 0, TestName = "WRMSR IA32_EFER passes through")]
        [TestCase(0x277u, true, 2048 + 0x4E, 7, TestName = "WRMSR IA32_PAT passes through")]
        [TestCase(0x176u, true, 2048 + 0x2E, 6, TestName = "WRMSR IA32_SYSENTER_EIP passes through")]
        [TestCase(0x10u, false, 2, 0, TestName = "RDMSR IA32_TIME_STAMP_COUNTER passes through")]
        public void Allowed_accesses_have_their_bit_clear(uint msr, bool write, int index, int bit)
        {
            var bitmap = Bitmap();
            Assert.That(bitmap[index] & (1 << bit), Is.Zero);
            Assert.That(MsrPolicy.Exits(bitmap, msr, write), Is.False);
        }

        [TestCase(0x10u, true, 2048 + 2, 0, TestName = "WRMSR IA32_TIME_STAMP_COUNTER exits")]
        [TestCase(0x3Au, true, 2048 + 7, 2, TestName = "WRMSR IA32_FEATURE_CONTROL exits")]
        [TestCase(0x3Au, false, 7, 2, TestName = "RDMSR IA32_FEATURE_CONTROL exits")]
        [TestCase(0x1Bu, true, 2048 + 3, 3, TestName = "WRMSR IA32_APIC_BASE exits")]
        [TestCase(0x480u, false, 0x90, 0, TestName = "RDMSR IA32_VMX_BASIC exits")]
        [TestCase(0x830u, true, 2048 + 0x106, 0, TestName = "WRMSR x2APIC ICR (IPIs) exits")]
        [TestCase(0xC0000082u, true, 3072 + 0x10, 2, TestName = "WRMSR IA32_LSTAR exits (not switched by the VMCS)")]
        [TestCase(0xC0000102u, true, 3072 + 0x20, 2, TestName = "WRMSR IA32_KERNEL_GS_BASE exits (not switched by the VMCS)")]
        public void Everything_else_has_its_bit_set(uint msr, bool write, int index, int bit)
        {
            var bitmap = Bitmap();
            Assert.That(bitmap[index] & (1 << bit), Is.Not.Zero);
            Assert.That(MsrPolicy.Exits(bitmap, msr, write), Is.True);
        }

        [TestCase(0x2000u)]
        [TestCase(0x4000_0000u)]
        [TestCase(0xBFFF_FFFFu)]
        [TestCase(0xC000_2000u)]
        [TestCase(0xFFFF_FFFFu)]
        public void MSRs_outside_both_ranges_always_exit(uint msr)
        {
            var bitmap = Bitmap();
            Assert.That(MsrPolicy.Exits(bitmap, msr, write: false), Is.True);
            Assert.That(MsrPolicy.Exits(bitmap, msr, write: true), Is.True);
        }

        [Test]
        public void Only_the_allow_list_is_clear()
        {
            int clearBits = Bitmap().Sum(b => 8 - System.Numerics.BitOperations.PopCount(b));
            int expected = MsrPolicy.AllowList.Sum(e => e.Writable ? 2 : 1);
            Assert.That(clearBits, Is.EqualTo(expected));
            Assert.That(expected, Is.EqualTo(15), "seven MSRs read and written, the TSC read only");
        }
    }
}
