//! Dates for the rules: calendar days, working days (Mon–Fri) and week keys, all computed
//! from millisecond times the caller passed in. The core never reads a clock.
//!
//! Days are counted in the office's local time, [`OFFICE_UTC_OFFSET_MS`] (China Standard
//! Time, UTC+8, no daylight saving), so "3 working days" means what the people in the seed
//! mean by it. Public holidays are not known here: a deadline that falls over a holiday is
//! early, never late.

use crate::common::UnixMs;

/// One calendar day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// The office's offset from UTC: China Standard Time, UTC+8, in milliseconds.
pub const OFFICE_UTC_OFFSET_MS: i64 = 8 * 3_600_000;

/// The most working days a deadline may be set to (about a year): a guard against typos.
pub const WORKING_DAYS_MAX: i64 = 260;

/// The local day number of `ms` (days since 1970-01-01 in office time).
pub fn local_day(ms: UnixMs) -> i64 {
    (ms + OFFICE_UTC_OFFSET_MS).div_euclid(DAY_MS)
}

/// The first millisecond of local day `day`.
pub fn day_start_ms(day: i64) -> UnixMs {
    day * DAY_MS - OFFICE_UTC_OFFSET_MS
}

/// The weekday of local day `day`: 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
pub fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

/// Whether local day `day` is a working day (Monday to Friday).
pub fn is_working_day(day: i64) -> bool {
    weekday(day) < 5
}

/// The deadline for something asked at `start_ms` that must be done within `days` working
/// days: the end of the `days`-th working day after the day it was asked (that day itself
/// does not count). Returned as the first millisecond after the deadline: the request is
/// overdue when `now_ms >= deadline`. `days` is clamped to `0..=WORKING_DAYS_MAX`; with 0
/// the deadline is the end of the day asked.
pub fn working_days_deadline(start_ms: UnixMs, days: i64) -> UnixMs {
    let mut day = local_day(start_ms);
    let mut left = days.clamp(0, WORKING_DAYS_MAX);
    while left > 0 {
        day += 1;
        if is_working_day(day) {
            left -= 1;
        }
    }
    day_start_ms(day + 1)
}

/// The Monday that starts the week of `ms`, as a local day number.
pub fn week_monday(ms: UnixMs) -> i64 {
    let day = local_day(ms);
    day - weekday(day)
}

/// The civil date (year, month, day) of local day `day` (Howard Hinnant's algorithm).
pub fn civil_date(day: i64) -> (i64, u32, u32) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "month is 1–12 and day 1–31 by construction"
    )]
    (if m <= 2 { y + 1 } else { y }, m as u32, d as u32)
}

/// The key of the week of `ms` in a schedule: the date of its Monday, `YYYY-MM-DD`.
pub fn week_key(ms: UnixMs) -> String {
    let (y, m, d) = civil_date(week_monday(ms));
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// 2026-11-27 10:00 China time (a Friday), in ms.
    const FRI_10H: UnixMs = 1_795_744_800_000;

    #[wasm_bindgen_test(unsupported = test)]
    fn days_are_counted_in_office_time() {
        assert_eq!(civil_date(local_day(FRI_10H)), (2026, 11, 27));
        assert_eq!(weekday(local_day(FRI_10H)), 4, "a Friday");
        // Thursday 15:30 UTC is 23:30 in the office, still Thursday; an hour later it is
        // Friday in the office though still Thursday in UTC.
        let thu_1530_utc = FRI_10H - 10 * 3_600_000 - 30 * 60_000;
        assert_eq!(local_day(thu_1530_utc), local_day(FRI_10H) - 1);
        assert_eq!(local_day(thu_1530_utc + 3_600_000), local_day(FRI_10H));
        assert_eq!(
            (thu_1530_utc + 3_600_000).div_euclid(DAY_MS),
            FRI_10H.div_euclid(DAY_MS) - 1,
            "still Thursday in UTC"
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn working_days_skip_the_weekend() {
        // Asked on Friday: 3 working days are Mon, Tue, Wed; due by the end of Wednesday.
        let deadline = working_days_deadline(FRI_10H, 3);
        let wed = local_day(FRI_10H) + 5;
        assert_eq!(weekday(wed), 2);
        assert_eq!(deadline, day_start_ms(wed + 1));
        assert!(deadline - 1 < day_start_ms(wed + 1));
        // Asked on Monday: due Thursday.
        let mon = local_day(FRI_10H) + 3;
        assert_eq!(
            working_days_deadline(day_start_ms(mon) + 1, 3),
            day_start_ms(mon + 4)
        );
        // Zero days: the end of the day asked.
        assert_eq!(
            working_days_deadline(FRI_10H, 0),
            day_start_ms(local_day(FRI_10H) + 1)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn working_days_are_clamped_to_the_maximum() {
        let at_max = working_days_deadline(FRI_10H, WORKING_DAYS_MAX);
        assert_eq!(working_days_deadline(FRI_10H, WORKING_DAYS_MAX + 1), at_max);
        assert!(working_days_deadline(FRI_10H, WORKING_DAYS_MAX - 1) < at_max);
        assert_eq!(
            working_days_deadline(FRI_10H, -5),
            working_days_deadline(FRI_10H, 0)
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn week_keys_name_the_monday() {
        assert_eq!(week_key(FRI_10H), "2026-11-23");
        assert_eq!(week_key(FRI_10H + 2 * DAY_MS), "2026-11-23", "Sunday");
        assert_eq!(week_key(FRI_10H + 3 * DAY_MS), "2026-11-30", "Monday");
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(-1), (1969, 12, 31));
        assert_eq!(civil_date(11_016), (2000, 2, 29));
    }
}
