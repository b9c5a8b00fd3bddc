namespace Partition.Kernel
{
    /// <summary>
    /// One vCPU's VM exits by basic reason, kept in the vCPU itself (a fixed buffer: counting
    /// an exit is one compare and one increment, with no array to load or bounds to check).
    /// Only the vCPU's own core counts; readers on other CPUs may see a count one behind.
    /// </summary>
    public unsafe struct ExitCounters
    {
        private fixed ulong _counts[ExitReasons.Count];

        /// <summary>Counts one exit; a reason beyond the known ones is not counted.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void Count(uint basicReason)
        {
            if (basicReason < ExitReasons.Count)
                _counts[basicReason]++;
        }

        /// <summary>The exits of one basic reason (0 for a reason beyond the known ones).</summary>
        public readonly ulong this[int reason] => (uint)reason < ExitReasons.Count ? _counts[reason] : 0;

        public readonly ulong Total
        {
            get
            {
                ulong sum = 0;
                for (int i = 0; i < ExitReasons.Count; i++)
                    sum += _counts[i];
                return sum;
            }
        }

        public void Clear()
        {
            for (int i = 0; i < ExitReasons.Count; i++)
                _counts[i] = 0;
        }
    }
}
