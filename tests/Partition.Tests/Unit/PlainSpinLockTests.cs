using System.Threading;
using System.Threading.Tasks;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>The lock without an owner: mutual exclusion, and a release that lets the next one in.</summary>
    public class PlainSpinLockTests
    {
        [Test]
        public void Four_threads_incrementing_under_it_lose_no_increment()
        {
            var gate = new PlainSpinLock();
            long counter = 0;
            const int PerThread = 100_000;
            var threads = new Task[4];
            for (int t = 0; t < threads.Length; t++)
                threads[t] = Task.Run(() =>
                {
                    for (int i = 0; i < PerThread; i++)
                    {
                        gate.Enter();
                        // A read, a yield point and a write: without the lock, increments are lost.
                        long seen = counter;
                        if ((i & 1023) == 0)
                            Thread.Yield();
                        counter = seen + 1;
                        gate.Exit();
                    }
                });
            Task.WaitAll(threads);
            Assert.That(counter, Is.EqualTo(threads.Length * PerThread));
        }

        [Test]
        public void Enter_waits_until_the_holder_exits()
        {
            var gate = new PlainSpinLock();
            gate.Enter();
            var entered = new ManualResetEventSlim();
            var waiter = Task.Run(() =>
            {
                gate.Enter();
                entered.Set();
                gate.Exit();
            });
            Assert.That(entered.Wait(200), Is.False, "held: the second Enter spins");
            gate.Exit();
            Assert.That(entered.Wait(5000), Is.True, "released: the second Enter gets it");
            waiter.Wait();
        }
    }
}
