namespace Partition.Kernel
{
    /// <summary>
    /// The CPU state a guest boot protocol hands a vCPU over in (beside its general registers):
    /// the mode, where it starts, its stack, page tables and segments. Flat binaries and
    /// Multiboot kernels get the hypervisor's flat segments (code 0x08, data 0x10, no GDT in
    /// guest memory); the Linux 64-bit boot protocol brings its own GDT; an application
    /// processor starts in real mode at its start-up IPI's page.
    /// </summary>
    public struct GuestStartState
    {
        public GuestMode Mode;
        public ulong Rip;
        public ulong Rsp;

        /// <summary>Guest-physical address of the page tables (long mode), else 0.</summary>
        public ulong Cr3;

        public ushort CodeSelector;
        public ushort DataSelector;

        /// <summary>Base of CS (real mode: the start-up IPI's page); 0 in the flat modes.</summary>
        public ulong CodeBase;

        /// <summary>The guest's GDT, if the protocol provides one (base 0, limit 0xFFFF otherwise).</summary>
        public ulong GdtBase;
        public ushort GdtLimit;

        /// <summary>The state a start-up IPI gives an application processor (SDM Vol. 3A, 9.4.4.1): real mode at vector × 4 KiB.</summary>
        public static GuestStartState Startup(byte vector) => new GuestStartState
        {
            Mode = GuestMode.Real,
            CodeSelector = (ushort)(vector << 8),
            CodeBase = (ulong)vector << 12,
            GdtLimit = 0xFFFF,
        };
    }
}
