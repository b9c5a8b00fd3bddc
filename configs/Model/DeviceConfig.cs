using System;

namespace Partition.Configs
{
    /// <summary>The devices a partition is given: passed-through ports, MMIO and PCI functions, and an emulated UART.</summary>
    public sealed class DeviceConfig
    {
        public int Node = -1;
        public PortRange[] IoPorts = new PortRange[0];
        public MmioRange[] Mmio = new MmioRange[0];
        public PciAddress[] Pci = new PciAddress[0];

        /// <summary>The emulated 16550 UART, or null.</summary>
        public VirtualUartConfig Uart;
    }

    /// <summary>I/O ports Base .. Base+Count-1, passed through.</summary>
    public sealed class PortRange
    {
        public int Node = -1;
        public int Base;
        public int Count;
        public int End => Base + Count;
    }

    /// <summary>A physical MMIO range, passed through at the same guest-physical address.</summary>
    public sealed class MmioRange
    {
        public int Node = -1;
        public ulong Base;
        public ulong Size;
    }

    /// <summary>A PCI function by bus:device.function, written "BB:DD.F" in hex.</summary>
    public sealed class PciAddress
    {
        public int Node = -1;
        public int Bus;
        public int Device;
        public int Function;
        public int Key => (Bus << 8) | (Device << 3) | Function;

        /// <summary>"BB:DD.F" in lower-case hex, as lspci writes it (the segment, always 0, left out).</summary>
        public string Text
        {
            get
            {
                const string Digits = "0123456789abcdef";
                Span<char> text = stackalloc char[7];
                text[0] = Digits[Bus >> 4];
                text[1] = Digits[Bus & 0xF];
                text[2] = ':';
                text[3] = Digits[Device >> 4];
                text[4] = Digits[Device & 0xF];
                text[5] = '.';
                text[6] = Digits[Function];
                return new string(text);
            }
        }
    }

    /// <summary>A 16550 UART the hypervisor emulates for the partition at an I/O port (8 ports).</summary>
    public sealed class VirtualUartConfig
    {
        public int Node = -1;
        public int Port;
    }
}
