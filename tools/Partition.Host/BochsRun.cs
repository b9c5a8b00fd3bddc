using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Partition.Host
{
    /// <summary>
    /// Boots an ISO in Bochs, the emulated Intel machine with VT-x that the hypervisor is tested
    /// on: <c>bochs -q -f bochsrc -rc CONT</c> in the run directory, the SDL2 display with
    /// <c>SDL_VIDEODRIVER=dummy</c> (no window), the debugger told to continue by the CONT file,
    /// and COM1 connected to a <see cref="SerialSocket"/> (<c>mode=socket-client</c>; why, there),
    /// so that the console can be typed into while the machine runs.
    /// </summary>
    /// <remarks>
    /// Bochs exits with status 1 both on a power-off and on a fatal panic: judge a run by its
    /// serial output, never by the exit status.
    /// </remarks>
    public sealed class BochsRun : EmulatorRun
    {
        public const string DebianPackages = "bochs bochsbios vgabios bochs-sdl";
        public const string BiosImage = "/usr/share/bochs/BIOS-bochs-latest";
        public const string VgaBiosImage = "/usr/share/bochs/VGABIOS-lgpl-latest";

        public BochsRun(string isoPath, string runDirectory, BochsOptions? options = null)
            : base(isoPath, runDirectory)
        {
            Options = options ?? new BochsOptions();
            if (Options.CpuCount < 1)
                throw new ArgumentOutOfRangeException(nameof(options), "Bochs needs at least one CPU.");
        }

        public BochsOptions Options { get; }

        public override string Emulator => "Bochs";

        public string BochsrcPath => Path.Combine(RunDirectory, "bochsrc");

        public string LogPath => Path.Combine(RunDirectory, "bochs.log");

        protected override bool UsesSerialSocket => true;

        /// <summary>
        /// The bochsrc for this run (the one PLATFORM.md records as working), with COM1 connected
        /// to <paramref name="serialSocketAddress"/> ("127.0.0.1:PORT", where the run listens).
        /// </summary>
        public string Bochsrc(string serialSocketAddress)
        {
            // Bochs' option parser splits on spaces and commas: no quoting is possible.
            var disk = Options.Disk;
            foreach (string path in disk == null ? new[] { IsoPath, RunDirectory } : new[] { IsoPath, RunDirectory, disk.Path })
            {
                if (path.IndexOfAny(new[] { ' ', ',', '\t' }) >= 0)
                    throw new InvalidOperationException($"Bochs cannot take the path '{path}': it contains a space or a comma.");
            }
            var rc = new StringBuilder();
            rc.Append(CultureInfo.InvariantCulture, $"megs: {Options.MemoryMegabytes}\n");
            rc.Append(CultureInfo.InvariantCulture,
                $"cpu: model={Options.CpuModel}, count={Options.CpuCount}, ips={Options.InstructionsPerSecond}, reset_on_triple_fault=0, ignore_bad_msrs=0\n");
            rc.Append("display_library: sdl2\n");
            rc.Append($"romimage: file={BiosImage}\n");
            rc.Append($"vgaromimage: file={VgaBiosImage}\n");
            // The disk, if any, is the first channel's master (IRQ 14, /dev/sda), where a PC's
            // first hard disk is; the CD-ROM is always the second channel's master (IRQ 15), so
            // the disk's channel carries the disk's interrupts only. The BIOS boots the first
            // CD-ROM it finds, on whichever channel.
            if (disk != null)
            {
                if (!disk.Geometry.IsValid)
                    throw new InvalidOperationException($"{disk.Path}: {disk.Geometry} is no ATA geometry.");
                long size = new FileInfo(disk.Path).Length;
                if (size != disk.Geometry.Bytes)
                    throw new InvalidOperationException(
                        $"{disk.Path} has {size:N0} bytes; Bochs needs exactly {disk.Geometry}.");
                rc.Append(CultureInfo.InvariantCulture,
                    $"ata0-master: type=disk, path={disk.Path}, mode=flat, cylinders={disk.Geometry.Cylinders}, heads={disk.Geometry.Heads}, spt={disk.Geometry.SectorsPerTrack}\n");
            }
            rc.Append($"ata1-master: type=cdrom, path={IsoPath}, status=inserted\n");
            rc.Append("boot: cdrom\n");
            rc.Append($"com1: enabled=1, mode=socket-client, dev={serialSocketAddress}\n");
            rc.Append($"log: {LogPath}\n");
            rc.Append("panic: action=fatal\n");
            rc.Append("error: action=report\n");
            rc.Append("info: action=report\n");
            rc.Append("debug: action=ignore\n");
            rc.Append("clock: sync=none, time0=local\n");
            rc.Append("mouse: enabled=0\n");
            rc.Append("port_e9_hack: enabled=1\n");
            return rc.ToString();
        }

        protected override ProcessStartInfo Prepare()
        {
            string bochs = ExternalTool.Find("bochs", DebianPackages);
            ExternalTool.Find("bochs-bin", DebianPackages);
            if (!File.Exists(BiosImage))
                throw new ToolNotFoundException(BiosImage, DebianPackages);
            if (!File.Exists(VgaBiosImage))
                throw new ToolNotFoundException(VgaBiosImage, DebianPackages);

            File.WriteAllText(BochsrcPath, Bochsrc(SerialSocketAddress));
            // Bochs' debugger stops before the first instruction; this tells it to continue.
            File.WriteAllText(Path.Combine(RunDirectory, "CONT"), "c\n");

            // .NET ignores SIGPIPE, and a child inherits that. Bochs gets it back: should this
            // process die, leaving COM1's socket closed, Bochs' next COM1 byte ends it too
            // (see SerialSocket) instead of leaving it running with nobody to read it.
            var info = new ProcessStartInfo(ExternalTool.Find("env", "coreutils"));
            foreach (string argument in new[] { "--default-signal=PIPE", bochs, "-q", "-f", "bochsrc", "-rc", "CONT" })
                info.ArgumentList.Add(argument);
            info.Environment["SDL_VIDEODRIVER"] = "dummy";
            return info;
        }

        protected override string DiagnosticTail()
        {
            string tail = Tail(LogPath, 15);
            // Bochs runs on with COM1 unconnected if its connect fails (it logs "connect() failed").
            if (SerialSocketConnected == false)
                tail = $"COM1: Bochs never connected to {SerialSocketAddress}\n" + tail;
            return tail;
        }
    }
}
