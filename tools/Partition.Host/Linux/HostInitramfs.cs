using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Partition.Host.Linux
{
    /// <summary>
    /// What a test varies in the host partition's initramfs: the management script its /init
    /// runs when the kernel command line has partition.mgmt=DEVICE (tools/linux/host-init).
    /// Two ways, documented in tools/linux/README.md: an overlay archive appended to the built
    /// initramfs (the kernel unpacks concatenated newc archives in order, and a later file
    /// replaces an earlier one), or the script on the command line itself
    /// (partition.mgmt_script="1 list;2 stats").
    /// </summary>
    public static class HostInitramfs
    {
        /// <summary>Where /init looks for its commands, one "SECONDS COMMAND" a line.</summary>
        public const string ManagementScriptPath = "/mgmt-script";

        /// <summary>The command-line word that turns the channel on: partition.mgmt=/dev/ttyS1.</summary>
        public const string ManagementDeviceParameter = "partition.mgmt";

        /// <summary>The command-line word whose quoted value replaces /mgmt-script, ';' between lines.</summary>
        public const string ManagementScriptParameter = "partition.mgmt_script";

        /// <summary>Where /init looks for hooks to run after its report: executables, in name order.</summary>
        public const string HookDirectory = "/etc/host.d";

        /// <summary>A small newc archive holding only /mgmt-script.</summary>
        public static byte[] ManagementOverlay(string script) =>
            Overlay(new[] { (ManagementScriptPath, Encoding.UTF8.GetBytes(script.EndsWith('\n') ? script : script + "\n"), false) });

        /// <summary>
        /// A newc archive of the given files (their directories created first), executables with
        /// mode 0755: what a later archive holds replaces what an earlier one did.
        /// </summary>
        public static byte[] Overlay(IEnumerable<(string Path, byte[] Contents, bool Executable)> files)
        {
            var archive = new CpioArchive();
            var directories = new HashSet<string>();
            foreach (var (path, contents, executable) in files)
            {
                for (int slash = path.IndexOf('/', 1); slash > 0; slash = path.IndexOf('/', slash + 1))
                    if (directories.Add(path[..slash]))
                        archive.AddDirectory(path[..slash]);
                archive.AddFile(path, contents, executable ? 0x1EDu : 0x1A4u);
            }
            return archive.ToArray();
        }

        /// <summary>
        /// The host initramfs with its /mgmt-script replaced: <paramref name="initramfs"/> followed
        /// by <see cref="ManagementOverlay"/>. One file, as a partition's "initrd" and QEMU's -initrd take.
        /// </summary>
        public static byte[] WithManagementScript(byte[] initramfs, string script) => Concatenate(initramfs, ManagementOverlay(script));

        /// <summary>The host initramfs followed by an <see cref="Overlay"/> of the given files (hooks in <see cref="HookDirectory"/>, programs, a script).</summary>
        public static byte[] WithFiles(byte[] initramfs, IEnumerable<(string Path, byte[] Contents, bool Executable)> files) =>
            Concatenate(initramfs, Overlay(files));

        private static byte[] Concatenate(byte[] initramfs, byte[] overlay)
        {
            var combined = new byte[initramfs.Length + overlay.Length];
            initramfs.CopyTo(combined, 0);
            overlay.CopyTo(combined, initramfs.Length);
            return combined;
        }

        /// <summary>
        /// The script's lines, "SECONDS COMMAND", from timed commands; seconds count from when
        /// /init opens the channel.
        /// </summary>
        public static string Script(IEnumerable<(double Seconds, string Command)> commands)
        {
            var text = new StringBuilder();
            foreach (var (seconds, command) in commands)
            {
                CheckCommand(command);
                if (seconds < 0 || double.IsNaN(seconds))
                    throw new ArgumentOutOfRangeException(nameof(commands), $"'{command}': seconds must be 0 or more.");
                text.Append(seconds.ToString("0.##", CultureInfo.InvariantCulture)).Append(' ').Append(command).Append('\n');
            }
            return text.ToString();
        }

        /// <summary>
        /// The kernel command-line words that turn the channel on at <paramref name="device"/> and,
        /// when <paramref name="commands"/> are given, carry the script themselves:
        /// partition.mgmt=/dev/ttyS1 partition.mgmt_script="1 list;2 stats". The kernel keeps a
        /// quoted value whole; the dots make it ignore both words (module parameters of no module).
        /// </summary>
        public static string CommandLine(string device, IEnumerable<(double Seconds, string Command)>? commands = null)
        {
            if (device.Length == 0 || device.Any(c => char.IsWhiteSpace(c) || c == '"'))
                throw new ArgumentException($"'{device}' is not a device path for the command line.", nameof(device));
            string words = $"{ManagementDeviceParameter}={device}";
            if (commands == null)
                return words;
            string lines = Script(commands).TrimEnd('\n').Replace('\n', ';');
            return $"{words} {ManagementScriptParameter}=\"{lines}\"";
        }

        // A command travels as one line of the script, or between the quotes of the command line.
        private static void CheckCommand(string command)
        {
            if (command.Trim().Length == 0 || command.IndexOfAny(new[] { '\n', '\r', ';', '"' }) >= 0)
                throw new ArgumentException($"'{command}' cannot be a management command: it must be one non-empty line without ';' or '\"'.", nameof(command));
        }
    }
}
