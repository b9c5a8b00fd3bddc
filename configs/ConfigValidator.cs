using System;
using Partition.Kernel;

namespace Partition.Configs
{
    /// <summary>
    /// The rules a well-formed configuration must meet against a machine: names and references,
    /// exactly one host, core ownership and slices, memory alignment, overlap and size, device and
    /// port ownership, shared memory, and (when modules are given) the guest images. Every rule
    /// reports and goes on, so one run lists every problem.
    /// </summary>
    /// <remarks>
    /// Errors that concern one partition carry its index, so that the hypervisor can leave that
    /// partition out and start the others; errors that concern the whole configuration carry -1.
    /// </remarks>
    public sealed class ConfigValidator
    {
        public const ulong PageSize = 4096;
        public const ulong MinimumSliceMicroseconds = 100;

        /// <summary>Something a partition owns: a range of host memory, ports, MMIO or a PCI function.</summary>
        private struct Claim
        {
            public ulong Start;
            public ulong End;
            public int Node;
            public int Partition;
        }

        private readonly JsonDocument _document;
        private readonly PartitionConfiguration _config;
        private readonly MachineFacts _facts;
        private readonly ConfigErrorList _errors;

        public ConfigValidator(JsonDocument document, PartitionConfiguration config, MachineFacts facts, ConfigErrorList errors)
        {
            _document = document;
            _config = config;
            _facts = facts;
            _errors = errors;
        }

        private string MachineName => _facts.IsDeclared ? "the machine section declares" : "this machine has";

        public void Validate()
        {
            ValidateHypervisor();
            ValidatePartitions();
            ValidateCores();
            ValidateMemory();
            ValidateDevices();
            ValidateSharedMemory();
            if (_facts.Modules != null)
                ValidateImages();
        }

        // ---- Hypervisor and partitions ----

        private void ValidateHypervisor()
        {
            var hypervisor = _config.Hypervisor;
            if (hypervisor.Node < 0)
                return;
            int memory = _document.Member(hypervisor.Node, "memory");
            if (memory >= 0)
                CheckAligned(memory, hypervisor.Memory, "memory", -1);
        }

        private void ValidatePartitions()
        {
            var partitions = _config.Partitions;
            int host = -1;
            for (int i = 0; i < partitions.Length; i++)
            {
                var partition = partitions[i];
                if (partition.Name.Length > 0)
                {
                    for (int j = 0; j < i; j++)
                    {
                        if (partitions[j].Name == partition.Name)
                        {
                            Error(_document.Member(partition.Node, "name"), string.Concat("the name \"", partition.Name, "\" is already used by ",
                                string.Concat(_document.PathOf(partitions[j].Node), "; partition names must be unique")), i);
                            break;
                        }
                    }
                }
                if (partition.Role == PartitionRole.Host && _document.Member(partition.Node, "role") >= 0)
                {
                    if (host >= 0)
                        Error(_document.Member(partition.Node, "role"), string.Concat("a second host partition: ", Describe(host),
                            " is already the host; exactly one partition may have \"role\": \"host\", make this one \"guest\""), i);
                    else
                        host = i;
                }
                if (partition.Boot != null && partition.Boot.Kind == BootKind.Flat)
                    ValidateFlatBoot(partition.Boot, partition, i);
                var uart = partition.Devices.Uart;
                if (partition.Role == PartitionRole.Host && partition.Boot != null && partition.Boot.Kind == BootKind.Linux
                    && uart != null && uart.Port < ManagementLinePort + 8 && ManagementLinePort < uart.Port + 8)
                    Error(uart.Node, string.Concat("ports ", PortRangeText(uart.Port, uart.Port + 8), " overlap the Linux host partition's management line (",
                        string.Concat(PortRangeText(ManagementLinePort, ManagementLinePort + 8), ", COM2 on IRQ 3); give its console another port, e.g. \"0x3F8\"")), i);
            }
            int partitionsNode = _document.Member(_document.Root, "partitions");
            if (host < 0 && partitions.Length > 0 && partitionsNode >= 0)
                Error(partitionsNode, "no partition has \"role\": \"host\"; exactly one must (it owns the devices no guest is given)", -1);
        }

        /// <summary>Where a Linux host partition's management line is (the kernel's ManagementChannel.Port).</summary>
        public const ushort ManagementLinePort = 0x2F8;

        private void ValidateFlatBoot(BootConfig boot, PartitionConfig config, int partition)
        {
            ulong limit = boot.Mode == EntryMode.Real ? 0x100000UL : boot.Mode == EntryMode.Protected32 ? 0x100000000UL : ulong.MaxValue;
            string modeName = boot.Mode == EntryMode.Real ? "real" : "protected32";
            string limitText = boot.Mode == EntryMode.Real ? "0x100000 (1 MiB)" : "0x100000000 (4 GiB)";
            int load = _document.Member(boot.Node, "load_address");
            if (load >= 0 && boot.LoadAddress >= limit)
                Error(load, string.Concat("entry mode \"", modeName, "\" cannot reach ", string.Concat(ConfigText.Hex(boot.LoadAddress), ": the load address must be below ", limitText)), partition);
            int entry = _document.Member(boot.Node, "entry");
            if (entry >= 0 && boot.Entry >= limit)
                Error(entry, string.Concat("entry mode \"", modeName, "\" cannot reach ", string.Concat(ConfigText.Hex(boot.Entry), ": the entry point must be below ", limitText)), partition);
            // A flat binary runs in its partition's RAM, one block from guest-physical 0: its load
            // address and entry point must lie inside it (the image's own size is checked with
            // the image: FlatImage.Fits, at boot and by 'partition check --images').
            if (config.Memory.Length == 1 && !config.Memory[0].HasGuestPhysical && config.Memory[0].Size != 0)
            {
                ulong size = config.Memory[0].Size;
                if (load >= 0 && boot.LoadAddress < limit && boot.LoadAddress >= size)
                    Error(load, string.Concat("the load address ", ConfigText.Hex(boot.LoadAddress), string.Concat(" is outside the partition's memory (",
                        ConfigText.Size(size), " from guest-physical 0)")), partition);
                if (entry >= 0 && boot.Entry < limit && boot.Entry >= size)
                    Error(entry, string.Concat("the entry point ", ConfigText.Hex(boot.Entry), string.Concat(" is outside the partition's memory (",
                        ConfigText.Size(size), " from guest-physical 0)")), partition);
            }
        }

        // ---- Cores and schedules ----

        private void ValidateCores()
        {
            int cores = ConfigReader.MaxCores;
            Span<int> dedicated = stackalloc int[cores];   // the vCPU node that has the core to itself
            Span<int> firstShared = stackalloc int[cores]; // the first shared vCPU on the core
            Span<int> sharedCount = stackalloc int[cores];
            Span<int> schedule = stackalloc int[cores];    // index into Schedules
            dedicated.Fill(-1);
            firstShared.Fill(-1);
            sharedCount.Clear();
            schedule.Fill(-1);

            var partitions = _config.Partitions;
            for (int p = 0; p < partitions.Length; p++)
            {
                var vcpus = partitions[p].Vcpus;
                for (int v = 0; v < vcpus.Length; v++)
                {
                    var vcpu = vcpus[v];
                    int coreNode = _document.Member(vcpu.Node, "core");
                    if (coreNode < 0)
                        continue;
                    int core = vcpu.Core;
                    if (_facts.CpuCount > 0 && core >= _facts.CpuCount)
                    {
                        Error(coreNode, string.Concat("core ", ConfigText.Decimal(core), " does not exist: ", string.Concat(MachineName, " ",
                            ConfigText.Decimal(_facts.CpuCount), CoreRange())), p);
                        continue;
                    }
                    if (vcpu.Placement == VcpuPlacement.Dedicated)
                    {
                        if (dedicated[core] >= 0)
                            Error(coreNode, string.Concat("core ", ConfigText.Decimal(core), " is already dedicated to ",
                                string.Concat(DescribeNode(dedicated[core]), "; give this vCPU another core, or make both \"placement\": \"shared\"")), p);
                        else if (firstShared[core] >= 0)
                            Error(coreNode, string.Concat("core ", ConfigText.Decimal(core), " is shared by ",
                                string.Concat(DescribeNode(firstShared[core]), "; a dedicated vCPU needs a core that no other vCPU uses")), p);
                        else
                            dedicated[core] = vcpu.Node;
                    }
                    else
                    {
                        if (dedicated[core] >= 0)
                            Error(coreNode, string.Concat("core ", ConfigText.Decimal(core), " is dedicated to ",
                                string.Concat(DescribeNode(dedicated[core]), "; a shared vCPU needs a core without dedicated vCPUs")), p);
                        else
                        {
                            if (firstShared[core] < 0)
                                firstShared[core] = vcpu.Node;
                            sharedCount[core]++;
                        }
                    }
                }
            }

            var schedules = _config.Schedules;
            for (int s = 0; s < schedules.Length; s++)
            {
                var entry = schedules[s];
                int coreNode = _document.Member(entry.Node, "core");
                if (coreNode < 0)
                    continue;
                int core = entry.Core;
                if (_facts.CpuCount > 0 && core >= _facts.CpuCount)
                {
                    // Every vCPU on that core has an error of its own, which leaves its partition
                    // out: the schedule alone keeps no other partition from starting.
                    Error(coreNode, string.Concat("core ", ConfigText.Decimal(core), " does not exist: ", string.Concat(MachineName, " ",
                        ConfigText.Decimal(_facts.CpuCount), CoreRange())), ConfigError.StopsNoPartition);
                    continue;
                }
                if (schedule[core] >= 0)
                {
                    Error(coreNode, string.Concat("core ", ConfigText.Decimal(core), " already has a schedule at ",
                        string.Concat(_document.PathOf(schedules[schedule[core]].Node), "; give each core at most one")), -1);
                    continue;
                }
                schedule[core] = s;
                int policyNode = _document.Member(entry.Node, "policy");
                if (entry.Policy == SchedulePolicy.Dedicated && sharedCount[core] > 0)
                    Error(policyNode, string.Concat(string.Concat("core ", ConfigText.Decimal(core), " runs ", ConfigText.Decimal(sharedCount[core])),
                        " shared vCPU(s), but a \"dedicated\" core runs exactly one dedicated vCPU; use \"round-robin\" or \"weighted\""), -1);
                else if (entry.Policy != SchedulePolicy.Dedicated && dedicated[core] >= 0)
                    Error(policyNode, string.Concat("core ", ConfigText.Decimal(core), " is dedicated to ",
                        string.Concat(DescribeNode(dedicated[core]), "; its schedule must be \"dedicated\" (or leave it out)")), -1);
            }

            // Slices must fit the period of their core's schedule (the default when none is given).
            for (int core = 0; core < cores; core++)
            {
                if (sharedCount[core] == 0)
                    continue;
                SchedulePolicy policy = schedule[core] >= 0 ? schedules[schedule[core]].Policy : SchedulePolicy.RoundRobin;
                ulong period = schedule[core] >= 0 ? schedules[schedule[core]].PeriodMicroseconds : ScheduleConfig.DefaultPeriodMicroseconds;
                ulong slices = 0, weights = 0, minWeight = ulong.MaxValue;
                int last = -1, lastPartition = -1;
                for (int p = 0; p < partitions.Length; p++)
                {
                    var vcpus = partitions[p].Vcpus;
                    for (int v = 0; v < vcpus.Length; v++)
                    {
                        if (vcpus[v].Placement != VcpuPlacement.Shared || vcpus[v].Core != core || _document.Member(vcpus[v].Node, "core") < 0)
                            continue;
                        slices += vcpus[v].SliceMicroseconds;
                        weights += vcpus[v].Weight;
                        minWeight = Math.Min(minWeight, vcpus[v].Weight);
                        last = vcpus[v].Node;
                        lastPartition = p;
                    }
                }
                if (policy == SchedulePolicy.RoundRobin && slices > period)
                {
                    string where = schedule[core] >= 0
                        ? string.Concat("the period of ", ConfigText.Decimal(period), " us at ", _document.PathOf(schedules[schedule[core]].Node))
                        : string.Concat("the default period of ", ConfigText.Decimal(period), " us (add a schedule for this core with a longer \"period_us\")");
                    Error(last, string.Concat("the slices of the ", ConfigText.Decimal(sharedCount[core]), string.Concat(" vCPUs on core ", ConfigText.Decimal(core), " add up to "),
                        string.Concat(ConfigText.Decimal(slices), " us, more than ", where, "; shorten \"slice_us\"")), lastPartition);
                }
                if (policy == SchedulePolicy.Weighted && weights > 0 && period * minWeight / weights < MinimumSliceMicroseconds)
                    Error(_document.Member(schedules[schedule[core]].Node, "period_us") >= 0 ? _document.Member(schedules[schedule[core]].Node, "period_us") : schedules[schedule[core]].Node,
                        string.Concat("with a period of ", ConfigText.Decimal(period), string.Concat(" us and weights adding up to ", ConfigText.Decimal(weights)),
                            string.Concat(", the lightest vCPU on core ", ConfigText.Decimal(core), " gets less than the minimum slice of 100 us; lengthen \"period_us\" or even out the weights")), -1);
            }
        }

        private string CoreRange() => _facts.CpuCount == 1 ? " core (core 0)" : string.Concat(" cores (0 to ", ConfigText.Decimal(_facts.CpuCount - 1), ")");

        // ---- Memory ----

        private void ValidateMemory()
        {
            ulong available = _facts.AvailableMemory;
            var partitions = _config.Partitions;
            var hostClaims = new ValueList<Claim>(16);
            var tooLarge = new bool[partitions.Length];
            for (int p = 0; p < partitions.Length; p++)
            {
                var regions = partitions[p].Memory;
                for (int r = 0; r < regions.Length; r++)
                {
                    var region = regions[r];
                    int sizeNode = _document.Member(region.Node, "size");
                    if (sizeNode < 0)
                        continue;
                    if (region.Size == 0)
                    {
                        Error(sizeNode, "the size must not be 0; give at least 4 KiB", p);
                        continue;
                    }
                    CheckAligned(sizeNode, region.Size, "the size", p);
                    tooLarge[p] |= available > 0 && region.Size > available;
                    if (available > 0 && region.Size > available)
                        Error(sizeNode, string.Concat(ConfigText.Size(region.Size), " is larger than the machine's RAM: ",
                            string.Concat(MachineName, " ", ConfigText.Size(available))), p);
                    if (region.HasGuestPhysical)
                    {
                        int gpaNode = _document.Member(region.Node, "guest_physical");
                        if (CheckAligned(gpaNode, region.GuestPhysical, "guest_physical", p) && CheckNoWrap(gpaNode, region.GuestPhysical, region.Size, p))
                        {
                            for (int other = 0; other < r; other++)
                            {
                                var o = regions[other];
                                if (o.HasGuestPhysical && Overlaps(region.GuestPhysical, region.Size, o.GuestPhysical, o.Size))
                                {
                                    Error(gpaNode, string.Concat("guest-physical ", Range(region.GuestPhysical, region.Size), " overlaps ",
                                        string.Concat(_document.PathOf(o.Node), " (", Range(o.GuestPhysical, o.Size), "); give the regions disjoint addresses")), p);
                                    break;
                                }
                            }
                        }
                    }
                    if (region.HasHostPhysical)
                    {
                        int hpaNode = _document.Member(region.Node, "host_physical");
                        if (CheckAligned(hpaNode, region.HostPhysical, "host_physical", p) && CheckNoWrap(hpaNode, region.HostPhysical, region.Size, p))
                        {
                            if (!InsideAvailable(region.HostPhysical, region.Size))
                                Error(hpaNode, string.Concat("host-physical ", Range(region.HostPhysical, region.Size), " is not inside available RAM: ",
                                    AvailableText()), p);
                            CheckClaim(hostClaims, region.HostPhysical, region.HostPhysical + region.Size, hpaNode, p, "host-physical memory ");
                        }
                    }
                }
            }
            if (available > 0)
                ValidateMemoryFits(available, tooLarge);
        }

        /// <summary>
        /// Whether the partitions fit the RAM, taken in the order the hypervisor creates them
        /// (<c>PartitionHost</c>): the host first, then the guests in config order, each with
        /// the shared regions it is the first to use. One that does not fit is an error of its
        /// own, so that at boot it alone is left out and the host and whatever fits still start.
        /// </summary>
        private void ValidateMemoryFits(ulong available, bool[] tooLarge)
        {
            var partitions = _config.Partitions;
            var shared = _config.SharedMemory;
            ulong used = _config.Hypervisor.Memory;
            if (used > available)
            {
                int node = _config.Hypervisor.Node >= 0 && _document.Member(_config.Hypervisor.Node, "memory") >= 0
                    ? _document.Member(_config.Hypervisor.Node, "memory") : _document.Root;
                Error(node, string.Concat("the hypervisor keeps ", ConfigText.Size(used), string.Concat(", more than the ", ConfigText.Size(available), " "),
                    string.Concat(MachineName, "; nothing can start")), -1);
                return;
            }
            var counted = new bool[shared.Length];
            int host = -1;
            for (int p = 0; p < partitions.Length && host < 0; p++)
                if (partitions[p].Role == PartitionRole.Host)
                    host = p;
            for (int i = -1; i < partitions.Length; i++)
            {
                int p = i < 0 ? host : i;
                if (p < 0 || (i >= 0 && p == host))
                    continue;
                ulong need = partitions[p].TotalMemory;
                for (int s = 0; s < shared.Length; s++)
                    if (!counted[s] && IsSideOf(shared[s], partitions[p].Name))
                        need += shared[s].Size;
                if (used + need <= available && used + need >= used)
                {
                    used += need;
                    for (int s = 0; s < shared.Length; s++)
                        counted[s] |= IsSideOf(shared[s], partitions[p].Name);
                    continue;
                }
                int memoryNode = _document.Member(partitions[p].Node, "memory");
                if (tooLarge[p] || memoryNode < 0)
                    continue; // its region was already reported as larger than the machine
                Error(memoryNode, string.Concat(
                    string.Concat("does not fit in RAM: the partition needs ", ConfigText.Size(need), " (its regions and the shared memory it is the first to use); "),
                    string.Concat("the hypervisor and the partitions created before it (the host first, then in config order) take ", ConfigText.Size(used), " of the "),
                    string.Concat(ConfigText.Size(available), " ", MachineName, string.Concat(", leaving ", ConfigText.Size(available - used))),
                    "; at boot it is left out and the others start"), p);
            }
        }

        private static bool IsSideOf(SharedMemoryConfig region, string partition)
        {
            if (partition.Length == 0)
                return false;
            for (int i = 0; i < region.Sides.Length; i++)
                if (region.Sides[i].Partition == partition)
                    return true;
            return false;
        }

        private bool InsideAvailable(ulong start, ulong size)
        {
            var map = _facts.MemoryMap;
            for (int i = 0; i < map.Length; i++)
                if (map[i].Type == MemoryRegionType.Available && start >= map[i].Start && start + size <= map[i].End)
                    return true;
            return false;
        }

        private string AvailableText()
        {
            string text = _facts.IsDeclared ? "the machine section declares " : "this machine's available RAM is ";
            int shown = 0;
            var map = _facts.MemoryMap;
            for (int i = 0; i < map.Length && shown < 8; i++)
            {
                if (map[i].Type != MemoryRegionType.Available)
                    continue;
                text = string.Concat(text, shown == 0 ? "" : ", ", Range(map[i].Start, map[i].Length));
                shown++;
            }
            return shown == 0 ? string.Concat(text, "nothing") : text;
        }

        // ---- Devices ----

        private void ValidateDevices()
        {
            var partitions = _config.Partitions;
            var ports = new ValueList<Claim>(16);
            var mmio = new ValueList<Claim>(8);
            var pci = new ValueList<Claim>(8);
            int console = _config.Hypervisor.ConsolePort;
            for (int p = 0; p < partitions.Length; p++)
            {
                var devices = partitions[p].Devices;
                // A role missing or misspelt is the reader's error; the DMA rule waits until it is read as "guest".
                int role = _document.Member(partitions[p].Node, "role");
                bool guest = partitions[p].Role != PartitionRole.Host && role >= 0 && !_errors.HasErrorAt(role);
                for (int i = 0; i < devices.IoPorts.Length; i++)
                {
                    var range = devices.IoPorts[i];
                    if (_document.Member(range.Node, "base") < 0)
                        continue;
                    if (range.End > 0x10000)
                    {
                        Error(range.Node, string.Concat("ports ", ConfigText.Hex((ulong)range.Base), " + ", string.Concat(ConfigText.Decimal(range.Count),
                            " run past 0xFFFF, the last I/O port; lower \"count\"")), p);
                        continue;
                    }
                    if (range.Base < console + 8 && console < range.End)
                        Error(range.Node, string.Concat("ports ", PortRangeText(range.Base, range.End), " include the hypervisor's console UART (",
                            string.Concat(PortRangeText(console, console + 8), "); choose other ports or move hypervisor.console_port")), p);
                    CheckClaim(ports, (ulong)range.Base, (ulong)range.End, range.Node, p, "I/O ports ");
                    var uart = devices.Uart;
                    if (uart != null && range.Base < uart.Port + 8 && uart.Port < range.End)
                        Error(range.Node, string.Concat("ports ", PortRangeText(range.Base, range.End), " overlap this partition's virtual UART (",
                            string.Concat(PortRangeText(uart.Port, uart.Port + 8), "); a port is either passed through or emulated")), p);
                }
                for (int i = 0; i < devices.Mmio.Length; i++)
                {
                    var range = devices.Mmio[i];
                    int baseNode = _document.Member(range.Node, "base"), sizeNode = _document.Member(range.Node, "size");
                    if (baseNode < 0 || sizeNode < 0)
                        continue;
                    if (range.Size == 0)
                    {
                        Error(sizeNode, "the size must not be 0; give at least 4 KiB", p);
                        continue;
                    }
                    bool aligned = CheckAligned(baseNode, range.Base, "base", p) & CheckAligned(sizeNode, range.Size, "the size", p);
                    if (!aligned || !CheckNoWrap(baseNode, range.Base, range.Size, p))
                        continue;
                    CheckClaim(mmio, range.Base, range.Base + range.Size, range.Node, p, "MMIO ");
                    for (int q = 0; q < partitions.Length; q++)
                    {
                        var regions = partitions[q].Memory;
                        for (int r = 0; r < regions.Length; r++)
                        {
                            if (regions[r].HasHostPhysical && Overlaps(range.Base, range.Size, regions[r].HostPhysical, regions[r].Size))
                                Error(baseNode, string.Concat("MMIO ", Range(range.Base, range.Size), " overlaps the RAM of ",
                                    string.Concat(_document.PathOf(regions[r].Node), " (", Range(regions[r].HostPhysical, regions[r].Size), ")")), p);
                        }
                    }
                    if (!_facts.IsDeclared && InsideAvailableAny(range.Base, range.Size))
                        Error(baseNode, string.Concat("MMIO ", Range(range.Base, range.Size), " is RAM on this machine, not a device: ", AvailableText()), p);
                }
                for (int i = 0; i < devices.Pci.Length; i++)
                {
                    var function = devices.Pci[i];
                    // No IOMMU confines a bus master's DMA yet (VT-d, README "Isolation"); the host's
                    // RAM is identity-mapped, so its devices' DMA lands in its own memory.
                    if (guest)
                        Error(function.Node, string.Concat("PCI function ", function.Text, string.Concat(" can master the bus (DMA): without an IOMMU ",
                            "(VT-d is not programmed yet) it could write any memory of the machine, the hypervisor's and other partitions' included; "),
                            "only the host partition, whose RAM is identity-mapped, may own PCI functions until then: give it to the host or leave it out"), p);
                    CheckClaim(pci, (ulong)function.Key, (ulong)function.Key + 1, function.Node, p, "PCI function ");
                }
            }
        }

        private bool InsideAvailableAny(ulong start, ulong size)
        {
            var map = _facts.MemoryMap;
            for (int i = 0; i < map.Length; i++)
                if (map[i].Type == MemoryRegionType.Available && Overlaps(start, size, map[i].Start, map[i].Length))
                    return true;
            return false;
        }

        // ---- Shared memory ----

        private void ValidateSharedMemory()
        {
            var shared = _config.SharedMemory;
            var partitions = _config.Partitions;
            var names = new string[partitions.Length];
            for (int i = 0; i < partitions.Length; i++)
                names[i] = partitions[i].Name;
            for (int s = 0; s < shared.Length; s++)
            {
                var region = shared[s];
                for (int other = 0; other < s; other++)
                {
                    if (region.Name.Length > 0 && shared[other].Name == region.Name)
                    {
                        Error(_document.Member(region.Node, "name"), string.Concat("the name \"", region.Name, "\" is already used by ",
                            string.Concat(_document.PathOf(shared[other].Node), "; shared memory names must be unique")), -1);
                        break;
                    }
                }
                int sizeNode = _document.Member(region.Node, "size");
                if (sizeNode >= 0)
                {
                    if (region.Size == 0)
                        Error(sizeNode, "the size must not be 0; give at least 4 KiB", -1);
                    else
                        CheckAligned(sizeNode, region.Size, "the size", -1);
                }
                for (int i = 0; i < region.Sides.Length; i++)
                {
                    var side = region.Sides[i];
                    int partitionNode = _document.Member(side.Node, "partition");
                    if (partitionNode < 0)
                        continue;
                    int p = _config.IndexOfPartition(side.Partition);
                    if (p < 0)
                    {
                        string suggestion = ConfigText.Suggest(side.Partition, names);
                        string message = string.Concat("there is no partition named ", ConfigText.Quote(side.Partition));
                        message = suggestion != null
                            ? string.Concat(message, "; did you mean \"", suggestion, "\"?")
                            : string.Concat(message, "; the partitions are ", names.Length == 0 ? "none" : ConfigText.QuotedList(names));
                        Error(partitionNode, message, -1);
                        continue;
                    }
                    for (int j = 0; j < i; j++)
                    {
                        if (region.Sides[j].Partition == side.Partition)
                        {
                            Error(partitionNode, string.Concat("partition \"", side.Partition, "\" is already a side of this region; list each partition once"), p);
                            break;
                        }
                    }
                    if (!side.HasGuestPhysical)
                        continue; // ConfigReader reported it
                    int gpaNode = _document.Member(side.Node, "guest_physical");
                    if (!CheckAligned(gpaNode, side.GuestPhysical, "guest_physical", p) || !CheckNoWrap(gpaNode, side.GuestPhysical, region.Size, p))
                        continue;
                    var regions = partitions[p].Memory;
                    for (int r = 0; r < regions.Length; r++)
                    {
                        // A partition's first region without guest_physical starts at 0.
                        if (!regions[r].HasGuestPhysical && r != 0)
                            continue;
                        ulong ramStart = regions[r].HasGuestPhysical ? regions[r].GuestPhysical : 0;
                        if (Overlaps(side.GuestPhysical, region.Size, ramStart, regions[r].Size))
                        {
                            Error(gpaNode, string.Concat("guest-physical ", Range(side.GuestPhysical, region.Size), " overlaps the partition's RAM at ",
                                string.Concat(_document.PathOf(regions[r].Node), " (", Range(ramStart, regions[r].Size), ")")), p);
                            break;
                        }
                    }
                    CheckSidesOfOtherRegionsApart(shared, s, side, region.Size, gpaNode, p);
                }
            }
        }

        // Two shared regions must not appear at overlapping addresses in the same partition
        // (checked against the regions listed before this one).
        private void CheckSidesOfOtherRegionsApart(SharedMemoryConfig[] shared, int s, SharedMemorySide side, ulong size, int gpaNode, int p)
        {
            for (int other = 0; other < s; other++)
            {
                foreach (var otherSide in shared[other].Sides)
                {
                    if (otherSide.Partition != side.Partition || !otherSide.HasGuestPhysical
                        || !Overlaps(side.GuestPhysical, size, otherSide.GuestPhysical, shared[other].Size))
                        continue;
                    Error(gpaNode, string.Concat("guest-physical ", Range(side.GuestPhysical, size), " overlaps shared region \"", shared[other].Name,
                        string.Concat("\" in the same partition, at ", _document.PathOf(otherSide.Node), " (", Range(otherSide.GuestPhysical, shared[other].Size), ")")), p);
                    return;
                }
            }
        }

        // ---- Guest images (boot modules) ----

        private void ValidateImages()
        {
            var partitions = _config.Partitions;
            for (int p = 0; p < partitions.Length; p++)
            {
                var boot = partitions[p].Boot;
                if (boot == null)
                    continue;
                var images = boot.Images();
                ulong total = 0;
                for (int i = 0; i < images.Length; i++)
                {
                    int module = FindModule(images[i].ModuleCommandLine);
                    if (module < 0)
                    {
                        Error(images[i].Node, string.Concat("the image ", ConfigText.Quote(images[i].Path), " was not loaded: no boot module has the command line \"",
                            string.Concat(images[i].ModuleCommandLine, "\"; build the ISO with 'partition image'")), p);
                        continue;
                    }
                    ulong size = _facts.Modules[module].Size;
                    if (size == 0)
                        Error(images[i].Node, string.Concat("the image ", ConfigText.Quote(images[i].Path), " is empty"), p);
                    else if (boot.Kind == BootKind.Linux && images[i] == boot.Kernel)
                        CheckLinuxKernel(boot, _facts.Contents(_facts.Modules[module]), p);
                    else if (boot.Kind == BootKind.Multiboot)
                        CheckMultibootCommandLine(boot, images[i], p);
                    total += size;
                }
                ulong memory = partitions[p].TotalMemory;
                if (memory > 0 && total > memory)
                    Error(boot.Node, string.Concat("the boot images take ", ConfigText.Size(total), string.Concat(", more than the partition's ", ConfigText.Size(memory), " of memory"),
                        "; give the partition more memory"), p);
            }
        }

        // What the loader checks at boot (LinuxBoot.TryLoad), with its words: a bzImage with a
        // 64-bit entry, and a command line the kernel takes whole.
        private void CheckLinuxKernel(BootConfig boot, ReadOnlySpan<byte> kernel, int p)
        {
            if (kernel.IsEmpty)
                return;
            string file = string.Concat("the kernel ", ConfigText.Quote(boot.Kernel.Path));
            if (!LinuxKernelHeader.TryParse(kernel, out var header, out string error))
            {
                Error(boot.Kernel.Node, string.Concat(file, " cannot be booted by the Linux 64-bit boot protocol: ", error), p);
                return;
            }
            if (!header.TryCheckCommandLine(boot.CommandLine, out error))
            {
                int cmdline = _document.Member(boot.Node, "cmdline");
                Error(cmdline >= 0 ? cmdline : boot.Node, string.Concat(file, ": ", error), p);
            }
        }

        // A Multiboot kernel reads its command line and each module's as C strings (Multiboot
        // 0.6.96, 3.3): a NUL inside would hide the rest. The words are the Linux loader's, whose
        // check this is with no cmdline_size; the Multiboot loader's only length limit is the
        // room left for the boot information, which 'partition check --images' finds by running it.
        private void CheckMultibootCommandLine(BootConfig boot, ImageReference image, int p)
        {
            bool kernel = image == boot.Kernel;
            string commandLine = kernel ? boot.CommandLine : image.CommandLine;
            if (LinuxKernelHeader.TryCheckCommandLine(commandLine, uint.MaxValue, out string error))
                return;
            int node = kernel ? _document.Member(boot.Node, "cmdline") : _document.Member(image.Node, "cmdline");
            string file = string.Concat(kernel ? "the kernel " : "the module ", ConfigText.Quote(image.Path));
            Error(node >= 0 ? node : image.Node, string.Concat(file, ": ", error), p);
        }

        private int FindModule(string commandLine)
        {
            var modules = _facts.Modules;
            for (int i = 0; i < modules.Length; i++)
            {
                string line = modules[i].CommandLine;
                if (line == commandLine || (line.Length > commandLine.Length && line.StartsWith(commandLine) && line[commandLine.Length] == ' '))
                    return i;
            }
            return -1;
        }

        // ---- Helpers ----

        private bool CheckAligned(int node, ulong value, string what, int partition)
        {
            if (value % PageSize == 0)
                return true;
            ulong down = value & ~(PageSize - 1);
            Error(node, string.Concat(what, string.Concat(" ", ConfigText.Hex(value), " is not a multiple of 4 KiB (0x1000); use "),
                string.Concat(ConfigText.Hex(down), " or ", ConfigText.Hex(down + PageSize))), partition);
            return false;
        }

        private bool CheckNoWrap(int node, ulong start, ulong size, int partition)
        {
            if (start + size >= start)
                return true;
            Error(node, string.Concat(ConfigText.Hex(start), " + ", string.Concat(ConfigText.Size(size), " runs past the end of the 64-bit address space")), partition);
            return false;
        }

        /// <summary>Records a claim; reports it if it overlaps one already made (by this or another partition).</summary>
        private void CheckClaim(ValueList<Claim> claims, ulong start, ulong end, int node, int partition, string what)
        {
            for (int i = 0; i < claims.Count; i++)
            {
                var other = claims[i];
                if (start < other.End && other.Start < end)
                {
                    string owner = other.Partition == partition ? "this partition, at " : string.Concat(Describe(other.Partition), ", at ");
                    Error(node, string.Concat(what, "already owned by ", owner, string.Concat(_document.PathOf(other.Node),
                        "; each is given to one partition only", what == "host-physical memory " ? " (use shared_memory to share RAM)" : "")), partition);
                    return;
                }
            }
            claims.Add(new Claim { Start = start, End = end, Node = node, Partition = partition });
        }

        private static bool Overlaps(ulong a, ulong aSize, ulong b, ulong bSize) =>
            aSize > 0 && bSize > 0 && a < b + bSize && b < a + aSize;

        private static string Range(ulong start, ulong size) => string.Concat(ConfigText.Hex(start), "-", ConfigText.Hex(start + size));

        private static string PortRangeText(int start, int end) => string.Concat(ConfigText.Hex((ulong)start), "-", ConfigText.Hex((ulong)(end - 1)));

        /// <summary>"partitions[1] (alpha)".</summary>
        private string Describe(int partition)
        {
            var config = _config.Partitions[partition];
            string path = _document.PathOf(config.Node);
            return config.Name.Length > 0 ? string.Concat(path, " (", config.Name, ")") : path;
        }

        private string DescribeNode(int node) => _document.PathOf(node);

        private void Error(int node, string message, int partition)
        {
            if (!_errors.HasErrorAt(node))
                _errors.Add(node, message, partition);
        }
    }
}
