//! Waiting on conditions with deadlines, never a bare sleep; and free loopback ports.

use std::{
    collections::HashSet,
    net::TcpListener,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Ports already handed out in this process: a server stopped for a while (to test an
/// outage) keeps its port, and another test must not be given it meanwhile.
static HANDED_OUT: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A TCP port on 127.0.0.1 that was free a moment ago and that this process has not handed
/// out before.
pub fn free_port() -> u16 {
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let handed_out = handed_out.get_or_insert_with(HashSet::new);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        if handed_out.insert(port) {
            return port;
        }
    }
}

/// Polls `condition` until it holds, panicking with `what` once `timeout` has passed.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
