//! The gRPC server: listener, TLS, health, reflection, graceful shutdown.

use std::{path::PathBuf, sync::Arc, time::Duration};

use claimd_api::v1::{
    account_service_server::AccountServiceServer, helpdesk_service_server::HelpdeskServiceServer,
};
use claimd_core::Accounts;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tracing::{info, warn};

use claimd_core::client_address::ClientAddressPolicy;

use crate::service::{AccountApi, Drain};

/// The largest request accepted, in bytes; larger ones are refused before decoding.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// HTTP/2 streams (calls and watches) open on one connection at most.
const MAX_STREAMS_PER_CONNECTION: u32 = 128;

/// How long in-flight calls may run on after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// PEM files for serving TLS.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The server certificate chain.
    pub cert_file: PathBuf,
    /// The server's private key.
    pub key_file: PathBuf,
    /// When set, clients must present a certificate signed by this CA.
    pub client_ca_file: Option<PathBuf>,
    /// The CA of district tools' certificates for HelpdeskService (`helpdesk.client_ca_file`):
    /// asked for, not required, so AccountService callers need none unless `client_ca_file`
    /// says so.
    pub helpdesk_ca_file: Option<PathBuf>,
}

/// The `[grpc]` and `[limits]` settings the server needs once the listener is bound.
#[derive(Clone, Debug)]
pub struct GrpcSettings {
    /// Serve TLS with these files; plain HTTP/2 when `None`.
    pub tls: Option<TlsFiles>,
    /// Whose forwarded client addresses are believed.
    pub clients: ClientAddressPolicy,
    /// Open `WatchOperation` streams at most; more are refused with RESOURCE_EXHAUSTED.
    pub max_watches: usize,
    /// Open `WatchOperation` streams from one client network (IPv4 address, IPv6 /64).
    pub max_watches_per_client: usize,
    /// Calls in flight on one connection at most; more wait.
    pub max_calls_per_connection: usize,
    /// A call still running after this is ended with DEADLINE_EXCEEDED (watches excepted).
    pub request_timeout: Duration,
    /// Where `OpenWorkOrder` mails its requests (`portal.support_email`); without it the
    /// call answers UNAVAILABLE.
    pub support: Option<claimd_core::Email>,
    /// Serve gRPC reflection (grpcurl lists the API without the .proto files).
    pub reflection: bool,
}

impl Default for GrpcSettings {
    fn default() -> Self {
        Self {
            tls: None,
            clients: ClientAddressPolicy::default(),
            max_watches: 1000,
            max_watches_per_client: 100,
            max_calls_per_connection: 32,
            request_timeout: Duration::from_secs(30),
            support: None,
            reflection: true,
        }
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A TLS file could not be read.
    #[error("{key}: cannot read {path}: {source}")]
    TlsFile {
        /// The configuration key.
        key: &'static str,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The embedded descriptor set is unusable (a build problem).
    #[error("reflection service: {0}")]
    Reflection(String),
    /// tonic refused the TLS setup or the server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

fn read(key: &'static str, path: &PathBuf) -> Result<Vec<u8>, ServeError> {
    std::fs::read(path).map_err(|source| ServeError::TlsFile {
        key,
        path: path.display().to_string(),
        source,
    })
}

/// Builds the TLS configuration from the files, so a bad file stops the start with its key.
pub fn tls_config(files: &TlsFiles) -> Result<ServerTlsConfig, ServeError> {
    let identity = Identity::from_pem(
        read("grpc.tls_cert_file", &files.cert_file)?,
        read("grpc.tls_key_file", &files.key_file)?,
    );
    let config = ServerTlsConfig::new().identity(identity);
    let helpdesk = files
        .helpdesk_ca_file
        .as_ref()
        .map(|ca| read("helpdesk.client_ca_file", ca))
        .transpose()?;
    Ok(match (&files.client_ca_file, helpdesk) {
        // Every caller must show a certificate, signed by either CA.
        (Some(ca), helpdesk) => {
            let mut roots = read("grpc.client_ca_file", ca)?;
            if let Some(helpdesk) = helpdesk {
                roots.push(b'\n');
                roots.extend(helpdesk);
            }
            config.client_ca_root(Certificate::from_pem(roots))
        }
        // Asked for, checked when shown, required by HelpdeskService alone.
        (None, Some(helpdesk)) => config
            .client_ca_root(Certificate::from_pem(helpdesk))
            .client_auth_optional(true),
        (None, None) => config,
    })
}

/// Serves `AccountService` (and `HelpdeskService` when given), health and reflection on `listener` until `drain.shutdown` is
/// cancelled, then lets in-flight calls finish (open watches as `drain` says).
pub async fn serve(
    listener: TcpListener,
    accounts: Arc<Accounts>,
    helpdesk: Option<crate::HelpdeskApi>,
    settings: GrpcSettings,
    drain: Drain,
) -> Result<(), ServeError> {
    let shutdown = drain.shutdown.clone();
    let local = listener.local_addr().ok();
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<AccountServiceServer<AccountApi>>()
        .await;
    if helpdesk.is_some() {
        health
            .set_serving::<HelpdeskServiceServer<crate::HelpdeskApi>>()
            .await;
    }
    let reflection = if settings.reflection {
        Some(
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(claimd_api::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .build_v1()
                .map_err(|e| ServeError::Reflection(e.to_string()))?,
        )
    } else {
        None
    };
    let api = AccountApi::new(
        claimd_core::InProcess::new(accounts, settings.support),
        settings.clients,
        drain,
        settings.max_watches,
        settings.max_watches_per_client,
    );
    // Bounded per connection (calls in flight, HTTP/2 streams, pending resets) and in time;
    // keepalives find dead peers so their streams are freed.
    let mut builder = Server::builder()
        .concurrency_limit_per_connection(settings.max_calls_per_connection)
        .timeout(settings.request_timeout)
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .http2_max_pending_accept_reset_streams(Some(MAX_STREAMS_PER_CONNECTION as usize))
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .http2_keepalive_timeout(Some(Duration::from_secs(10)))
        .tcp_keepalive(Some(Duration::from_secs(60)));
    if let Some(files) = &settings.tls {
        builder = builder.tls_config(tls_config(files)?)?;
    }
    info!(listen = ?local.map(|a| a.to_string()), tls = settings.tls.is_some(), "gRPC server listening");
    let server = builder
        .add_service(health_service)
        .add_optional_service(reflection)
        .add_service(AccountServiceServer::new(api).max_decoding_message_size(MAX_REQUEST_BYTES))
        .add_optional_service(helpdesk.map(|desk| {
            HelpdeskServiceServer::new(desk).max_decoding_message_size(MAX_REQUEST_BYTES)
        }))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled());
    // Graceful shutdown waits for clients to close their connections; one that never does
    // must not keep claimd from exiting.
    let grace_over = async {
        shutdown.cancelled().await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        result = server => result?,
        () = grace_over => warn!(grace_secs = SHUTDOWN_GRACE.as_secs(), "clients still connected after the grace period; closing"),
    }
    info!("gRPC server stopped");
    Ok(())
}
