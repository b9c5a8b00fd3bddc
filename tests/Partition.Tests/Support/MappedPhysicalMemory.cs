using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Support
{
    /// <summary>
    /// Bytes placed at fixed virtual addresses of this process, equal to the physical
    /// addresses firmware put them at, so that the hypervisor's identity-mapped readers
    /// (<see cref="IdentityMappedMemory"/>, <see cref="Acpi.FindProcessors"/>) run on them as
    /// they do in the image. Linux only (mmap with MAP_FIXED_NOREPLACE, which never replaces a
    /// mapping the process has: an address in use fails the test, it does not corrupt it).
    /// </summary>
    public sealed unsafe class MappedPhysicalMemory : IDisposable
    {
        private const int ProtRead = 1, ProtWrite = 2, MapPrivate = 2, MapAnonymous = 0x20, MapFixedNoReplace = 0x100000;
        private const ulong Page = 4096;
        private readonly List<(ulong Address, ulong Length)> _mappings = new();

        [DllImport("libc", SetLastError = true)]
        private static extern IntPtr mmap(IntPtr address, UIntPtr length, int protection, int flags, int fd, IntPtr offset);

        [DllImport("libc", SetLastError = true)]
        private static extern int munmap(IntPtr address, UIntPtr length);

        /// <summary>Maps zeroed memory over every page of [address, address + length).</summary>
        public void Map(ulong address, ulong length)
        {
            ulong start = address & ~(Page - 1);
            ulong end = (address + length + Page - 1) & ~(Page - 1);
            // Pages already mapped here are skipped: tables share pages.
            for (ulong page = start; page < end; page += Page)
            {
                if (IsMapped(page))
                    continue;
                IntPtr got = mmap((IntPtr)(long)page, (UIntPtr)Page, ProtRead | ProtWrite, MapPrivate | MapAnonymous | MapFixedNoReplace, -1, IntPtr.Zero);
                if ((ulong)(long)got != page)
                {
                    if (got != (IntPtr)(-1))
                        munmap(got, (UIntPtr)Page);
                    Assert.Fail("cannot map 0x" + page.ToString("X") + " in the test process (errno " + Marshal.GetLastPInvokeError() + ")");
                }
                _mappings.Add((page, Page));
            }
        }

        public void Write(ulong address, byte[] bytes)
        {
            Map(address, (ulong)bytes.Length);
            bytes.CopyTo(new Span<byte>((void*)address, bytes.Length));
        }

        public Span<byte> Span(ulong address, int length)
        {
            Map(address, (ulong)length);
            return new Span<byte>((void*)address, length);
        }

        private bool IsMapped(ulong page) => _mappings.Any(m => page >= m.Address && page < m.Address + m.Length);

        /// <summary>APIC IDs as the hypervisor's own boot code finds them from an RSDP at <paramref name="rsdp"/>.</summary>
        public static uint[] FindProcessors(ulong rsdp)
        {
            var ids = new uint[1024];
            fixed (uint* p = ids)
            {
                int count = Acpi.FindProcessors((byte*)rsdp, p, ids.Length);
                return ids.Take(count).ToArray();
            }
        }

        public void Dispose()
        {
            foreach (var (address, length) in _mappings)
                munmap((IntPtr)(long)address, (UIntPtr)length);
            _mappings.Clear();
        }
    }
}
