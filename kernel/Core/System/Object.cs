using Internal.Runtime;
using System.Runtime.CompilerServices;

namespace System
{
    /// <summary>
    /// The root of every reference type. Its one field is a contract with ILC: every object
    /// starts with a pointer to its type's <see cref="MethodTable"/>.
    /// </summary>
    public unsafe class Object
    {
#pragma warning disable CS0649 // written by the allocator, never by C#
        internal MethodTable* m_pMethodTable;
#pragma warning restore CS0649

        public Object() { }

        public virtual bool Equals(object obj) => (object)this == obj;

        public virtual int GetHashCode() => RuntimeHelpers.GetHashCode(this);

        /// <summary>The image keeps no type names (no reflection metadata), so this says only "object".</summary>
        public virtual string ToString() => "System.Object";

        public static bool ReferenceEquals(object objA, object objB) => objA == objB;

        public static bool Equals(object objA, object objB) =>
            objA == objB || (objA != null && objB != null && objA.Equals(objB));
    }
}
