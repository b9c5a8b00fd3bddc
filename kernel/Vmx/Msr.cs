namespace Partition.Kernel
{
    /// <summary>Architectural MSR numbers (SDM Vol. 4, chapter 2, and Vol. 3D appendix A).</summary>
    public static class Msr
    {
        public const uint FeatureControl = 0x3A;
        public const uint VmxBasic = 0x480;
        public const uint VmxPinbasedCtls = 0x481;
        public const uint VmxProcbasedCtls = 0x482;
        public const uint VmxExitCtls = 0x483;
        public const uint VmxEntryCtls = 0x484;
        public const uint VmxMisc = 0x485;
        public const uint VmxCr0Fixed0 = 0x486;
        public const uint VmxCr0Fixed1 = 0x487;
        public const uint VmxCr4Fixed0 = 0x488;
        public const uint VmxCr4Fixed1 = 0x489;
        public const uint VmxVmcsEnum = 0x48A;
        public const uint VmxProcbasedCtls2 = 0x48B;
        public const uint VmxEptVpidCap = 0x48C;
        public const uint VmxTruePinbasedCtls = 0x48D;
        public const uint VmxTrueProcbasedCtls = 0x48E;
        public const uint VmxTrueExitCtls = 0x48F;
        public const uint VmxTrueEntryCtls = 0x490;
        public const uint VmxVmfunc = 0x491;
        public const uint VmxProcbasedCtls3 = 0x492;
    }
}
