namespace Partition.Kernel
{
    /// <summary>
    /// The hypercall ABI, version 1. A guest executes VMCALL with the function number in RAX
    /// and arguments in RBX, RCX, RDX; the hypervisor returns a status in RAX (0 = success,
    /// negative = error) and results in RBX, RCX, RDX. Unknown functions return
    /// <see cref="UnknownFunction"/> and the guest goes on. Function numbers never change
    /// meaning; new functions get new numbers and raise <see cref="Version"/>.
    /// Only the guest's kernel may call: a VMCALL at CPL &gt; 0 (user mode, virtual-8086 mode)
    /// gets <see cref="NotPermitted"/> for every function, in every partition, so that no
    /// process in a guest OS can manage partitions (or learn about its own).
    /// </summary>
    public static unsafe class Hypercall
    {
        public const ulong Version = 1;

        /// <summary>RBX = ABI version, RCX = highest function number.</summary>
        public const ulong GetVersion = 0;

        /// <summary>RBX = partition memory size in bytes, RCX = vCPU index, RDX = vCPU count.</summary>
        public const ulong GetPartitionInfo = 1;

        /// <summary>Management (host partition only): RBX = partition index, RCX = core. Moves its vCPU 0.</summary>
        public const ulong MigratePartition = 2;

        /// <summary>Management (host partition only): RBX = partition index.</summary>
        public const ulong PausePartition = 3;

        /// <summary>Management (host partition only): RBX = partition index.</summary>
        public const ulong ResumePartition = 4;

        /// <summary>Management (host partition only): RBX = partition index. Boots a halted or stopped partition again.</summary>
        public const ulong RestartPartition = 5;

        public const ulong HighestFunction = RestartPartition;

        public const ulong Success = 0;
        public const ulong UnknownFunction = unchecked((ulong)-1L);

        /// <summary>A management function called by a partition that is not the host partition.</summary>
        public const ulong NotPermitted = unchecked((ulong)-2L);

        /// <summary>The operation was refused (an unknown partition, a busy or offline core...): the console says why.</summary>
        public const ulong Refused = unchecked((ulong)-3L);

        /// <summary>
        /// Carries out the hypercall in the vCPU's registers, made at privilege level
        /// <paramref name="cpl"/>: <see cref="ExitAction.Resume"/> after a management function
        /// (it may have changed other partitions' state and posted to cores, this one among
        /// them), <see cref="ExitAction.ResumeQuiet"/> after the others.
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public static ExitAction Handle(VirtualCpu vcpu, int cpl)
        {
            GuestRegisters* r = vcpu.Registers;
            if (cpl != 0)
            {
                RefuseUserMode(vcpu, r);
                return ExitAction.ResumeQuiet;
            }
            // Compares in order rather than a switch: the two calls made most often are reached in
            // two tests, where the jump table takes two bounds checks and an indirect jump.
            ulong function = r->Rax;
            if (function == GetVersion)
            {
                r->Rbx = Version;
                r->Rcx = HighestFunction;
                r->Rax = Success;
            }
            else if (function == GetPartitionInfo)
            {
                r->Rbx = vcpu.Machine.MemorySize;
                r->Rcx = (ulong)vcpu.Index;
                r->Rdx = (ulong)vcpu.Machine.Vcpus.Length;
                r->Rax = Success;
            }
            else if (function >= MigratePartition && function <= RestartPartition)
            {
                r->Rax = Manage(vcpu, function, r->Rbx, r->Rcx);
                return ExitAction.Resume;
            }
            else
                r->Rax = UnknownFunction;
            return ExitAction.ResumeQuiet;
        }

        // Kept out of Handle, which the guest's kernel calls at every hypercall: its report needs a large frame.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void RefuseUserMode(VirtualCpu vcpu, GuestRegisters* r)
        {
            Management.ReportDenial(vcpu.Machine, DenialKind.Hypercall, "hypercall ", FunctionName(r->Rax), " refused: called from user mode (CPL > 0)");
            r->Rax = NotPermitted;
        }

        private static string FunctionName(ulong function) => function switch
        {
            GetVersion => "version",
            GetPartitionInfo => "partition-info",
            MigratePartition => "migrate",
            PausePartition => "pause",
            ResumePartition => "resume",
            RestartPartition => "restart",
            _ => "(unknown function)",
        };

        // The console's operations, for the host partition; a guest's attempt is refused and logged.
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static ulong Manage(VirtualCpu vcpu, ulong function, ulong partition, ulong core)
        {
            var caller = vcpu.Machine;
            string name = FunctionName(function);
            // Nothing here allocates: a partition may make these calls as fast as it likes.
            if (!caller.Spec.IsHost)
            {
                Management.ReportDenial(caller, DenialKind.Hypercall, "management hypercall ", name, " refused: only the host partition may");
                return NotPermitted;
            }
            var outcome = Management.HypercallOutcome(vcpu.HostCpu);
            // The number is the partition's place in the configuration, as the ABI says, even
            // when partitions before it were left out at boot.
            VirtualMachine found = null;
            foreach (var vm in Management.Machines)
                if ((ulong)vm.ConfigIndex == partition)
                    found = vm;
            if (found == null)
            {
                outcome.Clear().Append("refused: there is no running partition ").AppendDecimal(partition).Append(" in the configuration");
                Management.ReportHostHypercall(caller, name, outcome.AsSpan());
                return Refused;
            }
            string target = found.Name;
            bool done = function == MigratePartition ? Management.Migrate(target, core, outcome)
                : function == RestartPartition ? Management.Restart(target, outcome)
                : Management.PauseOrResume(target, function == PausePartition, outcome);
            Management.ReportHostHypercall(caller, name, outcome.AsSpan());
            return done ? Success : Refused;
        }
    }
}
