//! What both backends share: the role implementations (one macro). The SQL modules beside
//! this one are compiled into each backend (`#[path]`), against that backend's `db` module
//! (connection types, how a write begins, how rows are locked), so one text of each query
//! serves SQLite and PostgreSQL.

pub(crate) mod roles;
