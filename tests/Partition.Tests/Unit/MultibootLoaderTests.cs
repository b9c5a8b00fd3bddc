using System;
using System.Runtime.InteropServices;
using System.Text;
using NUnit.Framework;
using Partition.Host.Guests;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    public unsafe class MultibootLoaderTests
    {
        private const ulong Memory = 4UL << 20;
        private byte* _guest;
        private byte* _module;

        [SetUp]
        public void GiveGuestMemory()
        {
            _guest = (byte*)NativeMemory.AllocZeroed((nuint)Memory);
            _module = (byte*)NativeMemory.AllocZeroed(64);
            Encoding.ASCII.GetBytes("module text").CopyTo(new Span<byte>(_module, 64));
        }

        [TearDown]
        public void Release()
        {
            NativeMemory.Free(_guest);
            NativeMemory.Free(_module);
        }

        private GuestModule[] OneModule => new[] { new GuestModule((ulong)_module, 11, "mod arg") };

        private string CString(ulong address)
        {
            int length = 0;
            while (_guest[address + (ulong)length] != 0)
                length++;
            return Encoding.ASCII.GetString(_guest + address, length);
        }

        private uint U32(ulong address) => *(uint*)(_guest + address);

        [Test]
        public void Multiboot1KernelWithAddressFieldsGetsItsInformation()
        {
            byte[] kernel = TestGuest.MultibootKernel(1, 0x100000, 0x3F8, "hi");
            Assert.That(MultibootLoader.TryLoad(kernel, _guest, Memory, "mode=ping", OneModule, out var r, out string error), Is.True, error);
            Assert.That(r.Version, Is.EqualTo(MultibootVersion.One));
            Assert.That(r.Magic, Is.EqualTo(MultibootLoader.BootMagic1));
            Assert.That(r.Entry, Is.EqualTo(0x100020UL));
            Assert.That(_guest[0x100000], Is.EqualTo(kernel[0]), "loaded at load_addr");
            ulong info = r.InformationAddress;
            Assert.That(U32(info) & 0x24D, Is.EqualTo(0x24Du), "mem, cmdline, mods, mmap, loader name");
            Assert.That(CString(U32(info + 16)), Is.EqualTo("mode=ping"));
            Assert.That(U32(info + 20), Is.EqualTo(1u), "mods_count");
            ulong module = U32(info + 24);
            Assert.That(CString(U32(module)), Is.EqualTo("module text"));
            Assert.That(U32(module) % 4096, Is.Zero, "modules are page aligned");
            Assert.That(U32(module + 4) - U32(module), Is.EqualTo(11u));
            Assert.That(CString(U32(module + 8)), Is.EqualTo("mod arg"));
            Assert.That(U32(info + 44), Is.EqualTo(48u), "two memory map entries");
            Assert.That(CString(U32(info + 64)), Is.EqualTo("Partition hypervisor"));
            Assert.That(U32(module) > 0x100000 + (ulong)kernel.Length, Is.True, "modules come after the kernel");
        }

        [Test]
        public void Multiboot2ElfKernelIsLoadedBySegmentAndGetsTags()
        {
            byte[] image = TestGuest.MultibootKernel(2, 0x200000, 0x3F8, "hi");
            byte[] elf = Elf32.Wrap(image, 0x200000, 0x200018);
            Assert.That(MultibootLoader.TryLoad(elf, _guest, Memory, "mode=pong", OneModule, out var r, out string error), Is.True, error);
            Assert.That(r.Version, Is.EqualTo(MultibootVersion.Two));
            Assert.That(r.Magic, Is.EqualTo(MultibootLoader.BootMagic2));
            Assert.That(r.Entry, Is.EqualTo(0x200018UL));
            Assert.That(new Span<byte>(_guest + 0x200000, image.Length).ToArray(), Is.EqualTo(image));
            ulong info = r.InformationAddress;
            uint total = U32(info);
            var seen = new System.Collections.Generic.List<uint>();
            for (ulong tag = info + 8; tag < info + total;)
            {
                uint type = U32(tag), size = U32(tag + 4);
                seen.Add(type);
                if (type == 1) Assert.That(CString(tag + 8), Is.EqualTo("mode=pong"));
                if (type == 3) Assert.That(CString(U32(tag + 8)), Is.EqualTo("module text"));
                if (type == 3) Assert.That(CString(tag + 16), Is.EqualTo("mod arg"));
                if (type == 6) Assert.That((size - 16) / U32(tag + 8), Is.EqualTo(2u));
                if (type == 0) break;
                Assert.That(tag % 8, Is.Zero, "tags are 8-byte aligned");
                tag += (size + 7) & ~7u;
            }
            Assert.That(seen, Is.EqualTo(new uint[] { 1, 2, 3, 4, 6, 0 }));
        }

        [Test]
        public void KernelWithoutHeaderIsRefused()
        {
            Assert.That(MultibootLoader.TryLoad(new byte[4096], _guest, Memory, "", OneModule, out _, out string error), Is.False);
            Assert.That(error, Does.Contain("no Multiboot or Multiboot2 header"));
        }

        [Test]
        public void KernelThatDoesNotFitIsRefused()
        {
            byte[] kernel = TestGuest.MultibootKernel(1, 0x3FFF00, 0x3F8, "hi");
            Assert.That(MultibootLoader.TryLoad(kernel, _guest, Memory, "", OneModule, out _, out string error), Is.False);
            Assert.That(error, Does.Contain("do not fit"));
        }

        [Test]
        public void CorruptedKernelsNeverReadOrWriteOutOfBounds()
        {
            byte[] elf = Elf32.Wrap(TestGuest.MultibootKernel(2, 0x200000, 0x3F8, "hi"), 0x200000, 0x200018);
            var random = new Random(7);
            for (int round = 0; round < 2000; round++)
            {
                byte[] copy = (byte[])elf.Clone();
                for (int flips = random.Next(1, 6); flips > 0; flips--)
                    copy[random.Next(0, 120)] = (byte)random.Next(256);
                Array.Resize(ref copy, random.Next(0, copy.Length + 1));
                Assert.That(() => MultibootLoader.TryLoad(copy, _guest, Memory, "x", OneModule, out _, out _), Throws.Nothing, $"round {round}");
            }
        }
    }
}
