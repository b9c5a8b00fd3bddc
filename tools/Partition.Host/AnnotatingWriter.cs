using System.Text;

namespace Partition.Host
{
    /// <summary>
    /// Passes serial output through as it arrives, in pieces cut anywhere, and writes the
    /// instruction <see cref="CrashAnnotator"/> decodes right under each crash report's
    /// "code at RIP" line: line by line, so it never lands inside the text that followed in
    /// the same piece.
    /// </summary>
    public sealed class AnnotatingWriter
    {
        private readonly TextWriter _output;
        private readonly StringBuilder _line = new();

        public AnnotatingWriter(TextWriter output) => _output = output;

        public void Write(string piece)
        {
            int start = 0;
            for (int i = 0; i < piece.Length; i++)
            {
                if (piece[i] != '\n')
                    continue;
                _line.Append(piece, start, i - start);
                _output.Write(piece.AsSpan(start, i + 1 - start));
                start = i + 1;
                if (CrashAnnotator.InstructionFor(_line.ToString()) is { } instruction)
                    _output.Write($"    instruction: {instruction}\n");
                _line.Clear();
            }
            _line.Append(piece, start, piece.Length - start);
            _output.Write(piece.AsSpan(start));
            _output.Flush();
        }
    }
}
