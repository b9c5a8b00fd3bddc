namespace System
{
    /// <summary>Base of every array type; the length field's position is a contract with ILC.</summary>
    public abstract class Array
    {
#pragma warning disable CS0649 // written by the allocator
        private readonly int _numComponents;
#pragma warning restore CS0649

        public int Length => _numComponents;

        public static T[] Empty<T>() => EmptyArray<T>.Value;

        private static class EmptyArray<T>
        {
            internal static readonly T[] Value = new T[0];
        }
    }

    // ILC gives T[] this type as its generic counterpart.
    internal class Array<T> : Array { }
}
