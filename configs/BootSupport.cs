
namespace Partition.Configs
{
    /// <summary>
    /// What the hypervisor can run so far, of what a valid configuration may say: a partition
    /// outside it is left out at boot with the reason, while the others start. One place for
    /// the rules, so that `partition check` says "left out at boot (REASON)" for exactly the
    /// partitions the boot leaves out (the boot asks here first: PartitionSpec.TryFromConfig).
    /// </summary>
    public static class BootSupport
    {
        /// <summary>The most vCPUs a partition may have (APIC IDs 0-15 in its MADT).</summary>
        public const int MaxVcpus = 16;

        /// <summary>The least memory a partition booted by the Linux protocol is given.</summary>
        public const ulong MinimumLinuxMemory = 16UL << 20;

        /// <summary>Why the hypervisor cannot run this partition yet, or null if it can.</summary>
        public static string WhyUnsupported(PartitionConfig partition)
        {
            var boot = partition.Boot;
            if (boot == null)
                return "it has no boot image";
            if (partition.Vcpus.Length == 0 || partition.Vcpus.Length > MaxVcpus)
                return "a partition has 1 to 16 vCPUs";
            var memory = partition.Memory.Length == 1 ? partition.Memory[0] : null;
            bool identity = IsIdentityMapped(partition);
            if (identity && memory != null && memory.HasGuestPhysical && (!memory.HasHostPhysical || memory.GuestPhysical != memory.HostPhysical))
                return "a Linux host partition's RAM is identity mapped (guest-physical = host-physical, for its devices' DMA): leave guest_physical out, or give it equal to host_physical";
            if (memory == null || !identity && memory.HasGuestPhysical && memory.GuestPhysical != 0)
                return "only one memory region, at guest-physical 0, is supported so far";
            if (partition.Devices.Mmio.Length != 0 || partition.Devices.Pci.Length != 0 || partition.Devices.IoPorts.Length != 0)
                return "device pass-through (I/O ports, MMIO, PCI) is not supported yet";
            if (boot.Kind == BootKind.Linux && memory.Size < MinimumLinuxMemory)
                return "a Linux partition needs at least 16 MiB of memory";
            if (boot.Kind == BootKind.Flat && boot.Mode == EntryMode.Real && (boot.HasEntry ? boot.Entry : boot.LoadAddress) > 0xFFFF)
                return "a real-mode entry point must be below 64 KiB";
            return null;
        }

        /// <summary>A Linux host partition: its RAM is identity mapped.</summary>
        public static bool IsIdentityMapped(PartitionConfig partition) =>
            partition.Role == PartitionRole.Host && partition.Boot != null && partition.Boot.Kind == BootKind.Linux;
    }
}
