using System.Collections.Generic;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Partition.Host.Guests
{
    /// <summary>The two 64-bit guests of configs/shared-memory-ring.json: a writer and a read-only reader of one region.</summary>
    public sealed partial class TestGuest
    {
        /// <summary>Writes an ever-increasing counter into the first qword of the shared region at <paramref name="region"/>, for ever.</summary>
        public static byte[] SharedWriter(ulong origin, ushort uart, ulong region)
        {
            var guest = new TestGuest(64, uart, _ => origin);
            var a = guest._a;
            guest.Text("hello", $"writing a counter at 0x{region:X} (shared, read-write here)\n");
            guest.Print("hello");
            var loop = a.CreateLabel();
            a.mov(rbx, region);
            a.xor(eax, eax);
            a.Label(ref loop);
            a.inc(rax);
            a.mov(__qword_ptr[rbx], rax);
            a.jmp(loop);
            guest.EmitPrintRoutineAndData();
            return guest.Assemble(origin, new Dictionary<string, ulong>());
        }

        /// <summary>The instruction with which the reader writes to its read-only view (the crash report names it).</summary>
        public static void EmitSharedReaderWrite(Assembler a) => a.mov(__qword_ptr[rbx], r13);

        /// <summary>
        /// Reads the counter at <paramref name="region"/> until it moves (the writer runs in its
        /// own slices), says so, then writes to the region, which is read-only for it.
        /// </summary>
        public static byte[] SharedReader(ulong origin, ushort uart, ulong region)
        {
            var guest = new TestGuest(64, uart, _ => origin);
            var a = guest._a;
            guest.Text("hello", $"reading the counter at 0x{region:X} (shared, read-only here)\n");
            guest.Text("moved", "the writer's counter moved forward\n");
            guest.Text("backward", "the counter went BACKWARD\n");
            guest.Text("writing", "writing to read-only shared memory\n");
            guest.Text("survived", "the write did not fault\n");
            var wait = a.CreateLabel();
            var backward = a.CreateLabel();
            guest.Print("hello");
            a.mov(rbx, region);
            a.mov(r12, __qword_ptr[rbx]);
            a.Label(ref wait);
            a.pause();
            a.mov(r13, __qword_ptr[rbx]);
            a.cmp(r13, r12);
            a.je(wait);
            a.jb(backward);
            guest.Print("moved");
            guest.Print("writing");
            EmitSharedReaderWrite(a);
            guest.Print("survived");
            a.hlt();
            a.Label(ref backward);
            guest.Print("backward");
            a.hlt();
            guest.EmitPrintRoutineAndData();
            return guest.Assemble(origin, new Dictionary<string, ulong>());
        }
    }
}
