using System;
using System.Runtime;
using System.Runtime.CompilerServices;

namespace Internal.Runtime.CompilerHelpers
{
    /// <summary>
    /// Start-up of managed code and the allocation and transition helpers ILC's code calls.
    /// ILC requires a class of this name in the system module.
    /// </summary>
    internal static unsafe class StartupCodeHelpers
    {
        private static BootHeap s_heap;

        [RuntimeImport("*", "partition_main")]
        [MethodImpl(MethodImplOptions.InternalCall)]
        private static extern void KernelMain(void* bootInformation);

        /// <summary>
        /// Called by the boot stub in long mode, on the boot stack, before any managed code:
        /// sets up the heap, the GC static bases and the eager class constructors, then enters
        /// the kernel. The kernel's entry is a separate symbol so that the class constructors
        /// ILC may hoist into it run only after this set-up.
        /// </summary>
        [RuntimeExport("partition_runtime_start")]
        private static void Start(void* bootInformation, byte* heapStart, byte* heapEnd, nint* modulesStart, nint* modulesEnd)
        {
            s_heap.Initialize(heapStart, heapEnd);
            for (nint* module = modulesStart; module < modulesEnd; module++)
                InitializeModule((ReadyToRunHeader*)*module);
            KernelMain(bootInformation);
        }

        internal static ulong HeapUsed => s_heap.Used;
        internal static ulong HeapCapacity => s_heap.Capacity;

        private const uint ReadyToRunSignature = 0x00525452; // "RTR"
        private const int GCStaticRegion = 201;
        private const int EagerCctor = 205;
        private const int DehydratedData = 207;
        private const int ModuleInitializerList = 213;

        private struct ReadyToRunHeader
        {
            public uint Signature;
            public ushort MajorVersion;
            public ushort MinorVersion;
            public uint Flags;
            public ushort NumberOfSections;
            public byte EntrySize;
            public byte EntryType;
        }

        private struct ModuleInfoRow
        {
            public int SectionId;
            public int Flags;
            public byte* Start;
            public byte* End;
        }

        private static void InitializeModule(ReadyToRunHeader* header)
        {
            if (header->Signature != ReadyToRunSignature)
                FailFast.Stop("Runtime", "the __modules section does not point at a ReadyToRun header");

            byte* rows = (byte*)(header + 1);
            // Statics first: class constructors may use them.
            for (int pass = 0; pass < 3; pass++)
            {
                for (int i = 0; i < header->NumberOfSections; i++)
                {
                    var row = (ModuleInfoRow*)(rows + i * header->EntrySize);
                    if (pass == 0 && row->SectionId == DehydratedData)
                        FailFast.Stop("Runtime", "ILC emitted dehydrated data, which this core library does not rehydrate; build without --dehydrate");
                    if (pass == 0 && row->SectionId == GCStaticRegion)
                        InitializeGCStatics(row->Start, row->End);
                    if (pass == 1 && row->SectionId == EagerCctor)
                        RunRelativeFunctionList(row->Start, row->End);
                    if (pass == 2 && row->SectionId == ModuleInitializerList)
                        RunRelativeFunctionList(row->Start, row->End);
                }
            }
        }

        // Each entry is a relative pointer to a block whose first word holds a relative pointer
        // to the statics' MethodTable, with flag bits: 1 = not yet allocated, 2 = preinitialised
        // data follows (a second relative pointer). The block is replaced by the allocated
        // object, which holds the type's GC static fields.
        private static void InitializeGCStatics(byte* start, byte* end)
        {
            for (byte* entry = start; entry < end; entry += sizeof(int))
            {
                byte* block = MethodTable.ReadRelative(entry);
                nint blockValue = (nint)MethodTable.ReadRelative(block);
                if ((blockValue & 1) == 0)
                    continue;
                var type = (MethodTable*)(blockValue & ~(nint)3);
                byte* obj = NewObject(type);
                if ((blockValue & 2) != 0)
                {
                    byte* data = MethodTable.ReadRelative(block + sizeof(int));
                    uint size = type->BaseSize - (uint)(2 * sizeof(nint));
                    for (uint i = 0; i < size; i++)
                        obj[sizeof(nint) + i] = data[i];
                }
                *(byte**)block = obj;
            }
        }

        private static void RunRelativeFunctionList(byte* start, byte* end)
        {
            for (byte* entry = start; entry < end; entry += sizeof(int))
                ((delegate*<void>)MethodTable.ReadRelative(entry))();
        }

        private static byte* Allocate(ulong size)
        {
            byte* memory = s_heap.TryAllocate(size);
            if (memory == null)
                HeapExhausted(size);
            return memory;
        }

        private static void HeapExhausted(ulong size)
        {
            // The message is built without allocating: the heap is what ran out.
            char* text = stackalloc char[128];
            int length = 0;
            Append(text, ref length, "boot heap exhausted: ");
            AppendNumber(text, ref length, size);
            Append(text, ref length, " bytes requested, ");
            AppendNumber(text, ref length, s_heap.Used);
            Append(text, ref length, " of ");
            AppendNumber(text, ref length, s_heap.Capacity);
            Append(text, ref length, " bytes in use");
            fixed (char* kind = "OutOfMemory")
                FailFastRaw(kind, 11, text, length);
        }

        [RuntimeImport("*", "partition_fail_fast")]
        [MethodImpl(MethodImplOptions.InternalCall)]
        private static extern void FailFastRaw(char* kind, int kindLength, char* message, int messageLength);

        private static void Append(char* text, ref int length, string s)
        {
            for (int i = 0; i < s.Length; i++)
                text[length++] = s[i];
        }

        private static void AppendNumber(char* text, ref int length, ulong value)
        {
            char* digits = stackalloc char[20];
            int count = 0;
            do
            {
                digits[count++] = (char)('0' + (int)(value % 10));
                value /= 10;
            } while (value != 0);
            while (count > 0)
                text[length++] = digits[--count];
        }

        // An object's memory starts with the (unused) object header; the reference points past it.
        private static byte* NewObject(MethodTable* type)
        {
            byte* memory = Allocate(type->BaseSize);
            byte* obj = memory + sizeof(nint);
            *(MethodTable**)obj = type;
            return obj;
        }

        [RuntimeExport("RhpNewFast")]
        private static void* RhpNewFast(MethodTable* type) => NewObject(type);

        [RuntimeExport("RhpNewFinalizable")]
        private static void* RhpNewFinalizable(MethodTable* type) => NewObject(type);

        [RuntimeExport("RhpNewArray")]
        internal static void* RhpNewArray(MethodTable* type, int length)
        {
            if (length < 0)
                ThrowHelpers.ThrowOverflowException();
            ulong size = type->BaseSize + (ulong)length * type->ComponentSize;
            byte* obj = Allocate(size) + sizeof(nint);
            *(MethodTable**)obj = type;
            *(int*)(obj + sizeof(nint)) = length;
            return obj;
        }

        [RuntimeExport("RhpNewArrayFast")]
        private static void* RhpNewArrayFast(MethodTable* type, int length) => RhpNewArray(type, length);

        [RuntimeExport("RhpNewPtrArrayFast")]
        private static void* RhpNewPtrArrayFast(MethodTable* type, int length) => RhpNewArray(type, length);

        // No GC: write barriers are plain stores, and the transitions between native and
        // managed code have nothing to do.
        [RuntimeExport("RhpAssignRef")]
        private static void RhpAssignRef(void** destination, void* value) => *destination = value;

        [RuntimeExport("RhpCheckedAssignRef")]
        private static void RhpCheckedAssignRef(void** destination, void* value) => *destination = value;

        // RhpByRefAssignRef is in boot.asm: its contract (advance RDI and RSI by 8 so that
        // consecutive calls walk a struct) cannot be written in C#.

        [RuntimeExport("RhpReversePInvoke")]
        private static void RhpReversePInvoke(nint frame) { }

        [RuntimeExport("RhpReversePInvokeReturn")]
        private static void RhpReversePInvokeReturn(nint frame) { }

        [RuntimeExport("RhpPInvoke")]
        private static void RhpPInvoke(nint frame) { }

        [RuntimeExport("RhpPInvokeReturn")]
        private static void RhpPInvokeReturn(nint frame) { }

        [RuntimeExport("RhpGcPoll")]
        private static void RhpGcPoll() { }

        [RuntimeExport("RhpFallbackFailFast")]
        private static void RhpFallbackFailFast() => FailFast.Stop("FailFast", "the generated code asked to fail fast");

        /// <summary>
        /// Every throw ends here. There is no unwinder, so no catch can run: the exception's type
        /// and message go to the console and the machine stops.
        /// </summary>
        [RuntimeExport("RhpThrowEx")]
        private static void RhpThrowEx(object exception)
        {
            var e = exception as Exception;
            FailFast.Stop(ExceptionNames.Describe(exception), e == null ? null : e.Message);
        }

        [RuntimeExport("RhpRethrow")]
        private static void RhpRethrow() => FailFast.Stop("Rethrow", "rethrow without an unwinder");
    }

    /// <summary>Names for the core library's exception types (the image has no type names).</summary>
    internal static unsafe class ExceptionNames
    {
        internal static string Describe(object exception)
        {
            if (exception == null)
                return "System.NullReferenceException (throw null)";
            MethodTable* type = exception.m_pMethodTable;
            string exact = NameOf(type);
            if (exact != null)
                return exact;
            for (MethodTable* t = type->RelatedType; t != null; t = t->RelatedType)
            {
                string baseName = NameOf(t);
                if (baseName != null)
                    return string.Concat("a type derived from ", baseName);
            }
            return "a type that is not an Exception";
        }

        private static string NameOf(MethodTable* t)
        {
            if (t == MethodTable.Of<Exception>()) return "System.Exception";
            if (t == MethodTable.Of<SystemException>()) return "System.SystemException";
            if (t == MethodTable.Of<InvalidOperationException>()) return "System.InvalidOperationException";
            if (t == MethodTable.Of<ArgumentException>()) return "System.ArgumentException";
            if (t == MethodTable.Of<ArgumentNullException>()) return "System.ArgumentNullException";
            if (t == MethodTable.Of<ArgumentOutOfRangeException>()) return "System.ArgumentOutOfRangeException";
            if (t == MethodTable.Of<IndexOutOfRangeException>()) return "System.IndexOutOfRangeException";
            if (t == MethodTable.Of<NullReferenceException>()) return "System.NullReferenceException";
            if (t == MethodTable.Of<ArithmeticException>()) return "System.ArithmeticException";
            if (t == MethodTable.Of<OverflowException>()) return "System.OverflowException";
            if (t == MethodTable.Of<DivideByZeroException>()) return "System.DivideByZeroException";
            if (t == MethodTable.Of<InvalidCastException>()) return "System.InvalidCastException";
            if (t == MethodTable.Of<ArrayTypeMismatchException>()) return "System.ArrayTypeMismatchException";
            if (t == MethodTable.Of<NotSupportedException>()) return "System.NotSupportedException";
            if (t == MethodTable.Of<PlatformNotSupportedException>()) return "System.PlatformNotSupportedException";
            if (t == MethodTable.Of<NotImplementedException>()) return "System.NotImplementedException";
            if (t == MethodTable.Of<OutOfMemoryException>()) return "System.OutOfMemoryException";
            if (t == MethodTable.Of<FormatException>()) return "System.FormatException";
            return null;
        }
    }

    /// <summary>Throws that ILC's code calls by name (bounds checks, checked arithmetic, ...).</summary>
    internal static class ThrowHelpers
    {
        internal static void ThrowNullReferenceException() => throw new NullReferenceException();
        internal static void ThrowArgumentException() => throw new ArgumentException();
        internal static void ThrowArgumentOutOfRangeException() => throw new ArgumentOutOfRangeException();
        internal static void ThrowDivideByZeroException() => throw new DivideByZeroException();
        internal static void ThrowIndexOutOfRangeException() => throw new IndexOutOfRangeException();
        internal static void ThrowOverflowException() => throw new OverflowException();
        internal static void ThrowPlatformNotSupportedException() => throw new PlatformNotSupportedException();
        internal static void ThrowNotImplementedException() => throw new NotImplementedException();
        internal static void ThrowArrayTypeMismatchException() => throw new ArrayTypeMismatchException();
        internal static void ThrowNotSupportedException() => throw new NotSupportedException();
        internal static void ThrowTypeNotSupportedException() => throw new NotSupportedException("type not supported");
        internal static void ThrowInvalidCastException() => throw new InvalidCastException();
        internal static void ThrowInvalidOperationExceptionNoValue() => throw new InvalidOperationException("Nullable object must have a value.");
        internal static void ThrowBodyRemoved() => throw new NotSupportedException("method body removed by ILC");
        internal static void ThrowInstanceBodyRemoved() => throw new NotSupportedException("instance method body removed by ILC");
        internal static void ThrowFeatureBodyRemoved() => throw new NotSupportedException("feature removed by ILC");
        internal static void ThrowUnavailableType() => throw new NotSupportedException("type unavailable");
    }
}
