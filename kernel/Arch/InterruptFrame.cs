using System.Runtime.InteropServices;

namespace Partition.Kernel
{
    /// <summary>
    /// What boot.asm's exception_common leaves on the stack: the general registers it pushed,
    /// the vector and error code pushed by the vector's stub, then the CPU's own frame
    /// (SDM Vol. 3A, 6.14.2 "64-Bit Mode Stack Frame").
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct InterruptFrame
    {
        public ulong R15, R14, R13, R12, R11, R10, R9, R8;
        public ulong Rbp, Rdi, Rsi, Rdx, Rcx, Rbx, Rax;
        public ulong Vector, ErrorCode;
        public ulong Rip, Cs, Rflags, Rsp, Ss;
    }
}
