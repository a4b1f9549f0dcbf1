//! What both backends share: the role implementations (one macro). The SQL modules beside
//! this one are compiled into each backend (`#[path]`), against that backend's `db` module
//! (connection types, how a write begins, how rows are locked), so one text of each query
//! serves SQLite and PostgreSQL.

pub(crate) mod roles;

/// Appends ` IN ($…, $…)` binding `values`: a batch in one statement, on either backend.
pub(crate) fn push_in<DB, T>(
    query: &mut sqlx::QueryBuilder<DB>,
    values: impl IntoIterator<Item = T>,
) where
    DB: sqlx::Database,
    T: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    query.push(" IN (");
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    query.push(")");
}
