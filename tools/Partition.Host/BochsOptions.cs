namespace Partition.Host
{
    /// <summary>The emulated machine a <see cref="BochsRun"/> boots: CPU model and count, speed, memory.</summary>
    public sealed record BochsOptions
    {
        /// <summary>
        /// Bochs CPU model. tigerlake has the richest VMX of Debian's Bochs 2.7 (EPT, VPID,
        /// unrestricted guest, VMFUNC, VMCS shadowing, PML, preemption timer).
        /// </summary>
        public string CpuModel { get; init; } = "tigerlake";

        /// <summary>Number of emulated CPUs (Bochs' cpu count).</summary>
        public int CpuCount { get; init; } = 1;

        /// <summary>
        /// Emulated instructions per emulated second. Low, because the BIOS waits about 3 emulated
        /// seconds before booting; the TSC counts instructions whatever this says.
        /// </summary>
        public int InstructionsPerSecond { get; init; } = 10_000_000;

        public int MemoryMegabytes { get; init; } = 128;
    }
}
