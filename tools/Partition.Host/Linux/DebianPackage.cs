using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO;

namespace Partition.Host.Linux
{
    /// <summary>A Debian package fetched with apt-get, of which only a few files are wanted.</summary>
    internal static class DebianPackage
    {
        /// <summary>
        /// Downloads PACKAGE=VERSION into <paramref name="directory"/> and extracts the regular
        /// files of its data archive that <paramref name="keep"/> names (it gets the path without
        /// "./" and returns the file name to write in the directory, or null), reading the archive
        /// dpkg-deb streams instead of unpacking it all; then deletes the .deb. Returns the names
        /// written. Throws if the download or dpkg-deb fails.
        /// </summary>
        public static HashSet<string> DownloadAndExtract(string package, string version, string directory, TimeSpan timeout, Func<string, string?> keep)
        {
            string aptGet = ExternalTool.Find("apt-get", "apt");
            var (status, output) = ExternalTool.Run(aptGet, new[] { "download", $"{package}={version}" }, directory, timeout);
            string[] debs = Directory.GetFiles(directory, "*.deb");
            if (status != 0 || debs.Length != 1)
                throw new InvalidOperationException($"apt-get download {package}={version} failed (exit status {status}):\n{output}");

            string dpkgDeb = ExternalTool.Find("dpkg-deb", "dpkg");
            var info = new ProcessStartInfo(dpkgDeb)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.ArgumentList.Add("--fsys-tarfile");
            info.ArgumentList.Add(debs[0]);
            using var process = Process.Start(info)!;
            var errors = process.StandardError.ReadToEndAsync();
            var written = new HashSet<string>();
            using (var reader = new TarReader(process.StandardOutput.BaseStream, leaveOpen: true))
            {
                while (reader.GetNextEntry() is { } entry)
                {
                    if (entry.EntryType != TarEntryType.RegularFile && entry.EntryType != TarEntryType.V7RegularFile)
                        continue;
                    string name = entry.Name.StartsWith("./", StringComparison.Ordinal) ? entry.Name.Substring(2) : entry.Name;
                    if (keep(name) is string target)
                    {
                        entry.ExtractToFile(Path.Combine(directory, target), overwrite: true);
                        written.Add(target);
                    }
                }
            }
            // Whatever follows the archive's end (block padding) is read too: dpkg-deb must not
            // die of SIGPIPE, whose exit status would look like a broken package.
            process.StandardOutput.BaseStream.CopyTo(Stream.Null);
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"dpkg-deb --fsys-tarfile {debs[0]} failed (exit status {process.ExitCode}): {errors.Result}");
            File.Delete(debs[0]);
            return written;
        }
    }
}
