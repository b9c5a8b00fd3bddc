namespace Partition.Kernel
{
    /// <summary>
    /// An I/O instruction intercept, decoded from the exit qualification (SDM Vol. 3C, 28.2.1,
    /// table 28-5): size in bytes, direction, string and REP prefixes, port. Devices see this,
    /// never the VMCS. It keeps the qualification's low half as it is and decodes each part
    /// when asked (the UART's exits read two of them).
    /// </summary>
    public readonly struct IoAccess
    {
        private readonly uint _bits;

        private IoAccess(uint bits) => _bits = bits;

        public IoAccess(ushort port, int size, bool isIn, bool isString, bool isRep)
            : this((uint)port << 16 | (uint)(size - 1) & 7 | (isIn ? InBit : 0) | (isString ? StringBit : 0) | (isRep ? RepBit : 0))
        {
        }

        private const uint InBit = 1 << 3, StringBit = 1 << 4, RepBit = 1 << 5;

        public ushort Port => (ushort)(_bits >> 16);
        public int Size => (int)(_bits & 7) + 1;
        public bool IsIn => (_bits & InBit) != 0;
        public bool IsString => (_bits & StringBit) != 0;
        public bool IsRep => (_bits & RepBit) != 0;

        /// <summary>The bits of RAX an access of this size uses (1, 2 or 4 bytes).</summary>
        public uint Mask => 0xFFFFFFFFu >> (32 - 8 * Size);

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public static IoAccess Decode(ulong qualification) => new((uint)qualification);
    }
}
