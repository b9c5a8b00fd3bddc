using System;

namespace Partition.Kernel
{
    /// <summary>
    /// Which MSRs a guest reaches directly, and the MSR bitmap that says so (SDM Vol. 3C,
    /// 25.6.9). The rule: an MSR is passed through only if the VMCS switches it on every VM
    /// entry and exit, so that whatever a guest writes there lives in its own guest-state
    /// area and the hypervisor's value is reloaded from the host-state area before it runs
    /// again (SDM 27.3.1, 28.5.1). The processor itself then checks what the guest writes
    /// (a reserved EFER bit raises #GP in the guest, as on bare metal). Every other MSR access
    /// exits and is refused with #GP.
    /// </summary>
    /// <remarks>
    /// Not switched by the VMCS, so not passed through yet: the SYSCALL MSRs (STAR, LSTAR,
    /// CSTAR, FMASK), KERNEL_GS_BASE and TSC_AUX. Passing them through needs them saved and
    /// restored when vCPUs share a core or migrate; until then a guest that writes them gets #GP.
    /// </remarks>
    public static class MsrPolicy
    {
        public readonly struct Entry
        {
            public Entry(uint msr, string name, bool writable)
            {
                Msr = msr;
                Name = name;
                Writable = writable;
            }

            public uint Msr { get; }
            public string Name { get; }

            /// <summary>False: reads pass through, writes are refused.</summary>
            public bool Writable { get; }
        }

        /// <summary>The allow-list: every other MSR access is refused with #GP.</summary>
        public static readonly Entry[] AllowList =
        {
            // Guest-state fields, saved on every exit; the host fields are loaded on every exit.
            new(0x174, "IA32_SYSENTER_CS", true),
            new(0x175, "IA32_SYSENTER_ESP", true),
            new(0x176, "IA32_SYSENTER_EIP", true),
            new(0xC000_0100, "IA32_FS_BASE", true),
            new(0xC000_0101, "IA32_GS_BASE", true),
            // Saved and loaded under the "save/load IA32_EFER" and "save/load IA32_PAT" controls,
            // which VmcsSetup requires.
            new(0xC000_0080, "IA32_EFER", true),
            new(0x277, "IA32_PAT", true),
            // Reading the time-stamp counter is what RDTSC does without an exit; writing it is not.
            new(0x10, "IA32_TIME_STAMP_COUNTER", false),
        };

        public const int BitmapSize = 4096;

        // The four 1 KiB quarters of the bitmap (SDM 25.6.9).
        private const int ReadLow = 0, ReadHigh = 1024, WriteLow = 2048, WriteHigh = 3072;
        private const uint HighBase = 0xC000_0000;
        private const uint RangeSize = 0x2000;

        /// <summary>Fills a 4 KiB MSR bitmap: every access exits except those the allow-list passes through.</summary>
        public static void Fill(Span<byte> bitmap)
        {
            bitmap.Slice(0, BitmapSize).Fill(0xFF);
            foreach (var entry in AllowList)
            {
                SetExits(bitmap, entry.Msr, write: false, exits: false);
                if (entry.Writable)
                    SetExits(bitmap, entry.Msr, write: true, exits: false);
            }
        }

        /// <summary>
        /// Whether an RDMSR or WRMSR of <paramref name="msr"/> exits under <paramref name="bitmap"/>:
        /// always, outside the two ranges the bitmap covers (SDM 26.1.3).
        /// </summary>
        public static bool Exits(ReadOnlySpan<byte> bitmap, uint msr, bool write)
        {
            if (!TryLocate(msr, write, out int index, out int bit))
                return true;
            return (bitmap[index] & (1 << bit)) != 0;
        }

        private static void SetExits(Span<byte> bitmap, uint msr, bool write, bool exits)
        {
            if (!TryLocate(msr, write, out int index, out int bit))
                return;
            if (exits)
                bitmap[index] |= (byte)(1 << bit);
            else
                bitmap[index] &= (byte)~(1 << bit);
        }

        private static bool TryLocate(uint msr, bool write, out int index, out int bit)
        {
            int quarter;
            uint offset;
            if (msr < RangeSize)
            {
                quarter = write ? WriteLow : ReadLow;
                offset = msr;
            }
            else if (msr >= HighBase && msr - HighBase < RangeSize)
            {
                quarter = write ? WriteHigh : ReadHigh;
                offset = msr - HighBase;
            }
            else
            {
                index = bit = 0;
                return false;
            }
            index = quarter + (int)(offset / 8);
            bit = (int)(offset % 8);
            return true;
        }
    }
}
