//! A roster import and what it means for claimed accounts: names and mail that changed are
//! updated in the directory, leavers are disabled. All inside the caller's transaction, so an
//! import (with its jobs) lands whole or not at all.

use std::collections::{HashMap, HashSet};

use super::db::Conn;
use claimd_core::{
    Account, DirectoryJob, JobKind, OperationId, RosterEntry, RosterStatus, StoreError, Username,
    store::{AuditEvent, ImportOptions, ImportSummary, Millis, PlannedChange},
};

use crate::error::{corrupt, store_error};

/// Why a password job queued for a leaver ends.
use claimd_core::store::LEFT_REASON as LEFT;

/// `last_name, first_name, email, status` of a roster row.
type RosterRow = (String, String, String, String);

/// The live claim of an employee: `id, state, username`.
type ClaimRow = (String, String, String);

/// Applies the file to the roster and plans (queues) the directory changes.
///
/// The roster and the live claims are read once, compared in memory, and the rows that
/// changed written in batches: a statement per row made a 100,000-row import spend four
/// fifths of its time handing statements to the database's thread (BENCHMARKS.md).
pub(super) async fn import(
    conn: &mut Conn,
    entries: &[RosterEntry],
    options: &ImportOptions,
    now: Millis,
) -> Result<ImportSummary, StoreError> {
    // An import decides who may claim: claims and new passwords wait until it is done.
    super::db::lock(conn, &["roster".to_owned()]).await?;
    let claims: HashMap<u32, ClaimRow> = sqlx::query_as::<_, (i64, String, String, String)>(
        "SELECT employee_id, id, state, username FROM claims WHERE state <> 'rejected'",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(store_error)?
    .into_iter()
    .map(|(id, claim, state, username)| Ok((number(id)?, (claim, state, username))))
    .collect::<Result<_, StoreError>>()?;
    let mut summary = ImportSummary {
        claimed: claims.len(),
        ..ImportSummary::default()
    };
    let old: HashMap<u32, RosterRow> = sqlx::query_as::<_, (i64, String, String, String, String)>(
        "SELECT employee_id, last_name, first_name, email, status FROM roster",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(store_error)?
    .into_iter()
    .map(|(id, l, f, e, s)| Ok((number(id)?, (l, f, e, s))))
    .collect::<Result<_, StoreError>>()?;

    // What the file changes, in file order; then (for a full import) who is missing.
    let mut in_file = HashSet::with_capacity(entries.len());
    let mut writes: Vec<&RosterEntry> = Vec::new();
    let mut leavers: Vec<(&RosterEntry, &str)> = Vec::new();
    // Rows a full import marks terminated (not in the file, so owned here).
    let mut gone: Vec<RosterEntry> = Vec::new();
    let mut updates: Vec<(&RosterEntry, String)> = Vec::new();
    for entry in entries {
        let id = entry.employee_id.get();
        in_file.insert(id);
        let before = old.get(&id);
        let new = (
            entry.last_name.as_str(),
            entry.first_name.as_str(),
            entry.email.as_str(),
            entry.status.as_str(),
        );
        match before {
            Some((l, f, e, s)) if (l.as_str(), f.as_str(), e.as_str(), s.as_str()) == new => {
                summary.unchanged += 1;
                continue;
            }
            Some(_) => summary.updated += 1,
            None => summary.added += 1,
        }
        writes.push(entry);
        let was_active = before.is_none_or(|(_, _, _, s)| s == "active");
        if entry.status == RosterStatus::Terminated {
            summary.terminated += usize::from(was_active);
            // Also when already terminated: a claim that slipped in meanwhile is ended too.
            leavers.push((entry, "terminated in the roster"));
        } else if entry.status == RosterStatus::Active
            && let Some((l, f, e, _)) = before
            && claims.contains_key(&id)
        {
            let changes = changed(entry, l, f, e);
            if !changes.is_empty() {
                updates.push((entry, changes.join("; ")));
            }
        }
    }
    if options.full {
        // Everyone active on file before and missing from the whole-staff file has left.
        let mut missing: Vec<(&u32, &RosterRow)> = old
            .iter()
            .filter(|(id, (_, _, _, status))| status == "active" && !in_file.contains(*id))
            .collect();
        missing.sort_by_key(|(id, _)| **id);
        for (id, (last, first, email, _)) in missing {
            let entry = super::roster::entry_from_row(
                *id,
                (
                    last.clone(),
                    first.clone(),
                    email.clone(),
                    "terminated".into(),
                ),
            )?;
            summary.updated += 1;
            summary.terminated += 1;
            gone.push(entry);
        }
    }
    writes.extend(&gone);
    leavers.extend(
        gone.iter()
            .map(|entry| (entry, "missing from a full import")),
    );

    upsert_all(conn, &writes, now).await?;
    for (entry, changes) in updates {
        if let Some(claim) = claims.get(&entry.employee_id.get()) {
            let job = job(JobKind::UpdateAccount, entry, &claim.2)?;
            plan(conn, &mut summary, &claim.0, job, changes, now).await?;
        }
    }
    for (entry, why) in leavers {
        if let Some(claim) = claims.get(&entry.employee_id.get()) {
            leave(conn, entry, claim, why, &mut summary, now).await?;
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

fn number(id: i64) -> Result<u32, StoreError> {
    u32::try_from(id).map_err(|_| corrupt("roster.employee_id"))
}

/// Rows per statement: six values each, well under both databases' parameter limits.
const BATCH: usize = 500;

/// The roster rows as in the file, a batch of rows per statement.
async fn upsert_all(
    conn: &mut Conn,
    entries: &[&RosterEntry],
    now: Millis,
) -> Result<(), StoreError> {
    for batch in entries.chunks(BATCH) {
        let mut query = sqlx::QueryBuilder::<super::db::Db>::new(
            "INSERT INTO roster (employee_id, last_name, first_name, email, status, updated_at) ",
        );
        query.push_values(batch, |mut row, entry| {
            row.push_bind(i64::from(entry.employee_id.get()))
                .push_bind(entry.last_name.as_str().to_owned())
                .push_bind(entry.first_name.as_str().to_owned())
                .push_bind(entry.email.as_str().to_owned())
                .push_bind(entry.status.as_str())
                .push_bind(now);
        });
        query.push(
            " ON CONFLICT (employee_id) DO UPDATE SET
                 last_name = excluded.last_name, first_name = excluded.first_name,
                 email = excluded.email, status = excluded.status, updated_at = excluded.updated_at",
        );
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
        JobKind::DisableAccount => "roster.disable",
        _ => "roster.update",
    };
    super::audit::insert(
        conn,
        &AuditEvent {
            at: now,
            action,
            employee_id: Some(job.account.employee_id),
            username: Some(job.account.username.clone()),
            client: None,
            outcome: "queued",
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
