//! Roster rows.

use super::db::Pool;
use claimd_core::{Email, EmployeeId, PersonName, RosterEntry, RosterStatus, Site, StoreError};

use crate::error::{corrupt, store_error};

/// `last_name, first_name, email, status, personal_email, site`.
pub(super) type Row = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// A [`Row`] with the employee ID first, as the batch reads return it.
pub(super) type IdRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// A roster entry from its stored row read with its ID.
pub(super) fn entry_from_id_row(
    (id, last, first, email, status, personal, site): IdRow,
) -> Result<RosterEntry, StoreError> {
    entry_from_row(number(id)?, (last, first, email, status, personal, site))
}

pub(super) async fn entry(pool: &Pool, id: EmployeeId) -> Result<Option<RosterEntry>, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT last_name, first_name, email, status, personal_email, site FROM roster
         WHERE employee_id = $1",
    )
    .bind(i64::from(id.get()))
    .fetch_optional(pool)
    .await
    .map_err(store_error)?;
    row.map(|row| entry_from_row(id.get(), row)).transpose()
}

/// A stored employee ID as the domain's number.
pub(super) fn number(id: i64) -> Result<u32, StoreError> {
    u32::try_from(id).map_err(|_| corrupt("roster.employee_id"))
}

/// A roster entry from its stored row.
pub(super) fn entry_from_row(
    id: u32,
    (last, first, email, status, personal, site): Row,
) -> Result<RosterEntry, StoreError> {
    Ok(RosterEntry {
        employee_id: EmployeeId::new(id).ok_or_else(|| corrupt("roster.employee_id"))?,
        last_name: PersonName::parse(&last).map_err(|_| corrupt("roster.last_name"))?,
        first_name: PersonName::parse(&first).map_err(|_| corrupt("roster.first_name"))?,
        email: Email::parse(&email).map_err(|_| corrupt("roster.email"))?,
        status: RosterStatus::parse(&status).ok_or_else(|| corrupt("roster.status"))?,
        personal_email: personal
            .map(|p| Email::parse(&p).map_err(|_| corrupt("roster.personal_email")))
            .transpose()?,
        site: match site {
            Some(code) => Site::parse(&code).map_err(|_| corrupt("roster.site"))?,
            None => None,
        },
    })
}
