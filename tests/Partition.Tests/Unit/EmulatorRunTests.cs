using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using NUnit.Framework;
using Partition.Host;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// A run whose COM1 is a socket, with a bash script in the emulator's place (it connects
    /// through /dev/tcp as Bochs' mode=socket-client does): a fragment counts once its line has
    /// ended, typed lines reach the machine and their answers are found after a mark, and the
    /// copy in serial.txt is byte for byte what was sent, up to the last byte before the exit.
    /// </summary>
    public class EmulatorRunTests
    {
        private const string Machine = """
            exec 3<>/dev/tcp/127.0.0.1/$PORT
            printf 'boot\r\nlinux up: 1 CPU' >&3
            sleep 0.5
            printf 's, kernel 6.1\r\n' >&3
            while IFS= read -r -d $'\r' line <&3; do
                [ "$line" = quit ] && break
                printf 'got: %s\r\n' "$line" >&3
            done
            printf 'bye\r\n' >&3
            """;

        private sealed class ScriptRun : EmulatorRun
        {
            public ScriptRun(string iso, string directory) : base(iso, directory) { }

            public override string Emulator => "script";

            protected override bool UsesSerialSocket => true;

            protected override ProcessStartInfo Prepare()
            {
                var info = new ProcessStartInfo("bash");
                info.ArgumentList.Add("-c");
                info.ArgumentList.Add(Machine);
                info.Environment["PORT"] = SerialSocketAddress.Split(':')[1];
                return info;
            }
        }

        private string _directory;

        [SetUp]
        public void CreateDirectory()
        {
            _directory = Path.Combine(Path.GetTempPath(), "emulator-run-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_directory);
            File.WriteAllText(Path.Combine(_directory, "fake.iso"), "");
        }

        [TearDown]
        public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

        [Test]
        public void A_live_run_is_typed_into_and_its_copy_is_exactly_what_was_sent()
        {
            using var run = new ScriptRun(Path.Combine(_directory, "fake.iso"), Path.Combine(_directory, "run"));
            Assert.That(run.AcceptsInput, Is.False, "no socket before the start");
            run.Start();
            Assert.That(run.AcceptsInput, Is.True);

            // The fragment came half a second before its line ended: the wait returns with the whole line.
            var up = run.WaitForSerial(new[] { "linux up: " }, TimeSpan.FromSeconds(30));
            Assert.That(up.Outcome, Is.EqualTo(RunOutcome.SerialMatched), up.Report());
            Assert.That(up.Serial, Does.Contain("linux up: 1 CPUs, kernel 6.1\n"), up.Report());

            // "got: list" may not be looked for before the mark: a wait from the mark finds the answer.
            int mark = run.SerialLength;
            run.Type("list\r");
            var list = run.WaitForSerial(new[] { "got: list\n" }, TimeSpan.FromSeconds(30), mark);
            Assert.That(list.Outcome, Is.EqualTo(RunOutcome.SerialMatched), list.Report());
            mark = run.SerialLength;
            run.Type("list\r");
            list = run.WaitForSerial(new[] { "got: list\n" }, TimeSpan.FromSeconds(30), mark);
            Assert.That(list.Outcome, Is.EqualTo(RunOutcome.SerialMatched), list.Report());
            Assert.That(list.Serial.Substring(mark), Is.EqualTo("got: list\n"));

            run.Type("quit\r");
            var end = run.WaitForExit(TimeSpan.FromSeconds(30));
            Assert.That(end.Outcome, Is.EqualTo(RunOutcome.Exited), end.Report());
            Assert.That(end.Serial, Is.EqualTo("boot\nlinux up: 1 CPUs, kernel 6.1\ngot: list\ngot: list\nbye\n"));
            Assert.That(File.ReadAllBytes(run.SerialPath),
                Is.EqualTo(Encoding.ASCII.GetBytes("boot\r\nlinux up: 1 CPUs, kernel 6.1\r\ngot: list\r\ngot: list\r\nbye\r\n")));
        }

        [Test]
        public void A_wait_from_beyond_the_output_read_so_far_is_refused()
        {
            using var run = new ScriptRun(Path.Combine(_directory, "fake.iso"), Path.Combine(_directory, "run"));
            run.Start();
            Assert.Throws<ArgumentOutOfRangeException>(() => run.WaitForSerial(new[] { "x" }, TimeSpan.FromSeconds(1), run.SerialLength + 1));
        }
    }
}
