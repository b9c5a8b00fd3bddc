using System;

namespace Partition.Kernel
{
    /// <summary>
    /// The hypervisor's management operations — list, cpus, migrate, pause, resume, stats — and
    /// the console that drives them: COM1 input with line editing (echo, backspace), and a
    /// script module ("console-script": lines "MILLISECONDS COMMAND") that feeds commands at
    /// given times so that tests and demos are scripted. The host partition reaches the same
    /// operations through management hypercalls. Runs on CPU 0, between guest slices.
    /// </summary>
    public static class Management
    {
        public const string ScriptModule = "console-script";
        private const int MaxLine = 120;

        private static VirtualMachine[] s_machines = new VirtualMachine[0];

        // Outcomes are built here, not in new strings: the console's on CPU 0, a management
        // hypercall's on the CPU that takes it (hypercalls come at any rate, and the heap is never freed).
        private static readonly TextBuffer s_consoleOutcome = new TextBuffer();
        private static readonly TextBuffer[] s_hypercallOutcomes = NewBuffers(Smp.MaxCpus);

        private static TextBuffer[] NewBuffers(int count)
        {
            var buffers = new TextBuffer[count];
            for (int i = 0; i < count; i++)
                buffers[i] = new TextBuffer();
            return buffers;
        }

        /// <summary>The buffer for the outcome of a management hypercall taken on <paramref name="cpu"/>.</summary>
        public static TextBuffer HypercallOutcome(int cpu) => s_hypercallOutcomes[cpu];
        private static readonly char[] s_line = new char[MaxLine];
        private static int s_length;
        private static ulong[] s_scriptTimes = new ulong[0];
        private static string[] s_scriptCommands = new string[0];
        private static int s_scriptNext;
        private static ulong s_start;

        public static VirtualMachine[] Machines => s_machines;

        /// <summary>The partitions, and the script's times counted from <paramref name="start"/> (a TSC value: the partitions' start).</summary>
        public static void Start(VirtualMachine[] machines, ulong start)
        {
            s_machines = machines;
            s_start = start;
            ConsoleDue.InputPollTicks = Tsc.FromMicroseconds(ConsoleInterrupt.Armed ? InputPollByInterruptMicroseconds : InputPollMicroseconds);
            ScheduleNext();
        }

        /// <summary>
        /// True if a script command is due at <paramref name="now"/> (a TSC value the caller has
        /// just read) or the host's management channel has work (typed bytes are seen between slices).
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public static bool HasInputAt(ulong now) =>
            ScriptDueAt(now) || ManagementChannel.Current is { } channel && channel.HasWork;

        /// <summary>
        /// The console's UART interrupt came and no core has looked since (<see cref="ConsoleInterrupt"/>
        /// makes the look due at once: its time 0): CPU 0's slice ends at that exit, so typed
        /// input is served at once even while CPU 0 runs a guest that rarely exits.
        /// </summary>
        public static bool TypedInputSignalled
        {
            [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
            get => ConsoleDue.NextInputPoll == 0;
        }

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        private static bool ScriptDueAt(ulong now) => ConsoleDue.Next != 0 && now >= ConsoleDue.Next;

        private static void ScheduleNext() =>
            ConsoleDue.Next = s_scriptNext < s_scriptTimes.Length ? s_start + s_scriptTimes[s_scriptNext] : 0;

        /// <summary>Parses a script module: one "MILLISECONDS COMMAND" per line, in time order.</summary>
        public static void LoadScript(ReadOnlySpan<byte> text)
        {
            int lines = 0;
            for (int i = 0; i < text.Length; i++)
                if (text[i] == '\n')
                    lines++;
            var times = new ulong[lines + 1];
            var commands = new string[lines + 1];
            int count = 0;
            int at = 0;
            while (at < text.Length)
            {
                int end = at;
                while (end < text.Length && text[end] != '\n')
                    end++;
                var line = text.Slice(at, end - at);
                at = end + 1;
                int space = line.IndexOf((byte)' ');
                if (space <= 0 || !TryParseDecimal(line.Slice(0, space), out ulong milliseconds))
                    continue;
                var chars = new char[line.Length - space - 1];
                for (int i = 0; i < chars.Length; i++)
                    chars[i] = line[space + 1 + i] == '\r' ? ' ' : (char)line[space + 1 + i];
                times[count] = milliseconds * Tsc.TicksPerMillisecond;
                commands[count++] = new string(chars);
            }
            s_scriptTimes = new ulong[count];
            s_scriptCommands = new string[count];
            for (int i = 0; i < count; i++)
            {
                s_scriptTimes[i] = times[i];
                s_scriptCommands[i] = commands[i];
            }
        }

        private static long s_serving;

        // Without the UART's interrupt, typed bytes are looked for at most every
        // InputPollMicroseconds: the UART's status is an I/O port read (about a microsecond on
        // hardware) and the run loops pass by far more often than anyone types. Its receive
        // FIFO holds 16 bytes, 1.4 ms at 115200 baud, so none is lost. Script commands and the
        // host's management line are looked at every time.
        private const ulong InputPollMicroseconds = 250;

        // With typed input signalled by interrupt (ConsoleInterrupt), which makes the look due at
        // once, the run loops look on their own only this often: in case an edge was missed (the
        // UART holds its line while a byte waits, so no new edge would come before a read).
        private const ulong InputPollByInterruptMicroseconds = 10_000;

        /// <summary>
        /// Serves the console at <paramref name="now"/> (a TSC value just read): due script
        /// commands, then typed bytes, then the host's management line. Any core may call it; one
        /// serves at a time, the others return at once. (Every core's run loop passes by at each
        /// turn, with this inline: with nothing due it is a few compares, and when the input's
        /// time has come and nothing was typed, one port read more.)
        /// </summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public static void Poll(ulong now)
        {
            if (!HasInputAt(now))
            {
                // Nothing due but typed bytes: at most every InputPollMicroseconds, and without
                // the lock while none waits (any core may look; a stale time only adds a look).
                if (now < ConsoleDue.NextInputPoll)
                    return;
                ConsoleDue.NextInputPoll = now + ConsoleDue.InputPollTicks;
                if (!HypervisorConsole.HasInput)
                    return;
            }
            Serve(now);
        }

        // Due script commands, typed bytes, the management line: one core at a time (out of
        // line: Poll's common case, nothing due, is inline in the run loop).
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void Serve(ulong now)
        {
            if (Cpu.CompareExchange(ref s_serving, 1, 0) != 0)
                return;
            ConsoleDue.NextInputPoll = now + ConsoleDue.InputPollTicks;
            if (ScriptDueAt(now))
                RunDueScript();
            while (HypervisorConsole.TryRead(out byte b))
                Feed(b);
            if (ManagementChannel.Current is { } channel)
                ServeChannel(channel);
            Cpu.StoreRelease(ref s_serving, 0);
        }

        // The script's commands that are due (one may take long enough for the next to be due too).
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        private static void RunDueScript()
        {
            while (ScriptDueAt(Tsc.Now))
            {
                string command = s_scriptCommands[s_scriptNext++];
                ScheduleNext();
                HypervisorConsole.BeginLine();
                HypervisorConsole.Write("partition> ");
                HypervisorConsole.WriteLine(command);
                HypervisorConsole.EndLine();
                Execute(command);
            }
        }

        // The host partition's commands, echoed as "NAME mgmt> COMMAND"; their answers reach it through the console's tee.
        private static void ServeChannel(ManagementChannel channel)
        {
            while (channel.TryTake(out var command))
            {
                HypervisorConsole.BeginLine();
                HypervisorConsole.Write(channel.HostName);
                HypervisorConsole.Write(" mgmt> ");
                HypervisorConsole.Write(command);
                HypervisorConsole.WriteLine();
                HypervisorConsole.EndLine();
                Execute(command);
            }
            channel.Deliver();
        }

        /// <summary>Line editing: printable characters are echoed, backspace erases, Enter runs the line.</summary>
        public static void Feed(byte b)
        {
            if (b == '\r' || b == '\n')
            {
                HypervisorConsole.BeginLine();
                HypervisorConsole.WriteLine();
                HypervisorConsole.EndLine();
                int length = s_length;
                s_length = 0;
                if (length > 0)
                    Execute(new ReadOnlySpan<char>(s_line, 0, length));
                return;
            }
            // Echoes go under the console's line lock, so none lands inside another CPU's line.
            if (b == 0x08 || b == 0x7F)
            {
                if (s_length > 0)
                {
                    s_length--;
                    HypervisorConsole.BeginLine();
                    HypervisorConsole.Write("\b \b");
                    HypervisorConsole.EndLine();
                }
                return;
            }
            if (b >= 0x20 && b < 0x7F && s_length < MaxLine)
            {
                s_line[s_length++] = (char)b;
                HypervisorConsole.BeginLine();
                HypervisorConsole.Write((char)b);
                HypervisorConsole.EndLine();
            }
        }

        /// <summary>
        /// Runs one console command; every outcome is printed. Nothing here allocates: the
        /// console is served while partitions run.
        /// </summary>
        public static void Execute(ReadOnlySpan<char> line)
        {
            var command = Word(line, 0);
            var first = Word(line, 1);
            var second = Word(line, 2);
            HypervisorConsole.BeginLine();
            if (command.SequenceEqual("help"))
            {
                HypervisorConsole.WriteLine("commands: list | cpus | migrate PARTITION[.VCPU] CORE | pause PARTITION | resume PARTITION | stop PARTITION | restart PARTITION | stats | help");
            }
            else if (command.SequenceEqual("list"))
            {
                List();
            }
            else if (command.SequenceEqual("cpus"))
            {
                Cpus();
            }
            else if (command.SequenceEqual("stats"))
            {
                Stats();
            }
            else if (command.SequenceEqual("migrate"))
            {
                if (first.IsEmpty || second.IsEmpty || !TryParseDecimal(second, out ulong core))
                    Report("migrate", ": usage: migrate PARTITION[.VCPU] CORE");
                else
                {
                    Migrate(first, core, s_consoleOutcome);
                    Report("migrate ", s_consoleOutcome.AsSpan());
                }
            }
            else if (command.SequenceEqual("stop"))
            {
                if (first.IsEmpty)
                {
                    Report("stop", ": usage: stop PARTITION");
                }
                else
                {
                    StopPartition(first, s_consoleOutcome);
                    Report("stop ", s_consoleOutcome.AsSpan());
                }
            }
            else if (command.SequenceEqual("restart"))
            {
                if (first.IsEmpty)
                {
                    Report("restart", ": usage: restart PARTITION");
                }
                else
                {
                    Restart(first, s_consoleOutcome);
                    Report("restart ", s_consoleOutcome.AsSpan());
                }
            }
            else if (command.SequenceEqual("pause") || command.SequenceEqual("resume"))
            {
                bool pause = command.SequenceEqual("pause");
                if (first.IsEmpty)
                    Report(pause ? "pause" : "resume", ": usage: pause|resume PARTITION");
                else
                {
                    PauseOrResume(first, pause, s_consoleOutcome);
                    Report(pause ? "pause " : "resume ", s_consoleOutcome.AsSpan());
                }
            }
            else
            {
                s_consoleOutcome.Clear().Append("unknown command '").Append(command).Append("'; type help");
                Report("", s_consoleOutcome.AsSpan());
            }
            HypervisorConsole.EndLine();
        }

        /// <summary>
        /// "alpha" (its vCPU 0) or "alpha.1": the partition and the vCPU index. False, with
        /// the partition null, if no partition has that name; false with the partition set if
        /// the index is not one of its vCPUs.
        /// </summary>
        private static bool TryFindVcpu(ReadOnlySpan<char> text, out VirtualMachine vm, out VirtualCpu vcpu)
        {
            vcpu = null;
            int dot = text.IndexOf('.');
            vm = Find(dot < 0 ? text : text.Slice(0, dot));
            if (vm == null)
                return false;
            ulong index = 0;
            if (dot >= 0 && (!TryParseDecimal(text.Slice(dot + 1), out index) || index >= (ulong)vm.Vcpus.Length))
                return false;
            vcpu = vm.Vcpus[(int)index];
            return true;
        }

        // The index-th space-separated word of the line, or an empty span.
        private static ReadOnlySpan<char> Word(ReadOnlySpan<char> line, int index)
        {
            int i = 0;
            for (int w = 0; ; w++)
            {
                while (i < line.Length && line[i] == ' ')
                    i++;
                int start = i;
                while (i < line.Length && line[i] != ' ')
                    i++;
                if (i == start)
                    return ReadOnlySpan<char>.Empty;
                if (w == index)
                    return line.Slice(start, i - start);
            }
        }

        /// <summary>
        /// Counts a refused access of <paramref name="vm"/> and, within its report budget, says
        /// on the console what it was: "partition NAME: ACTION[NUMBER in hex]OUTCOME".
        /// </summary>
        public static void ReportDenial(VirtualMachine vm, DenialKind kind, string action, ulong number, int hexDigits, string outcome) =>
            ReportDenial(vm, kind, action, null, number, hexDigits, outcome);

        /// <summary>As above, with the reason after the outcome: "partition NAME: ACTION NUMBER OUTCOME WHY".</summary>
        public static void ReportDenial(VirtualMachine vm, DenialKind kind, string action, ulong number, int hexDigits, string outcome, string why)
        {
            if (!vm.Denials.Record(kind, out bool last))
                return;
            HypervisorConsole.BeginLine();
            WriteDenial(vm, action, null, number, hexDigits, outcome);
            HypervisorConsole.WriteLine(why);
            if (last)
                WriteBudgetSpent(vm, kind);
            HypervisorConsole.EndLine();
        }

        /// <summary>As above, naming what was refused: "partition NAME: ACTION SUBJECT OUTCOME".</summary>
        public static void ReportDenial(VirtualMachine vm, DenialKind kind, string action, string subject, string outcome) =>
            ReportDenial(vm, kind, action, subject, 0, 0, outcome);

        private static void ReportDenial(VirtualMachine vm, DenialKind kind, string action, string subject, ulong number, int hexDigits, string outcome)
        {
            if (!vm.Denials.Record(kind, out bool last))
                return;
            HypervisorConsole.BeginLine();
            WriteDenial(vm, action, subject, number, hexDigits, outcome);
            HypervisorConsole.WriteLine();
            if (last)
                WriteBudgetSpent(vm, kind);
            HypervisorConsole.EndLine();
        }

        private static void WriteDenial(VirtualMachine vm, string action, string subject, ulong number, int hexDigits, string outcome)
        {
            HypervisorConsole.Write("partition ");
            HypervisorConsole.Write(vm.Name);
            HypervisorConsole.Write(": ");
            HypervisorConsole.Write(action);
            if (subject != null)
                HypervisorConsole.Write(subject);
            if (hexDigits > 0)
                HypervisorConsole.WriteHex(number, hexDigits);
            HypervisorConsole.Write(outcome);
        }

        private static void WriteBudgetSpent(VirtualMachine vm, DenialKind kind)
        {
            HypervisorConsole.Write("partition ");
            HypervisorConsole.Write(vm.Name);
            HypervisorConsole.Write(kind == DenialKind.Port ? ": further refused port accesses"
                : kind == DenialKind.Msr ? ": further refused MSR accesses"
                : kind == DenialKind.Hypercall ? ": further refused management hypercalls" : ": further IPIs outside the partition");
            HypervisorConsole.WriteLine(" are counted, not reported ('stats' shows them)");
        }

        public static void Report(string subject, string outcome) => Report(subject, outcome.AsSpan());

        public static void Report(ReadOnlySpan<char> subject, ReadOnlySpan<char> outcome)
        {
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write(subject);
            HypervisorConsole.Write(outcome);
            HypervisorConsole.WriteLine();
            HypervisorConsole.EndLine();
        }

        /// <summary>"partition NAME (host) hypercall FUNCTION OUTCOME", built without allocating.</summary>
        public static void ReportHostHypercall(VirtualMachine caller, string function, ReadOnlySpan<char> outcome)
        {
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write("partition ");
            HypervisorConsole.Write(caller.Name);
            HypervisorConsole.Write(" (host) hypercall ");
            HypervisorConsole.Write(function);
            HypervisorConsole.Write(" ");
            HypervisorConsole.Write(outcome);
            HypervisorConsole.WriteLine();
            HypervisorConsole.EndLine();
        }

        /// <summary>
        /// The host partition asked the machine, through one of its reset or power lines
        /// (<see cref="HostPowerLines"/>), to reset, power off or sleep: the hypervisor decides,
        /// and says so. A reset restarts the host partition alone (bus mastering off on its PCI
        /// functions first) while the others keep running; a power-off stops every partition,
        /// then powers the machine off; a sleep state is refused and the host runs on.
        /// </summary>
        public static void HostPowerRequest(VirtualMachine host, PowerLineRequest request, string line)
        {
            HypervisorConsole.BeginLine();
            HypervisorConsole.Write("partition ");
            HypervisorConsole.Write(host.Name);
            HypervisorConsole.Write(" (host) asked for ");
            if (request == PowerLineRequest.Reset)
            {
                int quiesced = host.Spec.HostPorts != null ? host.Spec.HostPorts.QuiesceBusMasters() : 0;
                HypervisorConsole.Write("a machine reset through ");
                HypervisorConsole.Write(line);
                HypervisorConsole.Write(": the machine stays up for the other partitions; restarting the host partition alone (bus mastering turned off on ");
                HypervisorConsole.WriteDecimal((ulong)quiesced);
                HypervisorConsole.WriteLine(quiesced == 1 ? " PCI function)" : " PCI functions)");
                HypervisorConsole.EndLine();
                host.RestartWhenDown = true;
                host.End(VirtualMachineState.Halted, "asked for a machine reset; booting again");
                return;
            }
            if (request == PowerLineRequest.PowerOff)
            {
                HypervisorConsole.Write("power-off (");
                HypervisorConsole.Write(line);
                HypervisorConsole.WriteLine("): stopping every partition, then powering the machine off");
                HypervisorConsole.EndLine();
                Machine.PowerOffWhenStopped = true;
                foreach (var vm in s_machines)
                {
                    if (vm.State != VirtualMachineState.Runnable)
                        continue;
                    PartitionHost.Stop(vm, vm == host ? "powered the machine off" : "stopped: the host partition powered the machine off");
                }
                return;
            }
            HypervisorConsole.Write(line);
            HypervisorConsole.WriteLine(": refused (a partitioned machine does not sleep); the host partition runs on");
            HypervisorConsole.EndLine();
        }

        private static VirtualMachine Find(ReadOnlySpan<char> name)
        {
            foreach (var vm in s_machines)
                if (name.SequenceEqual(vm.Name))
                    return vm;
            return null;
        }

        /// <summary>
        /// Starts moving a partition's vCPU to <paramref name="core"/>: the core it is on now
        /// VMCLEARs it and hands it over; the destination loads it, rewrites its host state and
        /// launches it. Returns what happened, or why it is refused.
        /// </summary>
        public static bool Migrate(ReadOnlySpan<char> name, ulong core, TextBuffer outcome)
        {
            if (!TryFindVcpu(name, out var vm, out var vcpu))
            {
                if (vm == null)
                    return Refuse(outcome, name, ": no such partition");
                Refuse(outcome, name, ": no such vCPU (");
                outcome.Append(vm.Name).Append(" has vCPUs 0-").AppendDecimal((ulong)vm.Vcpus.Length - 1).Append(")");
                return false;
            }
            if (vm.State != VirtualMachineState.Runnable)
                return Refuse(outcome, name, vm.State == VirtualMachineState.Halted ? ": refused: the partition has halted" : ": refused: the partition has been stopped");
            // Any number may come in (a hypercall's register, a typed line): compared as given,
            // never truncated into a core that exists.
            if (core >= (ulong)Smp.CpuCount)
            {
                Refuse(outcome, name, ": refused: there is no core ");
                outcome.AppendDecimal(core).Append(" (cores 0-").AppendDecimal((ulong)Smp.CpuCount - 1).Append(")");
                return false;
            }
            var destination = CoreRunner.Of((int)core);
            if (!Smp.IsOnline((int)core) || destination == null)
                return RefuseAboutCore(outcome, name, ": refused: core ", core, " is not online");
            if ((ulong)vcpu.Core == core)
                return RefuseAboutCore(outcome, name, ": already on core ", core, "; nothing to do");
            if (!destination.Core.Policy.HasRoom)
                return RefuseAboutCore(outcome, name, ": refused: core ", core, " is dedicated to another vCPU");
            if (!vcpu.TryBeginMigration())
                return Refuse(outcome, name, ": refused: a migration of it is already under way");
            if (!CoreRunner.Of(vcpu.Core).Post(new CoreRequest { Kind = CoreRequestKind.Evict, Vcpu = vcpu, TargetCore = (int)core, CommandTsc = Tsc.Now }))
            {
                vcpu.EndMigration();
                return RefuseAboutCore(outcome, name, ": refused: core ", (ulong)vcpu.Core, " has too many requests waiting; try again");
            }
            outcome.Clear().Append(vcpu.Name).Append(": moving from core ").AppendDecimal((ulong)vcpu.Core).Append(" to core ").AppendDecimal(core);
            return true;
        }

        private static bool RefuseAboutCore(TextBuffer outcome, ReadOnlySpan<char> name, string before, ulong core, string after)
        {
            Refuse(outcome, name, before);
            outcome.AppendDecimal(core).Append(after);
            return false;
        }

        private static bool Refuse(TextBuffer outcome, ReadOnlySpan<char> name, string why)
        {
            outcome.Clear().Append(name).Append(why);
            return false;
        }

        /// <summary>
        /// Boots a halted or stopped partition again from its image, with its memory scrubbed,
        /// on the core it was on; the others run on. A running partition is refused.
        /// </summary>
        public static bool Restart(ReadOnlySpan<char> name, TextBuffer outcome)
        {
            var vm = Find(name);
            if (vm == null)
                return Refuse(outcome, name, ": no such partition");
            if (vm.State == VirtualMachineState.Runnable)
                return Refuse(outcome, name, ": refused: it is running (only a halted or stopped partition restarts)");
            if (vm.VcpusStillOnCores)
                return Refuse(outcome, name, ": refused: it is still stopping (its vCPUs are leaving their cores); try again");
            var vcpu = vm.Cpu0;
            if (!vcpu.TryBeginMigration())
                return Refuse(outcome, name, ": refused: a migration or restart of it is under way");
            // The core of its vCPU 0 rebuilds it: only a core's own run loop executes VMCS
            // instructions on that CPU (a VMPTRLD here would change what is current there).
            CoreRunner.Revive(vm);
            outcome.Clear().Append(name).Append(": restarting from its image on core ").AppendDecimal((ulong)vcpu.Core);
            return true;
        }

        /// <summary>
        /// Stops a running partition as a fault would (its vCPUs leave their cores, its memory is
        /// scrubbed) but for the operator's reason; <c>restart</c> boots it again.
        /// </summary>
        public static bool StopPartition(ReadOnlySpan<char> name, TextBuffer outcome)
        {
            var vm = Find(name);
            if (vm == null)
                return Refuse(outcome, name, ": no such partition");
            if (vm.State != VirtualMachineState.Runnable)
                return Refuse(outcome, name, vm.State == VirtualMachineState.Halted ? ": refused: the partition has halted" : ": refused: the partition has been stopped");
            PartitionHost.Stop(vm, "stopped from the console");
            ScheduleTrace.Mark(Smp.CurrentCpu, TraceKind.Stop, vm.Cpu0, -1);
            outcome.Clear().Append(name).Append(": stopped");
            return true;
        }

        public static bool PauseOrResume(ReadOnlySpan<char> name, bool pause, TextBuffer outcome)
        {
            var vm = Find(name);
            if (vm == null)
                return Refuse(outcome, name, ": no such partition");
            if (vm.State != VirtualMachineState.Runnable)
                return Refuse(outcome, name, vm.State == VirtualMachineState.Halted ? ": refused: the partition has halted" : ": refused: the partition has been stopped");
            if (vm.Paused == pause)
                return Refuse(outcome, name, pause ? ": refused: already paused" : ": refused: not paused");
            vm.BeginPauseOrResume(pause);
            ScheduleTrace.Mark(Smp.CurrentCpu, pause ? TraceKind.Pause : TraceKind.Resume, vm.Cpu0, -1);
            // The last core to take note reports "paused" (CoreRunner's sweep).
            vm.NoticeEveryCore();
            outcome.Clear().Append(name).Append(pause ? ": pausing (its vCPUs leave their cores)" : ": resumed");
            return true;
        }

        private static void List()
        {
            foreach (var vm in s_machines)
            {
                HypervisorConsole.Write("  ");
                HypervisorConsole.Write(vm.Name);
                HypervisorConsole.Write(vm.Spec.IsHost ? " (host): " : " (guest): ");
                HypervisorConsole.Write(vm.State == VirtualMachineState.Halted ? "halted" : vm.State == VirtualMachineState.Stopped ? "stopped" : vm.Paused ? "paused" : "running");
                foreach (var vcpu in vm.Vcpus)
                {
                    HypervisorConsole.Write(", vCPU ");
                    HypervisorConsole.WriteDecimal((ulong)vcpu.Index);
                    HypervisorConsole.Write(" on core ");
                    HypervisorConsole.WriteDecimal((ulong)vcpu.Core);
                    if (vm.State == VirtualMachineState.Runnable && vcpu.Activity == VcpuActivity.WaitingForInterrupt)
                        HypervisorConsole.Write(" (idle)");
                    else if (vm.State == VirtualMachineState.Runnable && vcpu.Activity == VcpuActivity.Parked)
                        HypervisorConsole.Write(" (parked)");
                }
                HypervisorConsole.Write(", ");
                HypervisorConsole.WriteSize(vm.MemorySize);
                HypervisorConsole.WriteLine();
            }
        }

        private static void Cpus()
        {
            for (int cpu = 0; cpu < Smp.CpuCount; cpu++)
            {
                var runner = CoreRunner.Of(cpu);
                HypervisorConsole.Write("  core ");
                HypervisorConsole.WriteDecimal((ulong)cpu);
                if (runner == null || !Smp.IsOnline(cpu))
                {
                    HypervisorConsole.WriteLine(": offline");
                    continue;
                }
                var policy = runner.Core.Policy;
                HypervisorConsole.Write(policy.Count == 0 ? ": idle (no vCPUs)" : policy.Kind == Partition.Scheduler.PolicyKind.Dedicated ? ": dedicated"
                    : policy.Kind == Partition.Scheduler.PolicyKind.RoundRobin ? ": round-robin" : ": weighted");
                HypervisorConsole.Write(", vCPUs");
                for (int i = 0; i < policy.Count; i++)
                {
                    HypervisorConsole.Write(" ");
                    HypervisorConsole.Write(policy[i].Name);
                }
                ulong elapsed = runner.StartTsc == 0 ? 0 : Tsc.Now - runner.StartTsc;
                HypervisorConsole.Write(", load ");
                HypervisorConsole.WriteDecimal(elapsed == 0 ? 0 : runner.GuestTicksSoFar * 100 / elapsed);
                HypervisorConsole.WriteLine("%");
            }
        }

        private static void Stats()
        {
            foreach (var vm in s_machines)
                PartitionHost.PrintSummary(vm, atEnd: false);
            if (ConsoleInterrupt.Armed)
            {
                HypervisorConsole.Write("Console: typed input by interrupt, ");
                HypervisorConsole.WriteDecimal(ConsoleInterrupt.Taken);
                HypervisorConsole.WriteLine(" taken");
            }
            else
            {
                HypervisorConsole.Write("Console: typed input polled every ");
                HypervisorConsole.WriteDecimal(InputPollMicroseconds);
                HypervisorConsole.WriteLine(" us");
            }
            for (int cpu = 0; cpu < Smp.CpuCount; cpu++)
                if (CoreRunner.Of(cpu) is { } runner)
                    PartitionHost.PrintCoreStatistics(runner.Core, runner.Migrations, runner.GuestTicksSoFar);
            foreach (var vm in s_machines)
            {
                foreach (var vcpu in vm.Vcpus)
                {
                    if (vcpu.LastMigrationTicks == 0)
                        continue;
                    HypervisorConsole.Write("  last migration of ");
                    HypervisorConsole.Write(vcpu.Name);
                    HypervisorConsole.Write(": ");
                    HypervisorConsole.WriteDecimal(vcpu.LastMigrationTicks);
                    HypervisorConsole.WriteLine(" ticks");
                }
            }
        }

        private static bool TryParseDecimal(ReadOnlySpan<char> text, out ulong value)
        {
            value = 0;
            if (text.Length == 0 || text.Length > 18)
                return false;
            foreach (char c in text)
            {
                if (c < '0' || c > '9')
                    return false;
                value = value * 10 + (ulong)(c - '0');
            }
            return true;
        }

        private static bool TryParseDecimal(ReadOnlySpan<byte> text, out ulong value)
        {
            value = 0;
            if (text.Length == 0 || text.Length > 18)
                return false;
            foreach (byte c in text)
            {
                if (c < '0' || c > '9')
                    return false;
                value = value * 10 + (ulong)(c - '0');
            }
            return true;
        }
    }

    /// <summary>
    /// When the console is next due: its next script command (a TSC value, or 0 for never) and
    /// its next look for typed bytes. Checked on every exit of CPU 0 and every turn of every
    /// run loop, so these live alone in a class ILC can pre-initialise, with no
    /// class-constructor check on those paths.
    /// </summary>
    internal static class ConsoleDue
    {
        internal static ulong Next;
        internal static ulong NextInputPoll, InputPollTicks;
    }
}
