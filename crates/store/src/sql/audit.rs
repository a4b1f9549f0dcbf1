//! The audit log: every claim, reset, change, lockout and admin action. Never a secret.

use claimd_core::{StoreError, store::AuditEvent};

use super::db::Conn;
use crate::error::store_error;

pub(crate) async fn insert(conn: &mut Conn, event: &AuditEvent) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at, action, employee_id, username, client, outcome, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event.at)
    .bind(event.action)
    .bind(event.employee_id.map(|id| i64::from(id.get())))
    .bind(event.username.as_ref().map(ToString::to_string))
    .bind(event.client.map(|ip| ip.to_string()))
    .bind(event.outcome)
    .bind(event.reason.as_deref())
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
}
