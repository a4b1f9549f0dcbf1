//! `[grpc]` and `[limits]`, checked: where AccountService listens, its TLS, and the bounds
//! that hold whatever the number of simultaneous calls (CPU admission, watches, calls per
//! connection, the request timeout).

use std::{net::IpAddr, net::SocketAddr, path::PathBuf, time::Duration};

use claimd_core::{Email, admission::AdmissionPolicy};
use claimd_grpc::{ClientAddressPolicy, GrpcSettings, TlsFiles};
use serde::Deserialize;

use super::{Settings, problems::Problems};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GrpcSection {
    pub listen: String,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    pub client_ca_file: Option<PathBuf>,
    pub trusted_proxies: Vec<IpAddr>,
    /// Serve plain HTTP/2 on a non-loopback address (behind a proxy that terminates TLS).
    pub allow_plaintext: bool,
    /// Serve gRPC reflection, so tools such as grpcurl list the API.
    pub reflection: bool,
}

impl Default for GrpcSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:50051".into(),
            tls_cert_file: None,
            tls_key_file: None,
            client_ca_file: None,
            trusted_proxies: Vec::new(),
            allow_plaintext: false,
            reflection: true,
        }
    }
}

/// Bounds that hold whatever the number of simultaneous requests.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// CPU-heavy jobs (argon2, password strength) run side by side; 0: one per CPU.
    pub cpu_workers: usize,
    /// CPU jobs that may wait for a worker; more are refused at once (RESOURCE_EXHAUSTED).
    pub cpu_queue: usize,
    /// The longest a request waits for a CPU worker when its caller set no deadline.
    pub cpu_max_wait_ms: u64,
    /// Open `WatchOperation` streams; more are refused.
    pub max_watches: usize,
    /// Open `WatchOperation` streams from one client network; more are refused.
    pub max_watches_per_client: usize,
    /// Calls in flight on one connection.
    pub max_calls_per_connection: usize,
    /// A unary call taking longer is ended (DEADLINE_EXCEEDED).
    pub request_timeout_secs: u64,
}

impl Default for LimitsSection {
    fn default() -> Self {
        let d = AdmissionPolicy::default();
        Self {
            cpu_workers: d.workers,
            cpu_queue: d.queue,
            cpu_max_wait_ms: u64::try_from(d.max_wait.as_millis()).unwrap_or(u64::MAX),
            max_watches: 1000,
            max_watches_per_client: 100,
            max_calls_per_connection: 32,
            request_timeout_secs: 30,
        }
    }
}

/// `[limits]`, checked.
#[derive(Debug)]
pub(super) struct Limits {
    pub admission: AdmissionPolicy,
    max_watches: usize,
    max_watches_per_client: usize,
    max_calls_per_connection: usize,
    request_timeout: Duration,
}

impl Settings {
    /// `[grpc]`, checked: the listening address and the service's settings. `support` is
    /// where the service sends people it cannot help (`portal.support_email`).
    pub(super) fn grpc(
        &self,
        p: &mut Problems,
        limits: &Limits,
        support: Option<Email>,
    ) -> Option<(SocketAddr, GrpcSettings)> {
        let g = &self.grpc;
        let listen = p.take(
            "grpc.listen",
            g.listen.parse::<SocketAddr>().map_err(|_| {
                format!(
                    "{:?} is not an address and port such as 127.0.0.1:50051",
                    g.listen
                )
            }),
        );
        let tls = self.grpc_tls(p);
        // Passwords and answers cross this listener: in the clear only on this host, or
        // where IT says a proxy in front terminates TLS.
        if let Some(addr) = listen
            && !addr.ip().is_loopback()
            && tls.is_none()
            && !g.allow_plaintext
        {
            p.add(
                "grpc.listen",
                format!(
                    "{addr} is reachable from other hosts but no TLS is configured: set \
                     grpc.tls_cert_file and grpc.tls_key_file, or grpc.allow_plaintext = true \
                     when a proxy in front terminates TLS"
                ),
            );
        }
        Some((
            listen?,
            GrpcSettings {
                tls,
                clients: ClientAddressPolicy {
                    trusted_proxies: g.trusted_proxies.clone(),
                    // District services name their proxies; nothing is assumed.
                    local_proxy: false,
                },
                max_watches: limits.max_watches,
                max_watches_per_client: limits.max_watches_per_client,
                max_calls_per_connection: limits.max_calls_per_connection,
                request_timeout: limits.request_timeout,
                support,
                reflection: g.reflection,
            },
        ))
    }

    /// The certificate and key, both or neither, and the CA that client certificates need.
    fn grpc_tls(&self, p: &mut Problems) -> Option<TlsFiles> {
        let g = &self.grpc;
        let tls = match (&g.tls_cert_file, &g.tls_key_file) {
            (Some(cert), Some(key)) => TlsFiles {
                cert_file: cert.clone(),
                key_file: key.clone(),
                client_ca_file: g.client_ca_file.clone(),
                helpdesk_ca_file: self.helpdesk.client_ca_file.clone(),
            },
            (None, None) => {
                if g.client_ca_file.is_some() {
                    p.add(
                        "grpc.client_ca_file",
                        "needs grpc.tls_cert_file and grpc.tls_key_file",
                    );
                }
                return None;
            }
            (Some(_), None) => {
                p.add("grpc.tls_key_file", "is required with grpc.tls_cert_file");
                return None;
            }
            (None, Some(_)) => {
                p.add("grpc.tls_cert_file", "is required with grpc.tls_key_file");
                return None;
            }
        };
        if let Err(e) = claimd_grpc::tls_config(&tls) {
            p.add_named(e);
        }
        Some(tls)
    }

    /// `[limits]`, checked: every bound at least 1 (`cpu_workers` 0 means one per CPU).
    pub(super) fn limits(&self, p: &mut Problems) -> Limits {
        let l = &self.limits;
        p.at_least_one("limits.cpu_queue", l.cpu_queue as u64);
        p.at_least_one("limits.cpu_max_wait_ms", l.cpu_max_wait_ms);
        p.at_least_one("limits.max_watches", l.max_watches as u64);
        p.at_least_one(
            "limits.max_watches_per_client",
            l.max_watches_per_client as u64,
        );
        p.at_least_one(
            "limits.max_calls_per_connection",
            l.max_calls_per_connection as u64,
        );
        p.at_least_one("limits.request_timeout_secs", l.request_timeout_secs);
        Limits {
            admission: AdmissionPolicy {
                workers: l.cpu_workers,
                queue: l.cpu_queue,
                max_wait: Duration::from_millis(l.cpu_max_wait_ms),
            },
            max_watches: l.max_watches,
            max_watches_per_client: l.max_watches_per_client,
            max_calls_per_connection: l.max_calls_per_connection,
            request_timeout: Duration::from_secs(l.request_timeout_secs),
        }
    }
}
