namespace Partition.Kernel
{
    /// <summary>
    /// Finds the machine's processors in ACPI's MADT (ACPI 6.5, 5.2.12): RSDP, then the XSDT
    /// (or RSDT), then the "APIC" table, whose Processor Local APIC (type 0) and Local x2APIC
    /// (type 9) entries name each CPU. Physical memory is identity mapped, so table addresses
    /// are read directly; every length is checked against a sane bound first.
    /// </summary>
    public static unsafe class Acpi
    {
        public const int MaxProcessors = 256;
        private const uint MaxTableLength = 1 << 20;

        /// <summary>APIC IDs of the enabled (or online-capable) processors; 0 found means no usable MADT.</summary>
        public static int FindProcessors(byte* rsdp, uint* apicIds, int capacity)
        {
            if (rsdp == null || !Matches(rsdp, "RSD PTR "))
                return 0;
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
                return 0;
            for (uint offset = 36; offset + entrySize <= length; offset += (uint)entrySize)
            {
                byte* entry = (byte*)(entrySize == 8 ? *(ulong*)(table + offset) : *(uint*)(table + offset));
                if (entry != null && Matches(entry, "APIC"))
                    return ReadMadt(entry, apicIds, capacity);
            }
            return 0;
        }

        private static int ReadMadt(byte* madt, uint* apicIds, int capacity)
        {
            uint length = *(uint*)(madt + 4);
            if (length < 44 || length > MaxTableLength)
                return 0;
            int count = 0;
            // Entries start after the header (36), local APIC address (4) and flags (4).
            for (uint offset = 44; offset + 2 <= length;)
            {
                byte type = madt[offset];
                byte entryLength = madt[offset + 1];
                if (entryLength < 2 || offset + entryLength > length)
                    break;
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
                offset += entryLength;
            }
            return count;
        }

        private static bool Matches(byte* bytes, string signature)
        {
            for (int i = 0; i < signature.Length; i++)
                if (bytes[i] != signature[i])
                    return false;
            return true;
        }
    }
}
