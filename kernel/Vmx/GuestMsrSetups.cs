namespace Partition.Kernel
{
    /// <summary>
    /// Numbers for the setups a switch compares (<see cref="GuestMsrs.TakeOver"/>): a vCPU's
    /// STAR, LSTAR, FMASK, TSC_AUX and XCR0, which change only through exits. Two vCPUs have
    /// the same number exactly when those five are equal and neither has debug registers or AVX
    /// state to move, so a switch compares one number instead of five values.
    /// </summary>
    /// <remarks>
    /// Each distinct setup in use holds an entry of a fixed table, counted by its holders and
    /// free again when the last of them changes to another (a guest that writes STAR in a
    /// loop keeps one entry, its own). A setup whose switch moves more (debug registers, AVX
    /// state), or one that finds the table full, gets a number of its own, equal to no other:
    /// its switches take the whole way (<see cref="GuestMsrs.Save"/>, <see cref="GuestMsrs.Load"/>),
    /// which is correct for any two vCPUs. Changes are rare (an OS writes these at boot, once
    /// per CPU), so a change scans the table under a lock.
    /// </remarks>
    internal static class GuestMsrSetups
    {
        /// <summary>Entries of the table: numbers 1 to Capacity; numbers above are setups of one holder's own.</summary>
        public const int Capacity = 256;

        private struct Entry
        {
            public ulong Star, Lstar, Fmask, TscAux, Xcr0;
            public int Holders;
        }

        private static readonly Entry[] s_entries = new Entry[Capacity];
        private static readonly PlainSpinLock s_lock = new PlainSpinLock();
        private static ulong s_nextOwn = Capacity + 1;

        // Entries ever taken (the table's first s_used): a scan goes no further.
        private static int s_used;

        /// <summary>
        /// A holder's setup changed from the one numbered <paramref name="previous"/> (0: it had
        /// none): its new number. <paramref name="shareable"/> is false when its switch moves
        /// more than these five (then the number is its own).
        /// </summary>
        public static ulong Change(ulong previous, ulong star, ulong lstar, ulong fmask, ulong tscAux, ulong xcr0, bool shareable)
        {
            s_lock.Enter();
            if (previous >= 1 && previous <= Capacity)
                s_entries[previous - 1].Holders--;
            ulong number = shareable ? Hold(star, lstar, fmask, tscAux, xcr0) : 0;
            if (number == 0)
                number = s_nextOwn++;
            s_lock.Exit();
            return number;
        }

        /// <summary>How many holders the entry numbered <paramref name="number"/> has (0 for a number of one's own; for tests).</summary>
        internal static int HoldersOf(ulong number)
        {
            s_lock.Enter();
            int holders = number >= 1 && number <= Capacity ? s_entries[number - 1].Holders : 0;
            s_lock.Exit();
            return holders;
        }

        // The entry with these values, held once more, or a free one taken for them; 0 if the table is full.
        private static ulong Hold(ulong star, ulong lstar, ulong fmask, ulong tscAux, ulong xcr0)
        {
            int free = -1;
            for (int i = 0; i < s_used; i++)
            {
                ref Entry entry = ref s_entries[i];
                if (entry.Holders == 0)
                {
                    if (free < 0)
                        free = i;
                    continue;
                }
                if (entry.Star == star && entry.Lstar == lstar && entry.Fmask == fmask && entry.TscAux == tscAux && entry.Xcr0 == xcr0)
                {
                    entry.Holders++;
                    return (ulong)i + 1;
                }
            }
            if (free < 0)
            {
                if (s_used == Capacity)
                    return 0;
                free = s_used++;
            }
            s_entries[free] = new Entry { Star = star, Lstar = lstar, Fmask = fmask, TscAux = tscAux, Xcr0 = xcr0, Holders = 1 };
            return (ulong)free + 1;
        }
    }
}
