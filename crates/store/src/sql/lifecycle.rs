//! A roster import and what it means for claimed accounts: names and mail that changed are
//! updated in the directory, leavers are disabled. All inside the caller's transaction, so an
//! import (with its jobs) lands whole or not at all.

use std::collections::HashMap;

use futures::TryStreamExt;

use super::db::Conn;
use claimd_core::{
    Account, DirectoryJob, EmployeeId, JobKind, OperationId, RosterEntry, RosterProblem,
    RosterStatus, StoreError, Username,
    store::{
        AuditAction, AuditEvent, AuditOutcome, ImportOptions, ImportSummary, Millis, PlannedChange,
    },
};

use crate::error::{corrupt, store_error};

/// Why a password job queued for a leaver ends.
use claimd_core::store::LEFT_REASON as LEFT;

/// A stored roster row, as `roster::entry_from_row` reads it.
type RosterRow = super::roster::Row;

/// The live claim of an employee: `id, state, username`.
type ClaimRow = (String, String, String);

/// Rows compared and written together: what the import holds of the file at once.
const CHUNK: usize = 2_000;

/// Applies the file to the roster and plans (queues) the directory changes.
///
/// The file is read a chunk at a time; each chunk's stored rows and live claims are read
/// in one query each, compared in memory, and the rows that changed written in batches
/// (a statement per row made a 100,000-row import spend four fifths of its time handing
/// statements to the database's thread, BENCHMARKS.md). Only the IDs seen stay in memory,
/// to find who a full import no longer lists.
pub(super) async fn import(
    conn: &mut Conn,
    rows: &mut (dyn Iterator<Item = Result<RosterEntry, Vec<RosterProblem>>> + Send),
    options: &ImportOptions,
    now: Millis,
) -> Result<ImportSummary, StoreError> {
    // An import decides who may claim: claims and new passwords wait until it is done.
    super::db::lock(conn, &["roster".to_owned()]).await?;
    let claimed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM claims WHERE state <> 'rejected'")
        .fetch_one(&mut *conn)
        .await
        .map_err(store_error)?;
    let mut summary = ImportSummary {
        claimed: usize::try_from(claimed).map_err(|_| corrupt("claims"))?,
        ..ImportSummary::default()
    };
    // One bit per possible employee ID (125 KiB): a set that does not grow with the file.
    let mut in_file = vec![0u64; EmployeeId::MAX as usize / 64 + 1];
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut more = true;
    while more {
        chunk.clear();
        more = false;
        for row in &mut *rows {
            summary.rows += 1;
            match row {
                // After a bad row nothing is written; the rest is read for its problems.
                Ok(entry) if summary.problems.is_empty() => chunk.push(entry),
                Ok(_) => {}
                Err(problems) => summary.problems.extend(problems),
            }
            if chunk.len() == CHUNK {
                more = true;
                break;
            }
        }
        if summary.problems.is_empty() {
            for id in chunk.iter().map(|entry| entry.employee_id.get() as usize) {
                in_file[id / 64] |= 1 << (id % 64);
            }
            let why = "terminated in the roster";
            apply(conn, &chunk, why, options, &mut summary, now).await?;
        }
    }
    if !summary.problems.is_empty() {
        return Ok(summary);
    }
    if options.full {
        // Everyone active on file before and missing from the whole-staff file has left.
        let gone = missing(conn, &in_file).await?;
        for chunk in gone.chunks(CHUNK) {
            let why = "missing from a full import";
            apply(conn, chunk, why, options, &mut summary, now).await?;
        }
    }
    // Only a full import guesses leavers from what is missing, so only it is guarded: a
    // truncated export must not lock out the district. Rows marked terminated are HR's word.
    let disabling = summary.accounts_to_disable();
    let too_many = options.full
        && options
            .max_disable_percent
            .is_some_and(|percent| disabling * 100 > usize::from(percent) * summary.claimed);
    summary.refused_mass_disable = too_many;
    summary.applied = !too_many && !options.dry_run;
    Ok(summary)
}

/// Active roster rows whose IDs the file did not list, as terminated entries.
async fn missing(conn: &mut Conn, in_file: &[u64]) -> Result<Vec<RosterEntry>, StoreError> {
    let mut gone = Vec::new();
    type Active = (i64, String, String, String, Option<String>, Option<String>);
    let mut active = sqlx::query_as::<_, Active>(
        "SELECT employee_id, last_name, first_name, email, personal_email, site FROM roster
         WHERE status = 'active' ORDER BY employee_id",
    )
    .fetch(&mut *conn);
    while let Some((id, last, first, email, personal, site)) =
        active.try_next().await.map_err(store_error)?
    {
        let id = super::roster::number(id)?;
        let listed = in_file[id as usize / 64] & (1 << (id % 64)) != 0;
        if !listed {
            let row = (last, first, email, "terminated".to_owned(), personal, site);
            gone.push(super::roster::entry_from_row(id, row)?);
        }
    }
    Ok(gone)
}

/// Compares a chunk of entries with their stored rows and claims, writes what changed and
/// plans the directory changes; `left` says why an entry now terminated is disabled.
async fn apply(
    conn: &mut Conn,
    entries: &[RosterEntry],
    left: &str,
    options: &ImportOptions,
    summary: &mut ImportSummary,
    now: Millis,
) -> Result<(), StoreError> {
    if entries.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = entries
        .iter()
        .map(|entry| i64::from(entry.employee_id.get()))
        .collect();
    let old: HashMap<u32, RosterRow> = by_id(
        conn,
        "SELECT employee_id, last_name, first_name, email, status, personal_email, site
         FROM roster WHERE ",
        &ids,
    )
    .await?
    .into_iter()
    .map(|(id, l, f, e, s, p, site)| Ok((super::roster::number(id)?, (l, f, e, s, p, site))))
    .collect::<Result<_, StoreError>>()?;
    let claims: HashMap<u32, ClaimRow> = by_id(
        conn,
        "SELECT employee_id, id, state, username, '', NULL, NULL FROM claims
         WHERE state <> 'rejected' AND ",
        &ids,
    )
    .await?
    .into_iter()
    .map(|(id, claim, state, username, _, _, _)| {
        Ok((super::roster::number(id)?, (claim, state, username)))
    })
    .collect::<Result<_, StoreError>>()?;

    let mut writes: Vec<&RosterEntry> = Vec::new();
    let mut leavers: Vec<&RosterEntry> = Vec::new();
    let mut updates: Vec<(&RosterEntry, String)> = Vec::new();
    // Whose personal address changed: a claim code mailed to the old one stops working.
    let mut readdressed: Vec<i64> = Vec::new();
    for entry in entries {
        let id = entry.employee_id.get();
        let before = old.get(&id);
        let personal = if options.keep_personal_email {
            before.and_then(|(_, _, _, _, p, _)| p.as_deref())
        } else {
            entry.personal_email.as_ref().map(|p| p.as_str())
        };
        let site = if options.keep_site {
            before.and_then(|(.., site)| site.as_deref())
        } else {
            entry.site.as_ref().map(|s| s.as_str())
        };
        if let Some((_, _, _, _, was, _)) = before
            && was.as_deref() != personal
        {
            readdressed.push(i64::from(id));
        }
        let new = (
            entry.last_name.as_str(),
            entry.first_name.as_str(),
            entry.email.as_str(),
            entry.status.as_str(),
            personal,
            site,
        );
        match before {
            Some((l, f, e, s, p, site))
                if (
                    l.as_str(),
                    f.as_str(),
                    e.as_str(),
                    s.as_str(),
                    p.as_deref(),
                    site.as_deref(),
                ) == new =>
            {
                summary.unchanged += 1;
                continue;
            }
            Some(_) => summary.updated += 1,
            None => summary.added += 1,
        }
        writes.push(entry);
        let was_active = before.is_none_or(|(_, _, _, s, ..)| s == "active");
        if entry.status == RosterStatus::Terminated {
            summary.terminated += usize::from(was_active);
            // Also when already terminated: a claim that slipped in meanwhile is ended too.
            leavers.push(entry);
        } else if entry.status == RosterStatus::Active
            && let Some((l, f, e, ..)) = before
            && claims.contains_key(&id)
        {
            let changes = changed(entry, l, f, e);
            if !changes.is_empty() {
                updates.push((entry, changes.join("; ")));
            }
        }
    }
    upsert_all(conn, &writes, options, now).await?;
    if !readdressed.is_empty() {
        let mut query = sqlx::QueryBuilder::<super::db::Db>::new(
            "DELETE FROM claim_codes WHERE used_at IS NULL AND employee_id",
        );
        crate::sql::push_in(&mut query, readdressed.iter().copied());
        query
            .build()
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    for (entry, changes) in updates {
        if let Some(claim) = claims.get(&entry.employee_id.get()) {
            let job = job(JobKind::UpdateAccount, entry, &claim.2)?;
            plan(conn, summary, &claim.0, job, changes, now).await?;
        }
    }
    for entry in leavers {
        if let Some(claim) = claims.get(&entry.employee_id.get()) {
            leave(conn, entry, claim, left, summary, now).await?;
        }
    }
    Ok(())
}

/// A row `by_id` reads: the employee ID, four texts and two that may be NULL (a roster
/// row's shape, which the claims' read fills in too).
type IdRow = super::roster::IdRow;

/// Runs `select` (ending in `WHERE ` or `AND `, reading an [`IdRow`]) for the rows whose
/// employee is in `ids`.
async fn by_id(conn: &mut Conn, select: &str, ids: &[i64]) -> Result<Vec<IdRow>, StoreError> {
    let mut query = sqlx::QueryBuilder::<super::db::Db>::new(select);
    query.push("employee_id");
    crate::sql::push_in(&mut query, ids.iter().copied());
    query
        .build_query_as()
        .fetch_all(&mut *conn)
        .await
        .map_err(store_error)
}

/// Rows per statement: eight values each, well under both databases' parameter limits.
const BATCH: usize = 500;

/// The roster rows as in the file, a batch of rows per statement.
async fn upsert_all(
    conn: &mut Conn,
    entries: &[&RosterEntry],
    options: &ImportOptions,
    now: Millis,
) -> Result<(), StoreError> {
    // A file without the column keeps what is on file.
    let personal = if options.keep_personal_email {
        "roster.personal_email"
    } else {
        "excluded.personal_email"
    };
    let site = if options.keep_site {
        "roster.site"
    } else {
        "excluded.site"
    };
    for batch in entries.chunks(BATCH) {
        let mut query = sqlx::QueryBuilder::<super::db::Db>::new(
            "INSERT INTO roster
             (employee_id, last_name, first_name, email, status, personal_email, site,
              updated_at) ",
        );
        query.push_values(batch, |mut row, entry| {
            row.push_bind(i64::from(entry.employee_id.get()))
                .push_bind(entry.last_name.as_str().to_owned())
                .push_bind(entry.first_name.as_str().to_owned())
                .push_bind(entry.email.as_str().to_owned())
                .push_bind(entry.status.as_str())
                .push_bind(entry.personal_email.as_ref().map(|p| p.as_str().to_owned()))
                .push_bind(entry.site.as_ref().map(|s| s.as_str().to_owned()))
                .push_bind(now);
        });
        query.push(format_args!(
            " ON CONFLICT (employee_id) DO UPDATE SET
                 last_name = excluded.last_name, first_name = excluded.first_name,
                 email = excluded.email, status = excluded.status,
                 personal_email = {personal}, site = {site}, updated_at = excluded.updated_at"
        ));
        query
            .build()
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
    }
    Ok(())
}

/// What differs between the roster row before and the entry now, for the plan.
fn changed(entry: &RosterEntry, last: &str, first: &str, email: &str) -> Vec<String> {
    [
        ("sn", last, entry.last_name.as_str()),
        ("givenName", first, entry.first_name.as_str()),
        ("mail", email, entry.email.as_str()),
    ]
    .into_iter()
    .filter(|(_, before, after)| before != after)
    .map(|(attr, before, after)| format!("{attr}: {before:?} -> {after:?}"))
    .collect()
}

fn job(kind: JobKind, entry: &RosterEntry, username: &str) -> Result<DirectoryJob, StoreError> {
    Ok(DirectoryJob {
        id: OperationId::new(),
        kind,
        account: Account {
            username: Username::parse(username).map_err(|_| corrupt("claims.username"))?,
            employee_id: entry.employee_id,
            first_name: entry.first_name.clone(),
            last_name: entry.last_name.clone(),
            email: entry.email.clone(),
        },
        rehire: false,
        entry: None,
    })
}

/// Queues `job` for the claim and records it in the plan and the audit log.
async fn plan(
    conn: &mut Conn,
    summary: &mut ImportSummary,
    claim_id: &str,
    job: DirectoryJob,
    detail: String,
    now: Millis,
) -> Result<(), StoreError> {
    super::jobs::queue(conn, &job, claim_id, &[], now).await?;
    let action = match job.kind {
        JobKind::DisableAccount => AuditAction::RosterDisable,
        _ => AuditAction::RosterUpdate,
    };
    super::audit::insert(
        conn,
        &AuditEvent {
            at: now,
            action,
            employee_id: Some(job.account.employee_id),
            username: Some(job.account.username.clone()),
            client: None,
            actor: None,
            outcome: AuditOutcome::Queued,
            reason: Some(detail.clone()),
        },
    )
    .await?;
    summary.plan.push(PlannedChange {
        username: job.account.username,
        employee_id: job.account.employee_id,
        kind: job.kind,
        detail,
    });
    Ok(())
}

/// A leaver with a live claim: password jobs nobody holds are cancelled (one a worker holds
/// finishes first: the disable is queued after it), the claim is released so a rehire can
/// claim again, and the account is disabled.
async fn leave(
    conn: &mut Conn,
    entry: &RosterEntry,
    (claim_id, _state, username): &ClaimRow,
    why: &str,
    summary: &mut ImportSummary,
    now: Millis,
) -> Result<(), StoreError> {
    let cancelled: Vec<String> = sqlx::query_scalar(
        "UPDATE directory_jobs
         SET state = 'failed', sealed_password = NULL, last_error = $1, updated_at = $2
         WHERE claim_id = $3 AND state = 'queued'
           AND (lease_until IS NULL OR lease_until <= $2)
         RETURNING id",
    )
    .bind(LEFT)
    .bind(now)
    .bind(claim_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(store_error)?;
    for id in cancelled {
        sqlx::query(
            "UPDATE operations SET state = 'failed', reason = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(LEFT)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    }
    sqlx::query("UPDATE claims SET state = 'rejected', reason = $1, updated_at = $2 WHERE id = $3")
        .bind(why)
        .bind(now)
        .bind(claim_id)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    sqlx::query("DELETE FROM challenge_answers WHERE claim_id = $1")
        .bind(claim_id)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    let job = job(JobKind::DisableAccount, entry, username)?;
    plan(conn, summary, claim_id, job, why.to_owned(), now).await
}
