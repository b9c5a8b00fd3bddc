namespace Partition.Host.Guests
{
    /// <summary>
    /// The boot modules for one of the example configurations in configs/, as 'partition image'
    /// lays them out: the config (copied into a run directory) as "partition-config", each guest
    /// image (the Iced-built guests, written beside it) as "guest-image NAME WHAT [command line]",
    /// and optionally a console script as "console-script". Shared by the system tests and the
    /// benchmarks.
    /// </summary>
    public static class ExampleBoot
    {
        public static IsoModule[] Modules(RepositoryLayout layout, string runDirectory, string exampleConfig,
            IEnumerable<(string Image, string CommandLine)> images, string? script = null)
        {
            string config = Path.Combine(runDirectory, Path.GetFileName(exampleConfig));
            File.Copy(Path.Combine(layout.Root, exampleConfig), config, overwrite: true);
            string imageDirectory = Path.Combine(runDirectory, "images");
            DemoGuests.WriteAll(imageDirectory);
            var modules = new List<IsoModule> { new(config, "partition-config") };
            foreach (var (image, commandLine) in images)
                modules.Add(new IsoModule(Path.Combine(imageDirectory, image), commandLine));
            if (script != null)
            {
                string scriptPath = Path.Combine(runDirectory, "script.txt");
                File.WriteAllText(scriptPath, script);
                modules.Add(new IsoModule(scriptPath, "console-script"));
            }
            return modules.ToArray();
        }

        /// <summary>"guest-image NAME image" modules for flat-binary partitions.</summary>
        public static IEnumerable<(string Image, string CommandLine)> Flat(params (string Partition, string Image)[] guests) =>
            guests.Select(g => (g.Image, $"guest-image {g.Partition} image"));
    }
}
