//! Expiry reminders: a page's claimed accounts, and the once-only records. A reminder's row
//! (username, password set at, threshold) is its primary key, so two replicas scanning at
//! once, or one scanning again after a restart, insert it once: the mail and audit row are
//! queued only by the transaction whose insert took.

use claimd_core::{
    Account, StoreError, Username,
    reminders::Reminded,
    store::{Millis, NewReminder},
};

use super::db::{Conn, Pool};
use crate::error::store_error;

/// The active claims among `usernames` (one statement), as accounts.
pub(super) async fn accounts(
    pool: &Pool,
    usernames: &[Username],
) -> Result<Vec<Account>, StoreError> {
    if usernames.is_empty() {
        return Ok(Vec::new());
    }
    let mut query = sqlx::QueryBuilder::<super::db::Db>::new(format!(
        "{} AND c.username",
        super::accounts::ACCOUNT_SELECT
    ));
    crate::sql::push_in(&mut query, usernames.iter().map(|u| u.as_str().to_owned()));
    let rows: Vec<super::accounts::AccountRow> = query
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(store_error)?;
    rows.iter().map(super::accounts::account).collect()
}

/// Inserts each new record while its claim is active, queueing its mail and audit row with
/// it.
pub(super) async fn record(
    conn: &mut Conn,
    reminders: &[NewReminder],
    now: Millis,
) -> Result<Vec<Reminded>, StoreError> {
    let mut outcomes = vec![Reminded::NotClaimed; reminders.len()];
    let mut mails = Vec::new();
    let mut audits = Vec::new();
    // In key order: two replicas inserting overlapping pages take the rows' locks in the
    // same order, so PostgreSQL never has to break a deadlock between their scans.
    let mut order: Vec<usize> = (0..reminders.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |r: &NewReminder| {
            (
                r.username.as_str().to_owned(),
                r.password_set_at,
                r.threshold_days,
            )
        };
        key(&reminders[a]).cmp(&key(&reminders[b]))
    });
    for i in order {
        let reminder = &reminders[i];
        let inserted = sqlx::query(
            "INSERT INTO password_reminders
                 (username, password_set_at, threshold_days, expires_at, sent_at)
             SELECT c.username, $2, $3, $4, $5
             FROM claims c JOIN roster r ON r.employee_id = c.employee_id
             WHERE c.state = 'active' AND r.status = 'active' AND c.username = $1
             ON CONFLICT DO NOTHING",
        )
        .bind(reminder.username.as_str())
        .bind(reminder.password_set_at)
        .bind(i64::from(reminder.threshold_days))
        .bind(reminder.expires_at)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?
        .rows_affected();
        let outcome = if inserted == 1 {
            mails.push(&reminder.mail);
            audits.push(&reminder.audit);
            Reminded::Sent
        } else if already_recorded(conn, reminder).await? {
            Reminded::AlreadySent
        } else {
            Reminded::NotClaimed
        };
        outcomes[i] = outcome;
    }
    super::mail::enqueue_all(conn, &mails, now).await?;
    super::audit::insert_all(conn, &audits).await?;
    Ok(outcomes)
}

async fn already_recorded(conn: &mut Conn, reminder: &NewReminder) -> Result<bool, StoreError> {
    // COUNT: a BIGINT on PostgreSQL, an INTEGER on SQLite; an i64 on both.
    let found: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM password_reminders
         WHERE username = $1 AND password_set_at = $2 AND threshold_days = $3",
    )
    .bind(reminder.username.as_str())
    .bind(reminder.password_set_at)
    .bind(i64::from(reminder.threshold_days))
    .fetch_one(&mut *conn)
    .await
    .map_err(store_error)?;
    Ok(found > 0)
}

/// Forgets the records of reminders sent before `sent_before` (once a scan, in a
/// transaction of its own).
pub(super) async fn forget(conn: &mut Conn, sent_before: Millis) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM password_reminders WHERE sent_at < $1")
        .bind(sent_before)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}
