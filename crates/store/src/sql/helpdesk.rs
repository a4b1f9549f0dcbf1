//! The helpdesk's sessions and name search. A session's token is kept only as its hash; the
//! open check and the touch are one statement, so replicas agree on when a session ended.

use claimd_core::{
    RosterEntry, StoreError,
    helpdesk::Sites,
    store::{HelperSession, Millis, SessionLimits},
};

use super::{
    db::Pool,
    roster::{IdRow, entry_from_id_row},
};
use crate::error::store_error;

type SessionRow = (String, String, String, i64, i64);

fn session_from_row(
    (login, dn, sites, started_at, seen_at): SessionRow,
) -> Result<HelperSession, StoreError> {
    let sites = Sites::from_stored(&sites).ok_or_else(|| StoreError::Internal {
        reason: "a helpdesk session's sites are unreadable".into(),
    })?;
    Ok(HelperSession {
        login,
        dn,
        sites,
        started_at,
        seen_at,
    })
}

/// Removes the sessions that have ended by `now` and `token_hash`'s own.
async fn remove_ended(
    pool: &Pool,
    token_hash: Option<&str>,
    now: Millis,
    limits: &SessionLimits,
) -> Result<(), StoreError> {
    let (seen_since, started_since) = limits.open_since(now);
    sqlx::query(
        "DELETE FROM helpdesk_sessions WHERE token_hash = $1 OR seen_at <= $2 OR started_at <= $3",
    )
    .bind(token_hash.unwrap_or(""))
    .bind(seen_since)
    .bind(started_since)
    .execute(pool)
    .await
    .map_err(store_error)?;
    Ok(())
}

pub(super) async fn open_session(
    pool: &Pool,
    token_hash: &str,
    session: &HelperSession,
    limits: &SessionLimits,
) -> Result<(), StoreError> {
    remove_ended(pool, None, session.started_at, limits).await?;
    sqlx::query(
        "INSERT INTO helpdesk_sessions (token_hash, login, dn, sites, started_at, seen_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(&session.login)
    .bind(&session.dn)
    .bind(session.sites.stored())
    .bind(session.started_at)
    .bind(session.seen_at)
    .execute(pool)
    .await
    .map_err(store_error)?;
    Ok(())
}

pub(super) async fn touch_session(
    pool: &Pool,
    token_hash: &str,
    now: Millis,
    limits: &SessionLimits,
) -> Result<Option<HelperSession>, StoreError> {
    let (seen_since, started_since) = limits.open_since(now);
    let row: Option<SessionRow> = sqlx::query_as(
        "UPDATE helpdesk_sessions SET seen_at = $1
         WHERE token_hash = $2 AND seen_at > $3 AND started_at > $4
         RETURNING login, dn, sites, started_at, seen_at",
    )
    .bind(now)
    .bind(token_hash)
    .bind(seen_since)
    .bind(started_since)
    .fetch_optional(pool)
    .await
    .map_err(store_error)?;
    match row {
        Some(row) => session_from_row(row).map(Some),
        None => {
            remove_ended(pool, Some(token_hash), now, limits).await?;
            Ok(None)
        }
    }
}

pub(super) async fn close_session(pool: &Pool, token_hash: &str) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM helpdesk_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// `%` and `_` typed in a name are letters, not patterns.
fn prefix_pattern(name: &str) -> String {
    let mut pattern = String::with_capacity(name.len() + 1);
    for c in name.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub(super) async fn people_named(
    pool: &Pool,
    name: &str,
    sites: &Sites,
    limit: u32,
) -> Result<Vec<RosterEntry>, StoreError> {
    let pattern = prefix_pattern(name.trim());
    let mut query = sqlx::QueryBuilder::<super::db::Db>::new(
        "SELECT employee_id, last_name, first_name, email, status, personal_email, site
         FROM roster WHERE (lower(last_name) LIKE ",
    );
    query.push_bind(pattern.clone());
    query.push(" ESCAPE '\\' OR lower(first_name) LIKE ");
    query.push_bind(pattern);
    query.push(" ESCAPE '\\')");
    if let Sites::Only(codes) = sites {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        query.push(" AND site");
        crate::sql::push_in(&mut query, codes.iter().map(|c| c.as_str().to_owned()));
    }
    query.push(" ORDER BY last_name, first_name, employee_id LIMIT ");
    query.push_bind(i64::from(limit));
    let rows: Vec<IdRow> = query
        .build_query_as()
        .fetch_all(pool)
        .await
        .map_err(store_error)?;
    rows.into_iter().map(entry_from_id_row).collect()
}
