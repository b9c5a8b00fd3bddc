using System;
using System.Diagnostics;
using System.IO;
using NUnit.Framework;

namespace Partition.Tests.Support
{
    /// <summary>
    /// Runs ACPICA's iasl (Debian package acpica-tools, which bootstrap.sh installs) on tables
    /// the tests produce: the reference implementation of ACPI table parsing, the same code
    /// Linux uses, as an independent check of what we write.
    /// </summary>
    public static class Iasl
    {
        public const string Executable = "iasl";

        /// <summary>The result of one run: exit code, everything iasl printed, and the file it wrote (.dsl or .aml), if any.</summary>
        public sealed class Run
        {
            public int ExitCode { get; init; }
            public string Output { get; init; }
            public string Produced { get; init; }
        }

        /// <summary>Fails the test with what to install when iasl is missing.</summary>
        public static void Require()
        {
            foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':'))
                if (directory.Length > 0 && File.Exists(Path.Combine(directory, Executable)))
                    return;
            Assert.Fail("iasl not found on PATH: install the Debian package acpica-tools " +
                        "(./bootstrap.sh installs it; or: apt-get install acpica-tools)");
        }

        /// <summary>
        /// Disassembles a binary table (<c>iasl -d</c>) written to <paramref name="directory"/>
        /// as <paramref name="name"/>.dat; returns the run with the .dsl text.
        /// </summary>
        public static Run Disassemble(string directory, string name, ReadOnlySpan<byte> table)
        {
            string input = Path.Combine(directory, name + ".dat");
            File.WriteAllBytes(input, table.ToArray());
            string dsl = Path.Combine(directory, name + ".dsl");
            File.Delete(dsl);
            var run = Execute(directory, "-d", input);
            return new Run { ExitCode = run.ExitCode, Output = run.Output, Produced = File.Exists(dsl) ? File.ReadAllText(dsl) : null };
        }

        /// <summary>
        /// Compiles ASL (<c>iasl</c>, with <paramref name="options"/>) written to
        /// <paramref name="directory"/> as <paramref name="name"/>.asl; returns the run with
        /// the AML bytes as Base64 in <see cref="Run.Produced"/>.
        /// </summary>
        public static Run Compile(string directory, string name, string asl, params string[] options)
        {
            string input = Path.Combine(directory, name + ".asl");
            File.WriteAllText(input, asl);
            string aml = Path.Combine(directory, name + ".aml");
            File.Delete(aml);
            var arguments = new string[options.Length + 3];
            options.CopyTo(arguments, 0);
            arguments[options.Length] = "-p";
            arguments[options.Length + 1] = Path.Combine(directory, name);
            arguments[options.Length + 2] = input;
            var run = Execute(directory, arguments);
            return new Run
            {
                ExitCode = run.ExitCode,
                Output = run.Output,
                Produced = File.Exists(aml) ? Convert.ToBase64String(File.ReadAllBytes(aml)) : null,
            };
        }

        private static Run Execute(string directory, params string[] arguments)
        {
            Require();
            var start = new ProcessStartInfo(Executable)
            {
                WorkingDirectory = directory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string argument in arguments)
                start.ArgumentList.Add(argument);
            using var process = Process.Start(start);
            var stderr = process.StandardError.ReadToEndAsync();
            string stdout = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(30_000))
            {
                process.Kill();
                Assert.Fail("iasl " + string.Join(' ', arguments) + " did not finish in 30 s");
            }
            return new Run { ExitCode = process.ExitCode, Output = stdout + stderr.Result };
        }
    }
}
