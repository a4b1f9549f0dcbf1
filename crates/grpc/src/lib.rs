//! claimd's gRPC front: `claimd.v1.AccountService` and `claimd.v1.HelpdeskService` over
//! tonic, with the standard health and reflection (v1) services, optional TLS and client
//! certificates (HelpdeskService serves only callers whose certificate `[helpdesk] clients`
//! lists, see `helpdesk`).
//!
//! Handlers are thin: they turn messages into the domain's requests (secrets straight into
//! `SecretString`), call the flows ([`claimd_core::InProcess`]) through one prologue, and map
//! the domain error to a status with ONE exhaustive match ([`status::to_status`]): field
//! violations as `google.rpc.BadRequest`, lockouts with `google.rpc.RetryInfo`, the error's
//! name in `google.rpc.ErrorInfo`, fixed messages only, never a cause. The reverse map
//! ([`status::from_status`]) sits beside it and serves [`Remote`], AccountService as the
//! account flows for a portal on another host.

mod client;
mod convert;
mod deadline;
mod helpdesk;
mod peer;
mod server;
mod service;
pub mod status;
mod watch;

pub use claimd_core::client_address::{ClientAddressError, ClientAddressPolicy};
pub use client::{Remote, RemoteError, RemoteSettings};
pub use helpdesk::{HelpdeskApi, HelpdeskClient};
pub use peer::HelpdeskIssuers;
pub use server::{GrpcSettings, ServeError, TlsFiles, serve, tls_config};
pub use service::{AccountApi, Drain};
