using System;
using Partition.Configs;
using Partition.Memory;
using Partition.Scheduler;

namespace Partition.Kernel
{
    /// <summary>
    /// Creates the partitions the configuration describes and runs them on the boot CPU under
    /// that core's scheduling policy; then prints each partition's exit counts by reason and the
    /// core's statistics. (The other CPUs are not started yet.)
    /// </summary>
    public static unsafe class PartitionHost
    {
        public static VmxCapabilities Capabilities { get; private set; }
        public static ProcessorTables HostTables { get; private set; }

        private static readonly string[] s_violations = new string[EntryChecks.MaxViolations];

        /// <summary>The GDT, TSS and IDT of a CPU, for host state.</summary>
        public static ProcessorTables TablesOf(int cpu) => cpu == 0 ? HostTables : Smp.TablesOf(cpu);

        public static void Initialize(VmxCapabilities capabilities, ProcessorTables hostTables)
        {
            Capabilities = capabilities;
            HostTables = hostTables;
            HostCpuid.Initialize();
            XsaveSupport.Initialize();
            ExitDispatch.Initialize();
        }

        /// <summary>
        /// Creates the partitions of a validated configuration. A partition with configuration
        /// errors, a form the hypervisor cannot run yet, or no room is reported and left out;
        /// the others are created.
        /// </summary>
        public static VirtualMachine[] CreateFromConfiguration(ConfigResult config, BootModule[] modules, Firmware firmware, int cpu)
        {
            var partitions = config.Configuration.Partitions;
            var specs = new PartitionSpec[partitions.Length];
            string error;
            for (int i = 0; i < partitions.Length; i++)
            {
                if (!config.CanStart(i))
                    continue; // BootConfiguration.Print has named its errors
                if (!PartitionSpec.TryFromConfig(partitions[i], out specs[i], out error))
                    LeaveOut(partitions[i].Name, error);
            }
            GiveHostPassThrough(specs, partitions, config.Configuration.SharedMemory, firmware);
            ClaimPlacedMemory(specs);
            ulong[] sharedBases = AllocateSharedMemory(config.Configuration.SharedMemory, specs, partitions);

            // The host first, then the guests in config order (the order in which ConfigValidator
            // counts RAM): when memory runs short, the host and whatever fits still start. The
            // machines keep config order.
            var machines = new VirtualMachine[partitions.Length];
            int host = -1;
            for (int i = 0; i < specs.Length && host < 0; i++)
                if (specs[i] != null && specs[i].IsHost)
                    host = i;
            for (int k = -1; k < partitions.Length; k++)
            {
                int i = k < 0 ? host : k;
                if (i < 0 || (k >= 0 && i == host))
                    continue;
                var partition = partitions[i];
                var spec = specs[i];
                if (spec == null)
                    continue;
                GuestModule[] guestModules = null;
                if (!TryFindImage(partition.Boot.Kernel, modules, out var image, out error)
                    || !TryFindModules(partition, modules, out guestModules, out error)
                    || !VirtualMachine.TryCreate(spec, new ReadOnlySpan<byte>((void*)image.Start, (int)image.Size), guestModules,
                        SharedMappingsOf(partition.Name, config.Configuration.SharedMemory, sharedBases), Capabilities, HostTables, cpu, out var vm, out error))
                {
                    LeaveOut(partition.Name, error);
                    continue;
                }
                vm.ConfigIndex = i;
                machines[i] = vm;
                PrintCreated(vm);
            }
            int created = 0;
            for (int i = 0; i < machines.Length; i++)
                if (machines[i] != null)
                    created++;
            var result = new VirtualMachine[created];
            created = 0;
            for (int i = 0; i < machines.Length; i++)
                if (machines[i] != null)
                    result[created++] = machines[i];
            return result;
        }

        /// <summary>
        /// The host partition reaches every port, PCI function and MMIO range directly except
        /// those the config gives to other partitions (whether or not they start: the config's
        /// intent decides who owns a device).
        /// </summary>
        private static void GiveHostPassThrough(PartitionSpec[] specs, PartitionConfig[] partitions, SharedMemoryConfig[] shared, Firmware firmware)
        {
            for (int h = 0; h < specs.Length; h++)
            {
                if (specs[h] == null || !specs[h].IsHost)
                    continue;
                int portCount = 0, pciCount = 0;
                for (int p = 0; p < partitions.Length; p++)
                {
                    if (p == h)
                        continue;
                    portCount += partitions[p].Devices.IoPorts.Length;
                    pciCount += partitions[p].Devices.Pci.Length;
                }
                var ports = new IoPortRange[portCount];
                var pci = new int[pciCount];
                portCount = pciCount = 0;
                for (int p = 0; p < partitions.Length; p++)
                {
                    if (p == h)
                        continue;
                    foreach (var range in partitions[p].Devices.IoPorts)
                        ports[portCount++] = new IoPortRange((ushort)range.Base, range.Count);
                    foreach (var function in partitions[p].Devices.Pci)
                        pci[pciCount++] = function.Key;
                }
                if (specs[h].IdentityMapped)
                    specs[h].GiveFirmware(firmware);
                specs[h].GivePassThrough(ports, pci, HostMmio(specs[h], partitions, h, shared, firmware.MemoryMap));
            }
        }

        // The host's identity-mapped MMIO: all but RAM, the APICs, others' MMIO and its own shared memory.
        private static EptMapping[] HostMmio(PartitionSpec host, PartitionConfig[] partitions, int h, SharedMemoryConfig[] shared, MemoryRegion[] memoryMap)
        {
            int count = 0;
            for (int p = 0; p < partitions.Length; p++)
                if (p != h)
                    count += partitions[p].Devices.Mmio.Length;
            foreach (var region in shared)
                count += region.Sides.Length;
            var excluded = new PhysicalRange[count];
            count = 0;
            for (int p = 0; p < partitions.Length; p++)
                if (p != h)
                    foreach (var range in partitions[p].Devices.Mmio)
                        excluded[count++] = new PhysicalRange(range.Base, range.Base + range.Size);
            foreach (var region in shared)
                foreach (var side in region.Sides)
                    if (side.Partition == host.Name)
                        excluded[count++] = new PhysicalRange(side.GuestPhysical, side.GuestPhysical + region.Size);
            var mappings = new EptMapping[HostPassThrough.MaxMappings];
            // Below its RAM's end a partition with RAM at 0 has nothing passed through; an
            // identity-mapped host has the device ranges between its blocks too (VGA, ROMs).
            ulong from = host.IdentityMapped ? 0 : host.MemorySize;
            int n = HostPassThrough.Build(memoryMap, from, new ReadOnlySpan<PhysicalRange>(excluded, 0, count), mappings);
            var result = new EptMapping[n];
            for (int i = 0; i < n; i++)
                result[i] = mappings[i];
            return result;
        }

        /// <summary>
        /// Takes the RAM of every partition the config places at a host-physical address out of
        /// the allocator before any partition is created, since memory allocated for another
        /// could otherwise land there. A partition whose range is not free is left out (its spec
        /// cleared) with the reason.
        /// </summary>
        private static void ClaimPlacedMemory(PartitionSpec[] specs)
        {
            for (int i = 0; i < specs.Length; i++)
            {
                var spec = specs[i];
                if (spec == null || !spec.HasHostPhysical)
                    continue;
                ClaimResult result = PageAllocator.Memory.TryClaim(spec.HostPhysical, spec.MemorySize);
                if (result == ClaimResult.Claimed)
                    continue;
                HypervisorConsole.Write("Partition ");
                HypervisorConsole.Write(spec.Name);
                HypervisorConsole.Write(" left out: host-physical ");
                HypervisorConsole.WriteHex(spec.HostPhysical, 8);
                HypervisorConsole.Write("-");
                HypervisorConsole.WriteHex(spec.HostPhysical + spec.MemorySize, 8);
                HypervisorConsole.WriteLine(result == ClaimResult.InUse ? " is already in use by the hypervisor's own pages"
                    : result == ClaimResult.Unaligned ? " is not page aligned"
                    : " is not free RAM (outside the memory map's available regions, or holding the hypervisor image, a boot module or another partition)");
                specs[i] = null;
            }
        }

        /// <summary>
        /// Backs each shared-memory region that at least one created partition uses with zeroed
        /// RAM (2 MiB aligned when its size allows, for large EPT pages). Returns the host
        /// address of each region, 0 for one that is not backed; a region without room is
        /// reported and its partitions start without it.
        /// </summary>
        private static ulong[] AllocateSharedMemory(SharedMemoryConfig[] regions, PartitionSpec[] specs, PartitionConfig[] partitions)
        {
            var bases = new ulong[regions.Length];
            for (int r = 0; r < regions.Length; r++)
            {
                var region = regions[r];
                bool used = false;
                foreach (var side in region.Sides)
                    for (int p = 0; p < partitions.Length; p++)
                        used |= specs[p] != null && partitions[p].Name == side.Partition;
                if (!used)
                    continue;
                ulong alignment = region.Size % (1UL << 21) == 0 ? 1UL << 21 : PhysicalMemory.PageSize;
                if (!PageAllocator.Memory.TryAllocateAligned(region.Size / PhysicalMemory.PageSize, alignment, out bases[r]))
                {
                    HypervisorConsole.Write("Shared memory ");
                    HypervisorConsole.Write(region.Name);
                    HypervisorConsole.WriteLine(" left out: not enough free physical memory; its partitions start without it");
                    continue;
                }
                Cpu.Zero((void*)bases[r], region.Size);
            }
            return bases;
        }

        // The sides of the backed regions that belong to <paramref name="partition"/>.
        private static SharedMapping[] SharedMappingsOf(string partition, SharedMemoryConfig[] regions, ulong[] bases)
        {
            int count = 0;
            for (int r = 0; r < regions.Length; r++)
                foreach (var side in regions[r].Sides)
                    if (bases[r] != 0 && side.Partition == partition)
                        count++;
            var mappings = new SharedMapping[count];
            count = 0;
            for (int r = 0; r < regions.Length; r++)
                foreach (var side in regions[r].Sides)
                    if (bases[r] != 0 && side.Partition == partition)
                        mappings[count++] = new SharedMapping(regions[r].Name, side.GuestPhysical, bases[r], regions[r].Size, side.Access == SharedAccess.ReadWrite);
            return mappings;
        }

        private static void LeaveOut(string partition, string error)
        {
            HypervisorConsole.Write("Partition ");
            HypervisorConsole.Write(partition);
            HypervisorConsole.Write(" left out: ");
            HypervisorConsole.WriteLine(error);
        }

        // A Multiboot kernel's own modules, each with the command line the config gives it; a
        // Linux kernel's initrd.
        private static bool TryFindModules(PartitionConfig partition, BootModule[] modules, out GuestModule[] guestModules, out string error)
        {
            var wanted = partition.Boot.Kind == BootKind.Linux
                ? partition.Boot.Initrd == null ? new ImageReference[0] : new[] { partition.Boot.Initrd }
                : partition.Boot.Modules;
            guestModules = new GuestModule[wanted.Length];
            for (int i = 0; i < wanted.Length; i++)
            {
                if (!TryFindImage(wanted[i], modules, out var module, out error))
                    return false;
                guestModules[i] = new GuestModule(module.Start, module.Size, wanted[i].CommandLine);
            }
            error = null;
            return true;
        }

        private static bool TryFindImage(ImageReference reference, BootModule[] modules, out BootModule image, out string error)
        {
            string wanted = reference.ModuleCommandLine;
            foreach (var module in modules)
            {
                // "guest-image NAME WHAT", followed by the image's own command line if it has one.
                string line = module.CommandLine;
                if (line == wanted || (line.StartsWith(wanted) && line.Length > wanted.Length && line[wanted.Length] == ' '))
                {
                    image = module;
                    error = null;
                    return true;
                }
            }
            image = default;
            error = string.Concat("no boot module '", wanted, "' (build the ISO with partition image)");
            return false;
        }

        private static void PrintCreated(VirtualMachine vm)
        {
            HypervisorConsole.Write("Partition ");
            HypervisorConsole.Write(vm.Name);
            HypervisorConsole.Write(": ");
            HypervisorConsole.Write(vm.Mode == GuestMode.Real ? "real mode" : vm.Mode == GuestMode.Protected32 ? "32-bit protected mode" : "64-bit long mode");
            HypervisorConsole.Write(", ");
            HypervisorConsole.WriteSize(vm.MemorySize);
            HypervisorConsole.Write(" at host ");
            HypervisorConsole.WriteHex(vm.HostBase, 8);
            if (vm.Multiboot != MultibootVersion.None)
                HypervisorConsole.Write(vm.Multiboot == MultibootVersion.One ? ", Multiboot kernel" : ", Multiboot2 kernel");
            if (vm.Spec.IsLinux)
                HypervisorConsole.Write(", Linux kernel (64-bit boot protocol, ACPI tables at 0xE0000)");
            if (vm.Vcpus.Length > 1)
            {
                HypervisorConsole.Write(", ");
                HypervisorConsole.WriteDecimal((ulong)vm.Vcpus.Length);
                HypervisorConsole.Write(" vCPUs");
            }
            HypervisorConsole.Write(", entry ");
            HypervisorConsole.WriteHex(vm.Entry, 4);
            if (vm.Uart != null)
            {
                HypervisorConsole.Write(", UART at port ");
                HypervisorConsole.WriteHex(vm.Uart.BasePort, 3);
            }
            foreach (var shared in vm.Shared)
            {
                HypervisorConsole.Write(", shared ");
                HypervisorConsole.Write(shared.Name);
                HypervisorConsole.Write(" at ");
                HypervisorConsole.WriteHex(shared.GuestPhysical, 4);
                HypervisorConsole.Write(shared.Writable ? " (read-write)" : " (read-only)");
            }
            if (vm.Spec.HostMmio.Length != 0)
            {
                HypervisorConsole.Write(", device space passed through in ");
                HypervisorConsole.WriteDecimal((ulong)vm.Spec.HostMmio.Length);
                HypervisorConsole.Write(" ranges");
            }
            HypervisorConsole.Write(", EPT ");
            HypervisorConsole.WriteDecimal((ulong)vm.Ept.PagesUsed);
            HypervisorConsole.WriteLine(" table pages");
        }

        /// <summary>Runs one vCPU on this CPU, without a scheduler, until it halts or is stopped.</summary>
        public static void Run(VirtualCpu vcpu, int cpu)
        {
            if (vcpu.Vmcs.Load(cpu) != VmcsError.None)
            {
                Stop(vcpu.Machine, "VMPTRLD failed");
                return;
            }
            while (vcpu.Machine.State == VirtualMachineState.Runnable && vcpu.Activity == VcpuActivity.Running)
                RunSlice(vcpu, cpu, 0, false);
            vcpu.Vmcs.Clear(cpu);
        }

        // The core's policy from the config: dedicated for a lone dedicated vCPU, otherwise the
        // core's schedule (round-robin if none is given), with the period divided among its vCPUs
        // unless a vCPU names its own slice.
        public static CoreControlBlock CreateCore(VirtualCpu[] vcpus, int cpu, ScheduleConfig[] schedules)
        {
            int count = 0;
            bool anyShared = false;
            ulong sliceMicroseconds = 0;
            foreach (var vcpu in vcpus)
            {
                var placement = vcpu.Machine.Spec.Vcpus[vcpu.Index];
                count++;
                anyShared |= placement.SharedCore;
                if (placement.SliceMicroseconds != 0)
                    sliceMicroseconds = placement.SliceMicroseconds;
            }
            PolicyKind kind = PolicyKind.RoundRobin;
            ulong period = ScheduleConfig.DefaultPeriodMicroseconds;
            foreach (var schedule in schedules)
            {
                if (schedule.Core != cpu)
                    continue;
                kind = schedule.Policy == SchedulePolicy.Weighted ? PolicyKind.Weighted
                    : schedule.Policy == SchedulePolicy.Dedicated ? PolicyKind.Dedicated : PolicyKind.RoundRobin;
                period = schedule.PeriodMicroseconds;
            }
            if (count == 1 && !anyShared)
                kind = PolicyKind.Dedicated;
            if (sliceMicroseconds == 0)
                sliceMicroseconds = period / (ulong)Math.Max(1, count);
            // Sized for the vCPUs placed here; one that migrates in later grows the tables then.
            var policy = SchedulingPolicy.Create(kind, Tsc.FromMicroseconds(sliceMicroseconds), count);
            foreach (var vcpu in vcpus)
            {
                var entity = new SchedulerEntity(vcpu.Name, vcpu.Machine.Spec.Vcpus[vcpu.Index].Weight, vcpu);
                entity.Runnable = false; // the run loop's sweep decides
                vcpu.Entity = entity;
                if (!policy.TryAdd(entity))
                    Stop(vcpu.Machine, "no room on its core (a dedicated core takes one vCPU)");
            }
            return new CoreControlBlock(cpu, policy);
        }

        /// <summary>
        /// Enters the vCPU (its VMCS current on this CPU) and handles exits until its slice ends
        /// (preemption timer), it halts, its partition is stopped, or <paramref name="until"/>
        /// (a TSC value: the end of its slice, or the run's deadline; 0 for none) has passed at
        /// an exit. A dedicated vCPU has no timer: at the deadline it is stopped at its next exit.
        /// </summary>
        public static void RunSlice(VirtualCpu vcpu, int cpu, ulong until, bool serveConsole, CoreRunner runner = null)
        {
            runner ??= CoreRunner.Of(cpu);
            if (ExitProfile.Enabled)
                RunSlice<ExitProfile.On>(vcpu, cpu, until, serveConsole, runner);
            else
                RunSlice<ExitProfile.Off>(vcpu, cpu, until, serveConsole, runner);
        }

        private static long s_firstEntry;

        // "First guest instruction: N ticks (M ms) after the hypervisor's start, PARTITION on CPU C":
        // what the hypervisor's own start-up costs, once per run (its first VMLAUNCH follows at once).
        private static void NoteFirstEntry(VirtualCpu vcpu, int cpu)
        {
            ulong now = Tsc.Now;
            if (Cpu.CompareExchange(ref s_firstEntry, (long)now, 0) != 0)
                return;
            ulong ticks = now - Machine.BootTsc;
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write("First guest instruction: ");
            HypervisorConsole.WriteDecimal(ticks);
            HypervisorConsole.Write(" ticks (");
            HypervisorConsole.WriteDecimal(ticks / Tsc.TicksPerMillisecond);
            HypervisorConsole.Write(" ms) after the hypervisor's start, ");
            HypervisorConsole.Write(vcpu.Name);
            HypervisorConsole.Write(" on CPU ");
            HypervisorConsole.WriteDecimal((ulong)cpu);
            HypervisorConsole.WriteLine();
            HypervisorConsole.EndLine();
        }

        private static void RunSlice<TProbe>(VirtualCpu vcpu, int cpu, ulong until, bool serveConsole, CoreRunner runner) where TProbe : struct, IExitProbe
        {
            var probe = default(TProbe);
            probe.SliceStarts(cpu);
            var vm = vcpu.Machine;
            var vmcs = vcpu.Vmcs;
            if (!vcpu.Launched && !PassesEntryChecks(vcpu, cpu))
                return;
            if (!vcpu.Launched && s_firstEntry == 0)
                NoteFirstEntry(vcpu, cpu);
            var context = new ExitContext { Vcpu = vcpu, Cpu = cpu, Runner = runner, TimerRate = Capabilities.PreemptionTimerRate,
                ManagementLine = serveConsole ? ManagementChannel.Current : null };
            var lapic = vcpu.Lapic;
            GuestRegisters* registers = vcpu.Registers;
            bool exited = false;
            while (vm.State == VirtualMachineState.Runnable && vcpu.Activity == VcpuActivity.Running)
            {
                ulong now = Tsc.Now;
                if (exited)
                {
                    // The slice (or the run) is over, or the console has input (CPU 0): looked
                    // at after each exit, never before the first entry.
                    if (until != 0 && now >= until || serveConsole && (Management.HasInputAt(now) || Management.TypedInputSignalled))
                        return;
                }
                // The local APIC only when it has something: posted interrupts, a timer that is
                // due, an interrupt to deliver, a window to close.
                ulong apicDeadline = lapic.TimerDeadline;
                if (lapic.HasIncoming || lapic.HasPending || apicDeadline != 0 && vcpu.GuestTsc(now) >= apicDeadline
                    || vcpu.InterruptWindowExiting || vcpu.NmiWindowExiting)
                {
                    if (!InterruptInjection.BeforeEntry(vcpu, now))
                        return;
                }
                // The timer restarts from the field's value at every entry, so it is written for
                // the time left to the nearest of: the slice's end, the run's limit, CPU 0's
                // console poll (all in until), the local APIC's timer.
                ulong apicTimer = lapic.TimerDeadline;
                ulong timer = apicTimer == 0 ? 0 : apicTimer - vcpu.TscOffset; // TimerDeadlineOnHost
                ulong end = until == 0 || timer != 0 && timer < until ? timer : until;
                Vmx.Write(VmcsField.VmxPreemptionTimerValue, PreemptionTimerValue(end, now, context.TimerRate));
                context.TimerEnd = end;
                context.ApicDeadline = apicTimer;
                ulong fastUntil = end == 0 ? ulong.MaxValue : end;
                if (serveConsole && ConsoleDue.Next != 0 && ConsoleDue.Next < fastUntil)
                    fastUntil = ConsoleDue.Next;
                context.FastUntil = fastUntil;
                context.SetRewriteAfter(end == 0 ? ulong.MaxValue : end <= now ? now : now + ((end - now) >> ExitContext.TimerSlackShift));
                // The last looks at the mailbox and the local APIC come after the timer is set: a
                // kick (NMI) that arrives later finds the timer and sets it to 0
                // (CoreRunner.NmiReceived); one that came before the write was undone by it.
                // The fence: a CPU posting an interrupt reads the vCPU's Core and Activity to
                // decide whether to kick, after its post; this core stored them (a migration's
                // arrival, a wake) before this look at the posts. One side sees the other's store.
                Cpu.FullFence();
                if (runner != null && runner.HasRequests)
                {
                    // A wake-up for a vCPU waiting here ends the slice only after this vCPU's
                    // least run: the timer is written again for that end, and the guest goes on.
                    ulong limit = until;
                    if (runner.EndsSliceForRequests(now, ref until))
                        return;
                    if (until != limit)
                        continue;
                }
                if (lapic.HasIncoming)
                    continue;
                context.Injected = vcpu.EntryEventPending;
                probe.Entering(cpu, ref context);
                // Exits are handled inside (ExitPath), and those after which nothing here is
                // needed go straight back to the guest: this returns for the others.
                VmcsError error = vmcs.Run(cpu, registers, &ExitPath<TProbe>, ref context);
                if (error != VmcsError.None)
                {
                    ReportEntryInstructionFailure(vm, vmcs, error);
                    return;
                }
                exited = true;
                // Console output moves on while guests run: a few bytes at each exit, never a wait.
                if (HypervisorConsole.HasPending)
                    HypervisorConsole.Pump();
                if (vcpu.Activity != VcpuActivity.Running)
                    return;
                // The timer was set for the slice's end (or the run's) unless the local APIC's
                // timer was nearer: a timer exit not for the APIC ends the slice, unless it came
                // early because a kick zeroed the timer (CoreRunner.NmiReceived) for a request:
                // then the look before the next entry decides (a wake-up request lets the slice
                // run on to its vCPU's least run).
                if (context.Reason == (ushort)ExitReason.PreemptionTimer && (timer == 0 || Tsc.Now < timer)
                    && (runner == null || !runner.HasRequests || until == 0 || Tsc.Now >= until))
                    return;
                // The core's mailbox is looked at before the next entry (and the console's input
                // at the top of the loop).
            }
        }

        /// <summary>
        /// Called after every VM exit, on the entry routine's stack with the guest's registers
        /// saved: handles the exit (the one place that does: counters, re-injection, dispatch,
        /// the handler), then decides whether the guest may go on at once (returns 1: VMRESUME
        /// without going back to the run loop) or the run loop must look first (0). It may go on
        /// only when none of the run loop's pre-entry work is due: the handler did not ask for
        /// the loop (<see cref="ExitAction.RunLoop"/>: timer, windows, interrupts, NMIs; a halt
        /// or a stop), the vCPU still runs and injects nothing, and no time the loop watches has
        /// come (console output the UART has room for is pumped here). After a handler that may
        /// have changed what the loop watches (<see cref="ExitAction.Resume"/>) it also looks at
        /// that: its partition still runnable, the local APIC with nothing to deliver and its
        /// timer unchanged, no input on the console's management line, the core's mailbox
        /// empty. After a quiet handler (<see cref="ExitAction.ResumeQuiet"/>) only another CPU
        /// could have changed those, and it kicks this core when it does (the kick invariant,
        /// <see cref="CoreRunner"/>): the kick's NMI either makes the guest exit or, arriving
        /// here, sets the preemption timer to 0 so that the entry exits at once. The one thing
        /// here that could undo that is rewriting the timer for the time left (when the last
        /// value would make it late by more than 1/64 of what was left at its write:
        /// <see cref="ExitContext.RewriteTimerAfter"/>): after a rewrite every look is taken,
        /// whatever the handler.
        /// </summary>
        private static int ExitPath<TProbe>(ref ExitContext c) where TProbe : struct, IExitProbe
        {
            var probe = default(TProbe);
            probe.Exited(c.Cpu);
            var vcpu = c.Vcpu;
            ulong reason = Vmx.ReadValue(VmcsField.ExitReason);
            c.ReasonField = (uint)reason;
            // An event is being delivered only if one was injected, or the guest's own
            // delivery met an EPT violation or misconfiguration, an intercepted exception or
            // a task switch (SDM Vol. 3C, 28.2.4): only then is IDT-vectoring worth reading.
            // The handlers of those exits read it themselves (InterruptInjection.ReinjectInterrupted),
            // so that no other exit pays a test for them. The exit cleared the VM-entry
            // interruption field (SDM Vol. 3C, 25.8.3).
            if (c.Injected)
            {
                vcpu.EntryEventPending = false;
                c.Injected = false;
                if ((reason & ExitReasons.EntryFailureBit) == 0)
                    InterruptInjection.ReinjectInterrupted(vcpu);
            }
            uint basic = (ushort)reason;
            vcpu.ExitCounts.Count(basic);
            probe.Dispatching(c.Cpu);
            var handler = ExitDispatch.Prepare(basic);
            probe.Handling(c.Cpu);
            ExitAction action = handler(ref c);
            probe.Handled(c.Cpu);
            // After a quiet handler, with the vCPU running and nothing to inject or wait for (one
            // word), only the time is looked at while no timer rewrite is due.
            if (action == ExitAction.ResumeQuiet && vcpu.MayResumeAtOnce)
            {
                ulong now = Tsc.Now;
                if (now < c.LookAfter)
                {
                    // Console output moves on while guests run: a few bytes when the UART has room, never a wait.
                    if (HypervisorConsole.PumpDue(now))
                        HypervisorConsole.PumpNow();
                    return EnterAgain<TProbe>(ref c, vcpu);
                }
            }
            return AfterExitLookingAtAll<TProbe>(ref c, action);
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private static int EnterAgain<TProbe>(ref ExitContext c, VirtualCpu vcpu) where TProbe : struct, IExitProbe
        {
            c.EnteredAgain = true;
            vcpu.ResumedAtOnce++;
            default(TProbe).Entering(c.Cpu, ref c);
            return 1;
        }

        // The rest of ExitPath: every look the run loop's state needs, and the timer's rewrite.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static int AfterExitLookingAtAll<TProbe>(ref ExitContext c, ExitAction action) where TProbe : struct, IExitProbe
        {
            var vcpu = c.Vcpu;
            // The exits the run loop acts on itself say so (ExitAction.RunLoop); an entry failure stops its partition.
            if (action > ExitAction.Resume)
            {
                if (action == ExitAction.Halt)
                    vcpu.Machine.Park(vcpu);
                return 0;
            }
            // Running, nothing to inject, no window asked for (one word).
            if (!vcpu.MayResumeAtOnce)
                return 0;
            var lapic = vcpu.Lapic;
            if (action == ExitAction.Resume && lapic.TimerDeadline != c.ApicDeadline)
                return 0;
            ulong now = Tsc.Now;
            if (now >= c.LookAfter)
            {
                if (now >= c.FastUntil)
                    return 0;
                // now < FastUntil <= TimerEnd here: there is time left. A kick that came before
                // this write had set the timer to 0: what follows looks at everything it announces.
                Vmx.Write(VmcsField.VmxPreemptionTimerValue, PreemptionTimerValue(c.TimerEnd, now, c.TimerRate));
                c.SetRewriteAfter(now + ((c.TimerEnd - now) >> ExitContext.TimerSlackShift));
            }
            // Console output moves on while guests run: a few bytes when the UART has room, never a wait.
            if (HypervisorConsole.PumpDue(now))
                HypervisorConsole.PumpNow();
            if (vcpu.Machine.State != VirtualMachineState.Runnable)
                return 0;
            // The console's own input (its script's times are in FastUntil): a command on the host's management line.
            if (c.ManagementLine is { } channel && channel.HasWork)
                return 0;
            if (lapic.HasIncomingOrPending)
                return 0;
            if (c.Runner != null && c.Runner.HasRequests)
                return 0;
            return EnterAgain<TProbe>(ref c, vcpu);
        }

        /// <summary>
        /// The VMX-preemption timer value for an entry at <paramref name="now"/> (SDM Vol. 3C,
        /// 26.5.1): it counts down at the TSC rate shifted right by <paramref name="rate"/>
        /// (IA32_VMX_MISC[4:0]) and makes the guest exit at <paramref name="until"/>, or never in
        /// practice (its maximum) when that is 0.
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private static ulong PreemptionTimerValue(ulong until, ulong now, int rate)
        {
            if (until == 0)
                return uint.MaxValue;
            // Rounded up, so that the exit comes at or after the time, never just before it.
            return until <= now ? 0 : System.Math.Min((ulong)uint.MaxValue, (until - now + (1UL << rate) - 1) >> rate);
        }

        public static void PrintCoreStatistics(CoreControlBlock core, ulong migrations, ulong guestTicks)
        {
            var policy = core.Policy;
            HypervisorConsole.Write("CPU ");
            HypervisorConsole.WriteDecimal((ulong)core.Cpu);
            HypervisorConsole.Write(": ");
            HypervisorConsole.Write(policy.Count == 0 ? "idle (no vCPUs)" : policy.Kind == PolicyKind.Dedicated ? "dedicated" : policy.Kind == PolicyKind.RoundRobin ? "round-robin" : "weighted");
            if (policy.Kind != PolicyKind.Dedicated && policy.Count > 0)
            {
                HypervisorConsole.Write(", slice ");
                HypervisorConsole.WriteDecimal(policy.SliceTicks);
                HypervisorConsole.Write(" ticks");
            }
            HypervisorConsole.Write(", ");
            HypervisorConsole.WriteDecimal(core.Switches);
            HypervisorConsole.Write(" switches, ");
            HypervisorConsole.WriteDecimal(migrations);
            HypervisorConsole.Write(" migrations out, ");
            HypervisorConsole.WriteDecimal(guestTicks);
            HypervisorConsole.WriteLine(" guest ticks");
            for (int i = 0; i < policy.Count; i++)
            {
                var e = policy[i];
                HypervisorConsole.Write("  ");
                HypervisorConsole.Write(e.Name);
                HypervisorConsole.Write(": ");
                HypervisorConsole.WriteDecimal(e.Slices);
                HypervisorConsole.Write(e.CoreTicksAtArrival != 0 ? " slices, share since it arrived " : " slices, share ");
                WritePermille(core.SharePermille(e));
                HypervisorConsole.Write(" (configured ");
                WritePermille(core.ConfiguredSharePermille(e));
                HypervisorConsole.WriteLine(")");
            }
        }

        private static void WritePermille(ulong permille)
        {
            HypervisorConsole.WriteDecimal(permille / 10);
            HypervisorConsole.Write(".");
            HypervisorConsole.WriteDecimal(permille % 10);
            HypervisorConsole.Write("%");
        }

        private static bool PassesEntryChecks(VirtualCpu vcpu, int cpu)
        {
            int count = EntryChecks.Run(vcpu.Vmcs, cpu, Capabilities, s_violations);
            if (count == 0)
                return true;
            var vm = vcpu.Machine;
            HypervisorConsole.Write("*** partition ");
            HypervisorConsole.Write(vm.Name);
            HypervisorConsole.WriteLine(" not entered: the VMCS fails the pre-entry checks:");
            for (int i = 0; i < count; i++)
            {
                HypervisorConsole.Write("    ");
                HypervisorConsole.WriteLine(s_violations[i]);
            }
            Stop(vm, s_violations[0]);
            vcpu.Vmcs.Clear(cpu);
            return false;
        }

        private static void ReportEntryInstructionFailure(VirtualMachine vm, Vmcs vmcs, VmcsError error)
        {
            HypervisorConsole.Write("*** partition ");
            HypervisorConsole.Write(vm.Name);
            HypervisorConsole.Write(" not entered: ");
            HypervisorConsole.Write(Vmcs.Describe(error));
            if (error == VmcsError.FailValid)
            {
                HypervisorConsole.Write(", VM-instruction error ");
                HypervisorConsole.WriteDecimal((ulong)vmcs.LastInstructionError);
                HypervisorConsole.Write(" (");
                HypervisorConsole.Write(VmInstructionErrors.Describe(vmcs.LastInstructionError));
                HypervisorConsole.Write(")");
            }
            HypervisorConsole.WriteLine();
            Stop(vm, Vmcs.Describe(error));
        }

        /// <summary>Stops a partition for <paramref name="why"/>: its vCPUs leave their cores (<see cref="VirtualMachine.End"/>).</summary>
        public static void Stop(VirtualMachine vm, string why) => vm.End(VirtualMachineState.Stopped, why);

        // "; refused: 3 port accesses, 1 MSR access, 2 management hypercalls", or nothing.
        private static void WriteDenials(DenialLog denials)
        {
            if (denials.Total == 0)
                return;
            HypervisorConsole.Write("; refused:");
            string separator = " ";
            WriteCount(denials.Count(DenialKind.Port), " port access", " port accesses", ref separator);
            WriteCount(denials.Count(DenialKind.Msr), " MSR access", " MSR accesses", ref separator);
            WriteCount(denials.Count(DenialKind.Hypercall), " management hypercall", " management hypercalls", ref separator);
            WriteCount(denials.Count(DenialKind.Ipi), " IPI outside the partition", " IPIs outside the partition", ref separator);
        }

        private static void WriteCount(ulong count, string one, string several, ref string separator)
        {
            if (count == 0)
                return;
            HypervisorConsole.Write(separator);
            HypervisorConsole.WriteDecimal(count);
            HypervisorConsole.Write(count == 1 ? one : several);
            separator = ", ";
        }

        /// <summary>
        /// One line on a partition: its state, exits by reason, refusals. <paramref name="atEnd"/>:
        /// the run is over (a partition still runnable then was cut off by the time limit);
        /// otherwise these are live figures ('stats').
        /// </summary>
        public static void PrintSummary(VirtualMachine vm, bool atEnd)
        {
            HypervisorConsole.Write("Partition ");
            HypervisorConsole.Write(vm.Name);
            HypervisorConsole.Write(vm.State == VirtualMachineState.Halted ? " halted"
                : vm.State == VirtualMachineState.Stopped ? " stopped" : vm.Paused ? " paused"
                : atEnd ? " still runnable at the time limit" : " running");
            if (vm.State != VirtualMachineState.Runnable && vm.StopReason != null)
            {
                HypervisorConsole.Write(" (");
                HypervisorConsole.Write(vm.StopReason);
                HypervisorConsole.Write(")");
            }
            HypervisorConsole.Write("; exits:");
            ulong total = 0;
            for (int reason = 0; reason < ExitReasons.Count; reason++)
            {
                ulong n = vm.ExitCounts[reason];
                if (n == 0)
                    continue;
                total += n;
                HypervisorConsole.Write(" ");
                HypervisorConsole.Write(ExitReasons.Name(reason));
                HypervisorConsole.Write(" ");
                HypervisorConsole.WriteDecimal(n);
                HypervisorConsole.Write(",");
            }
            HypervisorConsole.Write(" total ");
            HypervisorConsole.WriteDecimal(total);
            ulong resumed = 0;
            foreach (var vcpu in vm.Vcpus)
                resumed += vcpu.ResumedAtOnce;
            if (resumed != 0)
            {
                HypervisorConsole.Write(", ");
                HypervisorConsole.WriteDecimal(resumed);
                HypervisorConsole.Write(" of them resumed at once");
            }
            if (vm.Scrubbed)
                HypervisorConsole.Write("; memory scrubbed");
            WriteDenials(vm.Denials);
            HypervisorConsole.WriteLine();
        }
    }
}
