//! Business-hours calendars: when a support team works, and how much working time lies between two
//! instants. All SLA targets "in business hours" are measured with [`BusinessCalendar`].
//!
//! A calendar has a time zone, weekly hours (several intervals a day for split shifts), holidays, and extra
//! working days with their own hours (China's 调休 make-up workdays fall on weekends). Days are built in local
//! time and converted to UTC per day, so daylight-saving changes shift the UTC instants but never the local
//! hours. Pure: the current time is always an argument.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::{DomainError, Result};

/// How far ahead a calendar is searched for working time before giving up (a calendar with no working
/// time in the next ten years is broken).
const HORIZON_DAYS: i64 = 3660;
const MINUTES_PER_DAY: u16 = 24 * 60;

/// One working interval of a day, in minutes after local midnight: `[start, end)`, `end` at most 1440.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkingHours {
    /// First working minute.
    pub start_minute: u16,
    /// First minute no longer worked (1440 = midnight at the end of the day).
    pub end_minute: u16,
}

impl WorkingHours {
    /// Parses `"09:00-12:30"`.
    pub fn parse(text: &str) -> Result<WorkingHours> {
        let invalid = || DomainError::invalid("hours", format!("{text:?} is not like 09:00-17:30"));
        let (start, end) = text.split_once('-').ok_or_else(invalid)?;
        let minute = |part: &str| -> Result<u16> {
            let (hours, minutes) = part.trim().split_once(':').ok_or_else(invalid)?;
            let hours: u16 = hours.parse().map_err(|_| invalid())?;
            let minutes: u16 = minutes.parse().map_err(|_| invalid())?;
            if minutes >= 60 || hours > 24 || (hours == 24 && minutes > 0) {
                return Err(invalid());
            }
            Ok(hours * 60 + minutes)
        };
        let hours = WorkingHours { start_minute: minute(start)?, end_minute: minute(end)? };
        if hours.start_minute >= hours.end_minute {
            return Err(DomainError::invalid("hours", format!("{text:?} ends before it starts")));
        }
        Ok(hours)
    }

    /// The `"09:00-12:30"` form.
    pub fn format(&self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.start_minute / 60,
            self.start_minute % 60,
            self.end_minute / 60,
            self.end_minute % 60
        )
    }
}

/// When a team works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    /// The team's time zone; hours are local to it.
    pub time_zone: Tz,
    /// Working intervals per weekday, Monday first.
    pub weekly: [Vec<WorkingHours>; 7],
    /// Days off (public holidays), whatever their weekday.
    pub holidays: BTreeSet<NaiveDate>,
    /// Extra working days with their hours; they win over `holidays` and `weekly`.
    pub extra_workdays: BTreeMap<NaiveDate, Vec<WorkingHours>>,
}

fn check_day(day: &[WorkingHours]) -> Result<()> {
    for hours in day {
        if hours.start_minute >= hours.end_minute || hours.end_minute > MINUTES_PER_DAY {
            return Err(DomainError::invalid("weekly", "an interval must start before it ends, within the day"));
        }
    }
    if day.windows(2).any(|pair| pair[0].end_minute > pair[1].start_minute) {
        return Err(DomainError::invalid("weekly", "a day's intervals must be in order and must not overlap"));
    }
    Ok(())
}

/// The instant of a local wall-clock time; a time skipped by a DST change maps to the end of the gap, an
/// ambiguous one to its earlier occurrence.
fn local_instant(time_zone: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut candidate = local;
    for _ in 0..=180 {
        match time_zone.from_local_datetime(&candidate) {
            LocalResult::Single(instant) => return instant.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => return earlier.with_timezone(&Utc),
            LocalResult::None => candidate += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&local)
}

impl BusinessCalendar {
    /// Monday-to-Friday office hours in a time zone, no holidays.
    pub fn office_hours(time_zone: Tz, hours: &[WorkingHours]) -> BusinessCalendar {
        let day = hours.to_vec();
        BusinessCalendar {
            time_zone,
            weekly: [day.clone(), day.clone(), day.clone(), day.clone(), day, vec![], vec![]],
            holidays: BTreeSet::new(),
            extra_workdays: BTreeMap::new(),
        }
    }

    /// Parses the stored and API form: `{"time_zone": "Asia/Shanghai", "weekly": [["09:00-12:00",
    /// "13:00-18:00"], ... seven days, Monday first], "holidays": ["2026-10-01"], "extra_workdays":
    /// {"2026-10-10": ["09:00-18:00"]}}`, and validates it.
    pub fn parse(raw: &serde_json::Value) -> Result<BusinessCalendar> {
        let time_zone: Tz = raw
            .get("time_zone")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .parse()
            .map_err(|_| DomainError::invalid("time_zone", "expected an IANA time zone such as Asia/Shanghai"))?;
        let day = |value: &serde_json::Value, field: &str| -> Result<Vec<WorkingHours>> {
            let items = value
                .as_array()
                .ok_or_else(|| DomainError::invalid(field, "expected a list like [\"09:00-17:00\"]"))?;
            items.iter().map(|item| WorkingHours::parse(item.as_str().unwrap_or_default())).collect()
        };
        let date = |text: &str, field: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| DomainError::invalid(field, format!("{text:?} is not a date as YYYY-MM-DD")))
        };
        let weekly_raw = raw
            .get("weekly")
            .and_then(serde_json::Value::as_array)
            .filter(|days| days.len() == 7)
            .ok_or_else(|| DomainError::invalid("weekly", "expected seven lists of hours, Monday first"))?;
        let mut weekly: [Vec<WorkingHours>; 7] = Default::default();
        for (slot, value) in weekly.iter_mut().zip(weekly_raw) {
            *slot = day(value, "weekly")?;
        }
        let mut holidays = BTreeSet::new();
        for value in raw.get("holidays").and_then(serde_json::Value::as_array).map(Vec::as_slice).unwrap_or_default() {
            holidays.insert(date(value.as_str().unwrap_or_default(), "holidays")?);
        }
        let mut extra_workdays = BTreeMap::new();
        if let Some(extra) = raw.get("extra_workdays").and_then(serde_json::Value::as_object) {
            for (text, hours) in extra {
                extra_workdays.insert(date(text, "extra_workdays")?, day(hours, "extra_workdays")?);
            }
        }
        BusinessCalendar { time_zone, weekly, holidays, extra_workdays }.validate()
    }

    /// The stored and API form.
    pub fn to_json(&self) -> serde_json::Value {
        let day = |hours: &[WorkingHours]| hours.iter().map(WorkingHours::format).collect::<Vec<_>>();
        serde_json::json!({
            "time_zone": self.time_zone.name(),
            "weekly": self.weekly.iter().map(|hours| day(hours)).collect::<Vec<_>>(),
            "holidays": self.holidays.iter().map(|date| date.format("%Y-%m-%d").to_string()).collect::<Vec<_>>(),
            "extra_workdays": self
                .extra_workdays
                .iter()
                .map(|(date, hours)| (date.format("%Y-%m-%d").to_string(), serde_json::json!(day(hours))))
                .collect::<serde_json::Map<_, _>>(),
        })
    }

    /// Checks the intervals and that some working time exists at all. Intervals are sorted first.
    pub fn validate(mut self) -> Result<BusinessCalendar> {
        for day in self.weekly.iter_mut().chain(self.extra_workdays.values_mut()) {
            day.sort();
            check_day(day)?;
        }
        if self.weekly.iter().all(Vec::is_empty) && self.extra_workdays.values().all(Vec::is_empty) {
            return Err(DomainError::invalid("weekly", "a calendar needs some working hours"));
        }
        Ok(self)
    }

    /// The working intervals of a local date.
    pub fn hours_on(&self, date: NaiveDate) -> &[WorkingHours] {
        if let Some(hours) = self.extra_workdays.get(&date) {
            return hours;
        }
        if self.holidays.contains(&date) {
            return &[];
        }
        &self.weekly[date.weekday().num_days_from_monday() as usize]
    }

    /// The working intervals of a local date, in UTC.
    fn intervals_on(&self, date: NaiveDate) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        self.hours_on(date).iter().map(move |hours| {
            let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
            let start = local_instant(self.time_zone, midnight + Duration::minutes(i64::from(hours.start_minute)));
            let end = local_instant(self.time_zone, midnight + Duration::minutes(i64::from(hours.end_minute)));
            (start, end.max(start))
        })
    }

    /// Working intervals in time order, clipped to start at `from`, up to the horizon.
    fn intervals_from(&self, from: DateTime<Utc>) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let first_day = from.with_timezone(&self.time_zone).date_naive() - Duration::days(1);
        (0..HORIZON_DAYS)
            .filter_map(move |offset| first_day.checked_add_signed(Duration::days(offset)))
            .flat_map(move |date| self.intervals_on(date))
            .filter(move |(_, end)| *end > from)
            .map(move |(start, end)| (start.max(from), end))
    }

    /// Whether `at` falls in working time.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.intervals_from(at).next().is_some_and(|(start, _)| start <= at)
    }

    /// The instant after `start` at which `duration` of working time has passed; `None` if the calendar has
    /// no working time within the horizon.
    pub fn add(&self, start: DateTime<Utc>, duration: Duration) -> Option<DateTime<Utc>> {
        if duration <= Duration::zero() {
            return Some(start);
        }
        let mut remaining = duration;
        for (interval_start, interval_end) in self.intervals_from(start) {
            let length = interval_end - interval_start;
            if length >= remaining {
                return Some(interval_start + remaining);
            }
            remaining -= length;
        }
        None
    }

    /// The working time between two instants (zero when `to` is not after `from`).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if to <= from {
            return total;
        }
        for (start, end) in self.intervals_from(from) {
            if start >= to {
                break;
            }
            total += end.min(to) - start;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hours(text: &str) -> WorkingHours {
        WorkingHours::parse(text).expect("hours")
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    fn local(calendar: &BusinessCalendar, text: &str) -> DateTime<Utc> {
        let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("time");
        local_instant(calendar.time_zone, naive)
    }

    /// Shanghai, 09:00-12:00 and 13:00-18:00 on weekdays, with the 2026 National Day holidays and a 调休
    /// Saturday.
    fn shanghai() -> BusinessCalendar {
        let mut calendar =
            BusinessCalendar::office_hours(chrono_tz::Asia::Shanghai, &[hours("09:00-12:00"), hours("13:00-18:00")]);
        calendar.holidays.extend((1..=7).map(|day| date(2026, 10, day)));
        calendar.extra_workdays.insert(date(2026, 10, 10), vec![hours("09:00-12:00"), hours("13:00-18:00")]);
        calendar.validate().expect("valid")
    }

    fn check_add(calendar: &BusinessCalendar, start: &str, minutes: i64, expect: &str) {
        let due = calendar.add(local(calendar, start), Duration::minutes(minutes)).expect("due");
        assert_eq!(due, local(calendar, expect), "{start} + {minutes} min");
    }

    #[test]
    fn hours_parse_and_format() {
        assert_eq!(hours("09:00-17:30").format(), "09:00-17:30");
        assert_eq!(hours("00:00-24:00").end_minute, 1440);
        for bad in ["9-17", "17:00-09:00", "09:00-24:30", "09:60-10:00", "x"] {
            assert!(WorkingHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn adding_skips_lunch_nights_weekends_and_holidays() {
        let calendar = shanghai();
        check_add(&calendar, "2026-11-23 10:00", 60, "2026-11-23 11:00");
        check_add(&calendar, "2026-11-23 11:30", 60, "2026-11-23 13:30");
        check_add(&calendar, "2026-11-23 17:30", 60, "2026-11-24 09:30");
        check_add(&calendar, "2026-11-27 17:00", 120, "2026-11-30 10:00"); // Friday evening to Monday
        check_add(&calendar, "2026-11-28 20:00", 30, "2026-11-30 09:30"); // from a Saturday
        check_add(&calendar, "2026-09-30 17:00", 120, "2026-10-08 10:00"); // across Golden Week
        check_add(&calendar, "2026-10-09 17:00", 120, "2026-10-10 10:00"); // the make-up Saturday works
        check_add(&calendar, "2026-11-23 07:00", 0, "2026-11-23 07:00");
        check_add(&calendar, "2026-11-23 07:00", 8 * 60 * 5, "2026-11-27 18:00"); // a whole working week
    }

    #[test]
    fn measuring_counts_only_working_time() {
        let calendar = shanghai();
        let between = |a: &str, b: &str| calendar.between(local(&calendar, a), local(&calendar, b)).num_minutes();
        assert_eq!(between("2026-11-23 08:00", "2026-11-23 20:00"), 8 * 60);
        assert_eq!(between("2026-11-27 17:00", "2026-11-30 10:00"), 120);
        assert_eq!(between("2026-11-23 12:10", "2026-11-23 12:50"), 0);
        assert_eq!(between("2026-11-23 12:00", "2026-11-23 09:00"), 0);
        assert!(calendar.is_open(local(&calendar, "2026-11-23 09:00")));
        assert!(!calendar.is_open(local(&calendar, "2026-11-23 12:00")));
        assert!(!calendar.is_open(local(&calendar, "2026-10-01 10:00")));
        assert!(calendar.is_open(local(&calendar, "2026-10-10 10:00")));
    }

    #[test]
    fn daylight_saving_changes_keep_local_hours() {
        let calendar = BusinessCalendar::office_hours(chrono_tz::Europe::Berlin, &[hours("09:00-17:00")]);
        // 2026-03-29 is the spring change (Sunday); Friday 16:00 + 2 h is Monday 10:00 local.
        check_add(&calendar, "2026-03-27 16:00", 120, "2026-03-30 10:00");
        let monday = calendar.between(local(&calendar, "2026-03-30 00:00"), local(&calendar, "2026-03-31 00:00"));
        assert_eq!(monday, Duration::hours(8));
        // A 24-hour calendar over the change really has 23 hours on that Sunday.
        let always = BusinessCalendar {
            time_zone: chrono_tz::Europe::Berlin,
            weekly: std::array::from_fn(|_| vec![hours("00:00-24:00")]),
            holidays: BTreeSet::new(),
            extra_workdays: BTreeMap::new(),
        };
        let sunday = always.between(local(&always, "2026-03-29 00:00"), local(&always, "2026-03-30 00:00"));
        assert_eq!(sunday, Duration::hours(23));
    }

    #[test]
    fn calendars_round_trip_through_json() {
        let calendar = shanghai();
        assert_eq!(BusinessCalendar::parse(&calendar.to_json()), Ok(calendar));
        let bad_zone = serde_json::json!({"time_zone": "Mars/Olympus", "weekly": [[], [], [], [], [], [], []]});
        assert!(BusinessCalendar::parse(&bad_zone).is_err());
        let six_days = serde_json::json!({"time_zone": "UTC", "weekly": [[], [], [], [], [], []]});
        assert!(BusinessCalendar::parse(&six_days).is_err());
    }

    #[test]
    fn broken_calendars_are_refused() {
        let mut overlapping = shanghai();
        overlapping.weekly[0] = vec![hours("09:00-12:00"), hours("11:00-13:00")];
        assert!(overlapping.validate().is_err());
        let empty = BusinessCalendar {
            time_zone: chrono_tz::UTC,
            weekly: Default::default(),
            holidays: BTreeSet::new(),
            extra_workdays: BTreeMap::new(),
        };
        assert!(empty.validate().is_err());
    }

    fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
        // 2025-01-01 .. 2028-01-01, to cross DST changes and holidays.
        (1_735_689_600i64..1_830_297_600i64)
            .prop_map(|seconds| Utc.timestamp_opt(seconds, 0).single().expect("instant"))
    }

    fn any_calendar() -> impl Strategy<Value = BusinessCalendar> {
        let zones =
            vec![chrono_tz::Asia::Shanghai, chrono_tz::Europe::Berlin, chrono_tz::America::New_York, chrono_tz::UTC];
        (proptest::sample::select(zones), 0u16..600, 60u16..600, 0u8..3).prop_map(|(zone, start, length, variant)| {
            let end = (start + length).min(1440);
            let mut calendar =
                BusinessCalendar::office_hours(zone, &[WorkingHours { start_minute: start, end_minute: end }]);
            if variant > 0 {
                calendar.holidays.insert(date(2026, 1, 1));
                calendar.holidays.insert(date(2026, 12, 25));
            }
            if variant > 1 {
                calendar
                    .extra_workdays
                    .insert(date(2026, 2, 14), vec![WorkingHours { start_minute: 540, end_minute: 1080 }]);
            }
            calendar
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Working time measured up to `add(start, d)` is exactly `d`.
        #[test]
        fn add_and_between_agree(calendar in any_calendar(), start in any_instant(), minutes in 0i64..(60 * 24 * 30)) {
            let due = calendar.add(start, Duration::minutes(minutes)).expect("due within the horizon");
            prop_assert!(due >= start);
            prop_assert_eq!(calendar.between(start, due), Duration::minutes(minutes));
        }

        /// Measuring is additive over adjacent spans.
        #[test]
        fn between_is_additive(calendar in any_calendar(), a in any_instant(), b in any_instant(), c in any_instant()) {
            let mut points = [a, b, c];
            points.sort();
            let [a, b, c] = points;
            prop_assert_eq!(calendar.between(a, b) + calendar.between(b, c), calendar.between(a, c));
        }

        /// A deadline lands inside working time (its last minute is worked), never on a holiday.
        #[test]
        fn deadlines_fall_in_working_time(calendar in any_calendar(), start in any_instant(), minutes in 1i64..(60 * 24 * 60)) {
            let due = calendar.add(start, Duration::minutes(minutes)).expect("due");
            prop_assert!(calendar.is_open(due - Duration::seconds(1)));
            let local_day = (due - Duration::seconds(1)).with_timezone(&calendar.time_zone).date_naive();
            prop_assert!(!calendar.hours_on(local_day).is_empty());
        }

        /// Longer targets never end earlier.
        #[test]
        fn add_is_monotonic(calendar in any_calendar(), start in any_instant(), a in 0i64..20_000, b in 0i64..20_000) {
            let (short, long) = (a.min(b), a.max(b));
            prop_assert!(calendar.add(start, Duration::minutes(short)) <= calendar.add(start, Duration::minutes(long)));
        }
    }
}
