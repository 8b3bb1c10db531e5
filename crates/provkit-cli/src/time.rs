//! Times on the command line and in output: RFC 3339 UTC (`2025-06-01T12:00:00Z`), a
//! date alone (`2025-06-01`, midnight UTC), or Unix seconds.

use crate::Failure;

/// Days since 1970-01-01 of a civil date (proleptic Gregorian; H. Hinnant's algorithm).
const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01.
const fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

/// `t` as RFC 3339 UTC.
pub fn format(t: u64) -> String {
    let t = i64::try_from(t).unwrap_or(i64::MAX);
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Parses `2025-06-01T12:00:00Z`, `2025-06-01` or Unix seconds.
///
/// # Errors
/// A [`Failure`] saying which forms are accepted.
pub fn parse(s: &str) -> Result<u64, Failure> {
    let bad = || {
        Failure(format!(
            "time {s:?}: expected YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or Unix seconds"
        ))
    };
    if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
        return s.parse().map_err(|_| bad());
    }
    let num = |r: core::ops::Range<usize>| -> Result<i64, Failure> {
        let part = s.get(r).ok_or_else(bad)?;
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let sep = |i: usize, c: u8| s.as_bytes().get(i) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-')) {
        return Err(bad());
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = match s.len() {
        10 => (0, 0, 0),
        20 if sep(10, b'T') && sep(13, b':') && sep(16, b':') && sep(19, b'Z') => {
            (num(11..13)?, num(14..16)?, num(17..19)?)
        }
        _ => return Err(bad()),
    };
    let month_days = [
        31,
        28 + i64::from(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let valid_day = usize::try_from(m - 1)
        .ok()
        .and_then(|i| month_days.get(i))
        .is_some_and(|&max| (1..=max).contains(&d));
    if !valid_day || hh > 23 || mm > 59 || ss > 59 {
        return Err(bad());
    }
    let t = days_from_civil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss;
    u64::try_from(t).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refusals() {
        for (text, t) in [
            ("1970-01-01T00:00:00Z", 0),
            ("2025-06-01T12:00:00Z", 1_748_779_200),
            ("2000-02-29T23:59:59Z", 951_868_799),
            ("9999-12-31T23:59:59Z", 253_402_300_799),
        ] {
            assert_eq!(format(t), text);
            assert_eq!(parse(text).unwrap(), t, "{text}");
        }
        assert_eq!(parse("2025-06-01").unwrap(), 1_748_736_000);
        assert_eq!(parse("1748779200").unwrap(), 1_748_779_200);
        for bad in [
            "",
            "2025-13-01",
            "2025-02-29",
            "2025-06-01T24:00:00Z",
            "2025-6-1",
            "yesterday",
            "2025-06-01T12:00:00",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
