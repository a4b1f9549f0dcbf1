//! Roster rows.

use claimd_core::{
    Email, EmployeeId, PersonName, RosterEntry, RosterStatus, StoreError,
    store::{ImportSummary, Millis},
};
use sqlx::{SqliteConnection, SqlitePool};

use crate::error::{corrupt, store_error};

type Row = (String, String, String, String);

pub(super) async fn import(
    conn: &mut SqliteConnection,
    entries: &[RosterEntry],
    now: Millis,
) -> Result<ImportSummary, StoreError> {
    let mut summary = ImportSummary::default();
    for entry in entries {
        let id = i64::from(entry.employee_id.get());
        let existing: Option<Row> = sqlx::query_as(
            "SELECT last_name, first_name, email, status FROM roster WHERE employee_id = ?",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(store_error)?;
        let wanted = (
            entry.last_name.as_str(),
            entry.first_name.as_str(),
            entry.email.as_str(),
            entry.status.as_str(),
        );
        match existing {
            Some((l, f, e, s)) if (l.as_str(), f.as_str(), e.as_str(), s.as_str()) == wanted => {
                summary.unchanged += 1;
                continue;
            }
            Some(_) => summary.updated += 1,
            None => summary.added += 1,
        }
        sqlx::query(
            "INSERT INTO roster (employee_id, last_name, first_name, email, status, updated_at)
             VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (employee_id) DO UPDATE SET
                 last_name = excluded.last_name, first_name = excluded.first_name,
                 email = excluded.email, status = excluded.status, updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(wanted.0)
        .bind(wanted.1)
        .bind(wanted.2)
        .bind(wanted.3)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    }
    Ok(summary)
}

pub(super) async fn entry(
    pool: &SqlitePool,
    id: EmployeeId,
) -> Result<Option<RosterEntry>, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT last_name, first_name, email, status FROM roster WHERE employee_id = ?",
    )
    .bind(i64::from(id.get()))
    .fetch_optional(pool)
    .await
    .map_err(store_error)?;
    row.map(|(last, first, email, status)| {
        Ok(RosterEntry {
            employee_id: id,
            last_name: PersonName::parse(&last).map_err(|_| corrupt("roster.last_name"))?,
            first_name: PersonName::parse(&first).map_err(|_| corrupt("roster.first_name"))?,
            email: Email::parse(&email).map_err(|_| corrupt("roster.email"))?,
            status: RosterStatus::parse(&status).ok_or_else(|| corrupt("roster.status"))?,
        })
    })
    .transpose()
}
