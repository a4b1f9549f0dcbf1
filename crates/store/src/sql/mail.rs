//! The mail outbox.

use std::time::Duration;

use super::db::{Conn, Pool};
use claimd_core::{
    Email, StoreError,
    mail::{Mail, MailKind, QueuedMail},
    store::Millis,
};

use crate::error::{corrupt, store_error};

pub(super) async fn enqueue(conn: &mut Conn, mail: &Mail, now: Millis) -> Result<(), StoreError> {
    enqueue_all(conn, &[mail], now).await
}

/// Several mails in one statement (a worker's batch of finished jobs).
pub(super) async fn enqueue_all(
    conn: &mut Conn,
    mails: &[&Mail],
    now: Millis,
) -> Result<(), StoreError> {
    if mails.is_empty() {
        return Ok(());
    }
    let mut query = sqlx::QueryBuilder::<super::db::Db>::new(
        "INSERT INTO mail_outbox
             (id, kind, recipient, subject, body, state, next_attempt_at, created_at, updated_at) ",
    );
    query.push_values(mails, |mut row, mail| {
        row.push_bind(uuid::Uuid::new_v4().to_string())
            .push_bind(mail.kind.as_str())
            .push_bind(mail.to.as_str().to_owned())
            .push_bind(mail.subject.clone())
            .push_bind(mail.body.clone())
            .push_bind("queued")
            .push_bind(now)
            .push_bind(now)
            .push_bind(now);
    });
    query.build().execute(conn).await.map_err(store_error)?;
    Ok(())
}

pub(super) async fn queued_since(
    pool: &Pool,
    to: &Email,
    kind: MailKind,
    since: Millis,
) -> Result<u32, StoreError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM mail_outbox WHERE recipient = $1 AND kind = $2 AND created_at >= $3",
    )
    .bind(to.as_str())
    .bind(kind.as_str())
    .bind(since)
    .fetch_one(pool)
    .await
    .map_err(store_error)?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// `id, kind, recipient, subject, body, attempts` of a leased mail.
type LeasedRow = (String, String, String, String, String, i64);

pub(super) async fn lease(
    pool: &Pool,
    owner: &str,
    lease_for: Duration,
    now: Millis,
) -> Result<Option<QueuedMail>, StoreError> {
    let lease_until = now.saturating_add(i64::try_from(lease_for.as_millis()).unwrap_or(i64::MAX));
    let row: Option<LeasedRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE mail_outbox
         SET lease_owner = $1, lease_until = $2, attempts = attempts + 1, updated_at = $3
         WHERE id = (
             SELECT id FROM mail_outbox
             WHERE state = 'queued' AND next_attempt_at <= $3
               AND (lease_until IS NULL OR lease_until <= $3)
             ORDER BY next_attempt_at, created_at
             LIMIT 1 {take})
         RETURNING id, kind, recipient, subject, body, attempts",
        take = super::db::TAKE_ROW
    )))
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .fetch_optional(pool)
    .await
    .map_err(store_error)?;
    let Some((id, kind, recipient, subject, body, attempts)) = row else {
        return Ok(None);
    };
    Ok(Some(QueuedMail {
        id,
        mail: Mail {
            kind: MailKind::parse(&kind).ok_or_else(|| corrupt("mail_outbox.kind"))?,
            to: Email::parse(&recipient).map_err(|_| corrupt("mail_outbox.recipient"))?,
            subject,
            body,
        },
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        lease_owner: owner.to_owned(),
    }))
}

pub(super) async fn finish(
    pool: &Pool,
    mail: &QueuedMail,
    failure: Option<&str>,
    now: Millis,
) -> Result<bool, StoreError> {
    let state = if failure.is_some() { "failed" } else { "sent" };
    let updated = sqlx::query(
        // A sealed body (it carries a one-time code) is erased once the mail has ended.
        "UPDATE mail_outbox SET state = $1, last_error = $2, lease_owner = NULL, lease_until = NULL,
             updated_at = $3, body = CASE WHEN body LIKE 'sealed:%' THEN '' ELSE body END
         WHERE id = $4 AND state = 'queued' AND lease_owner = $5",
    )
    .bind(state)
    .bind(failure)
    .bind(now)
    .bind(&mail.id)
    .bind(&mail.lease_owner)
    .execute(pool)
    .await
    .map_err(store_error)?;
    Ok(updated.rows_affected() == 1)
}

pub(super) async fn retry(
    pool: &Pool,
    mail: &QueuedMail,
    retry_at: Millis,
    error: &str,
    now: Millis,
) -> Result<bool, StoreError> {
    let updated = sqlx::query(
        "UPDATE mail_outbox
         SET next_attempt_at = $1, last_error = $2, lease_owner = NULL, lease_until = NULL, updated_at = $3
         WHERE id = $4 AND state = 'queued' AND lease_owner = $5",
    )
    .bind(retry_at)
    .bind(error)
    .bind(now)
    .bind(&mail.id)
    .bind(&mail.lease_owner)
    .execute(pool)
    .await
    .map_err(store_error)?;
    Ok(updated.rows_affected() == 1)
}
