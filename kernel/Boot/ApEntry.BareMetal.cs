using System.Runtime.InteropServices;

namespace Partition.Kernel
{
    internal static class ApEntry
    {
        /// <summary>Where the AP trampoline enters managed code, on the AP's own stack.</summary>
        [UnmanagedCallersOnly(EntryPoint = "partition_ap_main")]
        private static void Main(int cpu) => Smp.ApMain(cpu);
    }
}
