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
                core.EndSlice(next, policy.SliceFor(next));
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
            Assert.That(policy.SliceFor(e[0]), Is.EqualTo(1000UL));
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
            Assert.That(policy.SliceFor(e[0]), Is.Zero);
            e[0].Runnable = false;
            Assert.That(policy.PickNext(), Is.Null);
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
