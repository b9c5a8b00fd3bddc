using System;
using System.Collections.Generic;
using System.IO;
using Iced.Intel;
using NUnit.Framework;
using Partition.Host;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// What the built hypervisor image may not contain. The AVX registers are switched with the
    /// vCPU, not at every exit (GuestMsrs, XsaveSupport): that is right only while no code of
    /// the hypervisor writes them. Legacy SSE leaves bits 255:128 of the YMM registers alone; a
    /// VEX or EVEX instruction (a compiler targeting AVX, an intrinsic) would clobber a guest's
    /// upper halves, or leak them into another partition. And the hypervisor runs with the
    /// guest's MXCSR, so it must not compute with SSE floating point.
    /// </summary>
    [TestFixture]
    [Category("System")]
    public sealed class ImageInstructionTests
    {
        [Test]
        public void The_hypervisor_has_no_VEX_or_EVEX_instruction()
        {
            var found = Find(instruction => instruction.Encoding is EncodingKind.VEX or EncodingKind.EVEX, out int decoded);
            Assert.That(decoded, Is.GreaterThan(10_000), "the image's code was found and decoded");
            Assert.That(found, Is.Empty, "VEX/EVEX instructions in the hypervisor (they write the guests' AVX registers)");
        }

        // SSE floating-point arithmetic, compares and conversions: the instructions that raise
        // SIMD floating-point exceptions (#XM) when MXCSR unmasks them.
        private static readonly System.Text.RegularExpressions.Regex SimdFloatingPoint = new(
            "^(add|sub|mul|div|sqrt|min|max|rcp|rsqrt|round|dp|hadd|hsub|addsub|comi|ucomi|cmp)(ss|sd|ps|pd)$|^cvt");

        [Test]
        public void The_hypervisor_has_no_SSE_floating_point_arithmetic()
        {
            // Between a VM exit and the next entry the hypervisor runs with the guest's MXCSR
            // (FXSAVE keeps it; FXRSTOR at the entry puts the guest's back): a guest that unmasked
            // SIMD floating-point exceptions would make such an instruction fault in the
            // hypervisor. Its SSE use is data movement, which raises none.
            var found = Find(instruction => SimdFloatingPoint.IsMatch(instruction.Mnemonic.ToString().ToLowerInvariant()), out _);
            Assert.That(found, Is.Empty, "SSE floating-point instructions in the hypervisor (a guest's MXCSR could make them fault)");
        }

        // The built image's instructions that match (the first ten, as "0xADDRESS: instruction"), decoding all of its code.
        private static List<string> Find(Func<Instruction, bool> match, out int decoded)
        {
            var layout = RepositoryLayout.Find(TestContext.CurrentContext.TestDirectory);
            byte[] elf = File.ReadAllBytes(KernelImage.EnsureBuilt(layout));
            var found = new List<string>();
            decoded = 0;
            foreach (var (address, code) in ExecutableSections(elf))
            {
                var decoder = Decoder.Create(64, new ByteArrayCodeReader(code), address);
                while (decoder.IP < address + (ulong)code.Length)
                {
                    var instruction = decoder.Decode();
                    decoded++;
                    if (match(instruction) && found.Count < 10)
                        found.Add($"0x{instruction.IP:X}: {instruction}");
                }
            }
            return found;
        }

        // The SHF_EXECINSTR sections of an ELF64 file: (load address, bytes).
        private static IEnumerable<(ulong Address, byte[] Code)> ExecutableSections(byte[] elf)
        {
            Assert.That(BitConverter.ToUInt32(elf, 0), Is.EqualTo(0x464C457Fu), "an ELF file");
            Assert.That(elf[4], Is.EqualTo(2), "ELF64");
            ulong sectionTable = BitConverter.ToUInt64(elf, 0x28);
            int entrySize = BitConverter.ToUInt16(elf, 0x3A), count = BitConverter.ToUInt16(elf, 0x3C);
            for (int i = 0; i < count; i++)
            {
                int header = (int)sectionTable + i * entrySize;
                uint type = BitConverter.ToUInt32(elf, header + 4);
                ulong flags = BitConverter.ToUInt64(elf, header + 8);
                const uint progbits = 1;
                const ulong executable = 4;
                if (type != progbits || (flags & executable) == 0)
                    continue;
                ulong address = BitConverter.ToUInt64(elf, header + 0x10);
                long offset = (long)BitConverter.ToUInt64(elf, header + 0x18);
                long size = (long)BitConverter.ToUInt64(elf, header + 0x20);
                yield return (address, elf.AsSpan((int)offset, (int)size).ToArray());
            }
        }
    }
}
