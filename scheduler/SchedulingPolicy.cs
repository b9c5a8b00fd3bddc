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
        private bool _runnable = true;
        private ulong _virtualTime;

        public SchedulerEntity(string name, ulong weight, object owner)
        {
            Name = name;
            Weight = weight == 0 ? 1 : weight;
            Owner = owner;
        }

        public string Name { get; }
        public ulong Weight { get; }
        public object Owner { get; }

        /// <summary>
        /// May run now. Setting it tells the policy holding the entity, which keeps only
        /// runnable entities in its queue: so picking never walks past blocked ones.
        /// </summary>
        public bool Runnable
        {
            get => _runnable;
            set
            {
                if (_runnable == value)
                    return;
                _runnable = value;
                Holder?.RunnableChanged(this);
            }
        }

        /// <summary>Ticks this entity has run on its core (since it arrived there, <see cref="CoreControlBlock.Arrived"/>).</summary>
        public ulong Consumed { get; set; }

        /// <summary>Its core's guest ticks when it arrived there (0 for one there from the start): its share is of the time since.</summary>
        public ulong CoreTicksAtArrival { get; set; }

        /// <summary>
        /// Consumed scaled by 1/weight, kept by the weighted policy (only it orders by it): it
        /// runs the entity that is furthest behind. Setting it moves the entity in that policy's queue.
        /// </summary>
        public ulong VirtualTime
        {
            get => _virtualTime;
            set
            {
                if (_virtualTime == value)
                    return;
                _virtualTime = value;
                Holder?.VirtualTimeChanged(this);
            }
        }

        /// <summary>Slices it has run on its core (since it arrived there).</summary>
        public ulong Slices { get; set; }

        // The policy's bookkeeping, written only by the policy that holds the entity (one at a
        // time: a migration removes it from one core's policy before the next adds it).

        /// <summary>The policy whose schedule the entity is on, or null.</summary>
        internal SchedulingPolicy Holder;

        /// <summary>Its index in the holder's table (<see cref="SchedulingPolicy.this[int]"/>).</summary>
        internal int Slot;

        /// <summary>When the holder took it: equal virtual times go to the one added first.</summary>
        internal ulong Arrival;

        /// <summary>Weighted: its index in the heap of runnable entities; -1 when not in it.</summary>
        internal int HeapIndex = -1;

        /// <summary>Round-robin: its neighbours in the ring of runnable entities (null when not in it).</summary>
        internal SchedulerEntity Next, Previous;
    }

    /// <summary>
    /// The policy contract: which entity runs next and for how long, and what to record when
    /// it stops. One instance per physical CPU (see <see cref="CoreControlBlock"/>).
    /// A policy takes any number of entities. Its table is sized when it is created and grows
    /// (doubling) only in <see cref="TryAdd"/>, at boot or when a migrated vCPU arrives; picking,
    /// accounting and a change of <see cref="SchedulerEntity.Runnable"/> never allocate. The
    /// hypervisor never frees heap memory, so a core that has held at most n entities has
    /// allocated less than 2n slots per table over the whole run.
    /// </summary>
    public abstract class SchedulingPolicy
    {
        private SchedulerEntity[] _entities;
        private ulong _arrivals;

        protected SchedulingPolicy(int capacity, ulong sliceTicks)
        {
            _entities = new SchedulerEntity[capacity < 1 ? 1 : capacity];
            SliceTicks = sliceTicks;
        }

        public int Count { get; private set; }

        /// <summary>Entities the policy can take before its tables grow.</summary>
        public int Capacity => _entities.Length;

        /// <summary>The weights of all its entities, added up (runnable or not).</summary>
        public ulong TotalWeight { get; private set; }

        /// <summary>
        /// Entities looked at or compared by picking and by keeping the queue in order, since
        /// the policy was created: what the scheduler's cost per slice is made of, counted so
        /// that a test can bound it without a clock.
        /// </summary>
        public ulong Steps { get; protected set; }

        public abstract PolicyKind Kind { get; }

        /// <summary>The entities in the order they were added (a removal keeps the others' order).</summary>
        public SchedulerEntity this[int index] => _entities[index];

        /// <summary>
        /// Adds an entity; false if the policy cannot take it (a second one on a dedicated core,
        /// or one that is on a schedule already). The only call that may allocate: the tables
        /// double when full.
        /// </summary>
        public virtual bool TryAdd(SchedulerEntity entity)
        {
            if (entity.Holder != null)
                return false;
            if (Count == _entities.Length)
                Grow(2 * _entities.Length);
            entity.Holder = this;
            entity.Slot = Count;
            entity.Arrival = _arrivals++;
            _entities[Count] = entity;
            // Published after the entity: the console on another CPU reads Count, then the table.
            Count++;
            TotalWeight += entity.Weight;
            if (entity.Runnable)
                Enqueue(entity);
            return true;
        }

        /// <summary>
        /// Removes an entity (it migrates away); false if it is not here. O(n): the entities
        /// after it move up one, so the table keeps the order they came in. A migration, not a slice.
        /// </summary>
        public bool Remove(SchedulerEntity entity)
        {
            if (entity.Holder != this)
                return false;
            if (entity.Runnable)
                Dequeue(entity);
            for (int i = entity.Slot; i < Count - 1; i++)
            {
                _entities[i] = _entities[i + 1];
                _entities[i].Slot = i;
            }
            _entities[--Count] = null;
            TotalWeight -= entity.Weight;
            entity.Holder = null;
            return true;
        }

        public bool Contains(SchedulerEntity entity) => entity.Holder == this;

        /// <summary>True if another entity can be added (a dedicated core holds one; the others any number).</summary>
        public virtual bool HasRoom => true;

        /// <summary>The entity to run next, or null if none is runnable.</summary>
        public abstract SchedulerEntity PickNext();

        /// <summary>How long each entity may run before the preemption timer stops it (the core's slice); 0 = no limit.</summary>
        public ulong SliceTicks { get; }

        /// <summary>Records that <paramref name="entity"/> ran for <paramref name="ticks"/> (the weighted policy also moves its virtual time).</summary>
        public virtual void Account(SchedulerEntity entity, ulong ticks) => entity.Consumed += ticks;

        /// <summary>
        /// A runnable entity that has just arrived (a migration on command) or woken (from HLT)
        /// runs at the next pick: round-robin moves it to the head of its ring; weighted gives it
        /// the least virtual time, one below the least. Its turns afterwards are as any other's.
        /// </summary>
        public virtual void Prefer(SchedulerEntity entity) { }

        /// <summary>The entity became runnable, or was added runnable: into the queue.</summary>
        protected abstract void Enqueue(SchedulerEntity entity);

        /// <summary>The entity stopped being runnable, or leaves while runnable: out of the queue.</summary>
        protected abstract void Dequeue(SchedulerEntity entity);

        /// <summary>A queued entity's virtual time changed (a policy that orders by it moves it).</summary>
        protected virtual void Requeue(SchedulerEntity entity) { }

        /// <summary>The tables now hold <paramref name="capacity"/> entities: a policy with tables of its own grows them too.</summary>
        protected virtual void CapacityGrew(int capacity) { }

        internal void RunnableChanged(SchedulerEntity entity)
        {
            if (entity.Runnable)
                Enqueue(entity);
            else
                Dequeue(entity);
        }

        internal void VirtualTimeChanged(SchedulerEntity entity)
        {
            if (entity.Runnable)
                Requeue(entity);
        }

        private void Grow(int capacity)
        {
            var larger = new SchedulerEntity[capacity];
            for (int i = 0; i < Count; i++)
                larger[i] = _entities[i];
            CapacityGrew(capacity);
            // The old table stays valid (nothing is freed) for a reader on another CPU that has it.
            _entities = larger;
        }

        /// <summary>
        /// A policy of <paramref name="kind"/> sized for <paramref name="capacity"/> entities
        /// (it takes more, growing when one arrives).
        /// </summary>
        public static SchedulingPolicy Create(PolicyKind kind, ulong sliceTicks, int capacity = 4) => kind switch
        {
            PolicyKind.Dedicated => new DedicatedPolicy(),
            PolicyKind.RoundRobin => new RoundRobinPolicy(sliceTicks, capacity),
            _ => new WeightedPolicy(sliceTicks, capacity),
        };
    }

    /// <summary>One vCPU, never preempted by the scheduler.</summary>
    public sealed class DedicatedPolicy : SchedulingPolicy
    {
        public DedicatedPolicy() : base(1, 0) { }

        public override PolicyKind Kind => PolicyKind.Dedicated;

        public override bool TryAdd(SchedulerEntity entity) => Count == 0 && base.TryAdd(entity);

        public override bool HasRoom => Count == 0;

        public override SchedulerEntity PickNext() => Count == 1 && this[0].Runnable ? this[0] : null;

        protected override void Enqueue(SchedulerEntity entity) { }

        protected override void Dequeue(SchedulerEntity entity) { }
    }

    /// <summary>
    /// Each runnable vCPU in turn for one slice. The runnable ones form a ring (linked through
    /// the entities themselves, so it never allocates); picking takes the one at the head and
    /// moves the head on, so the one picked is now last. One that becomes runnable joins at the
    /// back: it runs after every vCPU that was waiting already, at most once per turn of the
    /// ring. Picking, blocking and waking are O(1) however many vCPUs the core has.
    /// </summary>
    public sealed class RoundRobinPolicy : SchedulingPolicy
    {
        private SchedulerEntity _head;

        public RoundRobinPolicy(ulong sliceTicks, int capacity = 4) : base(capacity, sliceTicks) { }

        public override PolicyKind Kind => PolicyKind.RoundRobin;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public override SchedulerEntity PickNext()
        {
            var next = _head;
            if (next == null)
                return null;
            Steps++;
            _head = next.Next;
            return next;
        }

        public override void Prefer(SchedulerEntity entity)
        {
            if (!entity.Runnable || entity.Next == null || _head == entity)
                return;
            Dequeue(entity);
            Enqueue(entity);
            // Enqueued just before the head, so it is the head once the head steps back to it.
            _head = entity;
        }

        protected override void Enqueue(SchedulerEntity entity)
        {
            if (_head == null)
            {
                entity.Next = entity.Previous = entity;
                _head = entity;
                return;
            }
            // Just before the head: the back of the ring.
            var last = _head.Previous;
            entity.Next = _head;
            entity.Previous = last;
            last.Next = entity;
            _head.Previous = entity;
        }

        protected override void Dequeue(SchedulerEntity entity)
        {
            if (entity.Next == entity)
            {
                _head = null;
            }
            else
            {
                entity.Previous.Next = entity.Next;
                entity.Next.Previous = entity.Previous;
                if (_head == entity)
                    _head = entity.Next;
            }
            entity.Next = entity.Previous = null;
        }
    }

    /// <summary>
    /// Proportional share: the runnable vCPU with the least virtual time (ticks run divided by
    /// weight) runs next, for one slice; of equal virtual times, the one added first. Over a
    /// window of many slices each vCPU's share of the core approaches its weight's share of the
    /// total. A vCPU that becomes runnable again is not given credit for the time it was blocked
    /// (its virtual time is raised to the least among the others), so it cannot monopolise the
    /// core afterwards. The runnable vCPUs are a binary min-heap on (virtual time, arrival):
    /// picking is O(1), accounting, blocking and waking O(log n).
    /// </summary>
    public sealed class WeightedPolicy : SchedulingPolicy
    {
        private SchedulerEntity[] _heap;
        private int _size;

        public WeightedPolicy(ulong sliceTicks, int capacity = 4) : base(capacity, sliceTicks)
        {
            _heap = new SchedulerEntity[Capacity];
        }

        public override PolicyKind Kind => PolicyKind.Weighted;

        public override void Account(SchedulerEntity entity, ulong ticks)
        {
            base.Account(entity, ticks);
            entity.VirtualTime += ticks * 64 / entity.Weight;
        }

        /// <summary>How many levels the heap of runnable entities has now: a sift moves through at most this many.</summary>
        public int HeapDepth
        {
            get
            {
                int depth = 0;
                for (int n = _size; n > 0; n >>= 1)
                    depth++;
                return depth;
            }
        }

        public override SchedulerEntity PickNext()
        {
            if (_size == 0)
                return null;
            Steps++;
            return _heap[0];
        }

        public override void Prefer(SchedulerEntity entity)
        {
            if (!entity.Runnable || _size == 0 || _heap[0] == entity)
                return;
            // One below the least (the heap moves it up): a tick of credit, no more.
            ulong least = _heap[0].VirtualTime;
            entity.VirtualTime = least > 0 ? least - 1 : 0;
        }

        /// <summary>Call when an entity becomes runnable again after being blocked.</summary>
        public void Wake(SchedulerEntity entity)
        {
            // The least virtual time among the other runnable entities: the heap's root, or,
            // if the root is this one, the lesser of its children.
            ulong least = ulong.MaxValue;
            if (_size > 0 && _heap[0] != entity)
                least = _heap[0].VirtualTime;
            else
                for (int child = 1; child <= 2 && child < _size; child++)
                    if (_heap[child].VirtualTime < least)
                        least = _heap[child].VirtualTime;
            if (least != ulong.MaxValue && entity.VirtualTime < least)
                entity.VirtualTime = least;
            entity.Runnable = true;
        }

        protected override void Enqueue(SchedulerEntity entity)
        {
            int i = _size++;
            _heap[i] = entity;
            entity.HeapIndex = i;
            SiftUp(i);
        }

        protected override void Dequeue(SchedulerEntity entity)
        {
            int i = entity.HeapIndex;
            entity.HeapIndex = -1;
            var last = _heap[--_size];
            _heap[_size] = null;
            if (i == _size)
                return;
            _heap[i] = last;
            last.HeapIndex = i;
            Restore(i);
        }

        protected override void Requeue(SchedulerEntity entity) => Restore(entity.HeapIndex);

        protected override void CapacityGrew(int capacity)
        {
            var larger = new SchedulerEntity[capacity];
            for (int i = 0; i < _size; i++)
                larger[i] = _heap[i];
            _heap = larger;
        }

        // The entity at i has a new key, smaller or larger: up if it is now less than its parent, else down.
        private void Restore(int i)
        {
            if (i > 0 && Less(_heap[i], _heap[(i - 1) / 2]))
                SiftUp(i);
            else
                SiftDown(i);
        }

        private void SiftUp(int i)
        {
            var entity = _heap[i];
            while (i > 0)
            {
                int parent = (i - 1) / 2;
                if (!Less(entity, _heap[parent]))
                    break;
                Place(_heap[parent], i);
                i = parent;
            }
            Place(entity, i);
        }

        private void SiftDown(int i)
        {
            var entity = _heap[i];
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= _size)
                    break;
                if (child + 1 < _size && Less(_heap[child + 1], _heap[child]))
                    child++;
                if (!Less(_heap[child], entity))
                    break;
                Place(_heap[child], i);
                i = child;
            }
            Place(entity, i);
        }

        private void Place(SchedulerEntity entity, int i)
        {
            _heap[i] = entity;
            entity.HeapIndex = i;
        }

        private bool Less(SchedulerEntity a, SchedulerEntity b)
        {
            Steps++;
            return a.VirtualTime < b.VirtualTime || (a.VirtualTime == b.VirtualTime && a.Arrival < b.Arrival);
        }
    }
}
