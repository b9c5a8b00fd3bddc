namespace System.Runtime.CompilerServices
{
    /// <summary>
    /// .NET's Unsafe. ILC substitutes an IL body for each [Intrinsic] method, so the C# bodies
    /// below never run; should one ever be compiled as written, it stops with a clear message.
    /// </summary>
    public static unsafe class Unsafe
    {
        [Intrinsic] public static void* AsPointer<T>(ref readonly T value) { throw new PlatformNotSupportedException("Unsafe.AsPointer"); }
        [Intrinsic] public static int SizeOf<T>() { throw new PlatformNotSupportedException("Unsafe.SizeOf"); }
        [Intrinsic] public static T As<T>(object o) where T : class { throw new PlatformNotSupportedException("Unsafe.As"); }
        [Intrinsic] public static ref TTo As<TFrom, TTo>(ref TFrom source) { throw new PlatformNotSupportedException("Unsafe.As"); }
        [Intrinsic] public static ref T AsRef<T>(void* source) { throw new PlatformNotSupportedException("Unsafe.AsRef"); }
        [Intrinsic] public static ref T AsRef<T>(scoped ref readonly T source) { throw new PlatformNotSupportedException("Unsafe.AsRef"); }
        [Intrinsic] public static ref T Add<T>(ref T source, int elementOffset) { throw new PlatformNotSupportedException("Unsafe.Add"); }
        [Intrinsic] public static ref T Add<T>(ref T source, nint elementOffset) { throw new PlatformNotSupportedException("Unsafe.Add"); }
        [Intrinsic] public static ref T Add<T>(ref T source, nuint elementOffset) { throw new PlatformNotSupportedException("Unsafe.Add"); }
        [Intrinsic] public static void* Add<T>(void* source, int elementOffset) { throw new PlatformNotSupportedException("Unsafe.Add"); }
        [Intrinsic] public static ref T AddByteOffset<T>(ref T source, nint byteOffset) { throw new PlatformNotSupportedException("Unsafe.AddByteOffset"); }
        [Intrinsic] public static ref T AddByteOffset<T>(ref T source, nuint byteOffset) { throw new PlatformNotSupportedException("Unsafe.AddByteOffset"); }
        [Intrinsic] public static ref T Subtract<T>(ref T source, int elementOffset) { throw new PlatformNotSupportedException("Unsafe.Subtract"); }
        [Intrinsic] public static nint ByteOffset<T>(ref readonly T origin, ref readonly T target) { throw new PlatformNotSupportedException("Unsafe.ByteOffset"); }
        [Intrinsic] public static bool AreSame<T>(ref readonly T left, ref readonly T right) { throw new PlatformNotSupportedException("Unsafe.AreSame"); }
        [Intrinsic] public static bool IsAddressGreaterThan<T>(ref readonly T left, ref readonly T right) { throw new PlatformNotSupportedException("Unsafe.IsAddressGreaterThan"); }
        [Intrinsic] public static bool IsAddressLessThan<T>(ref readonly T left, ref readonly T right) { throw new PlatformNotSupportedException("Unsafe.IsAddressLessThan"); }
        [Intrinsic] public static ref T NullRef<T>() { throw new PlatformNotSupportedException("Unsafe.NullRef"); }
        [Intrinsic] public static bool IsNullRef<T>(ref readonly T source) { throw new PlatformNotSupportedException("Unsafe.IsNullRef"); }
        [Intrinsic] public static T Read<T>(void* source) { throw new PlatformNotSupportedException("Unsafe.Read"); }
        [Intrinsic] public static void Write<T>(void* destination, T value) { throw new PlatformNotSupportedException("Unsafe.Write"); }
        [Intrinsic] public static T ReadUnaligned<T>(void* source) { throw new PlatformNotSupportedException("Unsafe.ReadUnaligned"); }
        [Intrinsic] public static T ReadUnaligned<T>(scoped ref readonly byte source) { throw new PlatformNotSupportedException("Unsafe.ReadUnaligned"); }
        [Intrinsic] public static void WriteUnaligned<T>(void* destination, T value) { throw new PlatformNotSupportedException("Unsafe.WriteUnaligned"); }
        [Intrinsic] public static void WriteUnaligned<T>(ref byte destination, T value) { throw new PlatformNotSupportedException("Unsafe.WriteUnaligned"); }
        [Intrinsic] public static void CopyBlock(void* destination, void* source, uint byteCount) { throw new PlatformNotSupportedException("Unsafe.CopyBlock"); }
        [Intrinsic] public static void InitBlock(void* startAddress, byte value, uint byteCount) { throw new PlatformNotSupportedException("Unsafe.InitBlock"); }
        [Intrinsic] public static void SkipInit<T>(out T value) { throw new PlatformNotSupportedException("Unsafe.SkipInit"); }
    }

    /// <summary>The shape of an array object's payload, for finding its first element.</summary>
    internal sealed class RawArrayData
    {
#pragma warning disable CS0649
        public uint Length;
        public uint Padding;
        public byte Data;
#pragma warning restore CS0649
    }

    public static unsafe class RuntimeHelpers
    {
        public static int OffsetToStringData => 12;

        // Objects never move (no GC), so an object's address is a stable hash.
        public static int GetHashCode(object o)
        {
            nint address = *(nint*)Unsafe.AsPointer(ref o);
            return (int)address ^ (int)(address >> 32);
        }

        public static new bool Equals(object o1, object o2) => (object)o1 == (object)o2;

        [Intrinsic]
        public static bool IsReferenceOrContainsReferences<T>() { throw new PlatformNotSupportedException("RuntimeHelpers.IsReferenceOrContainsReferences"); }

        [Intrinsic]
        public static void InitializeArray(Array array, RuntimeFieldHandle fldHandle) { throw new PlatformNotSupportedException("RuntimeHelpers.InitializeArray"); }

        [Intrinsic]
        public static ReadOnlySpan<T> CreateSpan<T>(RuntimeFieldHandle fldHandle) { throw new PlatformNotSupportedException("RuntimeHelpers.CreateSpan"); }
    }
}

namespace System.Runtime.InteropServices
{
    using System.Runtime.CompilerServices;

    public enum LayoutKind
    {
        Sequential = 0,
        Explicit = 2,
        Auto = 3,
    }

    public enum UnmanagedType
    {
        Bool = 0x2,
        I1 = 0x3,
        U1 = 0x4,
        I4 = 0x7,
        U4 = 0x8,
        LPStr = 0x14,
        LPWStr = 0x15,
    }

    public enum CharSet
    {
        None = 1,
        Ansi = 2,
        Unicode = 3,
        Auto = 4,
    }

    [AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
    public sealed class StructLayoutAttribute : Attribute
    {
        public StructLayoutAttribute(LayoutKind layoutKind) { Value = layoutKind; }
        public LayoutKind Value { get; }
        public int Pack;
        public int Size;
        public CharSet CharSet;
    }

    [AttributeUsage(AttributeTargets.Field, Inherited = false)]
    public sealed class FieldOffsetAttribute : Attribute
    {
        public FieldOffsetAttribute(int offset) { Value = offset; }
        public int Value { get; }
    }

    [AttributeUsage(AttributeTargets.Parameter)]
    public sealed class InAttribute : Attribute { }

    [AttributeUsage(AttributeTargets.Parameter)]
    public sealed class OutAttribute : Attribute { }

    [AttributeUsage(AttributeTargets.Method, Inherited = false)]
    public sealed class SuppressGCTransitionAttribute : Attribute { }

    [AttributeUsage(AttributeTargets.Method, Inherited = false)]
    public sealed class UnmanagedCallersOnlyAttribute : Attribute
    {
        public Type[] CallConvs;
        public string EntryPoint;
    }

    /// <summary>
    /// Exists because ILC names it and its dispatch helper; nothing in the image implements it,
    /// so a dispatch through it stops with a message.
    /// </summary>
    public unsafe interface IDynamicInterfaceCastable
    {
        internal static nint GetDynamicInterfaceImplementation(IDynamicInterfaceCastable instance, Internal.Runtime.MethodTable* interfaceType, ushort slot)
        {
            Internal.Runtime.FailFast.Stop("NotSupported", "IDynamicInterfaceCastable is not supported in the image");
            return 0;
        }
    }

    public static unsafe class MemoryMarshal
    {
        public static ref T GetReference<T>(Span<T> span) => ref span._reference;

        public static ref T GetReference<T>(ReadOnlySpan<T> span) => ref span._reference;

        public static ref T GetArrayDataReference<T>(T[] array) =>
            ref Unsafe.As<byte, T>(ref Unsafe.As<System.Runtime.CompilerServices.RawArrayData>(array).Data);

        public static Span<T> CreateSpan<T>(ref T reference, int length) => new Span<T>(ref reference, length);

        public static ReadOnlySpan<T> CreateReadOnlySpan<T>(ref readonly T reference, int length) =>
            new ReadOnlySpan<T>(ref Unsafe.AsRef(in reference), length);

        public static Span<byte> AsBytes<T>(Span<T> span) where T : unmanaged =>
            new Span<byte>(ref Unsafe.As<T, byte>(ref span._reference), span.Length * sizeof(T));

        public static ReadOnlySpan<byte> AsBytes<T>(ReadOnlySpan<T> span) where T : unmanaged =>
            new ReadOnlySpan<byte>(ref Unsafe.As<T, byte>(ref span._reference), span.Length * sizeof(T));

        public static T Read<T>(ReadOnlySpan<byte> source) where T : unmanaged
        {
            if (sizeof(T) > source.Length)
                Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowArgumentOutOfRangeException();
            return Unsafe.ReadUnaligned<T>(ref source._reference);
        }
    }
}

namespace System.Runtime
{
    /// <summary>Exports a method under a symbol name (ILC). Used for the runtime helpers.</summary>
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class RuntimeExportAttribute : Attribute
    {
        public RuntimeExportAttribute(string entry) { }
    }

    /// <summary>Binds a static extern method to a native symbol (ILC).</summary>
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class RuntimeImportAttribute : Attribute
    {
        public RuntimeImportAttribute(string lib) { }
        public RuntimeImportAttribute(string lib, string entry) { }
    }
}
