using System.Runtime;
using System.Runtime.CompilerServices;

namespace Internal.Runtime
{
    /// <summary>The core library's atomic operations (LOCK XADD, LOCK CMPXCHG in boot.asm).</summary>
    internal static unsafe class Atomic
    {
        /// <summary>Adds and returns the value before the add.</summary>
        [RuntimeImport("*", "arch_atomic_add")]
        [MethodImpl(MethodImplOptions.InternalCall)]
        internal static extern long Add(long* location, long value);

        /// <summary>Stores <paramref name="value"/> if the location holds <paramref name="comparand"/>; returns the old value.</summary>
        [RuntimeImport("*", "arch_compare_exchange64")]
        [MethodImpl(MethodImplOptions.InternalCall)]
        internal static extern long CompareExchange(long* location, long value, long comparand);

        /// <summary>The initial APIC ID of the CPU executing this (CPUID.1:EBX[31:24]).</summary>
        [RuntimeImport("*", "arch_current_apic_id")]
        [MethodImpl(MethodImplOptions.InternalCall)]
        internal static extern int CurrentCpuId();
    }
}
