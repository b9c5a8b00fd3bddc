using System;

namespace Partition.Kernel
{
    /// <summary>
    /// Checks that the language features the hypervisor relies on behave as in .NET: interface
    /// dispatch (also default, generic and through a base class), virtual calls, casts, array
    /// covariance, boxing, generics, delegates and closures, static constructors, strings and
    /// spans. The same code runs in the image ("selftest=runtime") and in the host tests, where
    /// .NET itself confirms every expected value.
    /// </summary>
    public static class RuntimeSelfTest
    {
        public interface IShape
        {
            int Area();
            int Sides => 4;
        }

        public interface IValue<T>
        {
            T Get();
        }

        public abstract class Shape : IShape
        {
            public abstract int Area();
            public virtual string Name => "shape";
        }

        public sealed class Square : Shape, IValue<long>
        {
            private readonly int _side;
            public Square(int side) { _side = side; }
            public override int Area() => _side * _side;
            public override string Name => "square";
            public long Get() => _side * 1000L;
        }

        public sealed class Triangle : IShape, IValue<string>
        {
            public int Area() => 6;
            int IShape.Sides => 3;
            public string Get() => "triangle";
        }

        // More implementers than a compiler will test for inline: calls on IShape need dispatch.
        public sealed class Pentagon : IShape
        {
            public int Area() => 5;
            public int Sides => 5;
        }

        public sealed class Hexagon : IShape
        {
            public int Area() => 60;
            int IShape.Sides => 6;
        }

        // References between value fields: copying it walks the references with the write
        // barrier helper, which must advance its pointers (RhpByRefAssignRef).
        public struct Mixed
        {
            public object First;
            public int Kind;
            public object Second;
            public long Number;
            public string Third;
        }

        public struct Counter : IValue<int>
        {
            public int Count;
            public int Get() => Count;
        }

        private static class Lazy
        {
            internal static readonly int[] Table = Build();
            private static int[] Build()
            {
                var table = new int[4];
                for (int i = 0; i < table.Length; i++)
                    table[i] = i * i;
                return table;
            }
        }

        /// <summary>Runs every check; returns the number that failed, each named on the console.</summary>
        public static int Run(out int passed)
        {
            var r = new Results();

            IShape square = new Square(3);
            IShape triangle = new Triangle();
            r.Check("interface call", square.Area() == 9 && triangle.Area() == 6);
            r.Check("default interface method", square.Sides == 4);
            r.Check("interface dispatch over mixed types", SumAreasAndSides(new IShape[] { square, triangle, new Square(1), new Pentagon(), new Hexagon() }) == 9 + 4 + 6 + 3 + 1 + 4 + 5 + 5 + 60 + 6);
            r.Check("explicit interface implementation", triangle.Sides == 3);
            r.Check("generic interface over a value type", ((IValue<long>)new Square(2)).Get() == 2000L);
            r.Check("generic interface over a reference type", ((IValue<string>)triangle).Get() == "triangle");
            r.Check("interface call on a boxed struct", ((IValue<int>)new Counter { Count = 7 }).Get() == 7);
            r.Check("constrained call on a struct", GetValue(new Counter { Count = 5 }) == 5);
            Shape shape = new Square(4);
            r.Check("virtual call through a base class", shape.Name == "square" && shape.Area() == 16);

            object boxed = square;
            r.Check("is class", boxed is Square);
            r.Check("is base class", boxed is Shape);
            r.Check("is interface", boxed is IShape && boxed is IValue<long>);
            r.Check("is not unrelated class", !(boxed is Triangle));
            r.Check("is not unimplemented interface", !(boxed is IValue<string>));
            r.Check("as failing gives null", (boxed as Triangle) == null);
            object[] shapes = new Square[] { new Square(1) };
            r.Check("array covariance", shapes is Shape[] && shapes is IShape[] && !(shapes is Triangle[]));
            r.Check("array is object and Array", (object)shapes is Array);

            object number = 42;
            r.Check("box and unbox", number is int n && n == 42 && !(number is long));
            r.Check("boxed struct equality", number.Equals(42) && !number.Equals(43));

            r.Check("generic method over a class", First(new[] { "a", "b" }) == "a");
            r.Check("generic method over a struct", First(new[] { 5UL, 6UL }) == 5UL);

            int captured = 10;
            Func<int, int> add = x => x + captured;
            captured = 20;
            r.Check("closure sees the captured variable", add(1) == 21);
            Func<int, int> twice = Twice;
            r.Check("delegate to a static method", twice(21) == 42);
            Func<int> area = new Square(5).Area;
            r.Check("delegate to an instance method", area() == 25);

            r.Check("static constructor with an array", Lazy.Table[3] == 9);
            r.Check("struct copies keep every field after a reference", CopyMixed());
            r.Check("string concat and equality", string.Concat("VT", "-", "x") == "VT-x" && "VT-x" != "VT-d");
            r.Check("string hash is stable", "Partition".GetHashCode() == "Partition".GetHashCode());
            Span<byte> bytes = stackalloc byte[4];
            bytes.Fill(7);
            r.Check("span fill and slice", bytes.Slice(1, 2).Length == 2 && bytes[3] == 7);
            r.Check("span sequence equal", "abc".AsSpan().SequenceEqual("abc".AsSpan()) && !"abc".AsSpan().SequenceEqual("abd".AsSpan()));
            r.Check("switch expression on a string", Classify("page") == 1 && Classify("heap") == 3 && Classify("?") == 0);

            passed = r.Passed;
            return r.Failed;
        }

        // Not inlined, and over an array of mixed types: the compiler cannot devirtualize these
        // calls, so they go through interface dispatch cells.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static int SumAreasAndSides(IShape[] shapes)
        {
            int total = 0;
            foreach (var s in shapes)
                total += s.Area() + s.Sides;
            return total;
        }

        // A struct passed by value and stored into an array: ILC copies it with the write
        // barrier helper for each reference and MOVSQ for the value fields in between.
        private static bool CopyMixed()
        {
            var copies = new Mixed[2];
            Store(copies, 1, new Mixed { First = "a", Kind = 7, Second = "b", Number = 0x1234_5678_9ABC, Third = "c" });
            Mixed m = copies[1];
            return (string)m.First == "a" && m.Kind == 7 && (string)m.Second == "b" && m.Number == 0x1234_5678_9ABC && m.Third == "c";
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void Store(Mixed[] array, int index, Mixed value) => array[index] = value;

        private static int GetValue<T>(T value) where T : IValue<int> => value.Get();

        private static T First<T>(T[] items) => items[0];

        private static int Twice(int x) => x * 2;

        private static int Classify(string kind) => kind switch
        {
            "page" => 1,
            "throw" => 2,
            "heap" => 3,
            _ => 0,
        };

        private struct Results
        {
            public int Passed;
            public int Failed;

            public void Check(string name, bool ok)
            {
                if (ok)
                {
                    Passed++;
                    return;
                }
                Failed++;
                HypervisorConsole.Write("Runtime self-test FAILED: ");
                HypervisorConsole.WriteLine(name);
            }
        }
    }
}
