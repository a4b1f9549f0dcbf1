//! claimd's gRPC front: `claimd.v1.AccountService` over tonic, with the standard health and
//! reflection (v1) services, optional TLS and client certificates.
//!
//! Handlers are thin: they turn messages into the domain's requests (secrets straight into
//! `SecretString`), call [`claimd_core::Accounts`], and map the domain error to a status with
//! ONE exhaustive match ([`status::to_status`]): field violations as `google.rpc.BadRequest`,
//! lockouts with `google.rpc.RetryInfo`, fixed messages only, never a cause.

mod client;
mod convert;
mod deadline;
mod server;
mod service;
pub mod status;

pub use claimd_core::client_address::{ClientAddressError, ClientAddressPolicy};
pub use client::{Remote, RemoteError, RemoteSettings};
pub use server::{GrpcSettings, ServeError, TlsFiles, serve, tls_config};
pub use service::{AccountApi, Drain};
