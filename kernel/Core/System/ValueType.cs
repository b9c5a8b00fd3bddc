namespace System
{
    /// <summary>
    /// Base of every struct. .NET compares structs field by field through reflection, which the
    /// image does not have: a struct that is compared must override Equals, and one that does
    /// not stops with a message rather than giving a wrong answer.
    /// </summary>
    public abstract class ValueType
    {
        public override bool Equals(object obj)
        {
            Environment.FailFast("ValueType.Equals needs reflection: override Equals on the struct");
            return false;
        }

        public override int GetHashCode()
        {
            Environment.FailFast("ValueType.GetHashCode needs reflection: override GetHashCode on the struct");
            return 0;
        }
    }

    public abstract class Enum : ValueType
    {
    }

    public struct Nullable<T> where T : struct
    {
        // Field names are a contract with ILC (boxing and unboxing of Nullable<T>).
        private readonly bool hasValue;
        internal T value;

        public Nullable(T value)
        {
            this.value = value;
            hasValue = true;
        }

        public readonly bool HasValue => hasValue;

        public readonly T Value
        {
            get
            {
                if (!hasValue)
                    Internal.Runtime.CompilerHelpers.ThrowHelpers.ThrowInvalidOperationExceptionNoValue();
                return value;
            }
        }

        public readonly T GetValueOrDefault() => value;
        public readonly T GetValueOrDefault(T defaultValue) => hasValue ? value : defaultValue;

        public static implicit operator T?(T value) => new T?(value);
        public static explicit operator T(T? value) => value.Value;
    }

    public interface IEquatable<T>
    {
        bool Equals(T other);
    }

    public interface IDisposable
    {
        void Dispose();
    }

    public struct RuntimeTypeHandle { }
    public struct RuntimeMethodHandle { }
    public struct RuntimeFieldHandle { }

    public abstract class Type { }

    internal sealed class RuntimeType : Type { }
}
