//! The loop both workers run: step while there is work, wait (for a signal, the poll interval
//! or shutdown) when there is none, back off while the store is unavailable.

use std::{future::Future, time::Duration};

use claimd_core::StoreError;
use tokio_util::sync::CancellationToken;
use tracing::error;

use crate::{SyncConfig, retry_delay};

/// Runs `step` until `shutdown`; `step` returns whether it found work. `wake` resolves when
/// new work was signalled in this process.
pub(crate) async fn run_loop<S, SF, W, WF>(
    config: &SyncConfig,
    shutdown: &CancellationToken,
    step: S,
    wake: W,
) where
    S: Fn() -> SF,
    SF: Future<Output = Result<bool, StoreError>>,
    W: Fn() -> WF,
    WF: Future<Output = ()>,
{
    let mut store_failures = 0u32;
    while !shutdown.is_cancelled() {
        let pause: Option<Duration> = match step().await {
            Ok(true) => {
                store_failures = 0;
                None
            }
            Ok(false) => {
                store_failures = 0;
                Some(config.poll_interval)
            }
            Err(e) => {
                store_failures = store_failures.saturating_add(1);
                let delay = retry_delay(store_failures, config.backoff_initial, config.backoff_max);
                error!(error = %e, retry_in_ms = delay.as_millis() as u64, "store unavailable to a worker");
                Some(delay)
            }
        };
        if let Some(pause) = pause {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = wake() => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}
