using System.Runtime.CompilerServices;

namespace Internal.Runtime
{
    /// <summary>
    /// The type descriptor ILC emits for every type (".NET 10 MethodTable"). Only what the cast,
    /// allocation and interface-dispatch helpers need is decoded here. Layout, from ILC's
    /// MethodTable.Constants / EETypeNode: flags (low 16 bits: component size), base size,
    /// related type (base type, or element type of an array), vtable slot count, interface
    /// count, hash; then the vtable, the interface map, and 32-bit relative pointers to the
    /// optional fields (type manager, writable data, dispatch map, ...).
    /// </summary>
    internal unsafe struct MethodTable
    {
        private uint _uFlags;
        private uint _uBaseSize;
        private MethodTable* _relatedType;
        private ushort _usNumVtableSlots;
        private ushort _usNumInterfaces;
#pragma warning disable CS0169
        private uint _uHashCode;
#pragma warning restore CS0169

        private const uint HasComponentSizeFlag = 0x80000000;
        private const uint HasDispatchMapFlag = 0x00040000;
        private const uint HasFinalizerFlag = 0x00100000;
        private const uint HasSealedVTableEntriesFlag = 0x00400000;
        private const uint IsDynamicTypeFlag = 0x00080000;
        private const uint IsGenericFlag = 0x02000000;
        private const uint GenericVarianceFlag = 0x00800000;
        private const uint KindMask = 0x00030000;
        private const uint ParameterizedKind = 0x00020000;

        // EETypeElementType, bits 26..30 of the flags.
        internal const uint ElementTypeClass = 20;
        internal const uint ElementTypeInterface = 21;
        internal const uint ElementTypeSystemArray = 22;
        internal const uint ElementTypeArray = 23;
        internal const uint ElementTypeSzArray = 24;
        internal const uint ElementTypeNullable = 18;

        [Intrinsic]
        internal static MethodTable* Of<T>() { throw new System.PlatformNotSupportedException("MethodTable.Of"); }

        internal uint BaseSize => _uBaseSize;
        internal ushort ComponentSize => HasComponentSize ? (ushort)_uFlags : (ushort)0;
        internal bool HasComponentSize => (_uFlags & HasComponentSizeFlag) != 0;
        internal uint ElementType => (_uFlags >> 26) & 0x1F;
        internal bool IsInterface => ElementType == ElementTypeInterface;
        internal bool IsArray => ElementType == ElementTypeArray || ElementType == ElementTypeSzArray;
        internal bool IsValueType => ElementType < ElementTypeClass;
        internal bool IsNullable => ElementType == ElementTypeNullable;
        internal bool IsParameterized => (_uFlags & KindMask) == ParameterizedKind;
        internal bool HasDispatchMap => (_uFlags & HasDispatchMapFlag) != 0;

        /// <summary>Bytes of a boxed value's payload: base size less object header, type pointer and padding.</summary>
        internal uint ValueTypeSize => _uBaseSize - (uint)(2 * sizeof(nint)) - ((_uFlags & 0xE0) >> 5);

        /// <summary>Base class for classes; element type for arrays and other parameterized types.</summary>
        internal MethodTable* RelatedType => _relatedType;

        internal ushort NumVtableSlots => _usNumVtableSlots;
        internal ushort NumInterfaces => _usNumInterfaces;

        internal nint* VTable => (nint*)((byte*)Unsafe.AsPointer(ref this) + sizeof(MethodTable));

        internal MethodTable** InterfaceMap => (MethodTable**)(VTable + _usNumVtableSlots);

        private byte* OptionalFields => (byte*)(InterfaceMap + _usNumInterfaces);

        // Optional fields follow the interface map as 4-byte relative pointers, in this order:
        // type manager, writable data, dispatch map (if any), finalizer (if any), sealed virtual
        // slots (if any). Checked against an image: a class with a dispatch map has its
        // __writableData at +4 and its __InterfaceDispatchMap at +8.
        internal DispatchMapHeader* DispatchMap => HasDispatchMap ? (DispatchMapHeader*)ReadRelative(OptionalFields + 8) : null;

        internal nint SealedVirtualSlot(ushort index)
        {
            byte* field = OptionalFields + 8;
            if (HasDispatchMap)
                field += 4;
            if ((_uFlags & HasFinalizerFlag) != 0)
                field += 4;
            byte* table = ReadRelative(field);
            return (nint)ReadRelative(table + 4 * index);
        }

        internal bool IsDynamic => (_uFlags & IsDynamicTypeFlag) != 0;
        internal bool IsGeneric => (_uFlags & IsGenericFlag) != 0;
        internal bool HasGenericVariance => (_uFlags & GenericVarianceFlag) != 0;
        internal bool HasSealedVTableEntries => (_uFlags & HasSealedVTableEntriesFlag) != 0;

        internal static byte* ReadRelative(byte* at) => at + *(int*)at;
    }

    /// <summary>A type's interface-to-implementation map (ILC's DispatchMap).</summary>
    internal unsafe struct DispatchMapHeader
    {
        internal ushort StandardEntryCount;
        internal ushort DefaultEntryCount;
        internal ushort StandardStaticEntryCount;
        internal ushort DefaultStaticEntryCount;

        internal DispatchMapEntry* Entries => (DispatchMapEntry*)((byte*)Unsafe.AsPointer(ref this) + 8);
    }

    internal struct DispatchMapEntry
    {
        internal ushort InterfaceIndex;
        internal ushort InterfaceMethodSlot;
        internal ushort ImplMethodSlot;
    }
}
