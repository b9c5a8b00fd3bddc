namespace Partition.Kernel
{
    /// <summary>
    /// Finds the machine's processors in ACPI's MADT (ACPI 6.5, 5.2.12): RSDP, then the XSDT
    /// (or RSDT), then the "APIC" table, whose Processor Local APIC (type 0) and Local x2APIC
    /// (type 9) entries name each CPU; and where an ISA IRQ reaches an I/O APIC (type 1, and
    /// type 2 overrides), for the hypervisor's own console. Physical memory is identity
    /// mapped, so table addresses are read directly; every length is checked against a sane
    /// bound first.
    /// </summary>
    public static unsafe class Acpi
    {
        public const int MaxProcessors = 256;
        private const uint MaxTableLength = 1 << 20;

        /// <summary>APIC IDs of the enabled (or online-capable) processors; 0 found means no usable MADT.</summary>
        public static int FindProcessors(byte* rsdp, uint* apicIds, int capacity)
        {
            byte* madt = FindMadt(rsdp);
            return madt == null ? 0 : ReadMadt(madt, apicIds, capacity);
        }

        /// <summary>
        /// Where ISA IRQ <paramref name="irq"/> reaches the I/O APICs: the MADT's Interrupt Source
        /// Override for it if there is one (its GSI, polarity and trigger mode), else GSI = IRQ,
        /// active high, edge-triggered (ISA's own signalling, ACPI 6.5, 5.2.12.5), and the I/O
        /// APIC whose GSI range starts closest below that GSI. False without a MADT or an I/O APIC.
        /// </summary>
        public static bool FindIsaRoute(byte* rsdp, int irq, out IsaInterruptRoute route)
        {
            route = default;
            byte* madt = FindMadt(rsdp);
            if (madt == null)
                return false;
            uint length = *(uint*)(madt + 4);
            uint gsi = (uint)irq;
            ushort flags = 0;
            for (uint offset = MadtEntries; NextEntry(madt, length, offset, out byte type, out byte entryLength); offset += entryLength)
            {
                // Interrupt Source Override: bus 0 (ISA), source IRQ, GSI, MPS INTI flags.
                if (type == 2 && entryLength >= 10 && madt[offset + 2] == 0 && madt[offset + 3] == irq)
                {
                    gsi = *(uint*)(madt + offset + 4);
                    flags = *(ushort*)(madt + offset + 8);
                }
            }
            // (A second pass: an override may come after the I/O APICs.)
            bool found = false;
            for (uint offset = MadtEntries; NextEntry(madt, length, offset, out byte type, out byte entryLength); offset += entryLength)
            {
                // I/O APIC: ID, reserved, address, GSI base.
                if (type == 1 && entryLength >= 12)
                {
                    uint gsiBase = *(uint*)(madt + offset + 8);
                    if (gsiBase <= gsi && (!found || gsiBase > route.GsiBase))
                    {
                        route.IoApicAddress = *(uint*)(madt + offset + 4);
                        route.GsiBase = gsiBase;
                        found = true;
                    }
                }
            }
            if (!found)
                return false;
            route.Pin = (int)(gsi - route.GsiBase);
            // Polarity (bits 1:0) and trigger mode (bits 3:2): 00 conforms to the bus (ISA: high, edge), 11 low / level.
            route.ActiveLow = (flags & 3) == 3;
            route.LevelTriggered = (flags >> 2 & 3) == 3;
            return true;
        }

        private static byte* FindMadt(byte* rsdp)
        {
            if (rsdp == null || !Matches(rsdp, "RSD PTR "))
                return null;
            byte revision = rsdp[15];
            ulong root = revision >= 2 ? *(ulong*)(rsdp + 24) : *(uint*)(rsdp + 16);
            int entrySize = revision >= 2 && root != 0 ? 8 : 4;
            if (root == 0)
            {
                root = *(uint*)(rsdp + 16);
                entrySize = 4;
            }
            byte* table = (byte*)root;
            uint length = *(uint*)(table + 4);
            if (length < 36 || length > MaxTableLength)
                return null;
            for (uint offset = 36; offset + entrySize <= length; offset += (uint)entrySize)
            {
                byte* entry = (byte*)(entrySize == 8 ? *(ulong*)(table + offset) : *(uint*)(table + offset));
                if (entry != null && Matches(entry, "APIC"))
                {
                    uint madtLength = *(uint*)(entry + 4);
                    return madtLength < MadtEntries || madtLength > MaxTableLength ? null : entry;
                }
            }
            return null;
        }

        private static int ReadMadt(byte* madt, uint* apicIds, int capacity)
        {
            uint length = *(uint*)(madt + 4);
            int count = 0;
            for (uint offset = MadtEntries; NextEntry(madt, length, offset, out byte type, out byte entryLength); offset += entryLength)
            {
                uint flags = 0;
                uint id = 0;
                bool processor = false;
                if (type == 0 && entryLength >= 8)
                {
                    id = madt[offset + 3];
                    flags = *(uint*)(madt + offset + 4);
                    processor = true;
                }
                else if (type == 9 && entryLength >= 16)
                {
                    id = *(uint*)(madt + offset + 4);
                    flags = *(uint*)(madt + offset + 8);
                    processor = true;
                }
                // Bit 0: enabled; bit 1: online capable (can be enabled later).
                if (processor && (flags & 3) != 0 && count < capacity)
                    apicIds[count++] = id;
            }
            return count;
        }

        // Entries start after the header (36), local APIC address (4) and flags (4).
        private const uint MadtEntries = 44;

        // The MADT's interrupt controller structure at offset: its type and length; false at the
        // table's end or at one whose length is impossible (the walk stops there).
        private static bool NextEntry(byte* madt, uint length, uint offset, out byte type, out byte entryLength)
        {
            type = entryLength = 0;
            if (offset + 2 > length)
                return false;
            type = madt[offset];
            entryLength = madt[offset + 1];
            return entryLength >= 2 && offset + entryLength <= length;
        }

        private static bool Matches(byte* bytes, string signature)
        {
            for (int i = 0; i < signature.Length; i++)
                if (bytes[i] != signature[i])
                    return false;
            return true;
        }
    }

    /// <summary>Where an ISA IRQ arrives (<see cref="Acpi.FindIsaRoute"/>): an I/O APIC's input and how it is signalled.</summary>
    public struct IsaInterruptRoute
    {
        public ulong IoApicAddress;
        public uint GsiBase;
        public int Pin;
        public bool ActiveLow, LevelTriggered;
    }
}
