//! The caller's deadline, from the `grpc-timeout` header (gRPC over HTTP/2: an integer of at
//! most 8 digits and a unit, `H` `M` `S` `m` `u` `n`), so work nobody will wait for is refused
//! before it starts.

use std::time::Duration;

use tokio::time::Instant;
use tonic::Request;

/// When the caller stops waiting, if it said.
pub(crate) fn deadline<T>(request: &Request<T>) -> Option<Instant> {
    let header = request.metadata().get("grpc-timeout")?.to_str().ok()?;
    parse_timeout(header).map(|timeout| Instant::now() + timeout)
}

fn parse_timeout(header: &str) -> Option<Duration> {
    if header.len() < 2 || header.len() > 9 {
        return None;
    }
    let (digits, unit) = header.split_at(header.len() - 1);
    let value: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(value.checked_mul(3600)?),
        "M" => Duration::from_secs(value.checked_mul(60)?),
        "S" => Duration::from_secs(value),
        "m" => Duration::from_millis(value),
        "u" => Duration::from_micros(value),
        "n" => Duration::from_nanos(value),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_in_every_unit() {
        assert_eq!(parse_timeout("5S"), Some(Duration::from_secs(5)));
        assert_eq!(parse_timeout("2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(
            parse_timeout("99999999u"),
            Some(Duration::from_micros(99_999_999))
        );
        assert_eq!(parse_timeout("7n"), Some(Duration::from_nanos(7)));
        for bad in ["", "S", "5", "5s", "123456789S", "-5S", "5.0S"] {
            assert_eq!(parse_timeout(bad), None, "{bad:?}");
        }
    }
}
