using System;

namespace Partition.Configs
{
    /// <summary>
    /// Binds a parsed JSON document to the typed model (<see cref="PartitionConfiguration"/>),
    /// reporting every problem of shape: wrong types, unknown keys (with a suggestion), duplicate
    /// keys, missing keys, values out of range, lists longer than the hypervisor's limits. What the
    /// values mean together (overlaps, ownership, references) is <see cref="ConfigValidator"/>'s job.
    /// </summary>
    /// <remarks>
    /// Lists are cut at the hypervisor's limits, so the model's size is bounded however large the
    /// input; a value with an error is left at its default and reading goes on, so that one pass
    /// finds every error.
    /// </remarks>
    public sealed class ConfigReader
    {
        public const int MaxPartitions = 64;
        public const int MaxVcpus = 64;
        public const int MaxCores = 256;
        public const int MaxListLength = 64;
        public const int MaxNameLength = 32;

        private static readonly string[] RootKeys = { "version", "machine", "hypervisor", "partitions", "shared_memory", "schedules", "description", "$schema" };
        private static readonly string[] MachineKeys = { "cores", "memory" };
        private static readonly string[] HypervisorKeys = { "console_port", "memory" };
        private static readonly string[] PartitionKeys = { "name", "role", "vcpus", "memory", "boot", "devices", "description" };
        private static readonly string[] VcpuKeys = { "core", "placement", "slice_us", "weight" };
        private static readonly string[] MemoryKeys = { "size", "guest_physical", "host_physical" };
        private static readonly string[] BootKeys = { "type", "kernel", "initrd", "modules", "cmdline", "image", "load_address", "entry", "mode" };
        private static readonly string[] ModuleKeys = { "path", "cmdline" };
        private static readonly string[] DeviceKeys = { "io_ports", "mmio", "pci", "uart" };
        private static readonly string[] PortRangeKeys = { "base", "count" };
        private static readonly string[] MmioKeys = { "base", "size" };
        private static readonly string[] UartKeys = { "port" };
        private static readonly string[] SharedKeys = { "name", "size", "sides" };
        private static readonly string[] SideKeys = { "partition", "access", "guest_physical" };
        private static readonly string[] ScheduleKeys = { "core", "policy", "period_us" };

        private static readonly string[] Roles = { "host", "guest" };
        private static readonly string[] Placements = { "dedicated", "shared" };
        private static readonly string[] BootTypes = { "linux", "multiboot", "flat" };
        private static readonly string[] EntryModes = { "real", "protected32", "long64" };
        private static readonly string[] AccessNames = { "read", "read-write" };
        private static readonly string[] Policies = { "dedicated", "round-robin", "weighted" };
        private static readonly string[] SizeUnits = { "B", "KiB", "MiB", "GiB", "TiB" };

        private readonly JsonDocument _document;
        private readonly ConfigErrorList _errors;
        private int _partition = -1;

        public ConfigReader(JsonDocument document, ConfigErrorList errors)
        {
            _document = document;
            _errors = errors;
        }

        /// <summary>Reads the document's root; never null (missing parts keep their defaults).</summary>
        public PartitionConfiguration Read()
        {
            var config = new PartitionConfiguration();
            int root = _document.Root;
            Span<int> m = stackalloc int[RootKeys.Length];
            if (!Members(root, RootKeys, m, "the configuration"))
                return config;

            if (Require(m[0], root, "version", "the format version, 1"))
            {
                if (ReadNumber(m[0], 0, 1000000, out ulong version))
                {
                    config.Version = (int)version;
                    if (version != PartitionConfiguration.FormatVersion)
                        Error(m[0], string.Concat("format version ", ConfigText.Decimal(version), " is not supported: this build reads version 1"));
                }
            }
            if (Require(m[1], root, "machine", "the machine's \"cores\" and \"memory\""))
                ReadMachine(m[1], config.Machine);
            if (m[2] >= 0)
                ReadHypervisor(m[2], config.Hypervisor);
            if (m[7] >= 0)
                ReadString(m[7], out _);
            if (m[6] >= 0)
                ReadString(m[6], out _);

            if (Require(m[3], root, "partitions", "an array of partitions, one of them with \"role\": \"host\""))
            {
                int count = ArrayLength(m[3], 1, MaxPartitions, "partitions");
                var partitions = new PartitionConfig[count];
                int index = 0;
                for (int child = _document.FirstChild(m[3]); child >= 0 && index < count; child = _document.NextSibling(child), index++)
                {
                    _partition = index;
                    partitions[index] = ReadPartition(child);
                }
                _partition = -1;
                config.Partitions = partitions;
            }
            if (m[4] >= 0)
            {
                int count = ArrayLength(m[4], 0, MaxListLength, "shared memory regions");
                var shared = new SharedMemoryConfig[count];
                int index = 0;
                for (int child = _document.FirstChild(m[4]); child >= 0 && index < count; child = _document.NextSibling(child), index++)
                    shared[index] = ReadShared(child, config);
                config.SharedMemory = shared;
            }
            if (m[5] >= 0)
            {
                int count = ArrayLength(m[5], 0, MaxCores, "schedules");
                var schedules = new ScheduleConfig[count];
                int index = 0;
                for (int child = _document.FirstChild(m[5]); child >= 0 && index < count; child = _document.NextSibling(child), index++)
                    schedules[index] = ReadSchedule(child);
                config.Schedules = schedules;
            }
            return config;
        }

        private void ReadMachine(int node, MachineConfig machine)
        {
            machine.Node = node;
            Span<int> m = stackalloc int[MachineKeys.Length];
            if (!Members(node, MachineKeys, m, "machine"))
                return;
            if (Require(m[0], node, "cores", "the number of logical CPUs, 1 to 256") && ReadNumber(m[0], 1, MaxCores, out ulong cores))
                machine.Cores = (int)cores;
            if (Require(m[1], node, "memory", "the machine's RAM, e.g. \"2 GiB\"") && ReadSize(m[1], out ulong memory))
            {
                if (memory == 0)
                    Error(m[1], "the machine's memory must not be 0");
                machine.Memory = memory;
            }
        }

        private void ReadHypervisor(int node, HypervisorConfig hypervisor)
        {
            hypervisor.Node = node;
            Span<int> m = stackalloc int[HypervisorKeys.Length];
            if (!Members(node, HypervisorKeys, m, "hypervisor"))
                return;
            if (m[0] >= 0 && ReadUInt(m[0], 0, 0xFFF8, out ulong port))
                hypervisor.ConsolePort = (int)port;
            if (m[1] >= 0 && ReadSize(m[1], out ulong memory))
                hypervisor.Memory = memory;
        }

        private PartitionConfig ReadPartition(int node)
        {
            var partition = new PartitionConfig { Node = node };
            Span<int> m = stackalloc int[PartitionKeys.Length];
            if (!Members(node, PartitionKeys, m, "a partition"))
                return partition;
            if (Require(m[0], node, "name", "a name of letters, digits, '-' and '_'") && ReadString(m[0], out string name))
            {
                if (IsValidName(name))
                    partition.Name = name;
                else
                    Error(m[0], "a partition name must be 1 to 32 letters, digits, '-' or '_'");
            }
            if (Require(m[1], node, "role", "\"host\" (exactly one partition) or \"guest\"") && ReadEnum(m[1], Roles, out int role))
                partition.Role = role == 0 ? PartitionRole.Host : PartitionRole.Guest;
            if (m[6] >= 0)
                ReadString(m[6], out _);

            if (Require(m[2], node, "vcpus", "an array of vCPUs, e.g. [{ \"core\": 1 }]"))
            {
                int count = ArrayLength(m[2], 1, MaxVcpus, "vCPUs");
                partition.Vcpus = new VcpuConfig[count];
                int index = 0;
                for (int child = _document.FirstChild(m[2]); child >= 0 && index < count; child = _document.NextSibling(child), index++)
                    partition.Vcpus[index] = ReadVcpu(child);
            }
            if (Require(m[3], node, "memory", "an array of memory regions, e.g. [{ \"size\": \"64 MiB\" }]"))
            {
                int count = ArrayLength(m[3], 1, MaxListLength, "memory regions");
                partition.Memory = new MemoryRegionConfig[count];
                int index = 0;
                for (int child = _document.FirstChild(m[3]); child >= 0 && index < count; child = _document.NextSibling(child), index++)
                    partition.Memory[index] = ReadMemoryRegion(child);
            }
            if (Require(m[4], node, "boot", "what the partition boots: { \"type\": \"linux\" | \"multiboot\" | \"flat\", ... }"))
                partition.Boot = ReadBoot(m[4], partition.Name);
            if (m[5] >= 0)
                partition.Devices = ReadDevices(m[5]);
            return partition;
        }

        private VcpuConfig ReadVcpu(int node)
        {
            var vcpu = new VcpuConfig { Node = node };
            Span<int> m = stackalloc int[VcpuKeys.Length];
            if (!Members(node, VcpuKeys, m, "a vCPU"))
                return vcpu;
            if (Require(m[0], node, "core", "the physical core it runs on, 0 to 255") && ReadNumber(m[0], 0, MaxCores - 1, out ulong core))
                vcpu.Core = (int)core;
            if (m[1] >= 0 && ReadEnum(m[1], Placements, out int placement))
                vcpu.Placement = placement == 0 ? VcpuPlacement.Dedicated : VcpuPlacement.Shared;
            if (vcpu.Placement == VcpuPlacement.Shared)
            {
                vcpu.SliceMicroseconds = 1000;
                if (m[2] >= 0 && ReadNumber(m[2], 1, 1000000, out ulong slice))
                    vcpu.SliceMicroseconds = slice;
                if (m[3] >= 0 && ReadNumber(m[3], 1, 1000, out ulong weight))
                    vcpu.Weight = weight;
            }
            else
            {
                if (m[2] >= 0)
                    Error(m[2], "a dedicated vCPU has no time slice: remove \"slice_us\" or set \"placement\": \"shared\"", -1, true);
                if (m[3] >= 0)
                    Error(m[3], "a dedicated vCPU has no weight: remove \"weight\" or set \"placement\": \"shared\"", -1, true);
            }
            return vcpu;
        }

        private MemoryRegionConfig ReadMemoryRegion(int node)
        {
            var region = new MemoryRegionConfig { Node = node };
            Span<int> m = stackalloc int[MemoryKeys.Length];
            if (!Members(node, MemoryKeys, m, "a memory region"))
                return region;
            if (Require(m[0], node, "size", "its size, e.g. \"64 MiB\"") && ReadSize(m[0], out ulong size))
                region.Size = size;
            if (m[1] >= 0 && ReadAddress(m[1], out ulong gpa))
            {
                region.HasGuestPhysical = true;
                region.GuestPhysical = gpa;
            }
            if (m[2] >= 0 && ReadAddress(m[2], out ulong hpa))
            {
                region.HasHostPhysical = true;
                region.HostPhysical = hpa;
            }
            return region;
        }

        private BootConfig ReadBoot(int node, string partitionName)
        {
            var boot = new BootConfig { Node = node };
            Span<int> m = stackalloc int[BootKeys.Length];
            if (!Members(node, BootKeys, m, "boot"))
                return boot;
            if (!Require(m[0], node, "type", "\"linux\", \"multiboot\" or \"flat\"") || !ReadEnum(m[0], BootTypes, out int type))
                return boot;
            boot.Kind = (BootKind)type;
            // Which keys each boot type takes: index into BootKeys.
            bool linux = boot.Kind == BootKind.Linux, multiboot = boot.Kind == BootKind.Multiboot, flat = boot.Kind == BootKind.Flat;
            string typeName = BootTypes[type];
            string keysOfType = linux ? "\"kernel\", \"initrd\", \"cmdline\""
                : multiboot ? "\"kernel\", \"modules\", \"cmdline\""
                : "\"image\", \"load_address\", \"entry\", \"mode\"";
            for (int key = 1; key < BootKeys.Length; key++)
            {
                bool allowed = key switch
                {
                    1 => linux || multiboot,
                    2 => linux,
                    3 => multiboot,
                    4 => linux || multiboot,
                    _ => flat,
                };
                if (m[key] >= 0 && !allowed)
                {
                    Error(m[key], string.Concat("boot type \"", typeName, string.Concat("\" does not use \"", BootKeys[key], "\"; its keys are "), keysOfType), -1, true);
                    m[key] = -1;
                }
            }
            if (m[4] >= 0 && ReadString(m[4], out string cmdline))
                boot.CommandLine = cmdline;
            if (linux || multiboot)
            {
                if (Require(m[1], node, "kernel", "the kernel file, relative to the config file") && ReadPath(m[1], out string kernel))
                    boot.Kernel = new ImageReference(m[1], kernel, partitionName, "kernel", "");
                if (m[2] >= 0 && ReadPath(m[2], out string initrd))
                    boot.Initrd = new ImageReference(m[2], initrd, partitionName, "initrd", "");
                if (m[3] >= 0)
                {
                    int count = ArrayLength(m[3], 0, MaxListLength, "modules");
                    var modules = new ValueList<ImageReference>(Math.Max(count, 1));
                    int index = 0;
                    for (int child = _document.FirstChild(m[3]); child >= 0 && index < count; child = _document.NextSibling(child), index++)
                    {
                        var module = ReadModule(child, partitionName, index);
                        if (module != null)
                            modules.Add(module);
                    }
                    boot.Modules = modules.ToArray();
                }
            }
            else
            {
                if (Require(m[5], node, "image", "the binary file, relative to the config file") && ReadPath(m[5], out string image))
                    boot.Kernel = new ImageReference(m[5], image, partitionName, "image", "");
                if (Require(m[6], node, "load_address", "the guest-physical address to load the binary at, e.g. \"0x100000\"") && ReadAddress(m[6], out ulong load))
                    boot.LoadAddress = load;
                boot.Entry = boot.LoadAddress;
                if (m[7] >= 0 && ReadAddress(m[7], out ulong entry))
                {
                    boot.Entry = entry;
                    boot.HasEntry = true;
                }
                if (Require(m[8], node, "mode", "\"real\", \"protected32\" or \"long64\"") && ReadEnum(m[8], EntryModes, out int mode))
                    boot.Mode = (EntryMode)mode;
            }
            return boot;
        }

        private ImageReference ReadModule(int node, string partitionName, int index)
        {
            string what = string.Concat("module", ConfigText.Decimal(index));
            if (_document.KindOf(node) == JsonKind.String)
                return ReadPath(node, out string file) ? new ImageReference(node, file, partitionName, what, "") : null;
            Span<int> m = stackalloc int[ModuleKeys.Length];
            if (!Members(node, ModuleKeys, m, "a module (a path, or { \"path\": ..., \"cmdline\": ... })"))
                return null;
            string cmdline = "";
            if (m[1] >= 0 && ReadString(m[1], out string text))
                cmdline = text;
            if (Require(m[0], node, "path", "the module file, relative to the config file") && ReadPath(m[0], out string path))
                return new ImageReference(node, path, partitionName, what, cmdline);
            return null;
        }

        private DeviceConfig ReadDevices(int node)
        {
            var devices = new DeviceConfig { Node = node };
            Span<int> m = stackalloc int[DeviceKeys.Length];
            if (!Members(node, DeviceKeys, m, "devices"))
                return devices;
            if (m[0] >= 0)
            {
                Span<int> r = stackalloc int[PortRangeKeys.Length];
                int count = ArrayLength(m[0], 0, MaxListLength, "I/O port ranges");
                devices.IoPorts = new PortRange[count];
                int index = 0;
                for (int child = _document.FirstChild(m[0]); child >= 0 && index < count; child = _document.NextSibling(child), index++)
                {
                    var range = new PortRange { Node = child, Count = 1 };
                    if (Members(child, PortRangeKeys, r, "an I/O port range"))
                    {
                        if (Require(r[0], child, "base", "the first port, 0 to 0xFFFF") && ReadUInt(r[0], 0, 0xFFFF, out ulong b))
                            range.Base = (int)b;
                        if (r[1] >= 0 && ReadNumber(r[1], 1, 0x10000, out ulong c))
                            range.Count = (int)c;
                    }
                    devices.IoPorts[index] = range;
                }
            }
            if (m[1] >= 0)
            {
                Span<int> r = stackalloc int[MmioKeys.Length];
                int count = ArrayLength(m[1], 0, MaxListLength, "MMIO ranges");
                devices.Mmio = new MmioRange[count];
                int index = 0;
                for (int child = _document.FirstChild(m[1]); child >= 0 && index < count; child = _document.NextSibling(child), index++)
                {
                    var range = new MmioRange { Node = child };
                    if (Members(child, MmioKeys, r, "an MMIO range"))
                    {
                        if (Require(r[0], child, "base", "the physical address, e.g. \"0xFED00000\"") && ReadAddress(r[0], out ulong b))
                            range.Base = b;
                        if (Require(r[1], child, "size", "its size, e.g. \"4 KiB\"") && ReadSize(r[1], out ulong s))
                            range.Size = s;
                    }
                    devices.Mmio[index] = range;
                }
            }
            if (m[2] >= 0)
            {
                int count = ArrayLength(m[2], 0, MaxListLength, "PCI functions");
                var pci = new ValueList<PciAddress>(Math.Max(count, 1));
                int index = 0;
                for (int child = _document.FirstChild(m[2]); child >= 0 && index < count; child = _document.NextSibling(child), index++)
                {
                    if (ReadString(child, out string text))
                    {
                        var address = ParsePci(text);
                        if (address == null)
                            Error(child, string.Concat(ConfigText.Quote(text), " is not a PCI address: write bus:device.function in hex, e.g. \"00:1f.2\" (bus 00-ff, device 00-1f, function 0-7)"));
                        else
                        {
                            address.Node = child;
                            pci.Add(address);
                        }
                    }
                }
                devices.Pci = pci.ToArray();
            }
            if (m[3] >= 0)
            {
                var uart = new VirtualUartConfig { Node = m[3], Port = 0x3F8 };
                Span<int> r = stackalloc int[UartKeys.Length];
                if (Members(m[3], UartKeys, r, "a virtual UART"))
                {
                    if (Require(r[0], m[3], "port", "its I/O port, e.g. \"0x3F8\"") && ReadUInt(r[0], 0, 0xFFF8, out ulong port))
                        uart.Port = (int)port;
                    devices.Uart = uart;
                }
            }
            return devices;
        }

        private SharedMemoryConfig ReadShared(int node, PartitionConfiguration config)
        {
            var shared = new SharedMemoryConfig { Node = node };
            Span<int> m = stackalloc int[SharedKeys.Length];
            if (!Members(node, SharedKeys, m, "a shared memory region"))
                return shared;
            if (Require(m[0], node, "name", "a name for the region") && ReadString(m[0], out string name))
            {
                if (IsValidName(name))
                    shared.Name = name;
                else
                    Error(m[0], "a shared memory name must be 1 to 32 letters, digits, '-' or '_'");
            }
            if (Require(m[1], node, "size", "its size, e.g. \"64 KiB\"") && ReadSize(m[1], out ulong size))
                shared.Size = size;
            if (Require(m[2], node, "sides", "the partitions that share it, e.g. [{ \"partition\": \"alpha\", \"access\": \"read-write\" }, ...]"))
            {
                Span<int> s = stackalloc int[SideKeys.Length];
                int count = ArrayLength(m[2], 2, MaxPartitions, "sides");
                shared.Sides = new SharedMemorySide[count];
                int index = 0;
                for (int child = _document.FirstChild(m[2]); child >= 0 && index < count; child = _document.NextSibling(child), index++)
                {
                    var side = new SharedMemorySide { Node = child };
                    if (Members(child, SideKeys, s, "a side of a shared memory region"))
                    {
                        if (Require(s[0], child, "partition", "the name of a partition") && ReadString(s[0], out string partition))
                            side.Partition = partition;
                        if (Require(s[1], child, "access", "\"read\" or \"read-write\"") && ReadEnum(s[1], AccessNames, out int access))
                            side.Access = access == 0 ? SharedAccess.Read : SharedAccess.ReadWrite;
                        // Required: nothing else says where the region appears. The error stops the
                        // side's partition (the partitions were read before shared memory).
                        if (s[2] < 0)
                            Error(child, string.Concat("missing \"guest_physical\": the address where ", shared.Name.Length > 0 ? ConfigText.Quote(shared.Name) : "the region",
                                string.Concat(" appears in partition ", ConfigText.Quote(side.Partition), ", e.g. \"0x10000000\" (above its RAM)")),
                                side.Partition.Length > 0 ? config.IndexOfPartition(side.Partition) : -1);
                        else if (ReadAddress(s[2], out ulong gpa))
                        {
                            side.HasGuestPhysical = true;
                            side.GuestPhysical = gpa;
                        }
                    }
                    shared.Sides[index] = side;
                }
            }
            return shared;
        }

        private ScheduleConfig ReadSchedule(int node)
        {
            var schedule = new ScheduleConfig { Node = node };
            Span<int> m = stackalloc int[ScheduleKeys.Length];
            if (!Members(node, ScheduleKeys, m, "a schedule"))
                return schedule;
            if (Require(m[0], node, "core", "the core it schedules, 0 to 255") && ReadNumber(m[0], 0, MaxCores - 1, out ulong core))
                schedule.Core = (int)core;
            if (Require(m[1], node, "policy", "\"dedicated\", \"round-robin\" or \"weighted\"") && ReadEnum(m[1], Policies, out int policy))
                schedule.Policy = (SchedulePolicy)policy;
            if (m[2] >= 0 && ReadNumber(m[2], 100, 10000000, out ulong period))
                schedule.PeriodMicroseconds = period;
            return schedule;
        }

        // ---- Shape ----

        /// <summary>
        /// Checks that <paramref name="node"/> is an object whose keys are all in <paramref name="keys"/>,
        /// each at most once, and fills <paramref name="found"/> with each key's value node (-1: absent).
        /// </summary>
        private bool Members(int node, string[] keys, Span<int> found, string what)
        {
            found.Fill(-1);
            if (_document.KindOf(node) != JsonKind.Object)
            {
                Error(node, string.Concat(what, " must be an object { ... }, not ", Describe(node)));
                return false;
            }
            for (int child = _document.FirstChild(node); child >= 0; child = _document.NextSibling(child))
            {
                int keyNode = _document.KeyOf(child);
                int index = -1;
                for (int k = 0; k < keys.Length; k++)
                {
                    if (_document.StringEquals(keyNode, keys[k]))
                    {
                        index = k;
                        break;
                    }
                }
                if (index < 0)
                {
                    string key = _document.GetStringPrefix(keyNode, ConfigText.QuoteLimit, out bool cut);
                    string suggestion = cut ? null : ConfigText.Suggest(key, keys);
                    string message = string.Concat("unknown key \"", ConfigText.Cut(key, cut), "\"");
                    message = suggestion != null
                        ? string.Concat(message, "; did you mean \"", suggestion, "\"?")
                        : string.Concat(message, "; valid keys here: ", ConfigText.QuotedList(keys));
                    Error(child, message, -1, true);
                }
                else if (found[index] >= 0)
                {
                    _document.LineAndColumn(_document.StartOffset(_document.KeyOf(found[index])), out int line, out int column);
                    Error(child, string.Concat("duplicate key \"", keys[index], "\": it was already given at line ",
                        string.Concat(ConfigText.Decimal(line), ", column ", ConfigText.Decimal(column), "; give each key once")), -1, true);
                }
                else
                {
                    found[index] = child;
                }
            }
            return true;
        }

        private bool Require(int member, int objectNode, string key, string expected)
        {
            if (member >= 0)
                return true;
            Error(objectNode, string.Concat("missing \"", key, "\": ", expected));
            return false;
        }

        /// <summary>The number of elements to read: the array's length cut at <paramref name="max"/>, 0 if not an array.</summary>
        private int ArrayLength(int node, int min, int max, string what)
        {
            if (_document.KindOf(node) != JsonKind.Array)
            {
                Error(node, string.Concat("must be an array [ ... ] of ", what, ", not ", Describe(node)));
                return 0;
            }
            int count = _document.ChildCount(node);
            if (count < min)
                Error(node, string.Concat("needs at least ", ConfigText.Decimal(min), " ", string.Concat(what, ", not ", ConfigText.Decimal(count))));
            if (count > max)
            {
                Error(node, string.Concat("at most ", ConfigText.Decimal(max), " ", string.Concat(what, " are supported, not ", ConfigText.Decimal(count))));
                return max;
            }
            return count;
        }

        // ---- Values ----

        private bool ReadString(int node, out string value)
        {
            value = "";
            if (_document.KindOf(node) != JsonKind.String)
            {
                Error(node, string.Concat("must be a string in double quotes, not ", Describe(node)));
                return false;
            }
            value = _document.GetString(node);
            return true;
        }

        private bool ReadPath(int node, out string path)
        {
            if (!ReadString(node, out path))
                return false;
            if (path.Length == 0)
            {
                Error(node, "a file path must not be empty");
                return false;
            }
            return true;
        }

        private bool ReadEnum(int node, string[] names, out int index)
        {
            index = -1;
            if (_document.KindOf(node) != JsonKind.String)
            {
                Error(node, string.Concat("must be one of ", ConfigText.QuotedList(names), ", not ", Describe(node)));
                return false;
            }
            for (int i = 0; i < names.Length; i++)
            {
                if (_document.StringEquals(node, names[i]))
                {
                    index = i;
                    return true;
                }
            }
            string text = _document.GetStringPrefix(node, ConfigText.QuoteLimit, out bool cut);
            string suggestion = cut ? null : ConfigText.Suggest(text, names);
            string message = string.Concat("\"", ConfigText.Cut(text, cut), "\" is not one of ", ConfigText.QuotedList(names));
            if (suggestion != null)
                message = string.Concat(message, "; did you mean \"", suggestion, "\"?");
            Error(node, message);
            return false;
        }

        /// <summary>
        /// A whole number written as a JSON number (not a string: the schema's "integer"), from
        /// min to max: versions, core numbers and counts, times and weights.
        /// </summary>
        private bool ReadNumber(int node, ulong min, ulong max, out ulong value)
        {
            value = 0;
            string range = string.Concat(ConfigText.Decimal(min), " to ", ConfigText.Decimal(max));
            if (_document.KindOf(node) == JsonKind.String)
            {
                // Say what to write instead when the string holds a number.
                string text = _document.GetStringPrefix(node, ConfigText.QuoteLimit, out bool cut);
                string problem = !cut && ReadNumberOrString(node, false, out ulong inString, out _)
                    ? string.Concat(ConfigText.Quote(text), " is a string; write the number without quotes: ", ConfigText.Decimal(inString))
                    : string.Concat("must be a number, not a string (", ConfigText.Quote(ConfigText.Cut(text, cut)), ")");
                Error(node, string.Concat(problem, "; expected a whole number from ", range));
                return false;
            }
            return ReadUInt(node, min, max, out value);
        }

        /// <summary>A whole number (JSON number, or a string in decimal or "0x" hex) from min to max: ports.</summary>
        private bool ReadUInt(int node, ulong min, ulong max, out ulong value)
        {
            value = 0;
            string range = string.Concat(ConfigText.Decimal(min), " to ", ConfigText.Decimal(max));
            if (!ReadNumberOrString(node, false, out value, out string problem))
            {
                Error(node, string.Concat(problem, "; expected a whole number from ", range));
                return false;
            }
            if (value < min || value > max)
            {
                Error(node, string.Concat(ConfigText.Decimal(value), " is out of range: expected a whole number from ", range));
                return false;
            }
            return true;
        }

        private bool ReadAddress(int node, out ulong value)
        {
            if (!ReadNumberOrString(node, false, out value, out string problem))
            {
                Error(node, string.Concat(problem, "; expected an address, a number or a hex string such as \"0x100000\""));
                return false;
            }
            return true;
        }

        private bool ReadSize(int node, out ulong value)
        {
            if (!ReadNumberOrString(node, true, out value, out string problem))
            {
                Error(node, string.Concat(problem, "; expected a size in bytes, or a string such as \"64 MiB\" (units B, KiB, MiB, GiB, TiB)"));
                return false;
            }
            return true;
        }

        private bool ReadNumberOrString(int node, bool units, out ulong value, out string problem)
        {
            value = 0;
            problem = null;
            JsonKind kind = _document.KindOf(node);
            if (kind == JsonKind.Number)
                return ReadNumberToken(_document.NumberText(node), out value, out problem);
            if (kind != JsonKind.String)
            {
                problem = string.Concat("must be a number or a string, not ", Describe(node));
                return false;
            }
            string s = _document.GetString(node);
            int at = 0;
            while (at < s.Length && s[at] == ' ')
                at++;
            int radix = 10;
            if (at + 1 < s.Length && s[at] == '0' && (s[at + 1] == 'x' || s[at + 1] == 'X'))
            {
                radix = 16;
                at += 2;
            }
            int digitsStart = at;
            // Underscores group digits ("1_048_576"); they do not start a number.
            while (at < s.Length && (at > digitsStart || s[at] != '_'))
            {
                char c = s[at];
                int digit = c < 0x80 ? ConfigText.HexDigit((byte)c) : -1;
                if (c == '_')
                {
                    at++;
                    continue;
                }
                if (digit < 0 || digit >= radix)
                    break;
                if (!AppendDigit(ref value, (ulong)radix, digit))
                {
                    problem = string.Concat(ConfigText.Quote(s), " is too large (at most 18446744073709551615)");
                    return false;
                }
                at++;
            }
            if (at == digitsStart)
            {
                problem = string.Concat(ConfigText.Quote(s), " is not a number");
                return false;
            }
            while (at < s.Length && s[at] == ' ')
                at++;
            int unitStart = at;
            int unitEnd = s.Length;
            while (unitEnd > unitStart && s[unitEnd - 1] == ' ')
                unitEnd--;
            if (unitEnd == unitStart)
                return true;
            string unit = s.Substring(unitStart, unitEnd - unitStart);
            if (!units)
            {
                problem = string.Concat(ConfigText.Quote(s), " has text after the number");
                return false;
            }
            int shift = -1;
            for (int i = 0; i < SizeUnits.Length; i++)
                if (unit == SizeUnits[i])
                    shift = i * 10;
            if (shift < 0)
            {
                // "MB" and friends: the binary unit is what sizes here mean.
                string suggestion = unit.Length == 2 && unit[1] == 'B' && (unit[0] == 'K' || unit[0] == 'M' || unit[0] == 'G' || unit[0] == 'T')
                    ? string.Concat(unit.Substring(0, 1), "iB")
                    : ConfigText.Suggest(unit, SizeUnits);
                problem = string.Concat(ConfigText.Quote(s), " has an unknown unit ", string.Concat(ConfigText.Quote(unit), "", suggestion != null ? string.Concat(" (did you mean \"", suggestion, "\"?)") : ""));
                return false;
            }
            if (shift > 0 && value > (ulong.MaxValue >> shift))
            {
                problem = string.Concat(ConfigText.Quote(s), " is too large (at most 16 EiB)");
                return false;
            }
            value <<= shift;
            return true;
        }

        /// <summary>
        /// A JSON number token as a whole number. Only plain digits are taken; a whole number
        /// spelled otherwise (-0, 1.0, 1e3) is refused with the plain digits to write instead,
        /// so that a value reads the same to every tool (JSON Schema sees 1e3 as 1000, a
        /// reader of the file may not).
        /// </summary>
        private static bool ReadNumberToken(ReadOnlySpan<byte> text, out ulong value, out string problem)
        {
            value = 0;
            problem = null;
            bool negative = text[0] == (byte)'-';
            int at = negative ? 1 : 0;
            int intStart = at;
            while (at < text.Length && text[at] >= (byte)'0' && text[at] <= (byte)'9')
                at++;
            int intEnd = at, fracStart = at, fracEnd = at;
            if (at < text.Length && text[at] == (byte)'.')
            {
                fracStart = ++at;
                while (at < text.Length && text[at] >= (byte)'0' && text[at] <= (byte)'9')
                    at++;
                fracEnd = at;
            }
            long exponent = 0;
            if (at < text.Length && (text[at] == (byte)'e' || text[at] == (byte)'E'))
            {
                at++;
                bool down = at < text.Length && text[at] == (byte)'-';
                if (at < text.Length && (text[at] == (byte)'-' || text[at] == (byte)'+'))
                    at++;
                for (; at < text.Length; at++)
                    exponent = Math.Min(exponent * 10 + (text[at] - '0'), 1000000);
                if (down)
                    exponent = -exponent;
            }
            bool plain = !negative && fracStart == fracEnd && intEnd == text.Length;
            // The value's digits are the integer and fraction digits; `scale` more zeros follow
            // (or, when negative, that many of the last digits are after the point).
            int intLength = intEnd - intStart, digits = intLength + (fracEnd - fracStart);
            long scale = exponent - (fracEnd - fracStart);
            long kept = Math.Min(digits + scale, (long)digits);
            for (long i = Math.Max(kept, 0); i < digits; i++)
            {
                if (DigitAt(text, intStart, intLength, fracStart, (int)i) != 0)
                {
                    problem = "must be a whole number";
                    return false;
                }
            }
            bool zero = true;
            for (int i = 0; i < kept; i++)
            {
                int digit = DigitAt(text, intStart, intLength, fracStart, i);
                zero &= digit == 0;
                if (!AppendDigit(ref value, 10, digit))
                {
                    problem = "is too large (at most 18446744073709551615)";
                    return false;
                }
            }
            for (long i = 0; i < scale && !zero; i++)
            {
                if (!AppendDigit(ref value, 10, 0))
                {
                    problem = "is too large (at most 18446744073709551615)";
                    return false;
                }
            }
            if (negative && !zero)
            {
                problem = "must not be negative";
                return false;
            }
            if (!plain)
            {
                string token = text.Length <= ConfigText.QuoteLimit ? Latin1(text) : ConfigText.Cut(Latin1(text.Slice(0, ConfigText.QuoteLimit)), true);
                problem = string.Concat("write whole numbers in plain digits: ", ConfigText.Decimal(value), ", not ", token);
                value = 0;
                return false;
            }
            return true;
        }

        private static int DigitAt(ReadOnlySpan<byte> text, int intStart, int intLength, int fracStart, int index) =>
            (index < intLength ? text[intStart + index] : text[fracStart + index - intLength]) - '0';

        private static string Latin1(ReadOnlySpan<byte> bytes)
        {
            Span<char> chars = stackalloc char[bytes.Length];
            for (int i = 0; i < bytes.Length; i++)
                chars[i] = (char)bytes[i];
            return new string(chars);
        }

        private static bool AppendDigit(ref ulong value, ulong radix, int digit)
        {
            if (value > (ulong.MaxValue - (ulong)digit) / radix)
                return false;
            value = value * radix + (ulong)digit;
            return true;
        }

        private static PciAddress ParsePci(string text)
        {
            // BB:DD.F, hex; an optional segment "0000:" in front is accepted when it is 0.
            if (text.Length == 12 && text.StartsWith("0000:"))
                text = text.Substring(5);
            if (text.Length != 7 || text[2] != ':' || text[5] != '.')
                return null;
            int bus = Hex2(text[0], text[1]), device = Hex2(text[3], text[4]), function = Hex2('0', text[6]);
            if (bus < 0 || device < 0 || device > 31 || function < 0 || function > 7)
                return null;
            return new PciAddress { Bus = bus, Device = device, Function = function };
        }

        private static int Hex2(char high, char low)
        {
            int h = high < 0x80 ? ConfigText.HexDigit((byte)high) : -1, l = low < 0x80 ? ConfigText.HexDigit((byte)low) : -1;
            return h < 0 || l < 0 ? -1 : h * 16 + l;
        }

        internal static bool IsValidName(string name)
        {
            if (name.Length == 0 || name.Length > MaxNameLength)
                return false;
            for (int i = 0; i < name.Length; i++)
            {
                char c = name[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                    return false;
            }
            return true;
        }

        private string Describe(int node) => _document.KindOf(node) switch
        {
            JsonKind.Object => "an object",
            JsonKind.Array => "an array",
            JsonKind.String => "a string",
            JsonKind.Number => "a number",
            JsonKind.True => "true",
            JsonKind.False => "false",
            _ => "null",
        };

        private void Error(int node, string message, int partition = -1, bool atKey = false)
        {
            _errors.Add(node, message, partition >= 0 ? partition : _partition, atKey ? _document.KeyOf(node) : -1);
        }
    }
}
