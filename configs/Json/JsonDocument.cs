using System;

namespace Partition.Configs
{
    /// <summary>
    /// A parsed JSON text (RFC 8259) kept as a flat table of nodes over a copy of the UTF-8 input.
    /// Nothing is decoded until asked for: strings stay bytes until <see cref="GetString"/>, and
    /// line, column and JSON path are computed only for nodes that an error names.
    /// </summary>
    /// <remarks>
    /// Memory is bounded by the input: the node table is allocated once, with one slot per
    /// structural character that can start a value or key (',' ':' '[' '{') plus one, which is an
    /// upper bound on the number of nodes; nothing else grows while parsing. Nesting deeper than
    /// <see cref="MaxDepth"/> is a syntax error, so recursion is bounded too. The first syntax error
    /// stops parsing (what follows a syntax error has no reliable structure).
    /// </remarks>
    public sealed class JsonDocument
    {
        public const int MaxDepth = 32;

        private struct Node
        {
            public JsonKind Kind;
            public int Start;      // offset of the first byte of the token (the quote of a string)
            public int End;        // offset after the last byte of the token, or of the closing bracket
            public int Parent;     // container node, -1 for the root
            public int Key;        // the key's string node for an object member, else -1
            public int FirstChild; // first element or member value, -1 if none
            public int Next;       // next sibling in the container, -1 if last
        }

        private readonly byte[] _text;
        private readonly Node[] _nodes;
        private int _count;
        private int _position;

        private JsonDocument(ReadOnlySpan<byte> utf8)
        {
            _text = utf8.ToArray();
            int bound = 1;
            for (int i = 0; i < utf8.Length; i++)
            {
                byte b = utf8[i];
                if (b == (byte)',' || b == (byte)':' || b == (byte)'[' || b == (byte)'{')
                    bound++;
            }
            _nodes = new Node[bound];
            Root = -1;
        }

        /// <summary>The root value's node, or -1 when the text did not parse.</summary>
        public int Root { get; private set; }

        public bool HasSyntaxError => SyntaxErrorMessage != null;

        /// <summary>The first syntax error, or null.</summary>
        public string SyntaxErrorMessage { get; private set; }

        /// <summary>The byte offset of the syntax error.</summary>
        public int SyntaxErrorOffset { get; private set; }

        /// <summary>The container in which the syntax error was found (-1: at the top level).</summary>
        public int SyntaxErrorContainer { get; private set; }

        public int Length => _text.Length;

        /// <summary>Parses <paramref name="utf8"/>; check <see cref="HasSyntaxError"/>.</summary>
        public static JsonDocument Parse(ReadOnlySpan<byte> utf8)
        {
            var document = new JsonDocument(utf8);
            document.ParseText();
            return document;
        }

        // ---- Navigation ----

        public JsonKind KindOf(int node) => _nodes[node].Kind;

        public int Parent(int node) => _nodes[node].Parent;

        public int FirstChild(int node) => _nodes[node].FirstChild;

        public int NextSibling(int node) => _nodes[node].Next;

        /// <summary>The key node of an object member's value (-1 for array elements and the root).</summary>
        public int KeyOf(int node) => _nodes[node].Key;

        public int StartOffset(int node) => _nodes[node].Start;

        public int ChildCount(int node)
        {
            int count = 0;
            for (int child = _nodes[node].FirstChild; child >= 0; child = _nodes[child].Next)
                count++;
            return count;
        }

        /// <summary>The value of the first member named <paramref name="key"/> of an object, or -1.</summary>
        public int Member(int objectNode, string key)
        {
            if (objectNode < 0 || _nodes[objectNode].Kind != JsonKind.Object)
                return -1;
            for (int child = _nodes[objectNode].FirstChild; child >= 0; child = _nodes[child].Next)
                if (StringEquals(_nodes[child].Key, key))
                    return child;
            return -1;
        }

        /// <summary>Whether a string node's value equals <paramref name="value"/>, without allocating when it has no escapes.</summary>
        public bool StringEquals(int node, string value)
        {
            ref Node n = ref _nodes[node];
            if (n.Kind != JsonKind.String)
                return false;
            int start = n.Start + 1, length = n.End - 1 - start;
            bool plain = true;
            for (int i = 0; i < length; i++)
                if (_text[start + i] == (byte)'\\' || _text[start + i] >= 0x80)
                    plain = false;
            if (!plain)
                return GetString(node) == value;
            if (length != value.Length)
                return false;
            for (int i = 0; i < length; i++)
                if (_text[start + i] != value[i])
                    return false;
            return true;
        }

        /// <summary>The decoded value of a string node.</summary>
        public string GetString(int node) => Decode(node, int.MaxValue, out _);

        /// <summary>
        /// At most the first <paramref name="maxChars"/> characters of a string node, for quoting
        /// in a message; <paramref name="cut"/> says whether there was more. Decodes (and
        /// allocates for) no more than it returns, however long the string.
        /// </summary>
        public string GetStringPrefix(int node, int maxChars, out bool cut) => Decode(node, maxChars, out cut);

        private string Decode(int node, int maxChars, out bool cut)
        {
            ref Node n = ref _nodes[node];
            int at = n.Start + 1, end = n.End - 1;
            cut = false;
            if (end <= at)
                return "";
            // UTF-16 never needs more code units than the UTF-8 or escaped form has bytes; one
            // more than the limit leaves room for a surrogate pair that straddles it.
            var chars = new char[Math.Min(end - at, maxChars == int.MaxValue ? int.MaxValue : maxChars + 1)];
            int length = 0;
            while (at < end)
            {
                if (length >= maxChars)
                {
                    cut = true;
                    break;
                }
                byte b = _text[at];
                if (b == (byte)'\\')
                {
                    byte e = _text[at + 1];
                    at += 2;
                    switch (e)
                    {
                        case (byte)'b': chars[length++] = '\b'; break;
                        case (byte)'f': chars[length++] = '\f'; break;
                        case (byte)'n': chars[length++] = '\n'; break;
                        case (byte)'r': chars[length++] = '\r'; break;
                        case (byte)'t': chars[length++] = '\t'; break;
                        case (byte)'u':
                            chars[length++] = (char)Hex4(at);
                            at += 4;
                            break;
                        default: chars[length++] = (char)e; break; // '"', '\\', '/'
                    }
                }
                else if (b < 0x80)
                {
                    chars[length++] = (char)b;
                    at++;
                }
                else
                {
                    int extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
                    int code = b & (0x3F >> extra);
                    for (int i = 1; i <= extra; i++)
                        code = (code << 6) | (_text[at + i] & 0x3F);
                    at += extra + 1;
                    if (code >= 0x10000)
                    {
                        code -= 0x10000;
                        chars[length++] = (char)(0xD800 + (code >> 10));
                        chars[length++] = (char)(0xDC00 + (code & 0x3FF));
                    }
                    else
                    {
                        chars[length++] = (char)code;
                    }
                }
            }
            return new string(new ReadOnlySpan<char>(chars, 0, length));
        }

        /// <summary>The raw bytes of a number token.</summary>
        public ReadOnlySpan<byte> NumberText(int node) =>
            new ReadOnlySpan<byte>(_text, _nodes[node].Start, _nodes[node].End - _nodes[node].Start);

        // ---- Locations ----

        /// <summary>1-based line and column (in characters) of a byte offset.</summary>
        public void LineAndColumn(int offset, out int line, out int column)
        {
            line = 1;
            column = 1;
            int limit = Math.Min(offset, _text.Length);
            for (int i = 0; i < limit; i++)
            {
                byte b = _text[i];
                if (b == (byte)'\n')
                {
                    line++;
                    column = 1;
                }
                else if ((b & 0xC0) != 0x80)
                {
                    column++; // count characters, not UTF-8 continuation bytes
                }
            }
        }

        /// <summary>The JSON path of a node, e.g. <c>partitions[1].memory[0].size</c> ("" for the root).</summary>
        public string PathOf(int node)
        {
            if (node < 0 || _nodes[node].Parent < 0)
                return "";
            int parent = _nodes[node].Parent;
            string prefix = PathOf(parent);
            if (_nodes[node].Key >= 0)
            {
                // A key as long as the file would make every message about it as long: cut.
                string key = ConfigText.Cut(GetStringPrefix(_nodes[node].Key, ConfigText.QuoteLimit, out bool cut), cut);
                return prefix.Length == 0 ? key : string.Concat(prefix, ".", key);
            }
            int index = 0;
            for (int child = _nodes[parent].FirstChild; child >= 0 && child != node; child = _nodes[child].Next)
                index++;
            return string.Concat(prefix, "[", ConfigText.Decimal((ulong)index), "]");
        }

        // ---- Parsing ----

        private void ParseText()
        {
            _position = 0;
            string encoding = OtherEncoding();
            if (encoding != null)
            {
                Fail(-1, string.Concat("the file is ", encoding, ", not UTF-8: save it as UTF-8 (RFC 8259, 8.1: JSON text is UTF-8)"));
                return;
            }
            // A UTF-8 byte order mark is tolerated (RFC 8259, 8.1 allows ignoring it).
            if (_text.Length >= 3 && _text[0] == 0xEF && _text[1] == 0xBB && _text[2] == 0xBF)
                _position = 3;
            SkipWhitespace();
            if (_position >= _text.Length)
            {
                Fail(-1, "the file is empty: expected a JSON object");
                return;
            }
            int root = ParseValue(-1, -1, 0);
            if (root < 0)
                return;
            SkipWhitespace();
            if (_position < _text.Length)
            {
                FailStructure(-1, "unexpected text after the end of the top-level value");
                return;
            }
            Root = root;
        }

        // UTF-16 and UTF-32 by their byte order mark, or, without one, by the zero bytes that
        // ASCII characters have in them (the first character of a config is ASCII: '{' or a space).
        private string OtherEncoding()
        {
            int n = _text.Length;
            byte b0 = n > 0 ? _text[0] : (byte)1, b1 = n > 1 ? _text[1] : (byte)1, b2 = n > 2 ? _text[2] : (byte)1, b3 = n > 3 ? _text[3] : (byte)1;
            if (b0 == 0xFF && b1 == 0xFE)
                return b2 == 0 && b3 == 0 ? "UTF-32 (little-endian, byte order mark FF FE 00 00)" : "UTF-16 (little-endian, byte order mark FF FE)";
            if (b0 == 0xFE && b1 == 0xFF)
                return "UTF-16 (big-endian, byte order mark FE FF)";
            if (b0 == 0 && b1 == 0 && b2 == 0xFE && b3 == 0xFF)
                return "UTF-32 (big-endian, byte order mark 00 00 FE FF)";
            if (n >= 4 && b0 != 0 && b1 == 0 && b2 == 0 && b3 == 0)
                return "UTF-32 (little-endian)";
            if (n >= 4 && b0 == 0 && b1 == 0 && b2 == 0 && b3 != 0)
                return "UTF-32 (big-endian)";
            if (n >= 2 && b0 != 0 && b1 == 0)
                return "UTF-16 (little-endian)";
            if (n >= 2 && b0 == 0 && b1 != 0)
                return "UTF-16 (big-endian)";
            return null;
        }

        private int NewNode(JsonKind kind, int start, int parent, int key)
        {
            if (_count == _nodes.Length)
            {
                Fail(parent, "too many values"); // unreachable: the table is sized by an upper bound
                return -1;
            }
            int index = _count++;
            _nodes[index] = new Node { Kind = kind, Start = start, End = start, Parent = parent, Key = key, FirstChild = -1, Next = -1 };
            return index;
        }

        private int ParseValue(int parent, int key, int depth)
        {
            if (_position >= _text.Length)
            {
                Fail(parent, "the text ends where a value was expected");
                return -1;
            }
            byte b = _text[_position];
            switch (b)
            {
                case (byte)'{':
                    return ParseObject(parent, key, depth);
                case (byte)'[':
                    return ParseArray(parent, key, depth);
                case (byte)'"':
                    return ParseString(parent, key);
                case (byte)'t':
                    return ParseLiteral(parent, key, "true", JsonKind.True);
                case (byte)'f':
                    return ParseLiteral(parent, key, "false", JsonKind.False);
                case (byte)'n':
                    return ParseLiteral(parent, key, "null", JsonKind.Null);
                default:
                    if (b == (byte)'-' || (b >= (byte)'0' && b <= (byte)'9'))
                        return ParseNumber(parent, key);
                    FailStructure(parent, b == (byte)'+' ? "invalid number: JSON numbers have no '+' sign; write 1, not +1"
                        : "expected a value (an object, array, string, number, true, false or null)");
                    return -1;
            }
        }

        private int ParseObject(int parent, int key, int depth)
        {
            if (depth >= MaxDepth)
            {
                Fail(parent, "nesting is deeper than 32 levels");
                return -1;
            }
            int node = NewNode(JsonKind.Object, _position, parent, key);
            if (node < 0)
                return -1;
            _position++;
            SkipWhitespace();
            if (_position < _text.Length && _text[_position] == (byte)'}')
            {
                _position++;
                _nodes[node].End = _position;
                return node;
            }
            int last = -1;
            while (true)
            {
                SkipWhitespace();
                if (_position >= _text.Length || _text[_position] != (byte)'"')
                {
                    FailStructure(node, _position >= _text.Length ? "the text ends inside an object" : "expected a member name in double quotes");
                    return -1;
                }
                int keyNode = ParseString(node, -1);
                if (keyNode < 0)
                    return -1;
                SkipWhitespace();
                if (_position >= _text.Length || _text[_position] != (byte)':')
                {
                    FailStructure(node, "expected ':' after the member name");
                    return -1;
                }
                _position++;
                SkipWhitespace();
                int value = ParseValue(node, keyNode, depth + 1);
                if (value < 0)
                    return -1;
                if (last < 0)
                    _nodes[node].FirstChild = value;
                else
                    _nodes[last].Next = value;
                last = value;
                SkipWhitespace();
                if (_position >= _text.Length)
                {
                    Fail(node, "the text ends inside an object: expected ',' or '}'");
                    return -1;
                }
                byte b = _text[_position++];
                if (b == (byte)'}')
                    break;
                if (b != (byte)',')
                {
                    _position--;
                    FailStructure(node, "expected ',' or '}' after an object member");
                    return -1;
                }
            }
            _nodes[node].End = _position;
            return node;
        }

        private int ParseArray(int parent, int key, int depth)
        {
            if (depth >= MaxDepth)
            {
                Fail(parent, "nesting is deeper than 32 levels");
                return -1;
            }
            int node = NewNode(JsonKind.Array, _position, parent, key);
            if (node < 0)
                return -1;
            _position++;
            SkipWhitespace();
            if (_position < _text.Length && _text[_position] == (byte)']')
            {
                _position++;
                _nodes[node].End = _position;
                return node;
            }
            int last = -1;
            while (true)
            {
                SkipWhitespace();
                int value = ParseValue(node, -1, depth + 1);
                if (value < 0)
                    return -1;
                if (last < 0)
                    _nodes[node].FirstChild = value;
                else
                    _nodes[last].Next = value;
                last = value;
                SkipWhitespace();
                if (_position >= _text.Length)
                {
                    Fail(node, "the text ends inside an array: expected ',' or ']'");
                    return -1;
                }
                byte b = _text[_position++];
                if (b == (byte)']')
                    break;
                if (b != (byte)',')
                {
                    _position--;
                    FailStructure(node, "expected ',' or ']' after an array element");
                    return -1;
                }
            }
            _nodes[node].End = _position;
            return node;
        }

        private int ParseString(int parent, int key)
        {
            int start = _position;
            _position++; // the opening quote
            while (true)
            {
                if (_position >= _text.Length)
                {
                    _position = start;
                    Fail(parent, "the text ends inside a string: a closing '\"' is missing");
                    return -1;
                }
                byte b = _text[_position];
                if (b == (byte)'"')
                {
                    _position++;
                    break;
                }
                if (b < 0x20)
                {
                    Fail(parent, "control character in a string: write it as an escape such as \\n or \\u0009");
                    return -1;
                }
                if (b == (byte)'\\')
                {
                    if (!ScanEscape(parent))
                        return -1;
                    continue;
                }
                if (b >= 0x80)
                {
                    int length = Utf8SequenceLength(_position);
                    if (length == 0)
                    {
                        Fail(parent, "invalid UTF-8 in a string: the file must be UTF-8 text");
                        return -1;
                    }
                    _position += length;
                    continue;
                }
                _position++;
            }
            int node = NewNode(JsonKind.String, start, parent, key);
            if (node >= 0)
                _nodes[node].End = _position;
            return node;
        }

        private bool ScanEscape(int parent)
        {
            if (_position + 1 >= _text.Length)
            {
                Fail(parent, "the text ends inside an escape sequence");
                return false;
            }
            byte e = _text[_position + 1];
            if (e == (byte)'u')
            {
                if (_position + 6 > _text.Length || Hex4(_position + 2) < 0)
                {
                    Fail(parent, "invalid \\u escape: four hexadecimal digits must follow \\u");
                    return false;
                }
                int code = Hex4(_position + 2);
                _position += 6;
                // A high surrogate must be followed by an escaped low surrogate (RFC 8259, 7).
                if (code >= 0xD800 && code <= 0xDBFF)
                {
                    if (_position + 6 > _text.Length || _text[_position] != (byte)'\\' || _text[_position + 1] != (byte)'u'
                        || Hex4(_position + 2) < 0xDC00 || Hex4(_position + 2) > 0xDFFF)
                    {
                        Fail(parent, "invalid \\u escape: a high surrogate must be followed by a \\u escape of a low surrogate");
                        return false;
                    }
                    _position += 6;
                }
                else if (code >= 0xDC00 && code <= 0xDFFF)
                {
                    Fail(parent, "invalid \\u escape: a low surrogate without a high surrogate before it");
                    return false;
                }
                return true;
            }
            if (e == (byte)'"' || e == (byte)'\\' || e == (byte)'/' || e == (byte)'b' || e == (byte)'f'
                || e == (byte)'n' || e == (byte)'r' || e == (byte)'t')
            {
                _position += 2;
                return true;
            }
            _position++;
            Fail(parent, "invalid escape: valid are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX");
            return false;
        }

        // The length of a valid UTF-8 sequence at `at`, or 0 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
        private int Utf8SequenceLength(int at)
        {
            byte b = _text[at];
            int length;
            int min;
            if (b >= 0xC2 && b <= 0xDF) { length = 2; min = 0x80; }
            else if (b >= 0xE0 && b <= 0xEF) { length = 3; min = 0x800; }
            else if (b >= 0xF0 && b <= 0xF4) { length = 4; min = 0x10000; }
            else return 0;
            if (at + length > _text.Length)
                return 0;
            int code = b & (0x7F >> length);
            for (int i = 1; i < length; i++)
            {
                byte c = _text[at + i];
                if ((c & 0xC0) != 0x80)
                    return 0;
                code = (code << 6) | (c & 0x3F);
            }
            if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
                return 0;
            return length;
        }

        private int Hex4(int at)
        {
            if (at + 4 > _text.Length)
                return -1;
            int value = 0;
            for (int i = 0; i < 4; i++)
            {
                int digit = ConfigText.HexDigit(_text[at + i]);
                if (digit < 0)
                    return -1;
                value = (value << 4) | digit;
            }
            return value;
        }

        private int ParseNumber(int parent, int key)
        {
            int start = _position;
            if (_text[_position] == (byte)'-')
                _position++;
            if (_position >= _text.Length || !IsDigit(_text[_position]))
            {
                Fail(parent, "invalid number: a digit must follow '-'");
                return -1;
            }
            if (_text[_position] == (byte)'0')
            {
                _position++;
                if (_position < _text.Length && (_text[_position] == (byte)'x' || _text[_position] == (byte)'X'))
                {
                    _position = start;
                    Fail(parent, "invalid number: JSON has no hexadecimal numbers; write it as a string, e.g. \"0x1000\"");
                    return -1;
                }
                if (_position < _text.Length && IsDigit(_text[_position]))
                {
                    Fail(parent, "invalid number: leading zeros are not allowed (write hexadecimal as a string, e.g. \"0x1000\")");
                    return -1;
                }
            }
            else
            {
                while (_position < _text.Length && IsDigit(_text[_position]))
                    _position++;
            }
            if (_position < _text.Length && _text[_position] == (byte)'.')
            {
                _position++;
                if (_position >= _text.Length || !IsDigit(_text[_position]))
                {
                    Fail(parent, "invalid number: a digit must follow '.'");
                    return -1;
                }
                while (_position < _text.Length && IsDigit(_text[_position]))
                    _position++;
            }
            if (_position < _text.Length && (_text[_position] == (byte)'e' || _text[_position] == (byte)'E'))
            {
                _position++;
                if (_position < _text.Length && (_text[_position] == (byte)'+' || _text[_position] == (byte)'-'))
                    _position++;
                if (_position >= _text.Length || !IsDigit(_text[_position]))
                {
                    Fail(parent, "invalid number: a digit must follow the exponent");
                    return -1;
                }
                while (_position < _text.Length && IsDigit(_text[_position]))
                    _position++;
            }
            if (_position < _text.Length && (IsLetter(_text[_position]) || _text[_position] == (byte)'_'))
            {
                Fail(parent, "invalid number: a letter or '_' follows it; a size with a unit or a number with '_' is a string, e.g. \"64 MiB\" or \"1_000\"");
                return -1;
            }
            int node = NewNode(JsonKind.Number, start, parent, key);
            if (node >= 0)
                _nodes[node].End = _position;
            return node;
        }

        private int ParseLiteral(int parent, int key, string literal, JsonKind kind)
        {
            int start = _position;
            for (int i = 0; i < literal.Length; i++)
            {
                if (_position + i >= _text.Length || _text[_position + i] != literal[i])
                {
                    Fail(parent, "expected a value (an object, array, string, number, true, false or null); strings need double quotes");
                    return -1;
                }
            }
            _position += literal.Length;
            int node = NewNode(kind, start, parent, key);
            if (node >= 0)
                _nodes[node].End = _position;
            return node;
        }

        private void SkipWhitespace()
        {
            while (_position < _text.Length)
            {
                byte b = _text[_position];
                if (b != (byte)' ' && b != (byte)'\t' && b != (byte)'\n' && b != (byte)'\r')
                    return;
                _position++;
            }
        }

        private static bool IsDigit(byte b) => b >= (byte)'0' && b <= (byte)'9';

        private static bool IsLetter(byte b) => (b >= (byte)'a' && b <= (byte)'z') || (b >= (byte)'A' && b <= (byte)'Z');

        /// <summary>
        /// A syntax error where structure was expected (a value, a key, ',' ':' or a bracket):
        /// a comment there gets a message of its own, since JSON has none.
        /// </summary>
        private void FailStructure(int container, string message)
        {
            bool comment = _position < _text.Length && (_text[_position] == (byte)'#'
                || (_text[_position] == (byte)'/' && _position + 1 < _text.Length && (_text[_position + 1] == (byte)'/' || _text[_position + 1] == (byte)'*')));
            Fail(container, comment ? "JSON has no comments: remove it (a \"description\" member can hold a note)" : message);
        }

        private void Fail(int container, string message)
        {
            if (SyntaxErrorMessage != null)
                return;
            SyntaxErrorMessage = message;
            SyntaxErrorOffset = _position;
            SyntaxErrorContainer = container;
        }
    }
}
