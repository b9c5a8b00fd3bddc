namespace Partition.Configs
{
    /// <summary>
    /// The errors found so far, in the order found. At most <see cref="Limit"/> are kept (the rest
    /// are only counted), which bounds the memory that a hostile config can make the checker use.
    /// </summary>
    public sealed class ConfigErrorList
    {
        public const int Limit = 64;

        private readonly ValueList<ConfigError> _errors = new ValueList<ConfigError>(8);
        private readonly JsonDocument _document;
        private readonly ValueList<int> _nodes = new ValueList<int>(8);

        public ConfigErrorList(JsonDocument document)
        {
            _document = document;
        }

        /// <summary>Every error found, including those beyond <see cref="Limit"/>.</summary>
        public int Count { get; private set; }

        public int Kept => _errors.Count;

        public ConfigError this[int index] => _errors[index];

        /// <summary>
        /// Reports a problem with a node; <paramref name="partition"/> is the partition it stops (-1: all).
        /// The line and column are those of <paramref name="locationNode"/> when given (a member's key), else of the node.
        /// </summary>
        public void Add(int node, string message, int partition = -1, int locationNode = -1)
        {
            Count++;
            if (_errors.Count >= Limit)
                return;
            _nodes.Add(node);
            int at = locationNode >= 0 ? locationNode : node;
            int offset = at >= 0 ? _document.StartOffset(at) : 0;
            _document.LineAndColumn(offset, out int line, out int column);
            _errors.Add(new ConfigError(_document.PathOf(node), line, column, message, partition));
        }

        /// <summary>Reports a problem at a byte offset (syntax errors), with the path of the enclosing container.</summary>
        public void AddAt(int offset, int container, string message)
        {
            Count++;
            if (_errors.Count >= Limit)
                return;
            _document.LineAndColumn(offset, out int line, out int column);
            _errors.Add(new ConfigError(_document.PathOf(container), line, column, message, -1));
        }

        /// <summary>Whether an error about <paramref name="node"/> was already kept (one error per value is enough).</summary>
        public bool HasErrorAt(int node)
        {
            for (int i = 0; i < _nodes.Count; i++)
                if (_nodes[i] == node)
                    return true;
            return false;
        }

        public ConfigError[] ToArray() => _errors.ToArray();
    }
}
