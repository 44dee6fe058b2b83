//! Calendar arithmetic, pure: EventBridge Scheduler's cron expressions and daily windows, in
//! an IANA time zone, with daylight saving time handled as EventBridge Scheduler does: a time
//! the clocks skip in spring does not happen, and a time they repeat in autumn happens once
//! (at its first occurrence).

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike,
    Utc,
};
use chrono_tz::Tz;

/// An IANA time zone name (`Europe/Berlin`, `UTC`).
pub fn parse_time_zone(text: &str) -> Result<Tz, String> {
    text.parse::<Tz>().map_err(|_| {
        format!("unknown time zone {text:?}; use an IANA name such as Europe/Berlin or UTC")
    })
}

/// The first instant of a local time, or — when the clocks skip it — the first instant after
/// the gap.
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = local;
    // Gaps are at most a few hours long (in practice one).
    for _ in 0..16 {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                return t.with_timezone(&Utc);
            }
            LocalResult::None => probe += chrono::Duration::minutes(15),
        }
    }
    Utc.from_utc_datetime(&local)
}

// ---- cron ------------------------------------------------------------------------------------

/// The first year EventBridge accepts in a cron expression, and the last.
const YEARS: std::ops::RangeInclusive<i32> = 1970..=2199;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
/// EventBridge counts days of the week from Sunday = 1.
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum DayOfMonth {
    /// `?`: the day of the week decides.
    Any,
    Days(u64),
    /// `L`: the month's last day.
    Last,
    /// `LW`: the month's last weekday.
    LastWeekday,
    /// `15W`: the weekday nearest the 15th, within the month.
    NearestWeekday(u32),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum DayOfWeek {
    /// `?`: the day of the month decides.
    Any,
    /// Bits 1..=7, Sunday = 1.
    Days(u64),
    /// `6L`: the month's last Friday.
    LastOf(u32),
    /// `2#3`: the month's third Monday.
    Nth(u32, u32),
}

/// A cron expression as EventBridge Scheduler reads it: six fields, `minutes hours
/// day-of-month month day-of-week year`, one of the two day fields `?`; `,` `-` `*` `/` in
/// every field, `L` and `W` in the day of the month, `L` and `#` in the day of the week;
/// months `1-12` or `JAN-DEC`, days `1-7` (Sunday first) or `SUN-SAT`, years 1970–2199.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronExpr {
    text: String,
    minutes: u64,
    hours: u64,
    day_of_month: DayOfMonth,
    months: u64,
    day_of_week: DayOfWeek,
    /// Bit `year - 1970`, over four words.
    years: [u64; 4],
}

fn bit(set: u64, n: u32) -> bool {
    set & (1 << n) != 0
}

/// Parses `a`, `a-b`, `*`, each optionally `/step`, and lists of those, into a bit set over
/// `range`; `names` (if any) stand for `range.start()`, `range.start() + 1`, ….
fn parse_set(
    field: &str,
    what: &str,
    range: std::ops::RangeInclusive<u32>,
    names: &[&str],
) -> Result<Vec<u32>, String> {
    let value = |text: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
            return Ok(range.start() + i as u32);
        }
        text.parse::<u32>()
            .ok()
            .filter(|v| range.contains(v))
            .ok_or_else(|| {
                format!(
                    "the {what} field has {text:?}; use {} to {}{}",
                    range.start(),
                    range.end(),
                    if names.is_empty() {
                        String::new()
                    } else {
                        format!(" or {}-{}", names[0], names[names.len() - 1])
                    }
                )
            })
    };
    let mut values = Vec::new();
    for part in field.split(',') {
        let (span, step) = match part.split_once('/') {
            Some((span, step)) => {
                let step = step
                    .parse::<u32>()
                    .ok()
                    .filter(|s| *s >= 1)
                    .ok_or_else(|| {
                        format!("the {what} field has the step {step:?}; use a positive number")
                    })?;
                (span, step)
            }
            None => (part, 1),
        };
        let (first, last) = if span == "*" {
            (*range.start(), *range.end())
        } else if let Some((a, b)) = span.split_once('-') {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(format!(
                    "the {what} field has the range {span:?}, which runs backwards"
                ));
            }
            (a, b)
        } else {
            let a = value(span)?;
            // `5/10`: from 5 to the end, every 10.
            (
                a,
                if step > 1 || part.contains('/') {
                    *range.end()
                } else {
                    a
                },
            )
        };
        values.extend((first..=last).step_by(step as usize));
    }
    Ok(values)
}

fn to_bits(values: &[u32]) -> u64 {
    values.iter().fold(0, |set, v| set | 1 << v)
}

impl CronExpr {
    /// `cron(0 8 * * ? *)` or its six fields alone.
    pub fn parse(text: &str) -> Result<Self, String> {
        let inner = text.trim();
        let inner = inner
            .strip_prefix("cron(")
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or(inner);
        let fields: Vec<&str> = inner.split_whitespace().collect();
        let [minutes, hours, dom, months, dow, years] = fields[..] else {
            return Err(format!(
                "must have six fields, minutes hours day-of-month month day-of-week year, e.g. \
                 cron(0 8 * * ? *) (got {})",
                fields.len()
            ));
        };
        if (dom == "?") == (dow == "?") {
            return Err(
                "exactly one of day-of-month and day-of-week must be ?, e.g. cron(0 8 * * ? *) \
                 or cron(0 8 ? * MON-FRI *)"
                    .into(),
            );
        }
        let day_of_month = match dom {
            "?" => DayOfMonth::Any,
            "L" => DayOfMonth::Last,
            "LW" => DayOfMonth::LastWeekday,
            w if w.ends_with('W') => {
                let day = parse_set(&w[..w.len() - 1], "day-of-month", 1..=31, &[])?;
                match day[..] {
                    [day] => DayOfMonth::NearestWeekday(day),
                    _ => {
                        return Err(format!(
                            "the day-of-month field has {w:?}; W follows one day, e.g. 15W"
                        ));
                    }
                }
            }
            other => DayOfMonth::Days(to_bits(&parse_set(other, "day-of-month", 1..=31, &[])?)),
        };
        let day_of_week = match dow {
            "?" => DayOfWeek::Any,
            // `L` alone is the week's last day.
            "L" => DayOfWeek::Days(1 << 7),
            l if l.ends_with('L') => {
                match parse_set(&l[..l.len() - 1], "day-of-week", 1..=7, &WEEKDAYS)?[..] {
                    [day] => DayOfWeek::LastOf(day),
                    _ => {
                        return Err(format!(
                            "the day-of-week field has {l:?}; L follows one day, e.g. 6L"
                        ));
                    }
                }
            }
            nth if nth.contains('#') => {
                let (day, n) = nth.split_once('#').unwrap_or_default();
                let day = match parse_set(day, "day-of-week", 1..=7, &WEEKDAYS)?[..] {
                    [day] => day,
                    _ => {
                        return Err(format!(
                            "the day-of-week field has {nth:?}; # follows one day, e.g. 2#1"
                        ));
                    }
                };
                let n = n
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=5).contains(n))
                    .ok_or_else(|| format!("the day-of-week field has {nth:?}; # takes 1 to 5"))?;
                DayOfWeek::Nth(day, n)
            }
            other => DayOfWeek::Days(to_bits(&parse_set(other, "day-of-week", 1..=7, &WEEKDAYS)?)),
        };
        let mut year_bits = [0u64; 4];
        for year in parse_set(
            years,
            "year",
            *YEARS.start() as u32..=*YEARS.end() as u32,
            &[],
        )? {
            let i = (year - *YEARS.start() as u32) as usize;
            year_bits[i / 64] |= 1 << (i % 64);
        }
        Ok(Self {
            text: fields.join(" "),
            minutes: to_bits(&parse_set(minutes, "minutes", 0..=59, &[])?),
            hours: to_bits(&parse_set(hours, "hours", 0..=23, &[])?),
            day_of_month,
            months: to_bits(&parse_set(months, "month", 1..=12, &MONTHS)?),
            day_of_week,
            years: year_bits,
        })
    }

    /// The six fields, as stored.
    pub fn fields(&self) -> &str {
        &self.text
    }

    /// `cron(…)`, as EventBridge Scheduler takes it.
    pub fn expression(&self) -> String {
        format!("cron({})", self.text)
    }

    /// New Year of the first year it allows: where a search for its times can begin without a
    /// clock.
    pub fn first_possible(&self) -> DateTime<Utc> {
        let first = (0..self.years.len() * 64)
            .find(|i| self.years[i / 64] & (1 << (i % 64)) != 0)
            .unwrap_or(0);
        let year = YEARS.start() + first as i32;
        NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| Utc.from_utc_datetime(&t))
            .unwrap_or(DateTime::UNIX_EPOCH)
    }

    fn year_matches(&self, year: i32) -> bool {
        if !YEARS.contains(&year) {
            return false;
        }
        let i = (year - YEARS.start()) as usize;
        self.years[i / 64] & (1 << (i % 64)) != 0
    }

    fn date_matches(&self, date: NaiveDate) -> bool {
        if !self.year_matches(date.year()) || !bit(self.months, date.month()) {
            return false;
        }
        let last = last_day_of_month(date);
        let weekday = date.weekday().number_from_sunday();
        let dom = match &self.day_of_month {
            DayOfMonth::Any => true,
            DayOfMonth::Days(days) => bit(*days, date.day()),
            DayOfMonth::Last => date.day() == last,
            DayOfMonth::LastWeekday => date.day() == nearest_weekday(date, last),
            DayOfMonth::NearestWeekday(day) => {
                date.day() == nearest_weekday(date, (*day).min(last))
            }
        };
        let dow = match &self.day_of_week {
            DayOfWeek::Any => true,
            DayOfWeek::Days(days) => bit(*days, weekday),
            DayOfWeek::LastOf(day) => weekday == *day && date.day() + 7 > last,
            DayOfWeek::Nth(day, n) => weekday == *day && (date.day() - 1) / 7 + 1 == *n,
        };
        dom && dow
    }

    /// The first time after `after` this expression names in `tz`; `None` when there is none
    /// before the last year it allows (or within eight years).
    pub fn next_after(&self, after: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let start = after.with_timezone(&tz).date_naive();
        let last_year = (*YEARS.end()).min(start.year() + 8);
        let mut date = start.checked_sub_days(Days::new(1))?;
        while date.year() <= last_year {
            if self.date_matches(date) {
                for hour in (0..24).filter(|h| bit(self.hours, *h)) {
                    for minute in (0..60).filter(|m| bit(self.minutes, *m)) {
                        let local = date.and_hms_opt(hour, minute, 0)?;
                        // Skipped in spring; the first of the two in autumn.
                        let at = match tz.from_local_datetime(&local) {
                            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                                t.with_timezone(&Utc)
                            }
                            LocalResult::None => continue,
                        };
                        if at > after {
                            return Some(at);
                        }
                    }
                }
            }
            date = date.succ_opt()?;
        }
        None
    }
}

fn last_day_of_month(date: NaiveDate) -> u32 {
    let first_of_next = if date.month() == 12 {
        NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
    };
    first_of_next
        .and_then(|d| d.pred_opt())
        .map(|d| d.day())
        .unwrap_or(28)
}

/// The weekday nearest `day` of `date`'s month without leaving the month (Quartz's `W`).
fn nearest_weekday(date: NaiveDate, day: u32) -> u32 {
    let Some(target) = date.with_day(day) else {
        return day;
    };
    let last = last_day_of_month(date);
    match target.weekday().number_from_monday() {
        6 if day == 1 => day + 2,
        6 => day - 1,
        7 if day == last => day - 2,
        7 => day + 1,
        _ => day,
    }
}

// ---- daily windows ---------------------------------------------------------------------------

/// A daily time window in a time zone: `08:00`–`23:00`; one whose end is before its start runs
/// past midnight (`22:00`–`02:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyWindow {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// `HH:MM`, 00:00 to 24:00 (the end of the day, for ends).
fn parse_clock(text: &str) -> Result<NaiveTime, String> {
    let bad = || format!("must be a time of day as HH:MM, e.g. 08:00 (got {text:?})");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if (h, m) == (24, 0) {
        return Ok(NaiveTime::MIN);
    }
    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(bad)
}

impl DailyWindow {
    /// Each bound as `HH:MM`; `Err((field, message))` names `start` or `end`.
    pub fn parse(start: &str, end: &str) -> Result<Self, (&'static str, String)> {
        let start = parse_clock(start).map_err(|e| ("start", e))?;
        let end = parse_clock(end).map_err(|e| ("end", e))?;
        if start == end {
            return Err((
                "end",
                "a window that ends when it starts never opens; leave windows out to stay live \
                 all day"
                    .into(),
            ));
        }
        Ok(Self { start, end })
    }

    pub fn start_text(&self) -> String {
        self.start.format("%H:%M").to_string()
    }

    pub fn end_text(&self) -> String {
        if self.end == NaiveTime::MIN {
            "24:00".into()
        } else {
            self.end.format("%H:%M").to_string()
        }
    }

    fn contains_clock(&self, clock: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= clock && clock < self.end
        } else {
            clock >= self.start || clock < self.end
        }
    }

    /// The window's stretches that begin on local `date`, in UTC.
    fn on(&self, date: NaiveDate, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        let end_date = if self.start < self.end {
            date
        } else {
            date.succ_opt().unwrap_or(date)
        };
        (
            local_to_utc(tz, date.and_time(self.start)),
            local_to_utc(tz, end_date.and_time(self.end)),
        )
    }
}

/// Whether `at` is inside one of `windows` (no windows: always).
pub fn in_windows(windows: &[DailyWindow], tz: Tz, at: DateTime<Utc>) -> bool {
    let clock = at.with_timezone(&tz).time();
    windows.is_empty() || windows.iter().any(|w| w.contains_clock(clock))
}

/// The stretches of `[from, to)` inside `windows`, in order, merged (no windows: all of it).
pub fn window_spans(
    windows: &[DailyWindow],
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    if windows.is_empty() {
        return if from < to {
            vec![(from, to)]
        } else {
            Vec::new()
        };
    }
    let mut spans = Vec::new();
    let mut date = from
        .with_timezone(&tz)
        .date_naive()
        .pred_opt()
        .unwrap_or(NaiveDate::MIN);
    let last = to.with_timezone(&tz).date_naive();
    while date <= last {
        for window in windows {
            let (start, end) = window.on(date, tz);
            let (start, end) = (start.max(from), end.min(to));
            if start < end {
                spans.push((start, end));
            }
        }
        date = match date.succ_opt() {
            Some(next) => next,
            None => break,
        };
    }
    spans.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// When the windows next open after `at` (`at` itself when inside one).
pub fn next_open(windows: &[DailyWindow], tz: Tz, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    window_spans(windows, tz, at, at + chrono::Duration::days(3))
        .first()
        .map(|span| span.0)
}

/// The minute after `at`, for time arithmetic on a minute grid.
pub fn next_minute(at: DateTime<Utc>) -> DateTime<Utc> {
    let floor = at
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(at);
    floor + chrono::Duration::minutes(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn next(expr: &str, tz: &str, after: &str, count: usize) -> Vec<String> {
        let cron = CronExpr::parse(expr).unwrap();
        let tz = parse_time_zone(tz).unwrap();
        let mut at = utc(after);
        let mut times = Vec::new();
        for _ in 0..count {
            at = cron.next_after(at, tz).unwrap();
            times.push(at.to_rfc3339());
        }
        times
    }

    #[test]
    fn daily_times_follow_the_wall_clock_across_both_dst_changes() {
        // Berlin: clocks go 02:00 → 03:00 on 2025-03-30 and 03:00 → 02:00 on 2025-10-26.
        assert_eq!(
            next(
                "cron(0 8 * * ? *)",
                "Europe/Berlin",
                "2025-03-29T06:00:00Z",
                2
            ),
            ["2025-03-29T07:00:00+00:00", "2025-03-30T06:00:00+00:00"]
        );
        assert_eq!(
            next(
                "cron(0 8 * * ? *)",
                "Europe/Berlin",
                "2025-10-25T05:00:00Z",
                2
            ),
            ["2025-10-25T06:00:00+00:00", "2025-10-26T07:00:00+00:00"]
        );
    }

    #[test]
    fn a_time_the_clocks_skip_does_not_happen_and_a_repeated_one_happens_once() {
        // 02:30 does not exist in Berlin on 2025-03-30: that day has no run.
        assert_eq!(
            next(
                "cron(30 2 * * ? *)",
                "Europe/Berlin",
                "2025-03-29T00:00:00Z",
                2
            ),
            ["2025-03-29T01:30:00+00:00", "2025-03-31T00:30:00+00:00"]
        );
        // 02:30 happens twice on 2025-10-26 (CEST, then CET): one run, at the first.
        assert_eq!(
            next(
                "cron(30 2 * * ? *)",
                "Europe/Berlin",
                "2025-10-25T12:00:00Z",
                2
            ),
            ["2025-10-26T00:30:00+00:00", "2025-10-27T01:30:00+00:00"]
        );
        // Every 30 minutes through the autumn change: 02:00 and 02:30 once each.
        let times = next(
            "cron(0/30 * * * ? *)",
            "Europe/Berlin",
            "2025-10-25T23:45:00Z",
            4,
        );
        assert_eq!(
            times,
            [
                "2025-10-26T00:00:00+00:00",
                "2025-10-26T00:30:00+00:00",
                "2025-10-26T02:00:00+00:00",
                "2025-10-26T02:30:00+00:00"
            ]
        );
    }

    #[test]
    fn eventbridge_day_rules_last_weekday_nth_and_names() {
        // Sunday is 1: MON-FRI is 2-6.
        assert_eq!(
            next("cron(0 9 ? * MON-FRI *)", "UTC", "2025-06-06T10:00:00Z", 2),
            ["2025-06-09T09:00:00+00:00", "2025-06-10T09:00:00+00:00"]
        );
        assert_eq!(
            next("cron(0 9 ? * 2 *)", "UTC", "2025-06-06T10:00:00Z", 1),
            ["2025-06-09T09:00:00+00:00"]
        );
        // The last day of the month, the last Friday, the second Tuesday.
        assert_eq!(
            next("cron(0 0 L * ? *)", "UTC", "2024-02-01T00:00:00Z", 2),
            ["2024-02-29T00:00:00+00:00", "2024-03-31T00:00:00+00:00"]
        );
        assert_eq!(
            next("cron(0 12 ? * 6L *)", "UTC", "2025-06-01T00:00:00Z", 1),
            ["2025-06-27T12:00:00+00:00"]
        );
        assert_eq!(
            next("cron(0 12 ? * 3#2 *)", "UTC", "2025-06-01T00:00:00Z", 1),
            ["2025-06-10T12:00:00+00:00"]
        );
        // 15W: June 15, 2025 is a Sunday, so Monday the 16th; 1W on a Saturday → the 3rd.
        assert_eq!(
            next("cron(0 0 15W * ? *)", "UTC", "2025-06-01T00:00:00Z", 1),
            ["2025-06-16T00:00:00+00:00"]
        );
        assert_eq!(
            next("cron(0 0 1W 3 ? *)", "UTC", "2025-01-01T00:00:00Z", 1),
            ["2025-03-03T00:00:00+00:00"]
        );
        // A year list ends the schedule.
        let cron = CronExpr::parse("0 0 1 1 ? 2026").unwrap();
        assert!(
            cron.next_after(utc("2026-01-01T00:00:00Z"), Tz::UTC)
                .is_none()
        );
        assert_eq!(cron.expression(), "cron(0 0 1 1 ? 2026)");
    }

    #[test]
    fn what_eventbridge_refuses_is_refused_with_a_reason() {
        for (bad, says) in [
            ("0 8 * * *", "six fields"),
            ("0 8 * * * *", "exactly one"),
            ("0 8 ? * ? *", "exactly one"),
            ("60 8 * * ? *", "minutes"),
            ("0 24 * * ? *", "hours"),
            ("0 8 32 * ? *", "day-of-month"),
            ("0 8 * 13 ? *", "month"),
            ("0 8 ? * 8 *", "day-of-week"),
            ("0 8 ? * 2#6 *", "1 to 5"),
            ("0 8 * * ? 2200", "year"),
            ("0 8 * * ? 2030-2025", "backwards"),
            ("0/0 8 * * ? *", "step"),
        ] {
            let error = CronExpr::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn windows_hold_their_wall_clock_hours_across_dst_and_midnight() {
        let tz = parse_time_zone("Europe/Berlin").unwrap();
        let day = DailyWindow::parse("08:00", "23:00").unwrap();
        // The spring change shortens nothing inside 08:00–23:00: 15 hours.
        let spans = window_spans(
            &[day],
            tz,
            utc("2025-03-30T00:00:00Z"),
            utc("2025-03-31T00:00:00Z"),
        );
        assert_eq!(
            spans,
            [(utc("2025-03-30T06:00:00Z"), utc("2025-03-30T21:00:00Z"))]
        );
        // A night window across the autumn change is an hour longer: 22:00–04:00 is 7 h.
        let night = DailyWindow::parse("22:00", "04:00").unwrap();
        let spans = window_spans(
            &[night],
            tz,
            utc("2025-10-25T12:00:00Z"),
            utc("2025-10-26T12:00:00Z"),
        );
        assert_eq!(
            spans,
            [(utc("2025-10-25T20:00:00Z"), utc("2025-10-26T03:00:00Z"))]
        );
        assert!(in_windows(&[night], tz, utc("2025-10-26T01:30:00Z")));
        assert!(!in_windows(&[night], tz, utc("2025-10-26T10:00:00Z")));
        // A window starting in the spring gap opens when the clocks resume.
        let gap = DailyWindow::parse("02:30", "05:00").unwrap();
        assert_eq!(
            next_open(&[gap], tz, utc("2025-03-29T12:00:00Z")),
            Some(utc("2025-03-30T01:00:00Z"))
        );
        assert_eq!(DailyWindow::parse("08:00", "08:00").unwrap_err().0, "end");
        assert_eq!(DailyWindow::parse("8:00", "09:00").unwrap_err().0, "start");
        assert_eq!(
            DailyWindow::parse("20:00", "24:00").unwrap().end_text(),
            "24:00"
        );
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }
}
