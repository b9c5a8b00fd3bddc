using System;

namespace Partition.Devices
{
    /// <summary>
    /// Where a virtual UART's transmitted lines go when they are not the partition's console
    /// output (which the hypervisor console shows as "[name] text"): the host partition's
    /// management UART hands them to the console's command interpreter. Called with the
    /// partition's device lock held: take the line and return; run nothing there.
    /// </summary>
    public interface IUartLineSink
    {
        void Line(ReadOnlySpan<char> text);
    }
}
