//! .NET `TimeSpan` text forms, in 100 ns ticks: the `c` format Json.NET wrote
//! (`[-][d.]hh:mm:ss[.fffffff]`) and the xs:duration DataContractSerializer wrote
//! (`[-]P[nD][T[nH][nM][n[.f]S]]`). The XML codec converts between them for the
//! [`xml_hint::TIME_SPAN`](gatehouse_models::xml_hint::TIME_SPAN) hint.

const TICKS_PER_SECOND: u128 = 10_000_000;
const TICKS_PER_MINUTE: u128 = 60 * TICKS_PER_SECOND;
const TICKS_PER_HOUR: u128 = 60 * TICKS_PER_MINUTE;
const TICKS_PER_DAY: u128 = 24 * TICKS_PER_HOUR;

fn digits(s: &str) -> Option<u128> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Fraction digits to ticks: up to 7 digits are exact; more are truncated (xs:duration may
/// carry nanoseconds).
fn fraction_ticks(f: &str) -> Option<u128> {
    if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut padded = [b'0'; 7];
    for (i, b) in f.bytes().take(7).enumerate() {
        padded[i] = b;
    }
    std::str::from_utf8(&padded).ok()?.parse().ok()
}

fn signed(negative: bool, magnitude: u128) -> Option<i64> {
    if negative {
        let m = i128::try_from(magnitude).ok()?;
        i64::try_from(-m).ok()
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Parse the `c` format: `[-][d.]hh:mm:ss[.fffffff]` (hours 0-23, minutes and seconds 0-59,
/// 1 to 7 fraction digits).
pub(crate) fn parse_c(s: &str) -> Option<i64> {
    let (negative, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (main, frac) = match rest.split_once('.') {
        // `d.hh:mm:ss` has its first dot before the first colon.
        Some((d, r)) if !d.contains(':') => {
            let (hms, frac) = match r.split_once('.') {
                Some((h, f)) => (h, Some(f)),
                None => (r, None),
            };
            ((Some(d), hms), frac)
        }
        Some((hms, f)) => ((None, hms), Some(f)),
        None => ((None, rest), None),
    };
    let (days, hms) = main;
    let mut parts = hms.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || h.len() > 2 || m.len() != 2 || sec.len() != 2 {
        return None;
    }
    let (h, m, sec) = (digits(h)?, digits(m)?, digits(sec)?);
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let days = match days {
        Some(d) => digits(d)?,
        None => 0,
    };
    let frac = match frac {
        Some(f) if f.len() <= 7 => fraction_ticks(f)?,
        Some(_) => return None,
        None => 0,
    };
    let total = days
        .checked_mul(TICKS_PER_DAY)?
        .checked_add(h * TICKS_PER_HOUR + m * TICKS_PER_MINUTE + sec * TICKS_PER_SECOND + frac)?;
    signed(negative, total)
}

/// Write the `c` format (7 fraction digits whenever there is a fraction).
pub(crate) fn format_c(ticks: i64) -> String {
    let negative = ticks < 0;
    let t = u128::from(ticks.unsigned_abs());
    let days = t / TICKS_PER_DAY;
    let h = t % TICKS_PER_DAY / TICKS_PER_HOUR;
    let m = t % TICKS_PER_HOUR / TICKS_PER_MINUTE;
    let s = t % TICKS_PER_MINUTE / TICKS_PER_SECOND;
    let f = t % TICKS_PER_SECOND;
    let mut out = String::with_capacity(26);
    if negative {
        out.push('-');
    }
    if days > 0 {
        out.push_str(&format!("{days}."));
    }
    out.push_str(&format!("{h:02}:{m:02}:{s:02}"));
    if f > 0 {
        out.push_str(&format!(".{f:07}"));
    }
    out
}

/// Write xs:duration as `XmlConvert.ToString(TimeSpan)` did: days, never months or years;
/// fraction trimmed; zero is `PT0S`.
pub(crate) fn format_xs(ticks: i64) -> String {
    let negative = ticks < 0;
    let t = u128::from(ticks.unsigned_abs());
    let days = t / TICKS_PER_DAY;
    let h = t % TICKS_PER_DAY / TICKS_PER_HOUR;
    let m = t % TICKS_PER_HOUR / TICKS_PER_MINUTE;
    let s = t % TICKS_PER_MINUTE / TICKS_PER_SECOND;
    let f = t % TICKS_PER_SECOND;
    let mut out = String::with_capacity(24);
    if negative {
        out.push('-');
    }
    out.push('P');
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if h > 0 || m > 0 || s > 0 || f > 0 || days == 0 {
        out.push('T');
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if s > 0 || f > 0 || (h == 0 && m == 0) {
            out.push_str(&format!("{s}"));
            if f > 0 {
                let frac = format!("{f:07}");
                out.push('.');
                out.push_str(frac.trim_end_matches('0'));
            }
            out.push('S');
        }
    }
    out
}

/// Parse xs:duration as `XmlConvert.ToTimeSpan` did: `[-]P[nY][nM][nD][T[nH][nM][n[.f]S]]`,
/// at least one component, a year counted as 365 days and a month as 30.
pub(crate) fn parse_xs(s: &str) -> Option<i64> {
    let s = s.trim();
    let (negative, rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let rest = rest.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => {
            if t.is_empty() {
                return None;
            }
            (d, Some(t))
        }
        None => (rest, None),
    };
    let mut total: u128 = 0;
    let mut any = false;
    // Date part: components in order Y, M, D.
    let mut order = 0;
    let mut num = String::new();
    for c in date.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let (rank, scale) = match c {
            'Y' => (1, 365 * TICKS_PER_DAY),
            'M' => (2, 30 * TICKS_PER_DAY),
            'D' => (3, TICKS_PER_DAY),
            _ => return None,
        };
        if rank <= order {
            return None;
        }
        order = rank;
        total = total.checked_add(digits(&num)?.checked_mul(scale)?)?;
        num.clear();
        any = true;
    }
    if !num.is_empty() {
        return None;
    }
    if let Some(time) = time {
        let mut order = 0;
        for c in time.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            let (rank, scale) = match c {
                'H' => (1, TICKS_PER_HOUR),
                'M' => (2, TICKS_PER_MINUTE),
                'S' => (3, TICKS_PER_SECOND),
                _ => return None,
            };
            if rank <= order {
                return None;
            }
            order = rank;
            let ticks = match num.split_once('.') {
                Some((int, frac)) if rank == 3 => digits(int)?
                    .checked_mul(scale)?
                    .checked_add(fraction_ticks(frac)?)?,
                Some(_) => return None,
                None => digits(&num)?.checked_mul(scale)?,
            };
            total = total.checked_add(ticks)?;
            num.clear();
            any = true;
        }
        if !num.is_empty() {
            return None;
        }
    }
    if !any {
        return None;
    }
    signed(negative, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_format_round_trips() {
        for (text, ticks) in [
            ("00:00:00", 0),
            ("00:00:00.1234567", 1_234_567),
            ("00:00:01.5000000", 15_000_000),
            ("1.02:03:04", 937_840_000_000),
            ("-00:00:01", -10_000_000),
            ("10675199.02:48:05.4775807", i64::MAX),
            ("-10675199.02:48:05.4775808", i64::MIN),
        ] {
            assert_eq!(parse_c(text), Some(ticks), "{text}");
            assert_eq!(format_c(ticks), text);
        }
        for bad in [
            "",
            "1",
            "00:00",
            "24:00:00",
            "00:60:00",
            "00:00:00.12345678",
            "x.00:00:00",
            "--00:00:01",
        ] {
            assert_eq!(parse_c(bad), None, "{bad}");
        }
    }

    #[test]
    fn xs_duration_round_trips() {
        for (text, ticks) in [
            ("PT0S", 0),
            ("PT0.1234567S", 1_234_567),
            ("P1DT2H", 936_000_000_000),
            ("-PT1S", -10_000_000),
            ("P1D", 864_000_000_000),
            ("PT1M", 600_000_000),
            ("PT1H0.5S", 36_005_000_000),
            ("P10675199DT2H48M5.4775807S", i64::MAX),
            ("-P10675199DT2H48M5.4775808S", i64::MIN),
        ] {
            assert_eq!(parse_xs(text), Some(ticks), "{text}");
            assert_eq!(format_xs(ticks), text);
        }
        assert_eq!(parse_xs("P1Y"), Some(365 * 864_000_000_000));
        assert_eq!(parse_xs("PT0.000000001S"), Some(0));
        for bad in [
            "",
            "P",
            "PT",
            "1D",
            "P1H",
            "PT1D",
            "P1D1Y",
            "PT1.5M",
            "P99999999999999999999D",
            "PT1",
        ] {
            assert_eq!(parse_xs(bad), None, "{bad}");
        }
    }
}
