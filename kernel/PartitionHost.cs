using System;
using Partition.Configs;

namespace Partition.Kernel
{
    /// <summary>
    /// Creates the partitions the configuration describes and runs them on the boot CPU, one
    /// after another, each until it halts or is stopped; then prints each partition's exit
    /// counts by reason. (Time-slicing and the other CPUs come with the scheduler.)
    /// </summary>
    public static unsafe class PartitionHost
    {
        public static VmxCapabilities Capabilities { get; private set; }
        public static ProcessorTables HostTables { get; private set; }

        private static readonly string[] s_violations = new string[EntryChecks.MaxViolations];

        public static void Initialize(VmxCapabilities capabilities, ProcessorTables hostTables)
        {
            Capabilities = capabilities;
            HostTables = hostTables;
        }

        /// <summary>
        /// Creates the partitions of a validated configuration. A partition with configuration
        /// errors, a form the hypervisor cannot run yet, or no room is reported and left out;
        /// the others are created.
        /// </summary>
        public static VirtualMachine[] CreateFromConfiguration(ConfigResult config, BootModule[] modules, int cpu)
        {
            var partitions = config.Configuration.Partitions;
            var machines = new VirtualMachine[partitions.Length];
            int created = 0;
            for (int i = 0; i < partitions.Length; i++)
            {
                var partition = partitions[i];
                if (!config.CanStart(i))
                    continue; // BootConfiguration.Print has named its errors
                string error;
                GuestModule[] guestModules = null;
                if (!PartitionSpec.TryFromConfig(partition, out var spec, out error)
                    || !TryFindImage(partition.Boot.Kernel, modules, out var image, out error)
                    || !TryFindModules(partition, modules, out guestModules, out error)
                    || !VirtualMachine.TryCreate(spec, new ReadOnlySpan<byte>((void*)image.Start, (int)image.Size), guestModules,
                        Capabilities, HostTables, cpu, out var vm, out error))
                {
                    HypervisorConsole.Write("Partition ");
                    HypervisorConsole.Write(partition.Name);
                    HypervisorConsole.Write(" left out: ");
                    HypervisorConsole.WriteLine(error);
                    continue;
                }
                machines[created++] = vm;
                PrintCreated(vm);
            }
            var result = new VirtualMachine[created];
            for (int i = 0; i < created; i++)
                result[i] = machines[i];
            return result;
        }

        // A Multiboot kernel's own modules, each with the command line the config gives it.
        private static bool TryFindModules(PartitionConfig partition, BootModule[] modules, out GuestModule[] guestModules, out string error)
        {
            var wanted = partition.Boot.Modules;
            guestModules = new GuestModule[wanted.Length];
            for (int i = 0; i < wanted.Length; i++)
            {
                if (!TryFindImage(wanted[i], modules, out var module, out error))
                    return false;
                guestModules[i] = new GuestModule(module.Start, module.Size, wanted[i].CommandLine);
            }
            error = null;
            return true;
        }

        private static bool TryFindImage(ImageReference reference, BootModule[] modules, out BootModule image, out string error)
        {
            string wanted = reference.ModuleCommandLine;
            foreach (var module in modules)
            {
                // "guest-image NAME WHAT", followed by the image's own command line if it has one.
                string line = module.CommandLine;
                if (line == wanted || (line.StartsWith(wanted) && line.Length > wanted.Length && line[wanted.Length] == ' '))
                {
                    image = module;
                    error = null;
                    return true;
                }
            }
            image = default;
            error = string.Concat("no boot module '", wanted, "' (build the ISO with partition image)");
            return false;
        }

        private static void PrintCreated(VirtualMachine vm)
        {
            HypervisorConsole.Write("Partition ");
            HypervisorConsole.Write(vm.Name);
            HypervisorConsole.Write(": ");
            HypervisorConsole.Write(vm.Mode == GuestMode.Real ? "real mode" : vm.Mode == GuestMode.Protected32 ? "32-bit protected mode" : "64-bit long mode");
            HypervisorConsole.Write(", ");
            HypervisorConsole.WriteSize(vm.MemorySize);
            HypervisorConsole.Write(" at host ");
            HypervisorConsole.WriteHex(vm.HostBase, 8);
            if (vm.Multiboot != MultibootVersion.None)
                HypervisorConsole.Write(vm.Multiboot == MultibootVersion.One ? ", Multiboot kernel" : ", Multiboot2 kernel");
            HypervisorConsole.Write(", entry ");
            HypervisorConsole.WriteHex(vm.Entry, 4);
            if (vm.Uart != null)
            {
                HypervisorConsole.Write(", UART at port ");
                HypervisorConsole.WriteHex(vm.Uart.BasePort, 3);
            }
            HypervisorConsole.Write(", EPT ");
            HypervisorConsole.WriteDecimal((ulong)vm.Ept.PagesUsed);
            HypervisorConsole.WriteLine(" table pages");
        }

        public static void RunAll(VirtualMachine[] machines, int cpu)
        {
            foreach (var vm in machines)
            {
                Run(vm.Cpu0, cpu);
                vm.Uart?.Flush();
                PrintSummary(vm);
            }
        }

        /// <summary>Runs a vCPU on this CPU until it halts or its partition is stopped.</summary>
        public static void Run(VirtualCpu vcpu, int cpu)
        {
            var vm = vcpu.Machine;
            var vmcs = vcpu.Vmcs;
            VmcsError error = vmcs.Load(cpu);
            if (error != VmcsError.None)
            {
                Stop(vm, Vmcs.Describe(error));
                return;
            }
            if (!vcpu.Launched && !PassesEntryChecks(vcpu, cpu))
                return;
            var context = new ExitContext { Vcpu = vcpu, Cpu = cpu };
            while (vm.State == VirtualMachineState.Runnable)
            {
                error = vmcs.Run(cpu, vcpu.Registers);
                if (error != VmcsError.None)
                {
                    ReportEntryInstructionFailure(vm, vmcs, error);
                    break;
                }
                ulong reason = vmcs.LastExitReason;
                context.Reason = (ushort)reason;
                context.EntryFailure = (reason & ExitReasons.EntryFailureBit) != 0;
                if (context.Reason < ExitReasons.Count)
                    vm.ExitCounts[context.Reason]++;
                ExitAction action = ExitDispatch.Dispatch(ref context);
                if (action == ExitAction.Halt)
                    vm.State = VirtualMachineState.Halted;
            }
            vmcs.Clear(cpu);
        }

        private static bool PassesEntryChecks(VirtualCpu vcpu, int cpu)
        {
            int count = EntryChecks.Run(vcpu.Vmcs, cpu, Capabilities, s_violations);
            if (count == 0)
                return true;
            var vm = vcpu.Machine;
            HypervisorConsole.Write("*** partition ");
            HypervisorConsole.Write(vm.Name);
            HypervisorConsole.WriteLine(" not entered: the VMCS fails the pre-entry checks:");
            for (int i = 0; i < count; i++)
            {
                HypervisorConsole.Write("    ");
                HypervisorConsole.WriteLine(s_violations[i]);
            }
            vm.State = VirtualMachineState.Stopped;
            vm.StopReason = s_violations[0];
            vcpu.Vmcs.Clear(cpu);
            return false;
        }

        private static void ReportEntryInstructionFailure(VirtualMachine vm, Vmcs vmcs, VmcsError error)
        {
            HypervisorConsole.Write("*** partition ");
            HypervisorConsole.Write(vm.Name);
            HypervisorConsole.Write(" not entered: ");
            HypervisorConsole.Write(Vmcs.Describe(error));
            if (error == VmcsError.FailValid)
            {
                HypervisorConsole.Write(", VM-instruction error ");
                HypervisorConsole.WriteDecimal((ulong)vmcs.LastInstructionError);
                HypervisorConsole.Write(" (");
                HypervisorConsole.Write(VmInstructionErrors.Describe(vmcs.LastInstructionError));
                HypervisorConsole.Write(")");
            }
            HypervisorConsole.WriteLine();
            Stop(vm, Vmcs.Describe(error));
        }

        private static void Stop(VirtualMachine vm, string why)
        {
            vm.State = VirtualMachineState.Stopped;
            vm.StopReason = why;
        }

        public static void PrintSummary(VirtualMachine vm)
        {
            HypervisorConsole.Write("Partition ");
            HypervisorConsole.Write(vm.Name);
            HypervisorConsole.Write(vm.State == VirtualMachineState.Halted ? " halted" : " stopped");
            if (vm.State == VirtualMachineState.Stopped)
            {
                HypervisorConsole.Write(" (");
                HypervisorConsole.Write(vm.StopReason);
                HypervisorConsole.Write(")");
            }
            HypervisorConsole.Write("; exits:");
            ulong total = 0;
            for (int reason = 0; reason < ExitReasons.Count; reason++)
            {
                ulong n = vm.ExitCounts[reason];
                if (n == 0)
                    continue;
                total += n;
                HypervisorConsole.Write(" ");
                HypervisorConsole.Write(ExitReasons.Name(reason));
                HypervisorConsole.Write(" ");
                HypervisorConsole.WriteDecimal(n);
                HypervisorConsole.Write(",");
            }
            HypervisorConsole.Write(" total ");
            HypervisorConsole.WriteDecimal(total);
            if (vm.DeniedIoAccesses != 0)
            {
                HypervisorConsole.Write("; denied port accesses ");
                HypervisorConsole.WriteDecimal(vm.DeniedIoAccesses);
            }
            HypervisorConsole.WriteLine();
        }
    }
}
