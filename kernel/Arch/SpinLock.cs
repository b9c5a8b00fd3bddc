namespace Partition.Kernel
{
    /// <summary>
    /// A spinlock that the CPU holding it may take again (the console is entered from nested
    /// paths: a crash report while a line is being written). Lives in a class field so that
    /// its address is stable; state is the owner's APIC ID plus one, 0 when free. Knowing the
    /// owner costs a CPUID at every Enter: a lock that is never taken twice by one CPU is a
    /// <see cref="PlainSpinLock"/>.
    /// </summary>
    public sealed unsafe class SpinLock
    {
        private long _owner;
        private int _depth;

        public void Enter()
        {
            long me = Cpu.CurrentApicId() + 1;
            fixed (long* owner = &_owner)
            {
                if (*owner == me)
                {
                    _depth++;
                    return;
                }
                while (Cpu.CompareExchange(owner, me, 0) != 0)
                    Cpu.Pause();
            }
            _depth = 1;
        }

        public void Exit()
        {
            if (--_depth > 0)
                return;
            fixed (long* owner = &_owner)
                Cpu.CompareExchange(owner, 0, *owner);
        }
    }
}
