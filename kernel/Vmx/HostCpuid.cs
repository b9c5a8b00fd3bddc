namespace Partition.Kernel
{
    /// <summary>The host processor's CPUID answers, as <see cref="CpuidPolicy"/> starts from them.</summary>
    public static class HostCpuid
    {
        /// <summary>The host's highest basic leaf (read by <see cref="Initialize"/>).</summary>
        public static uint MaxBasic { get; private set; }

        /// <summary>The host's highest extended leaf.</summary>
        public static uint MaxExtended { get; private set; }

        /// <summary>Reads the highest leaves, once at boot (the same on every CPU of the machine).</summary>
        public static void Initialize()
        {
            Cpu.Cpuid(0, 0, out uint basic, out _, out _, out _);
            Cpu.Cpuid(0x8000_0000, 0, out uint extended, out _, out _, out _);
            MaxBasic = basic;
            MaxExtended = extended;
            HasTscAux = (Leaf(0x8000_0001, 0).Edx & 1u << 27) != 0 || (Leaf(7, 0).Ecx & 1u << 22) != 0;
            uint bits = Leaf(0x8000_0008, 0).Eax & 0xFF;
            PhysicalAddressBits = bits == 0 ? 36 : (int)bits;
        }

        /// <summary>The physical-address width, as CPUID 0x80000008 reports it (36 if it does not); read once, not at every MMIO exit.</summary>
        public static int PhysicalAddressBits { get; private set; } = 36;

        /// <summary>The processor has IA32_TSC_AUX (it has RDTSCP or RDPID).</summary>
        public static bool HasTscAux { get; private set; }

        /// <summary>The host's answer for a leaf (zeros beyond its highest leaves, rather than the highest leaf's data).</summary>
        public static CpuidResult Leaf(uint leaf, uint subleaf)
        {
            if (leaf < 0x8000_0000 ? leaf > MaxBasic : leaf > MaxExtended)
                return default;
            Cpu.Cpuid(leaf, subleaf, out uint eax, out uint ebx, out uint ecx, out uint edx);
            return new CpuidResult(eax, ebx, ecx, edx);
        }
    }
}
