namespace Partition.Devices
{
    /// <summary>
    /// The interrupt inputs of an interrupt controller model, as a device's interrupt output
    /// sees them: a device drives the level of the pin it is wired to, and the controller
    /// decides what that means (edge or level, masked or not). <see cref="VirtualIoApic"/>
    /// implements it; a device holds one reference and a pin number, so raising or lowering
    /// its line allocates nothing.
    /// </summary>
    public interface IInterruptController
    {
        /// <summary>
        /// Sets the logical level of input <paramref name="pin"/>: true while the device requests
        /// an interrupt. Pins the controller does not have are ignored.
        /// </summary>
        void SetLevel(int pin, bool asserted);
    }
}
