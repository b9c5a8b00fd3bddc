using System;

namespace Partition.Kernel
{
    /// <summary>
    /// The kernel command line: space-separated words, each "key=value" or a bare "key".
    /// Known keys: exit=poweroff (power off when there is nothing left to run instead of
    /// halting), fault=page|throw|heap (deliberate faults that exercise the crash paths).
    /// </summary>
    public readonly struct KernelCommandLine
    {
        private readonly string _text;

        public KernelCommandLine(string text) { _text = text ?? ""; }

        public string Text => _text;

        /// <summary>The value of the last "key=value" word with this key, or null if there is none.</summary>
        public string Get(string key)
        {
            string found = null;
            int i = 0;
            while (i < _text.Length)
            {
                while (i < _text.Length && _text[i] == ' ')
                    i++;
                int start = i;
                while (i < _text.Length && _text[i] != ' ')
                    i++;
                if (i == start)
                    break;
                var word = _text.AsSpan().Slice(start, i - start);
                if (word.Length > key.Length && word[key.Length] == '=' && word.StartsWith(key.AsSpan()))
                    found = new string(word.Slice(key.Length + 1));
                else if (word.Length == key.Length && word.StartsWith(key.AsSpan()))
                    found = "";
            }
            return found;
        }

        public bool Is(string key, string value) => Get(key) == value;
    }
}
