using System;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The setup header of a bzImage (boot.rst, "The Real-Mode Kernel Header") on synthetic
    /// images: every field the loader uses, and every refusal with its words.
    /// </summary>
    public class LinuxKernelHeaderTests
    {
        [Test]
        public void ReadsEveryFieldTheLoaderUses()
        {
            var bz = new SyntheticBzImage();
            byte[] image = bz.Build();
            Assert.That(LinuxKernelHeader.TryParse(image, out var h, out string error), Is.True, error);
            Assert.That(h.SetupSects, Is.EqualTo(bz.SetupSects));
            Assert.That(h.SetupSectors, Is.EqualTo(bz.SetupSects));
            Assert.That(h.SetupSize, Is.EqualTo((ulong)(bz.SetupSects + 1) * 512));
            Assert.That(h.SysSize, Is.EqualTo((uint)(bz.Payload.Length / 16)));
            Assert.That(h.Version, Is.EqualTo(bz.Version));
            Assert.That(h.VersionText, Is.EqualTo("2.15"));
            Assert.That(h.LoadFlags, Is.EqualTo(1));
            Assert.That(h.Code32Start, Is.EqualTo(0x100000u));
            Assert.That(h.InitrdAddrMax, Is.EqualTo(bz.InitrdAddrMax));
            Assert.That(h.KernelAlignment, Is.EqualTo(bz.KernelAlignment));
            Assert.That(h.RelocatableKernel, Is.True);
            Assert.That(h.MinAlignment, Is.EqualTo(21));
            Assert.That(h.XLoadFlags, Is.EqualTo(bz.XLoadFlags));
            Assert.That(h.CmdlineSize, Is.EqualTo(bz.CmdlineSize));
            Assert.That(h.PrefAddress, Is.EqualTo(bz.PrefAddress));
            Assert.That(h.InitSize, Is.EqualTo(bz.InitSize));
            Assert.That(h.SetupHeaderEnd, Is.EqualTo(0x26C), "0x202 + the jump's 0x6A");
            Assert.That(h.FileSize, Is.EqualTo((ulong)image.Length));
            Assert.That(h.ProtectedModeSize, Is.EqualTo((ulong)bz.Payload.Length));
        }

        [Test]
        public void SetupSectsZeroMeansFour()
        {
            var bz = new SyntheticBzImage { SetupSects = 0 };
            byte[] image = bz.Build();
            Assert.That(LinuxKernelHeader.TryParse(image, out var h, out string error), Is.True, error);
            Assert.That(h.SetupSectors, Is.EqualTo(4));
            Assert.That(h.SetupSize, Is.EqualTo(5UL * 512));
            Assert.That(h.ProtectedModeSize, Is.EqualTo((ulong)(image.Length - 5 * 512)));
        }

        [Test]
        public void TwoPointTwelveIsEnough()
        {
            var bz = new SyntheticBzImage { Version = 0x020C };
            Assert.That(LinuxKernelHeader.TryParse(bz.Build(), out var h, out string error), Is.True, error);
            Assert.That(h.VersionText, Is.EqualTo("2.12"));
        }

        private static string Refusal(byte[] image)
        {
            Assert.That(LinuxKernelHeader.TryParse(image, out _, out string error), Is.False);
            return error;
        }

        [Test]
        public void RefusesAFileTooShortForTheHeader() =>
            Assert.That(Refusal(new byte[0x200]), Is.EqualTo("not a bzImage: the file is 512 bytes, too short to hold a setup header (0x1F1 to 0x290)"));

        [Test]
        public void RefusesAnImageWithoutTheBootFlag()
        {
            byte[] image = new SyntheticBzImage().Build();
            image[0x1FE] = 0;
            Assert.That(Refusal(image), Is.EqualTo("not a bzImage: no boot flag 0xAA55 at 0x1FE"));
        }

        [Test]
        public void RefusesAnImageWithoutHdrS()
        {
            byte[] image = new SyntheticBzImage().Build();
            image[0x202] = (byte)'X';
            Assert.That(Refusal(image), Is.EqualTo("not a bzImage: no HdrS signature at 0x202"));
        }

        [TestCase((ushort)0x0206, "2.06")]
        [TestCase((ushort)0x020B, "2.11")]
        [TestCase((ushort)0x0200, "2.00")]
        public void RefusesABootProtocolBefore2Point12(ushort version, string text)
        {
            byte[] image = new SyntheticBzImage { Version = version }.Build();
            Assert.That(Refusal(image), Is.EqualTo($"boot protocol {text} is too old: the 64-bit entry needs 2.12 or later"));
        }

        [Test]
        public void RefusesAZImage()
        {
            byte[] image = new SyntheticBzImage { LoadFlags = 0 }.Build();
            Assert.That(Refusal(image), Is.EqualTo("not a bzImage: loadflags bit 0 (LOADED_HIGH) is clear, so this is a zImage that loads below 1 MiB"));
        }

        [Test]
        public void RefusesAKernelWithout64BitEntry()
        {
            byte[] image = new SyntheticBzImage { XLoadFlags = 0x2 }.Build();
            Assert.That(Refusal(image), Is.EqualTo("the kernel has no 64-bit entry (xloadflags bit 0, XLF_KERNEL_64, is clear)"));
        }

        [TestCase((byte)0xE9, (byte)0x6A)]
        [TestCase((byte)0xEB, (byte)0x5F)] // ends at 0x261, inside init_size
        [TestCase((byte)0xEB, (byte)0x90)] // ends at 0x292, past boot_params' room
        public void RefusesASetupHeaderOfTheWrongLength(byte opcode, byte offset)
        {
            byte[] image = new SyntheticBzImage().Build();
            image[0x200] = opcode;
            image[0x201] = offset;
            Assert.That(Refusal(image), Does.StartWith("the setup header's length is wrong: the jump at 0x200 (")
                .And.EndWith(") must be a short jump (0xEB) ending the header between 0x264 and 0x290"));
        }

        [Test]
        public void RefusesAFileThatEndsInsideItsSetupCode()
        {
            var bz = new SyntheticBzImage { SetupSects = 30 };
            byte[] image = bz.Build().AsSpan(0, 0x1000).ToArray();
            Assert.That(Refusal(image), Is.EqualTo("the file (4096 bytes) ends inside its setup code (30 sectors after the boot sector, 15872 bytes)"));
        }

        [Test]
        public void RefusesATruncatedFile()
        {
            var bz = new SyntheticBzImage();
            byte[] full = bz.Build();
            byte[] image = full.AsSpan(0, full.Length - 32).ToArray();
            Assert.That(Refusal(image), Is.EqualTo(
                $"the file is truncated: syssize says {bz.Payload.Length} bytes of protected-mode code, the file has {bz.Payload.Length - 32} after the setup code"));
        }

        /// <summary>
        /// memtest86+ rounds syssize up to a paragraph ("(_end - _start + 15) >> 4"): Debian's
        /// memtest86+x64.bin says 0x22DC0 bytes and has 0x22DB8. Up to 15 bytes short is rounding.
        /// </summary>
        [TestCase(8)]
        [TestCase(15)]
        public void AcceptsASyssizeRoundedUpToAParagraph(int shortBy)
        {
            var bz = new SyntheticBzImage();
            byte[] full = bz.Build();
            byte[] image = full.AsSpan(0, full.Length - shortBy).ToArray();
            Assert.That(LinuxKernelHeader.TryParse(image, out var header, out string error), Is.True, error);
            Assert.That(header.ProtectedModeSize, Is.EqualTo((ulong)(bz.Payload.Length - shortBy)));
        }

        [Test]
        public void RefusesAFileAWholeParagraphShort()
        {
            var bz = new SyntheticBzImage();
            byte[] full = bz.Build();
            byte[] image = full.AsSpan(0, full.Length - 16).ToArray();
            Assert.That(Refusal(image), Does.StartWith("the file is truncated"));
        }

        [Test]
        public void RefusesAnAlignmentThatIsNotAPowerOfTwo()
        {
            byte[] image = new SyntheticBzImage { KernelAlignment = 0x300000 }.Build();
            Assert.That(Refusal(image), Is.EqualTo("kernel_alignment 0x300000 is not a power of two"));
        }

        [Test]
        public void RefusesAnInitSizeSmallerThanTheCode()
        {
            byte[] image = new SyntheticBzImage { InitSize = 0x100 }.Build();
            Assert.That(Refusal(image), Is.EqualTo("init_size 0x100 is smaller than the protected-mode code (0x2000 bytes)"));
        }

        [Test]
        public void ACommandLineOfExactlyCmdlineSizeBytesIsAccepted()
        {
            Assert.That(LinuxKernelHeader.TryParse(new SyntheticBzImage { CmdlineSize = 16 }.Build(), out var h, out _), Is.True);
            Assert.That(h.TryCheckCommandLine(new string('x', 16), out string error), Is.True, error);
            Assert.That(h.TryCheckCommandLine("", out error), Is.True, error);
            Assert.That(h.TryCheckCommandLine(null, out error), Is.True, error);
        }

        [Test]
        public void RefusesACommandLineLongerThanCmdlineSize()
        {
            Assert.That(LinuxKernelHeader.TryParse(new SyntheticBzImage { CmdlineSize = 16 }.Build(), out var h, out _), Is.True);
            Assert.That(h.TryCheckCommandLine(new string('x', 17), out string error), Is.False);
            Assert.That(error, Is.EqualTo("the command line is 17 bytes, longer than the 16 the kernel accepts (its cmdline_size)"));
        }

        [Test]
        public void CountsTheCommandLineInUtf8Bytes()
        {
            // 15 ASCII + "é" (2 bytes) = 17 bytes in 16 characters.
            Assert.That(LinuxKernelHeader.TryCheckCommandLine(new string('x', 15) + "é", 16, out string error), Is.False);
            Assert.That(error, Does.StartWith("the command line is 17 bytes"));
            Assert.That(LinuxKernelHeader.Utf8Length("a€😀"), Is.EqualTo(1 + 3 + 4));
        }

        [Test]
        public void RefusesACommandLineWithANul()
        {
            Assert.That(LinuxKernelHeader.TryCheckCommandLine("console=ttyS0\0init=/bin/sh", 2047, out string error), Is.False);
            Assert.That(error, Is.EqualTo("the command line contains a NUL character at offset 13; the kernel would read only what comes before it"));
        }
    }
}
