using System.Runtime.InteropServices;

namespace Partition.Kernel
{
    /// <summary>The image's entry points, called from the core library and the boot stub.</summary>
    internal static unsafe class KernelEntry
    {
        /// <summary>Entered once the core library has set up the heap and the statics.</summary>
        [UnmanagedCallersOnly(EntryPoint = "partition_main")]
        private static void Main(void* multiboot2Information) => Hypervisor.Boot((byte*)multiboot2Information);

        /// <summary>The core library's way out: an unhandled throw, an exhausted heap.</summary>
        [UnmanagedCallersOnly(EntryPoint = "partition_fail_fast")]
        private static void FailFast(char* kind, int kindLength, char* message, int messageLength) =>
            Panic.Stop(new System.ReadOnlySpan<char>(kind, kindLength), new System.ReadOnlySpan<char>(message, messageLength));
    }
}
