using System.Text;

namespace Partition.Host
{
    /// <summary>
    /// Builds a BIOS-bootable GRUB rescue ISO that loads the hypervisor with Multiboot2: stages
    /// boot/partition.elf, boot/modules/* and boot/grub/grub.cfg in a temporary directory and
    /// runs <c>grub-mkrescue -o ISO DIR</c>.
    /// </summary>
    /// <remarks>
    /// grub.cfg never switches GRUB's terminal to the serial port: GRUB would write ANSI escape
    /// sequences into the serial log, and the kernel initialises COM1 itself.
    /// </remarks>
    public sealed class IsoBuilder
    {
        public const string DebianPackages = "grub-pc-bin grub-common xorriso mtools";

        // grub-mkrescue only makes a BIOS-bootable image if GRUB's i386-pc platform is installed.
        private const string BiosPlatformDirectory = "/usr/lib/grub/i386-pc";

        public IsoBuilder(string kernelElf, string commandLine = "")
        {
            KernelElf = kernelElf;
            CommandLine = commandLine;
        }

        public string KernelElf { get; }

        /// <summary>The kernel command line, e.g. "exit=poweroff fault=page".</summary>
        public string CommandLine { get; set; }

        /// <summary>Modules in the order GRUB loads them (and the kernel sees them).</summary>
        public List<IsoModule> Modules { get; } = new();

        /// <summary>The grub.cfg this builder writes, with the module files as staged on the ISO.</summary>
        public string GrubConfig()
        {
            var cfg = new StringBuilder();
            cfg.Append("set timeout=0\n");
            cfg.Append("menuentry \"Partition\" {\n");
            cfg.Append("    multiboot2 /boot/partition.elf").Append(GrubWords(CommandLine)).Append('\n');
            foreach (var (module, isoPath) in StagedModules())
                cfg.Append("    module2 ").Append(isoPath).Append(GrubWords(module.CommandLine)).Append('\n');
            cfg.Append("    boot\n");
            cfg.Append("}\n");
            return cfg.ToString();
        }

        /// <summary>Writes the ISO to <paramref name="isoPath"/>, replacing any file there.</summary>
        public void Build(string isoPath)
        {
            string grubMkrescue = ExternalTool.Find("grub-mkrescue", DebianPackages);
            if (!Directory.Exists(BiosPlatformDirectory))
                throw new ToolNotFoundException("GRUB's BIOS platform (" + BiosPlatformDirectory + ")", DebianPackages);
            ExternalTool.Find("xorriso", DebianPackages);
            if (!File.Exists(KernelElf))
                throw new FileNotFoundException($"Kernel image {KernelElf} does not exist: build it with 'dotnet build kernel/Partition.Kernel.csproj -c Release'.", KernelElf);
            foreach (var module in Modules)
            {
                if (!File.Exists(module.FilePath))
                    throw new FileNotFoundException($"Module {module.FilePath} does not exist.", module.FilePath);
            }

            string staging = Path.Combine(Path.GetTempPath(), "partition-iso-" + Guid.NewGuid().ToString("N"));
            try
            {
                Directory.CreateDirectory(Path.Combine(staging, "boot", "grub"));
                File.Copy(KernelElf, Path.Combine(staging, "boot", "partition.elf"));
                foreach (var (module, path) in StagedModules())
                {
                    string target = Path.Combine(staging, path.TrimStart('/'));
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(module.FilePath, target);
                }
                File.WriteAllText(Path.Combine(staging, "boot", "grub", "grub.cfg"), GrubConfig());

                string fullIso = Path.GetFullPath(isoPath);
                Directory.CreateDirectory(Path.GetDirectoryName(fullIso)!);
                File.Delete(fullIso);
                var (exitCode, output) = ExternalTool.Run(grubMkrescue, new[] { "-o", fullIso, staging }, staging, TimeSpan.FromMinutes(2));
                if (exitCode != 0 || !File.Exists(fullIso))
                    throw new InvalidOperationException($"grub-mkrescue failed (exit status {exitCode}) building {fullIso}:\n{output}");
            }
            finally
            {
                try { Directory.Delete(staging, recursive: true); }
                catch (IOException) { /* a leftover temporary directory is not worth failing the build */ }
            }
        }

        /// <summary>Each module with its path on the ISO: boot/modules/NAME, made unique by an index prefix.</summary>
        private List<(IsoModule Module, string IsoPath)> StagedModules()
        {
            var staged = new List<(IsoModule, string)>();
            var used = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < Modules.Count; i++)
            {
                string name = Path.GetFileName(Modules[i].FilePath);
                if (name.Length == 0 || !IsPlainWord(name) || !used.Add(name))
                {
                    name = $"{i}-{Sanitize(name)}";
                    used.Add(name);
                }
                staged.Add((Modules[i], "/boot/modules/" + name));
            }
            return staged;
        }

        /// <summary>
        /// The command line as GRUB script words, each preceded by a space. Words with characters
        /// that GRUB's shell-like parser would interpret are single-quoted.
        /// </summary>
        private static string GrubWords(string commandLine)
        {
            var text = new StringBuilder();
            foreach (string word in commandLine.Split(new[] { ' ', '\t', '\n', '\r' }, StringSplitOptions.RemoveEmptyEntries))
            {
                text.Append(' ');
                text.Append(IsPlainWord(word) ? word : "'" + word.Replace("'", "'\\''") + "'");
            }
            return text.ToString();
        }

        private static bool IsPlainWord(string word)
        {
            foreach (char c in word)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '=' or '_' or '.' or ',' or ':' or '/' or '+' or '-'))
                    return false;
            }
            return true;
        }

        private static string Sanitize(string name)
        {
            var text = new StringBuilder();
            foreach (char c in name)
                text.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' ? c : '_');
            return text.Length == 0 ? "module" : text.ToString();
        }
    }
}
