//! The audit log: every claim, reset, change, lockout and admin action. Never a secret.

use claimd_core::{StoreError, store::AuditEvent};

use super::db::Conn;
use crate::error::store_error;

pub(crate) async fn insert(conn: &mut Conn, event: &AuditEvent) -> Result<(), StoreError> {
    insert_all(conn, &[event]).await
}

/// Several rows in one statement (a worker's batch of finished jobs).
pub(crate) async fn insert_all(conn: &mut Conn, events: &[&AuditEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut query = sqlx::QueryBuilder::<super::db::Db>::new(
        "INSERT INTO audit_log (at, action, employee_id, username, client, actor, outcome, reason) ",
    );
    query.push_values(events, |mut row, event| {
        row.push_bind(event.at)
            .push_bind(event.action.as_str())
            .push_bind(event.employee_id.map(|id| i64::from(id.get())))
            .push_bind(event.username.as_ref().map(ToString::to_string))
            .push_bind(event.client.map(|ip| ip.to_string()))
            .push_bind(event.actor.clone())
            .push_bind(event.outcome.as_str())
            .push_bind(event.reason.clone());
    });
    query.build().execute(conn).await.map_err(store_error)?;
    Ok(())
}
