using System.Diagnostics;

namespace Partition.Host
{
    /// <summary>
    /// Boots an ISO in QEMU with TCG: fast, but without VMX, so it shows the boot path and the
    /// refusal to start without VT-x. The kernel powers off through isa-debug-exit (port 0xF4),
    /// after which QEMU exits with status 1: that is the normal end.
    /// </summary>
    public sealed class QemuRun : EmulatorRun
    {
        public const string DebianPackages = "qemu-system-x86";

        public QemuRun(string isoPath, string runDirectory, int memoryMegabytes = 128)
            : base(isoPath, runDirectory)
        {
            MemoryMegabytes = memoryMegabytes;
        }

        public int MemoryMegabytes { get; }

        public override string Emulator => "QEMU";

        protected override ProcessStartInfo Prepare()
        {
            var info = new ProcessStartInfo(ExternalTool.Find("qemu-system-x86_64", DebianPackages));
            foreach (string argument in new[]
                     {
                         "-accel", "tcg",
                         "-cdrom", IsoPath,
                         "-serial", "file:serial.txt",
                         "-display", "none",
                         "-no-reboot",
                         "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                         "-m", MemoryMegabytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     })
                info.ArgumentList.Add(argument);
            return info;
        }

        protected override string DiagnosticTail() => Tail(ConsolePath, 15);
    }
}
