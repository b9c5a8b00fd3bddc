using Internal.Runtime.CompilerHelpers;

namespace System
{
    /// <summary>
    /// The part of .NET's GC class the hypervisor uses: how much its heap has handed out. There
    /// is no collector; the boot heap only grows, which is why code that runs after boot must
    /// not allocate (the attack suite checks that guests cannot make it).
    /// </summary>
    public static class GC
    {
        public static long GetTotalAllocatedBytes(bool precise = false) => (long)StartupCodeHelpers.HeapUsed;
    }
}
