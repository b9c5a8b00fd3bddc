using System;

namespace Partition.Memory
{
    /// <summary>Operations on a list of disjoint physical ranges kept in address order.</summary>
    public static class PhysicalRanges
    {
        /// <summary>
        /// Removes [<paramref name="start"/>, <paramref name="end"/>) from the first
        /// <paramref name="count"/> ranges, splitting a range it falls inside, dropping ranges it
        /// covers. Returns the new count, or -1 if a split needs more room than
        /// <paramref name="ranges"/> has (the ranges are then unchanged from that split on).
        /// </summary>
        public static int Cut(Span<PhysicalRange> ranges, int count, ulong start, ulong end)
        {
            if (count < 0 || end <= start)
                return count;
            for (int i = 0; i < count; i++)
            {
                var r = ranges[i];
                if (end <= r.Start || start >= r.End)
                    continue;
                var left = new PhysicalRange(r.Start, Math.Max(r.Start, start));
                var right = new PhysicalRange(Math.Min(r.End, end), r.End);
                if (left.Length > 0 && right.Length > 0)
                {
                    if (count == ranges.Length)
                        return -1;
                    for (int k = count; k > i + 1; k--)
                        ranges[k] = ranges[k - 1];
                    ranges[i] = left;
                    ranges[i + 1] = right;
                    count++;
                    i++;
                }
                else if (left.Length > 0 || right.Length > 0)
                {
                    ranges[i] = left.Length > 0 ? left : right;
                }
                else
                {
                    for (int k = i; k < count - 1; k++)
                        ranges[k] = ranges[k + 1];
                    count--;
                    i--;
                }
            }
            return count;
        }
    }
}
