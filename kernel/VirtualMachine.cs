using System;
using Partition.Devices;
using Partition.Memory;

namespace Partition.Kernel
{
    public enum VirtualMachineState
    {
        Runnable,
        /// <summary>The guest executed HLT with nothing left to wake it: it is done.</summary>
        Halted,
        /// <summary>The hypervisor stopped it: a fault, an entry failure, an exit with no handler.</summary>
        Stopped,
    }

    /// <summary>One vCPU: its VMCS and its register block.</summary>
    public sealed unsafe class VirtualCpu
    {
        public VirtualCpu(VirtualMachine machine, int index, Vmcs vmcs, GuestRegisters* registers)
        {
            Machine = machine;
            Index = index;
            Vmcs = vmcs;
            Registers = registers;
        }

        public VirtualMachine Machine { get; }
        public int Index { get; }
        public Vmcs Vmcs { get; }
        public GuestRegisters* Registers { get; }
        public bool Launched => Vmcs.LaunchState == VmcsLaunchState.Launched;

        /// <summary>The CPU whose host state (GDT, TSS, IDT) the VMCS holds; rewritten when it runs elsewhere.</summary>
        public int HostCpu { get; set; } = -1;

        /// <summary>The vCPU as its core's scheduler sees it.</summary>
        public Partition.Scheduler.SchedulerEntity Entity { get; set; }

        /// <summary>The core whose scheduler holds this vCPU.</summary>
        public int Core { get; set; }

        public int PreviousCore { get; set; }

        /// <summary>TSC of the migrate command until the destination first enters the guest; 0 otherwise.</summary>
        public ulong MigrationCommandTsc { get; set; }

        public ulong LastMigrationTicks { get; set; }

        private long _migrating;

        /// <summary>Claims the vCPU for one migration; false if one is already under way.</summary>
        public bool TryBeginMigration()
        {
            fixed (long* flag = &_migrating)
                return Cpu.CompareExchange(flag, 1, 0) == 0;
        }

        public void EndMigration()
        {
            fixed (long* flag = &_migrating)
                Cpu.CompareExchange(flag, 0, 1);
        }
    }

    /// <summary>
    /// A shared-memory region as one partition sees it: where it appears, what backs it, and
    /// whether this partition may write it (the config's "access"). Never executable.
    /// </summary>
    public readonly struct SharedMapping
    {
        public SharedMapping(string name, ulong guestPhysical, ulong hostPhysical, ulong size, bool writable)
        {
            Name = name;
            GuestPhysical = guestPhysical;
            HostPhysical = hostPhysical;
            Size = size;
            Writable = writable;
        }

        public string Name { get; }
        public ulong GuestPhysical { get; }
        public ulong HostPhysical { get; }
        public ulong Size { get; }
        public bool Writable { get; }

        public bool Contains(ulong guestPhysical) => guestPhysical >= GuestPhysical && guestPhysical - GuestPhysical < Size;
    }

    /// <summary>
    /// A partition as the hypervisor runs it: its RAM (one contiguous block of host memory,
    /// zeroed, mapped at guest-physical 0 by its own EPT), its vCPU, its virtual UART, its exit
    /// counters and its state.
    /// </summary>
    public sealed unsafe class VirtualMachine
    {
        /// <summary>PML4, PDPT and four page directories: the first 4 GiB identity mapped.</summary>
        public const ulong LongModePageTablesSize = 6 * 4096;

        private VirtualMachine(PartitionSpec spec) { Spec = spec; }

        public PartitionSpec Spec { get; }
        public string Name => Spec.Name;
        public GuestMode Mode => Spec.Mode;
        public ulong MemorySize => Spec.MemorySize;

        /// <summary>Where the guest starts (from the config for a flat binary, from the kernel for Multiboot).</summary>
        public ulong Entry { get; private set; }

        /// <summary>The Multiboot protocol the kernel was booted with, if any.</summary>
        public MultibootVersion Multiboot { get; private set; }

        /// <summary>Host-physical address of guest-physical 0.</summary>
        public ulong HostBase { get; private set; }

        public EptTables Ept { get; private set; }
        public VirtualCpu Cpu0 { get; private set; }
        /// <summary>The partition's virtual UART, or null if it has none.</summary>
        public VirtualUart16550 Uart { get; private set; }
        public VirtualMachineState State { get; set; }

        /// <summary>Paused from the console or by the host partition: not scheduled until resumed.</summary>
        public bool Paused { get; set; }
        public string StopReason { get; set; }
        public ulong[] ExitCounts { get; } = new ulong[ExitReasons.Count];
        /// <summary>Refused port, MSR and management accesses: counted, the first few reported.</summary>
        public DenialLog Denials { get; } = new DenialLog();

        /// <summary>Guest-physical address of the long-mode page tables (the top of RAM).</summary>
        public ulong PageTablesGuestPhysical => MemorySize - LongModePageTablesSize;

        /// <summary>Creates the partition: memory, image, EPT, vCPU with a configured VMCS on <paramref name="cpu"/>.</summary>
        public static bool TryCreate(PartitionSpec spec, ReadOnlySpan<byte> image, VmxCapabilities capabilities,
            ProcessorTables host, int cpu, out VirtualMachine machine, out string error) =>
            TryCreate(spec, image, ReadOnlySpan<GuestModule>.Empty, ReadOnlySpan<SharedMapping>.Empty, capabilities, host, cpu, out machine, out error);

        /// <summary>
        /// As above, with the modules a Multiboot kernel is given and the shared-memory regions
        /// its EPT maps beside its RAM (read-only or read-write, as declared; never executable).
        /// </summary>
        public static bool TryCreate(PartitionSpec spec, ReadOnlySpan<byte> image, ReadOnlySpan<GuestModule> modules, ReadOnlySpan<SharedMapping> shared,
            VmxCapabilities capabilities, ProcessorTables host, int cpu, out VirtualMachine machine, out string error)
        {
            machine = null;
            if (!spec.IsMultiboot && (ulong)image.Length > spec.MemorySize - spec.LoadAddress)
            {
                error = "the image does not fit between its load address and the end of the partition's memory";
                return false;
            }
            if (spec.Mode == GuestMode.Long64 && spec.LoadAddress + (ulong)image.Length > spec.MemorySize - LongModePageTablesSize)
            {
                error = "the image overlaps the page tables at the top of a long64 partition's memory";
                return false;
            }
            var vm = new VirtualMachine(spec);
            // Memory placed by the config was claimed before any partition was created
            // (PartitionHost.ClaimPlacedMemory); the rest comes 2 MiB aligned, which lets EPT
            // use large pages for the whole of RAM.
            ulong hostBase = spec.HostPhysical;
            ulong pages = spec.MemorySize / PhysicalMemory.PageSize;
            if (!spec.HasHostPhysical && (PageAllocator.Memory == null || !PageAllocator.Memory.TryAllocateAligned(pages, 1UL << 21, out hostBase)))
            {
                error = "not enough free physical memory for the partition";
                return false;
            }
            vm.HostBase = hostBase;
            // No data crosses between owners: the memory is zeroed before the guest sees it.
            byte* ram = (byte*)hostBase;
            Cpu.Zero(ram, spec.MemorySize);
            vm.KeepImage(image);
            vm._modules = modules.ToArray();
            if (!vm.LoadImage(out var multiboot, out error))
                return false;

            vm._shared = shared.ToArray();
            var mappings = new EptMapping[1 + shared.Length + spec.HostMmio.Length];
            mappings[0] = new EptMapping(0, hostBase, spec.MemorySize, EptAccess.All, EptMemoryType.WriteBack);
            for (int i = 0; i < shared.Length; i++)
                mappings[1 + i] = new EptMapping(shared[i].GuestPhysical, shared[i].HostPhysical, shared[i].Size,
                    shared[i].Writable ? EptAccess.ReadWrite : EptAccess.Read, EptMemoryType.WriteBack);
            for (int i = 0; i < spec.HostMmio.Length; i++)
                mappings[1 + shared.Length + i] = spec.HostMmio[i];
            EptError eptError = EptTables.TryBuild(mappings, capabilities.EptLargePages1G, out var ept);
            if (eptError != EptError.None)
            {
                error = EptTables.Describe(eptError);
                return false;
            }
            vm.Ept = ept;
            if (spec.HostPorts != null)
            {
                vm.IoBitmapA = PageAllocator.AllocateZeroedPage();
                vm.IoBitmapB = PageAllocator.AllocateZeroedPage();
                spec.HostPorts.FillBitmaps(new Span<byte>((void*)vm.IoBitmapA, 4096), new Span<byte>((void*)vm.IoBitmapB, 4096), spec.UartPort);
            }
            if (spec.UartPort >= 0)
                vm.Uart = new VirtualUart16550(spec.Name, (ushort)spec.UartPort);

            VmcsError vmcsError = Vmcs.Create(capabilities, cpu, out var vmcs);
            if (vmcsError != VmcsError.None)
            {
                error = Vmcs.Describe(vmcsError);
                return false;
            }
            var registers = (GuestRegisters*)PageAllocator.AllocateZeroedPage();
            vm.ResetRegisters(registers, multiboot);
            vm.Cpu0 = new VirtualCpu(vm, 0, vmcs, registers);
            if (!VmcsSetup.TryConfigure(vm.Cpu0, capabilities, host, cpu, out error))
                return false;
            // Written back and inactive, so that whichever CPU runs the partition can load it.
            vmcs.Clear(cpu);
            vm.Cpu0.HostCpu = cpu;
            vm.Cpu0.Core = spec.Core;
            machine = vm;
            return true;
        }

        // The image, for restart: boot modules stay reserved for the hypervisor's whole life, so
        // a large image is kept by address; a small one (a host test's array) is copied.
        private byte* _imageAddress;
        private byte[] _imageCopy;
        private int _imageLength;
        private GuestModule[] _modules;
        private const int CopyLimit = 256 * 1024;

        private void KeepImage(ReadOnlySpan<byte> image)
        {
            _imageLength = image.Length;
            if (image.Length <= CopyLimit)
            {
                _imageCopy = image.ToArray();
                return;
            }
            fixed (byte* p = image)
                _imageAddress = p;
        }

        private ReadOnlySpan<byte> Image => _imageCopy != null ? _imageCopy : new ReadOnlySpan<byte>(_imageAddress, _imageLength);

        // The image (flat, or a Multiboot kernel with its modules) into zeroed RAM; sets Entry.
        private bool LoadImage(out MultibootLoader.Result multiboot, out string error)
        {
            multiboot = default;
            byte* ram = (byte*)HostBase;
            if (Spec.IsMultiboot)
            {
                if (!MultibootLoader.TryLoad(Image, ram, Spec.MemorySize, Spec.CommandLine, _modules, out multiboot, out error))
                    return false;
                Entry = multiboot.Entry;
            }
            else
            {
                var image = Image;
                for (int i = 0; i < image.Length; i++)
                    ram[Spec.LoadAddress + (ulong)i] = image[i];
                Entry = Spec.Entry;
            }
            if (Spec.Mode == GuestMode.Long64)
                BuildIdentityPageTables();
            error = null;
            return true;
        }

        private void ResetRegisters(GuestRegisters* registers, MultibootLoader.Result multiboot)
        {
            for (int i = 0; i < GuestRegisters.Size / 8; i++)
                ((ulong*)registers)[i] = 0;
            GuestRegisters.InitializeFxsave(registers);
            if (Spec.IsMultiboot)
            {
                // The Multiboot hand-over: magic in EAX, boot information in EBX.
                registers->Rax = multiboot.Magic;
                registers->Rbx = multiboot.InformationAddress;
                Multiboot = multiboot.Version;
            }
        }

        /// <summary>
        /// Boots a halted or stopped partition again from its image: scrubbed memory, the image
        /// reloaded, fresh registers and a freshly configured VMCS (configured on
        /// <paramref name="cpu"/>, whose host state it then holds; written back and clear). The
        /// caller puts it back on its core's schedule.
        /// </summary>
        public bool TryRestart(int cpu, out string error)
        {
            Scrub();
            Scrubbed = false;
            if (!LoadImage(out var multiboot, out error))
                return false;
            ResetRegisters(Cpu0.Registers, multiboot);
            Uart?.Reset();
            if (!VmcsSetup.TryConfigure(Cpu0, PartitionHost.Capabilities, PartitionHost.TablesOf(cpu), cpu, out error))
                return false;
            Cpu0.Vmcs.Clear(cpu);
            Cpu0.HostCpu = cpu;
            for (int i = 0; i < ExitCounts.Length; i++)
                ExitCounts[i] = 0;
            Denials.Reset();
            StopReason = null;
            Paused = false;
            Restarts++;
            State = VirtualMachineState.Runnable;
            return true;
        }

        public int Restarts { get; private set; }

        /// <summary>The I/O bitmaps of a partition with port pass-through (the host partition); 0 for the shared deny-all pair.</summary>
        public ulong IoBitmapA { get; private set; }
        public ulong IoBitmapB { get; private set; }

        private SharedMapping[] _shared = new SharedMapping[0];

        /// <summary>The shared-memory regions mapped into this partition. Not scrubbed when it stops: the other sides still use them.</summary>
        public ReadOnlySpan<SharedMapping> Shared => _shared;

        /// <summary>The shared region at <paramref name="guestPhysical"/>, if any.</summary>
        public bool TryFindShared(ulong guestPhysical, out SharedMapping region)
        {
            foreach (var s in _shared)
            {
                if (s.Contains(guestPhysical))
                {
                    region = s;
                    return true;
                }
            }
            region = default;
            return false;
        }

        // PML4, PDPT and four PDs at the top of RAM: guest-physical 0..4 GiB identity mapped with
        // 2 MiB pages, so that an access anywhere below 4 GiB (MMIO included) reaches the EPT,
        // which backs only the partition's RAM (the rest is an EPT violation, as it should be).
        private void BuildIdentityPageTables()
        {
            ulong tables = PageTablesGuestPhysical;
            ulong* pml4 = (ulong*)(HostBase + tables);
            ulong* pdpt = (ulong*)(HostBase + tables + 0x1000);
            pml4[0] = (tables + 0x1000) | 0x3;
            for (ulong d = 0; d < 4; d++)
            {
                ulong directory = tables + 0x2000 + d * 0x1000;
                pdpt[d] = directory | 0x3;
                ulong* pd = (ulong*)(HostBase + directory);
                for (ulong i = 0; i < 512; i++)
                    pd[i] = (d << 30) | (i << 21) | 0x83;
            }
        }

        /// <summary>
        /// Zeroes the partition's RAM. Done when it stops, so that nothing it held survives into
        /// whatever gets that memory next (memory is also zeroed before a partition first runs).
        /// </summary>
        public void Scrub()
        {
            Cpu.Zero((void*)HostBase, MemorySize);
            Scrubbed = true;
        }

        public bool Scrubbed { get; private set; }

        /// <summary>Host pointer to guest-physical memory, or null if the range is not all RAM.</summary>
        public byte* GuestPointer(ulong guestPhysical, ulong length)
        {
            if (guestPhysical >= MemorySize || length > MemorySize - guestPhysical)
                return null;
            return (byte*)(HostBase + guestPhysical);
        }
    }
}
