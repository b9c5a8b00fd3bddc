using System.Collections.Generic;
using static Iced.Intel.AssemblerRegisters;

namespace Partition.Host.Guests
{
    /// <summary>The guest that proves a restart scrubs memory: configs/scrub.json.</summary>
    public sealed partial class TestGuest
    {
        /// <summary>Where the secret goes in the guest's 64 KiB, and how much of it.</summary>
        public const ushort SecretAddress = 0x8000, SecretWords = 0x800;

        /// <summary>The word it fills memory with: "SE".</summary>
        public const ushort SecretWord = 0x4553;

        /// <summary>
        /// A real-mode guest: it looks at <see cref="SecretWords"/> words from
        /// <see cref="SecretAddress"/>, prints "memory clean" if every one is 0 and "SECRET
        /// SURVIVED" otherwise, then fills them with <see cref="SecretWord"/> and halts with
        /// interrupts off. Booted again by a restart, it finds what the last run left: nothing,
        /// if the restart scrubbed its memory.
        /// </summary>
        public static byte[] SecretKeeper(ulong origin, ushort uart)
        {
            var addresses = new Dictionary<string, ulong>();
            var first = new TestGuest(16, uart, name => addresses.GetValueOrDefault(name, origin));
            first.EmitSecretKeeper();
            first.Assemble(origin, addresses);
            var second = new TestGuest(16, uart, name => addresses[name]);
            second.EmitSecretKeeper();
            return second.Assemble(origin, new Dictionary<string, ulong>());
        }

        private void EmitSecretKeeper()
        {
            var a = _a;
            Text("clean", "memory clean\n");
            Text("survived", "SECRET SURVIVED\n");
            var check = a.CreateLabel();
            var dirty = a.CreateLabel();
            var fill = a.CreateLabel();
            var halt = a.CreateLabel();
            a.cli();
            a.xor(ax, ax);
            a.mov(ds, ax);
            a.mov(es, ax);
            a.cld();
            // Every word of the secret's place must be 0.
            a.mov(si, SecretAddress);
            a.mov(cx, SecretWords);
            a.Label(ref check);
            a.lodsw();
            a.test(ax, ax);
            a.jnz(dirty);
            a.loop(check);
            Print("clean");
            a.jmp(fill);
            a.Label(ref dirty);
            Print("survived");
            a.Label(ref fill);
            a.mov(di, SecretAddress);
            a.mov(cx, SecretWords);
            a.mov(ax, SecretWord);
            a.rep.stosw();
            a.Label(ref halt);
            a.hlt();
            a.jmp(halt);
            EmitPrintRoutineAndData();
        }
    }
}
