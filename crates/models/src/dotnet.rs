//! The .NET value types the legacy contracts use, with the text forms Json.NET and
//! DataContractSerializer gave them.
//!
//! - [`DateTime`]: a wall-clock date and time with 100 ns precision and a [`DateTimeKind`]
//!   (UTC, local with its offset, unspecified), written `yyyy-MM-ddTHH:mm:ss[.FFFFFFF]K` in both
//!   JSON and XML.
//! - [`TimeSpan`]: a signed number of 100 ns ticks, written in the `c` format
//!   (`[-][d.]hh:mm:ss[.fffffff]`) in JSON and as an xs:duration (`[-]P[nD][T[nH][nM][n[.f]S]]`)
//!   in XML.
//! - `Guid`: the contracts use [`uuid::Uuid`] directly. Its serde form (the `serde` feature of
//!   `uuid`) is the lowercase hyphenated `D` format, `3be9edf1-5491-4d5c-a5c6-423218dfb6cc`,
//!   which is what both .NET serializers wrote; it reads upper case, braces and the simple form
//!   too.
//!
//! Parsing is total: every malformed, out-of-range or overlong input is an [`Error`], never a
//! panic or an arithmetic overflow.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::{xml_hint, Error};

/// Number of 100 ns ticks in one second.
pub const TICKS_PER_SECOND: i64 = 10_000_000;
/// Number of 100 ns ticks in one minute.
pub const TICKS_PER_MINUTE: i64 = 60 * TICKS_PER_SECOND;
/// Number of 100 ns ticks in one hour.
pub const TICKS_PER_HOUR: i64 = 60 * TICKS_PER_MINUTE;
/// Number of 100 ns ticks in one day.
pub const TICKS_PER_DAY: i64 = 24 * TICKS_PER_HOUR;

/// Largest offset .NET accepts for a local time (`DateTimeOffset` allows ±14:00).
const MAX_OFFSET_SECONDS: i32 = 14 * 3600;
/// Most fraction digits a .NET value carries (100 ns).
const MAX_FRACTION_DIGITS: usize = 7;

// ---------------------------------------------------------------------------------------------
// DateTime
// ---------------------------------------------------------------------------------------------

/// The `Kind` of a .NET `DateTime`, which decides the suffix of its text form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateTimeKind {
    /// `DateTimeKind.Utc`, written with the suffix `Z`.
    Utc,
    /// `DateTimeKind.Local`, written with the offset of the local time zone, `+hh:mm` or
    /// `-hh:mm` (`+00:00` for a zero offset, never `Z`). The offset is whole minutes within
    /// ±14:00.
    Local(UtcOffset),
    /// `DateTimeKind.Unspecified`, written without a suffix.
    Unspecified,
}

/// A .NET `DateTime`: a wall-clock date and time between years 1 and 9999, with 100 ns
/// precision, and its [`DateTimeKind`].
///
/// Text form, in JSON and XML alike: `yyyy-MM-ddTHH:mm:ss`, then `.` and the fraction of the
/// second with trailing zeros removed (no dot when the fraction is zero), then `Z` (UTC),
/// `±hh:mm` (local) or nothing (unspecified).
///
/// Equality is structural: two values are equal when they have the same wall clock and the
/// same kind (so `10:00+10:00` and `00:00Z` are different values for the same instant).
///
/// Parsing ([`FromStr`], `Deserialize`) accepts exactly the forms above with 0 to 7 fraction
/// digits, surrounding ASCII whitespace (the legacy readers trimmed it), and rejects a fraction
/// of more than 7 digits with an error instead of rounding it silently.
///
/// ```
/// use gatehouse_models::dotnet::{DateTime, DateTimeKind};
/// let t: DateTime = "2025-05-04T17:27:27.2699792+10:00".parse().unwrap();
/// assert!(matches!(t.kind(), DateTimeKind::Local(_)));
/// assert_eq!(t.to_string(), "2025-05-04T17:27:27.2699792+10:00");
/// let utc = DateTime::utc(t.to_offset_date_time().unwrap()).unwrap();
/// assert_eq!(utc.to_string(), "2025-05-04T07:27:27.2699792Z");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DateTime {
    wall: PrimitiveDateTime,
    kind: DateTimeKind,
}

impl DateTime {
    /// A date and time from its wall clock and kind.
    ///
    /// Nanoseconds below 100 ns are truncated (as .NET truncates to ticks).
    ///
    /// # Errors
    /// [`Error::InvalidDateTime`] when the year is outside 1..=9999, or a local offset is not
    /// whole minutes within ±14:00.
    pub fn new(wall: PrimitiveDateTime, kind: DateTimeKind) -> Result<Self, Error> {
        if !(1..=9999).contains(&wall.year()) {
            return Err(Error::InvalidDateTime("year outside 1..=9999"));
        }
        if let DateTimeKind::Local(offset) = kind {
            check_offset(offset)?;
        }
        let nanos = wall.nanosecond() - wall.nanosecond() % 100;
        let wall = wall
            .replace_nanosecond(nanos)
            .map_err(|_| Error::InvalidDateTime("invalid nanosecond"))?;
        Ok(Self { wall, kind })
    }

    /// The instant `instant`, as a UTC `DateTime` (kind [`DateTimeKind::Utc`]).
    ///
    /// # Errors
    /// [`Error::InvalidDateTime`] when the UTC date falls outside years 1..=9999.
    pub fn utc(instant: OffsetDateTime) -> Result<Self, Error> {
        let utc = instant
            .checked_to_offset(UtcOffset::UTC)
            .ok_or(Error::InvalidDateTime("year outside 1..=9999"))?;
        Self::new(
            PrimitiveDateTime::new(utc.date(), utc.time()),
            DateTimeKind::Utc,
        )
    }

    /// The instant `instant`, as a local `DateTime` displayed at `offset` (kind
    /// [`DateTimeKind::Local`]): `2025-05-04T17:27:27+10:00` for `offset` +10:00.
    ///
    /// # Errors
    /// [`Error::InvalidDateTime`] when the offset is not whole minutes within ±14:00, or the
    /// local date falls outside years 1..=9999.
    pub fn local(instant: OffsetDateTime, offset: UtcOffset) -> Result<Self, Error> {
        check_offset(offset)?;
        let local = instant
            .checked_to_offset(offset)
            .ok_or(Error::InvalidDateTime("year outside 1..=9999"))?;
        Self::new(
            PrimitiveDateTime::new(local.date(), local.time()),
            DateTimeKind::Local(offset),
        )
    }

    /// A wall-clock time of no particular zone (kind [`DateTimeKind::Unspecified`]).
    ///
    /// # Errors
    /// [`Error::InvalidDateTime`] when the year is outside 1..=9999.
    pub fn unspecified(wall: PrimitiveDateTime) -> Result<Self, Error> {
        Self::new(wall, DateTimeKind::Unspecified)
    }

    /// The wall-clock date and time (nanoseconds are a multiple of 100).
    pub fn wall_clock(&self) -> PrimitiveDateTime {
        self.wall
    }

    /// The kind.
    pub fn kind(&self) -> DateTimeKind {
        self.kind
    }

    /// The offset from UTC of the wall clock: zero for UTC, the local offset for local times,
    /// `None` for unspecified times.
    pub fn offset(&self) -> Option<UtcOffset> {
        match self.kind {
            DateTimeKind::Utc => Some(UtcOffset::UTC),
            DateTimeKind::Local(offset) => Some(offset),
            DateTimeKind::Unspecified => None,
        }
    }

    /// The instant, for UTC and local times; `None` for unspecified times.
    pub fn to_offset_date_time(&self) -> Option<OffsetDateTime> {
        self.offset().map(|offset| self.wall.assume_offset(offset))
    }

    /// The .NET `Ticks` of the wall clock: 100 ns intervals since 0001-01-01T00:00:00.
    pub fn ticks(&self) -> i64 {
        // Day 1 of year 1 has Julian day 1_721_426.
        let days = i64::from(self.wall.to_julian_day()) - 1_721_426;
        let (h, m, s, n) = self.wall.as_hms_nano();
        days * TICKS_PER_DAY
            + i64::from(h) * TICKS_PER_HOUR
            + i64::from(m) * TICKS_PER_MINUTE
            + i64::from(s) * TICKS_PER_SECOND
            + i64::from(n / 100)
    }
}

fn check_offset(offset: UtcOffset) -> Result<(), Error> {
    if offset.seconds_past_minute() != 0 {
        return Err(Error::InvalidDateTime("offset is not whole minutes"));
    }
    if offset.whole_seconds().abs() > MAX_OFFSET_SECONDS {
        return Err(Error::InvalidDateTime("offset beyond ±14:00"));
    }
    Ok(())
}

/// Writes `.` and the fraction `ticks` (0..10^7) with trailing zeros removed; nothing for 0.
fn write_trimmed_fraction(f: &mut impl fmt::Write, ticks: u32) -> fmt::Result {
    if ticks == 0 {
        return Ok(());
    }
    let mut digits = ticks;
    let mut width = MAX_FRACTION_DIGITS;
    while digits % 10 == 0 {
        digits /= 10;
        width -= 1;
    }
    write!(f, ".{digits:0width$}")
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = &self.wall;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            w.year(),
            u8::from(w.month()),
            w.day(),
            w.hour(),
            w.minute(),
            w.second()
        )?;
        write_trimmed_fraction(f, w.nanosecond() / 100)?;
        match self.kind {
            DateTimeKind::Utc => f.write_str("Z"),
            DateTimeKind::Local(offset) => {
                let sign = if offset.is_negative() { '-' } else { '+' };
                let (h, m, _) = offset.as_hms();
                write!(f, "{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
            }
            DateTimeKind::Unspecified => Ok(()),
        }
    }
}

/// A byte cursor for the hand-written parsers.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Self {
            bytes: s.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Reads a run of ASCII digits of at most `max` digits (more is an error); returns the
    /// value and the number of digits (0 when there are none).
    fn digits(&mut self, max: usize) -> Result<(u64, usize), &'static str> {
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(b) = self.peek().filter(u8::is_ascii_digit) {
            if self.pos - start == max {
                return Err("number has too many digits");
            }
            value = value * 10 + u64::from(b - b'0');
            self.pos += 1;
        }
        Ok((value, self.pos - start))
    }

    /// Exactly `n` digits.
    fn fixed(&mut self, n: usize, what: &'static str) -> Result<u64, &'static str> {
        match self.digits(n) {
            Ok((v, len)) if len == n => Ok(v),
            _ => Err(what),
        }
    }

    /// A fraction of 1..=7 digits after a consumed `.`, as ticks.
    fn fraction(&mut self) -> Result<u64, &'static str> {
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(b) = self.peek().filter(u8::is_ascii_digit) {
            if self.pos - start == MAX_FRACTION_DIGITS {
                return Err("more than 7 fraction digits (finer than 100 ns)");
            }
            value = value * 10 + u64::from(b - b'0');
            self.pos += 1;
        }
        let len = self.pos - start;
        if len == 0 {
            return Err("expected fraction digits after '.'");
        }
        // len <= 7, so value < 10^7 and the product stays below 10^7.
        Ok(value * 10u64.pow((MAX_FRACTION_DIGITS - len) as u32))
    }
}

fn parse_date_time(s: &str) -> Result<DateTime, &'static str> {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let mut c = Cursor::new(s);
    let year = c.fixed(4, "expected a four-digit year")?;
    if !c.eat(b'-') {
        return Err("expected '-' after the year");
    }
    let month = c.fixed(2, "expected a two-digit month")?;
    if !c.eat(b'-') {
        return Err("expected '-' after the month");
    }
    let day = c.fixed(2, "expected a two-digit day")?;
    if !c.eat(b'T') {
        return Err("expected 'T' after the date");
    }
    let hour = c.fixed(2, "expected a two-digit hour")?;
    if !c.eat(b':') {
        return Err("expected ':' after the hour");
    }
    let minute = c.fixed(2, "expected two-digit minutes")?;
    if !c.eat(b':') {
        return Err("expected ':' after the minutes");
    }
    let second = c.fixed(2, "expected two-digit seconds")?;
    let mut ticks = 0u64;
    if c.eat(b'.') {
        ticks = c.fraction()?;
    }
    let kind = match c.peek() {
        None => DateTimeKind::Unspecified,
        Some(b'Z') => {
            c.pos += 1;
            DateTimeKind::Utc
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let oh = c.fixed(2, "expected a two-digit offset hour")?;
            if !c.eat(b':') {
                return Err("expected ':' in the offset");
            }
            let om = c.fixed(2, "expected two-digit offset minutes")?;
            if om > 59 {
                return Err("offset minutes out of range");
            }
            // oh <= 99 and om <= 59: no overflow.
            let mut secs = (oh * 3600 + om * 60) as i32;
            if secs > MAX_OFFSET_SECONDS {
                return Err("offset beyond ±14:00");
            }
            if sign == b'-' {
                secs = -secs;
            }
            let offset = UtcOffset::from_whole_seconds(secs).map_err(|_| "offset out of range")?;
            DateTimeKind::Local(offset)
        }
        Some(_) => return Err("unexpected character after the time"),
    };
    if !c.at_end() {
        return Err("unexpected trailing characters");
    }
    if year == 0 {
        return Err("year 0 is outside 1..=9999");
    }
    let month = u8::try_from(month)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or("month out of range")?;
    // The values below have at most four digits: the casts cannot truncate.
    let date = Date::from_calendar_date(year as i32, month, day as u8)
        .map_err(|_| "day out of range for the month")?;
    let time = Time::from_hms_nano(hour as u8, minute as u8, second as u8, (ticks * 100) as u32)
        .map_err(|_| "time of day out of range")?;
    DateTime::new(PrimitiveDateTime::new(date, time), kind).map_err(|e| match e {
        Error::InvalidDateTime(reason) => reason,
        _ => "invalid date and time",
    })
}

impl FromStr for DateTime {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        parse_date_time(s).map_err(Error::InvalidDateTime)
    }
}

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DateTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a .NET DateTime string such as 2025-05-04T17:27:27.2699792+10:00")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DateTime, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

// ---------------------------------------------------------------------------------------------
// TimeSpan
// ---------------------------------------------------------------------------------------------

/// A .NET `TimeSpan`: a signed number of 100 ns ticks.
///
/// - JSON form (Json.NET): the `c` format `[-][d.]hh:mm:ss[.fffffff]`, the fraction always
///   seven digits when it is not zero: `00:00:00.1234567`, `1.02:03:04`, `-00:00:01`.
/// - XML form (DataContractSerializer): xs:duration `[-]P[nD][T[nH][nM][n[.f]S]]` with the
///   fraction trimmed and never years or months: `PT0.1234567S`, `P1DT2H`, `-PT1S`, `PT0S`.
///
/// It serializes as `serialize_newtype_struct(xml_hint::TIME_SPAN, &c_format)`, so
/// `serde_json` writes the `c` form and the XML encoder the xs:duration. Deserialization
/// accepts either form from a string or from that newtype.
///
/// Parsing accepts surrounding ASCII whitespace and 0 to 7 fraction digits; more than 7 is an
/// error rather than a silent rounding. The `c` parser also accepts what .NET's invariant
/// `TimeSpan.Parse` did for these shapes: one-digit fields (`1:2:3`), seconds left out
/// (`01:30`) and a bare day count (`3`). The xs:duration parser accepts years and months the
/// way .NET's `XmlConvert.ToTimeSpan` did (365 and 30 days).
///
/// ```
/// use gatehouse_models::dotnet::TimeSpan;
/// let t = TimeSpan::parse_c_format("1.02:03:04.5000000").unwrap();
/// assert_eq!(t.to_xml_duration(), "P1DT2H3M4.5S");
/// assert_eq!(TimeSpan::parse_xml_duration("P1DT2H3M4.5S").unwrap(), t);
/// assert_eq!(TimeSpan::from_seconds(-1).unwrap().to_c_format(), "-00:00:01");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeSpan {
    ticks: i64,
}

impl TimeSpan {
    /// The zero-length span (`00:00:00`, `PT0S`).
    pub const ZERO: Self = Self { ticks: 0 };
    /// The largest span, `10675199.02:48:05.4775807`.
    pub const MAX: Self = Self { ticks: i64::MAX };
    /// The smallest (most negative) span, `-10675199.02:48:05.4775808`.
    pub const MIN: Self = Self { ticks: i64::MIN };

    /// A span of `ticks` 100 ns intervals.
    pub const fn from_ticks(ticks: i64) -> Self {
        Self { ticks }
    }

    /// A span of whole seconds; `None` when it does not fit.
    pub const fn from_seconds(seconds: i64) -> Option<Self> {
        match seconds.checked_mul(TICKS_PER_SECOND) {
            Some(ticks) => Some(Self { ticks }),
            None => None,
        }
    }

    /// A span of whole milliseconds; `None` when it does not fit.
    pub const fn from_millis(millis: i64) -> Option<Self> {
        match millis.checked_mul(TICKS_PER_SECOND / 1000) {
            Some(ticks) => Some(Self { ticks }),
            None => None,
        }
    }

    /// A span from a [`time::Duration`], truncated to 100 ns; `None` when it does not fit.
    pub fn from_duration(duration: time::Duration) -> Option<Self> {
        let ticks = duration.whole_nanoseconds() / 100;
        i64::try_from(ticks).ok().map(Self::from_ticks)
    }

    /// The number of 100 ns ticks.
    pub const fn ticks(self) -> i64 {
        self.ticks
    }

    /// Whole seconds, truncated toward zero.
    pub const fn whole_seconds(self) -> i64 {
        self.ticks / TICKS_PER_SECOND
    }

    /// Whether the span is negative.
    pub const fn is_negative(self) -> bool {
        self.ticks < 0
    }

    /// The same span as a [`time::Duration`].
    pub fn to_duration(self) -> time::Duration {
        time::Duration::seconds(self.ticks / TICKS_PER_SECOND)
            + time::Duration::nanoseconds((self.ticks % TICKS_PER_SECOND) * 100)
    }

    /// Splits the magnitude into (days, hours, minutes, seconds, ticks of the second).
    fn parts(self) -> (u64, u64, u64, u64, u64) {
        let mag = self.ticks.unsigned_abs();
        let (tpd, tph, tpm, tps) = (
            TICKS_PER_DAY as u64,
            TICKS_PER_HOUR as u64,
            TICKS_PER_MINUTE as u64,
            TICKS_PER_SECOND as u64,
        );
        (
            mag / tpd,
            mag % tpd / tph,
            mag % tph / tpm,
            mag % tpm / tps,
            mag % tps,
        )
    }

    /// The `c` format of .NET, `[-][d.]hh:mm:ss[.fffffff]`, as Json.NET wrote it.
    pub fn to_c_format(self) -> String {
        let (d, h, m, s, f) = self.parts();
        let mut out = String::with_capacity(26);
        if self.is_negative() {
            out.push('-');
        }
        if d > 0 {
            out.push_str(&d.to_string());
            out.push('.');
        }
        out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
        if f > 0 {
            out.push_str(&format!(".{f:07}"));
        }
        out
    }

    /// The xs:duration form, `[-]P[nD][T[nH][nM][n[.f]S]]`, as DataContractSerializer
    /// (`XmlConvert.ToString(TimeSpan)`) wrote it.
    pub fn to_xml_duration(self) -> String {
        use std::fmt::Write as _;
        let (d, h, m, s, f) = self.parts();
        let mut out = String::with_capacity(32);
        if self.is_negative() {
            out.push('-');
        }
        out.push('P');
        if d > 0 {
            let _ = write!(out, "{d}D");
        }
        if h > 0 || m > 0 || s > 0 || f > 0 {
            out.push('T');
            if h > 0 {
                let _ = write!(out, "{h}H");
            }
            if m > 0 {
                let _ = write!(out, "{m}M");
            }
            if s > 0 || f > 0 {
                let _ = write!(out, "{s}");
                // f < 10^7 fits u32.
                let _ = write_trimmed_fraction(&mut out, f as u32);
                out.push('S');
            }
        }
        if out.ends_with('P') {
            out.push_str("T0S");
        }
        out
    }

    /// Parses the `c` format `[-][d.]hh:mm[:ss[.fffffff]]` (or a bare day count `[-]d`).
    ///
    /// # Errors
    /// [`Error::InvalidTimeSpan`] naming what is wrong; out-of-range values included.
    pub fn parse_c_format(s: &str) -> Result<Self, Error> {
        parse_c(s).map_err(Error::InvalidTimeSpan)
    }

    /// Parses an xs:duration `[-]P[nY][nM][nD][T[nH][nM][n[.f]S]]`.
    ///
    /// # Errors
    /// [`Error::InvalidTimeSpan`] naming what is wrong; out-of-range values included.
    pub fn parse_xml_duration(s: &str) -> Result<Self, Error> {
        parse_xs_duration(s).map_err(Error::InvalidTimeSpan)
    }

    /// Parses either form: an xs:duration when the text (after an optional `-`) starts with
    /// `P`, the `c` format otherwise.
    ///
    /// # Errors
    /// [`Error::InvalidTimeSpan`] naming what is wrong.
    pub fn parse_any(s: &str) -> Result<Self, Error> {
        let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
        if t.strip_prefix('-').unwrap_or(t).starts_with('P') {
            Self::parse_xml_duration(t)
        } else {
            Self::parse_c_format(t)
        }
    }
}

/// Checked total in ticks, from a sign and a magnitude computed in i128.
fn ticks_from_magnitude(negative: bool, magnitude: i128) -> Result<TimeSpan, &'static str> {
    let signed = if negative { -magnitude } else { magnitude };
    i64::try_from(signed)
        .map(TimeSpan::from_ticks)
        .map_err(|_| "value is outside the range of a TimeSpan")
}

fn parse_c(s: &str) -> Result<TimeSpan, &'static str> {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let mut c = Cursor::new(s);
    let negative = c.eat(b'-');
    let (first, len) = c.digits(8)?;
    if len == 0 {
        return Err("expected digits");
    }
    if c.at_end() {
        // A bare day count.
        return ticks_from_magnitude(negative, i128::from(first) * i128::from(TICKS_PER_DAY));
    }
    let (days, hours) = if c.eat(b'.') {
        let (h, len) = c.digits(2)?;
        if len == 0 {
            return Err("expected hours after the days");
        }
        (first, h)
    } else if len > 2 {
        return Err("hours have more than two digits");
    } else {
        (0, first)
    };
    if !c.eat(b':') {
        return Err("expected ':' after the hours");
    }
    let (minutes, len) = c.digits(2)?;
    if len == 0 {
        return Err("expected minutes");
    }
    let mut seconds = 0;
    let mut fraction = 0;
    if c.eat(b':') {
        let (sec, len) = c.digits(2)?;
        if len == 0 {
            return Err("expected seconds");
        }
        seconds = sec;
        if c.eat(b'.') {
            fraction = c.fraction()?;
        }
    }
    if !c.at_end() {
        return Err("unexpected trailing characters");
    }
    if hours > 23 {
        return Err("hours out of range (0..=23)");
    }
    if minutes > 59 {
        return Err("minutes out of range (0..=59)");
    }
    if seconds > 59 {
        return Err("seconds out of range (0..=59)");
    }
    // days < 10^8: the sum is far inside i128.
    let magnitude = i128::from(days) * i128::from(TICKS_PER_DAY)
        + i128::from(hours) * i128::from(TICKS_PER_HOUR)
        + i128::from(minutes) * i128::from(TICKS_PER_MINUTE)
        + i128::from(seconds) * i128::from(TICKS_PER_SECOND)
        + i128::from(fraction);
    ticks_from_magnitude(negative, magnitude)
}

fn parse_xs_duration(s: &str) -> Result<TimeSpan, &'static str> {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let mut c = Cursor::new(s);
    let negative = c.eat(b'-');
    if !c.eat(b'P') {
        return Err("expected 'P'");
    }
    // (designator, ticks per unit), in the order they must appear.
    const DATE_UNITS: [(u8, i128); 3] = [
        (b'Y', 365 * TICKS_PER_DAY as i128),
        (b'M', 30 * TICKS_PER_DAY as i128),
        (b'D', TICKS_PER_DAY as i128),
    ];
    const TIME_UNITS: [(u8, i128); 3] = [
        (b'H', TICKS_PER_HOUR as i128),
        (b'M', TICKS_PER_MINUTE as i128),
        (b'S', TICKS_PER_SECOND as i128),
    ];
    let mut magnitude: i128 = 0;
    let mut components = 0;
    let mut next_unit = 0;
    while !c.at_end() && c.peek() != Some(b'T') {
        let (n, len) = c.digits(18)?;
        if len == 0 {
            return Err("expected a number");
        }
        let d = c.peek().ok_or("expected a designator after the number")?;
        c.pos += 1;
        let idx = DATE_UNITS[next_unit..]
            .iter()
            .position(|(u, _)| *u == d)
            .ok_or("unexpected or out-of-order date designator")?;
        next_unit += idx + 1;
        magnitude = magnitude
            .checked_add(i128::from(n) * DATE_UNITS[next_unit - 1].1)
            .ok_or("value is outside the range of a TimeSpan")?;
        components += 1;
    }
    if c.eat(b'T') {
        let mut next_unit = 0;
        let mut time_components = 0;
        while !c.at_end() {
            let (n, len) = c.digits(18)?;
            if len == 0 {
                return Err("expected a number");
            }
            let fraction = if c.eat(b'.') {
                Some(c.fraction()?)
            } else {
                None
            };
            let d = c.peek().ok_or("expected a designator after the number")?;
            c.pos += 1;
            let idx = TIME_UNITS[next_unit..]
                .iter()
                .position(|(u, _)| *u == d)
                .ok_or("unexpected or out-of-order time designator")?;
            next_unit += idx + 1;
            if fraction.is_some() && d != b'S' {
                return Err("only seconds may have a fraction");
            }
            magnitude = magnitude
                .checked_add(i128::from(n) * TIME_UNITS[next_unit - 1].1)
                .and_then(|m| m.checked_add(i128::from(fraction.unwrap_or(0))))
                .ok_or("value is outside the range of a TimeSpan")?;
            time_components += 1;
        }
        if time_components == 0 {
            return Err("expected a time component after 'T'");
        }
        components += time_components;
    }
    if components == 0 {
        return Err("a duration needs at least one component");
    }
    ticks_from_magnitude(negative, magnitude)
}

impl fmt::Display for TimeSpan {
    /// The `c` format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_c_format())
    }
}

impl FromStr for TimeSpan {
    type Err = Error;

    /// Either form, as [`TimeSpan::parse_any`].
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse_any(s)
    }
}

impl Serialize for TimeSpan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(xml_hint::TIME_SPAN, &self.to_c_format())
    }
}

impl<'de> Deserialize<'de> for TimeSpan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TimeSpan;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a .NET TimeSpan as `[-][d.]hh:mm:ss[.fffffff]` or an xs:duration")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TimeSpan, E> {
                TimeSpan::parse_any(v).map_err(E::custom)
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                deserializer: D,
            ) -> Result<TimeSpan, D::Error> {
                deserializer.deserialize_str(self)
            }
        }
        deserializer.deserialize_newtype_struct(xml_hint::TIME_SPAN, V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    fn dt(s: &str) -> DateTime {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn date_time_kinds_round_trip() {
        for s in [
            "2025-05-04T07:27:27.2699792Z",
            "2025-05-04T17:27:27.2699792+10:00",
            "2025-05-04T17:27:27.2699792",
            "2025-05-04T17:27:27+00:00",
            "2025-05-04T17:27:27-05:30",
            "0001-01-01T00:00:00",
            "9999-12-31T23:59:59.9999999Z",
        ] {
            assert_eq!(dt(s).to_string(), s);
        }
        assert_eq!(dt("2025-05-04T07:27:27Z").kind(), DateTimeKind::Utc);
        assert_eq!(dt("2025-05-04T07:27:27").kind(), DateTimeKind::Unspecified);
        assert_eq!(
            dt("2025-05-04T07:27:27-03:00").kind(),
            DateTimeKind::Local(offset!(-3))
        );
        assert_eq!(
            dt("2025-05-04T07:27:27+00:00").kind(),
            DateTimeKind::Local(UtcOffset::UTC)
        );
    }

    #[test]
    fn date_time_fraction_digits() {
        let cases = [
            ("2025-05-04T07:27:27Z", "2025-05-04T07:27:27Z", 0),
            (
                "2025-05-04T07:27:27.1Z",
                "2025-05-04T07:27:27.1Z",
                1_000_000,
            ),
            (
                "2025-05-04T07:27:27.12Z",
                "2025-05-04T07:27:27.12Z",
                1_200_000,
            ),
            (
                "2025-05-04T07:27:27.123Z",
                "2025-05-04T07:27:27.123Z",
                1_230_000,
            ),
            (
                "2025-05-04T07:27:27.1234Z",
                "2025-05-04T07:27:27.1234Z",
                1_234_000,
            ),
            (
                "2025-05-04T07:27:27.12345Z",
                "2025-05-04T07:27:27.12345Z",
                1_234_500,
            ),
            (
                "2025-05-04T07:27:27.123456Z",
                "2025-05-04T07:27:27.123456Z",
                1_234_560,
            ),
            (
                "2025-05-04T07:27:27.1234567Z",
                "2025-05-04T07:27:27.1234567Z",
                1_234_567,
            ),
            // Trailing zeros read, then trimmed on output; all zeros drop the dot.
            (
                "2025-05-04T07:27:27.1000000Z",
                "2025-05-04T07:27:27.1Z",
                1_000_000,
            ),
            ("2025-05-04T07:27:27.0000000Z", "2025-05-04T07:27:27Z", 0),
            (
                "2025-05-04T07:27:27.0000001Z",
                "2025-05-04T07:27:27.0000001Z",
                1,
            ),
        ];
        for (input, output, ticks) in cases {
            let t = dt(input);
            assert_eq!(t.to_string(), output);
            assert_eq!(t.wall_clock().nanosecond(), ticks * 100, "{input}");
        }
    }

    #[test]
    fn date_time_rejects_bad_input() {
        for s in [
            "",
            "2025-05-04",
            "2025-05-04T07:27:27.12345678Z",
            "2025-05-04T07:27:27.Z",
            "2025-02-30T07:27:27Z",
            "2025-13-01T07:27:27Z",
            "0000-01-01T00:00:00Z",
            "2025-05-04T24:00:00Z",
            "2025-05-04T07:60:00Z",
            "2025-05-04T07:27:60Z",
            "2025-05-04T07:27:27+15:00",
            "2025-05-04T07:27:27+10:60",
            "2025-05-04T07:27:27+1000",
            "2025-05-04T07:27:27ZZ",
            "2025-05-04 07:27:27Z",
            "+2025-05-04T07:27:27Z",
            "2025-05-04T07:27:27.1234567890123456789012345Z",
            "２０２５-05-04T07:27:27Z",
        ] {
            assert!(
                matches!(s.parse::<DateTime>(), Err(Error::InvalidDateTime(_))),
                "{s}"
            );
        }
        let err = "2025-05-04T07:27:27.12345678Z"
            .parse::<DateTime>()
            .unwrap_err();
        assert!(err.to_string().contains("7 fraction digits"), "{err}");
        // Surrounding whitespace is trimmed, as the legacy readers did.
        assert_eq!(
            dt(" 2025-05-04T07:27:27Z\n").to_string(),
            "2025-05-04T07:27:27Z"
        );
    }

    #[test]
    fn date_time_constructors() {
        let instant = datetime!(2025-05-04 07:27:27.26997921 UTC);
        let utc = DateTime::utc(instant).unwrap();
        assert_eq!(utc.to_string(), "2025-05-04T07:27:27.2699792Z");
        let local = DateTime::local(instant, offset!(+10)).unwrap();
        assert_eq!(local.to_string(), "2025-05-04T17:27:27.2699792+10:00");
        let west = DateTime::local(instant, offset!(-9:30)).unwrap();
        assert_eq!(west.to_string(), "2025-05-03T21:57:27.2699792-09:30");
        assert_eq!(west.offset(), Some(offset!(-9:30)));
        assert_eq!(
            local.to_offset_date_time(),
            utc.to_offset_date_time(),
            "same instant"
        );
        assert_ne!(local, utc, "equality is structural");
        let unspecified = DateTime::unspecified(datetime!(2025-05-04 07:27:27)).unwrap();
        assert_eq!(unspecified.to_offset_date_time(), None);
        assert!(DateTime::local(instant, offset!(+14:01)).is_err());
        assert!(DateTime::local(instant, offset!(+1:00:30)).is_err());
        assert!(DateTime::utc(datetime!(0001-01-01 00:30 +01:00)).is_err());
        assert!(DateTime::unspecified(datetime!(-0001-01-01 0:00)).is_err());
    }

    #[test]
    fn date_time_ticks_match_dotnet() {
        assert_eq!(dt("0001-01-01T00:00:00").ticks(), 0);
        // DateTime.UnixEpoch.Ticks
        assert_eq!(dt("1970-01-01T00:00:00Z").ticks(), 621_355_968_000_000_000);
        assert_eq!(
            dt("9999-12-31T23:59:59.9999999").ticks(),
            3_155_378_975_999_999_999
        );
    }

    #[test]
    fn date_time_serde() {
        let t = dt("2025-05-04T17:27:27.2699792+10:00");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2025-05-04T17:27:27.2699792+10:00\"");
        assert_eq!(serde_json::from_str::<DateTime>(&json).unwrap(), t);
        assert!(serde_json::from_str::<DateTime>("\"2025-05-04T17:27:27.123456789Z\"").is_err());
        assert!(serde_json::from_str::<DateTime>("12").is_err());
    }

    fn ts(ticks: i64) -> TimeSpan {
        TimeSpan::from_ticks(ticks)
    }

    #[test]
    fn time_span_formats() {
        let cases: [(i64, &str, &str); 12] = [
            (0, "00:00:00", "PT0S"),
            (1_234_567, "00:00:00.1234567", "PT0.1234567S"),
            (5_000_000 + TICKS_PER_SECOND, "00:00:01.5000000", "PT1.5S"),
            (-TICKS_PER_SECOND, "-00:00:01", "-PT1S"),
            (1, "00:00:00.0000001", "PT0.0000001S"),
            (-1, "-00:00:00.0000001", "-PT0.0000001S"),
            (TICKS_PER_DAY + 2 * TICKS_PER_HOUR, "1.02:00:00", "P1DT2H"),
            (
                TICKS_PER_DAY + 2 * TICKS_PER_HOUR + 3 * TICKS_PER_MINUTE + 4 * TICKS_PER_SECOND,
                "1.02:03:04",
                "P1DT2H3M4S",
            ),
            (20 * TICKS_PER_MINUTE, "00:20:00", "PT20M"),
            (14 * TICKS_PER_DAY, "14.00:00:00", "P14D"),
            (
                i64::MAX,
                "10675199.02:48:05.4775807",
                "P10675199DT2H48M5.4775807S",
            ),
            (
                i64::MIN,
                "-10675199.02:48:05.4775808",
                "-P10675199DT2H48M5.4775808S",
            ),
        ];
        for (ticks, c, xs) in cases {
            let t = ts(ticks);
            assert_eq!(t.to_c_format(), c);
            assert_eq!(t.to_xml_duration(), xs);
            assert_eq!(TimeSpan::parse_c_format(c).unwrap(), t, "{c}");
            assert_eq!(TimeSpan::parse_xml_duration(xs).unwrap(), t, "{xs}");
            assert_eq!(c.parse::<TimeSpan>().unwrap(), t);
            assert_eq!(xs.parse::<TimeSpan>().unwrap(), t);
        }
    }

    #[test]
    fn time_span_lenient_forms() {
        assert_eq!(
            TimeSpan::parse_c_format("1:2:3").unwrap(),
            ts(3723 * TICKS_PER_SECOND)
        );
        assert_eq!(
            TimeSpan::parse_c_format("01:30").unwrap(),
            ts(90 * TICKS_PER_MINUTE)
        );
        assert_eq!(
            TimeSpan::parse_c_format("3").unwrap(),
            ts(3 * TICKS_PER_DAY)
        );
        assert_eq!(
            TimeSpan::parse_c_format("-3").unwrap(),
            ts(-3 * TICKS_PER_DAY)
        );
        assert_eq!(
            TimeSpan::parse_c_format("00:00:00.5").unwrap(),
            ts(5_000_000)
        );
        assert_eq!(
            TimeSpan::parse_c_format(" 00:00:01 ").unwrap(),
            ts(TICKS_PER_SECOND)
        );
        assert_eq!(
            TimeSpan::parse_xml_duration("P1Y").unwrap(),
            ts(365 * TICKS_PER_DAY)
        );
        assert_eq!(
            TimeSpan::parse_xml_duration("P1M").unwrap(),
            ts(30 * TICKS_PER_DAY)
        );
        assert_eq!(
            TimeSpan::parse_xml_duration("P1MT1M").unwrap(),
            ts(30 * TICKS_PER_DAY + TICKS_PER_MINUTE)
        );
        assert_eq!(
            TimeSpan::parse_xml_duration("PT36H").unwrap(),
            ts(36 * TICKS_PER_HOUR)
        );
        assert_eq!(
            TimeSpan::parse_xml_duration("PT0.10S").unwrap(),
            ts(1_000_000)
        );
        assert_eq!(
            TimeSpan::parse_xml_duration("-P0D").unwrap(),
            TimeSpan::ZERO
        );
    }

    #[test]
    fn time_span_rejects_bad_input() {
        for s in [
            "",
            "-",
            "P",
            "PT",
            "-P",
            "P1",
            "PT1",
            "P1S",
            "PT1D",
            "P1D1Y",
            "PT1S1M",
            "PT1.5M",
            "PT1.S",
            "PT0.12345678S",
            "P10675200D",
            "P99999999999999999999D",
            "P999999999999999999Y",
            "PT1H ",
            "P1DT",
            "24:00:00",
            "00:60:00",
            "00:00:60",
            "00:00:00.12345678",
            "00:00:00.",
            "1.",
            "10675200.00:00:00",
            "123456789.00:00:00",
            "10675199.02:48:05.4775808",
            "100:00:00",
            "00:00:00:00",
            "1:2:3:4",
            "a",
            "00:00:00Z",
            "--1",
        ] {
            let r = TimeSpan::parse_any(s);
            // "PT1H " is trimmed and valid; everything else is an error.
            if s == "PT1H " {
                assert_eq!(r.unwrap(), ts(TICKS_PER_HOUR));
                continue;
            }
            assert!(matches!(r, Err(Error::InvalidTimeSpan(_))), "{s}: {r:?}");
        }
        // The xs parser does not read the c format and vice versa.
        assert!(TimeSpan::parse_xml_duration("00:00:01").is_err());
        assert!(TimeSpan::parse_c_format("PT1S").is_err());
    }

    #[test]
    fn time_span_serde_accepts_both_forms() {
        let t = ts(1_234_567);
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"00:00:00.1234567\"");
        assert_eq!(
            serde_json::from_str::<TimeSpan>("\"00:00:00.1234567\"").unwrap(),
            t
        );
        assert_eq!(
            serde_json::from_str::<TimeSpan>("\"PT0.1234567S\"").unwrap(),
            t
        );
        assert!(serde_json::from_str::<TimeSpan>("\"bogus\"").is_err());
        assert!(serde_json::from_str::<TimeSpan>("5").is_err());
    }

    #[test]
    fn time_span_conversions() {
        assert_eq!(
            TimeSpan::from_seconds(1200).unwrap().to_c_format(),
            "00:20:00"
        );
        assert_eq!(TimeSpan::from_seconds(i64::MAX), None);
        assert_eq!(TimeSpan::from_millis(1500).unwrap().ticks(), 15_000_000);
        let d = time::Duration::new(-90, -5_000_000);
        let t = TimeSpan::from_duration(d).unwrap();
        assert_eq!(t.to_c_format(), "-00:01:30.0050000");
        assert_eq!(t.to_duration(), d);
        assert_eq!(t.whole_seconds(), -90);
        assert_eq!(TimeSpan::from_duration(time::Duration::MAX), None);
    }
}
