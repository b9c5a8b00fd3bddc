using System.IO;

namespace Partition.Host.Guests
{
    /// <summary>
    /// The guest images configs/three-modes.json boots: the standard test guest in real mode,
    /// 32-bit protected mode and 64-bit long mode, at the load addresses and UART ports that
    /// configuration gives them.
    /// </summary>
    public static class DemoGuests
    {
        public static readonly (string File, int Bitness, ulong Origin, ushort Uart, string Greeting)[] ThreeModes =
        {
            ("real.bin", 16, 0x1000, 0x3F8, "Hello from real mode"),
            ("prot.bin", 32, 0x100000, 0x2F8, "Hello from 32-bit protected mode"),
            ("long.bin", 64, 0x200000, 0x3E8, "Hello from 64-bit long mode"),
        };

        /// <summary>
        /// The images configs/multiboot-guests.json boots: a Multiboot kernel (flat, with
        /// address fields), a Multiboot2 kernel (ELF32) and the text module both are given.
        /// </summary>
        public static string[] WriteMultiboot(string directory)
        {
            Directory.CreateDirectory(directory);
            const uint mb1Origin = 0x100000, mb2Origin = 0x200000;
            var files = new (string Name, byte[] Bytes)[]
            {
                ("mb1.bin", TestGuest.MultibootKernel(1, mb1Origin, 0x3F8, "Hello from a Multiboot kernel")),
                ("mb2.elf", Elf32.Wrap(TestGuest.MultibootKernel(2, mb2Origin, 0x3F8, "Hello from a Multiboot2 kernel"),
                    mb2Origin, mb2Origin + TestGuest.Multiboot2HeaderSize)),
                ("module.txt", System.Text.Encoding.ASCII.GetBytes("text of a boot module")),
            };
            var paths = new string[files.Length];
            for (int i = 0; i < files.Length; i++)
            {
                paths[i] = Path.Combine(directory, files[i].Name);
                File.WriteAllBytes(paths[i], files[i].Bytes);
            }
            return paths;
        }

        /// <summary>
        /// The never-halting guest the scheduling examples run (spin.bin, RFLAGS.IF = 1), and
        /// the same with interrupts disabled (spin-if0.bin).
        /// </summary>
        public static string WriteSpinner(string directory)
        {
            Directory.CreateDirectory(directory);
            string path = Path.Combine(directory, "spin.bin");
            File.WriteAllBytes(path, TestGuest.Spinner(0x200000, 0x3F8));
            File.WriteAllBytes(Path.Combine(directory, "spin-if0.bin"), TestGuest.Spinner(0x200000, 0x3F8, interruptsEnabled: false));
            return path;
        }

        /// <summary>The guest configs/fault-containment.json stops for writing outside its memory.</summary>
        public static string WriteWild(string directory)
        {
            Directory.CreateDirectory(directory);
            string path = Path.Combine(directory, "wild.bin");
            File.WriteAllBytes(path, TestGuest.Wild(0x200000, 0x3F8));
            return path;
        }

        /// <summary>The guest configs/management.json runs beside a spinning host partition.</summary>
        public static string WriteIntruder(string directory)
        {
            Directory.CreateDirectory(directory);
            string path = Path.Combine(directory, "intruder.bin");
            File.WriteAllBytes(path, TestGuest.Intruder(0x200000, 0x3F8));
            return path;
        }

        /// <summary>The real-mode guest of configs/scrub.json, loaded at 0x1000.</summary>
        public static string WriteSecretKeeper(string directory)
        {
            Directory.CreateDirectory(directory);
            string path = Path.Combine(directory, "secret.bin");
            File.WriteAllBytes(path, TestGuest.SecretKeeper(0x1000, 0x3F8));
            return path;
        }

        /// <summary>Every image the example configurations in configs/ name, written into <paramref name="directory"/>; returns their paths.</summary>
        public static string[] WriteAll(string directory)
        {
            var paths = new System.Collections.Generic.List<string>();
            paths.AddRange(Write(directory));
            paths.AddRange(WriteMultiboot(directory));
            paths.Add(WriteSpinner(directory));
            paths.Add(Path.Combine(directory, "spin-if0.bin"));
            paths.Add(WriteIntruder(directory));
            paths.Add(WriteWild(directory));
            paths.AddRange(AttackSuite.WriteImages(directory));
            paths.AddRange(WriteSharedMemoryRing(directory));
            paths.AddRange(WriteStateIsolation(directory));
            paths.AddRange(WriteApic(directory));
            paths.Add(WriteSecretKeeper(directory));
            paths.Add(WriteIpiAttacker(directory));
            return paths.ToArray();
        }

        /// <summary>Where configs/shared-memory-ring.json maps the region "ring" in each partition.</summary>
        public const ulong RingAtWriter = 0x1000_0000, RingAtReader = 0x2000_0000;

        /// <summary>The writer and the reader configs/shared-memory-ring.json boots.</summary>
        public static string[] WriteSharedMemoryRing(string directory)
        {
            Directory.CreateDirectory(directory);
            string writer = Path.Combine(directory, "ring-writer.bin"), reader = Path.Combine(directory, "ring-reader.bin");
            File.WriteAllBytes(writer, TestGuest.SharedWriter(0x200000, 0x3F8, RingAtWriter));
            File.WriteAllBytes(reader, TestGuest.SharedReader(0x200000, 0x3F8, RingAtReader));
            return new[] { writer, reader };
        }

        /// <summary>How many times each guest of configs/state-isolation.json checks its state (about 300 instructions a pass).</summary>
        public const int StateIsolationPasses = 30000;

        /// <summary>The partitions of configs/state-isolation.json and their seeds.</summary>
        public static readonly (string Partition, uint Seed)[] StateIsolationGuests = { ("state-a", 1), ("state-b", 2), ("state-c", 3) };

        /// <summary>The state-isolation guests, one image per seed (state-a.bin, ...).</summary>
        public static string[] WriteStateIsolation(string directory)
        {
            Directory.CreateDirectory(directory);
            var paths = new string[StateIsolationGuests.Length];
            for (int i = 0; i < paths.Length; i++)
            {
                var (partition, seed) = StateIsolationGuests[i];
                paths[i] = Path.Combine(directory, partition + ".bin");
                File.WriteAllBytes(paths[i], TestGuest.StateIsolation(0x200000, 0x3F8, seed, StateIsolationPasses));
            }
            return paths;
        }

        /// <summary>Measurements per figure of configs/apic.json's guest (apic.bin, what 'partition bench' runs), and of apic-quick.bin (the system test's).</summary>
        public const int ApicIterations = 1000, ApicQuickIterations = 50;

        /// <summary>The two-vCPU local APIC guest of configs/apic.json: apic.bin, and apic-quick.bin with fewer measurements.</summary>
        public static string[] WriteApic(string directory)
        {
            Directory.CreateDirectory(directory);
            string full = Path.Combine(directory, "apic.bin"), quick = Path.Combine(directory, "apic-quick.bin");
            File.WriteAllBytes(full, TestGuest.ApicGuest(0x200000, 0x3F8, ApicIterations));
            File.WriteAllBytes(quick, TestGuest.ApicGuest(0x200000, 0x3F8, ApicQuickIterations));
            return new[] { full, quick };
        }

        /// <summary>The two-vCPU attacker of configs/ipi-attack.json (ipi-attacker.bin).</summary>
        public static string WriteIpiAttacker(string directory)
        {
            Directory.CreateDirectory(directory);
            string path = Path.Combine(directory, "ipi-attacker.bin");
            File.WriteAllBytes(path, TestGuest.IpiAttacker(0x200000, 0x3F8));
            return path;
        }

        /// <summary>Writes the three images into <paramref name="directory"/>; returns their paths.</summary>
        public static string[] Write(string directory)
        {
            Directory.CreateDirectory(directory);
            var paths = new string[ThreeModes.Length];
            for (int i = 0; i < ThreeModes.Length; i++)
            {
                var g = ThreeModes[i];
                paths[i] = Path.Combine(directory, g.File);
                File.WriteAllBytes(paths[i], TestGuest.Standard(g.Bitness, g.Origin, g.Uart, g.Greeting));
            }
            return paths;
        }
    }
}
