using Partition.Memory;

namespace Partition.Kernel
{
    /// <summary>
    /// What <see cref="HostAcpi.TryBuild{TMemory}(ref TMemory, System.ReadOnlySpan{byte}, int, System.Span{byte}, ulong, out HostAcpiView, out string)"/>
    /// built for the host partition, and what the hypervisor must enforce for the tables to
    /// tell the truth: the registers to trap (<see cref="Fadt"/>) and the physical ranges to
    /// keep out of the host's EPT (<see cref="HostEptExclusions"/>).
    /// </summary>
    public sealed class HostAcpiView
    {
        /// <summary>The new RSDP's physical address, for boot_params.acpi_rsdp_addr.</summary>
        public ulong Rsdp { get; internal set; }

        /// <summary>Bytes used from the area's start.</summary>
        public int Used { get; internal set; }

        /// <summary>"XSDT", or "RSDT" for ACPI 1.0 firmware (the new XSDT then lists the RSDT's tables).</summary>
        public string FirmwareRoot { get; internal set; } = "";
        public ulong FirmwareRootAddress { get; internal set; }

        /// <summary>Firmware tables the new XSDT lists unchanged (the MADT, rewritten, not counted).</summary>
        public int KeptTables { get; internal set; }

        /// <summary>Firmware root entries left out: DMAR, IVRS, MCFG, a second MADT, null entries.</summary>
        public int RemovedTables { get; internal set; }

        /// <summary>The firmware MADT's processors that are enabled or online-capable (none of them is in the new MADT).</summary>
        public int FirmwareProcessors { get; internal set; }

        /// <summary>Firmware MADT entries of kinds the new MADT does not carry (processor entries aside): see <see cref="HostAcpi"/>.</summary>
        public int DroppedMadtEntries { get; internal set; }

        /// <summary>Where the host's local APIC is: the MADT's address, or its Local APIC Address Override.</summary>
        public ulong LocalApicAddress { get; internal set; }

        /// <summary>The firmware's I/O APICs, all kept in the new MADT: the host must get a virtual one at each address.</summary>
        public MadtIoApic[] IoApics { get; internal set; } = new MadtIoApic[0];

        public bool HasFadt { get; internal set; }

        /// <summary>SLP_TYPa of the firmware DSDT's \_S5 (<see cref="AmlSleepType"/>), or -1 if not found.</summary>
        public int S5SleepType { get; internal set; } = -1;

        /// <summary>The firmware FADT's reset, PM1 and sleep registers (when <see cref="HasFadt"/>).</summary>
        public FadtRegisters Fadt { get; internal set; }

        /// <summary>The firmware MCFG's ECAM windows: not in the host's tables, nor in its EPT (see <see cref="HostAcpi"/>).</summary>
        public EcamWindow[] EcamWindows { get; internal set; } = new EcamWindow[0];

        /// <summary>The register sets of the firmware DMAR's remapping units (DRHD): the hypervisor's, never the host's.</summary>
        public PhysicalRange[] IommuRegisters { get; internal set; } = new PhysicalRange[0];

        /// <summary>
        /// Everything the host partition's EPT must leave out of its device-space pass-through
        /// (<see cref="HostPassThrough.Build"/>'s excluded ranges), page aligned, sorted and merged:
        /// the local APIC page and every I/O APIC's (virtual for the host), the IOMMU's register
        /// sets, and the ECAM windows.
        /// </summary>
        public PhysicalRange[] HostEptExclusions { get; internal set; } = new PhysicalRange[0];
    }

    /// <summary>An I/O APIC as the firmware's MADT names it (ACPI 6.5, 5.2.12.3).</summary>
    public readonly struct MadtIoApic
    {
        public MadtIoApic(byte id, uint address, uint gsiBase)
        {
            Id = id;
            Address = address;
            GsiBase = gsiBase;
        }

        public byte Id { get; }
        public uint Address { get; }
        public uint GsiBase { get; }
    }

    /// <summary>
    /// One MCFG allocation (PCI Firmware Specification 3.2, 4.1.2): the enhanced configuration
    /// (ECAM) space of buses StartBus-EndBus of a segment, 4 KiB per function at
    /// Base + (bus &lt;&lt; 20 | device &lt;&lt; 15 | function &lt;&lt; 12), Base being bus 0's.
    /// </summary>
    public readonly struct EcamWindow
    {
        public EcamWindow(ulong baseAddress, ushort segment, byte startBus, byte endBus)
        {
            Base = baseAddress;
            Segment = segment;
            StartBus = startBus;
            EndBus = endBus;
        }

        public ulong Base { get; }
        public ushort Segment { get; }
        public byte StartBus { get; }
        public byte EndBus { get; }

        /// <summary>The window as Linux reserves it: from StartBus's space to the end of EndBus's.</summary>
        public PhysicalRange Range => new(Base + ((ulong)StartBus << 20), Base + ((ulong)EndBus + 1 << 20));
    }
}
