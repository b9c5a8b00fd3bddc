using System;
using System.Linq;
using System.Text;
using NUnit.Framework;
using Partition.Host.Linux;

namespace Partition.Tests.Unit.Linux
{
    public class LinuxInitramfsTests
    {
        [Test]
        public void The_archive_holds_busybox_the_console_node_and_init_with_parents_first()
        {
            byte[] busybox = Encoding.ASCII.GetBytes("not really busybox");
            byte[] init = Encoding.ASCII.GetBytes("#!/bin/sh\necho hi\n");
            var entries = NewcReader.Read(LinuxInitramfs.Create(init, busybox).ToArray());
            var names = entries.Select(e => e.Name).ToList();
            Assert.That(names, Is.EqualTo(new[] { "bin", "bin/busybox", "bin/sh", "dev", "dev/console", "proc", "sys", "root", "init", "TRAILER!!!" }));
            var byName = entries.ToDictionary(e => e.Name);
            Assert.That(byName["init"].Mode, Is.EqualTo(0x81EDu), "/init is an executable file");
            Assert.That(byName["init"].Data, Is.EqualTo(init));
            Assert.That(byName["bin/busybox"].Data, Is.EqualTo(busybox));
            Assert.That(Encoding.ASCII.GetString(byName["bin/sh"].Data), Is.EqualTo("busybox"));
            Assert.That((byName["dev/console"].Mode, byName["dev/console"].RdevMajor, byName["dev/console"].RdevMinor), Is.EqualTo((0x2180u, 5u, 1u)));
        }

        [Test]
        public void A_dynamically_linked_program_is_told_apart_from_a_static_one()
        {
            Assert.That(LinuxInitramfs.IsStaticElf64(Elf(interp: false), out _), Is.True);
            Assert.That(LinuxInitramfs.IsStaticElf64(Elf(interp: true), out string problem), Is.False);
            Assert.That(problem, Does.Contain("dynamically linked"));
            Assert.That(LinuxInitramfs.IsStaticElf64(Encoding.ASCII.GetBytes("#!/bin/sh\n"), out problem), Is.False);
        }

        /// <summary>An ELF64 x86-64 header with one program header: PT_LOAD, or PT_INTERP.</summary>
        private static byte[] Elf(bool interp)
        {
            var bytes = new byte[64 + 56];
            bytes[0] = 0x7F; bytes[1] = (byte)'E'; bytes[2] = (byte)'L'; bytes[3] = (byte)'F';
            bytes[4] = 2; bytes[5] = 1; bytes[6] = 1;
            BitConverter.GetBytes((ushort)2).CopyTo(bytes, 0x10);   // ET_EXEC
            BitConverter.GetBytes((ushort)62).CopyTo(bytes, 0x12);  // EM_X86_64
            BitConverter.GetBytes(64UL).CopyTo(bytes, 0x20);        // e_phoff
            BitConverter.GetBytes((ushort)56).CopyTo(bytes, 0x36);  // e_phentsize
            BitConverter.GetBytes((ushort)1).CopyTo(bytes, 0x38);   // e_phnum
            BitConverter.GetBytes(interp ? 3u : 1u).CopyTo(bytes, 64);
            return bytes;
        }
    }
}
