using System.Runtime.CompilerServices;

namespace Partition.Kernel
{
    /// <summary>
    /// Probes on the exit path, at its five seams: after the VM exit (the exit reason read),
    /// before dispatch, before the handler, after it, and just before the next VM entry. The run
    /// loop is generic over the probe (<see cref="ExitProfile.Off"/>, whose methods are empty and
    /// vanish when compiled, or <see cref="ExitProfile.On"/>), chosen once per slice: a run
    /// without "exitprofile=on" pays nothing for it.
    /// </summary>
    public interface IExitProbe
    {
        void SliceStarts(int cpu);
        void Exited(int cpu);
        void Dispatching(int cpu);
        void Handling(int cpu);
        void Handled(int cpu);

        /// <summary>Just before VM entry: the exit handled since the last entry (if any) is charged to its bucket.</summary>
        void Entering(int cpu, ref ExitContext c);
    }

    /// <summary>
    /// Where the ticks of each exit go ("exitprofile=on"): per CPU and per kind of exit (the
    /// exit reason; I/O exits by port), the mean ticks of
    /// <list type="bullet">
    /// <item>entry/exit: from the last hypervisor instruction before VM entry to the first of
    /// the exit handling (<c>PartitionHost.ExitPath</c>): the entry routine's register loads,
    /// VMRESUME, the guest's own instructions up to the exit, the register saves and the call;</item>
    /// <item>after exit: the exit reason's VMREAD, re-injection of an interrupted event, counters;</item>
    /// <item>dispatch: the table lookup (handlers read the exit qualification themselves);</item>
    /// <item>handler: the exit's handler;</item>
    /// <item>before entry: from the handler's return to the next entry: on the fast path the
    /// checks that let the guest go on at once (and the preemption timer when it is due to be
    /// rewritten); otherwise the run loop's own work (console, time limits, mailbox, local
    /// APIC, interrupt injection, preemption timer).</item>
    /// </list>
    /// In Bochs a tick is an instruction, so the probes' own cost is exact: it is measured once
    /// (<see cref="Calibrate"/>, the same probes back to back) and subtracted from each part.
    /// </summary>
    public static unsafe class ExitProfile
    {
        private const int Parts = 5, EntryExit = 0, AfterExit = 1, Dispatch = 2, Handler = 3, BeforeEntry = 4;
        private const int PortSlots = 16;
        private const int Buckets = ExitReasons.Count + PortSlots;
        private const int Columns = Parts + 1; // the parts, then the count

        // Per CPU: the marks A (exited), B (dispatching), C (handling), D (handled), E (entering); A = 0 when no exit is open.
        private const int Marks = 8, MarkA = 0, MarkB = 1, MarkC = 2, MarkD = 3, MarkE = 4;

        private static ulong[] s_marks;
        private static ulong[] s_sums;
        private static int[] s_ports;
        private static readonly ulong[] s_overhead = new ulong[Parts];

        public static bool Enabled { get; private set; }

        /// <summary>Turns the profile on (at boot, before partitions run): allocates its tables and measures the probes.</summary>
        public static void Enable(int cpuCount)
        {
            s_marks = new ulong[cpuCount * Marks];
            s_sums = new ulong[cpuCount * Buckets * Columns];
            s_ports = new int[cpuCount * PortSlots];
            for (int i = 0; i < s_ports.Length; i++)
                s_ports[i] = -1;
            Calibrate();
            Enabled = true;
        }

        /// <summary>
        /// The probes with nothing between them, on CPU 0's tables: what each part measures of
        /// the probes themselves, subtracted from every figure.
        /// </summary>
        private static void Calibrate()
        {
            var probe = default(On);
            var c = new ExitContext { ReasonField = 0 };
            probe.SliceStarts(0);
            probe.Entering(0, ref c);
            probe.Exited(0);
            probe.Dispatching(0);
            probe.Handling(0);
            probe.Handled(0);
            probe.Entering(0, ref c);
            for (int part = 0; part < Parts; part++)
                s_overhead[part] = s_sums[part];
            for (int i = 0; i < s_sums.Length; i++)
                s_sums[i] = 0;
        }

        /// <summary>No probes: every method is empty and disappears where it is called.</summary>
        public struct Off : IExitProbe
        {
            public void SliceStarts(int cpu) { }
            public void Exited(int cpu) { }
            public void Dispatching(int cpu) { }
            public void Handling(int cpu) { }
            public void Handled(int cpu) { }
            public void Entering(int cpu, ref ExitContext c) { }
        }

        /// <summary>
        /// TSC probes. Never inlined, so that every probe costs the same wherever it is called
        /// and the calibration measures exactly what the run loop's probes add.
        /// </summary>
        public struct On : IExitProbe
        {
            [MethodImpl(MethodImplOptions.NoInlining)]
            public void SliceStarts(int cpu) => s_marks[cpu * Marks + MarkA] = 0;

            [MethodImpl(MethodImplOptions.NoInlining)]
            public void Exited(int cpu) => s_marks[cpu * Marks + MarkA] = Cpu.ReadTsc();

            [MethodImpl(MethodImplOptions.NoInlining)]
            public void Dispatching(int cpu) => s_marks[cpu * Marks + MarkB] = Cpu.ReadTsc();

            [MethodImpl(MethodImplOptions.NoInlining)]
            public void Handling(int cpu) => s_marks[cpu * Marks + MarkC] = Cpu.ReadTsc();

            [MethodImpl(MethodImplOptions.NoInlining)]
            public void Handled(int cpu) => s_marks[cpu * Marks + MarkD] = Cpu.ReadTsc();

            [MethodImpl(MethodImplOptions.NoInlining)]
            public void Entering(int cpu, ref ExitContext c)
            {
                ulong end = Cpu.ReadTsc();
                int m = cpu * Marks;
                ulong a = s_marks[m + MarkA];
                if (a != 0)
                {
                    int row = (cpu * Buckets + BucketOf(cpu, ref c)) * Columns;
                    s_sums[row + EntryExit] += a - s_marks[m + MarkE];
                    s_sums[row + AfterExit] += s_marks[m + MarkB] - a;
                    s_sums[row + Dispatch] += s_marks[m + MarkC] - s_marks[m + MarkB];
                    s_sums[row + Handler] += s_marks[m + MarkD] - s_marks[m + MarkC];
                    s_sums[row + BeforeEntry] += end - s_marks[m + MarkD];
                    s_sums[row + Parts]++;
                    s_marks[m + MarkA] = 0;
                }
                s_marks[m + MarkE] = Cpu.ReadTsc();
            }
        }

        // The exit reason, or for port I/O a bucket of its own per port (while slots last).
        private static int BucketOf(int cpu, ref ExitContext c)
        {
            int reason = c.Reason < ExitReasons.Count ? c.Reason : 0;
            if (reason != (int)ExitReason.IoInstruction)
                return reason;
            int port = (int)(c.Qualification >> 16 & 0xFFFF);
            for (int slot = 0; slot < PortSlots; slot++)
            {
                ref int key = ref s_ports[cpu * PortSlots + slot];
                if (key == port)
                    return ExitReasons.Count + slot;
                if (key == -1)
                {
                    key = port;
                    return ExitReasons.Count + slot;
                }
            }
            return reason;
        }

        /// <summary>
        /// "CPU n exit profile ..." and one line per kind of exit seen on this CPU:
        /// "  VMCALL: 10000 exits: entry/exit 60, after exit 20, dispatch 15, handler 40, before entry 50, total 185".
        /// </summary>
        public static void Print(int cpu)
        {
            if (!Enabled)
                return;
            HypervisorConsole.Write("CPU ");
            HypervisorConsole.WriteDecimal((ulong)cpu);
            HypervisorConsole.Write(" exit profile, mean ticks per exit (probe cost subtracted: ");
            for (int part = 0; part < Parts; part++)
            {
                HypervisorConsole.WriteDecimal(s_overhead[part]);
                HypervisorConsole.Write(part == Parts - 1 ? ")" : ", ");
            }
            HypervisorConsole.WriteLine(":");
            for (int bucket = 0; bucket < Buckets; bucket++)
            {
                int row = (cpu * Buckets + bucket) * Columns;
                ulong count = s_sums[row + Parts];
                if (count == 0)
                    continue;
                HypervisorConsole.Write("  ");
                if (bucket < ExitReasons.Count)
                {
                    HypervisorConsole.Write(ExitReasons.Name(bucket));
                }
                else
                {
                    HypervisorConsole.Write("I/O port ");
                    HypervisorConsole.WriteHex((ulong)s_ports[cpu * PortSlots + bucket - ExitReasons.Count], 3);
                }
                HypervisorConsole.Write(": ");
                HypervisorConsole.WriteDecimal(count);
                HypervisorConsole.Write(" exits:");
                ulong total = 0;
                for (int part = 0; part < Parts; part++)
                {
                    ulong sum = s_sums[row + part];
                    ulong overhead = s_overhead[part] * count;
                    ulong mean = (sum > overhead ? sum - overhead : 0) / count;
                    total += mean;
                    HypervisorConsole.Write(part switch
                    {
                        EntryExit => " entry/exit ",
                        AfterExit => ", after exit ",
                        Dispatch => ", dispatch ",
                        Handler => ", handler ",
                        _ => ", before entry ",
                    });
                    HypervisorConsole.WriteDecimal(mean);
                }
                HypervisorConsole.Write(", total ");
                HypervisorConsole.WriteDecimal(total);
                HypervisorConsole.WriteLine();
            }
        }
    }
}
