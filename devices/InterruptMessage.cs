namespace Partition.Devices
{
    /// <summary>Delivery mode of an interrupt message (SDM Vol. 3A, 11.6.1, ICR bits 10:8; I/O APIC redirection entries use the same codes).</summary>
    public enum DeliveryMode : byte
    {
        Fixed = 0,
        LowestPriority = 1,
        Smi = 2,
        Nmi = 4,
        Init = 5,
        Startup = 6,
        ExtInt = 7,
    }

    /// <summary>
    /// One interrupt on its way to local APICs: what an I/O APIC redirection entry, an MSI or
    /// a local APIC's ICR produces, and what a virtual local APIC accepts. The destination is
    /// an APIC ID (physical mode) or a logical mask (logical mode; in x2APIC mode cluster
    /// 31:16 and a bit in 15:0), with 0xFFFFFFFF (x2APIC) or 0xFF (xAPIC) meaning all.
    /// </summary>
    public readonly struct InterruptMessage
    {
        public InterruptMessage(byte vector, DeliveryMode mode, bool logical, uint destination, bool levelTriggered)
        {
            Vector = vector;
            Mode = mode;
            Logical = logical;
            Destination = destination;
            LevelTriggered = levelTriggered;
        }

        public byte Vector { get; }
        public DeliveryMode Mode { get; }

        /// <summary>True for logical destination mode, false for physical.</summary>
        public bool Logical { get; }
        public uint Destination { get; }

        /// <summary>Level-triggered (the source waits for an EOI before it may deliver again) rather than edge-triggered.</summary>
        public bool LevelTriggered { get; }
    }
}
