using Partition.Configs;

namespace Partition.Kernel
{
    /// <summary>The CPU mode a guest starts in.</summary>
    public enum GuestMode
    {
        /// <summary>Real mode (needs unrestricted guest): CS:IP = 0:entry.</summary>
        Real,
        /// <summary>32-bit protected mode, flat segments, paging off (unrestricted guest).</summary>
        Protected32,
        /// <summary>64-bit long mode with the first GiB identity mapped by page tables the hypervisor builds.</summary>
        Long64,
    }

    /// <summary>
    /// What the hypervisor needs to create a partition: taken from a validated configuration,
    /// for the forms the hypervisor can run so far (one vCPU, one memory region at
    /// guest-physical 0, a flat binary or a Multiboot kernel).
    /// </summary>
    public sealed class PartitionSpec
    {
        public PartitionSpec(string name, GuestMode mode, ulong memorySize, ulong loadAddress, ulong entry, int uartPort)
        {
            Name = name;
            Mode = mode;
            MemorySize = memorySize;
            LoadAddress = loadAddress;
            Entry = entry;
            UartPort = uartPort;
        }

        /// <summary>True for the host partition: it may make management hypercalls.</summary>
        public bool IsHost { get; private set; }

        /// <summary>Where each vCPU runs, in vCPU order (vCPU 0 is the bootstrap processor).</summary>
        public VcpuSpec[] Vcpus { get; private set; } = { new VcpuSpec(0, false, 1, 0) };

        /// <summary>True for a Multiboot kernel (loaded by <see cref="MultibootLoader"/>), false for a flat binary.</summary>
        public bool IsMultiboot { get; private set; }

        /// <summary>
        /// True for a Linux bzImage (<see cref="LinuxBoot"/>): the partition also gets ACPI
        /// tables, a virtual I/O APIC and ACPI power control.
        /// </summary>
        public bool IsLinux { get; private set; }

        /// <summary>
        /// Its RAM is identity mapped (guest-physical = host-physical): a Linux host partition,
        /// whose devices DMA into its memory at the addresses it gives them (there is no IOMMU
        /// translation). It gets its configured size as one block (at host_physical, or where
        /// the hypervisor finds room) plus the firmware's usable RAM below 1 MiB, where Linux
        /// puts its real-mode trampoline; its e820 map and ACPI tables are the machine's,
        /// filtered (<see cref="HostMemoryMap"/>, <see cref="HostAcpi"/>).
        /// </summary>
        public bool IdentityMapped { get; private set; }

        /// <summary>
        /// For an identity-mapped partition: the machine's description, from which its low RAM,
        /// its e820 map and its ACPI tables are drawn. Null until given.
        /// </summary>
        public Firmware Firmware { get; private set; }

        /// <summary>Gives an identity-mapped partition the machine's description (see <see cref="Firmware"/>).</summary>
        public void GiveFirmware(Firmware firmware) => Firmware = firmware;

        /// <summary>Less than this cannot hold a kernel's decompression and the low-memory structures.</summary>
        public const ulong MinimumLinuxMemory = BootSupport.MinimumLinuxMemory;

        /// <summary>The Multiboot or Linux kernel's command line.</summary>
        public string CommandLine { get; private set; } = "";

        public string Name { get; }
        public GuestMode Mode { get; }
        public ulong MemorySize { get; }
        public ulong LoadAddress { get; }
        public ulong Entry { get; }

        /// <summary>
        /// True if the config places the partition's RAM at <see cref="HostPhysical"/>; false to
        /// let the hypervisor choose.
        /// </summary>
        public bool HasHostPhysical { get; private set; }
        public ulong HostPhysical { get; private set; }

        /// <summary>
        /// For the host partition: the ports and PCI functions given to other partitions, which
        /// its pass-through leaves out (<see cref="Kernel.HostPorts"/>). Null for a guest.
        /// </summary>
        public HostPorts HostPorts { get; private set; }

        /// <summary>The host partition's identity-mapped device space (<see cref="Memory.HostPassThrough"/>); empty for a guest.</summary>
        public Memory.EptMapping[] HostMmio { get; private set; } = new Memory.EptMapping[0];

        /// <summary>
        /// Gives the host partition pass-through to every port and PCI function except
        /// <paramref name="others"/> and <paramref name="othersPci"/>, and to the device space in <paramref name="mmio"/>.
        /// </summary>
        public void GivePassThrough(IoPortRange[] others, int[] othersPci, Memory.EptMapping[] mmio)
        {
            HostPorts = new HostPorts(others, othersPci);
            HostMmio = mmio;
        }

        /// <summary>Base port of the partition's virtual 16550, or -1 for none.</summary>
        public int UartPort { get; }

        /// <summary>The spec for a configured partition, or why the hypervisor cannot run it yet.</summary>
        public static bool TryFromConfig(PartitionConfig partition, out PartitionSpec spec, out string unsupported)
        {
            spec = null;
            unsupported = BootSupport.WhyUnsupported(partition);
            if (unsupported != null)
                return false;
            var boot = partition.Boot;
            bool identity = BootSupport.IsIdentityMapped(partition);
            int uartPort = partition.Devices.Uart == null ? -1 : partition.Devices.Uart.Port;
            if (boot.Kind == BootKind.Linux)
            {
                // The 64-bit boot protocol: long mode, the loader finds the entry; the partition
                // gets the virtual platform its ACPI tables describe.
                spec = new PartitionSpec(partition.Name, GuestMode.Long64, partition.Memory[0].Size, 0, 0, uartPort)
                {
                    IsLinux = true,
                    IdentityMapped = identity,
                    CommandLine = boot.CommandLine,
                };
                spec.Place(partition.Vcpus, partition.Role, partition.Memory[0]);
                unsupported = null;
                return true;
            }
            if (boot.Kind == BootKind.Multiboot)
            {
                // Multiboot kernels start in 32-bit protected mode; the loader finds the entry.
                spec = new PartitionSpec(partition.Name, GuestMode.Protected32, partition.Memory[0].Size, 0, 0, uartPort)
                {
                    IsMultiboot = true,
                    CommandLine = boot.CommandLine,
                };
                spec.Place(partition.Vcpus, partition.Role, partition.Memory[0]);
                unsupported = null;
                return true;
            }
            GuestMode mode = boot.Mode == EntryMode.Real ? GuestMode.Real : boot.Mode == EntryMode.Protected32 ? GuestMode.Protected32 : GuestMode.Long64;
            ulong entry = boot.HasEntry ? boot.Entry : boot.LoadAddress;
            spec = new PartitionSpec(partition.Name, mode, partition.Memory[0].Size, boot.LoadAddress, entry, uartPort);
            spec.Place(partition.Vcpus, partition.Role, partition.Memory[0]);
            unsupported = null;
            return true;
        }

        /// <summary>The same partition with one vCPU placed on a core (for the host tests, which have no config).</summary>
        internal PartitionSpec Placed(int core, bool shared, bool isHost = false)
        {
            Vcpus = new[] { new VcpuSpec(core, shared, 1, 0) };
            IsHost = isHost;
            return this;
        }

        /// <summary>The same partition with the given vCPUs (for the host tests).</summary>
        internal PartitionSpec WithVcpus(params VcpuSpec[] vcpus)
        {
            Vcpus = vcpus;
            return this;
        }

        /// <summary>The most vCPUs a partition may have (APIC IDs 0-15 in its MADT).</summary>
        public const int MaxVcpus = BootSupport.MaxVcpus;

        private void Place(VcpuConfig[] vcpus, PartitionRole role, MemoryRegionConfig memory)
        {
            HasHostPhysical = memory.HasHostPhysical;
            HostPhysical = memory.HostPhysical;
            IsHost = role == PartitionRole.Host;
            Vcpus = new VcpuSpec[vcpus.Length];
            for (int i = 0; i < vcpus.Length; i++)
                Vcpus[i] = new VcpuSpec(vcpus[i].Core, vcpus[i].Placement == VcpuPlacement.Shared, vcpus[i].Weight, vcpus[i].SliceMicroseconds);
        }
    }

    /// <summary>Where one vCPU runs: its core, and how it shares it.</summary>
    public readonly struct VcpuSpec
    {
        public VcpuSpec(int core, bool shared, ulong weight, ulong sliceMicroseconds)
        {
            Core = core;
            SharedCore = shared;
            Weight = weight == 0 ? 1 : weight;
            SliceMicroseconds = sliceMicroseconds;
        }

        /// <summary>The core the vCPU starts on (from the config; migration may move it).</summary>
        public int Core { get; }

        /// <summary>True if the core is shared (time-sliced), false if dedicated.</summary>
        public bool SharedCore { get; }

        /// <summary>Weight on a weighted core.</summary>
        public ulong Weight { get; }

        /// <summary>Slice on a round-robin core, in microseconds (0: the core's period divided among its vCPUs).</summary>
        public ulong SliceMicroseconds { get; }
    }
}
