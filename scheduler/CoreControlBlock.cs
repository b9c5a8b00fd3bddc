namespace Partition.Scheduler
{
    /// <summary>
    /// One physical CPU's scheduling state: its policy and entities, what it is running, and
    /// its counters. The switch itself (VMPTRLD, preemption timer, VM entry) is the caller's
    /// architecture code; this block only decides and records.
    /// </summary>
    public sealed class CoreControlBlock
    {
        public CoreControlBlock(int cpu, SchedulingPolicy policy)
        {
            Cpu = cpu;
            Policy = policy;
        }

        public int Cpu { get; }
        public SchedulingPolicy Policy { get; }

        /// <summary>The entity whose VMCS is current on this CPU, or null.</summary>
        public SchedulerEntity Loaded { get; set; }

        /// <summary>Times the current VMCS changed (VMPTRLD of another vCPU).</summary>
        public ulong Switches { get; set; }

        /// <summary>Ticks spent in guests, over all entities.</summary>
        public ulong GuestTicks { get; set; }

        /// <summary>
        /// Each entity's share of the core's guest time since it arrived (the whole run for one
        /// there from the start), in thousandths: a vCPU that migrated here late is measured
        /// against the time it could have had, not against the core's whole run.
        /// </summary>
        public ulong SharePermille(SchedulerEntity entity)
        {
            if (Policy.Kind == PolicyKind.Dedicated && Policy.Count == 1)
                return 1000;
            ulong since = GuestTicks - entity.CoreTicksAtArrival;
            return since == 0 ? 0 : entity.Consumed * 1000 / since;
        }

        /// <summary>An entity migrated here (its policy already holds it): its slices and share count from now, of this core's time only.</summary>
        public void Arrived(SchedulerEntity entity)
        {
            entity.Consumed = 0;
            entity.Slices = 0;
            entity.CoreTicksAtArrival = GuestTicks;
        }

        /// <summary>The share the policy should give <paramref name="entity"/> while all are runnable, in thousandths.</summary>
        public ulong ConfiguredSharePermille(SchedulerEntity entity)
        {
            if (Policy.Kind == PolicyKind.Dedicated)
                return 1000;
            ulong total = Policy.Kind == PolicyKind.Weighted ? Policy.TotalWeight : (ulong)Policy.Count;
            ulong mine = Policy.Kind == PolicyKind.Weighted ? entity.Weight : 1;
            return total == 0 ? 0 : mine * 1000 / total;
        }

        /// <summary>Records a slice that ended after <paramref name="ticks"/>.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public void EndSlice(SchedulerEntity entity, ulong ticks)
        {
            Policy.Account(entity, ticks);
            entity.Slices++;
            GuestTicks += ticks;
        }
    }
}
