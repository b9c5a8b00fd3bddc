namespace Partition.Kernel
{
    /// <summary>
    /// The local APIC's interrupt command register, for starting the other CPUs (SDM Vol. 3A,
    /// 10.6.1 "Interrupt Command Register", 8.4.4 "MP Initialization Example"). xAPIC through
    /// its MMIO page (identity mapped, uncached), or x2APIC through MSR 0x830 if the firmware
    /// enabled it.
    /// </summary>
    public static unsafe class Lapic
    {
        private const uint ApicBaseMsr = 0x1B;
        private const ulong X2ApicEnable = 1UL << 10;
        private const uint X2ApicIcrMsr = 0x830;
        private const int IcrLow = 0x300;
        private const int IcrHigh = 0x310;
        private const uint DeliveryPending = 1u << 12;
        private const uint Init = 0x0000_4500;    // INIT, level assert
        private const uint Startup = 0x0000_4600; // start-up IPI, vector in bits 7:0

        public static void SendInit(uint apicId) => SendCommand(apicId, Init);

        public static void SendStartup(uint apicId, uint vector) => SendCommand(apicId, Startup | (vector & 0xFF));

        private static void SendCommand(uint apicId, uint command)
        {
            ulong apicBase = Cpu.ReadMsr(ApicBaseMsr);
            if ((apicBase & X2ApicEnable) != 0)
            {
                Cpu.WriteMsr(X2ApicIcrMsr, (ulong)apicId << 32 | command);
                return;
            }
            byte* registers = (byte*)(apicBase & 0xFFFFF000);
            *(uint*)(registers + IcrHigh) = apicId << 24;
            *(uint*)(registers + IcrLow) = command;
            while ((*(uint*)(registers + IcrLow) & DeliveryPending) != 0)
                Cpu.Pause();
        }
    }
}
