namespace Partition.Devices
{
    /// <summary>
    /// The physical side of I/O APIC inputs wired to real devices (the host partition's: its
    /// I/O APIC is the machine's, emulated, and these pins are backed by the real one's). The
    /// guest programs the virtual redirection entry; whoever implements this keeps the physical
    /// entry in step and feeds the device's interrupts back in through
    /// <see cref="VirtualIoApic.SetLevel"/>.
    /// </summary>
    /// <remarks>
    /// Level-triggered lines follow the mask-and-EOI scheme: the physical pin is masked when its
    /// interrupt arrives and the virtual input asserted; when the guest ends the interrupt (its
    /// EOI reaches the virtual I/O APIC) the virtual input is deasserted and
    /// <see cref="LevelEnded"/> unmasks the physical pin, which interrupts again if the device
    /// still holds its line. Called with the partition's device lock held; must not call back
    /// into the I/O APIC.
    /// </remarks>
    public interface IPhysicalInterruptLines
    {
        /// <summary>The guest wrote the redirection entry of backed input <paramref name="pin"/> (or a reset masked it): <paramref name="entry"/> is its new value.</summary>
        void EntryWritten(int pin, ulong entry);

        /// <summary>The guest ended a level-triggered interrupt from backed input <paramref name="pin"/>.</summary>
        void LevelEnded(int pin);
    }
}
