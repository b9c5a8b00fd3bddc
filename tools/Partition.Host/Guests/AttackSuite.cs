using System;
using System.Collections.Generic;
using System.IO;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Partition.Host.Guests
{
    /// <summary>
    /// The attack-guest suite that configs/attacks.json runs: what each attack does and how it
    /// must end, in one table per kind of attacker. The guests are built from these tables
    /// (<see cref="WriteImages"/>) and the system test asserts on the same tables, so an attack
    /// and its documented outcome cannot drift apart.
    /// </summary>
    /// <remarks>
    /// Three kinds of attacker. The prober (a guest) and the manager (the host partition) catch
    /// #GP and #UD with an IDT of their own and go on to the next attack, printing
    /// "NAME: OUTCOME" for each. Each fatal attacker makes one access the hypervisor must stop
    /// it for. Beside them a neighbour checksums its memory over and over, and a hog that
    /// never halts (interrupts off) shares the core with all of them.
    /// </remarks>
    public static class AttackSuite
    {
        public const ulong Origin = 0x200000;
        public const ushort Uart = 0x3F8;

        /// <summary>The prober's UART: COM2, so that COM1 (the hypervisor's console) is a port it does not own.</summary>
        public const ushort ProberUart = 0x2F8;

        /// <summary>Where configs/attacks.json places the neighbour's RAM (host_physical).</summary>
        public const ulong NeighbourHostPhysical = 0x0600_0000;

        /// <summary>
        /// An address inside the hypervisor: the image is linked at 1 MiB and its boot heap
        /// alone is 16 MiB, so 16 MiB is always within it (the test checks the image end the
        /// hypervisor prints at boot).
        /// </summary>
        public const ulong HypervisorAddress = 0x0100_0000;

        /// <summary>The neighbour's checksummed memory: guest-physical [ChecksumBase, ChecksumBase + ChecksumBytes).</summary>
        public const ulong ChecksumBase = 0x10_0000;
        public const int ChecksumBytes = 256 * 1024;
        public const ulong ChecksumSeed = 0x0123_4567_89AB_CDEF;
        public const ulong ChecksumMultiplier = 6364136223846793005;

        /// <summary>Partition indexes in configs/attacks.json (the management hypercalls' argument).</summary>
        public const ulong NeighbourIndex = 1, HogIndex = 2;

        public const int FloodCount = 3000;

        /// <summary>
        /// One non-fatal attack: <paramref name="Emit"/> leaves its result in RAX. The guest prints
        /// "NAME: #GP" or "NAME: #UD" if it was given that exception, otherwise RAX in hex if
        /// <paramref name="ReportsValue"/>, else "done". <paramref name="Ports"/>,
        /// <paramref name="Msrs"/>, <paramref name="Hypercalls"/> and <paramref name="Ipis"/> are
        /// the refusals the hypervisor must count for it.
        /// </summary>
        public sealed record Probe(string Name, string Expected, bool ReportsValue, Action<Assembler> Emit,
            int Ports = 0, int Msrs = 0, int Hypercalls = 0, int Ipis = 0);

        /// <summary>
        /// One fatal attack: its own partition, which prints "attacking: WHAT", runs
        /// <paramref name="Setup"/> and then the one instruction <paramref name="Attack"/>, which
        /// must stop it with <paramref name="Reason"/> (at <paramref name="GuestPhysical"/>, a
        /// <paramref name="Access"/>, for an EPT violation).
        /// </summary>
        public sealed record Fatal(string Partition, string What, string Reason, ulong? GuestPhysical, string? Access,
            Action<Assembler> Setup, Action<Assembler> Attack);

        public const string EptViolation = "EPT violation: an access outside the partition's memory";

        private static string Hex(ulong value) => $"0x{value:X16}";

        private const string Gp = "#GP", Ud = "#UD", Done = "done";
        private static readonly string Unknown = Hex(unchecked((ulong)-1L));
        private static readonly string NotPermitted = Hex(unchecked((ulong)-2L));
        private static readonly string Refused = Hex(unchecked((ulong)-3L));

        private static Probe In(string name, ushort port, int size) => new(name, Hex(size == 4 ? 0xFFFF_FFFFUL : 0xFFUL), true, a =>
        {
            // Junk in the upper half: a dword IN must zero-extend it away, a byte IN keep it.
            a.mov(rax, size == 4 ? 0x1111_1111_0000_0000UL : 0UL);
            a.mov(dx, port);
            if (size == 4)
                a.@in(eax, dx);
            else
                a.@in(al, dx);
        }, Ports: 1);

        private static Probe Out(string name, ushort port, byte value) => new(name, Done, false, a =>
        {
            a.mov(dx, port);
            a.mov(al, value);
            a.@out(dx, al);
        }, Ports: 1);

        // Index, then data: a register of the partition's own virtual RTC (ports 0x70/0x71 are
        // every partition's own, so this is never refused).
        private static Probe Cmos(string name, byte index, ulong expected) => new(name, Hex(expected), true, a =>
        {
            a.mov(al, index);
            a.@out(0x70, al);
            a.xor(eax, eax);
            a.@in(al, 0x71);
        });

        private static Probe Rdmsr(string name, uint msr, string expected, int denied) => new(name, expected, true, a =>
        {
            a.mov(ecx, msr);
            a.rdmsr();
            a.shl(rdx, 32);
            a.or(rax, rdx);
        }, Msrs: denied);

        private static Probe Wrmsr(string name, uint msr, ulong value, int denied) => new(name, Gp, false, a =>
        {
            a.mov(ecx, msr);
            a.mov(eax, (uint)value);
            a.mov(edx, (uint)(value >> 32));
            a.wrmsr();
        }, Msrs: denied);

        // An IPI through the prober's own virtual xAPIC page (ICR high, then ICR low, which
        // sends) to an APIC ID outside its partition: dropped and counted, the guest goes on.
        private static Probe XapicIpi(string name, byte destination, uint icrLow) => new(name, Done, false, a =>
        {
            a.mov(ebx, 0xFEE0_0310);
            a.mov(__dword_ptr[rbx], (uint)destination << 24);
            a.mov(ebx, 0xFEE0_0300);
            a.mov(__dword_ptr[rbx], icrLow);
        }, Ipis: 1);

        // An IPI through the prober's own virtual x2APIC to an APIC ID outside its partition:
        // the write itself is fine (no #GP), the IPI is dropped and counted.
        private static Probe Ipi(string name, ulong icr) => new(name, Done, false, a =>
        {
            a.mov(ecx, X2ApicIcr);
            a.mov(eax, (uint)icr);
            a.mov(edx, (uint)(icr >> 32));
            a.wrmsr();
        }, Ipis: 1);

        // Writes the MSR, reads it back (the result), then puts the old value back.
        private static Probe WriteAndReadBack(string name, uint msr, Action<Assembler> change, ulong expected) => new(name, Hex(expected), true, a =>
        {
            a.mov(ecx, msr);
            a.rdmsr();
            a.mov(r8d, eax);
            a.mov(r9d, edx);
            change(a);
            a.wrmsr();
            a.rdmsr();
            a.shl(rdx, 32);
            a.or(rax, rdx);
            a.mov(r10, rax);
            a.mov(eax, r8d);
            a.mov(edx, r9d);
            a.wrmsr();
            a.mov(rax, r10);
        });

        private static Probe VmxInstruction(string name, Action<Assembler> instruction) => new(name, Ud, false, a =>
        {
            a.lea(rax, __[rsp - 64]); // a scratch operand on the stack
            a.lea(rbx, __[rsp - 128]);
            instruction(a);
        });

        // The hypercall ABI: function in RAX, arguments in RBX, RCX, RDX; the status comes back in RAX.
        private static Probe Call(string name, string expected, ulong function, ulong first = 0, ulong second = 0, ulong third = 0, int hypercalls = 0) =>
            new(name, expected, true, a =>
            {
                a.mov(rax, function);
                a.mov(rbx, first);
                a.mov(rcx, second);
                a.mov(rdx, third);
                a.vmcall();
            }, Hypercalls: hypercalls);

        // FloodCount calls; RAX = how many returned <paramref name="status"/>.
        private static Probe Flood(string name, ulong function, ulong status, int hypercalls) => new(name, Hex(FloodCount), true, a =>
        {
            var loop = a.CreateLabel();
            var next = a.CreateLabel();
            a.xor(r13d, r13d);
            a.mov(r12d, FloodCount);
            a.Label(ref loop);
            a.mov(rax, function);
            a.xor(ebx, ebx);
            a.vmcall();
            a.mov(rdx, status);
            a.cmp(rax, rdx);
            a.jne(next);
            a.inc(r13);
            a.Label(ref next);
            a.dec(r12d);
            a.jnz(loop);
            a.mov(rax, r13);
        }, Hypercalls: hypercalls);

        private const uint FeatureControl = 0x3A, ApicBase = 0x1B, VmxBasic = 0x480, X2ApicIcr = 0x830, Lstar = 0xC000_0082,
            Efer = 0xC000_0080, SysenterEip = 0x176, Tsc = 0x10, Pat = 0x277;

        /// <summary>What the prober, a guest partition, tries. In this order.</summary>
        public static readonly Probe[] GuestProbes =
        {
            // Ports it does not own: reads give all ones, writes are dropped.
            Out("OUT 0xCF8 = 0x80 (PCI configuration address)", 0xCF8, 0x80),
            In("IN dword 0xCFC (PCI configuration data)", 0xCFC, 4),
            In("IN 0x21 (PIC mask)", 0x21, 1),
            Out("OUT 0x20 = 0x20 (PIC end of interrupt)", 0x20, 0x20),
            Out("OUT 0x43 = 0x34 (PIT mode)", 0x43, 0x34),
            In("IN 0x40 (PIT counter)", 0x40, 1),
            // Ports 0x70/0x71 are its own virtual RTC, started from the machine's clock: answered,
            // never refused. Bit 7 of the index (the PC's NMI mask) is kept and masks nothing.
            // The rest of the real RTC's ports (0x72-0x77) are nobody's.
            Out("OUT 0x70 = 0x8F (CMOS index, NMI off)", 0x70, 0x8F) with { Ports = 0 },
            Cmos("IN 0x71 after OUT 0x70 = 0x0D (its own RTC's register D: valid RAM and time)", 0x0D, 0x80),
            Cmos("IN 0x71 after OUT 0x70 = 0x32 (its own RTC's century, from the machine's clock)", 0x32, 0x20),
            In("IN 0x72 (the machine's upper CMOS bank)", 0x72, 1),
            Out("OUT 0x3FB = 0x80 (console UART: divisor latch)", 0x3FB, 0x80),
            Out("OUT 0x3F8 = 'X' (console UART: a character)", 0x3F8, (byte)'X'),
            In("IN 0x3FD (console UART: line status)", 0x3FD, 1),
            Out("OUT 0x64 = 0xFE (keyboard controller: reset the machine)", 0x64, 0xFE),
            Out("OUT 0xCF9 = 0x06 (reset control: reboot)", 0xCF9, 0x06),
            Out("OUT 0x92 = 0x01 (system control port A: reset)", 0x92, 0x01),

            // MSRs outside the allow-list: #GP.
            Rdmsr("RDMSR IA32_FEATURE_CONTROL", FeatureControl, Gp, 1),
            Wrmsr("WRMSR IA32_FEATURE_CONTROL = 0", FeatureControl, 0, 1),
            Rdmsr("RDMSR IA32_VMX_BASIC", VmxBasic, Gp, 1),
            Wrmsr("WRMSR IA32_VMX_BASIC", VmxBasic, 0, 1),
            // Its local APIC is a virtual one, in xAPIC mode as after reset: the base reads as
            // the architectural address, enabled, bootstrap processor. IPIs reach only the
            // partition's own vCPUs (it has one, APIC ID 0), whichever way they are sent.
            Rdmsr("RDMSR IA32_APIC_BASE", ApicBase, Hex(0xFEE0_0900), 0),
            new("read its own APIC ID from the xAPIC page", Hex(0), true, a =>
            {
                a.mov(ebx, 0xFEE0_0020);
                a.mov(eax, __dword_ptr[rbx]);
            }),
            XapicIpi("xAPIC ICR: INIT to APIC 1", 1, 0xC500),
            XapicIpi("xAPIC ICR: SIPI to APIC 1", 1, 0x4608),
            XapicIpi("xAPIC ICR: fixed vector 0x40 to logical CPUs 1-7 (flat)", 0xFE, 0x0840),
            Wrmsr("WRMSR x2APIC ICR in xAPIC mode", X2ApicIcr, 1UL << 32 | 0x4500, 1),
            new("WRMSR IA32_APIC_BASE: into x2APIC mode", Done, false, a =>
            {
                a.mov(ecx, ApicBase);
                a.mov(eax, 0xFEE0_0D00);
                a.xor(edx, edx);
                a.wrmsr();
            }),
            Ipi("WRMSR x2APIC ICR: INIT to APIC 1", 1UL << 32 | 0xC500),
            Ipi("WRMSR x2APIC ICR: SIPI to APIC 1", 1UL << 32 | 0x4608),
            Ipi("WRMSR x2APIC ICR: NMI to APIC 2", 2UL << 32 | 0x0400),
            Ipi("WRMSR x2APIC ICR: fixed vector 0x40 to APIC 7", 7UL << 32 | 0x0040),
            Ipi("WRMSR x2APIC ICR: fixed vector 0x40 to logical cluster 1", 0x0001_0001UL << 32 | 0x0840),
            // x2APIC mode is left only by disabling the APIC first (SDM Vol. 3A, 11.12.5).
            Wrmsr("WRMSR IA32_APIC_BASE: from x2APIC straight back to xAPIC", ApicBase, 0xFEE0_0900, 1),
            // MSRs the VMCS switches reach the guest; the processor itself checks the value.
            WriteAndReadBack("WRMSR IA32_EFER.NXE, read back", Efer, a => a.or(eax, 1 << 11), 0xD00),
            new("WRMSR IA32_EFER with SVME (reserved on Intel)", Gp, false, a =>
            {
                a.mov(ecx, Efer);
                a.rdmsr();
                a.or(eax, 1 << 12);
                a.wrmsr();
            }),
            new("WRMSR IA32_PAT with a reserved memory type", Gp, false, a =>
            {
                a.mov(ecx, Pat);
                a.mov(eax, 0x0007_0402);
                a.mov(edx, 0x0007_0406);
                a.wrmsr();
            }),
            WriteAndReadBack("WRMSR IA32_SYSENTER_EIP, read back", SysenterEip, a => { a.mov(eax, 0x123456); a.xor(edx, edx); }, 0x123456),
            // The SYSCALL MSRs are the guest's own too (switched by the hypervisor between vCPUs).
            WriteAndReadBack("WRMSR IA32_LSTAR, read back", Lstar, a => { a.mov(eax, 0x654321); a.mov(edx, 0xFFFF_FFFF); }, 0xFFFF_FFFF_0065_4321),

            // VMX instructions: no nested VMX, so #UD.
            VmxInstruction("VMXON", a => a.vmxon(__qword_ptr[rax])),
            VmxInstruction("VMXOFF", a => a.vmxoff()),
            VmxInstruction("VMCLEAR", a => a.vmclear(__qword_ptr[rax])),
            VmxInstruction("VMPTRLD", a => a.vmptrld(__qword_ptr[rax])),
            VmxInstruction("VMPTRST", a => a.vmptrst(__qword_ptr[rax])),
            VmxInstruction("VMREAD", a => a.vmread(rcx, rax)),
            VmxInstruction("VMWRITE", a => a.vmwrite(rax, rcx)),
            VmxInstruction("VMLAUNCH", a => a.vmlaunch()),
            VmxInstruction("VMRESUME", a => a.vmresume()),
            VmxInstruction("INVEPT", a => a.invept(rcx, __[rax])),
            VmxInstruction("INVVPID", a => a.invvpid(rcx, __[rax])),
            VmxInstruction("VMFUNC", a => { a.xor(eax, eax); a.xor(ecx, ecx); a.vmfunc(); }),
            // CR4.VMXE: the guest reads back what it wrote (the read shadow); VMX stays out of reach.
            new("MOV CR4 with VMXE, read back", Hex(0x2020), true, a =>
            {
                a.mov(rax, cr4);
                a.or(eax, 1 << 13);
                a.mov(cr4, rax);
                a.mov(rax, cr4);
            }),
            VmxInstruction("VMXON with CR4.VMXE set", a => a.vmxon(__qword_ptr[rax])),
            new("MOV CR4 without VMXE, read back", Hex(0x20), true, a =>
            {
                a.mov(rax, cr4);
                a.and(eax, ~(1 << 13));
                a.mov(cr4, rax);
                a.mov(rax, cr4);
            }),

            // The hypervisor's image is linked at 1 MiB; at guest-physical 1 MiB the prober finds its own (zeroed) RAM.
            new("look for the hypervisor's Multiboot2 header at 0x100000-0x110000", Hex(0), true, a =>
            {
                var loop = a.CreateLabel();
                var next = a.CreateLabel();
                a.xor(eax, eax);
                a.mov(esi, 0x100000);
                a.Label(ref loop);
                a.cmp(__dword_ptr[rsi], 0xE85250D6);
                a.jne(next);
                a.inc(eax);
                a.Label(ref next);
                a.add(esi, 4);
                a.cmp(esi, 0x110000);
                a.jb(loop);
            }),

            // Hypercalls: unknown functions and management from a guest are errors, never faults.
            Call("hypercall 6 (no such function)", Unknown, 6),
            Call("hypercall 2^64-1 (no such function)", Unknown, ulong.MaxValue),
            Call("hypercall pause partition 0 (management)", NotPermitted, 3, 0, hypercalls: 1),
            Call("hypercall migrate 2^64-1 to core 2^64-1 (management)", NotPermitted, 2, ulong.MaxValue, ulong.MaxValue, hypercalls: 1),
            Call("hypercall info with junk in every register", Hex(0), 1, ulong.MaxValue, ulong.MaxValue, ulong.MaxValue),
            Flood("flood of management hypercalls (count refused)", 3, unchecked((ulong)-2L), FloodCount),
            Flood("flood of version hypercalls (count answered)", 0, 0, 0),
        };

        // CONFIG_ADDRESS, then a dword from CONFIG_DATA (PCI configuration mechanism #1).
        private static Probe PciRead(string name, int device, int function, uint expected) => new(name, Hex(expected), true, a =>
        {
            a.mov(eax, 0x8000_0000u | (uint)device << 11 | (uint)function << 8);
            a.mov(dx, (ushort)0xCF8);
            a.@out(dx, eax);
            a.mov(dx, (ushort)0xCFC);
            a.@in(eax, dx);
        });

        /// <summary>
        /// The owner's device in configs/attacks.json: LPT1 (a partition left out at boot, its devices
        /// still its own). It holds no PCI function: no guest may until VT-d is programmed, so how
        /// the host's PCI configuration hides another partition's function is tested on the host
        /// only (HostPortsTests).
        /// </summary>
        public const ushort OwnersPorts = 0x378;

        /// <summary>
        /// What the manager, the host partition, tries: its pass-through to what nobody else was
        /// given, the devices it was not, the reset lines, and management hypercalls with bad arguments.
        /// </summary>
        public static readonly Probe[] HostProbes =
        {
            PciRead("PCI 00:00.0 vendor and device (passed through)", 0, 0, 0x1237_8086),
            // The RTC is not passed through, not even to the host: 0x70/0x71 are its own virtual
            // RTC, the machine's other RTC ports (here an index alias) are refused.
            Cmos("CMOS status register D (its own virtual RTC)", 0x0D, 0x80),
            In("IN 0x74 (the machine's RTC index alias: refused)", 0x74, 1),
            In("IN 0x379 (LPT1, given to another partition)", OwnersPorts + 1, 1),
            // Device space is identity mapped for the host: the BIOS ROM's reset vector, "jmp far f000:e05b".
            new("read the BIOS ROM at 0xFFFFFFF0 (passed through)", Hex(0x00E0_5BEA), true, a =>
            {
                a.mov(ebx, 0xFFFF_FFF0);
                a.mov(eax, __dword_ptr[rbx]);
            }),
            Out("OUT 0xCF9 = 0x06 (reset control: refused)", 0xCF9, 0x06),
            Out("OUT 0x64 = 0xFE (keyboard controller reset: refused)", 0x64, 0xFE),
            Out("OUT 0x92 = 0x01 (fast reset: refused)", 0x92, 0x01),
            Call("pause partition 2^64-1", Refused, 3, ulong.MaxValue),
            Call("migrate the neighbour to core 2^64-1", Refused, 2, NeighbourIndex, ulong.MaxValue),
            Call("migrate the neighbour to core 7 (absent)", Refused, 2, NeighbourIndex, 7),
            Call("migrate the hog to core 1 (dedicated to the manager)", Refused, 2, HogIndex, 1),
            Call("restart the neighbour while it runs", Refused, 5, NeighbourIndex),
            Call("resume the neighbour (not paused)", Refused, 4, NeighbourIndex),
            Call("hypercall 2^63 (no such function)", Unknown, 1UL << 63),
        };

        /// <summary>The attacks that must stop their partition, one partition each.</summary>
        public static readonly Fatal[] FatalAttacks =
        {
            new("hv-read", "read the hypervisor's memory at 16 MiB", EptViolation, HypervisorAddress, "read",
                a => a.mov(rax, HypervisorAddress), a => a.mov(rbx, __qword_ptr[rax])),
            new("hv-write", "write the hypervisor's memory at 16 MiB", EptViolation, HypervisorAddress + 0x1000, "write",
                a => { a.mov(rax, HypervisorAddress + 0x1000); a.mov(ebx, 0xBAD); }, a => a.mov(__qword_ptr[rax], rbx)),
            new("peer-read", "read the neighbour's memory at its host-physical address", EptViolation, NeighbourHostPhysical + ChecksumBase, "read",
                a => a.mov(rax, NeighbourHostPhysical + ChecksumBase), a => a.mov(rbx, __qword_ptr[rax])),
            new("peer-write", "write the neighbour's memory at its host-physical address", EptViolation, NeighbourHostPhysical + ChecksumBase + 8, "write",
                a => { a.mov(rax, NeighbourHostPhysical + ChecksumBase + 8); a.mov(ebx, 0xBAD); }, a => a.mov(__qword_ptr[rax], rbx)),
            new("ioapic", "select an I/O APIC register", EptViolation, 0xFEC0_0000, "write",
                a => { a.mov(eax, 0xFEC0_0000); a.mov(ebx, 1); }, a => a.mov(__dword_ptr[rax], ebx)),
            new("hpet", "read the HPET (MMIO high below 4 GiB)", EptViolation, 0xFED0_0000, "read",
                a => a.mov(eax, 0xFED0_0000), a => a.mov(rbx, __qword_ptr[rax])),
            new("above-4g", "read above 4 GiB, mapped by a 1 GiB page of its own", EptViolation, 0x1_0000_0000, "read",
                a =>
                {
                    // PDPT entry 4 (virtual 4 GiB) = a 1 GiB page at guest-physical 4 GiB.
                    a.mov(rax, cr3);
                    a.mov(rbx, __qword_ptr[rax]);
                    a.and(rbx, -4096);
                    a.mov(rcx, 0x1_0000_0000UL | 0x83);
                    a.mov(__qword_ptr[rbx + 32], rcx);
                    a.mov(rax, 0x1_0000_0000UL);
                    a.invlpg(__[rax]);
                },
                a => a.mov(rbx, __qword_ptr[rax])),
            new("vmx-no-idt", "VMXON with no IDT to take the #UD", "triple fault", null, null,
                a => a.lea(rax, __[rsp - 64]), a => a.vmxon(__qword_ptr[rax])),
            new("outs", "REP OUTSB (string I/O) to its UART", "string I/O (INS/OUTS) is not emulated", null, null,
                a => { a.mov(dx, (ushort)0x3F8); a.mov(ecx, 4); a.lea(rsi, __[rsp - 64]); }, a => a.rep.outsb()),
        };

        /// <summary>The attack instruction alone, disassembled as the crash report must show it.</summary>
        public static string AttackInstruction(Fatal attack) => CrashAnnotator.Disassemble(attack.Attack);

        /// <summary>The neighbour's checksum of its pattern, computed here as the guest computes it.</summary>
        public static ulong NeighbourChecksum()
        {
            ulong x = ChecksumSeed, h = 0;
            for (int i = 0; i < ChecksumBytes / 8; i++)
            {
                h = ulong.RotateLeft(h, 7) ^ x;
                x = unchecked(x * ChecksumMultiplier + 1);
            }
            return h;
        }

        /// <summary>
        /// Writes the images configs/attacks.json names (beside the hog, which is the demo's
        /// spin-if0.bin) into <paramref name="directory"/>; returns their paths.
        /// </summary>
        public static string[] WriteImages(string directory)
        {
            Directory.CreateDirectory(directory);
            var images = new List<(string File, byte[] Bytes)>
            {
                ("neighbour.bin", TestGuest.Neighbour(Origin, Uart)),
                ("prober.bin", TestGuest.Prober(Origin, ProberUart, GuestProbes, spinAfter: false)),
                ("manager.bin", TestGuest.Prober(Origin, Uart, HostProbes, spinAfter: true)),
            };
            foreach (var attack in FatalAttacks)
                images.Add((attack.Partition + ".bin", TestGuest.FatalAttacker(Origin, Uart, attack)));
            var paths = new string[images.Count];
            for (int i = 0; i < images.Count; i++)
            {
                paths[i] = Path.Combine(directory, images[i].File);
                File.WriteAllBytes(paths[i], images[i].Bytes);
            }
            return paths;
        }
    }
}
