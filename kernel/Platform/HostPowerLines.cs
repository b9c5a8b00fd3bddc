using System;

namespace Partition.Kernel
{
    /// <summary>What the host partition asked of the machine through one of its reset or power lines.</summary>
    public enum PowerLineRequest
    {
        /// <summary>An ordinary access: carried out (with the A20 gate held open).</summary>
        None,
        /// <summary>A machine reset: the hypervisor decides (it restarts the host partition alone).</summary>
        Reset,
        /// <summary>ACPI S5: the hypervisor decides (it stops every partition, then powers off).</summary>
        PowerOff,
        /// <summary>A sleep state the hypervisor cannot give a partitioned machine: refused, nothing written.</summary>
        RefusedSleep,
    }

    /// <summary>
    /// The machine's reset and power lines as the host partition reaches them: port 0xCF9 (the
    /// chipset's reset control), the keyboard controller (its pulse commands 0xF0-0xFF and its
    /// output port, written by command 0xD1 then a byte at port 0x60), port 0x92 (fast reset and
    /// fast A20), and the firmware FADT's reset register, PM1a/PM1b control and sleep control
    /// registers where they are ports. The host owns the platform, but these act on the whole
    /// machine: a write that would reset it, or put it to sleep or off, is not carried out but
    /// returned as a request for the hypervisor to decide (<see cref="PowerLineRequest"/>, with
    /// <see cref="Why"/> naming the line). Every other access passes through, except that the
    /// A20 gate stays open (port 0x92 bit 1 forced, the output port and the A20 commands of the
    /// keyboard controller kept): a closed gate would fold every address with bit 20 set for
    /// the hypervisor and every partition alike.
    /// </summary>
    /// <remarks>
    /// The hardware is reached through <see cref="IPortIo"/>, so that the decisions are tested
    /// on the host. One object per host partition; its vCPUs reach it under the partition's
    /// device lock (the keyboard controller's 0xD1-then-data sequence is a state of the
    /// controller, shared by its CPUs as the real one is).
    /// </remarks>
    public sealed class HostPowerLines
    {
        public const ushort ResetControl = 0xCF9, KeyboardData = 0x60, KeyboardCommand = 0x64, SystemControlA = 0x92;

        // Reset control register (Intel PCH data sheets, "Reset Control Register", I/O 0xCF9): RST_CPU starts the reset.
        private const uint ResetCpu = 1 << 2;
        // 8042 commands (IBM PC/AT technical reference; Linux's reboot.c): write output port, A20 off/on, pulse output lines.
        private const byte WriteOutputPort = 0xD1, DisableA20 = 0xDD, PulseLowest = 0xF0;
        // Port 0x92 (System Control Port A): bit 0 fast reset, bit 1 A20 gate.
        private const uint FastReset = 1, FastA20 = 2;
        // PM1 control (ACPI 6.5, Table 4.13): SLP_TYP bits 12:10, SLP_EN bit 13.
        private const uint Pm1SleepEnable = 1 << 13;
        // Sleep control register (ACPI 6.5, 4.8.3.7): SLP_TYP bits 4:2, SLP_EN bit 5.
        private const uint SleepControlEnable = 1 << 5;

        private readonly IPortIo _io;
        private readonly AcpiGenericAddress _resetRegister;
        private readonly byte _resetValue;
        private readonly AcpiGenericAddress _pm1a, _pm1b, _sleepControl;
        private readonly int _s5Type;
        private bool _outputPortNext;

        /// <param name="fadt">The firmware FADT's registers, or default when the machine has none.</param>
        /// <param name="s5SleepType">SLP_TYPa of \_S5 in the firmware's DSDT, or -1 if not found (then any SLP_EN is taken as S5).</param>
        public HostPowerLines(in FadtRegisters fadt, int s5SleepType, IPortIo io)
        {
            _io = io;
            if (fadt.ResetRegisterSupported && fadt.ResetRegister.IsSystemIo)
            {
                _resetRegister = fadt.ResetRegister;
                _resetValue = fadt.ResetValue;
            }
            _pm1a = Port(fadt.Pm1aControl);
            _pm1b = Port(fadt.Pm1bControl);
            _sleepControl = Port(fadt.SleepControl);
            _s5Type = s5SleepType;
        }

        private static AcpiGenericAddress Port(AcpiGenericAddress register) =>
            register.IsPresent && register.IsSystemIo && register.Address <= 0xFFFF ? register : default;

        /// <summary>Which line the last request came through, and what it was ("port 0xCF9 (RST_CPU)").</summary>
        public string Why { get; private set; } = "";

        /// <summary>The ports these lines use, for the host's I/O bitmaps: the fixed ones and the FADT's (at most <see cref="MaxPorts"/>).</summary>
        public int Ports(Span<IoPortRange> ports)
        {
            int count = 0;
            ports[count++] = new IoPortRange(KeyboardData, 1);
            ports[count++] = new IoPortRange(KeyboardCommand, 1);
            ports[count++] = new IoPortRange(SystemControlA, 1);
            ports[count++] = new IoPortRange(ResetControl, 1);
            if (_resetRegister.IsPresent)
                ports[count++] = new IoPortRange((ushort)_resetRegister.Address, 1);
            if (_pm1a.IsPresent)
                ports[count++] = new IoPortRange((ushort)_pm1a.Address, _pm1a.ByteLength);
            if (_pm1b.IsPresent)
                ports[count++] = new IoPortRange((ushort)_pm1b.Address, _pm1b.ByteLength);
            if (_sleepControl.IsPresent)
                ports[count++] = new IoPortRange((ushort)_sleepControl.Address, 1);
            return count;
        }

        public const int MaxPorts = 8;

        /// <summary>
        /// True if the access is to one of these lines. The legacy ones are byte registers and are
        /// taken only as bytes: a dword at 0xCF8 is the PCI configuration address, not port 0xCF9.
        /// </summary>
        public bool Claims(ushort port, int size)
        {
            if (size == 1 && (port == KeyboardData || port == KeyboardCommand || port == SystemControlA || port == ResetControl))
                return true;
            // The reset register is a byte (ACPI 6.5, 4.8.3.6), often port 0xCF9 itself.
            return _resetRegister.IsPresent && size == 1 && port == _resetRegister.Address
                || _pm1a.IsPresent && Overlaps(port, size, (ushort)_pm1a.Address, _pm1a.ByteLength)
                || _pm1b.IsPresent && Overlaps(port, size, (ushort)_pm1b.Address, _pm1b.ByteLength)
                || _sleepControl.IsPresent && size == 1 && port == _sleepControl.Address;
        }

        // The written bytes where they sit in the register (a write may start above its first byte).
        private static uint Aligned(ushort port, uint value, AcpiGenericAddress register) =>
            port >= register.Address ? value << (int)((port - register.Address) * 8) : value >> (int)((register.Address - port) * 8);

        private static bool Overlaps(ushort port, int size, ushort start, int count) => port < start + count && port + size > start;

        /// <summary>
        /// Carries out an access <see cref="Claims"/> took, or returns what it asks of the machine
        /// without carrying it out. For a read, <paramref name="value"/> receives what the guest reads.
        /// </summary>
        public PowerLineRequest Access(ushort port, int size, bool isIn, ref uint value)
        {
            if (isIn)
            {
                value = _io.In(port, size);
                return PowerLineRequest.None;
            }
            uint mask = size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFF_FFFFu;
            value &= mask;
            // The FADT's registers first: the reset register is often port 0xCF9 itself.
            if (_resetRegister.IsPresent && port == _resetRegister.Address && (byte)value == _resetValue)
                return Request(PowerLineRequest.Reset, "the FADT's reset register");
            // PM1 control is 16 bits wide; a byte written to its upper half carries SLP_EN too.
            if (_pm1a.IsPresent && Overlaps(port, size, (ushort)_pm1a.Address, _pm1a.ByteLength)
                && (Aligned(port, value, _pm1a) & Pm1SleepEnable) != 0)
                return Sleep((int)(Aligned(port, value, _pm1a) >> 10 & 7), "PM1a_CNT");
            if (_pm1b.IsPresent && Overlaps(port, size, (ushort)_pm1b.Address, _pm1b.ByteLength)
                && (Aligned(port, value, _pm1b) & Pm1SleepEnable) != 0)
                return Sleep((int)(Aligned(port, value, _pm1b) >> 10 & 7), "PM1b_CNT");
            if (_sleepControl.IsPresent && port == _sleepControl.Address && (value & SleepControlEnable) != 0)
                return Sleep((int)(value >> 2 & 7), "SLEEP_CONTROL_REG");
            if (size == 1)
            {
                if (port == ResetControl && (value & ResetCpu) != 0)
                    return Request(PowerLineRequest.Reset, "port 0xCF9 (RST_CPU)");
                if (port == KeyboardCommand)
                    return KeyboardCommandWrite((byte)value);
                if (port == KeyboardData && _outputPortNext)
                {
                    // The byte after 0xD1 is the output port: bit 0 low holds the CPU in reset,
                    // bit 1 is the A20 gate. Neither is the host's; the rest is not wired to anything it uses.
                    _outputPortNext = false;
                    return (value & 1) == 0 ? Request(PowerLineRequest.Reset, "the keyboard controller's output port (bit 0 low)") : PowerLineRequest.None;
                }
                if (port == SystemControlA)
                {
                    if ((value & FastReset) != 0)
                        return Request(PowerLineRequest.Reset, "port 0x92 (fast reset)");
                    value |= FastA20;
                }
            }
            _io.Out(port, size, value);
            return PowerLineRequest.None;
        }

        private PowerLineRequest KeyboardCommandWrite(byte command)
        {
            _outputPortNext = false;
            if (command >= PulseLowest && (command & 1) == 0)
                return Request(PowerLineRequest.Reset, "the keyboard controller's reset pulse (command 0xFE)");
            if (command == WriteOutputPort)
            {
                // Kept here, not sent: the controller would wait for the output port byte.
                _outputPortNext = true;
                return PowerLineRequest.None;
            }
            if (command == DisableA20)
                return PowerLineRequest.None;
            _io.Out(KeyboardCommand, 1, command);
            return PowerLineRequest.None;
        }

        private PowerLineRequest Sleep(int type, string register)
        {
            if (_s5Type < 0 || type == _s5Type)
                return Request(PowerLineRequest.PowerOff, register == "PM1a_CNT" ? "ACPI S5 through PM1a_CNT"
                    : register == "PM1b_CNT" ? "ACPI S5 through PM1b_CNT" : "ACPI S5 through SLEEP_CONTROL_REG");
            Why = register == "SLEEP_CONTROL_REG" ? "a sleep state other than S5 through SLEEP_CONTROL_REG" : "a sleep state other than S5 through PM1_CNT";
            return PowerLineRequest.RefusedSleep;
        }

        private PowerLineRequest Request(PowerLineRequest request, string why)
        {
            Why = why;
            return request;
        }
    }

    /// <summary>Port I/O on the machine (the real ports in the image; a recording fake in tests).</summary>
    public interface IPortIo
    {
        uint In(ushort port, int size);
        void Out(ushort port, int size, uint value);
    }

    /// <summary>The machine's ports.</summary>
    public sealed class MachinePorts : IPortIo
    {
        public uint In(ushort port, int size) => size == 1 ? Cpu.In8(port) : size == 2 ? Cpu.In16(port) : Cpu.In32(port);

        public void Out(ushort port, int size, uint value)
        {
            if (size == 1)
                Cpu.Out8(port, (byte)value);
            else if (size == 2)
                Cpu.Out16(port, (ushort)value);
            else
                Cpu.Out32(port, value);
        }
    }
}
