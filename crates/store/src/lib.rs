//! claimd's store: the [`Store`](claimd_core::Store) trait on SQLite (WAL, synchronous FULL,
//! secure_delete), with numbered migrations applied at connect.
//!
//! SQLite is the embedded default: one machine, one process running the service and the sync
//! worker. Every write that touches more than one row is one `BEGIN IMMEDIATE` transaction,
//! so concurrent writers queue on SQLite's lock instead of failing half-way. The SQL keeps to
//! what PostgreSQL also accepts, so a PostgreSQL backend can follow behind the same trait and
//! the same conformance suite (`tests/conformance.rs`).

mod account_json;
mod error;
mod sqlite;

pub use sqlite::SqliteStore;
