using System;

namespace Partition.Kernel
{
    /// <summary>
    /// The SLP_TYP values of a sleep state as the firmware's DSDT declares them: the package of
    /// Name (\_S5, Package () { SLP_TYPa, SLP_TYPb, ... }) (ACPI 6.5, 7.4.2), found by its AML
    /// encoding without interpreting the table: NameOp (0x08), an optional root prefix '\',
    /// the name "_S5_", PackageOp (0x12), the package length (1-4 bytes, ACPI 6.5, 20.2.4),
    /// the element count, then SLP_TYPa as a BytePrefix (0x0A) constant, ZeroOp or OneOp. The
    /// hypervisor needs it to tell the host partition's power-off from another sleep state.
    /// </summary>
    public static class AmlSleepType
    {
        /// <summary>The longest such encoding, from NameOp to SLP_TYPa's value: a scan in pieces overlaps by this much.</summary>
        public const int MaxEncodedLength = 16;

        /// <summary>SLP_TYPa of \_S5 in <paramref name="aml"/> (0-7), or -1 if it is not there in a form read here.</summary>
        public static int FindS5(ReadOnlySpan<byte> aml)
        {
            for (int i = 1; i + 4 <= aml.Length; i++)
            {
                if (aml[i] != '_' || aml[i + 1] != 'S' || aml[i + 2] != '5' || aml[i + 3] != '_')
                    continue;
                int name = aml[i - 1] == '\\' ? i - 2 : i - 1;
                if (name < 0 || aml[name] != 0x08)
                    continue;
                int at = i + 4;
                if (at >= aml.Length || aml[at] != 0x12)
                    continue;
                at++;
                if (at >= aml.Length)
                    continue;
                at += 1 + (aml[at] >> 6);   // PkgLength: bits 7:6 of its lead byte count the bytes after it
                at++;                       // NumElements
                if (at >= aml.Length)
                    continue;
                if (aml[at] == 0x00 || aml[at] == 0x01)
                    return aml[at];
                if (aml[at] == 0x0A && at + 1 < aml.Length)
                    return aml[at + 1] & 7;
            }
            return -1;
        }
    }
}
