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

    /// <summary>One block of a partition's RAM: where the guest sees it and the host memory behind it.</summary>
    public readonly struct RamRegion
    {
        public RamRegion(ulong guestPhysical, ulong hostPhysical, ulong size)
        {
            GuestPhysical = guestPhysical;
            HostPhysical = hostPhysical;
            Size = size;
        }

        public ulong GuestPhysical { get; }
        public ulong HostPhysical { get; }
        public ulong Size { get; }
        public ulong GuestEnd => GuestPhysical + Size;

        /// <summary>True if [guestPhysical, + length) lies wholly inside the block.</summary>
        public bool Contains(ulong guestPhysical, ulong length) =>
            guestPhysical >= GuestPhysical && guestPhysical - GuestPhysical < Size && length <= Size - (guestPhysical - GuestPhysical);
    }

    /// <summary>
    /// A partition as the hypervisor runs it: its RAM (zeroed, mapped by its own EPT: one
    /// contiguous block at guest-physical 0, or for a Linux host partition the blocks it owns at
    /// their own addresses, <see cref="PartitionSpec.IdentityMapped"/>), its vCPUs, its virtual
    /// devices, its exit counters and its state.
    /// </summary>
    public sealed unsafe class VirtualMachine : IInterruptSink
    {
        /// <summary>PML4, PDPT and four page directories: the first 4 GiB identity mapped.</summary>
        public const ulong LongModePageTablesSize = FlatImage.LongModePageTablesSize;

        private VirtualMachine(PartitionSpec spec) { Spec = spec; }

        public PartitionSpec Spec { get; }

        /// <summary>The partition's position in the configuration (the management hypercalls' partition number), whether or not those before it started.</summary>
        public int ConfigIndex { get; set; }
        public string Name => Spec.Name;
        public GuestMode Mode => Spec.Mode;
        public ulong MemorySize => Spec.MemorySize;

        /// <summary>Where the guest starts (from the config for a flat binary, from the kernel for Multiboot).</summary>
        public ulong Entry { get; private set; }

        /// <summary>The state vCPU 0 starts in, as the boot protocol hands it over.</summary>
        public GuestStartState StartState
        {
            get
            {
                if (Spec.IsLinux)
                {
                    return new GuestStartState
                    {
                        Mode = GuestMode.Long64,
                        Rip = _linux.Rip,
                        Cr3 = _linux.Cr3,
                        CodeSelector = _linux.CodeSelector,
                        DataSelector = _linux.DataSelector,
                        GdtBase = _linux.GdtBase,
                        GdtLimit = _linux.GdtLimit,
                    };
                }
                bool long64 = Mode == GuestMode.Long64;
                return new GuestStartState
                {
                    Mode = Mode,
                    Rip = Entry,
                    Rsp = long64 ? PageTablesGuestPhysical : Mode == GuestMode.Real ? 0xFFF0 : MemorySize - 16,
                    Cr3 = long64 ? PageTablesGuestPhysical : 0,
                    CodeSelector = (ushort)(Mode == GuestMode.Real ? 0 : 0x08),
                    DataSelector = (ushort)(Mode == GuestMode.Real ? 0 : 0x10),
                    GdtLimit = 0xFFFF,
                };
            }
        }

        /// <summary>The Multiboot protocol the kernel was booted with, if any.</summary>
        public MultibootVersion Multiboot { get; private set; }

        /// <summary>Host-physical address of guest-physical 0; for an identity-mapped partition, of its main block.</summary>
        public ulong HostBase { get; private set; }

        private RamRegion[] _ram = new RamRegion[0];

        /// <summary>Its RAM, block by block in guest-physical order.</summary>
        public ReadOnlySpan<RamRegion> Ram => _ram;

        /// <summary>The end of its highest block of RAM (guest-physical).</summary>
        public ulong RamTop => _ram.Length == 0 ? 0 : _ram[_ram.Length - 1].GuestEnd;

        /// <summary>True if the guest-physical byte at <paramref name="guestPhysical"/> is the partition's RAM.</summary>
        public bool IsRam(ulong guestPhysical) => GuestPointer(guestPhysical, 1) != null;

        public EptTables Ept { get; private set; }

        /// <summary>The vCPUs, by index (= APIC ID); vCPU 0 is the bootstrap processor.</summary>
        public VirtualCpu[] Vcpus { get; private set; }

        /// <summary>The bootstrap processor.</summary>
        public VirtualCpu Cpu0 => Vcpus[0];
        /// <summary>The partition's virtual UART, or null if it has none.</summary>
        public VirtualUart16550 Uart { get; private set; }

        /// <summary>The virtual platform of a Linux partition, as its ACPI tables describe it.</summary>
        public AcpiPlatform Platform { get; private set; }

        /// <summary>Its virtual I/O APIC (Linux partitions), or null.</summary>
        public VirtualIoApic IoApic { get; private set; }

        /// <summary>Its ACPI sleep and reset registers (Linux partitions), or null.</summary>
        public VirtualPowerControl Power { get; private set; }

        /// <summary>Its ACPI PM timer (Linux-boot guest partitions, where the FADT names it), or null.</summary>
        public VirtualPmTimer PmTimer { get; private set; }

        /// <summary>A Linux host partition's register-only 8259 pair (ports 0x20/0x21, 0xA0/0xA1), or null.</summary>
        public VirtualPic8259 Pic { get; private set; }

        /// <summary>Its CMOS real-time clock at ports 0x70/0x71 (every partition has one), started from the hypervisor's <see cref="WallClock"/>.</summary>
        public VirtualRtc Rtc { get; private set; }

        /// <summary>
        /// Held around every access to the partition's device models (UART, I/O APIC, power
        /// control, RTC), which its vCPUs on several cores, and the console, reach concurrently.
        /// </summary>
        public PlainSpinLock DeviceLock { get; } = new PlainSpinLock();
        public VirtualMachineState State { get; set; }

        /// <summary>Paused from the console or by the host partition: not scheduled until resumed.</summary>
        public bool Paused { get; set; }
        public string StopReason { get; set; }
        /// <summary>Its exits by basic reason: the sum of its vCPUs' counters.</summary>
        public ExitCountsView ExitCounts => new ExitCountsView(this);

        /// <summary>
        /// A partition's exit counts, summed over its vCPUs when read: each vCPU counts its own
        /// exits on its own core (<see cref="VirtualCpu.ExitCounts"/>), so two cores never
        /// increment one counter (an increment without a lock could be lost, and the line would
        /// bounce between the cores).
        /// </summary>
        public readonly struct ExitCountsView
        {
            private readonly VirtualMachine _vm;

            public ExitCountsView(VirtualMachine vm) => _vm = vm;

            public int Length => ExitReasons.Count;

            public ulong this[int reason]
            {
                get
                {
                    ulong sum = 0;
                    foreach (var vcpu in _vm.Vcpus)
                        sum += vcpu.ExitCounts[reason];
                    return sum;
                }
            }
        }
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
            // A flat binary's place is checked before any memory is taken ('partition check
            // --images' runs the same check); Multiboot and Linux loaders check their own.
            if (!spec.IsMultiboot && !spec.IsLinux && (!FlatImage.Fits((ulong)image.Length, spec.LoadAddress, spec.MemorySize, spec.Mode == GuestMode.Long64, out error)
                || !FlatImage.EntryInside(spec.Entry, (ulong)image.Length, spec.LoadAddress, out error)))
                return false;
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
            if (!vm.PlaceRam(hostBase, out error))
                return false;
            // No data crosses between owners: the memory is zeroed before the guest sees it.
            vm.ZeroRam();
            vm.KeepImage(image);
            vm._modules = modules.ToArray();
            if (!vm.LoadImage(out var multiboot, out error))
                return false;

            vm._shared = shared.ToArray();
            int blocks = vm._ram.Length;
            ReadOnlySpan<EptMapping> hostMmio = spec.HostMmio;
            if (vm.HostAcpi != null)
            {
                // What the machine's ACPI tables show the host must not reach directly: the I/O
                // APICs (its own is emulated), IOMMU registers, the ECAM windows.
                var kept = HostPassThrough.Exclude(spec.HostMmio, vm.HostAcpi.HostEptExclusions);
                hostMmio = kept;
                if (kept == null)
                {
                    error = "its device space, less what it must not reach, needs more than 64 EPT ranges";
                    return false;
                }
            }
            // An identity-mapped host also reaches the firmware's page 0 (HostMemoryMap.FirmwarePageEnd).
            int firmwarePage = spec.IdentityMapped ? 1 : 0;
            var mappings = new EptMapping[blocks + shared.Length + hostMmio.Length + firmwarePage];
            if (firmwarePage != 0)
                mappings[mappings.Length - 1] = new EptMapping(0, 0, HostMemoryMap.FirmwarePageEnd, EptAccess.ReadWrite, EptMemoryType.WriteBack);
            for (int i = 0; i < blocks; i++)
                mappings[i] = new EptMapping(vm._ram[i].GuestPhysical, vm._ram[i].HostPhysical, vm._ram[i].Size, EptAccess.All, EptMemoryType.WriteBack);
            for (int i = 0; i < shared.Length; i++)
                mappings[blocks + i] = new EptMapping(shared[i].GuestPhysical, shared[i].HostPhysical, shared[i].Size,
                    shared[i].Writable ? EptAccess.ReadWrite : EptAccess.Read, EptMemoryType.WriteBack);
            for (int i = 0; i < hostMmio.Length; i++)
                mappings[blocks + shared.Length + i] = hostMmio[i];
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
            // Every partition, the host partition too, has a clock of its own: none reaches the machine's.
            vm.Rtc = new VirtualRtc(WallClock.Reference);
            if (spec.IsLinux && vm.HostAcpi != null)
            {
                // The machine's platform: its first I/O APIC, where the MADT puts it and with its
                // ID, emulated (and backed by the real one's pins); the UART on ISA IRQ 4.
                var ioApic = vm.HostAcpi.IoApics[0];
                vm.Platform = new AcpiPlatform
                {
                    VcpuCount = spec.Vcpus.Length,
                    HasIoApic = true,
                    IoApicAddress = ioApic.Address,
                    UartPort = spec.UartPort >= 0 ? (ushort)spec.UartPort : (ushort)0,
                };
                vm.IoApic = new VirtualIoApic(ioApic.Id, vm);
                vm.Uart?.ConnectInterrupt(vm.IoApic, AcpiPlatform.UartGsi);
                // The 8259s it expects, register-only; the machine's stay masked.
                vm.Pic = new VirtualPic8259();
                // Its management line, COM2 on ISA IRQ 3.
                vm.ManagementLine = new ManagementChannel(spec.Name, vm.DeviceLock);
                vm.ManagementLine.Uart.ConnectInterrupt(vm.IoApic, ManagementChannel.Irq);
                if (vm.IoBitmapA != 0)
                {
                    var a = new Span<byte>((void*)vm.IoBitmapA, 4096);
                    var b = new Span<byte>((void*)vm.IoBitmapB, 4096);
                    HostPorts.Trap(a, b, new IoPortRange(VirtualPic8259.MasterCommand, 2));
                    HostPorts.Trap(a, b, new IoPortRange(VirtualPic8259.SlaveCommand, 2));
                    HostPorts.Trap(a, b, new IoPortRange(ManagementChannel.Port, VirtualUart16550.PortCount));
                }
                // The machine's reset and power lines: the host asks, the hypervisor decides.
                vm.PowerLines = new HostPowerLines(vm.HostAcpi.HasFadt ? vm.HostAcpi.Fadt : default, vm.HostAcpi.S5SleepType, new MachinePorts());
                if (vm.IoBitmapA != 0)
                {
                    Span<IoPortRange> lines = stackalloc IoPortRange[HostPowerLines.MaxPorts];
                    int count = vm.PowerLines.Ports(lines);
                    for (int i = 0; i < count; i++)
                        HostPorts.Trap(new Span<byte>((void*)vm.IoBitmapA, 4096), new Span<byte>((void*)vm.IoBitmapB, 4096), lines[i]);
                }
            }
            else if (spec.IsLinux)
            {
                // The platform its ACPI tables describe: an I/O APIC with the UART on GSI 4,
                // and the FADT's power registers.
                vm.Platform = AcpiPlatform.Create(spec.Vcpus.Length, spec.UartPort >= 0 ? (ushort)spec.UartPort : (ushort)0);
                vm.IoApic = new VirtualIoApic(vm.Platform.IoApicId, vm);
                vm.Uart?.ConnectInterrupt(vm.IoApic, AcpiPlatform.UartGsi);
                vm.Power = new VirtualPowerControl(vm.Platform);
                // At the TSC's rate as CPUID leaf 0x15 reports it to the guest, so that the
                // two agree for anything calibrating one against the other (memtest86+).
                if (vm.Platform.HasPmTimer)
                    vm.PmTimer = new VirtualPmTimer(vm.Platform.PmTimerPort, Tsc.TicksPerMillisecond * 1000, Tsc.Now);
            }

            vm.Vcpus = new VirtualCpu[spec.Vcpus.Length];
            for (int i = 0; i < vm.Vcpus.Length; i++)
            {
                VmcsError vmcsError = Vmcs.Create(capabilities, cpu, out var vmcs);
                if (vmcsError != VmcsError.None)
                {
                    error = Vmcs.Describe(vmcsError);
                    return false;
                }
                var vcpu = new VirtualCpu(vm, i, vmcs, (GuestRegisters*)PageAllocator.AllocateZeroedPage())
                {
                    Name = vm.Vcpus.Length == 1 ? spec.Name : new TextBuffer().Append(spec.Name).Append(".").AppendDecimal((ulong)i).ToString(),
                    Core = spec.Vcpus[i].Core,
                };
                vm.Vcpus[i] = vcpu;
            }
            if (!vm.ResetVcpus(multiboot, capabilities, host, cpu, out error))
                return false;
            machine = vm;
            return true;
        }

        // Its RAM: the block at guest-physical 0; or, identity mapped, the block at its own
        // address and the firmware's usable RAM below 640 KiB.
        private bool PlaceRam(ulong hostBase, out string error)
        {
            error = null;
            if (!Spec.IdentityMapped)
            {
                _ram = new[] { new RamRegion(0, hostBase, Spec.MemorySize) };
                return true;
            }
            var firmware = Spec.Firmware;
            if (firmware == null)
            {
                error = "an identity-mapped partition needs the machine's memory map";
                return false;
            }
            Span<PhysicalRange> low = stackalloc PhysicalRange[8];
            int lowCount = HostMemoryMap.LowRam(firmware.MemoryMap, firmware.BootInformation, low);
            if (lowCount <= 0)
            {
                error = "the firmware reports no usable RAM below 640 KiB, where Linux must put its real-mode trampoline";
                return false;
            }
            _ram = new RamRegion[lowCount + 1];
            for (int i = 0; i < lowCount; i++)
                _ram[i] = new RamRegion(low[i].Start, low[i].Start, low[i].Length);
            _ram[lowCount] = new RamRegion(hostBase, hostBase, Spec.MemorySize);
            return true;
        }

        private void ZeroRam()
        {
            foreach (var block in _ram)
                Cpu.Zero((void*)block.HostPhysical, block.Size);
        }

        /// <summary>
        /// Every vCPU in its start state: vCPU 0 at the image's entry, the others parked until
        /// a start-up IPI (as application processors are after reset); each VMCS configured on
        /// <paramref name="cpu"/> (whose host state it then holds), then written back and
        /// cleared so that whichever CPU runs the vCPU can load it.
        /// </summary>
        private bool ResetVcpus(MultibootLoader.Result multiboot, VmxCapabilities capabilities, ProcessorTables host, int cpu, out string error)
        {
            _vcpusOnCores = Vcpus.Length;
            _parked = Vcpus.Length - 1;
            foreach (var vcpu in Vcpus)
            {
                ResetRegisters(vcpu.Registers, vcpu.Index == 0 ? multiboot : default);
                vcpu.Lapic.PowerOn();
                vcpu.Msrs.Reset();
                vcpu.Msrs.TscAdjust = vcpu.TscOffset = 0;
                vcpu.WaitingForStartup = vcpu.Index != 0;
                vcpu.Activity = vcpu.Index == 0 ? VcpuActivity.Running : VcpuActivity.Parked;
                if (!VmcsSetup.TryConfigure(vcpu, capabilities, host, cpu, out error))
                    return false;
                vcpu.Vmcs.Clear(cpu);
                vcpu.HostCpu = cpu;
            }
            error = null;
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

        // The image (flat, a Multiboot kernel with its modules, or a Linux bzImage with its
        // initrd, ACPI tables and e820 map) into zeroed RAM; sets Entry.
        private bool LoadImage(out MultibootLoader.Result multiboot, out string error)
        {
            multiboot = default;
            byte* ram = (byte*)HostBase;
            if (Spec.IsLinux)
                return Spec.IdentityMapped ? LoadHostLinux(out error) : LoadLinux(ram, out error);
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

        /// <summary>
        /// A Linux partition's boot: the ACPI tables of its virtual platform at 0xE0000 (a
        /// reserved range of its e820 map, where a legacy scan also finds the RSDP), then the
        /// kernel and initrd by the 64-bit boot protocol with boot_params naming the RSDP.
        /// </summary>
        private bool LoadLinux(byte* ram, out string error)
        {
            var platform = AcpiPlatform.Create(Spec.Vcpus.Length, Spec.UartPort >= 0 ? (ushort)Spec.UartPort : (ushort)0);
            ulong areaSize = LinuxBoot.AcpiAreaEnd - LinuxBoot.AcpiAreaStart;
            int used = AcpiTables.Build(new Span<byte>(ram + LinuxBoot.AcpiAreaStart, (int)areaSize), LinuxBoot.AcpiAreaStart, platform, out ulong rsdp);
            if (used < 0)
            {
                error = string.Concat("its ACPI tables cannot be built: ", AcpiTables.Check(platform) ?? "they do not fit below 1 MiB");
                return false;
            }
            Span<E820Entry> map = stackalloc E820Entry[LinuxBoot.GuestMemoryMapEntries];
            int entries = LinuxBoot.GuestMemoryMap(MemorySize, map);
            byte* initrd = null;
            ulong initrdSize = 0;
            if (_modules.Length > 0)
            {
                initrd = (byte*)_modules[0].HostAddress;
                initrdSize = _modules[0].Size;
            }
            if (!LinuxBoot.TryLoad(Image, initrd, initrdSize, Spec.CommandLine, ram, MemorySize, map.Slice(0, entries), rsdp, out _linux, out error))
                return false;
            Entry = _linux.Rip;
            return true;
        }

        /// <summary>Bytes at the top of a Linux host partition's main block for its ACPI tables (RSDP, XSDT, MADT).</summary>
        public const ulong HostAcpiAreaSize = 16 * 1024;

        /// <summary>The inputs of its I/O APIC that its virtual devices drive (bit n: input n); the others of a host partition's are the machine's devices'.</summary>
        public uint VirtualDevicePins => (Uart != null ? 1u << AcpiPlatform.UartGsi : 0) | (ManagementLine != null ? 1u << ManagementChannel.Irq : 0);

        /// <summary>A Linux host partition's view of the machine's reset and power lines, or null.</summary>
        public HostPowerLines PowerLines { get; private set; }

        /// <summary>A Linux host partition's management line (COM2), or null.</summary>
        public ManagementChannel ManagementLine { get; private set; }

        /// <summary>A Linux host partition's ACPI view: the tables it was given and what they leave for the hypervisor to enforce.</summary>
        public HostAcpiView HostAcpi { get; private set; }

        /// <summary>
        /// A Linux host partition's boot, on the machine's own description: the firmware's ACPI
        /// tables with a MADT of its vCPUs (and without the IOMMU's) in the top pages of its
        /// RAM, the firmware's memory map with everything not its own reserved, then the kernel
        /// and initrd by the 64-bit boot protocol. Its RAM is identity mapped, so the loader
        /// writes at the guest-physical addresses themselves.
        /// </summary>
        private bool LoadHostLinux(out string error)
        {
            var firmware = Spec.Firmware;
            ulong areaPhysical = HostBase + Spec.MemorySize - HostAcpiAreaSize;
            var memory = new IdentityMappedMemory(IdentityMappedMemory.BootMappingLimit);
            var area = new Span<byte>((void*)areaPhysical, (int)HostAcpiAreaSize);
            if (!Kernel.HostAcpi.TryBuild(ref memory, firmware.Rsdp, Vcpus == null ? Spec.Vcpus.Length : Vcpus.Length, area, areaPhysical, out var view, out error))
            {
                error = string.Concat("its ACPI tables cannot be built from the firmware's: ", error);
                return false;
            }
            if (view.IoApics.Length == 0)
            {
                error = "the firmware's MADT lists no I/O APIC, through which the host partition's devices would interrupt it";
                return false;
            }
            HostAcpi = view;
            // Its configuration accesses cannot reach MSI or MSI-X (HostPorts): none stays enabled from before.
            Spec.HostPorts?.DisableMessageInterrupts();
            Span<PhysicalRange> ram = stackalloc PhysicalRange[_ram.Length];
            for (int i = 0; i < _ram.Length; i++)
                ram[i] = new PhysicalRange(_ram[i].HostPhysical, _ram[i].HostPhysical + _ram[i].Size);
            Span<E820Entry> map = stackalloc E820Entry[LinuxBoot.MaxE820Entries];
            int entries = HostMemoryMap.Build(firmware.MemoryMap, ram, new PhysicalRange(areaPhysical, areaPhysical + HostAcpiAreaSize), map);
            if (entries < 0)
            {
                error = "its e820 map would have more than 128 entries (the firmware's map is too fragmented)";
                return false;
            }
            byte* initrd = null;
            ulong initrdSize = 0;
            if (_modules.Length > 0)
            {
                initrd = (byte*)_modules[0].HostAddress;
                initrdSize = _modules[0].Size;
            }
            if (!LinuxBoot.TryLoad(Image, initrd, initrdSize, Spec.CommandLine, null, RamTop, map.Slice(0, entries), view.Rsdp, out _linux, out error))
                return false;
            Entry = _linux.Rip;
            return true;
        }

        // The hand-over state of the last Linux load (vCPU 0's registers and segments).
        private LinuxBootState _linux;

        private void ResetRegisters(GuestRegisters* registers, MultibootLoader.Result multiboot)
        {
            GuestRegisters.Reset(registers);
            if (Spec.IsLinux)
                registers->Rsi = _linux.Rsi; // boot_params
            if (Spec.IsMultiboot && multiboot.Magic != 0)
            {
                // The Multiboot hand-over: magic in EAX, boot information in EBX.
                registers->Rax = multiboot.Magic;
                registers->Rbx = multiboot.InformationAddress;
                Multiboot = multiboot.Version;
            }
        }

        /// <summary>
        /// Boots a halted or stopped partition again from its image: scrubbed memory, the image
        /// reloaded, fresh registers and freshly configured VMCSs for every vCPU (configured on
        /// <paramref name="cpu"/>, whose host state they then hold; written back and clear). Every
        /// vCPU must have left its core. The caller puts them back on their cores' schedules.
        /// </summary>
        public bool TryRestart(int cpu, out string error)
        {
            Scrub();
            Scrubbed = false;
            if (!LoadImage(out var multiboot, out error))
                return false;
            Uart?.Reset();
            Rtc.Reset();
            PmTimer?.Reset(Tsc.Now);
            IoApic?.Reset();
            Pic?.Reset();
            ManagementLine?.Reset();
            if (!ResetVcpus(multiboot, PartitionHost.Capabilities, PartitionHost.TablesOf(cpu), cpu, out error))
                return false;
            foreach (var vcpu in Vcpus)
            {
                vcpu.ExitCounts.Clear();
                vcpu.ResumedAtOnce = 0;
            }
            Denials.Reset();
            StopReason = null;
            RestartWhenDown = false;
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
            ZeroRam();
            Scrubbed = true;
        }

        public bool Scrubbed { get; private set; }

        // vCPUs still on their cores' schedules since the partition last started, and vCPUs
        // parked (HLT with interrupts off, or never started): changed from several cores.
        private long _vcpusOnCores;
        private long _parked;

        /// <summary>A vCPU has left its core (its partition halted or was stopped); true for the last one.</summary>
        public bool VcpuLeft()
        {
            return Cpu.AtomicAdd(ref _vcpusOnCores, -1) == 1;
        }

        /// <summary>True while some vCPU of a halted or stopped partition is still on its core.</summary>
        public bool VcpusStillOnCores
        {
            get
            {
                return Cpu.CompareExchange(ref _vcpusOnCores, 0, 0) != 0;
            }
        }

        /// <summary>
        /// A vCPU parks (HLT with interrupts off): when it is the last of its partition to do
        /// so, nothing inside the partition can wake any of them, and the partition has halted.
        /// </summary>
        public void Park(VirtualCpu vcpu)
        {
            if (vcpu.Activity == VcpuActivity.Parked)
                return;
            vcpu.Activity = VcpuActivity.Parked;
            if (Cpu.AtomicAdd(ref _parked, 1) + 1 == Vcpus.Length && State == VirtualMachineState.Runnable)
                State = VirtualMachineState.Halted;
        }

        /// <summary>
        /// Routes an IPI from <paramref name="source"/>'s local APIC to the vCPUs it addresses
        /// (SDM Vol. 3A, 11.6): by shorthand, or by destination among this partition's own
        /// vCPUs only. An IPI that addresses no vCPU of the partition is dropped and counted:
        /// APIC IDs outside it are other partitions' or nobody's, never reachable from here.
        /// </summary>
        public void SendIpi(VirtualCpu source, int cpu, in InterruptMessage ipi, IpiShorthand shorthand)
        {
            if (shorthand == IpiShorthand.Self)
            {
                Deliver(source, cpu, ipi);
                return;
            }
            bool delivered = false;
            foreach (var target in Vcpus)
            {
                bool addressed = shorthand == IpiShorthand.AllIncludingSelf
                    || shorthand == IpiShorthand.AllExcludingSelf && target != source
                    || shorthand == IpiShorthand.None && target.Lapic.IsAddressedBy(ipi.Destination, ipi.Logical);
                if (!addressed)
                    continue;
                Deliver(target, cpu, ipi);
                delivered = true;
                // Lowest priority picks one of those addressed (the first is as good as any).
                if (ipi.Mode == DeliveryMode.LowestPriority)
                    break;
            }
            if (!delivered && shorthand == IpiShorthand.None)
                Management.ReportDenial(this, DenialKind.Ipi, ipi.Logical ? "IPI to logical destination " : "IPI to APIC ID ", ipi.Destination, 8,
                    ipi.Logical ? " dropped: it names no vCPU of this partition" : " dropped: no vCPU of this partition has that ID");
        }

        /// <summary>
        /// Posts an interrupt to a vCPU's local APIC. If the vCPU is on another core, that core
        /// is told (<see cref="CoreRunner.InterruptPosted"/>): kicked if the vCPU may be in its
        /// guest there, asked to end a neighbour's slice if it waits in HLT on a shared core.
        /// </summary>
        public void Deliver(VirtualCpu target, int cpu, in InterruptMessage message)
        {
            Deliveries++;
            target.Lapic.Post(message);
            if (target.Core != cpu)
                CoreRunner.Of(target.Core)?.InterruptPosted(target);
        }

        /// <summary>
        /// Interrupts posted to the partition's vCPUs, counted before each post: an exit handler
        /// that finds the count as it was has posted none (to the vCPU it runs for among them).
        /// Incremented without a lock by every CPU: counts may be lost, but never so that the
        /// count returns to a value it had before (it only grows).
        /// </summary>
        public ulong Deliveries;

        /// <summary>A vCPU ended a level-triggered interrupt: the I/O APIC may deliver that pin again.</summary>
        public void EndOfInterrupt(byte vector)
        {
            if (IoApic == null)
                return;
            DeviceLock.Enter();
            IoApic.EndOfInterrupt(vector);
            DeviceLock.Exit();
        }

        /// <summary>
        /// An interrupt from the partition's I/O APIC (called under <see cref="DeviceLock"/>, on
        /// whichever CPU changed a device's state): to the vCPUs its destination names, among
        /// this partition's only. A destination that names none of them is dropped.
        /// </summary>
        void IInterruptSink.Deliver(in InterruptMessage message)
        {
            int cpu = Smp.CurrentCpu;
            bool delivered = false;
            foreach (var target in Vcpus)
            {
                if (!target.Lapic.IsAddressedBy(message.Destination, message.Logical))
                    continue;
                Deliver(target, cpu, message);
                delivered = true;
                if (message.Mode == DeliveryMode.LowestPriority)
                    break;
            }
            // A redirection entry that names no vCPU of the partition (another core's APIC ID, say).
            if (!delivered)
                Management.ReportDenial(this, DenialKind.Ipi, message.Logical ? "I/O APIC interrupt to logical destination " : "I/O APIC interrupt to APIC ID ",
                    message.Destination, 8, message.Logical ? " dropped: it names no vCPU of this partition" : " dropped: no vCPU of this partition has that ID");
        }

        /// <summary>
        /// The guest turned itself off (ACPI S5) or asked for a reset: the partition halts, its
        /// vCPUs leave their cores, and on a reset it boots again once the last has left.
        /// </summary>
        public void PowerDown(bool reset)
        {
            if (State != VirtualMachineState.Runnable)
                return;
            RestartWhenDown = reset;
            End(VirtualMachineState.Halted, reset ? "reset itself (ACPI reset register); booting again" : "powered itself off (ACPI S5)");
        }

        /// <summary>
        /// Ends the partition's run, stopped or halted, for <paramref name="reason"/>: every core
        /// holding one of its vCPUs is asked to take note, and a guest running there exits (a
        /// kick; on this CPU the note waits in its own mailbox). Without the kick a vCPU of
        /// the partition on another core, in a guest that never exits by itself, would go on
        /// running after its partition had ended, keeping it from being scrubbed or restarted.
        /// </summary>
        public void End(VirtualMachineState state, string reason)
        {
            State = state;
            StopReason = reason;
            NoticeEveryCore();
        }

        /// <summary>
        /// Every core holding one of its vCPUs takes note of a change of the partition's state
        /// (its sweep looks at them again), and a guest running there exits at once (a kick).
        /// </summary>
        public void NoticeEveryCore()
        {
            foreach (var vcpu in Vcpus)
                CoreRunner.Of(vcpu.Core)?.Post(new CoreRequest { Kind = CoreRequestKind.Notice, Vcpu = vcpu });
        }

        private long _vcpusPausedOff;

        /// <summary>Pauses or resumes the partition: its cores' sweeps see it, and note each vCPU off its core (<see cref="NotePausedOff"/>).</summary>
        public void BeginPauseOrResume(bool pause)
        {
            foreach (var vcpu in Vcpus)
                vcpu.PausedOff = false;
            Cpu.CompareExchange(ref _vcpusPausedOff, 0, _vcpusPausedOff);
            PauseCommandTsc = Tsc.Now;
            Paused = pause;
        }

        /// <summary>When the last pause or resume was asked for (for the latency the "paused" report gives).</summary>
        public ulong PauseCommandTsc { get; private set; }

        /// <summary>A core's sweep found a vCPU of this paused partition off its core; true for the last of them.</summary>
        public bool NotePausedOff(VirtualCpu vcpu)
        {
            if (vcpu.PausedOff)
                return false;
            vcpu.PausedOff = true;
            return Cpu.AtomicAdd(ref _vcpusPausedOff, 1) + 1 == Vcpus.Length;
        }

        /// <summary>Set by a guest's reset: the last vCPU to leave its core restarts the partition.</summary>
        public bool RestartWhenDown { get; set; }

        /// <summary>A parked vCPU is started again (INIT and SIPI from another vCPU).</summary>
        public void Unpark(VirtualCpu vcpu)
        {
            if (vcpu.Activity != VcpuActivity.Parked)
                return;
            vcpu.Activity = VcpuActivity.Running;
            Cpu.AtomicAdd(ref _parked, -1);
        }

        /// <summary>Host pointer to guest-physical memory, or null if the range is not all RAM.</summary>
        public byte* GuestPointer(ulong guestPhysical, ulong length)
        {
            foreach (var block in _ram)
                if (block.Contains(guestPhysical, length))
                    return (byte*)(block.HostPhysical + (guestPhysical - block.GuestPhysical));
            return null;
        }
    }
}
