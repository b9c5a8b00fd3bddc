namespace Partition.Kernel
{
    /// <summary>
    /// A wall clock carried by the time-stamp counter: it was <see cref="UnixSeconds"/> when the
    /// TSC read <see cref="Tsc"/>, and the TSC advances <see cref="TicksPerSecond"/> a second.
    /// Whoever holds one can tell the time at any later TSC value without reading a clock
    /// (so device models that use it stay portable and testable).
    /// </summary>
    /// <remarks>
    /// The hypervisor's TSCs are taken to be synchronised across cores (an invariant TSC, as on
    /// every VT-x processor with EPT), so a TSC read on any core can be passed in.
    /// </remarks>
    public readonly struct ClockReference
    {
        public ClockReference(long unixSeconds, ulong tsc, ulong ticksPerSecond)
        {
            UnixSeconds = unixSeconds;
            Tsc = tsc;
            TicksPerSecond = ticksPerSecond == 0 ? 1 : ticksPerSecond;
        }

        /// <summary>Seconds since 1970-01-01 00:00:00 UTC at <see cref="Tsc"/>.</summary>
        public long UnixSeconds { get; }

        /// <summary>The TSC value at which the clock read <see cref="UnixSeconds"/>.</summary>
        public ulong Tsc { get; }

        /// <summary>TSC ticks per second (never 0).</summary>
        public ulong TicksPerSecond { get; }

        /// <summary>
        /// The whole seconds since the epoch at TSC value <paramref name="tsc"/>, counted down to
        /// the second (floor). A TSC a little behind <see cref="Tsc"/>, as another core's may
        /// be, gives a time before <see cref="UnixSeconds"/>, never a wrapped-around one.
        /// </summary>
        public long SecondsAt(ulong tsc)
        {
            if (tsc >= Tsc)
                return UnixSeconds + (long)((tsc - Tsc) / TicksPerSecond);
            ulong behind = Tsc - tsc;
            return UnixSeconds - (long)((behind + TicksPerSecond - 1) / TicksPerSecond);
        }
    }
}
