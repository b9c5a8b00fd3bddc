using System.Text.RegularExpressions;
using Iced.Intel;

namespace Partition.Host
{
    /// <summary>
    /// Adds the disassembly to the hypervisor's crash reports. The image prints the bytes at a
    /// stopped guest's RIP ("code at RIP 0x… (64-bit): 48 89 18 …"); it has no disassembler, so
    /// the host tools decode them with Iced and add "instruction: mov [rax],rbx" below.
    /// </summary>
    public static class CrashAnnotator
    {
        private static readonly Regex CodeLine = new(@"^(?<indent>\s*)code at RIP 0x(?<rip>[0-9A-F]+) \((?<bits>16|32|64)-bit\):(?<bytes>(?: [0-9A-F]{2})+)$",
            RegexOptions.Multiline | RegexOptions.CultureInvariant);

        /// <summary>The serial text with an "instruction:" line after every "code at RIP" line.</summary>
        public static string Annotate(string serial) =>
            CodeLine.Replace(serial, match => match.Value + "\n" + match.Groups["indent"].Value + "instruction: " + Describe(match));

        /// <summary>The instruction for one line, or null if the line is not a "code at RIP" line.</summary>
        public static string? InstructionFor(string line)
        {
            var match = CodeLine.Match(line.TrimEnd('\r', '\n'));
            return match.Success ? Describe(match) : null;
        }

        private static string Describe(Match match)
        {
            ulong rip = ulong.Parse(match.Groups["rip"].Value, System.Globalization.NumberStyles.HexNumber);
            int bitness = int.Parse(match.Groups["bits"].Value);
            byte[] bytes = match.Groups["bytes"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(b => Convert.ToByte(b, 16)).ToArray();
            return Disassemble(bytes, bitness, rip);
        }

        /// <summary>
        /// What a crash report must show for the instruction <paramref name="emit"/> assembles:
        /// it assembled with Iced, then disassembled as the report's bytes are.
        /// </summary>
        public static string Disassemble(Action<Assembler> emit, int bitness = 64)
        {
            var a = new Assembler(bitness);
            emit(a);
            var stream = new MemoryStream();
            a.Assemble(new StreamCodeWriter(stream), 0);
            return Disassemble(stream.ToArray(), bitness, 0);
        }

        /// <summary>The first instruction of <paramref name="code"/> at <paramref name="rip"/>, in NASM syntax.</summary>
        public static string Disassemble(byte[] code, int bitness, ulong rip)
        {
            var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(code), rip);
            decoder.Decode(out var instruction);
            if (instruction.IsInvalid)
                return "(not a valid instruction)";
            var output = new StringOutput();
            new NasmFormatter().Format(instruction, output);
            return output.ToStringAndReset();
        }
    }
}
