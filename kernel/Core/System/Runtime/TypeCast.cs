using Internal.Runtime;
using Internal.Runtime.CompilerHelpers;
using System.Runtime.CompilerServices;

namespace System.Runtime
{
    /// <summary>
    /// Casts and array stores, called by ILC's code by these names. Rules: exact type, base
    /// classes, implemented interfaces (the interface map is flattened by ILC), and array
    /// covariance for reference element types. Generic variance on interfaces is not
    /// modelled: such a cast fails rather than succeeding wrongly.
    /// </summary>
    internal static unsafe class TypeCast
    {
        public static object IsInstanceOfAny(MethodTable* targetType, object obj) =>
            obj == null || IsAssignable(obj.m_pMethodTable, targetType) ? obj : null;

        public static object IsInstanceOfInterface(MethodTable* targetType, object obj) =>
            obj == null || Implements(obj.m_pMethodTable, targetType) ? obj : null;

        public static object IsInstanceOfClass(MethodTable* targetType, object obj) =>
            obj == null || IsAssignable(obj.m_pMethodTable, targetType) ? obj : null;

        public static bool IsInstanceOfException(MethodTable* targetType, object obj) =>
            obj != null && IsAssignable(obj.m_pMethodTable, targetType);

        public static object CheckCastAny(MethodTable* targetType, object obj) => Checked(IsInstanceOfAny(targetType, obj), obj);

        public static object CheckCastInterface(MethodTable* targetType, object obj) => Checked(IsInstanceOfInterface(targetType, obj), obj);

        public static object CheckCastClass(MethodTable* targetType, object obj) => Checked(IsInstanceOfClass(targetType, obj), obj);

        public static object CheckCastClassSpecial(MethodTable* targetType, object obj) => Checked(IsInstanceOfClass(targetType, obj), obj);

        private static object Checked(object result, object obj)
        {
            if (result == null && obj != null)
                ThrowHelpers.ThrowInvalidCastException();
            return result;
        }

        public static void StelemRef(object[] array, nint index, object obj)
        {
            if ((nuint)index >= (nuint)array.Length)
                ThrowHelpers.ThrowIndexOutOfRangeException();
            ref object element = ref Unsafe.Add(ref Unsafe.As<byte, object>(ref Unsafe.As<RawArrayData>(array).Data), index);
            if (obj != null && !IsAssignable(obj.m_pMethodTable, array.m_pMethodTable->RelatedType))
                ThrowHelpers.ThrowArrayTypeMismatchException();
            element = obj;
        }

        public static ref object LdelemaRef(object[] array, nint index, MethodTable* elementType)
        {
            if ((nuint)index >= (nuint)array.Length)
                ThrowHelpers.ThrowIndexOutOfRangeException();
            if (array.m_pMethodTable->RelatedType != elementType)
                ThrowHelpers.ThrowArrayTypeMismatchException();
            return ref Unsafe.Add(ref Unsafe.As<byte, object>(ref Unsafe.As<RawArrayData>(array).Data), index);
        }

        public static void CheckArrayStore(object array, object obj)
        {
            if (obj != null && !IsAssignable(obj.m_pMethodTable, array.m_pMethodTable->RelatedType))
                ThrowHelpers.ThrowArrayTypeMismatchException();
        }

        internal static bool IsAssignable(MethodTable* source, MethodTable* target)
        {
            if (source == target)
                return true;
            if (target->IsInterface)
                return Implements(source, target);
            if (source->IsArray)
            {
                // An array is an Array and an object; and T[] is U[] for reference types T : U.
                if (target->ElementType == MethodTable.ElementTypeSystemArray)
                    return true;
                if (target->IsArray)
                {
                    MethodTable* sourceElement = source->RelatedType;
                    MethodTable* targetElement = target->RelatedType;
                    return source->BaseSize == target->BaseSize && source->ElementType == target->ElementType &&
                           !sourceElement->IsValueType && !targetElement->IsValueType &&
                           IsAssignable(sourceElement, targetElement);
                }
                return IsObject(target);
            }
            if (source->IsParameterized)
                return false;
            for (MethodTable* t = source->RelatedType; t != null; t = t->RelatedType)
                if (t == target)
                    return true;
            return false;
        }

        // System.Object is the only class without a base type.
        private static bool IsObject(MethodTable* t) =>
            !t->IsInterface && !t->IsParameterized && t->RelatedType == null && !t->IsValueType;

        private static bool Implements(MethodTable* source, MethodTable* itf)
        {
            MethodTable** map = source->InterfaceMap;
            for (int i = 0; i < source->NumInterfaces; i++)
                if (map[i] == itf)
                    return true;
            return false;
        }
    }

    /// <summary>Boxing, unboxing and generic allocation, called by ILC's code by these names.</summary>
    internal static unsafe class RuntimeExports
    {
        public static object RhNewObject(MethodTable* type) => NewObject(type);

        private static object NewObject(MethodTable* type)
        {
            void* obj = RhpNewFast(type);
            return Unsafe.AsRef<object>(&obj);
        }

        public static object RhNewArray(MethodTable* type, int length)
        {
            void* obj = StartupCodeHelpers.RhpNewArray(type, length);
            return Unsafe.AsRef<object>(&obj);
        }

        public static object RhBox(MethodTable* type, ref byte data)
        {
            if (type->IsNullable)
                Internal.Runtime.FailFast.Stop("NotSupported", "boxing Nullable<T> is not supported in the image");
            object result = NewObject(type);
            ref byte payload = ref Unsafe.As<RawData>(result).Data;
            uint size = type->ValueTypeSize;
            for (uint i = 0; i < size; i++)
                Unsafe.Add(ref payload, (nint)i) = Unsafe.Add(ref data, (nint)i);
            return result;
        }

        public static object RhBoxAny(ref byte data, MethodTable* type) =>
            type->IsValueType ? RhBox(type, ref data) : Unsafe.As<byte, object>(ref data);

        public static ref byte RhUnbox2(MethodTable* type, object obj)
        {
            if (obj == null)
                ThrowHelpers.ThrowNullReferenceException();
            if (obj.m_pMethodTable != type)
                ThrowHelpers.ThrowInvalidCastException();
            return ref Unsafe.As<RawData>(obj).Data;
        }

        public static void RhUnboxNullable(ref byte data, MethodTable* type, object obj)
        {
            Internal.Runtime.FailFast.Stop("NotSupported", "unboxing to Nullable<T> is not supported in the image");
        }

        public static void RhUnboxAny(object obj, ref byte data, MethodTable* type)
        {
            if (!type->IsValueType)
            {
                Unsafe.As<byte, object>(ref data) = TypeCast.CheckCastAny(type, obj);
                return;
            }
            ref byte payload = ref RhUnbox2(type, obj);
            uint size = type->ValueTypeSize;
            for (uint i = 0; i < size; i++)
                Unsafe.Add(ref data, (nint)i) = Unsafe.Add(ref payload, (nint)i);
        }

        [RuntimeImport("*", "RhpNewFast")]
        [MethodImpl(MethodImplOptions.InternalCall)]
        private static extern void* RhpNewFast(MethodTable* type);

        private sealed class RawData
        {
#pragma warning disable CS0649
            public byte Data;
#pragma warning restore CS0649
        }
    }

    /// <summary>
    /// Interface method resolution: finds the implementation of an interface slot on an
    /// object's type through the type's dispatch map, walking base types, then default
    /// interface methods.
    /// </summary>
    internal static unsafe class InterfaceDispatch
    {
        internal static nint Resolve(object obj, nint cell)
        {
            DecodeCell(cell, out MethodTable* itf, out ushort slot);
            return FindImplementation(obj.m_pMethodTable, itf, slot);
        }

        // .NET 10 dispatch cell, as ILC emits it (seen in the image): { stub, cache } where
        // cache's low two bits say how the rest names the interface: 1 = absolute MethodTable
        // pointer, 2 = relative pointer to a pointer to it, 3 = relative pointer to it, relative
        // to the cache field itself. The cells of a call site are followed by a terminator
        // { 0, slot }.
        private static void DecodeCell(nint cell, out MethodTable* itf, out ushort slot)
        {
            nint* c = (nint*)cell;
            nint cache = c[1];
            byte* target = (byte*)(cache & ~(nint)3);
            switch (cache & 3)
            {
                case 1:
                    itf = (MethodTable*)target;
                    break;
                case 2:
                    itf = *(MethodTable**)((byte*)&c[1] + (nint)target);
                    break;
                case 3:
                    itf = (MethodTable*)((byte*)&c[1] + (nint)target);
                    break;
                default:
                    Internal.Runtime.FailFast.Stop("Runtime", "interface dispatch cell with an unknown encoding");
                    itf = null;
                    break;
            }
            nint* terminator = c;
            while (terminator[0] != 0)
                terminator += 2;
            slot = (ushort)terminator[1];
        }

        internal static nint FindImplementation(MethodTable* type, MethodTable* itf, ushort slot)
        {
            for (int pass = 0; pass < 2; pass++)
            {
                bool defaults = pass == 1;
                for (MethodTable* t = type; t != null; t = t->IsArray ? null : t->RelatedType)
                {
                    if (!TryFindInMap(t, itf, slot, defaults, out ushort impl))
                        continue;
                    if (impl < t->NumVtableSlots)
                        return type->VTable[impl];
                    if (impl >= 0xFFFE)
                        Internal.Runtime.FailFast.Stop("EntryPointNotFound", "interface method has no implementation (or an ambiguous one)");
                    return t->SealedVirtualSlot((ushort)(impl - t->NumVtableSlots));
                }
            }
            Internal.Runtime.FailFast.Stop("EntryPointNotFound", "no implementation of an interface method was found");
            return 0;
        }

        private static bool TryFindInMap(MethodTable* t, MethodTable* itf, ushort slot, bool defaults, out ushort impl)
        {
            impl = 0;
            DispatchMapHeader* map = t->DispatchMap;
            if (map == null)
                return false;
            int first = defaults ? map->StandardEntryCount : 0;
            int end = defaults ? map->StandardEntryCount + map->DefaultEntryCount : map->StandardEntryCount;
            DispatchMapEntry* entries = map->Entries;
            for (int i = first; i < end; i++)
            {
                if (entries[i].InterfaceMethodSlot == slot && t->InterfaceMap[entries[i].InterfaceIndex] == itf)
                {
                    impl = entries[i].ImplMethodSlot;
                    return true;
                }
            }
            return false;
        }

        [RuntimeExport("partition_resolve_interface")]
        private static nint ResolveFromStub(object obj, nint cell)
        {
            if (obj == null)
                ThrowHelpers.ThrowNullReferenceException();
            return Resolve(obj, cell);
        }
    }
}

namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// Runs a class constructor the first time its type is used (ILC calls these by name),
    /// once across all CPUs: the first CPU claims the context with a marker naming itself and
    /// runs the constructor; another CPU waits until it is done; the same CPU coming back
    /// while the constructor runs (it touched its own type's statics) goes on, as in .NET.
    /// </summary>
    internal static unsafe class ClassConstructorRunner
    {
        private static object CheckStaticClassConstructionReturnGCStaticBase(StaticClassConstructionContext* context, object gcStaticBase)
        {
            EnsureClassConstructorRun(context);
            return gcStaticBase;
        }

        private static nint CheckStaticClassConstructionReturnNonGCStaticBase(StaticClassConstructionContext* context, nint nonGcStaticBase)
        {
            EnsureClassConstructorRun(context);
            return nonGcStaticBase;
        }

        // Constructor addresses are aligned code addresses, so an odd value cannot be one.
        private static long RunningMarker(int cpu) => ((long)cpu << 8) | 1;

        public static void EnsureClassConstructorRun(StaticClassConstructionContext* context)
        {
            long* state = (long*)&context->cctorMethodAddress;
            long cctor = *state;
            if (cctor == 0)
                return;
            long mine = RunningMarker(Internal.Runtime.Atomic.CurrentCpuId());
            if (cctor == mine)
                return;
            if ((cctor & 1) == 0 && Internal.Runtime.Atomic.CompareExchange(state, mine, cctor) == cctor)
            {
                ((delegate*<void>)cctor)();
                Internal.Runtime.Atomic.CompareExchange(state, 0, mine);
                return;
            }
            // An atomic read each time round: the compiler may not keep the value in a register.
            while (Internal.Runtime.Atomic.CompareExchange(state, 0, 0) != 0) { }
        }
    }

    public struct StaticClassConstructionContext
    {
        public nint cctorMethodAddress;
    }
}

namespace System
{
    internal static class Buffer
    {
        // No GC, so a move of references is a move of bytes.
        internal static void BulkMoveWithWriteBarrier(ref byte destination, ref byte source, nuint byteCount) =>
            SpanHelpers.Memmove(ref destination, ref source, byteCount);

        internal static void Memmove(ref byte destination, ref byte source, nuint byteCount) =>
            SpanHelpers.Memmove(ref destination, ref source, byteCount);
    }

    internal static class SpanHelpers
    {
        internal static void Memmove(ref byte destination, ref byte source, nuint length)
        {
            if (Runtime.CompilerServices.Unsafe.IsAddressGreaterThan(ref destination, ref source))
            {
                for (nuint i = length; i > 0; i--)
                    Runtime.CompilerServices.Unsafe.Add(ref destination, i - 1) = Runtime.CompilerServices.Unsafe.Add(ref source, i - 1);
            }
            else
            {
                for (nuint i = 0; i < length; i++)
                    Runtime.CompilerServices.Unsafe.Add(ref destination, i) = Runtime.CompilerServices.Unsafe.Add(ref source, i);
            }
        }

        public static void ClearWithoutReferences(ref byte destination, nuint length)
        {
            for (nuint i = 0; i < length; i++)
                Runtime.CompilerServices.Unsafe.Add(ref destination, i) = 0;
        }

        public static void ClearWithReferences(ref nint destination, nuint pointerSizeLength)
        {
            for (nuint i = 0; i < pointerSizeLength; i++)
                Runtime.CompilerServices.Unsafe.Add(ref destination, i) = 0;
        }

        internal static void Fill(ref byte destination, byte value, nuint length)
        {
            for (nuint i = 0; i < length; i++)
                Runtime.CompilerServices.Unsafe.Add(ref destination, i) = value;
        }
    }
}
