using System;

namespace Partition.Kernel
{
    /// <summary>
    /// A date and time of day in the proleptic Gregorian calendar, UTC, to the second: what a
    /// CMOS real-time clock counts in, and what Unix time is counted from. Converts to and from
    /// seconds since the Unix epoch (1970-01-01 00:00:00 UTC) in constant time, with no tables
    /// and no allocation, for any year from 0 to 9999 (an RTC's century and year registers
    /// cannot name others).
    /// </summary>
    /// <remarks>
    /// The day count uses the usual trick of starting the year on 1 March, so that the leap
    /// day falls at the end of the year and every month before it has a fixed length; the
    /// 400-year Gregorian cycle ("era") has exactly 146097 days. Leap years: divisible by 4,
    /// except centuries, except every fourth century (so 2000 is a leap year, 2100 is not).
    /// </remarks>
    public readonly struct CalendarTime
    {
        public const int SecondsPerDay = 86400;

        /// <summary>Days from 0000-03-01 to 1970-01-01: the Unix epoch as a day number of the March-based count.</summary>
        private const long EpochDay = 719468;
        private const long DaysPerEra = 146097;

        public CalendarTime(int year, int month, int day, int hour, int minute, int second)
        {
            Year = year;
            Month = month;
            Day = day;
            Hour = hour;
            Minute = minute;
            Second = second;
        }

        public int Year { get; }

        /// <summary>1 (January) to 12.</summary>
        public int Month { get; }

        /// <summary>Day of the month, from 1.</summary>
        public int Day { get; }

        /// <summary>0 to 23.</summary>
        public int Hour { get; }
        public int Minute { get; }
        public int Second { get; }

        /// <summary>0 (Sunday) to 6 (Saturday). 1970-01-01 was a Thursday.</summary>
        public int DayOfWeek => (int)FloorModulo(DaysSinceEpoch(Year, Month, Day) + 4, 7);

        /// <summary>Every field in range: a date that exists in a year from 0 to 9999, a time of day without leap second.</summary>
        public bool IsValid =>
            Year >= 0 && Year <= 9999 && Month >= 1 && Month <= 12 && Day >= 1 && Day <= DaysInMonth(Year, Month)
            && Hour >= 0 && Hour < 24 && Minute >= 0 && Minute < 60 && Second >= 0 && Second < 60;

        public static bool IsLeapYear(int year) => year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);

        public static int DaysInMonth(int year, int month) => month switch
        {
            2 => IsLeapYear(year) ? 29 : 28,
            4 or 6 or 9 or 11 => 30,
            _ => 31,
        };

        /// <summary>Seconds since 1970-01-01 00:00:00 UTC (negative before it). The time must be <see cref="IsValid"/>.</summary>
        public long ToUnixSeconds() =>
            DaysSinceEpoch(Year, Month, Day) * SecondsPerDay + Hour * 3600L + Minute * 60L + Second;

        /// <summary>The calendar time <paramref name="seconds"/> after (or before) 1970-01-01 00:00:00 UTC.</summary>
        public static CalendarTime FromUnixSeconds(long seconds)
        {
            long days = FloorDivide(seconds, SecondsPerDay);
            int secondOfDay = (int)(seconds - days * SecondsPerDay);
            CivilFromDays(days, out int year, out int month, out int day);
            return new CalendarTime(year, month, day, secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60);
        }

        /// <summary>Days from 1970-01-01 to the given date.</summary>
        public static long DaysSinceEpoch(int year, int month, int day)
        {
            // March-based year: January and February count as months 10 and 11 of the year before.
            long y = month <= 2 ? year - 1L : year;
            long era = FloorDivide(y, 400);
            long yearOfEra = y - era * 400;                                         // 0..399
            long monthFromMarch = month > 2 ? month - 3 : month + 9;               // 0..11
            // Days before the month, March-based: 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, (29):
            // (153 * m + 2) / 5 gives exactly those cumulative lengths for m = 0..11.
            long dayOfYear = (153 * monthFromMarch + 2) / 5 + day - 1;              // 0..365
            long dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
            return era * DaysPerEra + dayOfEra - EpochDay;
        }

        private static void CivilFromDays(long daysSinceEpoch, out int year, out int month, out int day)
        {
            long z = daysSinceEpoch + EpochDay;
            long era = FloorDivide(z, DaysPerEra);
            long dayOfEra = z - era * DaysPerEra;                                   // 0..146096
            // Undo the leap days: one every 4 years (1460 days), none every 100 (36524), one every 400 (146096).
            long yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146096) / 365;
            long dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
            long monthFromMarch = (5 * dayOfYear + 2) / 153;                         // the inverse of the formula above
            day = (int)(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1);
            month = (int)(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9);
            year = (int)(yearOfEra + era * 400 + (month <= 2 ? 1 : 0));
        }

        private static long FloorDivide(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

        private static long FloorModulo(long a, long b) => a - FloorDivide(a, b) * b;

        /// <summary>Length of <see cref="Format"/>'s text: "YYYY-MM-DD hh:mm:ss".</summary>
        public const int FormattedLength = 19;

        /// <summary>
        /// Writes "YYYY-MM-DD hh:mm:ss" (ISO 8601 with a space, as date(1) prints it) into
        /// <paramref name="destination"/>, which must hold <see cref="FormattedLength"/>
        /// characters; returns that length. Allocates nothing.
        /// </summary>
        public int Format(Span<char> destination)
        {
            Digits(destination, 0, Year, 4);
            destination[4] = '-';
            Digits(destination, 5, Month, 2);
            destination[7] = '-';
            Digits(destination, 8, Day, 2);
            destination[10] = ' ';
            Digits(destination, 11, Hour, 2);
            destination[13] = ':';
            Digits(destination, 14, Minute, 2);
            destination[16] = ':';
            Digits(destination, 17, Second, 2);
            return FormattedLength;
        }

        private static void Digits(Span<char> destination, int at, int value, int count)
        {
            for (int i = count - 1; i >= 0; i--)
            {
                destination[at + i] = (char)('0' + value % 10);
                value /= 10;
            }
        }
    }
}
