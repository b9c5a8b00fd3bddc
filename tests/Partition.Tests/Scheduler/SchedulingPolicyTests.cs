using System.Collections.Generic;
using System.Linq;
using NUnit.Framework;
using Partition.Scheduler;

namespace Partition.Tests.Scheduler
{
    public class SchedulingPolicyTests
    {
        private static SchedulerEntity[] Add(SchedulingPolicy policy, params ulong[] weights)
        {
            var entities = weights.Select((w, i) => new SchedulerEntity(((char)('a' + i)).ToString(), w, null)).ToArray();
            foreach (var e in entities)
                Assert.That(policy.TryAdd(e), Is.True);
            return entities;
        }

        /// <summary>Runs the policy for <paramref name="slices"/> slices of which each lasts what the policy grants.</summary>
        private static CoreControlBlock Simulate(SchedulingPolicy policy, int slices)
        {
            var core = new CoreControlBlock(0, policy);
            for (int i = 0; i < slices; i++)
            {
                var next = policy.PickNext();
                if (next == null)
                    break;
                core.EndSlice(next, policy.SliceTicks);
            }
            return core;
        }

        [Test]
        public void RoundRobinTakesTurnsAndSkipsBlockedEntities()
        {
            var policy = new RoundRobinPolicy(1000);
            var e = Add(policy, 1, 1, 1);
            Assert.That(new[] { policy.PickNext(), policy.PickNext(), policy.PickNext(), policy.PickNext() }, Is.EqualTo(new[] { e[0], e[1], e[2], e[0] }));
            e[1].Runnable = false;
            Assert.That(new[] { policy.PickNext(), policy.PickNext() }, Is.EqualTo(new[] { e[2], e[0] }));
            Assert.That(policy.SliceTicks, Is.EqualTo(1000UL));
        }

        [Test]
        public void RoundRobinGivesEqualShares()
        {
            var policy = new RoundRobinPolicy(1000);
            var e = Add(policy, 1, 5, 9); // weights do not matter to round-robin
            var core = Simulate(policy, 3000);
            foreach (var entity in e)
                Assert.That(core.SharePermille(entity), Is.EqualTo(333).Within(1));
            Assert.That(core.ConfiguredSharePermille(e[1]), Is.EqualTo(333));
        }

        [Test]
        public void A_late_arrival_has_its_share_of_the_time_since_it_arrived()
        {
            // Two entities run alone for 3000 slices; a third arrives (a migration) and the three
            // share the next 3000: a third each since then, not a sixth of the whole run.
            var policy = new RoundRobinPolicy(1000);
            var e = Add(policy, 1, 1);
            var core = new CoreControlBlock(0, policy);
            RunSlices(core, 3000);
            var late = new SchedulerEntity("late", 1, null);
            Assert.That(policy.TryAdd(late), Is.True);
            late.Consumed = 12345; // what it ran on the core it came from
            late.Slices = 7;
            core.Arrived(late);
            RunSlices(core, 3000);
            Assert.That(late.Slices, Is.EqualTo(1000), "its slices here");
            Assert.That(core.SharePermille(late), Is.EqualTo(333).Within(1));
            Assert.That(core.SharePermille(e[0]), Is.EqualTo(2500 * 1000 / 6000).Within(1), "one there from the start: 1500 + 1000 of the 6000 slices");
        }

        private static void RunSlices(CoreControlBlock core, int slices)
        {
            for (int i = 0; i < slices; i++)
            {
                var next = core.Policy.PickNext();
                core.EndSlice(next, core.Policy.SliceTicks);
            }
        }

        [Test]
        public void WeightedOneTwoFourGivesSharesInProportion()
        {
            var policy = new WeightedPolicy(1000);
            var e = Add(policy, 1, 2, 4);
            var core = Simulate(policy, 7000);
            Assert.That(core.SharePermille(e[0]), Is.EqualTo(1000 / 7).Within(2));
            Assert.That(core.SharePermille(e[1]), Is.EqualTo(2000 / 7).Within(2));
            Assert.That(core.SharePermille(e[2]), Is.EqualTo(4000 / 7).Within(2));
            Assert.That(core.ConfiguredSharePermille(e[2]), Is.EqualTo(571));
        }

        [Test]
        public void WeightedDoesNotLetAWokenEntityCatchUpOnTimeItWasBlocked()
        {
            var policy = new WeightedPolicy(1000);
            var e = Add(policy, 1, 1);
            e[1].Runnable = false;
            Simulate(policy, 100);
            policy.Wake(e[1]);
            var core = Simulate(policy, 100);
            Assert.That(e[1].Slices, Is.InRange(49UL, 51UL), "shares equally from now on, no burst of 100 slices");
        }

        [Test]
        public void DedicatedHoldsOneEntityAndNeverPreempts()
        {
            var policy = new DedicatedPolicy();
            var e = Add(policy, 1);
            Assert.That(policy.TryAdd(new SchedulerEntity("second", 1, null)), Is.False);
            Assert.That(policy.PickNext(), Is.SameAs(e[0]));
            Assert.That(policy.SliceTicks, Is.Zero);
            e[0].Runnable = false;
            Assert.That(policy.PickNext(), Is.Null);
        }

        private static SchedulerEntity[] Many(SchedulingPolicy policy, int count, System.Func<int, ulong> weight)
        {
            var entities = new SchedulerEntity[count];
            for (int i = 0; i < count; i++)
            {
                entities[i] = new SchedulerEntity("v" + i, weight(i), null);
                Assert.That(policy.TryAdd(entities[i]), Is.True, entities[i].Name);
            }
            return entities;
        }

        [Test]
        public void RoundRobinWithThousandsRunsEachRunnableOncePerRound()
        {
            var policy = new RoundRobinPolicy(1000, capacity: 4);
            var e = Many(policy, 1024, _ => 1);
            Assert.That(policy.Count, Is.EqualTo(1024));
            Assert.That(policy.Capacity, Is.GreaterThanOrEqualTo(1024), "grew while vCPUs were added");
            for (int round = 0; round < 3; round++)
            {
                var seen = new HashSet<SchedulerEntity>();
                for (int i = 0; i < 1024; i++)
                    Assert.That(seen.Add(policy.PickNext()), Is.True, $"round {round}, pick {i}: none twice in a round");
            }
            // A third blocked: a round is now the other two thirds, each once.
            for (int i = 0; i < e.Length; i += 3)
                e[i].Runnable = false;
            int runnable = e.Count(x => x.Runnable);
            for (int round = 0; round < 2; round++)
            {
                var seen = new HashSet<SchedulerEntity>();
                for (int i = 0; i < runnable; i++)
                {
                    var next = policy.PickNext();
                    Assert.That(next.Runnable, Is.True);
                    Assert.That(seen.Add(next), Is.True);
                }
            }
        }

        [Test]
        public void RoundRobinWakesToTheBackOfTheRing()
        {
            var policy = new RoundRobinPolicy(1000);
            var e = Add(policy, 1, 1, 1, 1);
            Assert.That(policy.PickNext(), Is.SameAs(e[0]));
            e[2].Runnable = false;
            e[2].Runnable = true; // woken: after b and d, which were waiting, and a, which just ran
            Assert.That(Enumerable.Range(0, 4).Select(_ => policy.PickNext()), Is.EqualTo(new[] { e[1], e[3], e[0], e[2] }));
        }

        [Test]
        public void WeightedWithThousandsGivesSharesInProportion()
        {
            var policy = new WeightedPolicy(1000, capacity: 4);
            var e = Many(policy, 1024, i => (ulong)(i % 4 + 1)); // weights 1, 2, 3, 4 over and over
            Assert.That(policy.TotalWeight, Is.EqualTo(2560UL));
            var core = Simulate(policy, 2560 * 10); // ten slices per unit of weight
            foreach (var entity in e)
                Assert.That(entity.Slices, Is.EqualTo(entity.Weight * 10).Within(1), entity.Name);
            Assert.That(core.ConfiguredSharePermille(e[3]), Is.EqualTo(4 * 1000 / 2560));
        }

        [Test]
        public void RemovingFromTheMiddleKeepsTheOthersOrderAndTurns()
        {
            foreach (var policy in new SchedulingPolicy[] { new RoundRobinPolicy(1000), new WeightedPolicy(1000) })
            {
                var e = Many(policy, 1024, _ => 1);
                Simulate(policy, 1500); // part-way through a round: the middle is mid-queue
                for (int i = 300; i < 400; i++)
                    Assert.That(policy.Remove(e[i]), Is.True);
                Assert.That(policy.Remove(e[350]), Is.False, "not there any more");
                Assert.That(policy.Count, Is.EqualTo(924));
                var left = e.Take(300).Concat(e.Skip(400)).ToArray();
                Assert.That(Enumerable.Range(0, policy.Count).Select(i => policy[i]), Is.EqualTo(left), policy.Kind.ToString());
                // The departed ones can go to another core (a migration): they are on no schedule now.
                var other = new RoundRobinPolicy(1000);
                Assert.That(other.TryAdd(e[350]), Is.True);
                Assert.That(policy.TryAdd(e[350]), Is.False, "on one schedule at a time");
                // Two rounds: each one left runs twice, the departed never.
                var runs = new Dictionary<SchedulerEntity, int>();
                var core = new CoreControlBlock(0, policy);
                for (int i = 0; i < 2 * left.Length; i++)
                {
                    var next = policy.PickNext();
                    runs[next] = runs.GetValueOrDefault(next) + 1;
                    core.EndSlice(next, 1000);
                }
                Assert.That(runs.Count, Is.EqualTo(left.Length), policy.Kind.ToString());
                Assert.That(left.All(runs.ContainsKey), Is.True, policy.Kind.ToString());
                Assert.That(runs.Values, Is.All.EqualTo(2), policy.Kind.ToString());
            }
        }

        /// <summary>
        /// The heap against the definition it replaced (least virtual time among the runnable,
        /// the earlier-added of equals): random slices, blocks, wakes, departures and arrivals.
        /// </summary>
        [Test]
        public void WeightedPicksWhatAScanOfAllWouldPick()
        {
            var random = new System.Random(14);
            var policy = new WeightedPolicy(1000, capacity: 2);
            var table = new List<SchedulerEntity>(Many(policy, 200, i => (ulong)(i % 7 + 1)));
            int added = table.Count;
            for (int step = 0; step < 20_000; step++)
            {
                SchedulerEntity expected = null;
                foreach (var x in table)
                    if (x.Runnable && (expected == null || x.VirtualTime < expected.VirtualTime))
                        expected = x;
                var next = policy.PickNext();
                Assert.That(next, Is.SameAs(expected), $"step {step}");
                if (next != null)
                    policy.Account(next, (ulong)random.Next(1, 2000));
                var some = table[random.Next(table.Count)];
                switch (random.Next(8))
                {
                    case 0: some.Runnable = false; break;
                    case 1: case 2: if (!some.Runnable) policy.Wake(some); break;
                    case 3 when table.Count > 1:
                        Assert.That(policy.Remove(some), Is.True);
                        table.Remove(some);
                        break;
                    case 4:
                        var arrival = new SchedulerEntity("n" + added++, (ulong)random.Next(1, 9), null) { Runnable = random.Next(2) == 0 };
                        Assert.That(policy.TryAdd(arrival), Is.True);
                        table.Add(arrival);
                        break;
                }
            }
        }

        /// <summary>
        /// The cost of a decision, in entities looked at or compared (no clock): one for
        /// round-robin whatever the count, and a small multiple of the heap's depth for weighted,
        /// with a vCPU blocking and another waking every few slices as halting guests do.
        /// </summary>
        [TestCase(1)]
        [TestCase(32)]
        [TestCase(1024)]
        [TestCase(4096)]
        public void ADecisionCostsConstantOrLogarithmicSteps(int count)
        {
            int log2 = 0;
            while ((1 << log2) < count)
                log2++;
            foreach (var policy in new SchedulingPolicy[] { new RoundRobinPolicy(1000, count), new WeightedPolicy(1000, count) })
            {
                var e = Many(policy, count, i => (ulong)(i % 4 + 1));
                int capacity = policy.Capacity;
                var core = new CoreControlBlock(0, policy);
                var blocked = new Queue<SchedulerEntity>();
                const int Slices = 20_000;
                ulong before = policy.Steps;
                ulong worst = 0;
                for (int i = 0; i < Slices; i++)
                {
                    ulong start = policy.Steps;
                    var next = policy.PickNext();
                    core.EndSlice(next, 900 + (ulong)(i % 200));
                    if (i % 16 == 0 && count > 1)
                    {
                        next.Runnable = false;
                        blocked.Enqueue(next);
                        if (blocked.Count > count / 2)
                        {
                            var woken = blocked.Dequeue();
                            if (policy is WeightedPolicy weighted)
                                weighted.Wake(woken);
                            else
                                woken.Runnable = true;
                        }
                    }
                    worst = System.Math.Max(worst, policy.Steps - start);
                    if (policy is WeightedPolicy w)
                        Assert.That(w.HeapDepth, Is.LessThanOrEqualTo(log2 + 1));
                }
                double mean = (double)(policy.Steps - before) / Slices;
                if (policy.Kind == PolicyKind.RoundRobin)
                {
                    Assert.That(worst, Is.EqualTo(1UL), "round-robin looks at the one it picks, nothing else");
                }
                else
                {
                    // A pick (1), a sift down after accounting (2 per level), a block and a wake
                    // (a sift each, 2 per level at most, plus the wake's look at the root's children).
                    Assert.That(worst, Is.LessThanOrEqualTo((ulong)(1 + 6 * (log2 + 1))), $"weighted, {count} vCPUs");
                    Assert.That(mean, Is.LessThanOrEqualTo(1 + 2 * (log2 + 1)), $"weighted, {count} vCPUs");
                }
                Assert.That(policy.Capacity, Is.EqualTo(capacity), "scheduling never grows the tables");
                TestContext.Out.WriteLine($"{policy.Kind}, {count} vCPUs: {mean:F2} steps per decision on average, {worst} at most");
            }
        }

        [Test]
        public void NothingRunnableMeansIdle()
        {
            var policy = new RoundRobinPolicy(10);
            var e = Add(policy, 1, 1);
            e[0].Runnable = e[1].Runnable = false;
            Assert.That(policy.PickNext(), Is.Null);
        }
    }
}
