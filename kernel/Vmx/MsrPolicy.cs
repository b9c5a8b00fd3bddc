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
    /// The second rule: the SYSCALL MSRs (STAR, LSTAR, FMASK), KERNEL_GS_BASE and TSC_AUX,
    /// which the hypervisor never uses, are the vCPU's while it runs, and
    /// <see cref="GuestMsrs"/> switches them whenever a core changes vCPU. Reads and
    /// KERNEL_GS_BASE writes pass through; writes of the other four (once per CPU at an OS's
    /// boot) exit and are checked here as the processor would check them, so the switch knows
    /// their values without reading them back. A few more MSRs that an OS reads at boot are
    /// emulated (<see cref="TryRead"/>, <see cref="TryWrite"/>); the local APIC's are the
    /// virtual local APIC's. Everything else is #GP.
    /// </remarks>
    public static class MsrPolicy
    {
        public const uint TscAdjust = 0x3B;
        public const uint PlatformId = 0x17, BiosSignId = 0x8B,
            MtrrCapabilities = 0xFE, ArchCapabilities = 0x10A, MiscEnable = 0x1A0, MtrrDefType = 0x2FF,
            Star = 0xC000_0081, Lstar = 0xC000_0082, Cstar = 0xC000_0083, Fmask = 0xC000_0084,
            KernelGsBase = 0xC000_0102, TscAux = 0xC000_0103;

        public const ulong MiscEnableFastStrings = 1UL << 0, MiscEnableBtsUnavailable = 1UL << 11, MiscEnablePebsUnavailable = 1UL << 12;
        public const ulong MtrrEnable = 1UL << 11, MemoryTypeWriteBack = 6;

        /// <summary>
        /// IA32_ARCH_CAPABILITIES bit 21 (IA32_XAPIC_DISABLE_STATUS exists): never passed on, the
        /// partition's APIC is not locked in x2APIC mode. (Linux 6.1 falls back to xAPIC without
        /// interrupt remapping or a hypervisor it knows, and does not map the xAPIC page if it
        /// finds the x2APIC locked: it must be free to choose.)
        /// </summary>
        public const ulong ArchCapabilitiesXapicDisable = 1UL << 21;

        /// <summary>True if the processor has IA32_TSC_AUX (RDTSCP or RDPID): it is then passed through and switched (read at boot).</summary>
        public static bool HostHasTscAux => HostCpuid.HasTscAux;

        /// <summary>
        /// The emulated MSRs' reads (SDM Vol. 4 for each): false if the MSR is not emulated, or
        /// a read of it faults. The values describe a processor without microcode updates,
        /// machine checks, variable or fixed MTRRs.
        /// </summary>
        public static bool TryRead(GuestMsrs msrs, uint msr, out ulong value)
        {
            value = 0;
            switch (msr)
            {
                case PlatformId:
                case BiosSignId:
                case MtrrCapabilities:      // no variable or fixed ranges, no write-combining
                    return true;
                case ArchCapabilities:
                    if ((HostCpuid.Leaf(7, 0).Edx & CpuidPolicy.Leaf7EdxArchCapabilities) == 0)
                        return false;       // not offered by CPUID either
                    value = Cpu.ReadMsr(ArchCapabilities) & ~ArchCapabilitiesXapicDisable;
                    return true;
                case MiscEnable:
                    value = msrs.MiscEnable;
                    return true;
                case MtrrDefType:
                    value = msrs.MtrrDefaultType;
                    return true;
                case Cstar:
                    value = msrs.Cstar;
                    return true;
                case TscAdjust:
                    value = msrs.TscAdjust;
                    return true;
                case TscAux:
                    value = msrs.TscAux;    // only reached when the host has no TSC_AUX
                    return true;
                default:
                    return false;
            }
        }

        /// <summary>The emulated MSRs' writes: false if the MSR is not emulated or the write faults (read-only, reserved bits).</summary>
        public static bool TryWrite(GuestMsrs msrs, uint msr, ulong value)
        {
            switch (msr)
            {
                case BiosSignId:
                    return true;            // Linux writes 0 before CPUID to read the revision back
                case MiscEnable:
                    // The guest may flip fast strings and the bits Linux clears at boot (limit
                    // CPUID maxval, XD disable); the rest keeps its value.
                    const ulong writable = MiscEnableFastStrings | 1UL << 22 | 1UL << 34;
                    if ((value & ~writable) != (msrs.MiscEnable & ~writable))
                        return false;
                    msrs.MiscEnable = value & ~(1UL << 22 | 1UL << 34);
                    return true;
                case MtrrDefType:
                    // Type in 7:0 (UC, WC, WT, WP, WB), FE 10 (no fixed ranges: 0), E 11.
                    ulong type = value & 0xFF;
                    if ((value & ~0x8FFUL) != 0 || type == 2 || type == 3 || type > 6)
                        return false;
                    msrs.MtrrDefaultType = value;
                    return true;
                case Cstar:
                    if (!IsCanonical(value))
                        return false;
                    msrs.Cstar = value;
                    return true;
                case TscAdjust:
                    // SDM Vol. 3A, 18.17.3: the TSC moves by what the adjustment moves by; the
                    // caller puts the new offset into the VMCS.
                    msrs.TscAdjust = value;
                    return true;
                case TscAux:
                    // Bits 63:32 are reserved (SDM Vol. 4, table 2-2: #GP if set).
                    if (value > uint.MaxValue)
                        return false;
                    if (HostHasTscAux)
                        msrs.Write(TscAux, value);
                    else
                        msrs.TscAux = value;
                    return true;
                case Star:
                    // SYSCALL's and SYSRET's selectors and the 32-bit SYSCALL target: any value.
                    msrs.Write(Star, value);
                    return true;
                case Lstar:
                    // An address: #GP if not canonical (SDM Vol. 4, WRMSR). The guest's CPUID
                    // offers no 5-level paging, so canonical is 48 bits for it.
                    if (!IsCanonical(value))
                        return false;
                    msrs.Write(Lstar, value);
                    return true;
                case Fmask:
                    // The RFLAGS mask is bits 31:0; 63:32 are reserved and written as 0.
                    if (value > uint.MaxValue)
                        return false;
                    msrs.Write(Fmask, value);
                    return true;
                default:
                    return false;
            }
        }

        private static bool IsCanonical(ulong address) => (ulong)((long)(address << 16) >> 16) == address;

        /// <summary>What becomes of a guest's WRMSR of an MSR whose reads pass through.</summary>
        public enum Writes
        {
            /// <summary>Exits and is refused with #GP.</summary>
            Refused,
            /// <summary>Reaches the processor without an exit.</summary>
            PassedThrough,
            /// <summary>Exits, is checked and is carried out by <see cref="TryWrite"/>.</summary>
            Checked,
        }

        public readonly struct Entry
        {
            public Entry(uint msr, string name, Writes writes)
            {
                Msr = msr;
                Name = name;
                Writes = writes;
            }

            public uint Msr { get; }
            public string Name { get; }
            public Writes Writes { get; }
        }

        /// <summary>The allow-list: every other MSR access is refused with #GP.</summary>
        public static readonly Entry[] AllowList =
        {
            // Guest-state fields, saved on every exit; the host fields are loaded on every exit.
            new(0x174, "IA32_SYSENTER_CS", Writes.PassedThrough),
            new(0x175, "IA32_SYSENTER_ESP", Writes.PassedThrough),
            new(0x176, "IA32_SYSENTER_EIP", Writes.PassedThrough),
            new(0xC000_0100, "IA32_FS_BASE", Writes.PassedThrough),
            new(0xC000_0101, "IA32_GS_BASE", Writes.PassedThrough),
            // Saved and loaded under the "save/load IA32_EFER" and "save/load IA32_PAT" controls,
            // which VmcsSetup requires.
            new(0xC000_0080, "IA32_EFER", Writes.PassedThrough),
            new(0x277, "IA32_PAT", Writes.PassedThrough),
            // Reading the time-stamp counter is what RDTSC does without an exit; writing it is not.
            new(0x10, "IA32_TIME_STAMP_COUNTER", Writes.Refused),
            // Never used by the hypervisor; switched by GuestMsrs when a core changes vCPU.
            new(Star, "IA32_STAR", Writes.Checked),
            new(Lstar, "IA32_LSTAR", Writes.Checked),
            new(Fmask, "IA32_FMASK", Writes.Checked),
            new(KernelGsBase, "IA32_KERNEL_GS_BASE", Writes.PassedThrough),
            new(TscAux, "IA32_TSC_AUX", Writes.Checked),
        };

        public const int BitmapSize = 4096;

        // The four 1 KiB quarters of the bitmap (SDM 25.6.9).
        private const int ReadLow = 0, ReadHigh = 1024, WriteLow = 2048, WriteHigh = 3072;
        private const uint HighBase = 0xC000_0000;
        private const uint RangeSize = 0x2000;

        /// <summary>
        /// Fills a 4 KiB MSR bitmap: every access exits except those the allow-list passes
        /// through (TSC_AUX only if <paramref name="passTscAux"/>: the processor has it).
        /// </summary>
        public static void Fill(Span<byte> bitmap, bool passTscAux)
        {
            bitmap.Slice(0, BitmapSize).Fill(0xFF);
            foreach (var entry in AllowList)
            {
                if (entry.Msr == TscAux && !passTscAux)
                    continue; // the processor has none: emulated instead
                SetExits(bitmap, entry.Msr, write: false, exits: false);
                if (entry.Writes == Writes.PassedThrough)
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
