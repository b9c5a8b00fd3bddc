namespace Partition.Configs
{
    public enum BootKind
    {
        /// <summary>A Linux bzImage by the Linux x86 boot protocol, with an optional initrd.</summary>
        Linux,
        /// <summary>A Multiboot (1 or 2) kernel with modules.</summary>
        Multiboot,
        /// <summary>A flat binary loaded at an address and entered in a given mode.</summary>
        Flat,
    }

    /// <summary>The CPU mode a flat binary is entered in.</summary>
    public enum EntryMode
    {
        Real,
        Protected32,
        Long64,
    }

    /// <summary>What a partition boots.</summary>
    public sealed class BootConfig
    {
        public int Node = -1;
        public BootKind Kind;

        /// <summary>The kernel (Linux, Multiboot) or the flat binary, relative to the config file.</summary>
        public ImageReference Kernel;

        /// <summary>The initrd (Linux only; may be null).</summary>
        public ImageReference Initrd;

        /// <summary>Multiboot modules (may be empty).</summary>
        public ImageReference[] Modules = new ImageReference[0];

        public string CommandLine = "";

        /// <summary>Flat binaries: guest-physical load address and entry point.</summary>
        public ulong LoadAddress;
        public ulong Entry;
        public bool HasEntry;
        public EntryMode Mode = EntryMode.Long64;

        /// <summary>Every image file this boot names, kernel first.</summary>
        public ImageReference[] Images()
        {
            int count = (Kernel != null ? 1 : 0) + (Initrd != null ? 1 : 0) + Modules.Length;
            var images = new ImageReference[count];
            int at = 0;
            if (Kernel != null)
                images[at++] = Kernel;
            if (Initrd != null)
                images[at++] = Initrd;
            for (int i = 0; i < Modules.Length; i++)
                images[at++] = Modules[i];
            return images;
        }
    }

    /// <summary>
    /// A file a partition boots from. On the ISO it becomes a Multiboot2 module whose command
    /// line is <see cref="ModuleCommandLine"/>, e.g. "guest-image alpha kernel".
    /// </summary>
    public sealed class ImageReference
    {
        public ImageReference(int node, string path, string partition, string what, string commandLine)
        {
            Node = node;
            Path = path;
            What = what;
            CommandLine = commandLine;
            ModuleCommandLine = string.Concat("guest-image ", partition, " ", what);
        }

        public int Node { get; }

        /// <summary>The file, relative to the config file's directory.</summary>
        public string Path { get; }

        /// <summary>"kernel", "initrd", "image" or "module0", "module1", ...</summary>
        public string What { get; }

        /// <summary>The command line a Multiboot module is given (empty otherwise).</summary>
        public string CommandLine { get; }

        public string ModuleCommandLine { get; }
    }
}
