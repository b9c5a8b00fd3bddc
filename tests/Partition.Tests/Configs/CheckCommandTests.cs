extern alias cli;

using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Tasks;
using NUnit.Framework;
using Partition.Host;
using Partition.Host.Guests;
using Partition.Kernel;
using CheckCommand = cli::Partition.Cli.CheckCommand;

namespace Partition.Tests.Configs
{
    /// <summary>
    /// 'partition check' as a user runs it: what it refuses to read and how (exit 2, a plain
    /// message, bounded memory), what --images checks (what the boot checks, with its words),
    /// and the summary of a valid config.
    /// </summary>
    public unsafe class CheckCommandTests
    {
        private string _directory;

        [SetUp]
        public void MakeDirectory()
        {
            _directory = Path.Combine(Path.GetTempPath(), "partition-check-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_directory);
        }

        [TearDown]
        public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

        /// <summary>'partition check ARGS'.</summary>
        private static (int Status, string Out, string Err) Check(params string[] args)
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            string[] arguments = args;
            // A check that blocked (on a FIFO, say) would hang the run: a guard, not a measurement.
            var run = Task.Run(() => CheckCommand.Run(arguments, stdout, stderr));
            Assert.That(run.Wait(TimeSpan.FromMinutes(2)), Is.True, "partition check did not return");
            return (run.Result, stdout.ToString(), stderr.ToString());
        }

        private string Write(string name, string text)
        {
            string path = Path.Combine(_directory, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path));
            File.WriteAllText(path, text);
            return path;
        }

        private string Write(string name, byte[] bytes)
        {
            string path = Path.Combine(_directory, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path));
            File.WriteAllBytes(path, bytes);
            return path;
        }

        // ---- Item 3 and 4: what is not a config file ----

        [Test]
        public void ADirectoryIsExitTwoAndSaysSo()
        {
            string configs = Path.Combine(RepositoryLayout.Find(AppContext.BaseDirectory).Root, "configs");
            var (status, output, error) = Check(configs);
            Assert.That(status, Is.EqualTo(2));
            Assert.That(output, Is.Empty);
            // The example is the directory's first config in ordinal order.
            Assert.That(error, Is.EqualTo($"partition check: {configs} is a directory, not a config file; give a .json file in it, such as {Path.Combine(configs, "apic-shared.json")}\n"));
        }

        [Test]
        public void AFifoIsExitTwoWithoutWaitingForAWriter()
        {
            string fifo = Path.Combine(_directory, "config.json");
            Assert.That(mkfifo(fifo, 0x180), Is.Zero, "mkfifo");
            var (status, _, error) = Check(fifo);
            Assert.That(status, Is.EqualTo(2));
            Assert.That(error, Is.EqualTo($"partition check: {fifo} is a FIFO (named pipe), not a config file; write the config to a file and check that\n"));
        }

        [TestCase("/dev/zero")]
        [TestCase("/dev/null")]
        public void ADeviceIsExitTwoAndIsNotRead(string device)
        {
            var (status, _, error) = Check(device);
            Assert.That(status, Is.EqualTo(2));
            Assert.That(error, Is.EqualTo($"partition check: {device} is a character device, not a config file; write the config to a file and check that\n"));
        }

        [Test]
        public void AMissingFileIsExitTwo()
        {
            string missing = Path.Combine(_directory, "nothing.json");
            var (status, output, error) = Check(missing, "--json");
            Assert.That(status, Is.EqualTo(2));
            Assert.That(error, Is.EqualTo($"partition check: cannot read {missing}: there is no such file\n"));
            Assert.That(output, Does.Contain("\"readable\":false").And.Contain("there is no such file"));
        }

        [Test]
        public void AFileLargerThanTheLimitIsRefusedWithoutBeingRead()
        {
            // 4 GiB, sparse: reading it whole is what must not happen.
            string path = Path.Combine(_directory, "huge.json");
            using (var stream = File.Create(path))
                stream.SetLength(4L << 30);
            long before = GC.GetTotalAllocatedBytes(precise: true);
            var (status, _, error) = Check(path);
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.That(status, Is.EqualTo(2));
            Assert.That(error, Is.EqualTo($"partition check: cannot check {path}: the config is 4294967296 bytes, more than the limit of 1 MiB (1048576 bytes); a config is a few KiB\n"));
            Assert.That(allocated, Is.LessThan(1L << 20), "bytes allocated");
        }

        [Test]
        public void AFileJustOverTheLimitIsRefusedAndOneAtItIsRead()
        {
            string over = Write("over.json", new byte[Partition.Configs.ConfigChecker.MaxBytes + 1]);
            Assert.That(Check(over).Status, Is.EqualTo(2));
            var at = new byte[Partition.Configs.ConfigChecker.MaxBytes];
            at.AsSpan().Fill((byte)' ');
            at[0] = (byte)'{';
            at[^1] = (byte)'}';
            var (status, output, _) = Check(Write("at.json", at));
            Assert.That(status, Is.EqualTo(1), "read and checked: an empty object lacks its keys");
            Assert.That(output, Does.Contain("missing \"version\""));
        }

        [Test]
        public void AHugeKeyIsQuotedShortly()
        {
            string key = new string('k', 900_000);
            var (status, output, _) = Check(Write("key.json", "{ \"" + key + "\": 1 }"));
            Assert.That(status, Is.EqualTo(1));
            Assert.That(output.Length, Is.LessThan(2000), output.Substring(0, Math.Min(output.Length, 300)));
            Assert.That(output, Does.Contain(": " + new string('k', 40) + "...: unknown key \"" + new string('k', 40) + "...\"; valid keys here: "));
        }

        // ---- Item 5: the defaults in the summary ----

        [Test]
        public void TheSummaryNamesTheDefaultScheduleOfASharedCore()
        {
            string config = Write("shared.json",
                "{ \"version\": 1, \"machine\": { \"cores\": 2, \"memory\": \"256 MiB\" }, \"partitions\": [\n" +
                "  { \"name\": \"host\", \"role\": \"host\", \"vcpus\": [ { \"core\": 0 } ], \"memory\": [ { \"size\": \"16 MiB\" } ], \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k\" } },\n" +
                "  { \"name\": \"a\", \"role\": \"guest\", \"vcpus\": [ { \"core\": 1, \"placement\": \"shared\" } ], \"memory\": [ { \"size\": \"16 MiB\" } ], \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k\" } },\n" +
                "  { \"name\": \"b\", \"role\": \"guest\", \"vcpus\": [ { \"core\": 1, \"placement\": \"shared\" } ], \"memory\": [ { \"size\": \"16 MiB\" } ], \"boot\": { \"type\": \"multiboot\", \"kernel\": \"k\" } } ] }");
            var (status, output, _) = Check(config);
            Assert.That(status, Is.EqualTo(0));
            Assert.That(output, Does.EndWith("  core 1: round-robin, period 10000 us (the default: no schedule names core 1), 2 shared vCPUs\n"));
            var (_, json, _) = Check(config, "--json");
            Assert.That(json, Does.Contain("\"sharedCores\": [\n    {\n      \"core\": 1,\n      \"policy\": \"round-robin\",\n      \"periodUs\": 10000,\n      \"default\": true,"));
        }

        // ---- Item 2: --images checks what the boot checks ----

        private const string MultibootConfig =
            "{ \"version\": 1, \"machine\": { \"cores\": 1, \"memory\": \"128 MiB\" }, \"partitions\": [\n" +
            "  { \"name\": \"mb\", \"role\": \"host\", \"vcpus\": [ { \"core\": 0 } ], \"memory\": [ { \"size\": \"MEMORY\" } ],\n" +
            "    \"boot\": { \"type\": \"multiboot\", \"kernel\": \"images/kernel\", \"cmdline\": \"CMDLINE\",\n" +
            "              \"modules\": [ { \"path\": \"images/module.txt\", \"cmdline\": \"MODULE\" } ] } } ] }";

        private (int Status, string Out) CheckMultiboot(byte[] kernel, string memory = "4 MiB", string cmdline = "mode=ping", string module = "m")
        {
            Write("images/kernel", kernel);
            Write("images/module.txt", "text of a boot module");
            string config = Write("mb.json", MultibootConfig.Replace("MEMORY", memory).Replace("CMDLINE", cmdline).Replace("MODULE", module));
            var (status, output, _) = Check(config, "--images");
            return (status, output);
        }

        /// <summary>What the boot's loader says about <paramref name="kernel"/> in a partition of <paramref name="memory"/> bytes.</summary>
        private static string LoaderError(byte[] kernel, ulong memory, string cmdline)
        {
            byte* guest = (byte*)NativeMemory.AllocZeroed((nuint)memory);
            byte[] module = Encoding.ASCII.GetBytes("text of a boot module");
            try
            {
                fixed (byte* m = module)
                {
                    var modules = new[] { new GuestModule((ulong)m, (ulong)module.Length, "m") };
                    return MultibootLoader.TryLoad(kernel, guest, memory, cmdline, modules, out _, out string error) ? null : error;
                }
            }
            finally
            {
                NativeMemory.Free(guest);
            }
        }

        [Test]
        public void AGoodMultibootKernelPasses()
        {
            var (status, output) = CheckMultiboot(Elf32.Wrap(TestGuest.MultibootKernel(2, 0x200000, 0x3F8, "hi"), 0x200000, 0x200018));
            Assert.That(status, Is.EqualTo(0), output);
        }

        [Test]
        public void AFileWithoutAMultibootHeaderIsRefusedInTheLoadersWords()
        {
            byte[] kernel = Encoding.ASCII.GetBytes(new string('x', 20000));
            string words = LoaderError(kernel, 4 << 20, "mode=ping");
            Assert.That(words, Is.EqualTo("the kernel has no Multiboot or Multiboot2 header in its first 8 or 32 KiB"));
            var (status, output) = CheckMultiboot(kernel);
            Assert.That(status, Is.EqualTo(1));
            Assert.That(output, Does.Contain("mb.json:3:46: partitions[0].boot.kernel: the kernel \"images/kernel\" cannot be loaded by the Multiboot loader: " + words + "\n"));
        }

        [Test]
        public void AnElfTheLoaderDoesNotTakeIsRefused()
        {
            // A Multiboot2 header without address fields, in a file that is not ELF32 x86: the
            // loader needs one or the other.
            byte[] kernel = new byte[4096];
            uint length = 16;
            BitConverter.GetBytes(MultibootLoader.Magic2).CopyTo(kernel, 0);
            BitConverter.GetBytes(0u).CopyTo(kernel, 4);
            BitConverter.GetBytes(length).CopyTo(kernel, 8);
            BitConverter.GetBytes(unchecked(0u - MultibootLoader.Magic2 - length)).CopyTo(kernel, 12);
            string words = LoaderError(kernel, 4 << 20, "mode=ping");
            Assert.That(words, Is.EqualTo("the kernel is neither an ELF32 x86 file nor carries Multiboot address fields"));
            var (status, output) = CheckMultiboot(kernel);
            Assert.That(status, Is.EqualTo(1));
            Assert.That(output, Does.Contain(": partitions[0].boot.kernel: the kernel \"images/kernel\" cannot be loaded by the Multiboot loader: " + words + "\n"));
        }

        [Test]
        public void AKernelThatDoesNotFitThePartitionIsRefused()
        {
            // Loaded at 2 MiB, in a partition of 1 MiB.
            byte[] kernel = TestGuest.MultibootKernel(1, 0x200000, 0x3F8, "hi");
            string words = LoaderError(kernel, 1 << 20, "mode=ping");
            Assert.That(words, Is.Not.Null);
            var (status, output) = CheckMultiboot(kernel, memory: "1 MiB");
            Assert.That(status, Is.EqualTo(1));
            Assert.That(output, Does.Contain("cannot be loaded by the Multiboot loader: " + words + "\n"));
        }

        [Test]
        public void ACommandLineWithNoRoomLeftIsRefusedInTheLoadersWords()
        {
            // The loader's limit on a Multiboot command line is the room after the kernel and
            // its modules: 512 KiB of command line in a 1 MiB partition whose kernel is at 0x80000.
            byte[] kernel = TestGuest.MultibootKernel(1, 0x80000, 0x3F8, "hi");
            string cmdline = new string('c', 512 * 1024);
            string words = LoaderError(kernel, 1 << 20, cmdline);
            Assert.That(words, Is.EqualTo("the boot information does not fit in the partition's memory"));
            Assert.That(LoaderError(kernel, 1 << 20, "short"), Is.Null);
            var (status, output) = CheckMultiboot(kernel, memory: "1 MiB", cmdline: cmdline);
            Assert.That(status, Is.EqualTo(1));
            Assert.That(output, Does.Contain(": partitions[0].boot.kernel: the kernel \"images/kernel\" cannot be loaded by the Multiboot loader: " + words + "\n"));
        }

        [TestCase("mode\\u0000ping", "mode=ping", "mb.json:3:74: partitions[0].boot.cmdline: the kernel \"images/kernel\": the command line contains a NUL character at offset 4; the kernel would read only what comes before it")]
        [TestCase("mode=ping", "a\\u0000b", "mb.json:4:70: partitions[0].boot.modules[0].cmdline: the module \"images/module.txt\": the command line contains a NUL character at offset 1; the kernel would read only what comes before it")]
        public void ACommandLineWithANulIsRefused(string cmdline, string module, string expected)
        {
            var (status, output) = CheckMultiboot(TestGuest.MultibootKernel(1, 0x100000, 0x3F8, "hi"), cmdline: cmdline, module: module);
            Assert.That(status, Is.EqualTo(1));
            Assert.That(output, Does.StartWith(Path.Combine(_directory, expected) + "\n"));
        }

        [Test]
        public void AnImagePathThatIsADirectoryIsRefused()
        {
            Directory.CreateDirectory(Path.Combine(_directory, "images", "kernel"));
            Write("images/module.txt", "text");
            string config = Write("mb.json", MultibootConfig.Replace("MEMORY", "4 MiB").Replace("CMDLINE", "x").Replace("MODULE", "m"));
            var (status, output, _) = Check(config, "--images");
            Assert.That(status, Is.EqualTo(1));
            Assert.That(output, Does.Contain($"partitions[0].boot.kernel: the image \"images/kernel\" is a directory ({Path.Combine(_directory, "images", "kernel")}), not a file\n"));
        }

        [Test]
        public void TheMultibootExampleWithItsBuiltImagesPasses()
        {
            string root = RepositoryLayout.Find(AppContext.BaseDirectory).Root;
            DemoGuests.WriteAll(Path.Combine(_directory, "images"));
            string config = Path.Combine(_directory, "multiboot-guests.json");
            File.Copy(Path.Combine(root, "configs", "multiboot-guests.json"), config);
            var (status, output, _) = Check(config, "--images");
            Assert.That(status, Is.EqualTo(0), output);
        }

        // ---- Item 2, flat binaries: where the boot puts the image (FlatImage.Fits) ----

        private const string FlatConfig =
            "{ \"version\": 1, \"machine\": { \"cores\": 1, \"memory\": \"128 MiB\" }, \"partitions\": [\n" +
            "  { \"name\": \"flat\", \"role\": \"host\", \"vcpus\": [ { \"core\": 0 } ], \"memory\": [ { \"size\": \"MEMORY\" } ],\n" +
            "    \"boot\": { \"type\": \"flat\", \"image\": \"images/guest.bin\", \"load_address\": \"LOAD\", \"mode\": \"MODE\" } } ] }";

        private (int Status, string Out) CheckFlat(int imageSize, ulong memory, ulong load, GuestMode mode)
        {
            Write("images/guest.bin", new byte[imageSize]);
            string modeName = mode == GuestMode.Real ? "real" : mode == GuestMode.Protected32 ? "protected32" : "long64";
            string config = Write("flat.json", FlatConfig.Replace("MEMORY", memory + " B").Replace("LOAD", "0x" + load.ToString("X")).Replace("MODE", modeName));
            var (status, output, _) = Check(config, "--images");
            return (status, output);
        }

        /// <summary>
        /// What the boot says about the partition (<see cref="VirtualMachine.TryCreate(PartitionSpec, ReadOnlySpan{byte}, VmxCapabilities, ProcessorTables, int, out VirtualMachine, out string)"/>,
        /// which refuses before it takes any memory or touches VMX), or null if it gets past the check.
        /// </summary>
        private static string BootError(int imageSize, ulong memory, ulong load, GuestMode mode)
        {
            bool fits = FlatImage.Fits((ulong)imageSize, load, memory, mode == GuestMode.Long64, out string words);
            if (fits)
                return null;
            var spec = new PartitionSpec("flat", mode, memory, load, load, 0x3F8);
            Assert.That(VirtualMachine.TryCreate(spec, new byte[imageSize], null, null, 0, out _, out string error), Is.False);
            Assert.That(error, Is.EqualTo(words), "the boot's own words");
            return error;
        }

        [TestCase(0x90000, 1UL << 20, 0x80000UL, GuestMode.Protected32,
            "the image does not fit between its load address and the end of the partition's memory")]
        [TestCase(0x10001, 1UL << 20, 0xF0000UL, GuestMode.Real,
            "the image does not fit between its load address and the end of the partition's memory")]
        [TestCase(0x1000, 1UL << 20, 0x200000UL, GuestMode.Protected32,
            "the load address 0x200000 is outside the partition's memory (1 MiB from guest-physical 0)")]
        [TestCase(0x1000, 1UL << 20, 0x100000UL, GuestMode.Protected32,
            "the load address 0x100000 is outside the partition's memory (1 MiB from guest-physical 0)")]
        [TestCase(0x1000, 2UL << 20, 0xFFFFFFFFFFFFF000UL, GuestMode.Long64,
            "the load address 0xFFFFFFFFFFFFF000 is outside the partition's memory (2 MiB from guest-physical 0)")]
        [TestCase(0xFD000, 2UL << 20, 0x100000UL, GuestMode.Long64,
            "the image overlaps the page tables at the top of a long64 partition's memory")]
        [TestCase(0x1000, 16UL << 10, 0UL, GuestMode.Long64,
            "a long64 partition's memory (16 KiB) is smaller than the page tables (24 KiB) the hypervisor builds at its top")]
        public void AFlatImageTheBootWouldNotPlaceIsRefusedInTheBootsWords(int imageSize, ulong memory, ulong load, GuestMode mode, string words)
        {
            Assert.That(BootError(imageSize, memory, load, mode), Is.EqualTo(words));
            var (status, output) = CheckFlat(imageSize, memory, load, mode);
            Assert.That(status, Is.EqualTo(1), output);
            if (words.StartsWith("the load address"))
                // The validator sees that much without the image, in the same words, at the load address.
                Assert.That(output, Does.Contain(": partitions[0].boot.load_address: " + words + "\n"));
            else
                Assert.That(output, Does.Contain("flat.json:3:40: partitions[0].boot.image: the image \"images/guest.bin\" cannot be loaded: " + words + "\n"));
        }

        [Test]
        public void AFlatImagesEntryPointOutsideItsMemoryIsRefusedByTheValidator()
        {
            Write("images/guest.bin", new byte[0x1000]);
            string config = Write("flat.json", FlatConfig.Replace("MEMORY", "1 MiB").Replace("LOAD", "0x1000").Replace("MODE", "protected32")
                .Replace("\"load_address\"", "\"entry\": \"0x180000\", \"load_address\""));
            var (status, output, _) = Check(config);
            Assert.That(status, Is.EqualTo(1), output);
            Assert.That(output, Does.Contain(": partitions[0].boot.entry: the entry point 0x180000 is outside the partition's memory (1 MiB from guest-physical 0)\n"));
        }

        [Test]
        public void AFlatImagesEntryPointOutsideTheImageIsRefusedAtBootAndByCheckImagesInTheSameWords()
        {
            const string words = "the entry point 0x3000 is not inside the image (4 KiB loaded at 0x1000): the guest would start in zeroed memory";
            var spec = new PartitionSpec("flat", GuestMode.Protected32, 1UL << 20, 0x1000, 0x3000, 0x3F8);
            Assert.That(VirtualMachine.TryCreate(spec, new byte[0x1000], null, null, 0, out _, out string error), Is.False);
            Assert.That(error, Is.EqualTo(words));

            Write("images/guest.bin", new byte[0x1000]);
            string config = Write("flat.json", FlatConfig.Replace("MEMORY", "1 MiB").Replace("LOAD", "0x1000").Replace("MODE", "protected32")
                .Replace("\"load_address\"", "\"entry\": \"0x3000\", \"load_address\""));
            Assert.That(Check(config).Status, Is.EqualTo(0), "without the image the entry is only known to be inside the memory");
            var (status, output, _) = Check(config, "--images");
            Assert.That(status, Is.EqualTo(1), output);
            Assert.That(output, Does.Contain("partitions[0].boot.image: the image \"images/guest.bin\" cannot be loaded: " + words + "\n"));
        }

        [TestCase(0x80000, 1UL << 20, 0x80000UL, GuestMode.Protected32)] // up to the last byte
        [TestCase(0xFA000, 2UL << 20, 0x100000UL, GuestMode.Long64)]      // up to the page tables
        [TestCase(0x1000, 1UL << 20, 0x7C00UL, GuestMode.Real)]
        public void AFlatImageThatFitsPasses(int imageSize, ulong memory, ulong load, GuestMode mode)
        {
            Assert.That(BootError(imageSize, memory, load, mode), Is.Null);
            var (status, output) = CheckFlat(imageSize, memory, load, mode);
            Assert.That(status, Is.EqualTo(0), output);
        }

        [Test]
        public void AFlatImageLargerThanThePartitionIsReportedOnce()
        {
            // The validator's total (at boot too, before the partition is created) already says
            // so; the boot's place check is not run on top of it.
            var (status, output) = CheckFlat(0x200000, 1UL << 20, 0x1000, GuestMode.Protected32);
            Assert.That(status, Is.EqualTo(1));
            Assert.That(output, Does.Contain(": partitions[0].boot: the boot images take 2 MiB, more than the partition's 1 MiB of memory; give the partition more memory\n"));
            Assert.That(output, Does.Not.Contain("cannot be loaded"));
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int mkfifo(string path, uint mode);
    }
}
