using System;
using System.IO;
using System.Runtime.InteropServices;
using NUnit.Framework;
using Partition.Host;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The setup header parser and the loader on real kernels: the project's own guest kernel
    /// (artifacts/linux/guest/bzImage) and Debian 12's stock kernel (artifacts/linux/debian/vmlinuz).
    /// The build makes both before the tests run; a missing file is a failure, not a skip, so that
    /// a broken build cannot pass for a green run.
    /// </summary>
    public unsafe class RealLinuxKernelTests
    {
        public const string GuestKernel = "artifacts/linux/guest/bzImage";
        public const string DebianKernel = "artifacts/linux/debian/vmlinuz";
        public const string DebianMemtest = "artifacts/linux/debian/memtest86+x64.bin";

        private static byte[] Read(string relative)
        {
            string root = RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory).Root;
            string path = Path.Combine(root, relative);
            if (!File.Exists(path))
                Assert.Fail($"{relative} is missing (looked for {path}): the build makes it before the tests run "
                    + "(dotnet cake build.cake --target=Test); build it, or copy the kernel there, and run again");
            return File.ReadAllBytes(path);
        }

        private static LinuxKernelHeader Parse(string relative)
        {
            byte[] image = Read(relative);
            Assert.That(LinuxKernelHeader.TryParse(image, out var header, out string error), Is.True, $"{relative}: {error}");
            TestContext.Out.WriteLine($"{relative}: {image.Length} bytes, boot protocol {header.VersionText}, xloadflags 0x{header.XLoadFlags:X}, "
                + $"pref_address 0x{header.PrefAddress:X}, init_size 0x{header.InitSize:X}, cmdline_size {header.CmdlineSize}, "
                + $"kernel_alignment 0x{header.KernelAlignment:X}, relocatable {header.RelocatableKernel}, initrd_addr_max 0x{header.InitrdAddrMax:X}, "
                + $"setup_sects {header.SetupSects}, header end 0x{header.SetupHeaderEnd:X}");
            return header;
        }

        [Test]
        public void DebiansKernelHasAModernSixtyFourBitHeader()
        {
            var h = Parse(DebianKernel);
            Assert.That(h.Version, Is.EqualTo((ushort)0x020F), "6.1 speaks boot protocol 2.15");
            Assert.That(h.XLoadFlags & 0x3, Is.EqualTo(0x3), "XLF_KERNEL_64 and XLF_CAN_BE_LOADED_ABOVE_4G");
            Assert.That(h.CmdlineSize, Is.EqualTo(2047u), "COMMAND_LINE_SIZE - 1");
            Assert.That(h.PrefAddress, Is.EqualTo(0x1000000UL), "LOAD_PHYSICAL_ADDR, CONFIG_PHYSICAL_START = 16 MiB");
            Assert.That(h.RelocatableKernel, Is.True);
            Assert.That(h.KernelAlignment, Is.EqualTo(0x200000u));
            Assert.That(h.InitSize, Is.GreaterThan(h.ProtectedModeSize), "room to decompress in place");
            Assert.That(h.InitSize, Is.LessThan(256u << 20));
            Assert.That(h.SetupHeaderEnd, Is.EqualTo(0x26C));
        }

        [Test]
        public void TheGuestKernelHasASixtyFourBitHeader()
        {
            var h = Parse(GuestKernel);
            Assert.That(h.Version, Is.GreaterThanOrEqualTo((ushort)0x020C));
            Assert.That(h.XLoadFlags & 0x1, Is.EqualTo(0x1), "XLF_KERNEL_64");
            Assert.That(h.CmdlineSize, Is.GreaterThanOrEqualTo(255u));
            Assert.That(h.PrefAddress, Is.GreaterThanOrEqualTo(0x100000UL));
            Assert.That(h.InitSize, Is.GreaterThan(h.ProtectedModeSize));
        }

        [Test]
        public void TheGuestKernelLoadsIntoSixtyFourMiB()
        {
            byte[] image = Read(GuestKernel);
            Assert.That(LinuxKernelHeader.TryParse(image, out var h, out string error), Is.True, error);
            const ulong ramSize = 64UL << 20;
            byte* ram = (byte*)NativeMemory.AllocZeroed((nuint)ramSize);
            try
            {
                var map = new E820Entry[LinuxBoot.GuestMemoryMapEntries];
                int count = LinuxBoot.GuestMemoryMap(ramSize, map);
                byte[] initrd = new byte[0x1000];
                LinuxBootState s;
                fixed (byte* i = initrd)
                    Assert.That(LinuxBoot.TryLoad(image, i, (ulong)initrd.Length, "console=ttyS0", ram, ramSize, map.AsSpan(0, count), 0xF0000, out s, out error), Is.True, error);
                // Relocatable or not, it runs from pref_address; that is where it goes.
                Assert.That(s.Kernel.Start, Is.EqualTo(h.PrefAddress));
                Assert.That(s.Rip, Is.EqualTo(h.PrefAddress + 0x200));
                int setup = (int)h.SetupSize;
                Assert.That(new ReadOnlySpan<byte>(ram + h.PrefAddress, image.Length - setup).SequenceEqual(image.AsSpan(setup)), Is.True);
                Assert.That(ram[h.PrefAddress + 0x200], Is.EqualTo(0xFC), "startup_64: cld");
                Assert.That(s.Initrd.Start, Is.GreaterThanOrEqualTo(s.Kernel.End));
                Assert.That(s.Initrd.End, Is.LessThanOrEqualTo(ramSize));
                TestContext.Out.WriteLine($"kernel 0x{s.Kernel.Start:X}-0x{s.Kernel.End:X}, initrd 0x{s.Initrd.Start:X}-0x{s.Initrd.End:X}, RIP 0x{s.Rip:X}");
            }
            finally
            {
                NativeMemory.Free(ram);
            }
        }

        [Test]
        public void DebiansKernelLoadsIntoTwoHundredFiftySixMiB()
        {
            byte[] image = Read(DebianKernel);
            Assert.That(LinuxKernelHeader.TryParse(image, out var h, out string error), Is.True, error);
            const ulong ramSize = 256UL << 20;
            const ulong initrdSize = 3UL << 20;
            byte[] ram = new byte[ramSize];
            byte[] initrd = new byte[initrdSize];
            new Random(1).NextBytes(initrd);
            var map = new E820Entry[LinuxBoot.GuestMemoryMapEntries];
            int count = LinuxBoot.GuestMemoryMap(ramSize, map);
            LinuxBootState s;
            fixed (byte* r = ram)
            fixed (byte* i = initrd)
                Assert.That(LinuxBoot.TryLoad(image, i, initrdSize, "console=ttyS0,115200 earlyprintk=serial rdinit=/init", r, ramSize,
                    map.AsSpan(0, count), 0xF0000, out s, out error), Is.True, error);

            Assert.That(s.Kernel.Start, Is.EqualTo(0x1000000UL));
            Assert.That(s.Rip, Is.EqualTo(0x1000200UL));
            int setup = (int)h.SetupSize;
            Assert.That(ram.AsSpan(0x1000000, image.Length - setup).SequenceEqual(image.AsSpan(setup)), Is.True, "the protected-mode kernel at 16 MiB");
            // compressed/head_64.S, startup_64 at 0x200: "cld; cli".
            Assert.That(ram[0x1000200], Is.EqualTo(0xFC), "cld");
            Assert.That(ram[0x1000201], Is.EqualTo(0xFA), "cli");
            Assert.That(s.Kernel.End, Is.EqualTo(0x1000000UL + h.InitSize));

            ulong bp = s.Rsi;
            Assert.That(BitConverter.ToUInt32(ram, (int)bp + 0x202), Is.EqualTo(0x53726448u), "HdrS in boot_params");
            Assert.That(BitConverter.ToUInt16(ram, (int)bp + 0x206), Is.EqualTo((ushort)0x020F));
            Assert.That(ram[bp + 0x210], Is.EqualTo(0xFF));
            Assert.That(BitConverter.ToUInt32(ram, (int)bp + 0x228), Is.EqualTo((uint)LinuxBoot.CommandLineAddress));
            Assert.That(BitConverter.ToUInt64(ram, (int)bp + 0x070), Is.EqualTo(0xF0000UL));
            Assert.That(ram[bp + 0x1E8], Is.EqualTo(4));

            Assert.That(s.Initrd.Start, Is.EqualTo(ramSize - initrdSize), "at the top of RAM, below initrd_addr_max");
            Assert.That(BitConverter.ToUInt32(ram, (int)bp + 0x218), Is.EqualTo((uint)s.Initrd.Start));
            Assert.That(BitConverter.ToUInt32(ram, (int)bp + 0x21C), Is.EqualTo((uint)initrdSize));
            Assert.That(ram.AsSpan((int)s.Initrd.Start, (int)initrdSize).SequenceEqual(initrd), Is.True);
            Assert.That(s.Overlapping(LinuxBoot.AcpiAreaStart, LinuxBoot.AcpiAreaEnd), Is.Null);
            TestContext.Out.WriteLine($"kernel 0x{s.Kernel.Start:X}-0x{s.Kernel.End:X}, initrd 0x{s.Initrd.Start:X}-0x{s.Initrd.End:X}, RIP 0x{s.Rip:X}");
        }

        /// <summary>
        /// Debian's memtest86+ 6.10 (boot/setup.S header: protocol 2.12, not relocatable, at
        /// 1 MiB, syssize rounded up past the file's end) loads by the 64-bit protocol, and its
        /// startup64 at 0x200 ("cld; cli; mov %rsi, boot_params_addr(%rip)") is where the vCPU starts.
        /// </summary>
        [Test]
        public void DebiansMemtestLoadsIntoSixtyFourMiB()
        {
            byte[] image = Read(DebianMemtest);
            var h = Parse(DebianMemtest);
            Assert.That(h.Version, Is.EqualTo((ushort)0x020C));
            Assert.That(h.RelocatableKernel, Is.False);
            Assert.That(h.PrefAddress, Is.EqualTo(0x100000UL));
            Assert.That((ulong)h.SysSize * 16, Is.GreaterThan(h.ProtectedModeSize), "syssize rounds up to a paragraph");
            const ulong ramSize = 64UL << 20;
            byte[] ram = new byte[ramSize];
            var map = new E820Entry[LinuxBoot.GuestMemoryMapEntries];
            int count = LinuxBoot.GuestMemoryMap(ramSize, map);
            LinuxBootState s;
            string error;
            fixed (byte* r = ram)
                Assert.That(LinuxBoot.TryLoad(image, null, 0, "console=ttyS0,115200", r, ramSize, map.AsSpan(0, count), 0xE0000, out s, out error), Is.True, error);
            Assert.That(s.Kernel.Start, Is.EqualTo(0x100000UL));
            Assert.That(s.Rip, Is.EqualTo(0x100200UL));
            Assert.That(ram.AsSpan(0x100200, 5).ToArray(), Is.EqualTo(new byte[] { 0xFC, 0xFA, 0x48, 0x89, 0x35 }), "cld; cli; mov %rsi, ...(%rip)");
            ulong bp = s.Rsi;
            Assert.That(BitConverter.ToUInt32(ram, (int)bp + 0x228), Is.EqualTo((uint)LinuxBoot.CommandLineAddress), "cmd_line_ptr");
            Assert.That(BitConverter.ToUInt32(ram, (int)bp + 0x238), Is.EqualTo(255u), "cmd_line_size, which memtest's config_init reads");
            Assert.That(s.Overlapping(LinuxBoot.AcpiAreaStart, LinuxBoot.AcpiAreaEnd), Is.Null);
        }

        [Test]
        public void DebiansKernelDoesNotFitInSixtyFourMiB()
        {
            byte[] image = Read(DebianKernel);
            const ulong ramSize = 64UL << 20;
            var map = new E820Entry[LinuxBoot.GuestMemoryMapEntries];
            int count = LinuxBoot.GuestMemoryMap(ramSize, map);
            byte* ram = (byte*)NativeMemory.AllocZeroed((nuint)ramSize);
            try
            {
                Assert.That(LinuxBoot.TryLoad(image, null, 0, "", ram, ramSize, map.AsSpan(0, count), 0, out _, out string error), Is.False);
                Assert.That(error, Does.StartWith("the kernel does not fit: it needs 0x").And.EndWith("bytes (init_size) from 0x1000000 (pref_address), up to 0x"
                    + (0x1000000UL + LinuxKernelHeaderOf(image).InitSize).ToString("X") + ", but the partition has 64 MiB of RAM"));
            }
            finally
            {
                NativeMemory.Free(ram);
            }
        }

        private static LinuxKernelHeader LinuxKernelHeaderOf(byte[] image)
        {
            LinuxKernelHeader.TryParse(image, out var h, out _);
            return h;
        }
    }
}
