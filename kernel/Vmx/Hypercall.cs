namespace Partition.Kernel
{
    /// <summary>
    /// The hypercall ABI, version 1. A guest executes VMCALL with the function number in RAX
    /// and arguments in RBX, RCX, RDX; the hypervisor returns a status in RAX (0 = success,
    /// negative = error) and results in RBX, RCX, RDX. Unknown functions return
    /// <see cref="UnknownFunction"/> and the guest goes on. Function numbers never change
    /// meaning; new functions get new numbers and raise <see cref="Version"/>.
    /// </summary>
    public static unsafe class Hypercall
    {
        public const ulong Version = 1;

        /// <summary>RBX = ABI version, RCX = highest function number.</summary>
        public const ulong GetVersion = 0;

        /// <summary>RBX = partition memory size in bytes, RCX = vCPU index, RDX = vCPU count.</summary>
        public const ulong GetPartitionInfo = 1;

        public const ulong HighestFunction = GetPartitionInfo;

        public const ulong Success = 0;
        public const ulong UnknownFunction = unchecked((ulong)-1L);

        public static void Handle(VirtualCpu vcpu)
        {
            GuestRegisters* r = vcpu.Registers;
            switch (r->Rax)
            {
                case GetVersion:
                    r->Rbx = Version;
                    r->Rcx = HighestFunction;
                    r->Rax = Success;
                    break;
                case GetPartitionInfo:
                    r->Rbx = vcpu.Machine.MemorySize;
                    r->Rcx = (ulong)vcpu.Index;
                    r->Rdx = 1;
                    r->Rax = Success;
                    break;
                default:
                    r->Rax = UnknownFunction;
                    break;
            }
        }
    }
}
