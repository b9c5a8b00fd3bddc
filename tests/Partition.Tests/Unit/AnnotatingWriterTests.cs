using System.IO;
using NUnit.Framework;
using Partition.Host;

namespace Partition.Tests.Unit
{
    public class AnnotatingWriterTests
    {
        private const string Report =
            "*** partition wild vCPU 0 stopped: EPT violation\n" +
            "    code at RIP 0x0000000000200020 (64-bit): 48 89 18 48 8D 35 35 00 00 00\n" +
            "[host] progress 1\n";

        private const string Annotated =
            "*** partition wild vCPU 0 stopped: EPT violation\n" +
            "    code at RIP 0x0000000000200020 (64-bit): 48 89 18 48 8D 35 35 00 00 00\n" +
            "    instruction: mov [rax],rbx\n" +
            "[host] progress 1\n";

        [TestCase(1000, TestName = "All in one piece")]
        [TestCase(1, TestName = "One character at a time")]
        [TestCase(7, TestName = "Pieces cut mid-line")]
        [TestCase(95, TestName = "The code line's end and the next line in one piece")]
        public void The_instruction_lands_right_under_its_code_line(int pieceLength)
        {
            var output = new StringWriter();
            var writer = new AnnotatingWriter(output);
            for (int i = 0; i < Report.Length; i += pieceLength)
                writer.Write(Report.Substring(i, System.Math.Min(pieceLength, Report.Length - i)));
            Assert.That(output.ToString(), Is.EqualTo(Annotated));
        }

        [Test]
        public void An_unfinished_line_is_passed_through_at_once()
        {
            var output = new StringWriter();
            new AnnotatingWriter(output).Write("[manager] p");
            Assert.That(output.ToString(), Is.EqualTo("[manager] p"));
        }
    }
}
