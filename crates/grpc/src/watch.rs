//! The places for open `WatchOperation` streams: each holds a task and a channel, so they are
//! bounded for the whole server and for each client network (an IPv4 address, an IPv6 /64),
//! so one client cannot hold them all and leave everyone else polling.

use std::{
    net::IpAddr,
    sync::{Arc, Mutex, PoisonError},
};

use claimd_core::client_address::NetworkShares;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The open watches, counted.
#[derive(Debug)]
pub(crate) struct Watches {
    total: Arc<Semaphore>,
    per_client: Arc<Mutex<NetworkShares>>,
}

/// One open watch's place, given back when dropped.
#[derive(Debug)]
pub(crate) struct WatchPlace {
    _total: OwnedSemaphorePermit,
    client: Option<String>,
    per_client: Arc<Mutex<NetworkShares>>,
}

impl Watches {
    /// At most `max` open watches, `per_client_max` of them from one client network.
    pub(crate) fn new(max: usize, per_client_max: usize) -> Self {
        Self {
            total: Arc::new(Semaphore::new(max)),
            per_client: Arc::new(Mutex::new(NetworkShares::new(per_client_max))),
        }
    }

    /// A place for a watch from `client`, or `None` when the server's or the client's are
    /// all taken.
    pub(crate) fn open(&self, client: Option<IpAddr>) -> Option<WatchPlace> {
        let network = client.map(NetworkShares::network);
        if let Some(network) = &network
            && !lock(&self.per_client).take(network)
        {
            return None;
        }
        let place = WatchPlace {
            _total: match self.total.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    if let Some(network) = &network {
                        lock(&self.per_client).give_back(network);
                    }
                    return None;
                }
            },
            client: network,
            per_client: self.per_client.clone(),
        };
        Some(place)
    }
}

impl Drop for WatchPlace {
    fn drop(&mut self) {
        if let Some(network) = &self.client {
            lock(&self.per_client).give_back(network);
        }
    }
}

fn lock(shares: &Mutex<NetworkShares>) -> std::sync::MutexGuard<'_, NetworkShares> {
    shares.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_holds_its_share_and_the_rest_stay_free() {
        let watches = Watches::new(10, 3);
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_net: IpAddr = "2001:db8:1:2::ffff".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| watches.open(Some(one)).unwrap()).collect();
        assert!(watches.open(Some(same_net)).is_none(), "counted per /64");
        let others: Vec<_> = (1..=7)
            .map(|i| {
                watches
                    .open(Some(format!("198.51.100.{i}").parse().unwrap()))
                    .unwrap()
            })
            .collect();
        assert!(watches.open(None).is_none(), "the server's bound holds too");
        drop(held);
        assert!(
            watches.open(Some(same_net)).is_some(),
            "given back when closed"
        );
        drop(others);
        assert!(lock(&watches.per_client).is_empty());
    }
}
