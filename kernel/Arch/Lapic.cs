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
        private const uint Nmi = 0x0000_4400;     // NMI, level assert

        private const int SpuriousVector = 0xF0;
        private const int EndOfInterruptRegister = 0xB0;
        private const int TaskPriority = 0x80;
        private const uint X2ApicEoiMsr = 0x80B;
        private const uint X2ApicSvrMsr = 0x80F;

        /// <summary>The vector of the "look at your mailbox" IPI between cores.</summary>
        public const uint WakeVector = 0xF2;

        public static void SendInit(uint apicId) => SendCommand(apicId, Init);

        /// <summary>A fixed interrupt to another CPU: if it is in a guest, the guest exits at once.</summary>
        public static void SendWake(uint apicId) => SendCommand(apicId, WakeVector);

        /// <summary>
        /// An NMI to another CPU: a guest running there exits at once whatever its RFLAGS.IF
        /// (NMI exiting, SDM Vol. 3C, 26.2); in the hypervisor it is counted and ignored.
        /// </summary>
        public static void SendNmi(uint apicId) => SendCommand(apicId, Nmi);

        /// <summary>The vector of a spurious interrupt (SVR bits 7:0 as <see cref="Enable"/> sets them); it takes no EOI.</summary>
        public const int SpuriousInterruptVector = 0xFF;

        private const int Lint0 = 0x350;
        private const uint X2ApicLint0Msr = 0x835;
        private const uint LvtMasked = 1u << 16;

        /// <summary>
        /// Software-enables this CPU's local APIC (SVR bit 8), accepts every priority (TPR 0) and
        /// masks LINT0, where the firmware may have left the 8259's ExtINT (virtual wire mode):
        /// the 8259 is the host partition's, and its interrupts are not the hypervisor's.
        /// </summary>
        public static void Enable()
        {
            ulong apicBase = Cpu.ReadMsr(ApicBaseMsr);
            if ((apicBase & X2ApicEnable) != 0)
            {
                Cpu.WriteMsr(X2ApicSvrMsr, 0x100 | SpuriousInterruptVector);
                Cpu.WriteMsr(X2ApicLint0Msr, LvtMasked);
                return;
            }
            byte* registers = (byte*)(apicBase & 0xFFFFF000);
            *(uint*)(registers + TaskPriority) = 0;
            *(uint*)(registers + SpuriousVector) = 0x100 | SpuriousInterruptVector;
            *(uint*)(registers + Lint0) = LvtMasked;
        }

        /// <summary>The spurious-interrupt vector register (bit 8: software enabled).</summary>
        public static uint SpuriousVectorRegister
        {
            get
            {
                ulong apicBase = Cpu.ReadMsr(ApicBaseMsr);
                if ((apicBase & X2ApicEnable) != 0)
                    return (uint)Cpu.ReadMsr(X2ApicSvrMsr);
                return *(uint*)((byte*)(apicBase & 0xFFFFF000) + SpuriousVector);
            }
        }

        /// <summary>End of interrupt, after a VM exit that acknowledged one.</summary>
        public static void EndOfInterrupt()
        {
            ulong apicBase = Cpu.ReadMsr(ApicBaseMsr);
            if ((apicBase & X2ApicEnable) != 0)
            {
                Cpu.WriteMsr(X2ApicEoiMsr, 0);
                return;
            }
            *(uint*)((byte*)(apicBase & 0xFFFFF000) + EndOfInterruptRegister) = 0;
        }

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
