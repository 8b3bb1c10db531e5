//! Calendar arithmetic and the two X.509 time encodings (RFC 5280 §4.1.2.5).

use crate::cert::der::{Der, tag};
use crate::error::{DecodeErrorKind, Error, Result};

/// Seconds since 1970-01-01T00:00:00Z, as `now` is passed into every check.
pub type UnixTime = u64;

/// Seconds in a day.
pub const DAY: u64 = 86_400;

/// Unix time of 9999-12-31T23:59:59Z, the "no well-defined expiration" notAfter.
pub const NO_EXPIRY: UnixTime = 253_402_300_799;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm), for
/// years 0 to 9999.
///
/// Calendar arithmetic is 32-bit throughout: on a 32-bit microcontroller a 64-bit
/// division is a library call of about a kilobyte, a 32-bit one an instruction.
pub(crate) const fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i32 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day count since 1970-01-01, for years 1970 to 9999.
///
/// C. Neri and L. Schneider's algorithm ("Euclidean affine functions and their
/// application to calendar algorithms", 2022): 32-bit divisions by constants and one
/// 32×32→64 multiplication, fewer instructions than the era-based inverse of
/// [`days_from_civil`] (which the tests check it against for every day).
#[allow(clippy::cast_possible_truncation)] // the high and low halves of a u64 product
pub(crate) const fn civil_from_days(days: u32) -> (u32, u32, u32) {
    // Days since 0000-03-01 (March-based years put the leap day last); 4n + 3 fits in
    // 32 bits for every day through 9999.
    let n1 = 4 * (days + 719_468) + 3;
    let century = n1 / 146_097;
    let n2 = (n1 % 146_097) | 3;
    let p2 = 2_939_745 * n2 as u64;
    let year_of_century = (p2 >> 32) as u32;
    let day_of_year = (p2 as u32) / 2_939_745 / 4;
    let n3 = 2_141 * day_of_year + 197_913;
    let (m, d) = (n3 >> 16, (n3 & 0xffff) / 2_141 + 1);
    let january_or_february = (day_of_year >= 306) as u32;
    (
        100 * century + year_of_century + january_or_february,
        m - 12 * january_or_february,
        d,
    )
}

/// Splits `t` (at most [`NO_EXPIRY`]) into days since 1970 and seconds into the day with
/// 32-bit divisions: `t >> 7` fits in 32 bits, and 86,400 = 128 × 675.
#[allow(clippy::cast_possible_truncation)] // t <= NO_EXPIRY < 2^39, and secs < 86,400
const fn split_days(t: UnixTime) -> (u32, u32) {
    let days = (t >> 7) as u32 / 675;
    (days, (t - days as u64 * DAY) as u32)
}

/// Writes `t` as UTCTime for years 1950–2049 and GeneralizedTime otherwise, as
/// RFC 5280 requires. Times after 9999-12-31T23:59:59Z, which X.509 cannot express, are
/// written as that instant ([`NO_EXPIRY`]).
#[allow(clippy::cast_possible_truncation)] // every value is below 100
pub(crate) fn write_time(w: &mut Der<'_>, t: UnixTime) {
    let (days, secs) = split_days(if t > NO_EXPIRY { NO_EXPIRY } else { t });
    let (y, m, d) = civil_from_days(days);
    // YYYYMMDDHHMMSSZ, two digits at a time; UTCTime drops the century.
    let mut text = [b'Z'; 15];
    let fields = [
        y / 100,
        y % 100,
        m,
        d,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
    ];
    for (pair, v) in text.chunks_exact_mut(2).zip(fields) {
        pair.copy_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
    }
    let utc = (1950..2050).contains(&y);
    let (tag, skip) = if utc {
        (tag::UTC_TIME, 2)
    } else {
        (tag::GENERALIZED_TIME, 0)
    };
    w.prim(tag, text.get(skip..).unwrap_or(&[]));
}

/// Parses a UTCTime or GeneralizedTime value (DER: seconds present, `Z`, no fraction).
pub(crate) fn parse_time(tag_byte: u8, value: &[u8], at: usize) -> Result<UnixTime> {
    let bad = Error::decode(DecodeErrorKind::InvalidValue, at);
    let (year, rest) = match (tag_byte, value.len()) {
        (tag::UTC_TIME, 13) => {
            let yy = num(value.get(..2).ok_or(bad)?).ok_or(bad)?;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                value.get(2..).ok_or(bad)?,
            )
        }
        (tag::GENERALIZED_TIME, 15) => {
            let yyyy = num(value.get(..4).ok_or(bad)?).ok_or(bad)?;
            if yyyy < 2050 {
                // RFC 5280: dates through 2049 must be UTCTime.
                return Err(bad);
            }
            (yyyy, value.get(4..).ok_or(bad)?)
        }
        _ => return Err(bad),
    };
    let field = |i: usize| rest.get(i..i + 2).and_then(num).ok_or(bad);
    let (mo, d, h, mi, se) = (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    if rest.get(10) != Some(&b'Z')
        || !(1..=12).contains(&mo)
        || d == 0
        || h > 23
        || mi > 59
        || se > 59
    {
        return Err(bad);
    }
    let year = i32::try_from(year).map_err(|_| bad)?;
    let days = u32::try_from(days_from_civil(year, mo, d)).map_err(|_| bad)?;
    let (_, m2, d2) = civil_from_days(days);
    if m2 != mo || d2 != d {
        return Err(bad); // e.g. February 30th
    }
    Ok(u64::from(days) * DAY + u64::from(h * 3600 + mi * 60 + se))
}

fn num(ascii: &[u8]) -> Option<u32> {
    ascii.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::der::{Der, SliceSink, Template, emit};

    struct Time(UnixTime);

    impl Template for Time {
        fn der(&self, w: &mut Der<'_>) {
            write_time(w, self.0);
        }
    }

    fn enc(t: UnixTime) -> ([u8; 20], usize) {
        let mut b = [0u8; 20];
        let mut s = SliceSink::new(&mut b);
        emit(&Time(t), &mut s);
        let n = s.finish().unwrap();
        (b, n)
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 1, 1), 10_957);
        assert_eq!(civil_from_days(10_957), (2000, 1, 1));
        assert_eq!(
            days_from_civil(9999, 12, 31) as u64 * DAY + DAY - 1,
            NO_EXPIRY
        );
        let (b, n) = enc(NO_EXPIRY);
        assert_eq!(&b[..n], b"\x18\x0f99991231235959Z");
        let (b, n) = enc(1_700_000_000);
        assert_eq!(&b[..n], b"\x17\x0d231114221320Z");
    }

    #[test]
    #[allow(clippy::cast_possible_truncation)] // every value is below 2^32
    fn thirty_two_bit_arithmetic_matches_64_bit() {
        let mut t = 0u64;
        while t <= NO_EXPIRY {
            for t in [t, t.saturating_sub(1), t + DAY - 1] {
                let t = t.min(NO_EXPIRY);
                assert_eq!(split_days(t), ((t / DAY) as u32, (t % DAY) as u32), "{t}");
            }
            t += 86_399_993;
        }
        let mut date = (1970, 1, 1);
        for days in 0..=(NO_EXPIRY / DAY) as u32 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!((y, m, d), date, "day {days}");
            assert_eq!(days_from_civil(y as i32, m, d), days as i32);
            // The next day, counted the long way.
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            let month_len = [
                31,
                28 + u32::from(leap),
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
            date = if d < month_len[m as usize - 1] {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
        // X.509 cannot say "after 9999": such times are written as the last second.
        assert_eq!(enc(u64::MAX), enc(NO_EXPIRY));
    }

    #[test]
    fn roundtrip_and_rejects() {
        for t in [0u64, 1_700_000_000, 2_524_608_000, NO_EXPIRY, 946_684_799] {
            let (b, n) = enc(t);
            assert_eq!(parse_time(b[0], &b[2..n], 0).unwrap(), t);
        }
        assert!(parse_time(tag::UTC_TIME, b"230230000000Z", 0).is_err());
        assert!(parse_time(tag::UTC_TIME, b"2302010000000", 0).is_err());
        assert!(parse_time(tag::GENERALIZED_TIME, b"20300101000000Z", 0).is_err());
        assert!(parse_time(tag::UTC_TIME, b"23020100000Z", 0).is_err());
    }
}
