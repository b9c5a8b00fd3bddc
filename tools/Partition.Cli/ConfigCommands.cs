#nullable enable
using System.Runtime.InteropServices;
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

        /// <summary>Reads and checks <paramref name="path"/>; null (with a message on stderr) if it cannot be read.</summary>
        public static CheckedConfig? Load(string path, bool checkImages, string verb)
        {
            string full = Path.GetFullPath(path);
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(full);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"partition {verb}: cannot read {path}: {e.Message}");
                return null;
            }
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
                {
                    // The images as the boot modules they will be: the validator then checks them
                    // exactly as it does at boot (presence, sizes against the partition's memory).
                    var modules = new List<BootModule>();
                    var document = result.Document;
                    // Files whose contents the validator reads (Linux kernels: their setup header),
                    // pinned for as long as it runs; every other image is described by its size.
                    var pinned = new List<byte[]>();
                    foreach (var (image, file) in images)
                    {
                        bool exists = File.Exists(file);
                        if (!exists)
                        {
                            document.LineAndColumn(document.StartOffset(image.Node), out int line, out int column);
                            errors.Add(new ConfigError(document.PathOf(image.Node), line, column,
                                $"the image file \"{image.Path}\" does not exist (looked for {file})", PartitionOf(result, image)));
                            count++;
                        }
                        // A missing file stands in as one page, so that it is reported once, here.
                        ulong size = exists ? (ulong)new FileInfo(file).Length : 4096;
                        ulong start = 0;
                        if (exists && size > 0 && IsLinuxKernel(result, image))
                        {
                            byte[] contents = GC.AllocateArray<byte>((int)size, pinned: true);
                            using (var stream = File.OpenRead(file))
                                stream.ReadExactly(contents);
                            pinned.Add(contents);
                            start = (ulong)Marshal.UnsafeAddrOfPinnedArrayElement(contents, 0);
                        }
                        modules.Add(new BootModule(start, start + size, string.IsNullOrEmpty(image.CommandLine) ? image.ModuleCommandLine : image.ModuleCommandLine + " " + image.CommandLine));
                    }
                    if (result.IsValid)
                    {
                        var withImages = ConfigChecker.Check(bytes, MachineFacts.Declared(result.Configuration.Machine, modules.ToArray(), modulesInMemory: true));
                        errors.AddRange(withImages.Errors);
                        count += withImages.ErrorCount;
                    }
                    GC.KeepAlive(pinned);
                }
            }
            // In file order: errors are found rule by rule, but read best top to bottom.
            var ordered = errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToArray();
            return new CheckedConfig(path, full, result, ordered, count, images);
        }

        private static bool IsLinuxKernel(ConfigResult result, ImageReference image)
        {
            foreach (var partition in result.Configuration.Partitions)
                if (partition.Boot != null && partition.Boot.Kind == BootKind.Linux && partition.Boot.Kernel == image)
                    return true;
            return false;
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
        public static int Run(string[] args)
        {
            var options = new Options(args, Array.Empty<string>(), maxPositional: 1, flags: new[] { "--json", "--images" });
            if (options.Positional.Count == 0)
                throw new UsageException("check needs a CONFIG file");
            bool json = options.Has("--json");
            var config = CheckedConfig.Load(options.Positional[0], options.Has("--images"), "check");
            if (config == null)
            {
                if (json)
                    Console.Out.WriteLine(JsonSerializer.Serialize(new { file = options.Positional[0], readable = false, valid = false }));
                return 2;
            }
            if (json)
                WriteJson(config);
            else
                WriteText(config);
            return config.IsValid ? 0 : 1;
        }

        private static void WriteText(CheckedConfig config)
        {
            config.PrintErrors(Console.Out);
            var result = config.Result;
            if (config.IsValid)
            {
                int count = result.Configuration.Partitions.Length;
                Console.Out.WriteLine($"{config.DisplayPath}: valid, {count} partition{(count == 1 ? "" : "s")}");
                for (int i = 0; i < count; i++)
                    Console.Out.WriteLine(ConfigSummary.DescribePartition(result, i));
            }
            else
            {
                Console.Out.WriteLine($"{config.DisplayPath}: {config.ErrorCount} error{(config.ErrorCount == 1 ? "" : "s")}");
            }
        }

        private static void WriteJson(CheckedConfig config)
        {
            using var stream = Console.OpenStandardOutput();
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
                }
                writer.WriteEndObject();
            }
            stream.WriteByte((byte)'\n');
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
            var config = CheckedConfig.Load(configPath, checkImages: true, "image");
            if (config == null)
                return 2;
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
