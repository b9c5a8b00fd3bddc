#nullable enable
using System.Text.Json;
using Partition.Configs;
using Partition.Host;
using Partition.Kernel;

namespace Partition.Cli
{
    /// <summary>
    /// A config file checked on the host: the same parser and validator as at boot
    /// (<see cref="ConfigChecker"/>), against the machine the config declares, plus (on request)
    /// the guest image files it names, found relative to the config file.
    /// </summary>
    internal sealed class CheckedConfig
    {
        private CheckedConfig(string displayPath, string fullPath, ConfigResult result, ConfigError[] errors, int errorCount, List<(ImageReference Image, string File)> images)
        {
            DisplayPath = displayPath;
            FullPath = fullPath;
            Result = result;
            Errors = errors;
            ErrorCount = errorCount;
            Images = images;
        }

        public string DisplayPath { get; }
        public string FullPath { get; }
        public ConfigResult Result { get; }
        public ConfigError[] Errors { get; }
        public int ErrorCount { get; }
        public bool IsValid => ErrorCount == 0;

        /// <summary>Each image the config names, with its full path on this machine.</summary>
        public List<(ImageReference Image, string File)> Images { get; }

        /// <summary>
        /// Reads and checks <paramref name="path"/>; null, with <paramref name="problem"/> saying
        /// why, when it is not a file that can be read (missing, a directory, a FIFO, a device,
        /// larger than <see cref="ConfigChecker.MaxBytes"/>).
        /// </summary>
        public static CheckedConfig? Load(string path, bool checkImages, out string? problem)
        {
            string full = Path.GetFullPath(path);
            byte[]? bytes = ConfigFile.Read(path, full, out problem);
            if (bytes == null)
                return null;
            var result = ConfigChecker.Check(bytes);
            var errors = new List<ConfigError>(result.Errors);
            int count = result.ErrorCount;
            var images = new List<(ImageReference, string)>();
            if (result.Configuration != null)
            {
                string directory = Path.GetDirectoryName(full)!;
                foreach (var partition in result.Configuration.Partitions)
                {
                    if (partition.Boot == null)
                        continue;
                    foreach (var image in partition.Boot.Images())
                        images.Add((image, Path.GetFullPath(Path.Combine(directory, image.Path))));
                }
                if (checkImages && result.Configuration.Partitions.Length > 0)
                    count += CheckImages(bytes, result, images, errors);
            }
            // In file order: errors are found rule by rule, but read best top to bottom.
            var ordered = errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToArray();
            return new CheckedConfig(path, full, result, ordered, count, images);
        }

        /// <summary>
        /// The images as the boot modules they will be: the validator then checks them exactly as
        /// it does at boot (presence, sizes, a Linux kernel's header and command line), and each
        /// Multiboot kernel is loaded by the boot's own loader into memory the size of its
        /// partition's, and each flat binary placed by the boot's own check. Returns how many
        /// errors it added.
        /// </summary>
        private static int CheckImages(byte[] bytes, ConfigResult result, List<(ImageReference Image, string File)> images, List<ConfigError> errors)
        {
            int count = 0;
            var document = result.Document;
            var modules = new List<BootModule>();
            // Files whose contents are read are mapped, not read whole: a checker reads only the
            // headers it needs, the loader only the segments it loads.
            using var mapped = new MappedImages();
            var unusable = new HashSet<int>(); // partitions with an image that is not a file
            foreach (var (image, file) in images)
            {
                FileKind kind = FileKinds.Of(file, out long length);
                string? problem = kind switch
                {
                    FileKind.Regular => null,
                    FileKind.Missing => $"the image file {ConfigText.Quote(image.Path)} does not exist (looked for {file})",
                    FileKind.Inaccessible => $"the image file {ConfigText.Quote(image.Path)} cannot be read: permission denied ({file})",
                    _ => $"the image {ConfigText.Quote(image.Path)} is {FileKinds.Describe(kind)} ({file}), not a file",
                };
                if (problem != null)
                {
                    errors.Add(ErrorAt(document, image.Node, problem, PartitionOf(result, image)));
                    unusable.Add(PartitionOf(result, image));
                    count++;
                }
                // A file that cannot be used stands in as one page, so that it is reported once, here.
                ulong size = problem == null ? (ulong)length : 4096;
                ulong start = problem == null && size > 0 && ContentsAreChecked(result, image) ? mapped.Map(file, size) : 0;
                modules.Add(new BootModule(start, start + size, string.IsNullOrEmpty(image.CommandLine) ? image.ModuleCommandLine : image.ModuleCommandLine + " " + image.CommandLine));
            }
            if (!result.IsValid)
                return count;
            var withImages = ConfigChecker.Check(bytes, MachineFacts.Declared(result.Configuration.Machine, modules.ToArray(), modulesInMemory: true));
            errors.AddRange(withImages.Errors);
            count += withImages.ErrorCount;
            var partitions = result.Configuration.Partitions;
            for (int p = 0; p < partitions.Length; p++)
            {
                var boot = partitions[p].Boot;
                if (boot == null || !withImages.CanStart(p) || unusable.Contains(p))
                    continue;
                if (boot.Kind == BootKind.Flat)
                {
                    string? refused = FlatImageFit(partitions[p], modules);
                    if (refused != null)
                    {
                        errors.Add(ErrorAt(document, boot.Kernel.Node, $"the image {ConfigText.Quote(boot.Kernel.Path)} cannot be loaded: {refused}", p));
                        count++;
                    }
                    continue;
                }
                if (boot.Kind != BootKind.Multiboot)
                    continue;
                string? error = MultibootDryRun.Load(partitions[p], modules);
                if (error != null)
                {
                    errors.Add(ErrorAt(document, boot.Kernel.Node, $"the kernel {ConfigText.Quote(boot.Kernel.Path)} cannot be loaded by the Multiboot loader: {error}", p));
                    count++;
                }
            }
            return count;
        }

        /// <summary>
        /// The boot's own check of a flat binary's place (<see cref="FlatImage.Fits"/>): inside
        /// the partition's RAM from its load address, below a long64 partition's page tables,
        /// with its entry point among its own bytes (<see cref="FlatImage.EntryInside"/>).
        /// Null if it fits, or if the boot would refuse the partition before that (not one
        /// region at guest-physical 0: <c>PartitionSpec.TryFromConfig</c>).
        /// </summary>
        private static string? FlatImageFit(PartitionConfig partition, List<BootModule> modules)
        {
            var boot = partition.Boot;
            if (partition.Memory.Length != 1 || partition.Memory[0].GuestPhysical != 0 || partition.Memory[0].Size == 0)
                return null;
            if (!MultibootDryRun.TryFind(boot.Kernel, modules, out var image))
                return null;
            if (!FlatImage.Fits(image.Size, boot.LoadAddress, partition.Memory[0].Size, boot.Mode == EntryMode.Long64, out string error))
                return error;
            return FlatImage.EntryInside(boot.HasEntry ? boot.Entry : boot.LoadAddress, image.Size, boot.LoadAddress, out error) ? null : error;
        }

        // Linux kernels (their setup header) and Multiboot kernels and modules (the loader's dry run).
        private static bool ContentsAreChecked(ConfigResult result, ImageReference image)
        {
            foreach (var partition in result.Configuration.Partitions)
            {
                var boot = partition.Boot;
                if (boot == null)
                    continue;
                if (boot.Kind == BootKind.Linux && boot.Kernel == image)
                    return true;
                if (boot.Kind == BootKind.Multiboot && Array.IndexOf(boot.Images(), image) >= 0)
                    return true;
            }
            return false;
        }

        private static ConfigError ErrorAt(Partition.Configs.JsonDocument document, int node, string message, int partition)
        {
            document.LineAndColumn(document.StartOffset(node), out int line, out int column);
            return new ConfigError(document.PathOf(node), line, column, message, partition);
        }

        private static int PartitionOf(ConfigResult result, ImageReference image)
        {
            var partitions = result.Configuration.Partitions;
            for (int i = 0; i < partitions.Length; i++)
                if (partitions[i].Boot != null && Array.IndexOf(partitions[i].Boot.Images(), image) >= 0)
                    return i;
            return -1;
        }

        public void PrintErrors(TextWriter writer)
        {
            foreach (var error in Errors)
                writer.WriteLine(error.Format(DisplayPath));
            if (ErrorCount > Errors.Length)
                writer.WriteLine($"{DisplayPath}: ... and {ErrorCount - Errors.Length} more errors");
        }
    }

    internal static class CheckCommand
    {
        public static int Run(string[] args) => Run(args, Console.Out, Console.Error);

        /// <summary>'partition check' writing to the given streams (the tests call it so).</summary>
        public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
        {
            var options = new Options(args, Array.Empty<string>(), maxPositional: 1, flags: new[] { "--json", "--images" });
            if (options.Positional.Count == 0)
                throw new UsageException("check needs a CONFIG file");
            bool json = options.Has("--json");
            var config = CheckedConfig.Load(options.Positional[0], options.Has("--images"), out string? problem);
            if (config == null)
            {
                stderr.WriteLine($"partition check: {problem}");
                if (json)
                    stdout.WriteLine(JsonSerializer.Serialize(new { file = options.Positional[0], readable = false, valid = false, problem },
                        new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }));
                return 2;
            }
            if (json)
                WriteJson(config, stdout);
            else
                WriteText(config, stdout);
            return config.IsValid ? 0 : 1;
        }

        private static void WriteText(CheckedConfig config, TextWriter stdout)
        {
            config.PrintErrors(stdout);
            var result = config.Result;
            if (config.IsValid)
            {
                int count = result.Configuration.Partitions.Length;
                stdout.WriteLine($"{config.DisplayPath}: valid, {count} partition{(count == 1 ? "" : "s")}");
                for (int i = 0; i < count; i++)
                    stdout.WriteLine(ConfigSummary.DescribePartition(result, i));
                foreach (var line in ConfigSummary.DescribeSharedCores(result))
                    stdout.WriteLine(line);
            }
            else
            {
                stdout.WriteLine($"{config.DisplayPath}: {config.ErrorCount} error{(config.ErrorCount == 1 ? "" : "s")}");
            }
        }

        private static void WriteJson(CheckedConfig config, TextWriter stdout)
        {
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                writer.WriteStartObject();
                writer.WriteString("file", config.DisplayPath);
                writer.WriteBoolean("readable", true);
                writer.WriteBoolean("valid", config.IsValid);
                writer.WriteNumber("errorCount", config.ErrorCount);
                writer.WriteStartArray("errors");
                foreach (var error in config.Errors)
                {
                    writer.WriteStartObject();
                    writer.WriteString("path", error.Path);
                    writer.WriteNumber("line", error.Line);
                    writer.WriteNumber("column", error.Column);
                    writer.WriteString("message", error.Message);
                    if (error.Partition >= 0)
                        writer.WriteNumber("partition", error.Partition);
                    writer.WriteEndObject();
                }
                writer.WriteEndArray();
                var configuration = config.Result.Configuration;
                if (configuration != null)
                {
                    writer.WriteStartArray("partitions");
                    for (int i = 0; i < configuration.Partitions.Length; i++)
                    {
                        var partition = configuration.Partitions[i];
                        writer.WriteStartObject();
                        writer.WriteString("name", partition.Name);
                        writer.WriteString("role", partition.Role == PartitionRole.Host ? "host" : "guest");
                        writer.WriteNumber("vcpus", partition.Vcpus.Length);
                        writer.WriteNumber("memory", partition.TotalMemory);
                        writer.WriteBoolean("canStart", config.Result.CanStart(i) && config.IsValid);
                        writer.WriteEndObject();
                    }
                    writer.WriteEndArray();
                    // How each core with shared vCPUs is scheduled, the defaults included.
                    writer.WriteStartArray("sharedCores");
                    foreach (var core in ConfigSummary.SharedCores(configuration))
                    {
                        writer.WriteStartObject();
                        writer.WriteNumber("core", core.Core);
                        writer.WriteString("policy", ConfigSummary.PolicyName(core.Policy));
                        writer.WriteNumber("periodUs", core.PeriodMicroseconds);
                        writer.WriteBoolean("default", core.Schedule < 0);
                        writer.WriteNumber("sharedVcpus", core.SharedVcpus);
                        writer.WriteEndObject();
                    }
                    writer.WriteEndArray();
                }
                writer.WriteEndObject();
            }
            stdout.WriteLine(System.Text.Encoding.UTF8.GetString(stream.GetBuffer(), 0, (int)stream.Length));
        }
    }

    /// <summary>Builds the bootable ISO for a config: the hypervisor, the config and its guest images as Multiboot2 modules.</summary>
    internal static class ConfigImage
    {
        public sealed record Built(string IsoPath, int Cores, int MemoryMegabytes);

        public static bool IsConfigPath(string path) => path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

        public static int Build(RepositoryLayout layout, string configPath, string? output, string commandLine, out Built? built) =>
            Build(layout, configPath, output, commandLine, null, out built);

        /// <summary>As above, with a console script (timed commands) as a 'console-script' module.</summary>
        public static int Build(RepositoryLayout layout, string configPath, string? output, string commandLine, string? script, out Built? built)
        {
            if (script != null && !File.Exists(script))
            {
                built = null;
                Console.Error.WriteLine($"partition: the console script {script} does not exist.");
                return 2;
            }
            built = null;
            var config = CheckedConfig.Load(configPath, checkImages: true, out string? problem);
            if (config == null)
            {
                Console.Error.WriteLine($"partition image: {problem}");
                return 2;
            }
            if (!config.IsValid)
            {
                config.PrintErrors(Console.Error);
                Console.Error.WriteLine($"partition image: {configPath} has {config.ErrorCount} error{(config.ErrorCount == 1 ? "" : "s")}; no ISO built (missing guest images must be built or copied there first).");
                return 1;
            }
            string name = Path.GetFileNameWithoutExtension(config.FullPath);
            string iso = Path.GetFullPath(output ?? Path.Combine(layout.Root, "artifacts", name + ".iso"));
            var builder = new IsoBuilder(KernelImage.EnsureBuilt(layout, Console.Error.WriteLine), commandLine);
            builder.Modules.Add(new IsoModule(config.FullPath, PartitionConfiguration.ModuleCommandLine));
            foreach (var (image, file) in config.Images)
            {
                string line = string.IsNullOrEmpty(image.CommandLine) ? image.ModuleCommandLine : image.ModuleCommandLine + " " + image.CommandLine;
                builder.Modules.Add(new IsoModule(file, line));
            }
            if (script != null)
                builder.Modules.Add(new IsoModule(Path.GetFullPath(script), "console-script"));
            builder.Build(iso);
            Console.Error.WriteLine($"ISO  {layout.Display(iso)}: {new FileInfo(iso).Length:N0} bytes, config {configPath}, {config.Images.Count} guest image{(config.Images.Count == 1 ? "" : "s")}");
            var machine = config.Result.Configuration.Machine;
            built = new Built(iso, machine.Cores, (int)Math.Clamp(machine.Memory >> 20, 32UL, 2048UL));
            return 0;
        }
    }
}
