using Partition.Kernel;

namespace Partition.Devices
{
    /// <summary>Outcome of a guest's access to a local APIC register.</summary>
    public enum ApicAccess
    {
        Done,
        /// <summary>The access raises #GP in the guest (a read-only or write-only register, a reserved bit, an MSR the APIC lacks).</summary>
        Fault,
    }

    /// <summary>Which vCPUs an IPI goes to besides its destination field (ICR bits 19:18).</summary>
    public enum IpiShorthand : byte
    {
        None = 0,
        Self = 1,
        AllIncludingSelf = 2,
        AllExcludingSelf = 3,
    }

    /// <summary>The local APIC's mode, from IA32_APIC_BASE's EN and EXTD bits (SDM Vol. 3A, 11.12.5).</summary>
    public enum ApicMode
    {
        Disabled,
        /// <summary>Registers in the 4 KiB page at the APIC base (memory-mapped).</summary>
        XApic,
        /// <summary>Registers as MSRs 0x800-0x8FF.</summary>
        X2Apic,
    }

    /// <summary>
    /// One vCPU's local APIC (SDM Vol. 3A, chapter 11): xAPIC mode, its registers in the page
    /// at 0xFEE00000 (the caller emulates the guest's accesses there), as after reset, and
    /// x2APIC mode, its registers as MSRs 0x800–0x8FF (11.12), once the guest switches
    /// through IA32_APIC_BASE; IA32_TSC_DEADLINE; IRR/ISR/TMR with the SDM's priority rules
    /// (TPR, PPR, EOI); the timer in one-shot, periodic and TSC-deadline modes; IPIs out
    /// through the ICR and the self-IPI register, and interrupts, NMI, INIT and start-up IPIs
    /// in. Physical, logical flat, logical cluster and x2APIC cluster destinations.
    /// </summary>
    /// <remarks>
    /// Time is the TSC, given by the caller: the timer's input clock is the TSC divided by
    /// <see cref="TscTicksPerCount"/> (1 unless the TSC runs at 2^32 Hz or more; CPUID leaf
    /// 0x15 reports that clock as the crystal, so a guest computes the same period as here),
    /// then by the divide configuration register. The model never reads a clock itself.
    /// Everything here is the owning vCPU's, touched only on the CPU it runs on, except
    /// <see cref="Post"/>: other vCPUs (on other cores) post interrupts into a mailbox of
    /// atomic bitmaps, which the owner merges into the IRR before it looks at it.
    /// </remarks>
    public sealed unsafe class VirtualLocalApic
    {
        public const uint MsrApicBase = 0x1B;
        public const uint MsrTscDeadline = 0x6E0;
        public const uint MsrFirst = 0x800;
        public const uint MsrLast = 0x8FF;
        public const ulong DefaultBase = 0xFEE00000;

        private const ulong ApicBaseBsp = 1UL << 8;
        private const ulong ApicBaseExtd = 1UL << 10;
        private const ulong ApicBaseEnable = 1UL << 11;

        /// <summary>The size of the xAPIC register page.</summary>
        public const ulong PageSize = 0x1000;

        // x2APIC register MSRs (SDM Vol. 3A, table 11-6).
        private const uint Id = 0x802, Version = 0x803, Tpr = 0x808, Ppr = 0x80A, Eoi = 0x80B, Ldr = 0x80D,
            Svr = 0x80F, IsrFirst = 0x810, TmrFirst = 0x818, IrrFirst = 0x820, Esr = 0x828, Icr = 0x830,
            LvtTimerMsr = 0x832, LvtErrorMsr = 0x837, InitialCountMsr = 0x838, CurrentCountMsr = 0x839,
            DivideMsr = 0x83E, SelfIpi = 0x83F;

        // xAPIC-only registers, numbered as their page offset >> 4 above 0x800 like the others.
        private const uint ArbitrationPriority = 0x809, RemoteRead = 0x80C, DfrRegister = 0x80E, IcrHighRegister = 0x831;

        /// <summary>Version 0x14 (integrated APIC), six LVT entries (max LVT 5: no CMCI), no EOI-broadcast suppression.</summary>
        public const uint VersionValue = 0x0005_0014;

        private const uint LvtMasked = 1u << 16;
        private const uint LvtCount = 6; // timer, thermal, performance, LINT0, LINT1, error
        private const int LvtTimer = 0, LvtError = 5;
        private const uint TimerModeMask = 3u << 17;
        private const uint TimerPeriodic = 1u << 17;
        private const uint TimerTscDeadline = 2u << 17;
        private const uint SvrEnable = 1u << 8;

        // ESR bits (SDM 11.5.3).
        private const uint EsrSendIllegalVector = 1u << 5;
        private const uint EsrReceiveIllegalVector = 1u << 6;

        private readonly uint[] _irr = new uint[8];
        private readonly uint[] _isr = new uint[8];
        private readonly uint[] _tmr = new uint[8];
        private readonly uint[] _lvt = new uint[LvtCount];
        private uint _tpr, _svr, _esr, _pendingEsr, _divide, _initialCount;
        private ulong _icr;
        private ApicMode _mode;
        private uint _xapicLdr, _dfr;

        // The timer: armed with its next expiry (a TSC value), and for one-shot/periodic when
        // the count started and how many TSC ticks one period is.
        private ulong _timerDeadline, _timerStart, _timerPeriod;

        // Posted by other CPUs: 256 vector bits, the level-triggered ones, and NMI/INIT/SIPI.
        private readonly long[] _incoming = new long[4];
        private readonly long[] _incomingLevel = new long[4];
        private long _incomingEvents;

        // Set by Post after it has set its bits, cleared by the owner before it merges: the one
        // word the owner reads on every VM entry to know whether anything was posted.
        private long _posted;

        // Vectors in the IRR (kept by every change to it), so the entry path need not scan it.
        private int _irrCount;
        private const long EventNmi = 1, EventInit = 2, EventStartup = 4;
        private const int StartupVectorShift = 8;

        public VirtualLocalApic(uint apicId, bool bootstrap, uint tscTicksPerCount = 1)
        {
            ApicId = apicId;
            Bootstrap = bootstrap;
            TscTicksPerCount = tscTicksPerCount == 0 ? 1 : tscTicksPerCount;
            PowerOn();
        }

        /// <summary>TSC ticks per tick of the timer's input clock (the "crystal" of CPUID leaf 0x15).</summary>
        public uint TscTicksPerCount { get; }

        /// <summary>
        /// The timer's input clock for a TSC of <paramref name="tscHz"/>: the TSC itself, or the
        /// TSC divided by the least whole number that brings it under 2^32 Hz, since CPUID leaf
        /// 0x15 gives the crystal's rate in 32 bits (and the TSC as crystal × EBX / EAX).
        /// </summary>
        public static uint InputClockDivider(ulong tscHz) => tscHz <= uint.MaxValue ? 1u : (uint)((tscHz + uint.MaxValue - 1) / uint.MaxValue);

        /// <summary>Power-up (and RESET): xAPIC mode at the default base (SDM 11.4.4, 11.12.5), every register reset.</summary>
        public void PowerOn()
        {
            _mode = ApicMode.XApic;
            Reset();
        }

        public ApicMode Mode => _mode;

        /// <summary>The x2APIC ID (the vCPU's index in its partition).</summary>
        public uint ApicId { get; }

        public bool Bootstrap { get; }

        /// <summary>The x2APIC logical ID (SDM 11.12.10.2): cluster in 31:16, one bit of 15:0.</summary>
        public uint LogicalId => (ApicId >> 4) << 16 | 1u << (int)(ApicId & 0xF);

        private ulong ApicBase => _mode == ApicMode.Disabled ? DefaultBase | (Bootstrap ? ApicBaseBsp : 0)
            : DefaultBase | ApicBaseEnable | (_mode == ApicMode.X2Apic ? ApicBaseExtd : 0) | (Bootstrap ? ApicBaseBsp : 0);

        /// <summary>Software-enabled (SVR bit 8).</summary>
        public bool Enabled => _mode != ApicMode.Disabled && (_svr & SvrEnable) != 0;

        /// <summary>
        /// INIT state (SDM 11.4.7.3): everything cleared, every LVT masked, SVR 0xFF, DFR all
        /// ones; the mode and the ID stay (SDM 11.12.5.1).
        /// </summary>
        public void Reset()
        {
            _irrCount = 0;
            _xapicLdr = 0;
            _dfr = 0xFFFFFFFF;
            for (int i = 0; i < 8; i++)
                _irr[i] = _isr[i] = _tmr[i] = 0;
            for (int i = 0; i < LvtCount; i++)
                _lvt[i] = LvtMasked;
            _tpr = _esr = _pendingEsr = _divide = _initialCount = 0;
            _svr = 0xFF;
            _icr = 0;
            _timerDeadline = _timerStart = _timerPeriod = 0;
            PendingNmi = false;
        }

        // ---- Interrupts in -----------------------------------------------------------------

        /// <summary>
        /// An interrupt for this APIC, from any CPU: fixed and lowest-priority vectors go to the
        /// IRR (with the TMR bit for level-triggered ones), NMI, INIT and start-up are recorded
        /// for the owner. SMI and ExtINT are not delivered to partitions.
        /// </summary>
        public void Post(in InterruptMessage message)
        {
            PostBits(message);
            fixed (long* posted = &_posted)
                Cpu.CompareExchange(posted, 1, 0);
        }

        private void PostBits(in InterruptMessage message)
        {
            switch (message.Mode)
            {
                case DeliveryMode.Fixed:
                case DeliveryMode.LowestPriority:
                    SetBit(_incoming, message.Vector);
                    if (message.LevelTriggered)
                        SetBit(_incomingLevel, message.Vector);
                    break;
                case DeliveryMode.Nmi:
                    OrEvents(EventNmi);
                    break;
                case DeliveryMode.Init:
                    OrEvents(EventInit);
                    break;
                case DeliveryMode.Startup:
                    PostStartup(message.Vector);
                    break;
            }
        }

        /// <summary>True if other CPUs have posted something the owner has not merged yet (a racy hint: read without a lock).</summary>
        public bool HasIncoming => _posted != 0;

        /// <summary>
        /// True if the APIC may have something for the CPU: a vector in the IRR or an NMI. When
        /// false (the common case) the entry path has nothing to look at.
        /// </summary>
        public bool HasPending => _irrCount != 0 || PendingNmi;

        /// <summary><see cref="HasIncoming"/> or <see cref="HasPending"/>, in fewer loads (the exit fast path asks at every exit).</summary>
        public bool HasIncomingOrPending
        {
            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
            get => ((ulong)_posted | (uint)_irrCount) != 0 || PendingNmi;
        }

        /// <summary>An NMI waits for delivery to the vCPU.</summary>
        public bool PendingNmi { get; set; }

        /// <summary>
        /// Moves what was posted into the APIC's own state. Returns INIT and start-up IPIs for
        /// the vCPU to act on (they change the CPU, not only the APIC): <paramref name="init"/>
        /// and the start-up vector, or -1.
        /// </summary>
        public void MergeIncoming(out bool init, out int startupVector)
        {
            init = false;
            startupVector = -1;
            // Cleared first: a Post that comes during the merge sets it again.
            fixed (long* posted = &_posted)
                Cpu.CompareExchange(posted, 0, 1);
            long events = Exchange(ref _incomingEvents);
            if ((events & EventNmi) != 0)
                PendingNmi = true;
            if ((events & EventInit) != 0)
                init = true;
            if ((events & EventStartup) != 0)
                startupVector = (int)(events >> StartupVectorShift & 0xFF);
            for (int i = 0; i < 4; i++)
            {
                ulong bits = (ulong)Exchange(ref _incoming[i]);
                ulong level = (ulong)Exchange(ref _incomingLevel[i]);
                if (bits == 0)
                    continue;
                for (int half = 0; half < 2; half++)
                {
                    uint word = (uint)(bits >> (32 * half));
                    uint levelWord = (uint)(level >> (32 * half));
                    int index = i * 2 + half;
                    Accept(index, word, levelWord);
                }
            }
        }

        // The SDM's acceptance (11.5.3, 11.6.2): vectors 0-15 are illegal (ESR bit 6, dropped);
        // a software-disabled APIC accepts no fixed interrupts.
        private void Accept(int index, uint word, uint levelWord)
        {
            if (index == 0 && (word & 0xFFFF) != 0)
            {
                word &= 0xFFFF0000;
                Error(EsrReceiveIllegalVector);
            }
            if (!Enabled)
                return;
            _irrCount += BitCount(word & ~_irr[index]);
            _irr[index] |= word;
            _tmr[index] = (_tmr[index] & ~word) | (levelWord & word);
        }

        /// <summary>Sets a vector pending from the APIC's own sources (its timer, a self-IPI), on the owner's CPU.</summary>
        /// <summary>
        /// An APIC error (SDM 11.5.3): its ESR bit is set (read once software writes the ESR)
        /// and the LVT error entry's interrupt raised unless it is masked. An illegal vector in
        /// that entry raises nothing more (it would be another error, without end).
        /// </summary>
        private void Error(uint esrBit)
        {
            _pendingEsr |= esrBit;
            uint lvt = _lvt[LvtError];
            if ((lvt & LvtMasked) == 0 && Enabled && (lvt & 0xFF) >= 16)
                Raise(lvt & 0xFF);
        }

        private void Raise(uint vector, bool level = false)
        {
            uint bit = 1u << (int)(vector & 31);
            uint word = (vector >> 5) < 8 ? bit : 0;
            Accept((int)(vector >> 5), word, level ? bit : 0);
        }

        /// <summary>The processor priority (SDM 11.8.3.1): TPR, or the class of the highest vector in service if higher.</summary>
        public uint ProcessorPriority
        {
            get
            {
                int isrv = Highest(_isr);
                uint inService = isrv < 0 ? 0 : (uint)isrv & 0xF0;
                return (_tpr & 0xF0) >= inService ? _tpr & 0xFF : inService;
            }
        }

        /// <summary>
        /// The vector the APIC would present to the CPU now (SDM 11.8.3: the highest in the
        /// IRR whose priority class is above the PPR's), or -1.
        /// </summary>
        public int DeliverableVector
        {
            get
            {
                if (_irrCount == 0)
                    return -1;
                int irrv = Highest(_irr);
                if (irrv < 0 || ((uint)irrv & 0xF0) <= (ProcessorPriority & 0xF0))
                    return -1;
                return irrv;
            }
        }

        /// <summary>The CPU takes <paramref name="vector"/> (the hypervisor injected it): IRR to ISR (SDM 11.8.4).</summary>
        public void Acknowledge(int vector)
        {
            if ((_irr[vector >> 5] & 1u << (vector & 31)) != 0)
                _irrCount--;
            _irr[vector >> 5] &= ~(1u << (vector & 31));
            _isr[vector >> 5] |= 1u << (vector & 31);
        }

        // ---- The timer -----------------------------------------------------------------------

        /// <summary>The TSC value at which the timer next fires, or 0 when it is not armed.</summary>
        public ulong TimerDeadline => _timerDeadline;

        private uint TimerMode => _lvt[LvtTimer] & TimerModeMask;

        // TSC ticks per count: the input clock's divider times the divide configuration
        // (bits 3,1:0, SDM 11.5.4, figure 11-10: 2, 4, ..., 128, then 1).
        private ulong Divisor
        {
            get
            {
                uint code = (_divide & 3) | (_divide >> 1 & 4);
                return (code == 7 ? 1UL : 2UL << (int)code) * TscTicksPerCount;
            }
        }

        /// <summary>
        /// Fires the timer if its time has come (the caller calls this before entering the
        /// guest and when deciding whether a waiting vCPU may run): raises the LVT timer's
        /// vector unless it is masked, re-arms a periodic timer (skipping periods that passed
        /// unseen), and disarms the others. Returns true if it fired.
        /// </summary>
        public bool UpdateTimer(ulong now)
        {
            if (_timerDeadline == 0 || now < _timerDeadline)
                return false;
            if ((_lvt[LvtTimer] & LvtMasked) == 0 && Enabled)
                Raise(_lvt[LvtTimer] & 0xFF);
            if (TimerMode == TimerPeriodic && _timerPeriod != 0)
            {
                ulong late = now - _timerDeadline;
                _timerDeadline = now + _timerPeriod - late % _timerPeriod;
            }
            else
            {
                _timerDeadline = 0;
            }
            return true;
        }

        private void StartCount(ulong now)
        {
            _timerStart = now;
            _timerPeriod = _initialCount * Divisor;
            _timerDeadline = _initialCount == 0 || TimerMode == TimerTscDeadline ? 0 : now + _timerPeriod;
        }

        // Current count (SDM 11.5.4): counts down from the initial count at the divided rate;
        // 0 once a one-shot count has ended; a periodic one reloads.
        private uint CurrentCount(ulong now)
        {
            if (_initialCount == 0 || TimerMode == TimerTscDeadline || _timerPeriod == 0)
                return 0;
            ulong elapsed = now - _timerStart;
            if (TimerMode != TimerPeriodic && elapsed >= _timerPeriod)
                return 0;
            ulong intoPeriod = elapsed % _timerPeriod;
            return (uint)((_timerPeriod - intoPeriod + Divisor - 1) / Divisor);
        }

        // ---- MSR accesses ---------------------------------------------------------------------

        /// <summary>True for the MSRs this model answers: IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range.</summary>
        public static bool Handles(uint msr) => msr == MsrApicBase || msr == MsrTscDeadline || msr >= MsrFirst && msr <= MsrLast;

        /// <summary>RDMSR of an APIC register (SDM 11.12.1.2: in x2APIC mode only; write-only and absent registers fault).</summary>
        public ApicAccess ReadMsr(uint msr, ulong now, out ulong value)
        {
            value = 0;
            if (msr == MsrApicBase)
            {
                value = ApicBase;
                return ApicAccess.Done;
            }
            if (msr == MsrTscDeadline)
            {
                value = TimerMode == TimerTscDeadline ? _timerDeadline : 0;
                return ApicAccess.Done;
            }
            if (_mode != ApicMode.X2Apic)
                return ApicAccess.Fault;
            return ReadRegister(msr, now, out value);
        }

        /// <summary>
        /// A read of the xAPIC page at <paramref name="offset"/> (SDM 11.4.1, table 11-1):
        /// registers sit on 16-byte boundaries and are read 32 bits at a time. Nothing there
        /// reads all ones outside xAPIC mode (the page is not the APIC's then).
        /// </summary>
        public uint ReadMmio(ulong offset, ulong now)
        {
            if (_mode != ApicMode.XApic || offset >= PageSize || (offset & 0xF) != 0)
                return _mode == ApicMode.XApic ? 0 : 0xFFFFFFFF;
            uint register = MsrFirst + (uint)(offset >> 4);
            switch (register)
            {
                case Id: return ApicId << 24;
                case Ldr: return _xapicLdr;
                case DfrRegister: return _dfr;
                case Icr: return (uint)_icr;
                case IcrHighRegister: return (uint)(_icr >> 32);
                case ArbitrationPriority:
                case RemoteRead:
                case Eoi:
                    return 0;
            }
            return ReadRegister(register, now, out ulong value) == ApicAccess.Done ? (uint)value : 0;
        }

        private ApicAccess ReadRegister(uint msr, ulong now, out ulong value)
        {
            value = 0;
            switch (msr)
            {
                case Id: value = ApicId; break;
                case Version: value = VersionValue; break;
                case Tpr: value = _tpr; break;
                case Ppr: value = ProcessorPriority; break;
                case Ldr: value = LogicalId; break;
                case Svr: value = _svr; break;
                case Esr: value = _esr; break;
                case Icr: value = _icr; break;
                case InitialCountMsr: value = _initialCount; break;
                case CurrentCountMsr: value = CurrentCount(now); break;
                case DivideMsr: value = _divide; break;
                default:
                    if (msr >= IsrFirst && msr < IsrFirst + 8)
                        value = _isr[msr - IsrFirst];
                    else if (msr >= TmrFirst && msr < TmrFirst + 8)
                        value = _tmr[msr - TmrFirst];
                    else if (msr >= IrrFirst && msr < IrrFirst + 8)
                        value = _irr[msr - IrrFirst];
                    else if (msr >= LvtTimerMsr && msr <= LvtErrorMsr)
                        value = _lvt[msr - LvtTimerMsr];
                    else
                        return ApicAccess.Fault; // EOI and SELF IPI are write-only; the rest does not exist
                    break;
            }
            return ApicAccess.Done;
        }

        /// <summary>
        /// WRMSR of an APIC register. An IPI the write sends comes back in <paramref name="ipi"/>
        /// with its shorthand (the caller routes it among the partition's vCPUs, this one
        /// included); an EOI of a level-triggered vector comes back in
        /// <paramref name="levelEoiVector"/> (the caller tells the I/O APIC), else -1.
        /// </summary>
        public ApicAccess WriteMsr(uint msr, ulong value, ulong now, out InterruptMessage ipi, out IpiShorthand shorthand, out bool sendsIpi, out int levelEoiVector)
        {
            ipi = default;
            shorthand = IpiShorthand.None;
            sendsIpi = false;
            levelEoiVector = -1;
            if (msr == MsrApicBase)
                return WriteApicBase(value);
            if (msr == MsrTscDeadline)
            {
                // Ignored unless the timer is in TSC-deadline mode; 0 disarms (SDM 11.5.4.1).
                if (TimerMode == TimerTscDeadline)
                    _timerDeadline = value;
                return ApicAccess.Done;
            }
            if (_mode != ApicMode.X2Apic)
                return ApicAccess.Fault;
            if (msr == Icr)
                return WriteIcr(value, x2apic: true, out ipi, out shorthand, out sendsIpi);
            return WriteRegister(msr, value, now, out levelEoiVector);
        }

        /// <summary>
        /// A write to the xAPIC page (32 bits at a 16-byte boundary). Writes a register cannot
        /// take are ignored, as the memory-mapped APIC ignores them; outputs as for
        /// <see cref="WriteMsr"/>. A write to ICR low sends the IPI, with ICR high's destination.
        /// </summary>
        public void WriteMmio(ulong offset, uint value, ulong now, out InterruptMessage ipi, out IpiShorthand shorthand, out bool sendsIpi, out int levelEoiVector)
        {
            ipi = default;
            shorthand = IpiShorthand.None;
            sendsIpi = false;
            levelEoiVector = -1;
            if (_mode != ApicMode.XApic || offset >= PageSize || (offset & 0xF) != 0)
                return;
            uint register = MsrFirst + (uint)(offset >> 4);
            switch (register)
            {
                case Id:
                    return; // read-only here: the ID is the vCPU's index
                case Ldr:
                    _xapicLdr = value & 0xFF000000;
                    return;
                case DfrRegister:
                    _dfr = value | 0x0FFFFFFF;
                    return;
                case IcrHighRegister:
                    _icr = (_icr & 0xFFFFFFFF) | (ulong)(value & 0xFF000000) << 32;
                    return;
                case Icr:
                    // Reserved and read-only bits of ICR low are ignored, not faults, here.
                    WriteIcr((_icr & 0xFFFFFFFF_00000000UL) | (value & 0x000C_CFFFu), x2apic: false, out ipi, out shorthand, out sendsIpi);
                    return;
                case Eoi:
                    levelEoiVector = EndOfInterrupt(); // any value (SDM 11.8.5)
                    return;
                case Esr:
                    WriteRegister(Esr, 0, now, out _);
                    return;
                case Svr:
                    WriteRegister(Svr, value & 0x3FF, now, out _);
                    return;
                case SelfIpi:
                    return; // x2APIC only
            }
            WriteRegister(register, value, now, out levelEoiVector);
        }

        // SDM 11.12.5, figure 11-27: disabled <-> xAPIC, xAPIC -> x2APIC, x2APIC -> disabled; x2APIC
        // -> xAPIC directly, EXTD without EN, another base or reserved bits fault. Disabling
        // resets the APIC (11.4.3).
        private ApicAccess WriteApicBase(ulong value)
        {
            const ulong fixedBits = DefaultBase | ApicBaseBsp;
            if ((value & ~(ApicBaseEnable | ApicBaseExtd)) != (Bootstrap ? fixedBits : DefaultBase))
                return ApicAccess.Fault;
            bool enable = (value & ApicBaseEnable) != 0, extended = (value & ApicBaseExtd) != 0;
            ApicMode next = !enable ? (extended ? (ApicMode)(-1) : ApicMode.Disabled) : extended ? ApicMode.X2Apic : ApicMode.XApic;
            if ((int)next < 0 || _mode == ApicMode.X2Apic && next == ApicMode.XApic || _mode == ApicMode.Disabled && next == ApicMode.X2Apic)
                return ApicAccess.Fault;
            if (next == ApicMode.Disabled && _mode != ApicMode.Disabled)
                Reset();
            _mode = next;
            return ApicAccess.Done;
        }

        private ApicAccess WriteRegister(uint msr, ulong value, ulong now, out int levelEoiVector)
        {
            levelEoiVector = -1;
            switch (msr)
            {
                case Tpr:
                    if (value > 0xFF)
                        return ApicAccess.Fault;
                    _tpr = (uint)value;
                    return ApicAccess.Done;
                case Eoi:
                    if (value != 0)
                        return ApicAccess.Fault;
                    levelEoiVector = EndOfInterrupt();
                    return ApicAccess.Done;
                case Svr:
                    // Bits 7:0 vector, 8 enable, 9 focus processor checking; 12 (EOI-broadcast suppression) is not offered.
                    if ((value & ~0x3FFUL) != 0)
                        return ApicAccess.Fault;
                    _svr = (uint)value;
                    if (!Enabled)
                        for (int i = 0; i < LvtCount; i++)
                            _lvt[i] |= LvtMasked;
                    return ApicAccess.Done;
                case Esr:
                    // A write (of 0) latches the errors seen since the last one (SDM 11.5.3).
                    if (value != 0)
                        return ApicAccess.Fault;
                    _esr = _pendingEsr;
                    _pendingEsr = 0;
                    return ApicAccess.Done;
                case InitialCountMsr:
                    if (value > uint.MaxValue)
                        return ApicAccess.Fault;
                    // Ignored in TSC-deadline mode (SDM 11.5.4.1).
                    if (TimerMode != TimerTscDeadline)
                    {
                        _initialCount = (uint)value;
                        StartCount(now);
                    }
                    return ApicAccess.Done;
                case DivideMsr:
                    if ((value & ~0xBUL) != 0)
                        return ApicAccess.Fault;
                    _divide = (uint)value;
                    return ApicAccess.Done;
                case SelfIpi:
                    if (value > 0xFF)
                        return ApicAccess.Fault;
                    if (value < 16)
                        Error(EsrSendIllegalVector);
                    else
                        Raise((uint)value);
                    return ApicAccess.Done;
            }
            if (msr >= LvtTimerMsr && msr <= LvtErrorMsr)
                return WriteLvt((int)(msr - LvtTimerMsr), value, now);
            return ApicAccess.Fault; // read-only (ID, version, PPR, LDR, ISR, TMR, IRR, current count) or absent
        }

        // Writable LVT bits (SDM figure 11-8): vector, delivery mode (LINT0/1, thermal, PMI),
        // polarity and trigger (LINT0/1), mask, timer mode (timer). Delivery status and remote
        // IRR (LINT0/1) are read-only; the other bits are reserved: an xAPIC write ignores them,
        // an x2APIC WRMSR that sets one faults (SDM 11.12.1.3).
        private ApicAccess WriteLvt(int index, ulong value, ulong now)
        {
            if (value > uint.MaxValue)
                return ApicAccess.Fault;
            bool lint = index == 3 || index == 4;
            uint writable = index == LvtTimer ? 0x000700FFu : lint ? 0x0001A7FFu : index == LvtError ? 0x000100FFu : 0x000107FFu;
            uint readOnly = 1u << 12 | (lint ? 1u << 14 : 0);
            if (_mode == ApicMode.X2Apic && ((uint)value & ~(writable | readOnly)) != 0)
                return ApicAccess.Fault;
            uint v = (uint)value & writable;
            if (!Enabled)
                v |= LvtMasked;
            uint oldMode = TimerMode;
            _lvt[index] = v;
            if (index == LvtTimer && oldMode != TimerMode)
            {
                // "A write to the LVT Timer Register that changes the timer mode disarms the
                // local APIC timer" (SDM 11.5.4.1): a new initial count (or deadline) arms it again.
                _timerDeadline = 0;
                _timerPeriod = 0;
            }
            return ApicAccess.Done;
        }

        // The x2APIC ICR is one 64-bit register (SDM 11.12.9): destination 63:32, shorthand
        // 19:18, trigger 15, level 14, destination mode 11, delivery mode 10:8, vector 7:0;
        // the other bits are reserved and writing them faults.
        private ApicAccess WriteIcr(ulong value, bool x2apic, out InterruptMessage ipi, out IpiShorthand shorthand, out bool sends)
        {
            ipi = default;
            shorthand = IpiShorthand.None;
            sends = false;
            const ulong reserved = 0x0000_0000_FFF3_3000UL;
            if ((value & reserved) != 0)
                return ApicAccess.Fault;
            _icr = value;
            var mode = (DeliveryMode)(value >> 8 & 7);
            byte vector = (byte)value;
            bool level = (value & 1UL << 15) != 0;
            bool assert = (value & 1UL << 14) != 0;
            shorthand = (IpiShorthand)(value >> 18 & 3);
            if (mode == DeliveryMode.Init && level && !assert)
                return ApicAccess.Done; // INIT level de-assert: nothing to deliver
            if ((mode == DeliveryMode.Fixed || mode == DeliveryMode.LowestPriority) && vector < 16)
            {
                Error(EsrSendIllegalVector);
                return ApicAccess.Done;
            }
            if (mode == DeliveryMode.Smi || mode == DeliveryMode.ExtInt || (int)mode == 3)
                return ApicAccess.Done; // not sent: partitions have no SMM, and 3 is reserved
            // xAPIC: an 8-bit destination in ICR high bits 31:24 (here 63:56).
            uint destination = x2apic ? (uint)(value >> 32) : (uint)(value >> 56);
            ipi = new InterruptMessage(vector, mode, (value & 1UL << 11) != 0, destination, level && mode == DeliveryMode.Fixed);
            sends = true;
            return ApicAccess.Done;
        }

        /// <summary>
        /// EOI: the highest vector in service is done (SDM 11.8.5). Returns that vector if it
        /// was level-triggered (the I/O APIC must hear of it), else -1.
        /// </summary>
        private int EndOfInterrupt()
        {
            int vector = Highest(_isr);
            if (vector < 0)
                return -1;
            uint bit = 1u << (vector & 31);
            _isr[vector >> 5] &= ~bit;
            return (_tmr[vector >> 5] & bit) != 0 ? vector : -1;
        }

        /// <summary>
        /// Whether this APIC is addressed by a destination (SDM 11.6.2, 11.12.10), as its mode
        /// reads one. x2APIC: physical matches the ID, logical the cluster (31:16) and a bit of
        /// the members (15:0); 0xFFFFFFFF is all. xAPIC: 8 bits; physical matches the ID,
        /// logical the LDR in the DFR's flat model (a bit in common) or cluster model (the high
        /// nibble equal, a bit of the low one in common); 0xFF is all.
        /// </summary>
        public bool IsAddressedBy(uint destination, bool logical)
        {
            if (_mode == ApicMode.X2Apic)
            {
                if (destination == 0xFFFFFFFF)
                    return true;
                if (!logical)
                    return destination == ApicId;
                uint mine = LogicalId;
                return (destination >> 16) == (mine >> 16) && (destination & mine & 0xFFFF) != 0;
            }
            if (_mode == ApicMode.Disabled)
                return false;
            if ((destination & 0xFF) == 0xFF)
                return true;
            if (!logical)
                return (destination & 0xFF) == ApicId;
            uint ldr = _xapicLdr >> 24;
            if ((_dfr >> 28) == 0xF)
                return (destination & ldr & 0xFF) != 0;
            return (destination >> 4 & 0xF) == (ldr >> 4) && (destination & ldr & 0xF) != 0;
        }

        // ---- Bit helpers ----------------------------------------------------------------------

        private static int BitCount(uint word)
        {
            int count = 0;
            for (; word != 0; word &= word - 1)
                count++;
            return count;
        }

        private static int Highest(uint[] bits)
        {
            for (int i = 7; i >= 0; i--)
            {
                uint word = bits[i];
                if (word == 0)
                    continue;
                int bit = 31;
                while ((word & (1u << bit)) == 0)
                    bit--;
                return i * 32 + bit;
            }
            return -1;
        }

        private static void SetBit(long[] bits, byte vector)
        {
            fixed (long* word = &bits[vector >> 6])
            {
                long bit = 1L << (vector & 63);
                long old;
                do
                    old = *word;
                while (Cpu.CompareExchange(word, old | bit, old) != old);
            }
        }

        private void OrEvents(long events)
        {
            fixed (long* word = &_incomingEvents)
            {
                long old;
                do
                    old = *word;
                while (Cpu.CompareExchange(word, old | events, old) != old);
            }
        }

        // A start-up IPI is posted only if none waits: the first one starts the CPU, and a later
        // one finds it running and is ignored (SDM Vol. 3A, 9.4.4.1), so vectors never mix.
        private void PostStartup(byte vector)
        {
            fixed (long* word = &_incomingEvents)
            {
                long old;
                do
                {
                    old = *word;
                    if ((old & EventStartup) != 0)
                        return;
                }
                while (Cpu.CompareExchange(word, old | EventStartup | (long)vector << StartupVectorShift, old) != old);
            }
        }

        private static long Exchange(ref long location)
        {
            fixed (long* word = &location)
            {
                long old;
                do
                    old = *word;
                while (old != 0 && Cpu.CompareExchange(word, 0, old) != old);
                return old;
            }
        }
    }
}
