//! End-to-end tests: the real `claimd` binary, a real slapd, a real SQLite file, driven over
//! gRPC by a client that knows only the contract (proto/claimd/v1/account.proto).
//! Each test starts its own servers on free loopback ports in a temp dir.

mod abuse;
mod admin;
mod admission;
mod breached;
mod browser;
mod claim;
mod cli;
#[path = "../common/client.rs"]
mod client;
mod code_pages;
mod codes;
#[path = "../common/desk.rs"]
mod desk;
mod faults;
mod flood;
mod harness;
mod helpdesk_grpc;
mod helpdesk_pages;
mod helpdesk_sign_in;
mod keyboard;
mod lifecycle;
mod limits;
mod lockout;
mod mail_tls;
mod metrics;
mod portal;
mod recovery;
mod refusals;
mod reminders;
mod replicas;
mod second_factor;
mod secrets;
mod standalone;
mod tls;
mod web;
mod work_orders;
