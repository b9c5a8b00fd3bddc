using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using NUnit.Framework;
using Partition.Host.Linux;

namespace Partition.Tests.Unit.Linux
{
    /// <summary>
    /// The user-mode hypercall program the host partition's system test runs: a valid static
    /// ELF64 that Linux runs. On the build machine, with no hypervisor, its VMCALLs are replaced
    /// by NOPs, so each line shows the function number still in RAX.
    /// </summary>
    public class UserModeHypercallsTests
    {
        private static readonly byte[] Vmcall = { 0x0F, 0x01, 0xC1 };

        [Test]
        public void It_calls_every_function_and_prints_each_result()
        {
            byte[] program = UserModeHypercalls.Program();
            int calls = 0;
            for (int i = 0; i + 3 <= program.Length; i++)
            {
                if (program.AsSpan(i, 3).SequenceEqual(Vmcall))
                {
                    program[i] = program[i + 1] = program[i + 2] = 0x90;
                    calls++;
                }
            }
            Assert.That(calls, Is.EqualTo(UserModeHypercalls.Functions));
            if (OperatingSystem.IsLinux() && RuntimeInformation.OSArchitecture == Architecture.X64)
                Run(program);
            else
                Assert.Ignore("runs the program: needs x86-64 Linux");
        }

        [SupportedOSPlatform("linux")]
        private static void Run(byte[] program)
        {
            string path = Path.Combine(Path.GetTempPath(), $"user-hypercalls-{Guid.NewGuid():N}");
            File.WriteAllBytes(path, program);
            try
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute);
                using var process = Process.Start(new ProcessStartInfo(path) { RedirectStandardOutput = true })!;
                string output = process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                Assert.That(process.ExitCode, Is.Zero);
                var expected = Enumerable.Range(0, UserModeHypercalls.Functions)
                    .Select(f => $"{UserModeHypercalls.LinePrefix}{f}: rax=0x{f:x16}\n");
                Assert.That(output, Is.EqualTo(string.Concat(expected)));
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}
