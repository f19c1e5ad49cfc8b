//! UTC timestamps as the database stores them: microseconds since the Unix epoch,
//! written as fixed-width RFC 3339 text (`2026-11-24T09:30:00.123456Z`) so that text
//! order is time order, and read back from any RFC 3339 form a client may send.

use std::time::{SystemTime, UNIX_EPOCH};

const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Microseconds since the Unix epoch by the wall clock (0 if the clock is before 1970).
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Formats as `YYYY-MM-DDTHH:MM:SS.ffffffZ`, always 27 characters for years 0..=9999.
pub fn format_micros(micros: i64) -> String {
    let secs = micros.div_euclid(MICROS_PER_SEC);
    let frac = micros.rem_euclid(MICROS_PER_SEC);
    let days = secs.div_euclid(SECS_PER_DAY);
    let sod = secs.rem_euclid(SECS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Formats Unix seconds (Meta's `timestamp` fields) the same way.
pub fn format_unix_secs(secs: i64) -> String {
    format_micros(secs.saturating_mul(MICROS_PER_SEC))
}

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 timestamp (expected e.g. 2026-11-24T09:30:00.123456Z): {0}")]
pub struct TimestampError(String);

/// Parses RFC 3339 (`T` or a space between date and time, optional fraction up to
/// nanoseconds, `Z` or `±HH:MM`) into microseconds since the epoch. Digits past the
/// sixth fractional place are truncated, so our own output round-trips exactly.
pub fn parse_rfc3339(input: &str) -> Result<i64, TimestampError> {
    let err = || TimestampError(input.chars().take(64).collect());
    let b = input.trim().as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(err());
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(err());
    }
    let num = |from: usize, to: usize| -> Result<i64, TimestampError> {
        let s = std::str::from_utf8(&b[from..to]).map_err(|_| err())?;
        if !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(err());
        }
        s.parse::<i64>().map_err(|_| err())
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(err());
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(err());
    }
    let mut i = 19;
    let mut frac_micros = 0i64;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 9 {
            return Err(err());
        }
        let kept = digits.min(6);
        frac_micros = num(start, start + kept)? * 10i64.pow((6 - kept) as u32);
    }
    let offset_secs = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (oh, om) = (num(i + 1, i + 3)?, num(i + 4, i + 6)?);
            if oh > 23 || om > 59 {
                return Err(err());
            }
            let off = oh * 3600 + om * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return Err(err()),
    };
    let days = days_from_civil(year, month, day);
    let secs = days * SECS_PER_DAY + hour * 3600 + minute * 60 + second.min(59) - offset_secs;
    Ok(secs * MICROS_PER_SEC + frac_micros)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_fixed_width_utc() {
        assert_eq!(format_micros(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_unix_secs(1_749_416_383),
            "2025-06-08T20:59:43.000000Z"
        );
        assert_eq!(
            format_micros(951_782_400_000_001),
            "2000-02-29T00:00:00.000001Z"
        );
    }

    #[test]
    fn own_format_round_trips_exactly() {
        for us in [
            0,
            1,
            1_749_416_383_123_456,
            4_102_444_799_999_999,
            951_782_400_000_001,
        ] {
            assert_eq!(parse_rfc3339(&format_micros(us)), Ok(us));
        }
    }

    #[test]
    fn accepts_common_client_forms() {
        let base = parse_rfc3339("2026-11-24T09:30:00Z").expect("plain Z");
        assert_eq!(parse_rfc3339("2026-11-24 09:30:00z"), Ok(base));
        assert_eq!(parse_rfc3339("2026-11-24T10:30:00+01:00"), Ok(base));
        assert_eq!(parse_rfc3339("2026-11-24T09:30:00.5Z"), Ok(base + 500_000));
        assert_eq!(
            parse_rfc3339("2026-11-24T09:30:00.123456789Z"),
            Ok(base + 123_456)
        );
    }

    #[test]
    fn rejects_what_is_not_a_timestamp() {
        for bad in [
            "",
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
            "2026-11-24",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-24T09:30:00",
            "2026-11-24T09:30:00.Z",
            "1749416383",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?} accepted");
        }
    }
}
