//! Retry delays: exponential from `initial`, capped at `max`, with jitter so that many jobs
//! failing together (a directory outage) do not retry in lockstep.

use std::time::Duration;

use rand::Rng;

/// The delay before retry number `attempt` (1 for the first): a random point in the upper
/// half of `min(initial * 2^(attempt-1), max)`, so it is never shorter than half the step.
pub fn retry_delay(attempt: u32, initial: Duration, max: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(30);
    let step = initial.saturating_mul(1u32 << exponent).min(max);
    let half = step / 2;
    let jitter_ms =
        rand::rng().random_range(0..=u64::try_from(half.as_millis()).unwrap_or(u64::MAX));
    half + Duration::from_millis(jitter_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_double_and_stop_at_the_cap() {
        let (initial, max) = (Duration::from_secs(1), Duration::from_secs(60));
        for _ in 0..200 {
            let first = retry_delay(1, initial, max);
            assert!(
                (Duration::from_millis(500)..=initial).contains(&first),
                "{first:?}"
            );
            let fourth = retry_delay(4, initial, max);
            assert!(
                (Duration::from_secs(4)..=Duration::from_secs(8)).contains(&fourth),
                "{fourth:?}"
            );
            let late = retry_delay(1000, initial, max);
            assert!((Duration::from_secs(30)..=max).contains(&late), "{late:?}");
        }
    }

    #[test]
    fn delays_are_jittered() {
        let delays: std::collections::HashSet<_> = (0..50)
            .map(|_| retry_delay(6, Duration::from_secs(1), Duration::from_secs(60)))
            .collect();
        assert!(delays.len() > 10, "{delays:?}");
    }
}
