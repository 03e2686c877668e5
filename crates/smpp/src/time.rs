//! SMPP time formats: absolute and relative (SMPP 3.4 section 7.1.1), and the
//! shorter dates written in delivery-receipt text (Appendix B).
//!
//! An SMPP time is 16 characters, or empty for "not given":
//! - absolute `YYMMDDhhmmsstnnp`: a wall-clock time with tenths of a second
//!   `t` and its distance from UTC, `nn` quarter hours (00-48) ahead (`p` =
//!   `+`) or behind (`-`);
//! - relative `YYMMDDhhmmss000R`: years, months, days, hours, minutes and
//!   seconds from the moment the receiver reads it.
//!
//! Both become a real instant ([`SystemTime`]) here, so nothing past the
//! decoder handles wall-clock fields or time zones. Calendar arithmetic is
//! done with Howard Hinnant's `days_from_civil` / `civil_from_days`
//! algorithms (proleptic Gregorian, exact for every date), so the crate needs
//! no date library.
//!
//! Two-digit years are read as 2000-2099: SMPP 3.4 dates from 1999 and every
//! time a gateway handles (validity periods, schedules, receipts) lies between
//! its start and 2099, so no pivot year is needed.
//!
//! This module knows nothing of PDUs: callers pass the field's octets and map
//! a [`TimeError`] to ESME_RINVSCHED or ESME_RINVEXPIRY as the field demands.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds in a day; SMPP (like Unix time) has no leap seconds.
const SECONDS_PER_DAY: i64 = 86_400;
/// Seconds in the quarter hour in which SMPP gives UTC offsets.
const SECONDS_PER_QUARTER_HOUR: i64 = 900;
/// The largest UTC offset SMPP can express: 48 quarter hours, 12 hours.
const MAX_OFFSET_QUARTER_HOURS: i8 = 48;

/// Why a time could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// An SMPP time is exactly 16 characters (or empty for "not given").
    #[error("an SMPP time is 16 characters (YYMMDDhhmmsstnnp) or empty, got {length}")]
    WrongLength {
        /// How many octets were given.
        length: usize,
    },
    /// A receipt date is `YYMMDDhhmm` or `YYMMDDhhmmss`.
    #[error("a receipt date is 10 or 12 digits (YYMMDDhhmm[ss]), got {length} characters")]
    WrongReceiptDateLength {
        /// How many octets were given.
        length: usize,
    },
    /// A field that must be decimal digits holds something else.
    #[error("the {field} must be digits, found {:?} at offset {offset}", char::from(*found))]
    NotADigit {
        /// Which field (`month`, `UTC offset`, ...).
        field: &'static str,
        /// Where the offending octet is, counted from 0.
        offset: usize,
        /// The offending octet.
        found: u8,
    },
    /// A month, hour, minute or second outside its calendar range.
    #[error("{field} {value} is out of range (allowed {min}-{max})")]
    OutOfRange {
        /// Which field.
        field: &'static str,
        /// The value given.
        value: u8,
        /// The smallest allowed value.
        min: u8,
        /// The largest allowed value.
        max: u8,
    },
    /// The day does not exist in that month (30 February, 29 February 2027).
    #[error("day {day} does not exist in {year:04}-{month:02}")]
    NoSuchDay {
        /// The year (2000-2099).
        year: i64,
        /// The month (1-12).
        month: u8,
        /// The day given.
        day: u8,
    },
    /// The last character must say how to read the time.
    #[error("the 16th character must be '+', '-' (absolute) or 'R' (relative), found {:?}", char::from(*found))]
    BadDirection {
        /// The character found.
        found: u8,
    },
    /// A relative time has no tenths or UTC offset; SMPP requires `000` there.
    #[error("a relative time must have \"000\" before its 'R', found {found:?}")]
    RelativeNotZero {
        /// The three characters found.
        found: String,
    },
    /// A UTC offset beyond the ±48 quarter hours SMPP can express.
    #[error("a UTC offset is at most 48 quarter hours either way, got {quarter_hours}")]
    OffsetOutOfRange {
        /// The offset asked for.
        quarter_hours: i8,
    },
    /// The two-digit year can only say 2000-2099; writing another year would
    /// be read back in the wrong century.
    #[error("year {year} cannot be written as an SMPP time (only 2000-2099 can)")]
    YearOutOfRange {
        /// The (local) year of the instant.
        year: i64,
    },
    /// A relative time without years and months holds at most 99 days
    /// 23:59:59; years and months are not a fixed number of seconds, so a
    /// longer duration cannot be written exactly.
    #[error(
        "a duration of {seconds} s is longer than the 99 days 23:59:59 an SMPP relative time can hold exactly"
    )]
    RelativeTooLong {
        /// The duration asked for, in whole seconds.
        seconds: u64,
    },
    /// The instant is beyond what the platform's clock type can hold.
    #[error("the resulting time is beyond the range of the system clock")]
    Unrepresentable,
}

/// A parsed SMPP time, before it is tied to a clock.
///
/// Kept apart from [`parse_smpp_time`] for callers that must store or echo
/// the time as given (a relative validity is resolved when the message is
/// accepted, not when the PDU is decoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmppTime {
    /// A fixed instant.
    Absolute {
        /// The instant (in UTC, as every `SystemTime` is), to the tenth of a
        /// second the format carries.
        at: SystemTime,
        /// The sender's offset from UTC in quarter hours (-48..=48), kept so
        /// the time can be written back as the sender wrote it.
        utc_offset_quarter_hours: i8,
    },
    /// A span from "now". Each field may be 0-99: SMPP does not bound them,
    /// and `48` hours or `90` minutes mean exactly what they say, so refusing
    /// them would only reject clear requests.
    Relative {
        /// Calendar years.
        years: u8,
        /// Calendar months.
        months: u8,
        /// Days.
        days: u8,
        /// Hours.
        hours: u8,
        /// Minutes.
        minutes: u8,
        /// Seconds.
        seconds: u8,
    },
}

impl SmppTime {
    /// Reads an SMPP time field; `Ok(None)` when it is empty ("not given").
    pub fn parse(text: &[u8]) -> Result<Option<SmppTime>, TimeError> {
        if text.is_empty() {
            return Ok(None);
        }
        if text.len() != 16 {
            return Err(TimeError::WrongLength { length: text.len() });
        }
        let year = digits(text, 0, "year")?;
        let month = digits(text, 2, "month")?;
        let day = digits(text, 4, "day")?;
        let hour = digits(text, 6, "hour")?;
        let minute = digits(text, 8, "minute")?;
        let second = digits(text, 10, "second")?;
        let direction = text[15];
        match direction {
            b'R' => {
                if &text[12..15] != b"000" {
                    return Err(TimeError::RelativeNotZero {
                        found: String::from_utf8_lossy(&text[12..15]).into_owned(),
                    });
                }
                Ok(Some(SmppTime::Relative {
                    years: year,
                    months: month,
                    days: day,
                    hours: hour,
                    minutes: minute,
                    seconds: second,
                }))
            }
            b'+' | b'-' => {
                let tenths = digit(text, 12, "tenths of a second")?;
                let offset = digits(text, 13, "UTC offset")?;
                check_range("UTC offset", offset, 0, MAX_OFFSET_QUARTER_HOURS as u8)?;
                let local =
                    Civil::checked(2000 + i64::from(year), month, day, hour, minute, second)?;
                // The offset fits an i8: it was just checked to be at most 48.
                let offset = offset as i8;
                let utc_offset_quarter_hours = if direction == b'+' { offset } else { -offset };
                // Wall-clock time ahead of UTC ('+') is later than UTC: subtract.
                let seconds = local.unix_seconds()
                    - i64::from(utc_offset_quarter_hours) * SECONDS_PER_QUARTER_HOUR;
                let at = from_unix(seconds, u32::from(tenths) * 100_000_000)?;
                Ok(Some(SmppTime::Absolute {
                    at,
                    utc_offset_quarter_hours,
                }))
            }
            found => Err(TimeError::BadDirection { found }),
        }
    }

    /// The instant this time stands for, taking relative times from `now`.
    ///
    /// Years and months are added on the calendar (UTC) with the day clamped
    /// to the target month's length, so one month from 31 January is 28 or
    /// 29 February, as a person would expect; days, hours, minutes and
    /// seconds are then added as exact durations.
    pub fn resolve(&self, now: SystemTime) -> Result<SystemTime, TimeError> {
        match *self {
            SmppTime::Absolute { at, .. } => Ok(at),
            SmppTime::Relative {
                years,
                months,
                days,
                hours,
                minutes,
                seconds,
            } => {
                let (now_seconds, nanos) = to_unix(now);
                let day_number = now_seconds.div_euclid(SECONDS_PER_DAY);
                let second_of_day = now_seconds.rem_euclid(SECONDS_PER_DAY);
                let (year, month, day) = civil_from_days(day_number);
                let month_index =
                    year * 12 + i64::from(month) - 1 + i64::from(years) * 12 + i64::from(months);
                let target_year = month_index.div_euclid(12);
                // rem_euclid(12) + 1 is always 1..=12.
                let target_month = (month_index.rem_euclid(12) + 1) as u8;
                let target_day = day.min(days_in_month(target_year, target_month));
                let span = i64::from(days) * SECONDS_PER_DAY
                    + i64::from(hours) * 3600
                    + i64::from(minutes) * 60
                    + i64::from(seconds);
                let total = days_from_civil(target_year, target_month, target_day)
                    .checked_mul(SECONDS_PER_DAY)
                    .and_then(|s| s.checked_add(second_of_day))
                    .and_then(|s| s.checked_add(span))
                    .ok_or(TimeError::Unrepresentable)?;
                from_unix(total, nanos)
            }
        }
    }
}

/// Reads an SMPP time field straight to an instant, relative times counted
/// from `now`; `Ok(None)` when the field is empty.
pub fn parse_smpp_time(text: &[u8], now: SystemTime) -> Result<Option<SystemTime>, TimeError> {
    SmppTime::parse(text)?
        .map(|time| time.resolve(now))
        .transpose()
}

/// Writes `instant` as an absolute SMPP time at the given offset from UTC
/// (quarter hours, -48..=48), e.g. `260212143000000+` for UTC.
///
/// Fails rather than write something the receiver would misread: an offset
/// SMPP cannot express, or a local year outside 2000-2099.
pub fn format_absolute(instant: SystemTime, offset_quarter_hours: i8) -> Result<String, TimeError> {
    if !(-MAX_OFFSET_QUARTER_HOURS..=MAX_OFFSET_QUARTER_HOURS).contains(&offset_quarter_hours) {
        return Err(TimeError::OffsetOutOfRange {
            quarter_hours: offset_quarter_hours,
        });
    }
    let (seconds, nanos) = to_unix(instant);
    let local = seconds.saturating_add(i64::from(offset_quarter_hours) * SECONDS_PER_QUARTER_HOUR);
    let civil = Civil::from_unix_seconds(local);
    if !(2000..=2099).contains(&civil.year) {
        return Err(TimeError::YearOutOfRange { year: civil.year });
    }
    let sign = if offset_quarter_hours < 0 { '-' } else { '+' };
    Ok(format!(
        "{}{}{:02}{}",
        civil.digits(true),
        nanos / 100_000_000,
        offset_quarter_hours.unsigned_abs(),
        sign
    ))
}

/// Writes `span` as a relative SMPP time in days, hours, minutes and seconds
/// (`000002030000000R` for 2 days 3 hours), dropping any fraction of a second
/// since the format has none.
///
/// Years and months are left at zero because they are not a fixed number of
/// seconds; a span over 99 days 23:59:59 therefore fails.
pub fn format_relative(span: Duration) -> Result<String, TimeError> {
    let total = span.as_secs();
    let days = total / 86_400;
    if days > 99 {
        return Err(TimeError::RelativeTooLong { seconds: total });
    }
    let hours = total % 86_400 / 3600;
    let minutes = total % 3600 / 60;
    let seconds = total % 60;
    Ok(format!(
        "0000{days:02}{hours:02}{minutes:02}{seconds:02}000R"
    ))
}

/// How precise a receipt date is written: SMPP 3.4 specifies `YYMMDDhhmm`;
/// many carriers (and customers' parsers) use `YYMMDDhhmmss`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReceiptDateFormat {
    /// `YYMMDDhhmm`, 10 digits, as the specification shows.
    #[default]
    Minutes,
    /// `YYMMDDhhmmss`, 12 digits.
    Seconds,
}

/// Reads a receipt date, `YYMMDDhhmm` or `YYMMDDhhmmss`, as UTC.
///
/// The receipt format carries no zone: an SMSC writes its own clock, which
/// may be local time we cannot know. UTC is the only reading that needs no
/// per-carrier knowledge; these dates are informational, since the message's
/// own trace records when we received the receipt.
pub fn parse_receipt_date(text: &[u8]) -> Result<SystemTime, TimeError> {
    if text.len() != 10 && text.len() != 12 {
        return Err(TimeError::WrongReceiptDateLength { length: text.len() });
    }
    let second = if text.len() == 12 {
        digits(text, 10, "second")?
    } else {
        0
    };
    let civil = Civil::checked(
        2000 + i64::from(digits(text, 0, "year")?),
        digits(text, 2, "month")?,
        digits(text, 4, "day")?,
        digits(text, 6, "hour")?,
        digits(text, 8, "minute")?,
        second,
    )?;
    from_unix(civil.unix_seconds(), 0)
}

/// Writes `instant` (in UTC) as a receipt date.
///
/// Unlike [`format_absolute`] this cannot fail: a receipt is descriptive
/// text that nothing is scheduled by, so a year outside 2000-2099 (only ever
/// a bug upstream) is written modulo 100 rather than refused, keeping the
/// receipt itself deliverable.
pub fn format_receipt_date(instant: SystemTime, format: ReceiptDateFormat) -> String {
    let civil = Civil::from_unix_seconds(to_unix(instant).0);
    civil.digits(format == ReceiptDateFormat::Seconds)
}

/// A validated wall-clock date and time.
struct Civil {
    year: i64,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl Civil {
    /// Checks each field against the calendar.
    fn checked(
        year: i64,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Result<Civil, TimeError> {
        check_range("month", month, 1, 12)?;
        if day == 0 || day > days_in_month(year, month) {
            return Err(TimeError::NoSuchDay { year, month, day });
        }
        check_range("hour", hour, 0, 23)?;
        check_range("minute", minute, 0, 59)?;
        check_range("second", second, 0, 59)?;
        Ok(Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    fn from_unix_seconds(seconds: i64) -> Civil {
        let (year, month, day) = civil_from_days(seconds.div_euclid(SECONDS_PER_DAY));
        let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
        // Each quotient below is bounded by the rem_euclid above (< 86400).
        Civil {
            year,
            month,
            day,
            hour: (second_of_day / 3600) as u8,
            minute: (second_of_day % 3600 / 60) as u8,
            second: (second_of_day % 60) as u8,
        }
    }

    /// Seconds since the Unix epoch, reading the fields as UTC. Years here
    /// are 2000-2099, so this cannot overflow.
    fn unix_seconds(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * SECONDS_PER_DAY
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// `YYMMDDhhmm` or `YYMMDDhhmmss`, the year modulo 100.
    fn digits(&self, with_seconds: bool) -> String {
        let mut text = format!(
            "{:02}{:02}{:02}{:02}{:02}",
            self.year.rem_euclid(100),
            self.month,
            self.day,
            self.hour,
            self.minute
        );
        if with_seconds {
            text.push_str(&format!("{:02}", self.second));
        }
        text
    }
}

fn check_range(field: &'static str, value: u8, min: u8, max: u8) -> Result<(), TimeError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(TimeError::OutOfRange {
            field,
            value,
            min,
            max,
        })
    }
}

/// The decimal digit at `offset`.
fn digit(text: &[u8], offset: usize, field: &'static str) -> Result<u8, TimeError> {
    match text.get(offset) {
        Some(&octet) if octet.is_ascii_digit() => Ok(octet - b'0'),
        Some(&found) => Err(TimeError::NotADigit {
            field,
            offset,
            found,
        }),
        // Callers check the length first; a missing octet reads as a NUL.
        None => Err(TimeError::NotADigit {
            field,
            offset,
            found: 0,
        }),
    }
}

/// The two-digit decimal number at `offset`.
fn digits(text: &[u8], offset: usize, field: &'static str) -> Result<u8, TimeError> {
    Ok(digit(text, offset, field)? * 10 + digit(text, offset + 1, field)?)
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
/// `days_from_civil`): years are shifted to start in March so the leap day
/// falls at the end, and counted in 400-year eras of 146097 days.
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (i64::from(month) + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date of a day number since 1970-01-01 (Hinnant's `civil_from_days`),
/// the inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    // Both are small by construction: day 1..=31, month 1..=12.
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u8;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u8;
    let year = year_of_era + era * 400;
    (if month <= 2 { year + 1 } else { year }, month, day)
}

/// Whole seconds since the epoch (rounded down, also before 1970) and the
/// nanoseconds after them. Saturates at the ends of `i64`, which no platform
/// clock reaches, so callers need no error path for an impossible case.
fn to_unix(instant: SystemTime) -> (i64, u32) {
    match instant.duration_since(UNIX_EPOCH) {
        Ok(after) => (
            i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            after.subsec_nanos(),
        ),
        Err(before) => {
            let before = before.duration();
            let seconds = i64::try_from(before.as_secs()).map_or(i64::MIN, |s| -s);
            match before.subsec_nanos() {
                0 => (seconds, 0),
                nanos => (seconds.saturating_sub(1), 1_000_000_000 - nanos),
            }
        }
    }
}

/// The inverse of [`to_unix`], failing where the platform clock ends.
fn from_unix(seconds: i64, nanos: u32) -> Result<SystemTime, TimeError> {
    let whole = if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
    };
    whole
        .and_then(|t| t.checked_add(Duration::from_nanos(u64::from(nanos))))
        .ok_or(TimeError::Unrepresentable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2026-02-12 14:30:00 UTC.
    const FEB_12_2026_1430: u64 = 1_770_906_600;

    fn unix(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn parse(text: &str) -> Result<Option<SmppTime>, TimeError> {
        SmppTime::parse(text.as_bytes())
    }

    #[test]
    fn empty_time_means_not_given() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse_smpp_time(b"", unix(0)), Ok(None));
    }

    #[test]
    fn absolute_utc_time_parses_to_the_instant() {
        let at = parse_smpp_time(b"260212143000000+", unix(0));
        assert_eq!(at, Ok(Some(unix(FEB_12_2026_1430))));
    }

    #[test]
    fn absolute_time_keeps_tenths_of_a_second() {
        let at = parse_smpp_time(b"260212143000700+", unix(0));
        assert_eq!(
            at,
            Ok(Some(unix(FEB_12_2026_1430) + Duration::from_millis(700)))
        );
    }

    #[test]
    fn offset_ahead_of_utc_is_subtracted() {
        // 16:30 at UTC+2 (8 quarter hours) is 14:30 UTC.
        assert_eq!(
            parse("260212163000008+"),
            Ok(Some(SmppTime::Absolute {
                at: unix(FEB_12_2026_1430),
                utc_offset_quarter_hours: 8,
            }))
        );
    }

    #[test]
    fn offset_behind_utc_is_added() {
        // 09:30 at UTC-5 (20 quarter hours) is 14:30 UTC.
        assert_eq!(
            parse("260212093000020-"),
            Ok(Some(SmppTime::Absolute {
                at: unix(FEB_12_2026_1430),
                utc_offset_quarter_hours: -20,
            }))
        );
    }

    #[test]
    fn offset_can_cross_midnight_and_year_end() {
        // 2000-01-01 05:00 at UTC+12 is 1999-12-31 17:00 UTC.
        let at = parse_smpp_time(b"000101050000048+", unix(0));
        assert_eq!(at, Ok(Some(unix(946_659_600))));
    }

    #[test]
    fn two_digit_years_are_read_in_2000_to_2099() {
        assert_eq!(
            parse_smpp_time(b"000101000000000+", unix(0)),
            Ok(Some(unix(946_684_800)))
        );
        assert_eq!(
            parse_smpp_time(b"991231235959000+", unix(0)),
            Ok(Some(unix(4_102_444_799)))
        );
    }

    #[test]
    fn leap_day_is_accepted_only_in_leap_years() {
        assert!(parse("240229120000000+").is_ok());
        assert!(parse("000229120000000+").is_ok());
        assert_eq!(
            parse("250229120000000+"),
            Err(TimeError::NoSuchDay {
                year: 2025,
                month: 2,
                day: 29
            })
        );
    }

    #[test]
    fn impossible_calendar_fields_are_rejected() {
        let out_of_range = |field, value, min, max| {
            Err(TimeError::OutOfRange {
                field,
                value,
                min,
                max,
            })
        };
        assert_eq!(parse("261312000000000+"), out_of_range("month", 13, 1, 12));
        assert_eq!(parse("260012000000000+"), out_of_range("month", 0, 1, 12));
        assert_eq!(parse("260212240000000+"), out_of_range("hour", 24, 0, 23));
        assert_eq!(parse("260212006000000+"), out_of_range("minute", 60, 0, 59));
        assert_eq!(parse("260212000060000+"), out_of_range("second", 60, 0, 59));
        assert_eq!(
            parse("260212000000049+"),
            out_of_range("UTC offset", 49, 0, 48)
        );
        assert!(matches!(
            parse("260431000000000+"),
            Err(TimeError::NoSuchDay { day: 31, .. })
        ));
        assert!(matches!(
            parse("260400000000000+"),
            Err(TimeError::NoSuchDay { day: 0, .. })
        ));
    }

    #[test]
    fn wrong_length_is_rejected() {
        assert_eq!(
            parse("26021214300000+"),
            Err(TimeError::WrongLength { length: 15 })
        );
        assert_eq!(
            parse("260212143000000+\0"),
            Err(TimeError::WrongLength { length: 17 })
        );
    }

    #[test]
    fn non_digit_reports_field_and_offset() {
        assert_eq!(
            parse("2602X2143000000+"),
            Err(TimeError::NotADigit {
                field: "day",
                offset: 4,
                found: b'X'
            })
        );
        assert_eq!(
            parse("26021214300000 +"),
            Err(TimeError::NotADigit {
                field: "UTC offset",
                offset: 14,
                found: b' '
            })
        );
    }

    #[test]
    fn unknown_direction_character_is_rejected() {
        assert_eq!(
            parse("260212143000000Z"),
            Err(TimeError::BadDirection { found: b'Z' })
        );
    }

    #[test]
    fn relative_time_requires_zero_tenths_and_offset() {
        assert_eq!(
            parse("000001000000004R"),
            Err(TimeError::RelativeNotZero {
                found: "004".to_string()
            })
        );
    }

    #[test]
    fn relative_time_parses_each_field() {
        assert_eq!(
            parse("020610233429000R"),
            Ok(Some(SmppTime::Relative {
                years: 2,
                months: 6,
                days: 10,
                hours: 23,
                minutes: 34,
                seconds: 29,
            }))
        );
    }

    #[test]
    fn relative_days_and_hours_are_exact_durations() {
        let now = unix(FEB_12_2026_1430) + Duration::from_millis(250);
        let at = parse_smpp_time(b"000002030405000R", now);
        let span = Duration::from_secs(2 * 86_400 + 3 * 3600 + 4 * 60 + 5);
        assert_eq!(at, Ok(Some(now + span)));
    }

    #[test]
    fn relative_fields_beyond_clock_ranges_mean_what_they_say() {
        let now = unix(FEB_12_2026_1430);
        let at = parse_smpp_time(b"000000480000000R", now);
        assert_eq!(at, Ok(Some(now + Duration::from_secs(48 * 3600))));
    }

    #[test]
    fn relative_month_clamps_to_the_end_of_a_short_month() {
        // 2026-01-31 10:00 UTC + 1 month = 2026-02-28 10:00 UTC.
        let jan_31 = parse_smpp_time(b"260131100000000+", unix(0))
            .unwrap()
            .unwrap();
        let feb_28 = parse_smpp_time(b"260228100000000+", unix(0))
            .unwrap()
            .unwrap();
        assert_eq!(
            parse_smpp_time(b"000100000000000R", jan_31),
            Ok(Some(feb_28))
        );
    }

    #[test]
    fn relative_year_from_a_leap_day_lands_on_28_february() {
        let leap_day = parse_smpp_time(b"240229000000000+", unix(0))
            .unwrap()
            .unwrap();
        let next_year = parse_smpp_time(b"250228000000000+", unix(0))
            .unwrap()
            .unwrap();
        assert_eq!(
            parse_smpp_time(b"010000000000000R", leap_day),
            Ok(Some(next_year))
        );
    }

    #[test]
    fn relative_months_roll_over_into_years() {
        // 2026-11-15 + 14 months = 2028-01-15.
        let start = parse_smpp_time(b"261115000000000+", unix(0))
            .unwrap()
            .unwrap();
        let end = parse_smpp_time(b"280115000000000+", unix(0))
            .unwrap()
            .unwrap();
        assert_eq!(parse_smpp_time(b"001400000000000R", start), Ok(Some(end)));
    }

    #[test]
    fn relative_time_resolves_from_before_1970() {
        let now = UNIX_EPOCH - Duration::from_millis(1500);
        let at = parse_smpp_time(b"000000000001000R", now);
        assert_eq!(at, Ok(Some(UNIX_EPOCH - Duration::from_millis(500))));
    }

    #[test]
    fn absolute_format_writes_utc_with_plus_sign() {
        let at = unix(FEB_12_2026_1430) + Duration::from_millis(345);
        assert_eq!(format_absolute(at, 0).as_deref(), Ok("260212143000300+"));
    }

    #[test]
    fn absolute_format_writes_local_time_and_offset() {
        let at = unix(FEB_12_2026_1430);
        assert_eq!(format_absolute(at, 8).as_deref(), Ok("260212163000008+"));
        assert_eq!(format_absolute(at, -20).as_deref(), Ok("260212093000020-"));
    }

    #[test]
    fn absolute_format_refuses_what_smpp_cannot_express() {
        let at = unix(FEB_12_2026_1430);
        assert_eq!(
            format_absolute(at, 49),
            Err(TimeError::OffsetOutOfRange { quarter_hours: 49 })
        );
        assert_eq!(
            format_absolute(unix(0), 0),
            Err(TimeError::YearOutOfRange { year: 1970 })
        );
    }

    #[test]
    fn relative_format_uses_days_hours_minutes_seconds() {
        let span = Duration::from_secs(2 * 86_400 + 3 * 3600 + 4 * 60 + 5);
        assert_eq!(format_relative(span).as_deref(), Ok("000002030405000R"));
        assert_eq!(
            format_relative(Duration::from_millis(1999)).as_deref(),
            Ok("000000000001000R")
        );
        assert_eq!(
            format_relative(Duration::from_secs(100 * 86_400)),
            Err(TimeError::RelativeTooLong { seconds: 8_640_000 })
        );
    }

    #[test]
    fn receipt_dates_parse_with_ten_or_twelve_digits() {
        assert_eq!(
            parse_receipt_date(b"2602121430"),
            Ok(unix(FEB_12_2026_1430))
        );
        assert_eq!(
            parse_receipt_date(b"260212143059"),
            Ok(unix(FEB_12_2026_1430 + 59))
        );
        assert_eq!(
            parse_receipt_date(b"26021214305"),
            Err(TimeError::WrongReceiptDateLength { length: 11 })
        );
        assert!(matches!(
            parse_receipt_date(b"2602301430"),
            Err(TimeError::NoSuchDay { .. })
        ));
    }

    #[test]
    fn receipt_dates_format_with_ten_or_twelve_digits() {
        let at = unix(FEB_12_2026_1430 + 59);
        assert_eq!(
            format_receipt_date(at, ReceiptDateFormat::Minutes),
            "2602121430"
        );
        assert_eq!(
            format_receipt_date(at, ReceiptDateFormat::Seconds),
            "260212143059"
        );
    }

    #[test]
    fn civil_conversion_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_417), (2023, 3, 1));
    }

    fn smpp_time_like() -> impl Strategy<Value = Vec<u8>> {
        let octet = prop_oneof![
            8 => b'0'..=b'9',
            1 => Just(b'+'),
            1 => Just(b'-'),
            1 => Just(b'R'),
            1 => any::<u8>(),
        ];
        proptest::collection::vec(octet, 16)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_octets_never_panic(
            text in prop_oneof![proptest::collection::vec(any::<u8>(), 0..24), smpp_time_like()],
            now_seconds in any::<i64>(),
        ) {
            let now = from_unix(now_seconds / 4, 0).unwrap_or(UNIX_EPOCH);
            let _ = parse_smpp_time(&text, now);
            let _ = parse_receipt_date(&text);
        }

        #[test]
        fn absolute_format_then_parse_round_trips(
            seconds in 946_684_800u64..4_102_444_800,
            tenths in 0u32..10,
            offset in -48i8..=48,
        ) {
            let at = unix(seconds) + Duration::from_millis(u64::from(tenths) * 100);
            let text = match format_absolute(at, offset) {
                Ok(text) => text,
                // Near the ends of the century the local year may leave 2000-2099.
                Err(TimeError::YearOutOfRange { .. }) => return Ok(()),
                Err(other) => return Err(TestCaseError::fail(other.to_string())),
            };
            prop_assert_eq!(
                SmppTime::parse(text.as_bytes()),
                Ok(Some(SmppTime::Absolute { at, utc_offset_quarter_hours: offset }))
            );
        }

        #[test]
        fn relative_format_then_resolve_adds_the_duration(
            span in 0u64..100 * 86_400,
            now_seconds in 0u64..4_102_444_800,
        ) {
            let now = unix(now_seconds);
            let text = format_relative(Duration::from_secs(span)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(
                parse_smpp_time(text.as_bytes(), now),
                Ok(Some(now + Duration::from_secs(span)))
            );
        }

        #[test]
        fn receipt_date_format_then_parse_round_trips(seconds in 946_684_800u64..4_102_444_800) {
            let at = unix(seconds);
            let text = format_receipt_date(at, ReceiptDateFormat::Seconds);
            prop_assert_eq!(parse_receipt_date(text.as_bytes()), Ok(at));
        }

        #[test]
        fn civil_conversion_round_trips(days in -100_000_000i64..100_000_000) {
            let (year, month, day) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(year, month, day), days);
        }
    }
}
