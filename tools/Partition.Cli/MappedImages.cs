#nullable enable
using System.IO.MemoryMappedFiles;

namespace Partition.Cli
{
    /// <summary>
    /// Guest image files mapped read-only for as long as the checks run, so that a checker
    /// reads only the bytes it looks at (a kernel's header, the segments a loader copies) rather
    /// than the whole file, however large.
    /// </summary>
    internal sealed unsafe class MappedImages : IDisposable
    {
        private readonly List<(MemoryMappedFile File, MemoryMappedViewAccessor View)> _maps = new();

        /// <summary>The address of <paramref name="file"/>'s first byte (its <paramref name="size"/> bytes readable there), or 0 if it cannot be mapped.</summary>
        public ulong Map(string file, ulong size)
        {
            try
            {
                var map = MemoryMappedFile.CreateFromFile(file, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
                var view = map.CreateViewAccessor(0, (long)size, MemoryMappedFileAccess.Read);
                _maps.Add((map, view));
                byte* pointer = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                return (ulong)(pointer + view.PointerOffset);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                return 0; // sized only, as a module that is not in memory
            }
        }

        public void Dispose()
        {
            foreach (var (file, view) in _maps)
            {
                view.SafeMemoryMappedViewHandle.ReleasePointer();
                view.Dispose();
                file.Dispose();
            }
            _maps.Clear();
        }
    }
}
