namespace Internal.Runtime
{
    /// <summary>
    /// The image's allocator: a bump allocator over one arena given at start-up. Nothing is ever
    /// freed (the hypervisor allocates its structures at boot and reserves what partitions need
    /// when they are created). Exhaustion is reported by the caller, never papered over. Safe
    /// on several CPUs at once: the bump is one atomic add (undone if it overshoots).
    /// Pure pointer arithmetic and one atomic primitive, so the host tests compile this too.
    /// </summary>
    internal unsafe struct BootHeap
    {
        private byte* _next;
        private byte* _end;
        private byte* _start;

        internal void Initialize(byte* start, byte* end)
        {
            _start = start;
            _next = start;
            _end = end;
        }

        internal ulong Used => (ulong)(_next - _start);
        internal ulong Capacity => (ulong)(_end - _start);

        /// <summary>Returns zeroed, 8-byte-aligned memory, or null when the arena cannot hold it.</summary>
        internal byte* TryAllocate(ulong size)
        {
            ulong aligned = (size + 7) & ~7UL;
            if (aligned < size || aligned > (ulong)(_end - _start))
                return null;
            fixed (byte** next = &_next)
            {
                byte* result = (byte*)Atomic.Add((long*)next, (long)aligned);
                if (result > _end || aligned > (ulong)(_end - result))
                {
                    Atomic.Add((long*)next, -(long)aligned);
                    return null;
                }
                // The arena is zero at boot (it is .bss), but say so here rather than rely on it.
                for (ulong i = 0; i < aligned; i += 8)
                    *(ulong*)(result + i) = 0;
                return result;
            }
        }
    }
}
