using System.Runtime.CompilerServices;

namespace Partition.Kernel
{
    /// <summary>
    /// A spinlock for short critical sections that take no lock of their own kind inside (a
    /// partition's device lock around one device access; a core's mailbox; the management
    /// line's queue; the real I/O APIC's registers). Unlike <see cref="SpinLock"/> it
    /// does not know its owner, so an uncontended Enter is one LOCK CMPXCHG and Exit one store
    /// (no CPUID to learn who is asking); the price is that a CPU entering it twice would wait
    /// for itself, so after about a second of spinning it stops the hypervisor and says so,
    /// rather than hang without a word.
    /// </summary>
    public sealed class PlainSpinLock
    {
        private long _held;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Enter()
        {
            if (Cpu.CompareExchange(ref _held, 1, 0) != 0)
                Wait();
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Exit() => Cpu.StoreRelease(ref _held, 0);

        /// <summary>Spins on plain reads (no locked instruction while it is held) until it is free and taken.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void Wait()
        {
            ulong spins = 0;
            do
            {
                while (Held() != 0)
                {
                    Cpu.Pause();
                    if (++spins == SpinLimit)
                        Panic.Stop("Lock", "a lock was held for 2^28 spins: taken twice on one CPU, or its holder stopped");
                }
            }
            while (Cpu.CompareExchange(ref _held, 1, 0) != 0);
        }

        // A call the compiler cannot inline, so the spin reads the field again each time (PAUSE
        // may be an empty method, as in the host tests, and the read would then leave the loop).
        [MethodImpl(MethodImplOptions.NoInlining)]
        private long Held() => _held;

        // At tens of nanoseconds a PAUSE, several seconds; device accesses hold it for microseconds.
        private const ulong SpinLimit = 1UL << 28;
    }
}
