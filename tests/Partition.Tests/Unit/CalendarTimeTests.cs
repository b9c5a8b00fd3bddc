using System;
using NUnit.Framework;
using Partition.Kernel;

namespace Partition.Tests.Unit
{
    /// <summary>
    /// Calendar time to Unix seconds and back: the dates where calendar arithmetic goes wrong
    /// (leap days, century years, the epoch, 2^31 seconds, the end of what an RTC can hold),
    /// then every day of four centuries against .NET's own calendar.
    /// </summary>
    public class CalendarTimeTests
    {
        // Expected values from calendar.timegm; day of week 0 = Sunday.
        [TestCase(1970, 1, 1, 0, 0, 0, 0L, 4, TestName = "The epoch, a Thursday")]
        [TestCase(1969, 12, 31, 23, 59, 59, -1L, 3, TestName = "One second before the epoch")]
        [TestCase(2000, 2, 28, 23, 59, 59, 951782399L, 1, TestName = "2000-02-28, last second")]
        [TestCase(2000, 2, 29, 0, 0, 0, 951782400L, 2, TestName = "2000-02-29 exists: a fourth century is a leap year")]
        [TestCase(2000, 3, 1, 0, 0, 0, 951868800L, 3, TestName = "2000-03-01 comes a day after the leap day")]
        [TestCase(2024, 2, 29, 12, 0, 0, 1709208000L, 4, TestName = "2024-02-29 noon")]
        [TestCase(2026, 12, 1, 0, 12, 34, 1796083954L, 2, TestName = "2026-12-01 00:12:34")]
        [TestCase(2038, 1, 19, 3, 14, 7, 2147483647L, 2, TestName = "2038-01-19 03:14:07, the last 32-bit second")]
        [TestCase(2038, 1, 19, 3, 14, 8, 2147483648L, 2, TestName = "2038-01-19 03:14:08, one past it")]
        [TestCase(2099, 12, 31, 23, 59, 59, 4102444799L, 4, TestName = "2099-12-31, last second")]
        [TestCase(2100, 1, 1, 0, 0, 0, 4102444800L, 5, TestName = "2100-01-01")]
        [TestCase(2100, 2, 28, 12, 0, 0, 4107499200L, 0, TestName = "2100-02-28")]
        [TestCase(2100, 3, 1, 0, 0, 0, 4107542400L, 1, TestName = "2100-03-01 follows 02-28: a plain century is not a leap year")]
        [TestCase(1900, 3, 1, 0, 0, 0, -2203891200L, 4, TestName = "1900-03-01")]
        [TestCase(1, 1, 1, 0, 0, 0, -62135596800L, 1, TestName = "0001-01-01")]
        [TestCase(0, 1, 1, 0, 0, 0, -62167219200L, 6, TestName = "0000-01-01, the first day an RTC can hold (year 0 is a leap year)")]
        [TestCase(9999, 12, 31, 23, 59, 59, 253402300799L, 5, TestName = "9999-12-31, the last second an RTC can hold")]
        public void Converts_both_ways(int year, int month, int day, int hour, int minute, int second, long unix, int dayOfWeek)
        {
            var time = new CalendarTime(year, month, day, hour, minute, second);
            Assert.That(time.IsValid, Is.True);
            Assert.That(time.ToUnixSeconds(), Is.EqualTo(unix));
            Assert.That(CalendarTime.FromUnixSeconds(unix), Is.EqualTo(time));
            Assert.That(time.DayOfWeek, Is.EqualTo(dayOfWeek));
        }

        [Test]
        public void Every_day_from_1900_to_2300_agrees_with_dotnet()
        {
            var start = new DateTime(1900, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            var end = new DateTime(2300, 1, 1, 0, 0, 0, DateTimeKind.Utc);
            for (var date = start; date < end; date = date.AddDays(1))
            {
                // A different second of the day each day, so that every time of day is met along the way.
                var moment = date.AddSeconds((date - start).Days * 7919L % 86400);
                long unix = new DateTimeOffset(moment).ToUnixTimeSeconds();
                var time = CalendarTime.FromUnixSeconds(unix);
                Assert.That((time.Year, time.Month, time.Day, time.Hour, time.Minute, time.Second),
                    Is.EqualTo((moment.Year, moment.Month, moment.Day, moment.Hour, moment.Minute, moment.Second)), moment.ToString("o"));
                Assert.That(time.ToUnixSeconds(), Is.EqualTo(unix), moment.ToString("o"));
                Assert.That(time.DayOfWeek, Is.EqualTo((int)moment.DayOfWeek), moment.ToString("o"));
                Assert.That(CalendarTime.DaysInMonth(moment.Year, moment.Month), Is.EqualTo(DateTime.DaysInMonth(moment.Year, moment.Month)));
            }
        }

        [TestCase(1900, false)]
        [TestCase(1996, true)]
        [TestCase(1999, false)]
        [TestCase(2000, true)]
        [TestCase(2024, true)]
        [TestCase(2100, false)]
        [TestCase(2400, true)]
        public void Leap_years_are_every_fourth_but_centuries_only_every_fourth_century(int year, bool leap)
        {
            Assert.That(CalendarTime.IsLeapYear(year), Is.EqualTo(leap));
            Assert.That(new CalendarTime(year, 2, 29, 0, 0, 0).IsValid, Is.EqualTo(leap));
        }

        [TestCase(2026, 4, 31, 0, 0, 0, TestName = "31 April")]
        [TestCase(2026, 13, 1, 0, 0, 0, TestName = "Month 13")]
        [TestCase(2026, 0, 1, 0, 0, 0, TestName = "Month 0")]
        [TestCase(2026, 1, 0, 0, 0, 0, TestName = "Day 0")]
        [TestCase(2026, 1, 1, 24, 0, 0, TestName = "Hour 24")]
        [TestCase(2026, 1, 1, 0, 60, 0, TestName = "Minute 60")]
        [TestCase(2026, 1, 1, 0, 0, 60, TestName = "A leap second (an RTC has none)")]
        [TestCase(10000, 1, 1, 0, 0, 0, TestName = "Year 10000")]
        [TestCase(-1, 1, 1, 0, 0, 0, TestName = "Year -1")]
        public void Times_that_do_not_exist_are_not_valid(int year, int month, int day, int hour, int minute, int second) =>
            Assert.That(new CalendarTime(year, month, day, hour, minute, second).IsValid, Is.False);

        [Test]
        public void Formats_as_date_prints_it()
        {
            Span<char> text = stackalloc char[CalendarTime.FormattedLength];
            int length = new CalendarTime(2026, 12, 1, 0, 12, 34).Format(text);
            Assert.That(text.Slice(0, length).ToString(), Is.EqualTo("2026-12-01 00:12:34"));
            length = new CalendarTime(987, 3, 9, 23, 5, 7).Format(text);
            Assert.That(text.Slice(0, length).ToString(), Is.EqualTo("0987-03-09 23:05:07"));
        }

        [Test]
        public void A_clock_reference_counts_whole_seconds_from_its_TSC_value_both_ways()
        {
            var clock = new ClockReference(1_000_000, 5_000, 1_000);
            Assert.That(clock.SecondsAt(5_000), Is.EqualTo(1_000_000));
            Assert.That(clock.SecondsAt(5_999), Is.EqualTo(1_000_000));
            Assert.That(clock.SecondsAt(6_000), Is.EqualTo(1_000_001));
            Assert.That(clock.SecondsAt(5_000 + 86_400_000UL), Is.EqualTo(1_086_400));
            Assert.That(clock.SecondsAt(4_999), Is.EqualTo(999_999), "a TSC just behind (another core's) is the second before");
            Assert.That(clock.SecondsAt(0), Is.EqualTo(999_995));
            Assert.That(new ClockReference(0, 0, 0).TicksPerSecond, Is.EqualTo(1UL), "never a division by zero");
        }
    }
}
