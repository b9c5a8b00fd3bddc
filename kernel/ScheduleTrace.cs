namespace Partition.Kernel
{
    /// <summary>What a trace event records.</summary>
    public enum TraceKind : byte
    {
        /// <summary>A vCPU ran on the core from Start to End, with Exits VM exits.</summary>
        Slice,
        /// <summary>A vCPU left the core for core Other (VMCLEAR done, handed over), at Start.</summary>
        MigrateOut,
        /// <summary>A vCPU arrived on the core from core Other, at Start.</summary>
        MigrateIn,
        Pause,
        Resume,
        Stop,
        Restart,
    }

    /// <summary>One event of a core's trace.</summary>
    public struct TraceEvent
    {
        public ulong Start, End, Exits;
        public VirtualCpu Vcpu;
        public TraceKind Kind;
        public int Other;
    }

    /// <summary>
    /// The schedule as it happened, per core, for `partition run --timeline`: with "trace=on" on
    /// the kernel command line each core keeps its last <see cref="EventsPerCore"/> events (its
    /// slices, with their exits; migrations out and in; pauses, resumes, stops and restarts
    /// the console or the host partition asked for, on the core that carried them out) in a
    /// ring of its own, which only that core writes, and the hypervisor prints them all when
    /// the run is over, one line each:
    /// <c>trace CORE KIND START END PARTITION.VCPU OTHER EXITS</c> (START and END in TSC ticks
    /// since power-on), then "Trace end". Off, nothing is allocated and each hook costs one test.
    /// </summary>
    public static class ScheduleTrace
    {
        public const int EventsPerCore = 4096;

        private static TraceEvent[][] s_events;
        private static ulong[] s_recorded;

        public static bool Enabled => s_events != null;

        /// <summary>Allocates a ring per core (at boot, before the partitions start).</summary>
        public static void Start(int cores)
        {
            var events = new TraceEvent[cores][];
            for (int i = 0; i < cores; i++)
                events[i] = new TraceEvent[EventsPerCore];
            s_recorded = new ulong[cores];
            s_events = events;
        }

        /// <summary>Records an event in <paramref name="core"/>'s ring; called on that core only.</summary>
        public static void Record(int core, TraceKind kind, VirtualCpu vcpu, ulong start, ulong end, int other, ulong exits)
        {
            var events = s_events;
            if (events == null || core < 0 || core >= events.Length)
                return;
            ulong n = s_recorded[core];
            ref var e = ref events[core][(int)(n % EventsPerCore)];
            e.Kind = kind;
            e.Vcpu = vcpu;
            e.Start = start;
            e.End = end;
            e.Other = other;
            e.Exits = exits;
            s_recorded[core] = n + 1;
        }

        /// <summary>An event at one instant (a migration, a pause...).</summary>
        public static void Mark(int core, TraceKind kind, VirtualCpu vcpu, int other) =>
            Record(core, kind, vcpu, Tsc.Now, 0, other, 0);

        /// <summary>
        /// Prints every core's events, oldest first, after a header line with the TSC's rate and
        /// <paramref name="partitionsStart"/>, the TSC value the timeline counts from (the script's zero).
        /// </summary>
        public static void Dump(ulong partitionsStart)
        {
            var events = s_events;
            if (events == null)
                return;
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write("Trace: ");
            HypervisorConsole.WriteDecimal((ulong)events.Length);
            HypervisorConsole.Write(" cores, ");
            HypervisorConsole.WriteDecimal(Tsc.TicksPerMillisecond);
            HypervisorConsole.Write(" TSC ticks per ms, up to ");
            HypervisorConsole.WriteDecimal((ulong)EventsPerCore);
            HypervisorConsole.Write(" events a core (the latest), the partitions started at TSC ");
            HypervisorConsole.WriteDecimal(partitionsStart);
            HypervisorConsole.WriteLine();
            for (int core = 0; core < events.Length; core++)
            {
                ulong recorded = s_recorded[core];
                ulong first = recorded > EventsPerCore ? recorded - EventsPerCore : 0;
                for (ulong i = first; i < recorded; i++)
                {
                    ref var e = ref events[core][(int)(i % EventsPerCore)];
                    HypervisorConsole.Write("trace ");
                    HypervisorConsole.WriteDecimal((ulong)core);
                    HypervisorConsole.Write(" ");
                    HypervisorConsole.Write(Name(e.Kind));
                    HypervisorConsole.Write(" ");
                    HypervisorConsole.WriteDecimal(e.Start);
                    HypervisorConsole.Write(" ");
                    HypervisorConsole.WriteDecimal(e.End);
                    HypervisorConsole.Write(" ");
                    HypervisorConsole.Write(e.Vcpu != null ? e.Vcpu.Machine.Name : "-");
                    HypervisorConsole.Write(".");
                    HypervisorConsole.WriteDecimal(e.Vcpu != null ? (ulong)e.Vcpu.Index : 0);
                    HypervisorConsole.Write(" ");
                    HypervisorConsole.WriteDecimal((long)e.Other);
                    HypervisorConsole.Write(" ");
                    HypervisorConsole.WriteDecimal(e.Exits);
                    HypervisorConsole.WriteLine();
                }
            }
            HypervisorConsole.WriteLine("Trace end");
            HypervisorConsole.EndLine();
        }

        private static string Name(TraceKind kind) => kind switch
        {
            TraceKind.Slice => "slice",
            TraceKind.MigrateOut => "migrate-out",
            TraceKind.MigrateIn => "migrate-in",
            TraceKind.Pause => "pause",
            TraceKind.Resume => "resume",
            TraceKind.Stop => "stop",
            _ => "restart",
        };
    }
}
