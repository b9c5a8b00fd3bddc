using Partition.Devices;

namespace Partition.Kernel
{
    /// <summary>
    /// The machine's device interrupts, forwarded to the host partition, which owns the devices.
    /// The host's I/O APIC is the machine's first one, emulated at its address with its ID
    /// (<see cref="VirtualIoApic"/>), and each of its inputs not taken by one of the host's
    /// virtual devices is backed by the real pin: when the host programs a redirection entry the
    /// real entry follows, but with a vector of the hypervisor's
    /// (<see cref="VectorBase"/> + pin), fixed delivery and, as destination, the core of the
    /// host's first vCPU (wherever it moves: <see cref="Retarget"/>). Whatever the host writes,
    /// a real entry never names another core, an NMI, INIT, SMI or ExtINT: those stay masked. The interrupt reaches the hypervisor (a VM
    /// exit, acknowledged on exit, or an interrupt window in the run loop), which hands it to
    /// the virtual I/O APIC as the device's line: that delivers the host's own vector to the
    /// host's vCPU the entry names, through its virtual local APIC.
    /// </summary>
    /// <remarks>
    /// Why a virtual I/O APIC backed by the real one, rather than the real one passed through:
    /// the host cannot be let write real redirection entries (they could interrupt, INIT or NMI
    /// any core, and its vCPUs' APIC IDs are not the cores'), and its vCPUs move between cores.
    /// Level-triggered lines are masked from the interrupt until the host's EOI (the
    /// mask-and-EOI scheme Xen and ACRN use), so a device that holds its line interrupts once
    /// per EOI, never in a storm. Edge-triggered ones are passed as a pulse.
    /// Only the first I/O APIC (GSI base 0) is backed so far; Bochs, QEMU and most desktops have one.
    /// </remarks>
    public sealed class PhysicalInterrupts : IPhysicalInterruptLines
    {
        /// <summary>Pin n of the backed I/O APIC interrupts the hypervisor with vector VectorBase + n.</summary>
        public const int VectorBase = 0x40;

        private const ulong DeliveryModeMask = 7UL << 8, DeliveryFixed = 0, DeliveryLowestPriority = 1UL << 8;
        private const ulong Polarity = PhysicalIoApic.ActiveLow, TriggerLevel = PhysicalIoApic.LevelTriggered;

        private static PhysicalInterrupts s_current;

        private readonly VirtualMachine _host;
        private readonly PhysicalIoApic _ioApic;
        private readonly ulong[] _forwarded;
        private readonly uint _backed;
        private uint _levelPins, _usablePins;

        // The core the real entries name (the host's vCPU 0's), and its APIC ID: changed under the I/O APIC's lock.
        private int _targetCore;
        private uint _targetApicId;

        // Device interrupts each CPU took for the host (where the real entries sent them).
        private static readonly ulong[] s_takenOn = new ulong[Smp.MaxCpus];

        private PhysicalInterrupts(VirtualMachine host, PhysicalIoApic ioApic, int targetCore, uint backed)
        {
            _host = host;
            _ioApic = ioApic;
            _targetCore = targetCore;
            _targetApicId = Smp.ApicIdOf(targetCore);
            _forwarded = new ulong[ioApic.Pins];
            _backed = backed;
        }

        /// <summary>Device interrupts CPU <paramref name="cpu"/> took for the host partition since boot.</summary>
        public static ulong TakenOn(int cpu) => (uint)cpu < (uint)s_takenOn.Length ? s_takenOn[cpu] : 0;

        /// <summary>
        /// The host's vCPU 0 has moved to <paramref name="core"/>: every backed real entry names that
        /// core from now on (a read-modify-write of its destination, mask and all else kept), so a
        /// device's interrupt does not stop at the core it left and go on from there by IPI, nor
        /// interrupt whatever runs there now.
        /// </summary>
        public static void Retarget(VirtualMachine vcpuOwner, int core)
        {
            var current = s_current;
            if (current == null || current._host != vcpuOwner || current._targetCore == core)
                return;
            current.RetargetTo(core);
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write("Device interrupts: forwarded to ");
            HypervisorConsole.Write(vcpuOwner.Name);
            HypervisorConsole.Write(" through CPU ");
            HypervisorConsole.WriteDecimal((ulong)core);
            HypervisorConsole.WriteLine(" now (its vCPU 0 moved there)");
            HypervisorConsole.EndLine();
        }

        private void RetargetTo(int core)
        {
            uint apicId = Smp.ApicIdOf(core);
            _ioApic.Lock.Enter();
            _targetCore = core;
            _targetApicId = apicId;
            for (int pin = 0; pin < _ioApic.Pins; pin++)
                if ((_backed & 1u << pin) != 0)
                    _ioApic.WriteEntry(pin, _ioApic.ReadEntry(pin) & ~(0xFFUL << 56) | (ulong)apicId << 56);
            _ioApic.Lock.Exit();
        }

        /// <summary>Interrupts forwarded from pin <paramref name="pin"/> since boot.</summary>
        public static ulong Forwarded(int pin) => s_current != null && (uint)pin < (uint)s_current._forwarded.Length ? s_current._forwarded[pin] : 0;

        /// <summary>The host partition whose devices interrupt, or null.</summary>
        public static VirtualMachine Host => s_current?._host;

        /// <summary>
        /// Backs the host partition's I/O APIC with the machine's (the first in its MADT):
        /// every input but <paramref name="virtualPins"/> (those its virtual devices drive),
        /// up to the real one's pin count, each real entry masked until the host programs it.
        /// </summary>
        public static void Attach(VirtualMachine host, MadtIoApic ioApic, uint virtualPins)
        {
            var physical = new PhysicalIoApic(ioApic.Address, ioApic.GsiBase);
            int core = host.Spec.Vcpus[0].Core;
            int pins = physical.Pins < VirtualIoApic.PinCount ? physical.Pins : VirtualIoApic.PinCount;
            // Neither the inputs its virtual devices drive nor the hypervisor console's.
            uint backed = (pins >= 32 ? ~0u : (1u << pins) - 1) & ~virtualPins & ~ConsoleInterrupt.PinMask;
            var lines = new PhysicalInterrupts(host, physical, core, backed);
            s_current = lines;
            host.DeviceLock.Enter();
            host.IoApic.BackWith(lines, backed);
            host.DeviceLock.Exit();
            HypervisorConsole.Write("Device interrupts: I/O APIC ");
            HypervisorConsole.WriteDecimal(ioApic.Id);
            HypervisorConsole.Write(" at ");
            HypervisorConsole.WriteHex(ioApic.Address, 8);
            HypervisorConsole.Write(", ");
            HypervisorConsole.WriteDecimal((ulong)physical.Pins);
            HypervisorConsole.Write(" pins; ");
            HypervisorConsole.WriteDecimal((ulong)BitCount(backed));
            HypervisorConsole.Write(" forwarded to ");
            HypervisorConsole.Write(host.Name);
            HypervisorConsole.Write(" through CPU ");
            HypervisorConsole.WriteDecimal((ulong)core);
            HypervisorConsole.WriteLine(" (its own virtual devices keep the others)");
        }

        /// <summary>True for the vectors the backed pins interrupt with.</summary>
        public static bool IsDeviceVector(int vector) => s_current != null && vector >= VectorBase && vector < VectorBase + s_current._ioApic.Pins;

        /// <summary>
        /// An interrupt in the hypervisor (an exit acknowledged it, or an interrupt window let
        /// it in): ends it at the local APIC and, for a device's, hands the line to the host;
        /// the console's own makes its input due (<see cref="ConsoleInterrupt"/>). The spurious
        /// vector needs no EOI (SDM Vol. 3A, 11.9).
        /// </summary>
        public static void Handle(int vector, int cpu)
        {
            if (vector == Lapic.SpuriousInterruptVector)
                return;
            if (vector == ConsoleInterrupt.Vector)
            {
                ConsoleInterrupt.Take();
                return;
            }
            var current = s_current;
            if (current == null || !IsDeviceVector(vector))
            {
                Lapic.EndOfInterrupt();
                return;
            }
            if ((uint)cpu < (uint)s_takenOn.Length)
                s_takenOn[cpu]++;
            current.Arrived(vector - VectorBase);
        }

        private void Arrived(int pin)
        {
            bool level = (_levelPins & 1u << pin) != 0;
            if (level)
            {
                // Masked until the host's EOI; the local APIC's EOI then cannot bring it back.
                _ioApic.Lock.Enter();
                _ioApic.SetMask(pin, true);
                _ioApic.Lock.Exit();
            }
            Lapic.EndOfInterrupt();
            _forwarded[pin]++;
            _host.DeviceLock.Enter();
            _host.IoApic.SetLevel(pin, true);
            if (!level)
                _host.IoApic.SetLevel(pin, false);
            _host.DeviceLock.Exit();
        }

        public void EntryWritten(int pin, ulong entry)
        {
            if (pin >= _ioApic.Pins)
                return;
            ulong mode = entry & DeliveryModeMask;
            bool usable = (entry & PhysicalIoApic.Masked) == 0 && (mode == DeliveryFixed || mode == DeliveryLowestPriority);
            bool level = (entry & TriggerLevel) != 0;
            _levelPins = level ? _levelPins | 1u << pin : _levelPins & ~(1u << pin);
            _usablePins = usable ? _usablePins | 1u << pin : _usablePins & ~(1u << pin);
            // The host's polarity and trigger mode (it knows the wiring from ACPI); the
            // hypervisor's vector, fixed delivery, physical destination: the host's core.
            ulong real = (ulong)(uint)(VectorBase + pin) | (entry & (Polarity | TriggerLevel));
            if (!usable)
                real |= PhysicalIoApic.Masked;
            _ioApic.Lock.Enter();
            _ioApic.WriteEntry(pin, real | (ulong)_targetApicId << 56);
            _ioApic.Lock.Exit();
        }

        public void LevelEnded(int pin)
        {
            if (pin >= _ioApic.Pins || (_usablePins & 1u << pin) == 0)
                return;
            _ioApic.Lock.Enter();
            _ioApic.SetMask(pin, false);
            _ioApic.Lock.Exit();
        }

        private static int BitCount(uint value)
        {
            int count = 0;
            for (; value != 0; value &= value - 1)
                count++;
            return count;
        }
    }
}
