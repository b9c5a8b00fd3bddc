namespace Partition.Kernel
{
    /// <summary>What a partition tried and was refused.</summary>
    public enum DenialKind
    {
        /// <summary>A port that is not one of its devices' (reads give all ones, writes are dropped).</summary>
        Port,
        /// <summary>An MSR outside <see cref="MsrPolicy.AllowList"/> (#GP).</summary>
        Msr,
        /// <summary>A management hypercall from a partition that is not the host partition, or any hypercall from guest user mode.</summary>
        Hypercall,
        /// <summary>An IPI to an APIC ID outside the partition (dropped, never delivered).</summary>
        Ipi,
    }

    /// <summary>
    /// One partition's refused accesses: all of them counted (for 'stats' and the summary), the
    /// first <see cref="ReportLimit"/> of each kind also reported on the console (so that a
    /// partition's many port probes do not hide its first refused MSR). Every core shares the
    /// console, so a guest that repeats a refused access must not be able to flood it.
    /// </summary>
    public sealed class DenialLog
    {
        public const int ReportLimit = 8;

        private readonly ulong[] _counts = new ulong[4];

        public ulong Count(DenialKind kind) => _counts[(int)kind];

        public ulong Total => _counts[0] + _counts[1] + _counts[2] + _counts[3];

        /// <summary>
        /// Counts one refusal. True if it is to be reported; <paramref name="lastReported"/> is
        /// then true for the last one that will be (the console says so, once).
        /// </summary>
        public bool Record(DenialKind kind, out bool lastReported)
        {
            ulong count = ++_counts[(int)kind];
            lastReported = count == ReportLimit;
            return count <= ReportLimit;
        }

        /// <summary>For a restart: the partition starts with a clean record and a fresh report budget.</summary>
        public void Reset()
        {
            for (int i = 0; i < _counts.Length; i++)
                _counts[i] = 0;
        }
    }
}
