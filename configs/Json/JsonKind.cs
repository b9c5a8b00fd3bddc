namespace Partition.Configs
{
    /// <summary>The kind of a JSON value (RFC 8259, section 3).</summary>
    public enum JsonKind : byte
    {
        Object,
        Array,
        String,
        Number,
        True,
        False,
        Null,
    }
}
