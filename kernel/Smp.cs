using System;
using Partition.Configs;

namespace Partition.Kernel
{
    /// <summary>
    /// The other CPUs: started with INIT-SIPI-SIPI (SDM Vol. 3A, 8.4.4), each with its own
    /// stack, GDT, TSS, IDT and VMXON region (all allocated here by the boot CPU before it is
    /// started), entering VMX root operation, then waiting for the partitions of its core. CPU
    /// index = position in the MADT, the boot CPU being 0; a core in the config is a CPU index.
    /// </summary>
    public static unsafe class Smp
    {
        public const int MaxCpus = 16;
        private const int StackSize = 64 * 1024;
        private const long Offline = 0, Online = 1, Failed = 2, WorkPosted = 3, WorkDone = 4;

        private static readonly ProcessorTables[] s_tables = new ProcessorTables[MaxCpus];
        private static readonly ulong[] s_vmxonRegions = new ulong[MaxCpus];
        private static readonly uint[] s_apicIds = new uint[MaxCpus];
        private static readonly long[] s_state = new long[MaxCpus];
        private static readonly uint[] s_svr = new uint[MaxCpus];
        private static VmxCapabilities s_capabilities;
        private static int s_count = 1;

        /// <summary>CPUs known (the boot CPU and every AP that was tried).</summary>
        public static int CpuCount => s_count;

        public static bool IsOnline(int cpu) => cpu == 0 || Read(cpu) >= Online && Read(cpu) != Failed;

        public static ProcessorTables TablesOf(int cpu) => s_tables[cpu];

        /// <summary>The index of the CPU executing this (its APIC ID looked up; 0 before the APs start).</summary>
        public static int CurrentCpu
        {
            get
            {
                uint id = (uint)Cpu.CurrentApicId();
                for (int cpu = 0; cpu < s_count; cpu++)
                    if (s_apicIds[cpu] == id)
                        return cpu;
                return 0;
            }
        }

        public static uint ApicIdOf(int cpu) => s_apicIds[cpu];

        /// <summary>
        /// For the host tests on the software VMX model: CPUs 0..count-1 are online (each with
        /// its own tables), without starting anything.
        /// </summary>
        internal static void AssumeOnline(int count, ProcessorTables bootTables)
        {
            s_tables[0] = bootTables;
            for (int cpu = 0; cpu < count; cpu++)
            {
                if (cpu > 0)
                    s_tables[cpu] = new ProcessorTables(cpu);
                s_apicIds[cpu] = (uint)cpu;
                s_state[cpu] = Online;
            }
            s_count = count;
        }

        /// <summary>Starts every processor of <paramref name="apicIds"/> but the boot CPU, one at a time.</summary>
        public static void StartAll(uint* apicIds, int count, ProcessorTables bootTables, VmxCapabilities capabilities)
        {
            s_capabilities = capabilities;
            s_tables[0] = bootTables;
            uint self = (uint)Cpu.CurrentApicId();
            s_apicIds[0] = self;
            s_state[0] = Online;
            Lapic.Enable();
            ulong* info = stackalloc ulong[8];
            Cpu.ApTrampolineInfo(info);
            // Copy the trampoline to its page below 1 MiB (left out of the free memory ranges).
            byte* source = (byte*)info[0];
            byte* page = (byte*)info[7];
            for (ulong i = 0; i < info[1] - info[0]; i++)
                page[i] = source[i];

            int next = 1;
            for (int i = 0; i < count && next < MaxCpus; i++)
            {
                if (apicIds[i] == self)
                    continue;
                int cpu = next++;
                s_apicIds[cpu] = apicIds[i];
                s_tables[cpu] = new ProcessorTables(cpu);
                s_vmxonRegions[cpu] = VmxRoot.AllocateRegion(capabilities);
                byte[] stack = new byte[StackSize];
                fixed (byte* bottom = stack)
                    *(ulong*)(page + info[3]) = (ulong)(bottom + StackSize) & ~0xFUL;
                *(ulong*)(page + info[2]) = Cpu.ReadCr3();
                *(ulong*)(page + info[4]) = info[6];
                *(ulong*)(page + info[5]) = (ulong)cpu;
                Start(cpu, (uint)((ulong)page >> 12));
            }
            s_count = next;
        }

        private static void Start(int cpu, uint vector)
        {
            uint apicId = s_apicIds[cpu];
            Lapic.SendInit(apicId);
            Delay(10000);
            for (int attempt = 0; attempt < 2 && Read(cpu) == Offline; attempt++)
            {
                Lapic.SendStartup(apicId, vector);
                Delay(attempt == 0 ? 200UL : 1000UL);
            }
            ulong until = Tsc.Now + Tsc.FromMicroseconds(200000);
            while (Read(cpu) == Offline && Tsc.Now < until)
                Cpu.Pause();
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write("CPU ");
            HypervisorConsole.WriteDecimal((ulong)cpu);
            HypervisorConsole.Write(" (APIC ID ");
            HypervisorConsole.WriteDecimal((ulong)apicId);
            long state = Read(cpu);
            HypervisorConsole.Write(", local APIC SVR ");
            HypervisorConsole.WriteHex(s_svr[cpu], 3);
            HypervisorConsole.WriteLine(state == Online ? "): online, in VMX root operation"
                : state == Failed ? "): started but could not enter VMX root operation; left out"
                : "): did not start; left out");
            HypervisorConsole.EndLine();
        }

        /// <summary>Runs on each AP, on its own stack, called by the trampoline.</summary>
        public static void ApMain(int cpu)
        {
            s_tables[cpu].Install();
            Lapic.Enable();
            s_svr[cpu] = Lapic.SpuriousVectorRegister;
            VmxEnableError error = VmxRoot.EnterWithRegion(s_capabilities, s_vmxonRegions[cpu]);
            XsaveSupport.EnableOnThisCpu();
            Write(cpu, error == VmxEnableError.None ? Online : Failed);
            if (error != VmxEnableError.None)
                Machine.Halt();
            while (true)
            {
                while (Read(cpu) != WorkPosted)
                    Cpu.Pause();
                CoreRunner.Of(cpu).Run();
                Write(cpu, WorkDone);
            }
        }

        /// <summary>
        /// Runs every partition on its configured core: each AP's runner in parallel, core 0's
        /// here; returns when all have finished. Partitions on a core that is not online are
        /// stopped before anything runs.
        /// </summary>
        public static void RunPartitions(VirtualMachine[] machines, ScheduleConfig[] schedules, ulong deadline)
        {
            foreach (var vm in machines)
                foreach (var vcpu in vm.Vcpus)
                    if (vcpu.Core != 0 && !IsOnline(vcpu.Core))
                        PartitionHost.Stop(vm, "a core of its vCPUs is not online");
            CoreRunner.Prepare(machines, s_count, schedules, deadline);
            // Everything is allocated by now: what guests do must not make the heap, which is
            // never freed, grow (the attack suite asserts the figure printed at the end).
            long heapBefore = GC.GetTotalAllocatedBytes();
            for (int cpu = 1; cpu < s_count; cpu++)
                if (IsOnline(cpu))
                    Write(cpu, WorkPosted);
            CoreRunner.Of(0).Run();
            for (int cpu = 1; cpu < s_count; cpu++)
                while (Read(cpu) == WorkPosted)
                    Cpu.Pause();
            long heapAfter = GC.GetTotalAllocatedBytes();
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write("Hypervisor heap: ");
            HypervisorConsole.WriteDecimal((ulong)(heapAfter - heapBefore));
            HypervisorConsole.Write(" bytes allocated while the partitions ran, ");
            HypervisorConsole.WriteSize((ulong)heapAfter);
            HypervisorConsole.WriteLine(" in use");
            HypervisorConsole.EndLine();
        }

        private static void Delay(ulong microseconds)
        {
            ulong until = Tsc.Now + Tsc.FromMicroseconds(microseconds);
            while (Tsc.Now < until)
                Cpu.Pause();
        }

        private static long Read(int cpu)
        {
            fixed (long* state = &s_state[cpu])
                return Cpu.CompareExchange(state, 0, 0);
        }

        private static void Write(int cpu, long value)
        {
            fixed (long* state = &s_state[cpu])
                Cpu.CompareExchange(state, value, *state);
        }
    }
}
