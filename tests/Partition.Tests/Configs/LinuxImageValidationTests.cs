using System;
using System.Runtime.InteropServices;
using System.Text;
using NUnit.Framework;
using Partition.Configs;
using Partition.Kernel;
using Partition.Tests.Unit;

namespace Partition.Tests.Configs
{
    /// <summary>
    /// A "linux" boot is refused before boot, by the validator that also runs at boot, when its
    /// kernel is not a bzImage with a 64-bit entry or its command line is more than the kernel
    /// takes: with the loader's words, the file and the JSON path.
    /// </summary>
    public unsafe class LinuxImageValidationTests
    {
        private const string Config =
            "{ \"version\": 1, \"machine\": { \"cores\": 1, \"memory\": \"512 MiB\" }, \"partitions\": [\n" +
            "  { \"name\": \"linux\", \"role\": \"host\", \"vcpus\": [ { \"core\": 0 } ], \"memory\": [ { \"size\": \"256 MiB\" } ],\n" +
            "    \"boot\": { \"type\": \"linux\", \"kernel\": \"images/bzImage\", \"initrd\": \"images/initrd\",\n" +
            "                \"cmdline\": \"CMDLINE\" } } ] }";

        private static string[] Check(byte[] kernel, string cmdline, bool inMemory = true)
        {
            byte[] json = Encoding.UTF8.GetBytes(Config.Replace("CMDLINE", cmdline));
            var declared = ConfigChecker.Check(json);
            Assert.That(declared.IsValid, Is.True, declared.Errors.Length > 0 ? declared.Errors[0].Format("x") : "");
            var handle = GCHandle.Alloc(kernel, GCHandleType.Pinned);
            try
            {
                ulong start = (ulong)handle.AddrOfPinnedObject();
                var modules = new[]
                {
                    new BootModule(start, start + (ulong)kernel.Length, "guest-image linux kernel"),
                    new BootModule(0, 4096, "guest-image linux initrd"),
                };
                var result = ConfigChecker.Check(json, MachineFacts.Declared(declared.Configuration.Machine, modules, inMemory));
                return Array.ConvertAll(result.Errors, e => e.Format("linux.json"));
            }
            finally
            {
                handle.Free();
            }
        }

        [Test]
        public void AGoodKernelAndCommandLinePass() =>
            Assert.That(Check(new SyntheticBzImage().Build(), "console=ttyS0"), Is.Empty);

        [Test]
        public void AKernelWithoutHdrSIsRefusedAtItsPath()
        {
            byte[] kernel = new SyntheticBzImage().Build();
            kernel[0x203] = 0;
            Assert.That(Check(kernel, "console=ttyS0"), Is.EqualTo(new[]
            {
                "linux.json:3:42: partitions[0].boot.kernel: the kernel \"images/bzImage\" cannot be booted by the Linux 64-bit boot protocol: not a bzImage: no HdrS signature at 0x202",
            }));
        }

        [Test]
        public void AnOldProtocolIsRefusedWithTheLoadersWords()
        {
            string[] errors = Check(new SyntheticBzImage { Version = 0x0206 }.Build(), "console=ttyS0");
            Assert.That(errors, Has.Length.EqualTo(1));
            Assert.That(errors[0], Does.EndWith(": boot protocol 2.06 is too old: the 64-bit entry needs 2.12 or later"));
        }

        [Test]
        public void AKernelWithoutTheSixtyFourBitEntryIsRefused()
        {
            string[] errors = Check(new SyntheticBzImage { XLoadFlags = 0 }.Build(), "console=ttyS0");
            Assert.That(errors, Has.Length.EqualTo(1));
            Assert.That(errors[0], Does.EndWith(": the kernel has no 64-bit entry (xloadflags bit 0, XLF_KERNEL_64, is clear)"));
        }

        [Test]
        public void ACommandLineLongerThanCmdlineSizeIsRefusedAtTheCmdline()
        {
            Assert.That(Check(new SyntheticBzImage { CmdlineSize = 10 }.Build(), "console=ttyS0"), Is.EqualTo(new[]
            {
                "linux.json:4:28: partitions[0].boot.cmdline: the kernel \"images/bzImage\": the command line is 13 bytes, longer than the 10 the kernel accepts (its cmdline_size)",
            }));
        }

        [Test]
        public void ACommandLineWithANulIsRefused()
        {
            string[] errors = Check(new SyntheticBzImage().Build(), "a\\u0000b");
            Assert.That(errors, Has.Length.EqualTo(1));
            Assert.That(errors[0], Does.Contain("partitions[0].boot.cmdline: the kernel \"images/bzImage\": the command line contains a NUL character at offset 1"));
        }

        [Test]
        public void ModulesNotInMemoryAreNotRead()
        {
            // Fake addresses (as the boot tests use) with modulesInMemory false: sizes only.
            byte[] kernel = new SyntheticBzImage { XLoadFlags = 0 }.Build();
            Assert.That(Check(kernel, "console=ttyS0", inMemory: false), Is.Empty);
        }

        [Test]
        public void TheSameCheckRunsAtBootOnTheRealMachine()
        {
            byte[] kernel = new SyntheticBzImage { CmdlineSize = 4 }.Build();
            byte[] json = Encoding.UTF8.GetBytes(Config.Replace("CMDLINE", "console=ttyS0"));
            fixed (byte* k = kernel)
            {
                var modules = new[]
                {
                    new BootModule(0x400000, 0x401000, "partition-config"),
                    new BootModule((ulong)k, (ulong)k + (ulong)kernel.Length, "guest-image linux kernel"),
                    new BootModule(0, 4096, "guest-image linux initrd"),
                };
                var memoryMap = new[] { new MemoryRegion(0x100000, 0x3FF00000, MemoryRegionType.Available) };
                var result = BootConfiguration.Validate(json, new MachineFacts(1, memoryMap, modules, modulesInMemory: true));
                Assert.That(result.ErrorCount, Is.EqualTo(1));
                Assert.That(result.Errors[0].Path, Is.EqualTo("partitions[0].boot.cmdline"));
                Assert.That(result.CanStart(0), Is.False);
            }
        }
    }
}
