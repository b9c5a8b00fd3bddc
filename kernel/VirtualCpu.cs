namespace Partition.Kernel
{
    /// <summary>What a vCPU is doing, as far as its core's scheduler is concerned.</summary>
    public enum VcpuActivity
    {
        /// <summary>Executing guest code (or ready to).</summary>
        Running,
        /// <summary>HLT with interrupts enabled: runnable again when its local APIC has an interrupt for it.</summary>
        WaitingForInterrupt,
        /// <summary>
        /// HLT with interrupts disabled, or an AP before its first start-up IPI: only INIT and
        /// SIPI (from another vCPU of the partition) bring it back. A partition whose vCPUs
        /// are all parked has halted.
        /// </summary>
        Parked,
    }

    /// <summary>One vCPU: its VMCS, its register block, and where it runs.</summary>
    public sealed unsafe class VirtualCpu
    {
        public VirtualCpu(VirtualMachine machine, int index, Vmcs vmcs, GuestRegisters* registers)
        {
            Machine = machine;
            Index = index;
            Vmcs = vmcs;
            Registers = registers;
        }

        public VirtualMachine Machine { get; }

        /// <summary>The vCPU's number in its partition, which is also its APIC ID.</summary>
        public int Index { get; }
        public Vmcs Vmcs { get; }
        public GuestRegisters* Registers { get; }
        public bool Launched => Vmcs.LaunchState == VmcsLaunchState.Launched;

        /// <summary>"name" for a partition's only vCPU, "name.N" when it has several.</summary>
        public string Name { get; set; }

        public VcpuActivity Activity { get; set; }

        /// <summary>Off its core's schedule because its partition halted or was stopped (until a restart).</summary>
        public bool Retired { get; set; }

        /// <summary>The CPU whose host state (GDT, TSS, IDT) the VMCS holds; rewritten when it runs elsewhere.</summary>
        public int HostCpu { get; set; } = -1;

        /// <summary>The vCPU as its core's scheduler sees it.</summary>
        public Partition.Scheduler.SchedulerEntity Entity { get; set; }

        /// <summary>The core whose scheduler holds this vCPU.</summary>
        public int Core { get; set; }

        public int PreviousCore { get; set; }

        /// <summary>TSC of the migrate command until the destination first enters the guest; 0 otherwise.</summary>
        public ulong MigrationCommandTsc { get; set; }

        public ulong LastMigrationTicks { get; set; }

        private long _migrating;

        /// <summary>Claims the vCPU for one migration; false if one is already under way.</summary>
        public bool TryBeginMigration()
        {
            fixed (long* flag = &_migrating)
                return Cpu.CompareExchange(flag, 1, 0) == 0;
        }

        public void EndMigration()
        {
            fixed (long* flag = &_migrating)
                Cpu.CompareExchange(flag, 0, 1);
        }
    }
}
