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
    /// virtual UART. Of the trapped ones, the reset controls are passed on without their reset
    /// bits: the host partition owns the platform, not the other partitions' cores, so it may
    /// not reset the machine under them. The real-time clock is not passed through at all:
    /// ports 0x70 and 0x71 are the host partition's own virtual RTC (as every partition's; the
    /// dispatcher gives them to it before asking here), and the RTC's other ports are refused.
    /// </summary>
    /// <remarks>
    /// <para>
    /// PCI configuration mechanism #1 (0xCF8/0xCFC) is the host's only way to configuration
    /// space: <see cref="HostAcpi"/> leaves the ECAM windows out of its EPT and the MCFG out of
    /// its tables. Through it, the functions given to other partitions read as absent and
    /// refuse writes, and every other function reaches the hardware, less its MSI (capability
    /// ID 05h) and MSI-X (11h) capabilities. Without interrupt remapping the hypervisor cannot
    /// confine a message a device sends: its address picks any APIC ID and its data any vector
    /// or delivery mode (NMI, INIT, SMI), so a host that programmed one could interrupt, stop
    /// or restart the other partitions' cores. So the capability pointer and the "next" byte of
    /// each other capability read as if those two were not in the list (the list is walked as
    /// the hardware has it, at most 48 steps, which ends a looping one), and a write to any of
    /// their bytes is refused; reads of those bytes pass. Linux then finds no MSI and uses the
    /// function's INTx pin, through the I/O APIC the hypervisor emulates for it. Before the host
    /// boots, MSI and MSI-X are turned off on every function it can see
    /// (<see cref="DisableMessageInterrupts"/>), since it could no longer turn them off.
    /// A bus master can still write to the interrupt address range (FEEx_xxxxh) by DMA: only
    /// an IOMMU, which is not programmed yet, closes that.
    /// </para>
    /// <para>
    /// The CONFIG_ADDRESS latch is the partition's, shared by its vCPUs as the real register is
    /// by CPUs (an OS serialises its configuration accesses, as Linux does with pci_config_lock);
    /// the real 0xCF8/0xCFC pair is written under a lock, address and data together.
    /// </para>
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

        // A config-space access through CONFIG_DATA: hidden functions read as absent, MSI and
        // MSI-X capabilities are left out of the capability list and their bytes refused.
        private HostPortOutcome ConfigData(IoAccess access, ref uint value)
        {
            if ((_configAddress & 0x8000_0000) == 0)
            {
                if (access.IsIn)
                    value = access.Mask;
                return HostPortOutcome.Done;
            }
            int function = (int)(_configAddress >> 8 & 0xFFFF);
            if (IsHidden(function))
                return Deny("the PCI function belongs to another partition");
            // The hardware gets the enable bit, bus, device, function and register only: bits
            // 30:24 are reserved (AMD's extended register number), so the register the filter
            // judges is the one the chipset reaches.
            uint address = _configAddress & 0x80FF_FFFC;
            uint functionAddress = address & 0x80FF_FF00;
            int register = (int)(address & 0xFC) + (access.Port - PciConfigData);
            // The real pair is one register for all CPUs: held across the address and the data.
            s_configLock.Enter();
            if (access.IsIn)
            {
                Cpu.Out32(PciConfigAddress, address);
                PassThrough(access, ref value);
                if (MayHoldLink(register))
                    HiddenCapabilities(functionAddress, register, access.Size, false, ref value);
            }
            else
            {
                byte hidden = 0;
                if (register + access.Size > FirstCapability)
                {
                    uint links = 0; // the walk's rewritten links are for reads; the value written stays the host's
                    hidden = HiddenCapabilities(functionAddress, register, access.Size, true, ref links);
                }
                if (hidden != 0)
                {
                    s_configLock.Exit();
                    return Deny(hidden == MsiCapability
                        ? "the function's MSI capability (the hypervisor cannot remap the interrupts it would send)"
                        : "the function's MSI-X capability (the hypervisor cannot remap the interrupts it would send)");
                }
                Cpu.Out32(PciConfigAddress, address);
                PassThrough(access, ref value);
            }
            s_configLock.Exit();
            return HostPortOutcome.Done;
        }

        // Capability IDs (PCI Local Bus 3.0, appendix H): MSI and MSI-X, hidden from the host.
        private const byte MsiCapability = 0x05, MsiXCapability = 0x11;
        private const int Status = 0x04, HeaderType = 0x0C, CardBusHeader = 2, StatusCapabilitiesList = 1 << 4;
        // The capabilities pointer (PCI Local Bus 3.0, 6.7; PCI-to-CardBus bridges have it at 0x14);
        // capabilities start after the 64-byte header.
        private const int CapabilitiesPointer = 0x34, CardBusCapabilitiesPointer = 0x14, FirstCapability = 0x40;
        // As many 4-byte capabilities as fit between 0x40 and 0x100: a longer walk is a loop.
        private const int MaxCapabilities = 48;
        private const int MsiXLength = 12;

        // Whether register byte offsets from `register` on could hold a link of the list: the
        // capabilities pointer of either header layout, or a capability's "next" byte.
        private static bool MayHoldLink(int register) =>
            register >= FirstCapability || (register & ~3) == CapabilitiesPointer || (register & ~3) == CardBusCapabilitiesPointer;

        /// <summary>
        /// Walks the capability list of the function at <paramref name="function"/> (a
        /// CONFIG_ADDRESS with register 0; the caller holds the configuration lock) as the
        /// hardware has it, bounded against loops, and answers for the access to bytes
        /// [<paramref name="start"/>, <paramref name="start"/> + <paramref name="size"/>):
        /// the links it covers (the capabilities pointer, each visible capability's "next")
        /// are rewritten in <paramref name="value"/> (byte 0 being <paramref name="start"/>'s) to
        /// skip MSI and MSI-X, and the ID of a hidden capability whose bytes it overlaps is
        /// returned (0 for none). A function whose Status says it has no list has none, unless
        /// <paramref name="evenWithoutList"/>: a write is judged by whatever list the pointer
        /// leads to, since a device that has MSI but does not say so still sends messages.
        /// </summary>
        private static byte HiddenCapabilities(uint function, int start, int size, bool evenWithoutList, ref uint value)
        {
            int link = CapabilitiesPointerOf(function, evenWithoutList);
            if (link == 0)
                return 0;
            int at = (int)ReadConfig(function, link) & 0xFC; // bits 1:0 are reserved
            byte hidden = 0;
            for (int step = 0; step < MaxCapabilities && at >= FirstCapability; step++)
            {
                uint header = ReadConfig(function, at);
                byte id = (byte)header;
                if (id == MsiCapability || id == MsiXCapability)
                {
                    int length = id == MsiXCapability ? MsiXLength : MsiLength((ushort)(header >> 16));
                    if (start < at + length && start + size > at)
                        hidden = id;
                }
                else
                {
                    SetLink(link, at, start, size, ref value);
                    link = at + 1;
                }
                at = (int)(header >> 8) & 0xFC;
            }
            SetLink(link, 0, start, size, ref value);
            return hidden;
        }

        // Where the function's capabilities pointer is, or 0 if its Status says it has no list (and that is believed).
        private static int CapabilitiesPointerOf(uint function, bool evenWithoutList = false)
        {
            if (!evenWithoutList && (ReadConfig(function, Status) >> 16 & StatusCapabilitiesList) == 0)
                return 0;
            return (ReadConfig(function, HeaderType) >> 16 & 0x7F) == CardBusHeader ? CardBusCapabilitiesPointer : CapabilitiesPointer;
        }

        /// <summary>
        /// The bytes of an MSI capability (PCI Local Bus 3.0, 6.8.1), to the end of its last
        /// dword: ID, next, Message Control and Message Address, the upper address if Message
        /// Control's bit 7 (64-bit) is set, Message Data, and Mask and Pending Bits if bit 8
        /// (per-vector masking) is.
        /// </summary>
        private static int MsiLength(ushort messageControl) =>
            ((messageControl & 0x80) != 0 ? 16 : 12) + ((messageControl & 0x100) != 0 ? 8 : 0);

        // Writes `target` into the link at byte `link` if the access [start, start + size) covers it.
        private static void SetLink(int link, int target, int start, int size, ref uint value)
        {
            int index = link - start;
            if (index >= 0 && index < size)
                value = value & ~(0xFFu << index * 8) | (uint)target << index * 8;
        }

        private static uint ReadConfig(uint function, int register)
        {
            Cpu.Out32(PciConfigAddress, function | (uint)register);
            return Cpu.In32(PciConfigData);
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
            var functions = new PresentFunctions();
            while (functions.MoveNext(out int key))
            {
                if (IsHidden(key))
                    continue;
                uint address = 0x8000_0000u | (uint)key << 8 | 0x04;
                Cpu.Out32(PciConfigAddress, address);
                uint command = Cpu.In16(PciConfigData);
                if ((command & 0x4) != 0)
                {
                    Cpu.Out32(PciConfigAddress, address);
                    Cpu.Out16(PciConfigData, (ushort)(command & ~0x4u));
                    quiesced++;
                }
            }
            Cpu.Out32(PciConfigAddress, 0);
            s_configLock.Exit();
            return quiesced;
        }

        /// <summary>
        /// Clears MSI Enable (Message Control bit 0) and MSI-X Enable (bit 15; PCI Local Bus 3.0,
        /// 6.8.1.3, and the MSI-X ECN) on every PCI function the host partition can see, before it
        /// boots: the host cannot reach those capabilities, so one the firmware left enabled would
        /// stay so, and an MSI-X table sits in a BAR the host maps, where it could aim the
        /// messages at any core. The function falls back to INTx. Returns how many capabilities
        /// were enabled.
        /// </summary>
        public int DisableMessageInterrupts()
        {
            int disabled = 0;
            s_configLock.Enter();
            var functions = new PresentFunctions();
            while (functions.MoveNext(out int key))
            {
                if (IsHidden(key))
                    continue;
                uint function = 0x8000_0000u | (uint)key << 8;
                int pointer = CapabilitiesPointerOf(function);
                int at = pointer != 0 ? (int)ReadConfig(function, pointer) & 0xFC : 0;
                for (int step = 0; step < MaxCapabilities && at >= FirstCapability; step++)
                {
                    uint header = ReadConfig(function, at);
                    uint control = header >> 16;
                    uint enable = (byte)header == MsiCapability ? 0x0001u : (byte)header == MsiXCapability ? 0x8000u : 0;
                    if ((control & enable) != 0)
                    {
                        Cpu.Out32(PciConfigAddress, function | (uint)at);
                        Cpu.Out16(PciConfigData + 2, (ushort)(control & ~enable));
                        disabled++;
                    }
                    at = (int)(header >> 8) & 0xFC;
                }
            }
            Cpu.Out32(PciConfigAddress, 0);
            s_configLock.Exit();
            return disabled;
        }

        private bool IsHidden(int function)
        {
            foreach (int other in _hiddenPci)
                if (other == function)
                    return true;
            return false;
        }

        /// <summary>
        /// The functions present on buses 0-255, through the machine's 0xCF8/0xCFC (the caller
        /// holds the configuration lock): function 0 of each device whose vendor ID is not FFFFh,
        /// and functions 1-7 of those whose header type has bit 7 (multi-function) set.
        /// </summary>
        private struct PresentFunctions
        {
            private int _next; // bus << 8 | device << 3 | function, the next to probe

            public bool MoveNext(out int function)
            {
                while (_next <= 0xFFFF)
                {
                    function = _next++;
                    uint address = 0x8000_0000u | (uint)function << 8;
                    bool first = (function & 7) == 0;
                    if ((ReadConfig(address, 0) & 0xFFFF) == 0xFFFF)
                    {
                        if (first)
                            _next = function + 8;
                        continue;
                    }
                    if (first && (ReadConfig(address, HeaderType) >> 16 & 0x80) == 0)
                        _next = function + 8;
                    return true;
                }
                function = 0;
                return false;
            }
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
