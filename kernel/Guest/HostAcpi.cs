using System;
using Partition.Memory;
using static Partition.Kernel.AcpiTables;

namespace Partition.Kernel
{
    /// <summary>
    /// The ACPI tables the host partition boots on: the firmware's own, read where the firmware
    /// left them, less what would let the host reach another partition's hardware or see CPUs
    /// that are not its own. The host's RAM and the device space below 4 GiB are identity
    /// mapped, so it reads the firmware's tables at their physical addresses; the hypervisor
    /// must not change those (it reads the MADT itself, and partitions restart), so it writes
    /// a new RSDP (revision 2) and XSDT, and a new MADT, into an area the caller gives, and the
    /// host is handed the new RSDP (boot_params.acpi_rsdp_addr). The XSDT lists:
    /// <list type="bullet">
    /// <item>the new MADT (ACPI 6.5, 5.2.12): the host's vCPUs as local APICs with IDs and ACPI
    /// processor UIDs 0..n-1, enabled, vCPU 0 first (type 0 up to ID 254, Local x2APIC from
    /// 255 on, as <see cref="AcpiTables"/> does for guests); then the firmware's I/O APICs,
    /// Interrupt Source Overrides, NMI Sources and Local APIC Address Override as they are;
    /// its Local APIC NMI entries for all processors as they are, and those for one processor
    /// rewritten as one per vCPU for each distinct (flags, LINT#) they carry. Every other entry
    /// is dropped: the firmware's processors (local APIC, x2APIC, SAPIC, GIC, the multiprocessor
    /// wakeup mailbox) are other partitions' or nobody's, and kinds the hypervisor does not know
    /// (IA-64's, ARM's, OEM ones) could name hardware it does not confine. Header, flags
    /// (PCAT_COMPAT) and local APIC address are the firmware's; the creator is this hypervisor.</item>
    /// <item>no DMAR (nor AMD's IVRS): the IOMMU is the hypervisor's, and Linux would program it.
    /// Its register sets are in <see cref="HostAcpiView.IommuRegisters"/>, to keep out of the
    /// host's EPT: leaving the table out does not stop a host that knows where they are.</item>
    /// <item>no MCFG, and every ECAM window it names is left out of the host's EPT
    /// (<see cref="HostAcpiView.EcamWindows"/>): configuration space through ECAM would go
    /// around what <see cref="HostPorts"/> filters at ports 0xCF8/0xCFC (the functions given
    /// to other partitions, every function's MSI and MSI-X capabilities). Removing the table
    /// alone would not do (the window is device space the pass-through maps, and a host that
    /// knows where it is could use it), nor would keeping it and unmapping the hidden
    /// functions' pages: MSI sits in every function's own page. A Linux host without an MCFG
    /// reads configuration space through the ports (pci_direct_probe); it loses the extended
    /// space (AER, ACS, SR-IOV) and segments other than 0, which the ports cannot reach. A host
    /// that touches a window anyway is stopped, as for any memory not its own.</item>
    /// <item>the FADT unchanged: the hypervisor traps its reset, PM1 control and sleep control
    /// registers (<see cref="HostAcpiView.Fadt"/>), so the host can keep its ACPI driver.</item>
    /// <item>every other table (DSDT through the FADT, SSDT, HPET, FACS, ...) as it is.</item>
    /// </list>
    /// An ACPI 1.0 firmware (RSDT only) gets an XSDT too, listing the RSDT's tables. Every
    /// firmware table is checked (signature, plausible length, checksum) before it is used or
    /// passed on: ACPICA refuses a table whose checksum is wrong, and a build that went on
    /// would hand the host tables it cannot use.
    /// </summary>
    public static class HostAcpi
    {
        /// <summary>The largest vCPU count the MADT is built for (16 bytes per x2APIC entry keeps it far from 4 GiB).</summary>
        public const int MaxVcpus = 65536;

        /// <summary>No firmware table is larger; a header that says so is taken for garbage.</summary>
        public const uint MaxFirmwareTableLength = 16u << 20;

        /// <summary>Bytes the new tables need beyond the MADT: RSDP and XSDT headers, alignment.</summary>
        private const int HeaderLength = 36, RsdpLength = 36, Acpi10RsdpLength = 20, Alignment = 16;

        private const int MadtEntriesOffset = 44;
        private const byte XsdtRevision = 1;

        // MADT interrupt controller structure types, ACPI 6.5 Table 5.21.
        private const byte LocalApic = 0, IoApic = 1, InterruptSourceOverride = 2, NmiSource = 3, LocalApicNmi = 4;
        private const byte LocalApicAddressOverride = 5, LocalX2Apic = 9, LocalX2ApicNmi = 10;
        private const int LocalApicLength = 8, LocalX2ApicLength = 16, LocalApicNmiLength = 6, LocalX2ApicNmiLength = 12;
        private const int MaxLocalApicId = 254; // 255 in a type 0 entry is "not a processor", 0xFF in a type 4 "all"

        /// <summary>Distinct per-processor Local APIC NMI settings handled; firmware has one (LINT1) or two.</summary>
        private const int MaxNmiSettings = 8;

        // DMAR (Intel VT-d 4.1, 8.1 and 8.3): remapping structures from 48; DRHD is type 0.
        private const int DmarStructuresOffset = 48;
        private const int McfgAllocationsOffset = 44, McfgAllocationLength = 16;

        /// <summary>
        /// Builds the host's tables from the firmware's RSDP as <paramref name="firmwareRsdp"/>
        /// holds it (the copy in Multiboot2's ACPI tag: 20 bytes for revision 0, 36 from 2 on).
        /// </summary>
        /// <param name="memory">Reads the firmware's tables at their physical addresses.</param>
        /// <param name="vcpuCount">The host's vCPUs: local APIC IDs and processor UIDs 0..n-1.</param>
        /// <param name="area">Where the new RSDP, XSDT and MADT go; the host sees it at <paramref name="areaPhysical"/>.</param>
        /// <param name="view">On success, the new RSDP's address and what the hypervisor must enforce.</param>
        /// <param name="error">On failure, what is wrong, naming the firmware table and its address.</param>
        public static bool TryBuild<TMemory>(ref TMemory memory, ReadOnlySpan<byte> firmwareRsdp, int vcpuCount,
            Span<byte> area, ulong areaPhysical, out HostAcpiView view, out string error) where TMemory : struct, IPhysicalMemoryReader
        {
            view = null;
            if (vcpuCount < 1 || vcpuCount > MaxVcpus)
            {
                error = "the host partition needs 1 to 65536 vCPUs for its MADT";
                return false;
            }
            if (!TryReadRsdp(firmwareRsdp, out var root, out error))
                return false;
            if (!CheckTable(ref memory, root.Address, root.Signature, "the firmware's ", out uint rootLength, out error))
                return false;
            root.Length = rootLength;

            // Pass 1 measures: which tables stay, how long the new MADT is, how many windows,
            // units and I/O APICs there are. Pass 2 writes and fills arrays of those sizes.
            var counts = new Counts();
            if (!Walk(ref memory, in root, vcpuCount, null, Span<byte>.Empty, Span<byte>.Empty, ref counts, out error))
                return false;
            if (counts.MadtAddress == 0)
            {
                error = Concat("the firmware's ", root.Signature, " lists no MADT: the host's processors and I/O APICs cannot be described");
                return false;
            }

            // Each table 16-byte aligned in physical terms, wherever the area starts.
            int padding = Align(areaPhysical, 0);
            int xsdtOffset = Align(areaPhysical, padding + RsdpLength);
            int xsdtLength = HeaderLength + 8 * counts.Kept; // the MADT counted among them
            int madtOffset = Align(areaPhysical, xsdtOffset + xsdtLength);
            long needed = (long)madtOffset + counts.MadtLength;
            if (needed > area.Length)
            {
                error = Concat("the area for the host's ACPI tables is too small: ", Decimal((ulong)area.Length), " bytes, and they need ",
                    Decimal((ulong)needed));
                return false;
            }
            area.Slice(0, (int)needed).Clear();

            var result = new HostAcpiView
            {
                FirmwareRoot = root.Signature,
                FirmwareRootAddress = root.Address,
                IoApics = new MadtIoApic[counts.IoApics],
                EcamWindows = new EcamWindow[counts.EcamWindows],
                IommuRegisters = new PhysicalRange[counts.IommuUnits],
            };
            ulong madtPhysical = areaPhysical + (ulong)madtOffset;
            var xsdt = area.Slice(xsdtOffset, xsdtLength);
            var madt = area.Slice(madtOffset, counts.MadtLength);
            var written = new Counts { MadtPhysical = madtPhysical };
            if (!Walk(ref memory, in root, vcpuCount, result, xsdt.Slice(HeaderLength), madt, ref written, out error))
                return false;
            if (written.Kept != counts.Kept || written.MadtLength != counts.MadtLength)
            {
                // The firmware's tables changed between the two passes (or this code is wrong).
                error = "the firmware's tables read differently the second time";
                return false;
            }

            WriteXsdtHeader(xsdt, in root, ref memory);
            WriteRsdp(area.Slice(padding, RsdpLength), firmwareRsdp, areaPhysical + (ulong)xsdtOffset, xsdtLength);

            result.Rsdp = areaPhysical + (ulong)padding;
            result.Used = (int)needed;
            result.KeptTables = written.Kept - 1;
            result.RemovedTables = written.Removed;
            result.FirmwareProcessors = written.FirmwareProcessors;
            result.DroppedMadtEntries = written.DroppedMadtEntries;
            result.LocalApicAddress = written.LocalApicAddress;
            result.HostEptExclusions = Exclusions(result);
            view = result;
            error = null;
            return true;
        }

        /// <summary>
        /// The same, from the firmware RSDP's physical address (found by a legacy scan or given
        /// by a boot loader as an address): it is read through <paramref name="memory"/>.
        /// </summary>
        public static bool TryBuild<TMemory>(ref TMemory memory, ulong firmwareRsdpAddress, int vcpuCount,
            Span<byte> area, ulong areaPhysical, out HostAcpiView view, out string error) where TMemory : struct, IPhysicalMemoryReader
        {
            view = null;
            Span<byte> rsdp = stackalloc byte[RsdpLength];
            if (firmwareRsdpAddress == 0 || !memory.TryRead(firmwareRsdpAddress, rsdp.Slice(0, Acpi10RsdpLength)))
            {
                error = Concat("no RSDP: nothing can be read at ", Hex(firmwareRsdpAddress));
                return false;
            }
            int length = Acpi10RsdpLength;
            if (rsdp[15] >= 2 && memory.TryRead(firmwareRsdpAddress + Acpi10RsdpLength, rsdp.Slice(Acpi10RsdpLength)))
                length = RsdpLength;
            return TryBuild(ref memory, rsdp.Slice(0, length), vcpuCount, area, areaPhysical, out view, out error);
        }

        /// <summary>The firmware's root table as its RSDP names it.</summary>
        private struct Root
        {
            public ulong Address;
            public uint Length;
            public int EntrySize;
            public string Signature;
        }

        /// <summary>What a walk found (pass 1) or wrote (pass 2).</summary>
        private struct Counts
        {
            public int Kept, Removed;
            public ulong MadtAddress, MadtPhysical, LocalApicAddress;
            public int MadtLength;
            public bool HasFadt;
            public int IoApics, EcamWindows, IommuUnits;
            public int FirmwareProcessors, DroppedMadtEntries;
        }

        /// <summary>
        /// RSDP (ACPI 6.5, 5.2.5.3): signature, the checksum of the first 20 bytes, and from
        /// revision 2 on the extended checksum of all of it; the XSDT if there is one (an OS
        /// must use it then), else the RSDT.
        /// </summary>
        private static bool TryReadRsdp(ReadOnlySpan<byte> rsdp, out Root root, out string error)
        {
            root = default;
            if (rsdp.Length == 0)
            {
                error = "no RSDP: the firmware gave none (no ACPI tag from the boot loader)";
                return false;
            }
            if (rsdp.Length < Acpi10RsdpLength || !Matches(rsdp, "RSD PTR "))
            {
                error = "no RSDP: what the boot loader gave does not start with \"RSD PTR \"";
                return false;
            }
            if (Sum(rsdp.Slice(0, Acpi10RsdpLength)) != 0)
            {
                error = "bad checksum in the firmware's RSDP";
                return false;
            }
            ulong xsdt = 0;
            if (rsdp[15] >= 2 && rsdp.Length >= RsdpLength)
            {
                uint length = U32(rsdp, 20);
                if (length < RsdpLength || length > (uint)rsdp.Length || Sum(rsdp.Slice(0, (int)length)) != 0)
                {
                    error = "bad extended checksum in the firmware's RSDP";
                    return false;
                }
                xsdt = U64(rsdp, 24);
            }
            if (xsdt != 0)
            {
                root.Address = xsdt;
                root.EntrySize = 8;
                root.Signature = "XSDT";
            }
            else
            {
                root.Address = U32(rsdp, 16);
                root.EntrySize = 4;
                root.Signature = "RSDT";
            }
            if (root.Address == 0)
            {
                error = "the firmware's RSDP names neither an RSDT nor an XSDT";
                return false;
            }
            error = null;
            return true;
        }

        /// <summary>
        /// One pass over the root table's entries. With <paramref name="fill"/> null it only
        /// counts (and checks every table); otherwise it writes the new XSDT's entries and MADT
        /// and fills the view's arrays, which pass 1 sized.
        /// </summary>
        private static bool Walk<TMemory>(ref TMemory memory, in Root root, int vcpuCount, HostAcpiView fill,
            Span<byte> xsdtEntries, Span<byte> madt, ref Counts counts, out string error) where TMemory : struct, IPhysicalMemoryReader
        {
            Span<byte> entry = stackalloc byte[8];
            Span<byte> header = stackalloc byte[HeaderLength];
            uint entries = (root.Length - HeaderLength) / (uint)root.EntrySize;
            for (uint i = 0; i < entries; i++)
            {
                ulong at = root.Address + HeaderLength + i * (ulong)root.EntrySize;
                if (!memory.TryRead(at, entry.Slice(0, root.EntrySize)))
                {
                    error = Concat("the firmware's ", root.Signature, " at ", Hex(root.Address), " cannot be read to its end");
                    return false;
                }
                ulong address = root.EntrySize == 8 ? U64(entry, 0) : U32(entry, 0);
                if (address == 0)
                {
                    // ACPICA skips a null entry too (tbutils.c, acpi_tb_parse_root_table).
                    counts.Removed++;
                    continue;
                }
                if (!memory.TryRead(address, header))
                {
                    error = Concat("entry ", Decimal(i), " of the firmware's ", root.Signature, " points at ", Hex(address), ", which cannot be read");
                    return false;
                }
                string signature = Signature(header);
                // Pass 2 does not check again what pass 1 checked.
                if (fill == null && !CheckTable(ref memory, address, signature, "the firmware's ", out _, out error))
                    return false;
                uint length = U32(header, 4);

                if (Is(signature, "APIC"))
                {
                    if (counts.MadtAddress != 0)
                    {
                        // A second MADT could be chosen with acpi_apic_instance= and name every CPU.
                        counts.Removed++;
                        continue;
                    }
                    counts.MadtAddress = address;
                    if (!RewriteMadt(ref memory, address, length, vcpuCount, fill, madt, ref counts, out error))
                        return false;
                    if (fill != null)
                        Put64(xsdtEntries, 8 * counts.Kept, counts.MadtPhysical);
                    counts.Kept++;
                    continue;
                }
                if (Is(signature, "DMAR") || Is(signature, "IVRS"))
                {
                    counts.Removed++;
                    if (Is(signature, "DMAR") && !ReadDmar(ref memory, address, length, fill, ref counts, out error))
                        return false;
                    continue;
                }
                if (Is(signature, "MCFG"))
                {
                    counts.Removed++;
                    if (!ReadMcfg(ref memory, address, length, fill, ref counts, out error))
                        return false;
                    continue;
                }
                if (Is(signature, "FACP") && !counts.HasFadt)
                {
                    counts.HasFadt = true;
                    if (!ReadFadt(ref memory, address, length, fill, out error))
                        return false;
                }
                if (fill != null)
                    Put64(xsdtEntries, 8 * counts.Kept, address);
                counts.Kept++;
            }
            error = null;
            return true;
        }

        /// <summary>
        /// Reads the firmware MADT entry by entry and writes the host's (<paramref name="madt"/>;
        /// empty in pass 1, which only measures). Layout: the firmware's 44 bytes of header,
        /// local APIC address and flags; the vCPUs; the kept entries in the firmware's order;
        /// then the per-vCPU Local APIC NMI entries.
        /// </summary>
        private static bool RewriteMadt<TMemory>(ref TMemory memory, ulong address, uint length, int vcpuCount, HostAcpiView fill,
            Span<byte> madt, ref Counts counts, out string error) where TMemory : struct, IPhysicalMemoryReader
        {
            if (length < MadtEntriesOffset)
            {
                error = Concat("the firmware's MADT at ", Hex(address), " is shorter than its 44-byte header");
                return false;
            }
            bool write = fill != null;
            Span<byte> bytes = stackalloc byte[256];
            Span<uint> nmiSettings = stackalloc uint[MaxNmiSettings];
            int settings = 0;
            if (!memory.TryRead(address, bytes.Slice(0, MadtEntriesOffset)))
                return Unreadable("MADT", address, out error);
            if (write)
                bytes.Slice(0, MadtEntriesOffset).CopyTo(madt);
            counts.LocalApicAddress = U32(bytes, 36);
            int at = MadtEntriesOffset;

            for (int vcpu = 0; vcpu < vcpuCount; vcpu++)
            {
                if (vcpu <= MaxLocalApicId)
                {
                    // Type, length, ACPI processor UID, APIC ID, flags (bit 0: enabled).
                    if (write)
                    {
                        madt[at] = LocalApic;
                        madt[at + 1] = LocalApicLength;
                        madt[at + 2] = (byte)vcpu;
                        madt[at + 3] = (byte)vcpu;
                        Put32(madt, at + 4, 1);
                    }
                    at += LocalApicLength;
                }
                else
                {
                    // Type, length, reserved (2), x2APIC ID, flags, ACPI processor UID.
                    if (write)
                    {
                        madt[at] = LocalX2Apic;
                        madt[at + 1] = LocalX2ApicLength;
                        Put32(madt, at + 4, (uint)vcpu);
                        Put32(madt, at + 8, 1);
                        Put32(madt, at + 12, (uint)vcpu);
                    }
                    at += LocalX2ApicLength;
                }
            }

            int ioApics = 0;
            for (uint offset = MadtEntriesOffset; offset < length;)
            {
                if (length - offset < 2 || !memory.TryRead(address + offset, bytes.Slice(0, 2)))
                    return Malformed(address, offset, out error);
                byte type = bytes[0];
                int entryLength = bytes[1];
                if (entryLength < 2 || entryLength > length - offset || !memory.TryRead(address + offset, bytes.Slice(0, entryLength)))
                    return Malformed(address, offset, out error);
                offset += (uint)entryLength;
                var entry = bytes.Slice(0, entryLength);

                bool keep = false;
                if (type == LocalApic && entryLength >= LocalApicLength)
                {
                    if (entry[3] != 0xFF && (U32(entry, 4) & 3) != 0)
                        counts.FirmwareProcessors++;
                }
                else if (type == LocalX2Apic && entryLength >= LocalX2ApicLength)
                {
                    if ((U32(entry, 8) & 3) != 0)
                        counts.FirmwareProcessors++;
                }
                else if (type == IoApic && entryLength >= 12)
                {
                    keep = true;
                    if (write)
                        fill.IoApics[ioApics] = new MadtIoApic(entry[2], U32(entry, 4), U32(entry, 8));
                    ioApics++;
                }
                else if (type == InterruptSourceOverride || type == NmiSource)
                {
                    keep = true;
                }
                else if (type == LocalApicAddressOverride && entryLength >= 12)
                {
                    keep = true;
                    counts.LocalApicAddress = U64(entry, 4);
                }
                else if ((type == LocalApicNmi && entryLength >= LocalApicNmiLength) || (type == LocalX2ApicNmi && entryLength >= LocalX2ApicNmiLength))
                {
                    // Type 4: UID (1), flags (2), LINT# (1); type 10: flags (2), UID (4), LINT# (1).
                    bool all = type == LocalApicNmi ? entry[2] == 0xFF : U32(entry, 4) == 0xFFFFFFFF;
                    if (all)
                    {
                        keep = true;
                    }
                    else
                    {
                        uint setting = type == LocalApicNmi ? (uint)(U16(entry, 3) | entry[5] << 16) : (uint)(U16(entry, 2) | entry[8] << 16);
                        if (!AddSetting(nmiSettings, ref settings, setting))
                        {
                            error = Concat("the firmware's MADT at ", Hex(address), " has more than 8 different Local APIC NMI settings");
                            return false;
                        }
                    }
                }
                else
                {
                    // SAPICs, GIC structures, the wakeup mailbox, reserved and OEM types.
                    counts.DroppedMadtEntries++;
                }

                if (keep)
                {
                    if (write)
                        entry.CopyTo(madt.Slice(at));
                    at += entryLength;
                }
            }

            for (int s = 0; s < settings; s++)
            {
                ushort flags = (ushort)nmiSettings[s];
                byte lint = (byte)(nmiSettings[s] >> 16);
                for (int vcpu = 0; vcpu < vcpuCount; vcpu++)
                {
                    if (vcpu <= MaxLocalApicId)
                    {
                        if (write)
                        {
                            madt[at] = LocalApicNmi;
                            madt[at + 1] = LocalApicNmiLength;
                            madt[at + 2] = (byte)vcpu;
                            Put16(madt, at + 3, flags);
                            madt[at + 5] = lint;
                        }
                        at += LocalApicNmiLength;
                    }
                    else
                    {
                        if (write)
                        {
                            madt[at] = LocalX2ApicNmi;
                            madt[at + 1] = LocalX2ApicNmiLength;
                            Put16(madt, at + 2, flags);
                            Put32(madt, at + 4, (uint)vcpu);
                            madt[at + 8] = lint;
                        }
                        at += LocalX2ApicNmiLength;
                    }
                }
            }

            if (write)
            {
                Put32(madt, 4, (uint)at);
                PutAscii(madt, 28, AcpiTables.CreatorId);
                Put32(madt, 32, AcpiTables.CreatorRevision);
                SetChecksum(madt.Slice(0, at), 9);
            }
            counts.MadtLength = at;
            counts.IoApics = ioApics;
            error = null;
            return true;
        }

        private static bool AddSetting(Span<uint> settings, ref int count, uint setting)
        {
            for (int i = 0; i < count; i++)
                if (settings[i] == setting)
                    return true;
            if (count == settings.Length)
                return false;
            settings[count++] = setting;
            return true;
        }

        /// <summary>
        /// DMAR (Intel VT-d 4.1, 8.1): the register set of each DMA Remapping Hardware Unit
        /// (DRHD, 8.3), 2^Size 4 KiB pages from its base (Size, bits 3:0 of byte 5, is 0 on
        /// firmware older than VT-d 2.3: one page).
        /// </summary>
        private static bool ReadDmar<TMemory>(ref TMemory memory, ulong address, uint length, HostAcpiView fill, ref Counts counts,
            out string error) where TMemory : struct, IPhysicalMemoryReader
        {
            Span<byte> structure = stackalloc byte[16];
            for (uint offset = DmarStructuresOffset; offset < length;)
            {
                if (length - offset < 4 || !memory.TryRead(address + offset, structure.Slice(0, 4)))
                    return MalformedDmar(address, offset, out error);
                ushort type = U16(structure, 0);
                ushort structureLength = U16(structure, 2);
                if (structureLength < 4 || structureLength > length - offset)
                    return MalformedDmar(address, offset, out error);
                if (type == 0)
                {
                    if (structureLength < 16 || !memory.TryRead(address + offset, structure))
                        return MalformedDmar(address, offset, out error);
                    if (fill != null)
                    {
                        ulong registers = U64(structure, 8);
                        ulong size = 4096UL << (structure[5] & 0xF);
                        fill.IommuRegisters[counts.IommuUnits] = new PhysicalRange(registers, registers + size);
                    }
                    counts.IommuUnits++;
                }
                offset += structureLength;
            }
            error = null;
            return true;
        }

        /// <summary>MCFG (PCI Firmware 3.2, 4.1.2): 8 reserved bytes after the header, then 16-byte allocations.</summary>
        private static bool ReadMcfg<TMemory>(ref TMemory memory, ulong address, uint length, HostAcpiView fill, ref Counts counts,
            out string error) where TMemory : struct, IPhysicalMemoryReader
        {
            Span<byte> allocation = stackalloc byte[McfgAllocationLength];
            for (uint offset = McfgAllocationsOffset; offset + McfgAllocationLength <= length; offset += McfgAllocationLength)
            {
                if (!memory.TryRead(address + offset, allocation))
                    return Unreadable("MCFG", address, out error);
                if (fill != null)
                    fill.EcamWindows[counts.EcamWindows] = new EcamWindow(U64(allocation, 0), U16(allocation, 8), allocation[10], allocation[11]);
                counts.EcamWindows++;
            }
            error = null;
            return true;
        }

        /// <summary>The FADT's registers (<see cref="FadtRegisters"/>), and the DSDT it names checked like the XSDT's tables.</summary>
        private static bool ReadFadt<TMemory>(ref TMemory memory, ulong address, uint length, HostAcpiView fill, out string error)
            where TMemory : struct, IPhysicalMemoryReader
        {
            // Every field read lies below 280; later revisions only add to the end.
            Span<byte> fadt = stackalloc byte[512];
            int read = length < 512 ? (int)length : 512;
            if (!memory.TryRead(address, fadt.Slice(0, read)))
                return Unreadable("FADT", address, out error);
            error = FadtRegisters.TryParse(fadt.Slice(0, read), out var registers);
            if (error != null)
                return false;
            if (fill != null)
            {
                fill.HasFadt = true;
                fill.Fadt = registers;
                if (registers.Dsdt != 0)
                    fill.S5SleepType = FindS5(ref memory, registers.Dsdt);
                return true;
            }
            return registers.Dsdt == 0 || CheckTable(ref memory, registers.Dsdt, "DSDT", "the firmware's ", out _, out error);
        }

        // \_S5's SLP_TYPa in the DSDT (checked in the first pass), read in overlapping pieces.
        private static int FindS5<TMemory>(ref TMemory memory, ulong dsdt) where TMemory : struct, IPhysicalMemoryReader
        {
            Span<byte> chunk = stackalloc byte[512];
            if (!memory.TryRead(dsdt, chunk.Slice(0, HeaderLength)))
                return -1;
            ulong end = dsdt + U32(chunk, 4);
            for (ulong at = dsdt + HeaderLength; at < end; at += (ulong)(chunk.Length - AmlSleepType.MaxEncodedLength))
            {
                int piece = end - at < (ulong)chunk.Length ? (int)(end - at) : chunk.Length;
                if (!memory.TryRead(at, chunk.Slice(0, piece)))
                    return -1;
                int type = AmlSleepType.FindS5(chunk.Slice(0, piece));
                if (type >= 0)
                    return type;
                if (piece < chunk.Length)
                    break;
            }
            return -1;
        }

        /// <summary>
        /// A table's header is readable, its signature what is expected (when one is), its
        /// length plausible, and its bytes sum to 0 (ACPI 6.5, 5.2.6), read in pieces.
        /// </summary>
        private static bool CheckTable<TMemory>(ref TMemory memory, ulong address, string signature, string whose, out uint length,
            out string error) where TMemory : struct, IPhysicalMemoryReader
        {
            length = 0;
            Span<byte> chunk = stackalloc byte[256];
            if (!memory.TryRead(address, chunk.Slice(0, HeaderLength)))
            {
                error = Concat(whose, signature, " at ", Hex(address), " cannot be read");
                return false;
            }
            string found = Signature(chunk);
            if (!Is(found, signature))
            {
                error = Concat(whose, signature, " at ", Hex(address), " has the signature \"", found, "\"");
                return false;
            }
            length = U32(chunk, 4);
            if (length < HeaderLength || length > MaxFirmwareTableLength)
            {
                error = Concat(whose, signature, " at ", Hex(address), " has an implausible length, ", Decimal(length));
                return false;
            }
            byte sum = 0;
            for (uint done = 0; done < length;)
            {
                int piece = length - done < (uint)chunk.Length ? (int)(length - done) : chunk.Length;
                if (!memory.TryRead(address + done, chunk.Slice(0, piece)))
                {
                    error = Concat(whose, signature, " at ", Hex(address), " cannot be read to its end");
                    return false;
                }
                sum += Sum(chunk.Slice(0, piece));
                done += (uint)piece;
            }
            if (sum != 0)
            {
                error = Concat("bad checksum in ", whose, signature, " at ", Hex(address));
                return false;
            }
            error = null;
            return true;
        }

        /// <summary>XSDT (ACPI 6.5, 5.2.8): revision 1, the firmware root table's OEM fields, this hypervisor as creator.</summary>
        private static void WriteXsdtHeader<TMemory>(Span<byte> xsdt, in Root root, ref TMemory memory) where TMemory : struct, IPhysicalMemoryReader
        {
            Span<byte> firmware = stackalloc byte[HeaderLength];
            if (memory.TryRead(root.Address, firmware))
                firmware.Slice(10, 18).CopyTo(xsdt.Slice(10)); // OEM ID, OEM table ID, OEM revision
            PutAscii(xsdt, 0, "XSDT");
            Put32(xsdt, 4, (uint)xsdt.Length);
            xsdt[8] = XsdtRevision;
            PutAscii(xsdt, 28, AcpiTables.CreatorId);
            Put32(xsdt, 32, AcpiTables.CreatorRevision);
            SetChecksum(xsdt, 9);
        }

        /// <summary>RSDP (ACPI 6.5, 5.2.5.3): revision 2, the firmware's OEM ID, no RSDT, both checksums.</summary>
        private static void WriteRsdp(Span<byte> rsdp, ReadOnlySpan<byte> firmware, ulong xsdt, int xsdtLength)
        {
            PutAscii(rsdp, 0, "RSD PTR ");
            firmware.Slice(9, 6).CopyTo(rsdp.Slice(9));
            rsdp[15] = 2;
            Put32(rsdp, 16, 0);
            Put32(rsdp, 20, RsdpLength);
            Put64(rsdp, 24, xsdt);
            SetChecksum(rsdp.Slice(0, Acpi10RsdpLength), 8);
            SetChecksum(rsdp, 32);
        }

        private static PhysicalRange[] Exclusions(HostAcpiView view)
        {
            const ulong Page = 4096;
            var ranges = new PhysicalRange[1 + view.IoApics.Length + view.IommuRegisters.Length + view.EcamWindows.Length];
            int n = 0;
            ulong apic = view.LocalApicAddress & ~(Page - 1);
            ranges[n++] = new PhysicalRange(apic, apic + Page);
            foreach (var ioApic in view.IoApics)
            {
                ulong page = ioApic.Address & ~(Page - 1);
                ranges[n++] = new PhysicalRange(page, page + Page);
            }
            foreach (var unit in view.IommuRegisters)
                ranges[n++] = new PhysicalRange(unit.Start & ~(Page - 1), (unit.End + Page - 1) & ~(Page - 1));
            foreach (var window in view.EcamWindows)
                if (window.EndBus >= window.StartBus) // an inverted window names no bus
                    ranges[n++] = window.Range; // whole buses: 1 MiB aligned
            return SortAndMerge(ranges, n);
        }

        /// <summary>The first <paramref name="count"/> ranges sorted by start, overlapping or touching ones merged (insertion sort: a few dozen at most).</summary>
        private static PhysicalRange[] SortAndMerge(PhysicalRange[] ranges, int count)
        {
            for (int i = 1; i < count; i++)
            {
                var range = ranges[i];
                int j = i - 1;
                while (j >= 0 && ranges[j].Start > range.Start)
                {
                    ranges[j + 1] = ranges[j];
                    j--;
                }
                ranges[j + 1] = range;
            }
            int merged = 0;
            for (int i = 0; i < count; i++)
            {
                if (merged > 0 && ranges[i].Start <= ranges[merged - 1].End)
                {
                    if (ranges[i].End > ranges[merged - 1].End)
                        ranges[merged - 1] = new PhysicalRange(ranges[merged - 1].Start, ranges[i].End);
                }
                else
                {
                    ranges[merged++] = ranges[i];
                }
            }
            if (merged == ranges.Length)
                return ranges;
            var result = new PhysicalRange[merged];
            for (int i = 0; i < merged; i++)
                result[i] = ranges[i];
            return result;
        }

        private static bool Unreadable(string table, ulong address, out string error)
        {
            error = Concat("the firmware's ", table, " at ", Hex(address), " cannot be read to its end");
            return false;
        }

        private static bool Malformed(ulong address, uint offset, out string error)
        {
            error = Concat("the firmware's MADT at ", Hex(address), " has a malformed entry at offset ", Decimal(offset));
            return false;
        }

        private static bool MalformedDmar(ulong address, uint offset, out string error)
        {
            error = Concat("the firmware's DMAR at ", Hex(address), " has a malformed structure at offset ", Decimal(offset));
            return false;
        }

        /// <summary>The first offset from <paramref name="offset"/> on whose physical address (area + offset) is aligned.</summary>
        private static int Align(ulong areaPhysical, int offset) =>
            offset + (int)((Alignment - (areaPhysical + (ulong)offset) % Alignment) % Alignment);

        private static bool Matches(ReadOnlySpan<byte> bytes, string text)
        {
            if (bytes.Length < text.Length)
                return false;
            for (int i = 0; i < text.Length; i++)
                if (bytes[i] != text[i])
                    return false;
            return true;
        }

        private static bool Is(string signature, string expected)
        {
            if (signature.Length != expected.Length)
                return false;
            for (int i = 0; i < expected.Length; i++)
                if (signature[i] != expected[i])
                    return false;
            return true;
        }

        /// <summary>A table's four signature bytes as text, anything but printable ASCII shown as '?'.</summary>
        private static string Signature(ReadOnlySpan<byte> header)
        {
            Span<char> chars = stackalloc char[4];
            for (int i = 0; i < 4; i++)
                chars[i] = header[i] >= 0x20 && header[i] < 0x7F ? (char)header[i] : '?';
            return new string(chars);
        }

        private static string Concat(params string[] parts) => string.Concat(parts);

        private static string Hex(ulong value)
        {
            Span<char> buffer = stackalloc char[18];
            buffer[0] = '0';
            buffer[1] = 'x';
            return new string(buffer.Slice(0, 2 + NumberFormat.FormatHex(value, 1, buffer.Slice(2))));
        }

        private static string Decimal(ulong value)
        {
            Span<char> buffer = stackalloc char[20];
            return new string(buffer.Slice(0, NumberFormat.FormatDecimal(value, buffer)));
        }

        private static byte Sum(ReadOnlySpan<byte> bytes)
        {
            byte sum = 0;
            for (int i = 0; i < bytes.Length; i++)
                sum += bytes[i];
            return sum;
        }

        internal static ushort U16(ReadOnlySpan<byte> s, int at) => (ushort)(s[at] | s[at + 1] << 8);

        internal static uint U32(ReadOnlySpan<byte> s, int at) => (uint)(s[at] | s[at + 1] << 8 | s[at + 2] << 16 | s[at + 3] << 24);

        internal static ulong U64(ReadOnlySpan<byte> s, int at) => U32(s, at) | (ulong)U32(s, at + 4) << 32;
    }
}
