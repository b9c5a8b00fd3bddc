#nullable enable
using Partition.Configs;

namespace Partition.Cli
{
    /// <summary>
    /// A config file read with bounds: only a regular file is opened (a FIFO would block, a
    /// device such as /dev/zero never ends), and never more than <see cref="ConfigChecker.MaxBytes"/>
    /// plus one byte of it is read, whatever its size claims.
    /// </summary>
    internal static class ConfigFile
    {
        /// <summary>The file's bytes, or null with <paramref name="problem"/> in plain words.</summary>
        public static byte[]? Read(string path, string full, out string? problem)
        {
            FileKind kind = FileKinds.Of(full, out long size);
            switch (kind)
            {
                case FileKind.Regular:
                    break;
                case FileKind.Missing:
                    problem = $"cannot read {path}: there is no such file";
                    return null;
                case FileKind.Inaccessible:
                    problem = $"cannot read {path}: permission denied";
                    return null;
                case FileKind.Directory:
                    problem = $"{path} is a directory, not a config file{ExampleIn(path, full)}";
                    return null;
                default:
                    problem = $"{path} is {FileKinds.Describe(kind)}, not a config file; write the config to a file and check that";
                    return null;
            }
            if (size > ConfigChecker.MaxBytes)
            {
                problem = $"cannot check {path}: {ConfigChecker.TooLarge((ulong)size)}";
                return null;
            }
            try
            {
                using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
                // The size from stat is a hint (the file may grow; /proc files say 0): read to the limit and one byte past it.
                var buffer = new byte[Math.Min(size, ConfigChecker.MaxBytes) + 1];
                int length = 0;
                while (true)
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length > ConfigChecker.MaxBytes)
                        {
                            problem = $"cannot check {path}: {ConfigChecker.TooLarge((ulong)Math.Max(size, length))}";
                            return null;
                        }
                        Array.Resize(ref buffer, Math.Min(buffer.Length * 2, ConfigChecker.MaxBytes + 1));
                    }
                    int read = stream.Read(buffer, length, buffer.Length - length);
                    if (read == 0)
                        break;
                    length += read;
                }
                problem = null;
                return buffer.AsSpan(0, length).ToArray();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem = $"cannot read {path}: {e.Message}";
                return null;
            }
        }

        // "; give a .json file in it, such as configs/demo.json", or nothing when it has none.
        private static string ExampleIn(string path, string full)
        {
            try
            {
                string? first = Directory.EnumerateFiles(full, "*.json").Where(f => !f.EndsWith(".schema.json", StringComparison.Ordinal)).Order(StringComparer.Ordinal).FirstOrDefault();
                return first == null ? "" : $"; give a .json file in it, such as {Path.Combine(path, Path.GetFileName(first))}";
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return "";
            }
        }
    }
}
