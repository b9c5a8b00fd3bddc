namespace Partition.Kernel
{
    /// <summary>
    /// An I/O instruction intercept, decoded from the exit qualification (SDM Vol. 3C, 28.2.1,
    /// table 28-5): size in bytes, direction, string and REP prefixes, port. Devices see this,
    /// never the VMCS.
    /// </summary>
    public readonly struct IoAccess
    {
        public IoAccess(ushort port, int size, bool isIn, bool isString, bool isRep)
        {
            Port = port;
            Size = size;
            IsIn = isIn;
            IsString = isString;
            IsRep = isRep;
        }

        public ushort Port { get; }
        public int Size { get; }
        public bool IsIn { get; }
        public bool IsString { get; }
        public bool IsRep { get; }

        /// <summary>The bits of RAX an access of this size uses.</summary>
        public uint Mask => Size == 1 ? 0xFFu : Size == 2 ? 0xFFFFu : 0xFFFFFFFFu;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public static IoAccess Decode(ulong qualification) => new(
            port: (ushort)(qualification >> 16),
            size: (int)(qualification & 7) + 1,
            isIn: (qualification & (1 << 3)) != 0,
            isString: (qualification & (1 << 4)) != 0,
            isRep: (qualification & (1 << 5)) != 0);
    }
}
