//! The directory's timestamps as unix milliseconds: LDAP GeneralizedTime (`pwdFailureTime`,
//! `pwdChangedTime`: `20261203183000Z`, `20261203183000.123456Z`) and AD's FILETIME and
//! intervals (100-nanosecond ticks; since 1601 for a time, negative for a span).

use std::time::Duration;

use chrono::NaiveDateTime;
use claimd_core::store::Millis;

/// Milliseconds from 1601-01-01 (FILETIME's epoch) to 1970-01-01.
const FILETIME_UNIX_OFFSET_MS: i64 = 11_644_473_600_000;

/// A GeneralizedTime in UTC (`Z`), with or without fractional seconds; `None` for any other
/// form (claimd never guesses a time zone).
pub(crate) fn generalized(value: &str) -> Option<Millis> {
    let body = value.strip_suffix('Z')?;
    let (whole, fraction) = body.split_once(['.', ',']).unwrap_or((body, ""));
    let at = NaiveDateTime::parse_from_str(whole, "%Y%m%d%H%M%S").ok()?;
    let millis: i64 = format!("{fraction:0<3}")
        .get(..3)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    Some(at.and_utc().timestamp_millis() + millis)
}

/// A span as [`Millis`] (saturating: "for ever" stays the longest).
pub(crate) fn millis(span: Duration) -> Millis {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX)
}

/// An AD FILETIME (`badPasswordTime`, `lockoutTime`, `msDS-UserPasswordExpiryTimeComputed`);
/// `None` for 0 (never) and for AD's "never" maximum.
pub(crate) fn filetime(value: &str) -> Option<Millis> {
    let ticks: i64 = value.trim().parse().ok()?;
    (ticks > 0 && ticks != i64::MAX).then(|| ticks / 10_000 - FILETIME_UNIX_OFFSET_MS)
}

/// An AD interval (`lockOutObservationWindow`, `msDS-LockoutDuration`): stored negative, in
/// 100-nanosecond ticks. `None` for "forever" (the most negative value) and for 0.
pub(crate) fn interval(value: &str) -> Option<Duration> {
    let ticks: i64 = value.trim().parse().ok()?;
    if ticks == i64::MIN || ticks == 0 {
        return None;
    }
    Some(Duration::from_millis(ticks.unsigned_abs() / 10_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_times_read_as_unix_milliseconds() {
        assert_eq!(generalized("19700101000001Z"), Some(1_000));
        assert_eq!(generalized("19700101000001.5Z"), Some(1_500));
        assert_eq!(generalized("19700101000001.123456Z"), Some(1_123));
        assert_eq!(generalized("20261203183000Z"), Some(1_796_322_600_000));
        assert_eq!(generalized("20261203183000+0100"), None);
        assert_eq!(generalized("not a time"), None);
        // 1970-01-01 in FILETIME ticks.
        assert_eq!(filetime("116444736000000000"), Some(0));
        assert_eq!(filetime("0"), None);
        assert_eq!(filetime("9223372036854775807"), None);
        assert_eq!(interval("-18000000000"), Some(Duration::from_secs(30 * 60)));
        assert_eq!(interval("-9223372036854775808"), None);
        assert_eq!(interval("0"), None);
    }
}
