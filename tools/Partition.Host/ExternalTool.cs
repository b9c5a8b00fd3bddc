using System.Diagnostics;
using System.Text;

namespace Partition.Host
{
    /// <summary>A program from a Debian package that the host code runs (grub-mkrescue, bochs, qemu).</summary>
    public static class ExternalTool
    {
        /// <summary>
        /// The full path of <paramref name="program"/> on PATH, or a <see cref="ToolNotFoundException"/>
        /// that names the Debian packages which provide it.
        /// </summary>
        public static string Find(string program, string debianPackages)
        {
            string? path = TryFind(program);
            if (path == null)
                throw new ToolNotFoundException(program, debianPackages);
            return path;
        }

        public static string? TryFind(string program)
        {
            if (program.Contains('/'))
                return File.Exists(program) ? Path.GetFullPath(program) : null;
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            {
                if (dir.Length == 0)
                    continue;
                string candidate = Path.Combine(dir, program);
                if (File.Exists(candidate))
                    return candidate;
            }
            return null;
        }

        /// <summary>
        /// Runs a program to completion with stdin closed and returns its exit code and its combined
        /// stdout and stderr. Kills it (and its children) if it outlives <paramref name="timeout"/>.
        /// </summary>
        public static (int ExitCode, string Output) Run(string fileName, IEnumerable<string> arguments, string? workingDirectory, TimeSpan timeout)
        {
            var info = new ProcessStartInfo(fileName)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
            };
            foreach (string argument in arguments)
                info.ArgumentList.Add(argument);

            var output = new StringBuilder();
            using var process = new Process { StartInfo = info };
            process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
            process.Start();
            process.StandardInput.Close();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                lock (output)
                    return (-1, output + $"{Path.GetFileName(fileName)} killed after {timeout.TotalSeconds:0} s");
            }
            process.WaitForExit(); // drains the asynchronous output readers
            lock (output)
                return (process.ExitCode, output.ToString());
        }
    }

    /// <summary>A required host program is not installed.</summary>
    public sealed class ToolNotFoundException : InvalidOperationException
    {
        public ToolNotFoundException(string program, string debianPackages)
            : base($"'{program}' was not found on PATH. Install the Debian packages {debianPackages} " +
                   "(./bootstrap.sh installs everything the project needs).")
        {
            Program = program;
        }

        public string Program { get; }
    }
}
