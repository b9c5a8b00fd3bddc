namespace Partition.Kernel
{
    /// <summary>The boot sequence of the hypervisor on the boot CPU.</summary>
    public static unsafe class Hypervisor
    {
        public static void Boot(byte* multiboot2Information)
        {
            HypervisorConsole.Initialize();
            HypervisorConsole.WriteLine("Partition hypervisor starting");
            Machine.PowerOff();
        }
    }
}
