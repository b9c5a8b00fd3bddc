using System;

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
    /// A partition as described by its boot module's command line, the built-in layout used
    /// until partitions come from the JSON configuration:
    /// "partition name=alpha mode=real|protected32|long64 memory=2M load=0x1000 entry=0x1000 uart=0x3f8".
    /// The module's contents are a flat binary copied to the load address.
    /// </summary>
    public sealed class PartitionSpec
    {
        public const string ModuleTag = "partition";

        public string Name { get; private set; }
        public GuestMode Mode { get; private set; }
        public ulong MemorySize { get; private set; } = 2UL << 20;
        public ulong LoadAddress { get; private set; } = 0x1000;
        public ulong Entry { get; private set; } = 0x1000;
        public ushort UartPort { get; private set; } = 0x3F8;

        public static bool IsPartitionModule(string commandLine) =>
            commandLine != null && (commandLine == ModuleTag || commandLine.StartsWith("partition "));

        public static bool TryParse(string commandLine, out PartitionSpec spec, out string error)
        {
            spec = null;
            var words = new KernelCommandLine(commandLine);
            var s = new PartitionSpec();
            s.Name = words.Get("name");
            if (string.IsNullOrEmpty(s.Name))
            {
                error = "partition module without name=";
                return false;
            }
            string mode = words.Get("mode") ?? "real";
            if (mode == "real") s.Mode = GuestMode.Real;
            else if (mode == "protected32") s.Mode = GuestMode.Protected32;
            else if (mode == "long64") s.Mode = GuestMode.Long64;
            else
            {
                error = string.Concat("mode=", mode, " is not one of real, protected32, long64");
                return false;
            }
            if (!TryNumber(words.Get("memory"), s.MemorySize, out ulong memory) || memory < 0x10000 || memory % 0x1000 != 0 || memory > (1UL << 30))
            {
                error = "memory= must be a multiple of 4 KiB between 64 KiB and 1 GiB (e.g. memory=2M)";
                return false;
            }
            s.MemorySize = memory;
            if (!TryNumber(words.Get("load"), s.LoadAddress, out ulong load) || load >= memory)
            {
                error = "load= must be an address inside the partition's memory";
                return false;
            }
            s.LoadAddress = load;
            if (!TryNumber(words.Get("entry"), load, out ulong entry) || entry >= memory || (s.Mode == GuestMode.Real && entry > 0xFFFF))
            {
                error = "entry= must be inside the partition's memory (below 64 KiB in real mode)";
                return false;
            }
            s.Entry = entry;
            if (!TryNumber(words.Get("uart"), s.UartPort, out ulong uart) || uart > 0xFFF8)
            {
                error = "uart= must be an I/O port below 0xFFF8";
                return false;
            }
            s.UartPort = (ushort)uart;
            spec = s;
            error = null;
            return true;
        }

        /// <summary>Decimal or 0x-hex, with an optional K/M/G (binary) suffix; absent means the default.</summary>
        public static bool TryNumber(string text, ulong absent, out ulong value)
        {
            value = absent;
            if (text == null)
                return true;
            if (text.Length == 0)
                return false;
            ulong multiplier = 1;
            char last = text[text.Length - 1];
            if (last == 'K' || last == 'k') multiplier = 1UL << 10;
            else if (last == 'M' || last == 'm') multiplier = 1UL << 20;
            else if (last == 'G' || last == 'g') multiplier = 1UL << 30;
            int end = multiplier == 1 ? text.Length : text.Length - 1;
            bool hex = end > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
            ulong result = 0;
            for (int i = hex ? 2 : 0; i < end; i++)
            {
                int digit = Digit(text[i], hex);
                if (digit < 0 || result > (ulong.MaxValue >> 4))
                    return false;
                result = result * (hex ? 16UL : 10UL) + (ulong)digit;
            }
            if (end == 0 || (hex && end == 2) || result > ulong.MaxValue / multiplier)
                return false;
            value = result * multiplier;
            return true;
        }

        private static int Digit(char c, bool hex)
        {
            if (c >= '0' && c <= '9') return c - '0';
            if (hex && c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (hex && c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        }
    }
}
