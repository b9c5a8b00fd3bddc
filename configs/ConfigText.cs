using System;
using Partition.Kernel;

namespace Partition.Configs
{
    /// <summary>
    /// Text helpers for configuration messages that work without the BCL: numbers to strings,
    /// and the "did you mean" suggestion by edit distance.
    /// </summary>
    public static class ConfigText
    {
        public static string Decimal(ulong value)
        {
            Span<char> buffer = stackalloc char[20];
            return new string(buffer.Slice(0, NumberFormat.FormatDecimal(value, buffer)));
        }

        public static string Decimal(int value)
        {
            Span<char> buffer = stackalloc char[12];
            return new string(buffer.Slice(0, NumberFormat.FormatDecimal(value, buffer)));
        }

        /// <summary>"0x" and the value in upper-case hex.</summary>
        public static string Hex(ulong value)
        {
            Span<char> buffer = stackalloc char[18];
            buffer[0] = '0';
            buffer[1] = 'x';
            return new string(buffer.Slice(0, 2 + NumberFormat.FormatHex(value, 1, buffer.Slice(2))));
        }

        /// <summary>A size in its largest exact binary unit, e.g. "64 MiB".</summary>
        public static string Size(ulong bytes)
        {
            Span<char> buffer = stackalloc char[28];
            return new string(buffer.Slice(0, NumberFormat.FormatSize(bytes, buffer)));
        }

        /// <summary>
        /// How many characters of a value from the config a message quotes: enough to recognise
        /// it, and a 1 MiB key or string is not echoed whole (once in the path, again in the message).
        /// </summary>
        public const int QuoteLimit = 40;

        /// <summary><paramref name="text"/> in double quotes, cut after <see cref="QuoteLimit"/> characters with "...".</summary>
        public static string Quote(string text) => string.Concat("\"", Cut(text), "\"");

        /// <summary><paramref name="text"/> cut after <see cref="QuoteLimit"/> characters, with "..." when it was longer.</summary>
        public static string Cut(string text)
        {
            if (text.Length <= QuoteLimit)
                return text;
            // Never between the two halves of a surrogate pair.
            int length = text[QuoteLimit - 1] >= 0xD800 && text[QuoteLimit - 1] <= 0xDBFF ? QuoteLimit - 1 : QuoteLimit;
            return Cut(text.Substring(0, length), true);
        }

        /// <summary>A prefix of a longer text (<paramref name="cut"/>) marked with "...".</summary>
        public static string Cut(string prefix, bool cut) => cut ? string.Concat(prefix, "...") : prefix;

        public static int HexDigit(byte b)
        {
            if (b >= (byte)'0' && b <= (byte)'9')
                return b - '0';
            if (b >= (byte)'a' && b <= (byte)'f')
                return b - 'a' + 10;
            if (b >= (byte)'A' && b <= (byte)'F')
                return b - 'A' + 10;
            return -1;
        }

        /// <summary>
        /// Edit distance (insert, delete, substitute, swap two neighbours: each 1), or int.MaxValue for strings too
        /// long to be worth comparing (keys are short; this keeps the work and stack bounded).
        /// </summary>
        public static int EditDistance(string a, string b)
        {
            if (a.Length > 40 || b.Length > 40)
                return int.MaxValue;
            Span<int> beforePrevious = stackalloc int[41];
            Span<int> previous = stackalloc int[41];
            Span<int> current = stackalloc int[41];
            for (int j = 0; j <= b.Length; j++)
                previous[j] = j;
            for (int i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                for (int j = 1; j <= b.Length; j++)
                {
                    int cost = Lower(a[i - 1]) == Lower(b[j - 1]) ? 0 : 1;
                    int best = previous[j - 1] + cost;
                    best = Math.Min(best, previous[j] + 1);
                    best = Math.Min(best, current[j - 1] + 1);
                    // Two swapped neighbours are one typo (optimal string alignment distance).
                    if (i > 1 && j > 1 && Lower(a[i - 1]) == Lower(b[j - 2]) && Lower(a[i - 2]) == Lower(b[j - 1]))
                        best = Math.Min(best, beforePrevious[j - 2] + 1);
                    current[j] = best;
                }
                for (int j = 0; j <= b.Length; j++)
                {
                    beforePrevious[j] = previous[j];
                    previous[j] = current[j];
                }
            }
            return previous[b.Length];
        }

        /// <summary>The candidate closest to <paramref name="word"/> if it is close enough to be a likely typo, else null.</summary>
        public static string Suggest(string word, string[] candidates)
        {
            string best = null;
            int bestDistance = int.MaxValue;
            for (int i = 0; i < candidates.Length; i++)
            {
                int distance = EditDistance(word, candidates[i]);
                if (distance < bestDistance)
                {
                    bestDistance = distance;
                    best = candidates[i];
                }
            }
            // At most a third of the word may differ (and at least one edit is always allowed).
            int allowed = Math.Max(1, Math.Max(word.Length, best == null ? 0 : best.Length) / 3);
            return bestDistance <= allowed ? best : null;
        }

        /// <summary>"a, b or c", each in double quotes.</summary>
        public static string QuotedList(string[] words)
        {
            string text = "";
            for (int i = 0; i < words.Length; i++)
            {
                string separator = i == 0 ? "" : i == words.Length - 1 ? " or " : ", ";
                text = string.Concat(text, separator, "\"", string.Concat(words[i], "\""));
            }
            return text;
        }

        private static char Lower(char c) => c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
}
