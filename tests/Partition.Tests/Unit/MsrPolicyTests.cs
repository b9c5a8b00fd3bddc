using System.Linq;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// The MSR bitmap against the SDM's layout (Vol. 3C, 25.6.9): read bitmap for MSRs
    /// 0..1FFFH at byte 0, for C0000000H..C0001FFFH at byte 1024, write bitmaps at 2048 and
    /// 3072; one bit per MSR, a set bit makes the access exit.
    /// </summary>
    public class MsrPolicyTests
    {
        private static byte[] Bitmap()
        {
            var bitmap = new byte[MsrPolicy.BitmapSize];
            MsrPolicy.Fill(bitmap, passTscAux: true);
            return bitmap;
        }

        // (byte, bit) worked out by hand from the SDM's layout, not from the code under test.
        [TestCase(0xC0000100u, false, 1024 + 0x20, 0, TestName = "RDMSR IA32_FS_BASE passes through")]
        [TestCase(0xC0000101u, true, 3072 + 0x20, 1, TestName = "WRMSR IA32_GS_BASE passes through")]
        [TestCase(0xC0000080u, true, 3072 + 0x10, 0, TestName = "WRMSR IA32_EFER passes through")]
        [TestCase(0x277u, true, 2048 + 0x4E, 7, TestName = "WRMSR IA32_PAT passes through")]
        [TestCase(0x176u, true, 2048 + 0x2E, 6, TestName = "WRMSR IA32_SYSENTER_EIP passes through")]
        [TestCase(0x10u, false, 2, 0, TestName = "RDMSR IA32_TIME_STAMP_COUNTER passes through")]
        [TestCase(0xC0000082u, false, 1024 + 0x10, 2, TestName = "RDMSR IA32_LSTAR passes through (switched lazily)")]
        [TestCase(0xC0000102u, true, 3072 + 0x20, 2, TestName = "WRMSR IA32_KERNEL_GS_BASE passes through (switched lazily)")]
        [TestCase(0xC0000103u, false, 1024 + 0x20, 3, TestName = "RDMSR IA32_TSC_AUX passes through (switched lazily)")]
        public void Allowed_accesses_have_their_bit_clear(uint msr, bool write, int index, int bit)
        {
            var bitmap = Bitmap();
            Assert.That(bitmap[index] & (1 << bit), Is.Zero);
            Assert.That(MsrPolicy.Exits(bitmap, msr, write), Is.False);
        }

        [TestCase(0x10u, true, 2048 + 2, 0, TestName = "WRMSR IA32_TIME_STAMP_COUNTER exits")]
        [TestCase(0x3Au, true, 2048 + 7, 2, TestName = "WRMSR IA32_FEATURE_CONTROL exits")]
        [TestCase(0x3Au, false, 7, 2, TestName = "RDMSR IA32_FEATURE_CONTROL exits")]
        [TestCase(0x1Bu, true, 2048 + 3, 3, TestName = "WRMSR IA32_APIC_BASE exits")]
        [TestCase(0x480u, false, 0x90, 0, TestName = "RDMSR IA32_VMX_BASIC exits")]
        [TestCase(0x830u, true, 2048 + 0x106, 0, TestName = "WRMSR x2APIC ICR (IPIs) exits")]
        [TestCase(0xC0000083u, true, 3072 + 0x10, 3, TestName = "WRMSR IA32_CSTAR exits (emulated: Intel never uses it)")]
        [TestCase(0xC0000081u, true, 3072 + 0x10, 1, TestName = "WRMSR IA32_STAR exits (checked, so a switch need not read it back)")]
        [TestCase(0xC0000082u, true, 3072 + 0x10, 2, TestName = "WRMSR IA32_LSTAR exits (checked)")]
        [TestCase(0xC0000084u, true, 3072 + 0x10, 4, TestName = "WRMSR IA32_FMASK exits (checked)")]
        [TestCase(0xC0000103u, true, 3072 + 0x20, 3, TestName = "WRMSR IA32_TSC_AUX exits (checked)")]
        [TestCase(0x1A0u, false, 0x34, 0, TestName = "RDMSR IA32_MISC_ENABLE exits (emulated)")]
        public void Everything_else_has_its_bit_set(uint msr, bool write, int index, int bit)
        {
            var bitmap = Bitmap();
            Assert.That(bitmap[index] & (1 << bit), Is.Not.Zero);
            Assert.That(MsrPolicy.Exits(bitmap, msr, write), Is.True);
        }

        [TestCase(0x2000u)]
        [TestCase(0x4000_0000u)]
        [TestCase(0xBFFF_FFFFu)]
        [TestCase(0xC000_2000u)]
        [TestCase(0xFFFF_FFFFu)]
        public void MSRs_outside_both_ranges_always_exit(uint msr)
        {
            var bitmap = Bitmap();
            Assert.That(MsrPolicy.Exits(bitmap, msr, write: false), Is.True);
            Assert.That(MsrPolicy.Exits(bitmap, msr, write: true), Is.True);
        }

        [Test]
        public void Only_the_allow_list_is_clear()
        {
            int clearBits = Bitmap().Sum(b => 8 - System.Numerics.BitOperations.PopCount(b));
            int expected = MsrPolicy.AllowList.Sum(e => e.Writes == MsrPolicy.Writes.PassedThrough ? 2 : 1);
            Assert.That(clearBits, Is.EqualTo(expected));
            Assert.That(expected, Is.EqualTo(21), "eight MSRs read and written; the TSC, STAR, LSTAR, FMASK and TSC_AUX read only");
        }

        [Test]
        public void Without_TSC_AUX_in_the_processor_it_is_emulated_not_passed_through()
        {
            var bitmap = new byte[MsrPolicy.BitmapSize];
            MsrPolicy.Fill(bitmap, passTscAux: false);
            Assert.That(MsrPolicy.Exits(bitmap, 0xC0000103, write: false), Is.True);
            Assert.That(MsrPolicy.Exits(bitmap, 0xC0000103, write: true), Is.True);
            var msrs = new GuestMsrs();
            Assert.That(MsrPolicy.TryWrite(msrs, 0xC0000103, 7), Is.True);
            Assert.That(MsrPolicy.TryRead(msrs, 0xC0000103, out ulong value), Is.True);
            Assert.That(value, Is.EqualTo(7UL));
            Assert.That(MsrPolicy.TryWrite(msrs, 0xC0000103, 1UL << 32), Is.False, "TSC_AUX is 32 bits wide");
        }

        [Test]
        public void Emulated_MSRs_answer_as_a_processor_without_MTRR_ranges()
        {
            var msrs = new GuestMsrs();
            Assert.That(MsrPolicy.TryRead(msrs, 0xBD, out _), Is.False, "IA32_XAPIC_DISABLE_STATUS: the x2APIC is never locked");
            Assert.That(MsrPolicy.TryRead(msrs, 0xFE, out ulong mtrrCap) && mtrrCap == 0, "IA32_MTRRCAP: no ranges, no WC");
            Assert.That(MsrPolicy.TryRead(msrs, 0x2FF, out ulong defType) && defType == 0x806, "IA32_MTRR_DEF_TYPE: enabled, write-back");
            Assert.That(MsrPolicy.TryWrite(msrs, 0x2FF, 0x800), Is.True, "default uncacheable is a valid type");
            Assert.That(MsrPolicy.TryWrite(msrs, 0x2FF, 0x802), Is.False, "type 2 is reserved");
            Assert.That(MsrPolicy.TryWrite(msrs, 0x2FF, 0xC06), Is.False, "no fixed ranges to enable");
            Assert.That(MsrPolicy.TryRead(msrs, 0x1A0, out ulong misc) && misc == 0x1801, "IA32_MISC_ENABLE: fast strings, no BTS or PEBS");
            Assert.That(MsrPolicy.TryWrite(msrs, 0x1A0, 0x1800), Is.True, "fast strings may be turned off");
            Assert.That(MsrPolicy.TryWrite(msrs, 0x1A0, 0x1800 | 1 << 3), Is.False, "other bits stay as they are");
            Assert.That(MsrPolicy.TryWrite(msrs, 0x8B, 0), Is.True, "the microcode revision is cleared before it is read");
            Assert.That(MsrPolicy.TryRead(msrs, 0x3A, out _), Is.False, "IA32_FEATURE_CONTROL stays #GP");
            Assert.That(MsrPolicy.TryWrite(msrs, 0xC0000083, 0x8000_0000_0000UL), Is.False, "CSTAR must be canonical");
        }
        [Test]
        public void STAR_LSTAR_and_FMASK_writes_are_checked_as_the_processor_checks_them_and_reach_it()
        {
            var cpu = FakeCpu.Reset();
            var msrs = new GuestMsrs();
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.Lstar, 0x0000_8000_0000_0000UL), Is.False, "LSTAR must be canonical (48 bits: no LA57 for guests)");
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.Fmask, 1UL << 32), Is.False, "FMASK's bits 63:32 are reserved");
            Assert.That(cpu.MsrWrites, Is.Empty, "a refused value never reaches the processor");

            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.Star, 0x0023_0010_0000_0000UL), Is.True, "any STAR");
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.Lstar, 0xFFFF_FFFF_8160_0000UL), Is.True);
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.Fmask, 0x4_7700UL), Is.True);
            Assert.That(cpu.Msrs[MsrPolicy.Star], Is.EqualTo(0x0023_0010_0000_0000UL), "written to the processor, which holds the running vCPU's");
            Assert.That(cpu.Msrs[MsrPolicy.Lstar], Is.EqualTo(0xFFFF_FFFF_8160_0000UL));
            Assert.That(cpu.Msrs[MsrPolicy.Fmask], Is.EqualTo(0x4_7700UL));

            // A switch reads back only what the guest writes without an exit (KERNEL_GS_BASE).
            cpu.Msrs[MsrPolicy.Lstar] = 0xDEAD;
            cpu.Msrs[MsrPolicy.KernelGsBase] = 0xFFFF_8880_0000_1000UL;
            msrs.Save();
            Assert.That(msrs.Saved(MsrPolicy.Lstar), Is.EqualTo(0xFFFF_FFFF_8160_0000UL), "LSTAR is not read back");
            Assert.That(msrs.Saved(MsrPolicy.KernelGsBase), Is.EqualTo(0xFFFF_8880_0000_1000UL));
            FakeCpu.Reset();
        }

        // One kernel's STAR and FMASK in each vCPU, and its LSTAR unless the test gives each its own.
        private static void OneKernelsSyscallMsrs(bool lstar, params GuestMsrs[] vcpus)
        {
            foreach (var msrs in vcpus)
            {
                Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.Star, 0x0023_0010_0000_0000UL), Is.True);
                if (lstar)
                    Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.Lstar, 0xFFFF_FFFF_8160_0000UL), Is.True);
                Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.Fmask, 0x4_7700UL), Is.True);
            }
        }

        [Test]
        public void A_switch_writes_only_the_MSRs_whose_values_differ_between_the_two_vCPUs()
        {
            var cpu = FakeCpu.Reset();
            var leaving = new GuestMsrs();
            var coming = new GuestMsrs();
            OneKernelsSyscallMsrs(lstar: false, leaving, coming);
            Assert.That(MsrPolicy.TryWrite(leaving, MsrPolicy.Lstar, 0xFFFF_FFFF_8160_0000UL), Is.True);
            Assert.That(MsrPolicy.TryWrite(coming, MsrPolicy.Lstar, 0xFFFF_FFFF_8200_0000UL), Is.True);
            cpu.Msrs[MsrPolicy.KernelGsBase] = 0;
            cpu.DebugRegisters[4] = 0xFFFF_0FF0;               // the leaving guest's DR6 as after reset: the coming one's too
            cpu.MsrWrites.Clear();
            cpu.Dr6Writes = 0;
            coming.TakeOver(leaving);
            Assert.That(cpu.MsrWrites.Select(w => w.Msr), Is.EquivalentTo(new[] { MsrPolicy.Lstar }), "the same kernel's STAR and FMASK stay; KERNEL_GS_BASE is equal too");
            Assert.That(cpu.Msrs[MsrPolicy.Lstar], Is.EqualTo(0xFFFF_FFFF_8200_0000UL));
            Assert.That(cpu.Dr6Writes, Is.Zero, "equal DR6 values: no MOV to DR6");

            cpu.DebugRegisters[4] = 0xFFFF_4FF0;               // a single-step #DB in the coming guest
            cpu.MsrWrites.Clear();
            leaving.TakeOver(coming);
            Assert.That(cpu.MsrWrites.Select(w => w.Msr), Is.EquivalentTo(new[] { MsrPolicy.Lstar }));
            Assert.That(cpu.Dr6Writes, Is.EqualTo(1), "DR6 differs now: written");
            Assert.That(cpu.DebugRegisters[4], Is.EqualTo(0xFFFF_0FF0UL), "the leaving vCPU's DR6 back");
            Assert.That(coming.Saved(MsrPolicy.KernelGsBase), Is.Zero);
            cpu.DebugRegisters[4] = 0;
            coming.TakeOver(leaving);
            Assert.That(cpu.DebugRegisters[4], Is.EqualTo(0xFFFF_4FF0UL), "the coming vCPU's #DB status kept across its absence");
            FakeCpu.Reset();
        }

        [Test]
        public void Between_vCPUs_of_one_kernel_a_switch_moves_KERNEL_GS_BASE_and_DR6_and_all_debug_registers_once_one_uses_them()
        {
            var cpu = FakeCpu.Reset();
            var leaving = new GuestMsrs();
            var coming = new GuestMsrs();
            leaving.InterceptDebugRegisters(movDrExits: true);
            coming.InterceptDebugRegisters(movDrExits: true);
            OneKernelsSyscallMsrs(lstar: true, leaving, coming);
            cpu.Msrs[MsrPolicy.KernelGsBase] = 0xFFFF_8880_0000_1000UL;   // the leaving guest's SWAPGS
            cpu.DebugRegisters[4] = 0xFFFF_0FF0;
            cpu.MsrWrites.Clear();
            cpu.Dr6Writes = 0;
            coming.TakeOver(leaving);
            Assert.That(cpu.MsrWrites.Select(w => w.Msr), Is.EquivalentTo(new[] { MsrPolicy.KernelGsBase }), "one kernel's SYSCALL MSRs stay");
            Assert.That(cpu.Msrs[MsrPolicy.KernelGsBase], Is.Zero, "the coming vCPU's KERNEL_GS_BASE");
            Assert.That(leaving.Saved(MsrPolicy.KernelGsBase), Is.EqualTo(0xFFFF_8880_0000_1000UL), "the leaving one's saved");
            Assert.That(cpu.Dr6Writes, Is.Zero);

            // The coming guest starts using its debug registers: from now on all five go with it.
            coming.UseDebugRegisters();
            cpu.DebugRegisters[0] = 0x2000;
            leaving.TakeOver(coming);
            Assert.That(cpu.Msrs[MsrPolicy.KernelGsBase], Is.EqualTo(0xFFFF_8880_0000_1000UL), "the leaving vCPU's KERNEL_GS_BASE back");
            cpu.DebugRegisters[0] = 0x5;
            coming.TakeOver(leaving);
            Assert.That(cpu.DebugRegisters[0], Is.EqualTo(0x2000UL), "its DR0 kept across its absence");
            FakeCpu.Reset();
        }

        [Test]
        public void vCPUs_share_a_setup_number_exactly_while_their_SYSCALL_MSRs_TSC_AUX_and_XCR0_are_equal_and_nothing_more_moves()
        {
            FakeCpu.Reset();
            var a = new GuestMsrs();
            var b = new GuestMsrs();
            a.InterceptDebugRegisters(movDrExits: true);
            b.InterceptDebugRegisters(movDrExits: true);
            foreach (var msrs in new[] { a, b })
                Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.Lstar, 0xFFFF_FFFF_8160_0000UL), Is.True);
            Assert.That(a.SetupNumber, Is.EqualTo(b.SetupNumber), "one kernel's");
            ulong shared = a.SetupNumber;
            int holders = GuestMsrSetups.HoldersOf(shared);

            Assert.That(MsrPolicy.TryWrite(b, MsrPolicy.Star, 0x0023_0010_0000_0000UL), Is.True, "another kernel's STAR");
            Assert.That(b.SetupNumber, Is.Not.EqualTo(a.SetupNumber));
            Assert.That(GuestMsrSetups.HoldersOf(shared), Is.EqualTo(holders - 1), "b let go of the shared entry");
            Assert.That(MsrPolicy.TryWrite(b, MsrPolicy.Star, 0), Is.True);
            Assert.That(b.SetupNumber, Is.EqualTo(a.SetupNumber), "equal again: the same entry");

            b.SetXcr0(XsaveSupport.X87 | XsaveSupport.Sse | XsaveSupport.Avx);
            Assert.That(b.SetupNumber, Is.GreaterThan((ulong)GuestMsrSetups.Capacity), "AVX state moves at every switch: a number of its own");
            var c = new GuestMsrs();
            c.SetXcr0(XsaveSupport.X87 | XsaveSupport.Sse | XsaveSupport.Avx);
            Assert.That(c.SetupNumber, Is.Not.EqualTo(b.SetupNumber), "own numbers are never equal");
            b.SetXcr0(XsaveSupport.X87);
            Assert.That(b.SetupNumber, Is.EqualTo(a.SetupNumber));

            a.UseDebugRegisters();
            Assert.That(a.SetupNumber, Is.Not.EqualTo(b.SetupNumber), "its debug registers move with it now");
            Assert.That(a.SetupNumber, Is.GreaterThan((ulong)GuestMsrSetups.Capacity));
            FakeCpu.Reset();
        }

        [Test]
        public void A_full_table_of_setups_gives_numbers_of_their_own_and_entries_let_go_are_taken_again()
        {
            FakeCpu.Reset();
            // Distinct setups until one finds the table full (other tests' vCPUs may hold some entries).
            var held = new System.Collections.Generic.List<GuestMsrs>();
            GuestMsrs last;
            do
            {
                last = new GuestMsrs();
                Assert.That(MsrPolicy.TryWrite(last, MsrPolicy.Fmask, (ulong)(held.Count + 1) << 8), Is.True);
                held.Add(last);
            }
            while (last.SetupNumber <= GuestMsrSetups.Capacity && held.Count <= GuestMsrSetups.Capacity);
            Assert.That(last.SetupNumber, Is.GreaterThan((ulong)GuestMsrSetups.Capacity), "the table is full: a number of its own");
            var twin = new GuestMsrs();
            Assert.That(MsrPolicy.TryWrite(twin, MsrPolicy.Fmask, (ulong)held.Count << 8), Is.True);
            Assert.That(twin.SetupNumber, Is.Not.EqualTo(last.SetupNumber), "equal values, but no entry to share: whole switches, never a wrong one");

            // Letting go frees the entries: the same values find one again.
            foreach (var msrs in held)
                msrs.Reset();
            twin.Reset();
            var again = new GuestMsrs();
            Assert.That(MsrPolicy.TryWrite(again, MsrPolicy.Fmask, 0x4_7700UL), Is.True);
            var other = new GuestMsrs();
            Assert.That(MsrPolicy.TryWrite(other, MsrPolicy.Fmask, 0x4_7700UL), Is.True);
            Assert.That(again.SetupNumber, Is.EqualTo(other.SetupNumber));
            Assert.That(again.SetupNumber, Is.LessThanOrEqualTo((ulong)GuestMsrSetups.Capacity));
            again.Reset();
            other.Reset();
            FakeCpu.Reset();
        }

        [Test]
        public void Until_the_guest_uses_its_debug_registers_a_switch_moves_DR6_alone()
        {
            var cpu = FakeCpu.Reset();
            cpu.Msrs[MsrPolicy.KernelGsBase] = 0;
            var leaving = new GuestMsrs();
            var coming = new GuestMsrs();
            leaving.InterceptDebugRegisters(movDrExits: true);
            coming.InterceptDebugRegisters(movDrExits: true);
            for (int i = 0; i < 4; i++)
                cpu.DebugRegisters[i] = 0x1000 + (ulong)i;
            cpu.DebugRegisters[4] = 0xFFFF_4FF0;                // a single-step #DB in the leaving guest
            leaving.Save();
            coming.Load(leaving);
            Assert.That(cpu.DebugRegisters[..4], Is.EqualTo(new ulong[] { 0x1000, 0x1001, 0x1002, 0x1003 }), "DR0-DR3 not switched");
            Assert.That(cpu.DebugRegisters[4], Is.EqualTo(0xFFFF_0FF0UL), "the coming vCPU's DR6 (its reset value)");
            cpu.DebugRegisters[4] = 0;
            leaving.Load(coming);
            Assert.That(cpu.DebugRegisters[4], Is.EqualTo(0xFFFF_4FF0UL), "the leaving vCPU's DR6 kept across its absence");

            // Once used, all five are switched.
            leaving.UseDebugRegisters();
            cpu.DebugRegisters[0] = 0x2000;
            leaving.Save();
            cpu.DebugRegisters[0] = 0;
            leaving.Load(coming);
            Assert.That(cpu.DebugRegisters[0], Is.EqualTo(0x2000UL));
            FakeCpu.Reset();
        }

        [Test]
        public void IA32_ARCH_CAPABILITIES_is_the_hosts_without_the_xAPIC_disable_status_bit_and_only_if_CPUID_offers_it()
        {
            var cpu = FakeCpu.Reset();
            cpu.Cpuid[(0, 0)] = (0x1B, 0, 0, 0);
            cpu.Cpuid[(7, 0)] = (0, 0, 0, CpuidPolicy.Leaf7EdxArchCapabilities);
            cpu.Msrs[MsrPolicy.ArchCapabilities] = 0x0000_0000_002C_00EBUL | MsrPolicy.ArchCapabilitiesXapicDisable;
            HostCpuid.Initialize();
            var msrs = new GuestMsrs();
            Assert.That(MsrPolicy.TryRead(msrs, MsrPolicy.ArchCapabilities, out ulong value), Is.True);
            Assert.That(value, Is.EqualTo(0x0000_0000_000C_00EBUL), "the host's, less bit 21: the x2APIC is never locked");
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.ArchCapabilities, value), Is.False, "read-only");

            cpu.Cpuid[(7, 0)] = (0, 0, 0, 0);
            Assert.That(MsrPolicy.TryRead(msrs, MsrPolicy.ArchCapabilities, out _), Is.False, "#GP where CPUID does not offer it");
            FakeCpu.Reset();
            HostCpuid.Initialize();                             // static: as a machine without CPUID leaves
        }

        [Test]
        public void IA32_MISC_ENABLE_takes_the_bits_Linux_clears_and_keeps_them_clear()
        {
            var msrs = new GuestMsrs();
            const ulong limitCpuid = 1UL << 22, xdDisable = 1UL << 34;
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.MiscEnable, 0x1801 | limitCpuid | xdDisable), Is.True);
            Assert.That(MsrPolicy.TryRead(msrs, MsrPolicy.MiscEnable, out ulong value) && value == 0x1801, "CPUID is never limited, XD never disabled");
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.MiscEnable, 0x1801 & ~1UL), Is.True, "fast strings off");
            Assert.That(MsrPolicy.TryRead(msrs, MsrPolicy.MiscEnable, out value) && value == 0x1800);
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.MiscEnable, 0x1801 | 1UL << 16), Is.False, "Enhanced SpeedStep cannot be turned on");
        }

        [Test]
        public void INIT_leaves_the_MSRs_and_XCR0_as_they_are()
        {
            // "During an INIT, the internal caches, MSRs, MTRRs, and x87 FPU state are left unchanged" (SDM Vol. 3A, 10.1).
            var cpu = FakeCpu.Reset();
            var msrs = new GuestMsrs();
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.TscAdjust, unchecked((ulong)-5000L)), Is.True);
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.Cstar, 0xFFFF_8000_0000_1000UL), Is.True);
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.MtrrDefType, 0x800), Is.True);
            cpu.Msrs[MsrPolicy.KernelGsBase] = 0;
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.Lstar, 0xFFFF_FFFF_8100_0000UL), Is.True);
            msrs.Save();
            msrs.SetXcr0(7);
            msrs.Init();
            Assert.That(MsrPolicy.TryRead(msrs, MsrPolicy.TscAdjust, out ulong adjust) && adjust == unchecked((ulong)-5000L), "the TSC and its adjustment survive INIT");
            Assert.That(MsrPolicy.TryRead(msrs, MsrPolicy.Cstar, out ulong cstar) && cstar == 0xFFFF_8000_0000_1000UL);
            Assert.That(MsrPolicy.TryRead(msrs, MsrPolicy.MtrrDefType, out ulong defType) && defType == 0x800);
            Assert.That(msrs.Saved(MsrPolicy.Lstar), Is.EqualTo(0xFFFF_FFFF_8100_0000UL));
            Assert.That(msrs.Xcr0, Is.EqualTo(7UL));
            Assert.That(msrs.LoadPending, Is.True, "the debug registers were reset: the next run loads them");
            FakeCpu.Reset();
        }

        [Test]
        public void A_partitions_start_resets_the_MSRs_but_not_IA32_TSC_ADJUST_which_goes_with_its_TSC_offset()
        {
            var msrs = new GuestMsrs();
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.TscAdjust, unchecked((ulong)-5000L)), Is.True);
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.Cstar, 0xFFFF_8000_0000_1000UL), Is.True);
            Assert.That(MsrPolicy.TryWrite(msrs, MsrPolicy.MtrrDefType, 0x800), Is.True);
            msrs.SetXcr0(7);
            msrs.Reset();
            Assert.That(MsrPolicy.TryRead(msrs, MsrPolicy.TscAdjust, out ulong adjust) && adjust == unchecked((ulong)-5000L));
            Assert.That(MsrPolicy.TryRead(msrs, MsrPolicy.Cstar, out ulong cstar) && cstar == 0);
            Assert.That(MsrPolicy.TryRead(msrs, MsrPolicy.MtrrDefType, out ulong defType) && defType == 0x806);
            Assert.That(msrs.Xcr0, Is.EqualTo(1UL), "XCR0 after reset: x87 only");
        }

        [Test]
        public void A_switch_writes_only_the_switched_MSRs_whose_values_differ_from_those_the_processor_holds()
        {
            var cpu = FakeCpu.Reset();
            var first = new GuestMsrs();
            var second = new GuestMsrs();
            // Two vCPUs of one kernel: the same SYSCALL entry, their own per-CPU GS base.
            foreach (var (msrs, gsBase) in new[] { (first, 0xFFFF_8880_0000_1000UL), (second, 0xFFFF_8880_0000_2000UL) })
            {
                cpu.Msrs[MsrPolicy.Lstar] = 0xFFFF_FFFF_8100_0000UL;
                cpu.Msrs[MsrPolicy.Star] = 0x0023_0010_0000_0000UL;
                cpu.Msrs[MsrPolicy.Fmask] = 0x47700;
                cpu.Msrs[MsrPolicy.KernelGsBase] = gsBase;
                msrs.Save();
            }
            cpu.MsrWrites.Clear();
            first.Load(inProcessor: second);
            Assert.That(cpu.MsrWrites.Select(w => w.Msr), Is.EqualTo(new[] { MsrPolicy.KernelGsBase }),
                "STAR, LSTAR and FMASK are the same in both: only KERNEL_GS_BASE changes");
            Assert.That(cpu.Msrs[MsrPolicy.KernelGsBase], Is.EqualTo(0xFFFF_8880_0000_1000UL));

            cpu.MsrWrites.Clear();
            first.Load();
            Assert.That(cpu.MsrWrites.Select(w => w.Msr), Is.SupersetOf(new[] { MsrPolicy.Star, MsrPolicy.Lstar, MsrPolicy.Fmask, MsrPolicy.KernelGsBase }),
                "with the processor's values unknown every one is written");
            FakeCpu.Reset();
        }

        [TestCase(0x17u, TestName = "IA32_PLATFORM_ID reads 0")]
        [TestCase(0x8Bu, TestName = "IA32_BIOS_SIGN_ID reads 0 (no microcode update)")]
        [TestCase(0xFEu, TestName = "IA32_MTRRCAP reads 0 (no ranges, no WC, no SMRR)")]
        public void Identification_MSRs_read_0(uint msr)
        {
            Assert.That(MsrPolicy.TryRead(new GuestMsrs(), msr, out ulong value), Is.True);
            Assert.That(value, Is.Zero);
        }
    }
}
