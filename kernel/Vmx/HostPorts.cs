using System;

namespace Partition.Kernel
{
    /// <summary>A range of I/O ports [Start, Start + Count).</summary>
    public readonly struct IoPortRange
    {
        public IoPortRange(ushort start, int count)
        {
            Start = start;
            Count = count;
        }

        public ushort Start { get; }
        public int Count { get; }

        public bool Overlaps(ushort port, int size) => port < Start + Count && port + size > Start;
    }

    /// <summary>What the hypervisor did with a port access of the host partition that exited.</summary>
    public enum HostPortOutcome
    {
        /// <summary>Carried out on the hardware, or emulated (the PCI configuration address).</summary>
        Done,
        /// <summary>Refused: reads give all ones, writes are dropped; <see cref="HostPorts.Why"/> says why.</summary>
        Denied,
    }

    /// <summary>
    /// The host partition's ports: every port passes straight through to the hardware except
    /// <see cref="AlwaysTrapped"/>, the ports of devices given to other partitions, and its own
    /// virtual UART. Of the trapped ones, the PCI configuration mechanism is emulated so that
    /// functions given to other partitions stay hidden, and the reset controls are passed on
    /// without their reset bits: the host partition owns the platform, not the other
    /// partitions' cores, so it may not reset the machine under them. The real-time clock is
    /// not passed through at all: ports 0x70 and 0x71 are the host partition's own virtual
    /// RTC (as every partition's; the dispatcher gives them to it before asking here), and the
    /// RTC's other ports are refused.
    /// </summary>
    /// <remarks>
    /// The CONFIG_ADDRESS latch is the partition's, shared by its vCPUs as the real register is
    /// by CPUs (an OS serialises its configuration accesses, as Linux does with pci_config_lock);
    /// the real 0xCF8/0xCFC pair is written under a lock, address and data together.
    /// </remarks>
    public sealed class HostPorts
    {
        public const ushort PciConfigAddress = 0xCF8, PciConfigData = 0xCFC, ResetControl = 0xCF9;
        public const ushort KeyboardCommand = 0x64, SystemControlA = 0x92;

        /// <summary>
        /// The real-time clock's ports on PC chipsets: 0x70/0x71 (index and data), 0x72/0x73
        /// (the upper 128 bytes of CMOS RAM) and 0x74-0x77, which Intel's ICHs and PCHs decode
        /// as aliases of 0x70-0x73 (their data sheets, "RTC I/O Registers"). Each would let
        /// the host partition change the machine's clock, or the NMI mask in bit 7 of the index,
        /// under the hypervisor.
        /// </summary>
        public static readonly IoPortRange RealTimeClock = new(0x70, 8);

        /// <summary>Trapped for the host whatever it owns: the hypervisor's console, PCI configuration and reset control, the reset lines, the real-time clock.</summary>
        public static readonly IoPortRange[] AlwaysTrapped =
        {
            new(HypervisorConsolePort, 8),
            new(PciConfigAddress, 8),
            new(KeyboardCommand, 1),
            new(SystemControlA, 1),
            RealTimeClock,
        };

        private const ushort HypervisorConsolePort = 0x3F8;

        private static readonly SpinLock s_configLock = new SpinLock();
        private readonly IoPortRange[] _others;
        private readonly int[] _hiddenPci;
        private uint _configAddress;

        /// <param name="others">Ports given to other partitions.</param>
        /// <param name="hiddenPci">PCI functions given to other partitions, as (bus &lt;&lt; 8 | device &lt;&lt; 3 | function).</param>
        public HostPorts(IoPortRange[] others, int[] hiddenPci)
        {
            _others = others;
            _hiddenPci = hiddenPci;
        }

        /// <summary>The PCI functions given to other partitions (hidden from the host).</summary>
        public ReadOnlySpan<int> HiddenPci => _hiddenPci;

        /// <summary>Why the last access was denied.</summary>
        public string Why { get; private set; } = "";

        /// <summary>
        /// Fills the host's I/O bitmaps (A: ports 0-7FFFh, B: 8000h-FFFFh; SDM Vol. 3C, 25.6.4):
        /// clear, so that ports pass through, except the trapped ones and the UART it is given
        /// (<paramref name="uartPort"/>, -1 for none), which the hypervisor emulates.
        /// </summary>
        public void FillBitmaps(Span<byte> a, Span<byte> b, int uartPort)
        {
            a.Slice(0, 4096).Fill(0);
            b.Slice(0, 4096).Fill(0);
            foreach (var range in AlwaysTrapped)
                Trap(a, b, range);
            foreach (var range in _others)
                Trap(a, b, range);
            if (uartPort >= 0)
                Trap(a, b, new IoPortRange((ushort)uartPort, 8));
        }

        /// <summary>Whether an access of <paramref name="size"/> bytes at <paramref name="port"/> exits under these bitmaps.</summary>
        public static bool Exits(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, ushort port, int size)
        {
            for (int p = port; p < port + size && p <= 0xFFFF; p++)
            {
                var bitmap = p < 0x8000 ? a : b;
                int bit = p & 0x7FFF;
                if ((bitmap[bit >> 3] & (1 << (bit & 7))) != 0)
                    return true;
            }
            return false;
        }

        /// <summary>Makes the ports of <paramref name="range"/> exit under the bitmaps (A: 0-7FFFh, B: 8000h-FFFFh).</summary>
        public static void Trap(Span<byte> a, Span<byte> b, IoPortRange range)
        {
            for (int p = range.Start; p < range.Start + range.Count && p <= 0xFFFF; p++)
            {
                var bitmap = p < 0x8000 ? a : b;
                int bit = p & 0x7FFF;
                bitmap[bit >> 3] |= (byte)(1 << (bit & 7));
            }
        }

        /// <summary>
        /// Carries out or refuses a host access that exited (not one to its own UART or RTC).
        /// For a read, <paramref name="value"/> receives what the guest reads.
        /// </summary>
        public HostPortOutcome Handle(IoAccess access, ref uint value)
        {
            ushort port = access.Port;
            int size = access.Size;
            foreach (var range in _others)
                if (range.Overlaps(port, size))
                    return Deny("the port belongs to another partition");
            if (new IoPortRange(HypervisorConsolePort, 8).Overlaps(port, size))
                return Deny("the hypervisor's console");
            // Ports 0x70 and 0x71 alone are the virtual RTC's and never come here.
            if (RealTimeClock.Overlaps(port, size))
                return Deny("the machine's real-time clock (the partition's own is at ports 0x70 and 0x71)");

            if (port == ResetControl && size == 1)
                return ResetLine(access, ref value, (value & 0x04) != 0);
            if (port >= PciConfigAddress && port + size <= PciConfigAddress + 4)
            {
                // CONFIG_ADDRESS, whole or in part (Linux's pci_check_type1 writes a byte to
                // 0xCFB): the latch the next CONFIG_DATA access uses, kept here.
                int shift = (port - PciConfigAddress) * 8;
                uint mask = size == 4 ? 0xFFFF_FFFFu : size == 2 ? 0xFFFFu : 0xFFu;
                if (access.IsIn)
                    value = _configAddress >> shift & mask;
                else
                    _configAddress = _configAddress & ~(mask << shift) | (value & mask) << shift;
                return HostPortOutcome.Done;
            }
            if (port >= PciConfigData && port + size <= PciConfigData + 4)
                return ConfigData(access, ref value);
            if (port == KeyboardCommand && size == 1)
                return ResetLine(access, ref value, value >= 0xF0 && (value & 1) == 0); // pulse output line 0: the CPU reset
            if (port == SystemControlA && size == 1)
                return ResetLine(access, ref value, (value & 1) != 0); // fast reset
            return Deny("not a port the host partition may reach");
        }

        // A config-space access through CONFIG_DATA: hidden functions read as absent.
        private HostPortOutcome ConfigData(IoAccess access, ref uint value)
        {
            if ((_configAddress & 0x8000_0000) == 0)
            {
                if (access.IsIn)
                    value = access.Mask;
                return HostPortOutcome.Done;
            }
            int function = (int)(_configAddress >> 8 & 0xFFFF);
            foreach (int hidden in _hiddenPci)
                if (hidden == function)
                    return Deny("the PCI function belongs to another partition");
            // The real pair is one register for all CPUs: held across the address and the data.
            s_configLock.Enter();
            Cpu.Out32(PciConfigAddress, _configAddress);
            PassThrough(access, ref value);
            s_configLock.Exit();
            return HostPortOutcome.Done;
        }

        /// <summary>
        /// Turns bus mastering off (PCI Command register bit 2, PCI Local Bus 3.0, 6.2.2) on every
        /// PCI function the host partition can see, through the machine's 0xCF8/0xCFC, before the
        /// host's memory is scrubbed and reloaded: a device it programmed keeps no DMA going into
        /// the memory of the next boot. Functions of other partitions are left alone. Returns how
        /// many functions had it on.
        /// </summary>
        public int QuiesceBusMasters()
        {
            int quiesced = 0;
            s_configLock.Enter();
            for (int bus = 0; bus < 256; bus++)
            {
                for (int device = 0; device < 32; device++)
                {
                    for (int function = 0; function < 8; function++)
                    {
                        int id = bus << 8 | device << 3 | function;
                        uint address = 0x8000_0000u | (uint)id << 8;
                        Cpu.Out32(PciConfigAddress, address);
                        uint vendor = Cpu.In32(PciConfigData);
                        if ((vendor & 0xFFFF) == 0xFFFF)
                        {
                            if (function == 0)
                                break;
                            continue;
                        }
                        bool hidden = false;
                        foreach (int other in _hiddenPci)
                            hidden |= other == id;
                        Cpu.Out32(PciConfigAddress, address | 0x04);
                        uint command = Cpu.In16(PciConfigData);
                        if (!hidden && (command & 0x4) != 0)
                        {
                            Cpu.Out32(PciConfigAddress, address | 0x04);
                            Cpu.Out16(PciConfigData, (ushort)(command & ~0x4u));
                            quiesced++;
                        }
                        if (function == 0)
                        {
                            // Header type bit 7: a multi-function device; otherwise functions 1-7 are absent.
                            Cpu.Out32(PciConfigAddress, address | 0x0C);
                            if ((Cpu.In32(PciConfigData) >> 16 & 0x80) == 0)
                                break;
                        }
                    }
                }
            }
            Cpu.Out32(PciConfigAddress, 0);
            s_configLock.Exit();
            return quiesced;
        }

        private HostPortOutcome ResetLine(IoAccess access, ref uint value, bool resets)
        {
            if (!access.IsIn && resets)
                return Deny("it would reset the machine under the other partitions");
            PassThrough(access, ref value);
            return HostPortOutcome.Done;
        }

        private static void PassThrough(IoAccess access, ref uint value)
        {
            if (access.IsIn)
                value = access.Size == 1 ? Cpu.In8(access.Port) : access.Size == 2 ? Cpu.In16(access.Port) : Cpu.In32(access.Port);
            else if (access.Size == 1)
                Cpu.Out8(access.Port, (byte)value);
            else if (access.Size == 2)
                Cpu.Out16(access.Port, (ushort)value);
            else
                Cpu.Out32(access.Port, value);
        }

        private HostPortOutcome Deny(string why)
        {
            Why = why;
            return HostPortOutcome.Denied;
        }
    }
}
