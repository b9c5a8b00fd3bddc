namespace Partition.Scheduler
{
    public enum PolicyKind
    {
        /// <summary>One vCPU owns the core: no preemption timer, no exit caused by the scheduler.</summary>
        Dedicated,
        /// <summary>Equal slices in turn, enforced with the VMX-preemption timer.</summary>
        RoundRobin,
        /// <summary>CPU shares in proportion to weights over a window.</summary>
        Weighted,
    }

    /// <summary>
    /// A vCPU as the scheduler sees it: runnable or not, its weight, and the time it has had.
    /// The scheduler never touches VMX; <see cref="Owner"/> is what the switch code runs.
    /// </summary>
    public sealed class SchedulerEntity
    {
        public SchedulerEntity(string name, ulong weight, object owner)
        {
            Name = name;
            Weight = weight == 0 ? 1 : weight;
            Owner = owner;
        }

        public string Name { get; }
        public ulong Weight { get; }
        public object Owner { get; }
        public bool Runnable { get; set; } = true;

        /// <summary>Ticks this entity has run, over the whole run.</summary>
        public ulong Consumed { get; set; }

        /// <summary>Consumed scaled by 1/weight: the weighted policy runs the entity that is furthest behind.</summary>
        public ulong VirtualTime { get; set; }

        public ulong Slices { get; set; }
    }

    /// <summary>
    /// The policy contract: which entity runs next and for how long, and what to record when
    /// it stops. One instance per physical CPU (see <see cref="CoreControlBlock"/>).
    /// </summary>
    public abstract class SchedulingPolicy
    {
        public const int MaxEntities = 32;

        protected readonly SchedulerEntity[] Entities = new SchedulerEntity[MaxEntities];

        public int Count { get; private set; }

        public abstract PolicyKind Kind { get; }

        public SchedulerEntity this[int index] => Entities[index];

        /// <summary>Adds an entity; false if the policy cannot take it (full, or a second one on a dedicated core).</summary>
        public virtual bool TryAdd(SchedulerEntity entity)
        {
            if (Count == MaxEntities)
                return false;
            Entities[Count++] = entity;
            return true;
        }

        /// <summary>Removes an entity (it migrates away); false if it is not here.</summary>
        public virtual bool Remove(SchedulerEntity entity)
        {
            for (int i = 0; i < Count; i++)
            {
                if (Entities[i] != entity)
                    continue;
                for (int j = i; j < Count - 1; j++)
                    Entities[j] = Entities[j + 1];
                Entities[--Count] = null;
                return true;
            }
            return false;
        }

        public bool Contains(SchedulerEntity entity)
        {
            for (int i = 0; i < Count; i++)
                if (Entities[i] == entity)
                    return true;
            return false;
        }

        /// <summary>True if another entity can be added (a dedicated core holds one).</summary>
        public virtual bool HasRoom => Count < MaxEntities;

        /// <summary>The entity to run next, or null if none is runnable.</summary>
        public abstract SchedulerEntity PickNext();

        /// <summary>How long the entity may run before the preemption timer stops it; 0 = no limit.</summary>
        public abstract ulong SliceFor(SchedulerEntity entity);

        /// <summary>Records that <paramref name="entity"/> ran for <paramref name="ticks"/>.</summary>
        public virtual void Account(SchedulerEntity entity, ulong ticks)
        {
            entity.Consumed += ticks;
            entity.VirtualTime += ticks * 64 / entity.Weight;
        }

        public static SchedulingPolicy Create(PolicyKind kind, ulong sliceTicks) => kind switch
        {
            PolicyKind.Dedicated => new DedicatedPolicy(),
            PolicyKind.RoundRobin => new RoundRobinPolicy(sliceTicks),
            _ => new WeightedPolicy(sliceTicks),
        };
    }

    /// <summary>One vCPU, never preempted by the scheduler.</summary>
    public sealed class DedicatedPolicy : SchedulingPolicy
    {
        public override PolicyKind Kind => PolicyKind.Dedicated;

        public override bool TryAdd(SchedulerEntity entity) => Count == 0 && base.TryAdd(entity);

        public override bool HasRoom => Count == 0;

        public override SchedulerEntity PickNext() => Count == 1 && Entities[0].Runnable ? Entities[0] : null;

        public override ulong SliceFor(SchedulerEntity entity) => 0;
    }

    /// <summary>Each runnable vCPU in turn for one slice.</summary>
    public sealed class RoundRobinPolicy : SchedulingPolicy
    {
        private readonly ulong _slice;
        private int _last = -1;

        public RoundRobinPolicy(ulong sliceTicks) { _slice = sliceTicks; }

        public override PolicyKind Kind => PolicyKind.RoundRobin;

        public override bool Remove(SchedulerEntity entity)
        {
            bool removed = base.Remove(entity);
            if (_last >= Count)
                _last = -1;
            return removed;
        }

        public override SchedulerEntity PickNext()
        {
            for (int step = 1; step <= Count; step++)
            {
                int index = (_last + step) % Count;
                if (Entities[index].Runnable)
                {
                    _last = index;
                    return Entities[index];
                }
            }
            return null;
        }

        public override ulong SliceFor(SchedulerEntity entity) => _slice;
    }

    /// <summary>
    /// Proportional share: the runnable vCPU with the least virtual time (ticks run divided by
    /// weight) runs next, for one slice. Over a window of many slices each vCPU's share of the
    /// core approaches its weight's share of the total. A vCPU that becomes runnable again is
    /// not given credit for the time it was blocked (its virtual time is raised to the least
    /// among the others), so it cannot monopolise the core afterwards.
    /// </summary>
    public sealed class WeightedPolicy : SchedulingPolicy
    {
        private readonly ulong _slice;

        public WeightedPolicy(ulong sliceTicks) { _slice = sliceTicks; }

        public override PolicyKind Kind => PolicyKind.Weighted;

        public override SchedulerEntity PickNext()
        {
            SchedulerEntity best = null;
            for (int i = 0; i < Count; i++)
            {
                var e = Entities[i];
                if (e.Runnable && (best == null || e.VirtualTime < best.VirtualTime))
                    best = e;
            }
            return best;
        }

        public override ulong SliceFor(SchedulerEntity entity) => _slice;

        /// <summary>Call when an entity becomes runnable again after being blocked.</summary>
        public void Wake(SchedulerEntity entity)
        {
            ulong least = ulong.MaxValue;
            for (int i = 0; i < Count; i++)
                if (Entities[i] != entity && Entities[i].Runnable && Entities[i].VirtualTime < least)
                    least = Entities[i].VirtualTime;
            if (least != ulong.MaxValue && entity.VirtualTime < least)
                entity.VirtualTime = least;
            entity.Runnable = true;
        }
    }
}
