namespace Partition.Kernel
{
    /// <summary>
    /// The Intel MultiProcessor table, the fallback when there is no ACPI MADT (MP spec 1.4,
    /// chapter 4): the "_MP_" floating pointer in the first KiB of the EBDA, the last KiB of
    /// base memory or the BIOS ROM (0xF0000-0xFFFFF), then the configuration table's processor
    /// entries (type 0, 20 bytes; flags bit 0: enabled). Checksums and lengths are checked
    /// before anything is read.
    /// </summary>
    public static unsafe class MpTable
    {
        /// <summary>APIC IDs of the enabled processors; 0 when there is no valid MP table.</summary>
        public static int FindProcessors(uint* apicIds, int capacity)
        {
            ushort ebdaSegment = *(ushort*)0x40E;
            ushort baseMemoryKiB = *(ushort*)0x413;
            byte* pointer = Search((byte*)((ulong)ebdaSegment << 4), 1024);
            if (pointer == null && baseMemoryKiB >= 1 && baseMemoryKiB <= 640)
                pointer = Search((byte*)((ulong)(baseMemoryKiB - 1) * 1024), 1024);
            if (pointer == null)
                pointer = Search((byte*)0xF0000, 0x10000);
            return pointer == null ? 0 : ReadConfiguration(pointer, apicIds, capacity);
        }

        /// <summary>The floating pointer structure in [start, start+length), 16-byte aligned, or null.</summary>
        public static byte* Search(byte* start, int length)
        {
            if (start == null)
                return null;
            for (int at = 0; at + 16 <= length; at += 16)
            {
                byte* p = start + at;
                if (p[0] == '_' && p[1] == 'M' && p[2] == 'P' && p[3] == '_' && p[8] == 1 && Checksum(p, 16))
                    return p;
            }
            return null;
        }

        /// <summary>Processor entries of the configuration table the floating pointer names.</summary>
        public static int ReadConfiguration(byte* floatingPointer, uint* apicIds, int capacity)
        {
            byte* table = (byte*)(ulong)*(uint*)(floatingPointer + 4);
            if (table == null || table[0] != 'P' || table[1] != 'C' || table[2] != 'M' || table[3] != 'P')
                return 0;
            ushort length = *(ushort*)(table + 4);
            ushort entries = *(ushort*)(table + 34);
            if (length < 44 || !Checksum(table, length))
                return 0;
            int count = 0;
            byte* entry = table + 44;
            byte* end = table + length;
            for (int i = 0; i < entries && entry < end; i++)
            {
                byte type = entry[0];
                if (type == 0)
                {
                    if (entry + 20 > end)
                        break;
                    if ((entry[3] & 1) != 0 && count < capacity)
                        apicIds[count++] = entry[1];
                    entry += 20;
                }
                else if (type <= 4)
                {
                    entry += 8;   // bus, I/O APIC, I/O and local interrupt assignments
                }
                else
                {
                    break;        // an entry type this reader does not know the size of
                }
            }
            return count;
        }

        private static bool Checksum(byte* bytes, int length)
        {
            byte sum = 0;
            for (int i = 0; i < length; i++)
                sum += bytes[i];
            return sum == 0;
        }
    }
}
