namespace Partition.Devices
{
    /// <summary>
    /// Where an interrupt controller model sends what it delivers: the partition's local APICs.
    /// The seam keeps device models independent of the local APIC code (and lets the tests
    /// record messages).
    /// </summary>
    /// <remarks>
    /// Called synchronously from the access that made an interrupt deliverable: a guest's
    /// MMIO or port access handled on the exiting vCPU's CPU, an <see cref="VirtualIoApic.EndOfInterrupt"/>
    /// from a local APIC model, or input fed to a device by the hypervisor console (which may
    /// run on another CPU). Every such caller holds the partition's device lock, so the sink
    /// runs under it too. It must not allocate and must not call back into the controller
    /// that delivers; if the destination vCPU runs on another CPU, waking it is the sink's job.
    /// </remarks>
    public interface IInterruptSink
    {
        void Deliver(in InterruptMessage message);
    }
}
