using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using Partition.Host;

namespace Partition.Tests.SystemTests
{
    /// <summary>
    /// A Linux partition's "heartbeat N UPTIME" line as the console shows it with "timestamps=on":
    /// "[NAME SECONDS] heartbeat N UPTIME", SECONDS the hypervisor's TSC time when the line ended.
    /// </summary>
    internal sealed record Heartbeat(int Number, double Uptime, double At)
    {
        /// <summary>The partition's heartbeats in the run's output, up to the console command <paramref name="before"/> if given.</summary>
        public static List<Heartbeat> Lines(RunResult result, string partition, string before = null)
        {
            string serial = result.Serial;
            if (before != null)
            {
                int end = serial.IndexOf("partition> " + before, StringComparison.Ordinal);
                if (end >= 0)
                    serial = serial.Substring(0, end);
            }
            return Regex.Matches(serial, $@"(?m)^\[{Regex.Escape(partition)} (\d+\.\d+)\] heartbeat (\d+) (\d+\.\d+)\r?$")
                .Select(m => new Heartbeat(int.Parse(m.Groups[2].Value), double.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture),
                    double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)))
                .ToList();
        }
    }
}
