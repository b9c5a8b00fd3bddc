#nullable enable
using System.Diagnostics;
using Partition.Scheduler;

namespace Partition.Cli
{
    /// <summary>
    /// 'partition bench-scheduler [--slices N]': what one scheduling decision costs on the host
    /// (the policies are the sources the image runs), for a core with 1, 32 and 1,024 vCPUs and
    /// for 256 cores with 4 each. A decision is what the run loop asks of the policy per slice:
    /// PickNext, then EndSlice (the accounting); every 16th slice the vCPU that ran blocks (it
    /// halted) and the one blocked before it on that core wakes, so that the queues change as
    /// they do under guests that idle. Printed per row: nanoseconds per decision (Stopwatch),
    /// steps per decision (entities looked at or compared, <see cref="SchedulingPolicy.Steps"/>)
    /// and the bytes allocated while timing (none: nothing on the scheduling path allocates).
    /// </summary>
    internal static class SchedulerBench
    {
        public const int DefaultSlices = 2_000_000;

        private readonly record struct Scenario(PolicyKind Kind, int Cores, int VcpusPerCore);

        private static readonly Scenario[] Scenarios =
        {
            new(PolicyKind.Dedicated, 1, 1),
            new(PolicyKind.RoundRobin, 1, 1),
            new(PolicyKind.RoundRobin, 1, 32),
            new(PolicyKind.RoundRobin, 1, 1024),
            new(PolicyKind.RoundRobin, 256, 4),
            new(PolicyKind.Weighted, 1, 1),
            new(PolicyKind.Weighted, 1, 32),
            new(PolicyKind.Weighted, 1, 1024),
            new(PolicyKind.Weighted, 256, 4),
        };

        public static int Run(string[] args, TextWriter stdout)
        {
            var options = new Options(args, new[] { "--slices" }, maxPositional: 0);
            int slices = options.GetInt("--slices", 1, 1_000_000_000) ?? DefaultSlices;
            stdout.WriteLine($"partition bench-scheduler: {slices:N0} slices per row, each PickNext + EndSlice; every 16th slice the vCPU that ran blocks and the one blocked before it wakes");
            stdout.WriteLine("policy       cores  vCPUs/core  ns/decision  steps/decision  allocated");
            foreach (var scenario in Scenarios)
            {
                Measure(scenario, Math.Max(1, slices / 10), out _, out _, out _); // warm-up: the JIT's final code
                Measure(scenario, slices, out double nanoseconds, out double steps, out long allocated);
                string name = scenario.Kind switch { PolicyKind.Dedicated => "dedicated", PolicyKind.RoundRobin => "round-robin", _ => "weighted" };
                stdout.WriteLine($"{name,-11} {scenario.Cores,6} {scenario.VcpusPerCore,11} {nanoseconds,12:F1} {steps,15:F2} {allocated,8:N0} B");
            }
            return 0;
        }

        private static void Measure(Scenario scenario, int slices, out double nanosecondsPerDecision, out double stepsPerDecision, out long allocated)
        {
            var cores = new CoreControlBlock[scenario.Cores];
            var blocked = new SchedulerEntity?[scenario.Cores];
            for (int c = 0; c < cores.Length; c++)
            {
                var policy = SchedulingPolicy.Create(scenario.Kind, 1000, scenario.VcpusPerCore);
                for (int v = 0; v < scenario.VcpusPerCore; v++)
                    if (!policy.TryAdd(new SchedulerEntity($"c{c}v{v}", (ulong)(v % 4 + 1), null)))
                        throw new InvalidOperationException($"core {c} refused vCPU {v}");
                cores[c] = new CoreControlBlock(c, policy);
            }
            bool blocks = scenario.VcpusPerCore > 1;
            ulong stepsBefore = 0;
            foreach (var core in cores)
                stepsBefore += core.Policy.Steps;

            var clock = new Stopwatch();
            long bytesBefore = GC.GetAllocatedBytesForCurrentThread();
            clock.Start();
            for (int i = 0; i < slices; i++)
            {
                int c = i % cores.Length;
                var core = cores[c];
                var next = core.Policy.PickNext()!;
                core.EndSlice(next, 900 + (ulong)(i & 255));
                if (blocks && (i / cores.Length) % 16 == 0)
                {
                    next.Runnable = false;
                    var woken = blocked[c];
                    blocked[c] = next;
                    if (woken != null)
                    {
                        if (core.Policy is WeightedPolicy weighted)
                            weighted.Wake(woken);
                        else
                            woken.Runnable = true;
                    }
                }
            }
            clock.Stop();
            allocated = GC.GetAllocatedBytesForCurrentThread() - bytesBefore;

            ulong stepsAfter = 0;
            foreach (var core in cores)
                stepsAfter += core.Policy.Steps;
            nanosecondsPerDecision = clock.Elapsed.TotalNanoseconds / slices;
            stepsPerDecision = (double)(stepsAfter - stepsBefore) / slices;
        }
    }
}
