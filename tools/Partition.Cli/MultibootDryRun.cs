#nullable enable
using System.Runtime.InteropServices;
using Partition.Configs;
using Partition.Kernel;

namespace Partition.Cli
{
    /// <summary>
    /// A Multiboot partition's kernel and modules loaded by the boot's own loader
    /// (<see cref="MultibootLoader.TryLoad"/>), into zeroed memory the size of the partition's
    /// RAM, and thrown away: what it refuses, the boot would refuse, in the same words (no
    /// Multiboot header, address fields or ELF segments that do not fit, a command line or
    /// modules with no room left for them).
    /// </summary>
    /// <remarks>
    /// The memory is reserved, not touched: calloc's large blocks are fresh mappings, so only
    /// the pages the loader writes (the kernel, the modules, the boot information) cost anything.
    /// </remarks>
    internal static unsafe class MultibootDryRun
    {
        /// <summary>The loader's error for <paramref name="partition"/>, or null if it loads (or cannot be tried here).</summary>
        public static string? Load(PartitionConfig partition, List<BootModule> modules)
        {
            var boot = partition.Boot;
            // The boot creates partitions of one region at guest-physical 0 (PartitionSpec); others it refuses before loading.
            if (partition.Memory.Length != 1 || partition.Memory[0].GuestPhysical != 0 || partition.Memory[0].Size == 0)
                return null;
            ulong memorySize = partition.Memory[0].Size;
            if (!TryFind(boot.Kernel, modules, out var kernel) || kernel.Start == 0)
                return null;
            var guestModules = new GuestModule[boot.Modules.Length];
            for (int i = 0; i < guestModules.Length; i++)
            {
                if (!TryFind(boot.Modules[i], modules, out var module) || (module.Start == 0 && module.Size != 0))
                    return null;
                guestModules[i] = new GuestModule(module.Start, module.Size, boot.Modules[i].CommandLine);
            }
            byte* guest;
            try
            {
                guest = (byte*)NativeMemory.AllocZeroed((nuint)memorySize);
            }
            catch (OutOfMemoryException)
            {
                return null; // more than this host will lend: the boot loads it or says why
            }
            try
            {
                return MultibootLoader.TryLoad(new ReadOnlySpan<byte>((void*)kernel.Start, (int)kernel.Size), guest, memorySize, boot.CommandLine,
                    guestModules, out _, out string error) ? null : error;
            }
            finally
            {
                NativeMemory.Free(guest);
            }
        }

        /// <summary>The boot module <paramref name="image"/> stands for, found by its command line as the boot finds it.</summary>
        internal static bool TryFind(ImageReference image, List<BootModule> modules, out BootModule found)
        {
            foreach (var module in modules)
            {
                string line = module.CommandLine;
                if (line == image.ModuleCommandLine || line.StartsWith(image.ModuleCommandLine + " ", StringComparison.Ordinal))
                {
                    found = module;
                    return true;
                }
            }
            found = default;
            return false;
        }
    }
}
