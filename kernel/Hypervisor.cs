using System;
using Partition.Configs;
using Partition.Memory;

namespace Partition.Kernel
{
    /// <summary>The boot sequence of the hypervisor on the boot CPU.</summary>
    public static unsafe class Hypervisor
    {
        public const string Version = "0.1";

        private static KernelCommandLine s_commandLine;
        private static Firmware s_firmware;

        // A decimal number from the command line.
        private static bool TryParseDecimal(string text, out ulong value)
        {
            value = 0;
            if (string.IsNullOrEmpty(text))
                return false;
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] < '0' || text[i] > '9' || value > ulong.MaxValue / 10 - 10)
                    return false;
                value = value * 10 + (ulong)(text[i] - '0');
            }
            return true;
        }

        public static void Boot(byte* multiboot2Information)
        {
            Machine.BootTsc = Tsc.Now;
            HypervisorConsole.Initialize();
            HypervisorConsole.Write("Partition hypervisor ");
            HypervisorConsole.Write(Version);
            HypervisorConsole.WriteLine(" (x86-64, Intel VT-x)");

            uint informationSize = *(uint*)multiboot2Information;
            if (!BootInformation.TryParse(new ReadOnlySpan<byte>(multiboot2Information, (int)informationSize), out var boot, out string error))
                Panic.Stop("Multiboot2 boot information", error);
            var commandLine = new KernelCommandLine(boot.CommandLine);
            s_commandLine = commandLine;
            Machine.PowerOffWhenStopped = commandLine.Is("exit", "poweroff");
            HypervisorConsole.PartitionLineTimestamps = commandLine.Is("timestamps", "on");
            PrintBootInformation(boot);

            var tables = new ProcessorTables(0);
            tables.Install();
            HypervisorConsole.WriteLine("CPU 0: GDT, TSS and IDT installed (exceptions are reported, #DF/NMI/#MC on their own stack)");

            InitializePhysicalMemory(boot, (ulong)multiboot2Information, informationSize);
            Tsc.Calibrate();
            HypervisorConsole.Write("TSC: ");
            HypervisorConsole.WriteDecimal(Tsc.TicksPerMillisecond);
            HypervisorConsole.WriteLine(" ticks per ms (measured against the PIT)");
            // The machine's clock, read once with the TSC calibrated: the partitions' RTCs start from it.
            WallClock.Initialize();
            WallClock.Print();

            if (commandLine.Is("selftest", "runtime"))
            {
                int failed = RuntimeSelfTest.Run(out int passed);
                HypervisorConsole.Write("Runtime self-test: ");
                HypervisorConsole.WriteDecimal((ulong)passed);
                HypervisorConsole.Write(" passed, ");
                HypervisorConsole.WriteDecimal((ulong)failed);
                HypervisorConsole.WriteLine(" failed");
            }

            string fault = commandLine.Get("fault");
            if (fault != null)
                FaultInjection.Trigger(fault);

            LegacyPic.Silence();
            uint[] apicIds = FindProcessors(boot, multiboot2Information);
            var capabilities = EnterVmxRoot();
            PartitionHost.Initialize(capabilities, tables);
            // With one processor too: it records the boot CPU's APIC ID and enables its local APIC.
            fixed (uint* ids = apicIds)
                Smp.StartAll(ids, apicIds.Length, tables, capabilities);
            ArmConsoleInterrupt(boot, multiboot2Information);
            RunConfiguredPartitions(boot, Smp.CpuCount);

            HypervisorConsole.WriteLine(Machine.PowerOffWhenStopped
                ? "Nothing left to run; powering off (exit=poweroff)"
                : "Nothing left to run; CPU 0 halts");
            Machine.Stop();
        }

        /// <summary>Validates the configuration module against this machine, then creates and runs its partitions.</summary>
        private static void RunConfiguredPartitions(BootInformation boot, int cpuCount)
        {
            int configModule = BootConfiguration.FindConfigModule(boot.Modules);
            if (configModule < 0)
            {
                HypervisorConsole.WriteLine("No partition configuration module ('partition-config'): no partitions to run");
                return;
            }
            var module = boot.Modules[configModule];
            var config = BootConfiguration.Validate(new ReadOnlySpan<byte>((void*)module.Start, (int)module.Size),
                new MachineFacts(cpuCount, boot.MemoryMap, boot.Modules, modulesInMemory: true));
            BootConfiguration.Print(config);
            if (config.Configuration == null)
                return;
            var machines = PartitionHost.CreateFromConfiguration(config, boot.Modules, s_firmware, 0);
            if (machines.Length == 0)
                return;
            foreach (var vm in machines)
                if (vm.HostAcpi != null && vm.HostAcpi.IoApics[0].GsiBase == 0)
                    PhysicalInterrupts.Attach(vm, vm.HostAcpi.IoApics[0], vm.VirtualDevicePins);
            foreach (var scriptModule in boot.Modules)
                if (scriptModule.CommandLine == Management.ScriptModule)
                    Management.LoadScript(new ReadOnlySpan<byte>((void*)scriptModule.Start, (int)scriptModule.Size));
            CoreRunner.ClearBasedSwitch = s_commandLine.Is("switch", "clear");
            if (s_commandLine.Is("trace", "on"))
                ScheduleTrace.Start(Smp.CpuCount);
            if (s_commandLine.Is("exitprofile", "on"))
                ExitProfile.Enable(cpuCount);
            // The partitions' start, one instant on the TSC's clock (power-on is 0) that the
            // script's times, stop_after_ms and the trace's timeline all count from; before it,
            // what the firmware, the boot loader and the hypervisor's own start took.
            ulong start = Tsc.Now;
            ulong deadline = 0;
            if (TryParseDecimal(s_commandLine.Get("stop_after_ms"), out ulong milliseconds))
                deadline = start + milliseconds * Tsc.TicksPerMillisecond;
            Management.Start(machines, start);
            HypervisorConsole.Write("Partitions start ");
            HypervisorConsole.WriteDecimal(start / Tsc.TicksPerMillisecond);
            HypervisorConsole.WriteLine(" ms after power-on (TSC)");
            Smp.RunPartitions(machines, config.Configuration.Schedules, deadline);
            // The last word on the run says what the summaries above say.
            ulong runnable = 0;
            foreach (var vm in machines)
                if (vm.State == VirtualMachineState.Runnable)
                    runnable++;
            if (runnable == 0)
            {
                HypervisorConsole.WriteLine("Run over: all partitions have halted or stopped");
            }
            else
            {
                HypervisorConsole.Write("Run over: the time limit (stop_after_ms) came with ");
                HypervisorConsole.WriteDecimal(runnable);
                HypervisorConsole.WriteLine(runnable == 1 ? " partition still runnable" : " partitions still runnable");
            }
            ScheduleTrace.Dump(start);
        }

        /// <summary>
        /// Typed console input by interrupt where the MADT says where COM1's IRQ arrives, unless
        /// the command line says "console=poll" (a board whose COM1 has no interrupt wired).
        /// </summary>
        private static void ArmConsoleInterrupt(BootInformation boot, byte* information)
        {
            byte* rsdp = Rsdp(boot, information);
            if (s_commandLine.Is("console", "poll"))
                HypervisorConsole.WriteLine("Console input: polled (console=poll)");
            else if (!Acpi.FindIsaRoute(rsdp, ConsoleInterrupt.Com1Irq, out var route))
                HypervisorConsole.WriteLine("Console input: polled (no MADT or I/O APIC to route its interrupt)");
            else
                ConsoleInterrupt.Arm(route, Smp.ApicIdOf(0));
        }

        // ACPI's RSDP as the boot loader copied it into the boot information, or null.
        private static byte* Rsdp(BootInformation boot, byte* information) =>
            boot.AcpiRsdpOffset == 0 ? null : information + boot.AcpiRsdpOffset;

        /// <summary>APIC IDs of the processors in ACPI's MADT; without one, only the boot CPU is known.</summary>
        private static uint[] FindProcessors(BootInformation boot, byte* information)
        {
            uint* apicIds = stackalloc uint[Acpi.MaxProcessors];
            int count = Acpi.FindProcessors(Rsdp(boot, information), apicIds, Acpi.MaxProcessors);
            HypervisorConsole.Write("ACPI MADT: ");
            if (count == 0)
            {
                count = MpTable.FindProcessors(apicIds, Acpi.MaxProcessors);
                HypervisorConsole.Write("not found; MP table: ");
            }
            if (count == 0)
            {
                HypervisorConsole.WriteLine("not found either; assuming the boot CPU alone");
                return new uint[] { (uint)Cpu.CurrentApicId() };
            }
            HypervisorConsole.WriteDecimal((ulong)count);
            HypervisorConsole.Write(" processor(s), APIC IDs");
            for (int i = 0; i < count; i++)
            {
                HypervisorConsole.Write(" ");
                HypervisorConsole.WriteDecimal((ulong)apicIds[i]);
            }
            HypervisorConsole.WriteLine();
            var result = new uint[count];
            for (int i = 0; i < count; i++)
                result[i] = apicIds[i];
            return result;
        }

        private static VmxCapabilities EnterVmxRoot()
        {
            if (!VmxRoot.IsSupported())
            {
                HypervisorConsole.Write(VmxRoot.Describe(VmxEnableError.NotSupported));
                HypervisorConsole.WriteLine(": Partition needs Intel VT-x. Powering off.");
                Machine.PowerOff();
            }
            var capabilities = VmxCapabilities.Read();
            capabilities.Print();
            VmxEnableError result = VmxRoot.Enter(capabilities, out ulong vmxonRegion);
            if (result != VmxEnableError.None)
            {
                HypervisorConsole.Write("VMX root operation not entered on CPU 0: ");
                HypervisorConsole.WriteLine(VmxRoot.Describe(result));
                Machine.PowerOff();
            }
            HypervisorConsole.Write("VMX root operation entered on CPU 0 (VMXON region at ");
            HypervisorConsole.WriteHex(vmxonRegion, 8);
            HypervisorConsole.Write(", CR0=");
            HypervisorConsole.WriteHex(Cpu.ReadCr0(), 8);
            HypervisorConsole.Write(", CR4=");
            HypervisorConsole.WriteHex(Cpu.ReadCr4(), 8);
            HypervisorConsole.WriteLine(")");
            return capabilities;
        }

        private static void PrintBootInformation(BootInformation boot)
        {
            HypervisorConsole.Write("Boot: loader '");
            HypervisorConsole.Write(boot.BootLoaderName);
            HypervisorConsole.Write("', command line '");
            HypervisorConsole.Write(boot.CommandLine);
            HypervisorConsole.WriteLine("'");
            HypervisorConsole.Write("Memory map: ");
            HypervisorConsole.WriteDecimal((ulong)boot.MemoryMap.Length);
            HypervisorConsole.Write(" regions, ");
            HypervisorConsole.WriteSize(boot.AvailableMemory);
            HypervisorConsole.WriteLine(" available");
            foreach (var region in boot.MemoryMap)
            {
                HypervisorConsole.Write("  ");
                HypervisorConsole.WriteHex(region.Start, 12);
                HypervisorConsole.Write("-");
                HypervisorConsole.WriteHex(region.End, 12);
                HypervisorConsole.Write(" ");
                HypervisorConsole.WriteLine(RegionTypeName(region.Type));
            }
            HypervisorConsole.Write("Modules: ");
            HypervisorConsole.WriteDecimal((ulong)boot.Modules.Length);
            HypervisorConsole.WriteLine();
            foreach (var module in boot.Modules)
            {
                HypervisorConsole.Write("  ");
                HypervisorConsole.WriteHex(module.Start, 8);
                HypervisorConsole.Write(" ");
                HypervisorConsole.WriteDecimal(module.Size);
                HypervisorConsole.Write(" bytes '");
                HypervisorConsole.Write(module.CommandLine);
                HypervisorConsole.WriteLine("'");
            }
        }

        private static void InitializePhysicalMemory(BootInformation boot, ulong information, uint informationSize)
        {
            // What the host partition is given of the machine's description; the RSDP copied,
            // since the boot information's memory is not kept forever.
            byte[] rsdp = new byte[0];
            if (boot.AcpiRsdpOffset != 0 && boot.AcpiRsdpLength > 0 && boot.AcpiRsdpLength <= 64)
                rsdp = new ReadOnlySpan<byte>((void*)(information + (ulong)boot.AcpiRsdpOffset), boot.AcpiRsdpLength).ToArray();
            s_firmware = new Firmware(boot.MemoryMap, new PhysicalRange(information, information + informationSize), rsdp);
            Span<PhysicalRange> reserved = stackalloc PhysicalRange[boot.Modules.Length + 2];
            reserved[0] = new PhysicalRange(0x100000, Cpu.ImageEnd());
            reserved[1] = new PhysicalRange(information, information + informationSize);
            for (int i = 0; i < boot.Modules.Length; i++)
                reserved[i + 2] = new PhysicalRange(boot.Modules[i].Start, boot.Modules[i].End);
            var memory = PhysicalMemory.Create(boot.MemoryMap, reserved);
            PageAllocator.Initialize(memory);
            HypervisorConsole.Write("Physical memory: ");
            HypervisorConsole.WriteSize(memory.TotalFree);
            HypervisorConsole.Write(" free in ");
            HypervisorConsole.WriteDecimal((ulong)memory.FreeRangeCount);
            HypervisorConsole.Write(" ranges (image ends at ");
            HypervisorConsole.WriteHex(Cpu.ImageEnd(), 8);
            HypervisorConsole.WriteLine(")");
        }

        private static string RegionTypeName(MemoryRegionType type) => type switch
        {
            MemoryRegionType.Available => "available",
            MemoryRegionType.Reserved => "reserved",
            MemoryRegionType.AcpiReclaimable => "ACPI reclaimable",
            MemoryRegionType.AcpiNvs => "ACPI NVS",
            MemoryRegionType.Defective => "defective",
            _ => "unknown type",
        };
    }
}
