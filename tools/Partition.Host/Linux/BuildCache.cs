using System.Diagnostics;

namespace Partition.Host.Linux
{
    /// <summary>
    /// The per-user build cache outside every clone, ${XDG_CACHE_HOME:-$HOME/.cache}/partition/, so
    /// that a kernel built once serves every worktree and survives 'git clean'. An entry is a
    /// directory that appears complete or not at all: it is built as ENTRY.partial under an
    /// exclusive lock on ENTRY.lock and renamed into place, so a second build of the same entry
    /// waits and then finds it, and a build that was killed leaves only a .partial that the next
    /// one deletes.
    /// </summary>
    public static class BuildCache
    {
        /// <summary>The cache root; XDG says a relative XDG_CACHE_HOME is invalid and to be ignored.</summary>
        public static string Root()
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            string baseDirectory;
            if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg))
            {
                baseDirectory = xdg;
            }
            else
            {
                string home = Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } h
                    ? h
                    : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                if (home.Length == 0)
                    throw new InvalidOperationException("Neither XDG_CACHE_HOME nor HOME is set: there is no place for the build cache.");
                baseDirectory = Path.Combine(home, ".cache");
            }
            return Path.Combine(baseDirectory, "partition");
        }

        /// <summary>
        /// Returns true when <paramref name="entry"/> already held <paramref name="marker"/> (a cache
        /// hit); otherwise runs <paramref name="build"/> on an empty ENTRY.partial directory, which
        /// must leave the marker file there, publishes it as <paramref name="entry"/> and returns false.
        /// </summary>
        public static bool GetOrBuild(string entry, string marker, Action<string> build, Action<string> log)
        {
            string markerPath = Path.Combine(entry, marker);
            if (File.Exists(markerPath))
                return true;
            Directory.CreateDirectory(Path.GetDirectoryName(entry)!);
            using (AcquireLock(entry + ".lock", log))
            {
                // Another run may have finished this entry while we waited for the lock.
                if (File.Exists(markerPath))
                    return true;
                string partial = entry + ".partial";
                if (Directory.Exists(partial))
                {
                    log($"Removing {partial}, left by a build that did not finish");
                    Directory.Delete(partial, recursive: true);
                }
                Directory.CreateDirectory(partial);
                build(partial);
                if (!File.Exists(Path.Combine(partial, marker)))
                    throw new InvalidOperationException($"The build left no {marker} in {partial}.");
                // Without the marker the entry is not complete (the files were removed by hand).
                if (Directory.Exists(entry))
                    Directory.Delete(entry, recursive: true);
                Directory.Move(partial, entry); // rename(2): the entry appears whole
                return false;
            }
        }

        /// <summary>
        /// Opens the lock file exclusively. On Linux .NET takes a flock(2) for FileShare.None, which
        /// the kernel drops when the process dies, so a killed build never leaves a stale lock.
        /// </summary>
        private static FileStream AcquireLock(string path, Action<string> log)
        {
            var waited = Stopwatch.StartNew();
            bool told = false;
            while (true)
            {
                try
                {
                    return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException) when (waited.Elapsed < TimeSpan.FromHours(2))
                {
                    if (!told)
                    {
                        log($"Waiting for another build that holds {path}");
                        told = true;
                    }
                    Thread.Sleep(TimeSpan.FromSeconds(2));
                }
            }
        }
    }
}
