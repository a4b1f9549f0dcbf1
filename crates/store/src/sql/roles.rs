//! The [`Store`](claimd_core::Store) roles for a backend: each method opens what it needs
//! (a read on the pool, or a write transaction from the backend's `db::begin`) and calls the
//! shared SQL modules. Both backends expand this one macro, so they cannot drift apart.

/// Implements every role trait for `$store` (in a child module `roles`): the store has a
/// `pool` and a `write()` transaction, a `job_pool()` and `job_write()` for the directory
/// worker's own bookkeeping, and the shared SQL modules are its siblings.
macro_rules! impl_store_roles {
    ($store:ident) => {
        mod roles {
            use std::time::Duration;

            use async_trait::async_trait;
            use claimd_core::{
                Account, Email, EmployeeId, Operation, OperationId, RosterEntry, RosterProblem, StoreError,
                Username,
                mail::{Mail, MailKind, QueuedMail},
                store::{
                    AdminStore, AttemptKey, AttemptStore, AttemptTicket, AuditEvent, AuditRow,
                    AuditStore, ClaimInsert, ClaimState, ClaimStore, ClaimedAccount, CodeStore, EndedJob, OperationStore,
                    ImportOptions, ImportSummary, IssuedCode, JobStore, LeaseCheck, LeasedJob,
                    Lockout, LockoutPolicy, Millis, NewClaim, NewAccountJob, OutboxStore,
                    QueueStats, Reservation, RosterStore, StoredAnswer, NewReminder, ReminderStore,
                    HelpdeskStore, HelperSession, SessionLimits,
                },
                helpdesk::Sites,
            };

            use super::{
                $store, accounts, admin, attempts, audit, claims, codes, helpdesk, jobs, lifecycle,
                mail, reminders, roster,
            };
            use crate::error::store_error;

            #[async_trait]
            impl RosterStore for $store {
                async fn import_roster_rows(
                    &self,
                    rows: &mut (dyn Iterator<Item = Result<RosterEntry, Vec<RosterProblem>>> + Send),
                    options: &ImportOptions,
                    now: Millis,
                ) -> Result<ImportSummary, StoreError> {
                    let mut tx = self.write().await?;
                    let summary = lifecycle::import(&mut tx, rows, options, now).await?;
                    if summary.applied {
                        tx.commit().await.map_err(store_error)?;
                    } else {
                        tx.rollback().await.map_err(store_error)?;
                    }
                    Ok(summary)
                }

                async fn roster_entry(&self, id: EmployeeId) -> Result<Option<RosterEntry>, StoreError> {
                    roster::entry(&self.pool, id).await
                }
            }

            #[async_trait]
            impl CodeStore for $store {
                async fn entries_needing_codes(
                    &self,
                    after: u32,
                    limit: u32,
                ) -> Result<Vec<RosterEntry>, StoreError> {
                    codes::needing(&self.pool, after, limit).await
                }

                async fn issue_claim_codes(
                    &self,
                    issued: &[IssuedCode],
                    now: Millis,
                ) -> Result<usize, StoreError> {
                    let mut tx = self.write().await?;
                    let stored = codes::issue(&mut tx, issued, now).await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(stored)
                }

                async fn claim_code_live(
                    &self,
                    id: EmployeeId,
                    hash: &str,
                    now: Millis,
                ) -> Result<bool, StoreError> {
                    codes::live(&self.pool, id, hash, now).await
                }

                async fn add_verification_code(
                    &self,
                    username: &Username,
                    hash: &str,
                    expires_at: Millis,
                    mail: &Mail,
                    audit: AuditEvent,
                    quota: &claimd_core::codes::CodeQuota,
                ) -> Result<bool, StoreError> {
                    let mut tx = self.write().await?;
                    let added =
                        codes::add_verification(&mut tx, username, hash, expires_at, mail, &audit, quota)
                            .await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(added)
                }

                async fn verification_code_live(
                    &self,
                    username: &Username,
                    hash: &str,
                    now: Millis,
                ) -> Result<bool, StoreError> {
                    codes::verification_live(&self.pool, username, hash, now).await
                }

                async fn take_verification_code(
                    &self,
                    username: &Username,
                    hash: &str,
                    now: Millis,
                ) -> Result<bool, StoreError> {
                    codes::take_verification(&self.pool, username, hash, now).await
                }
            }

            #[async_trait]
            impl ClaimStore for $store {
                async fn live_claim(&self, id: EmployeeId) -> Result<Option<ClaimState>, StoreError> {
                    claims::live_state(&self.pool, id).await
                }

                async fn insert_claim(&self, claim: NewClaim) -> Result<ClaimInsert, StoreError> {
                    let mut tx = self.write().await?;
                    let outcome = claims::insert(&mut tx, &claim).await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(outcome)
                }

                async fn claimed_account(
                    &self,
                    username: &Username,
                ) -> Result<Option<ClaimedAccount>, StoreError> {
                    accounts::by_username(&self.pool, username).await
                }

                async fn claimed_accounts_by_email(&self, email: &Email) -> Result<Vec<Account>, StoreError> {
                    accounts::by_email(&self.pool, email).await
                }

                async fn answered_questions(&self) -> Result<Vec<claimd_core::Question>, StoreError> {
                    accounts::answered_questions(&self.pool).await
                }

                async fn insert_account_job(&self, job: NewAccountJob) -> Result<bool, StoreError> {
                    let mut tx = self.write().await?;
                    if !accounts::insert_account_job(&mut tx, &job).await? {
                        return Ok(false);
                    }
                    audit::insert(&mut tx, &job.audit).await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(true)
                }

                async fn replace_answers(
                    &self,
                    claim_id: &str,
                    answers: &[StoredAnswer],
                    audit: AuditEvent,
                    mail: Mail,
                ) -> Result<(), StoreError> {
                    let mut tx = self.write().await?;
                    accounts::replace_answers(&mut tx, claim_id, answers).await?;
                    audit::insert(&mut tx, &audit).await?;
                    mail::enqueue(&mut tx, &mail, audit.at).await?;
                    tx.commit().await.map_err(store_error)
                }
            }

            #[async_trait]
            impl ReminderStore for $store {
                async fn reminder_accounts(&self, usernames: &[Username]) -> Result<Vec<Account>, StoreError> {
                    reminders::accounts(&self.pool, usernames).await
                }

                async fn record_reminders(
                    &self,
                    new: &[NewReminder],
                    now: Millis,
                ) -> Result<Vec<claimd_core::Reminded>, StoreError> {
                    let mut tx = self.write().await?;
                    let outcomes = reminders::record(&mut tx, new, now).await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(outcomes)
                }

                async fn forget_reminders(&self, sent_before: Millis) -> Result<(), StoreError> {
                    let mut tx = self.write().await?;
                    reminders::forget(&mut tx, sent_before).await?;
                    tx.commit().await.map_err(store_error)
                }
            }

            #[async_trait]
            impl OperationStore for $store {
                async fn operation(&self, id: OperationId) -> Result<Option<Operation>, StoreError> {
                    jobs::operation(&self.pool, id).await
                }
            }

            #[async_trait]
            impl JobStore for $store {
                async fn confirm_leases(
                    &self,
                    leased: &[LeasedJob],
                    now: Millis,
                ) -> Result<Vec<LeaseCheck>, StoreError> {
                    jobs::confirm(self.job_pool(), leased, now).await
                }

                async fn lease_jobs(
                    &self,
                    owner: &str,
                    lease_for: Duration,
                    now: Millis,
                    max: usize,
                ) -> Result<Vec<LeasedJob>, StoreError> {
                    jobs::lease(self.job_pool(), owner, lease_for, now, max).await
                }

                async fn finish_jobs(&self, ended: &[EndedJob]) -> Result<Vec<bool>, StoreError> {
                    let mut tx = self.job_write().await?;
                    let recorded = jobs::finish_all(&mut tx, ended).await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(recorded)
                }

                async fn record_entry(
                    &self,
                    job: &LeasedJob,
                    entry: &str,
                    now: Millis,
                ) -> Result<bool, StoreError> {
                    jobs::record_entry(self.job_pool(), job, entry, now).await
                }

                async fn retry_job(
                    &self,
                    job: &LeasedJob,
                    retry_at: Millis,
                    held_until: Option<Millis>,
                    error: &str,
                    now: Millis,
                ) -> Result<bool, StoreError> {
                    jobs::retry(self.job_pool(), job, retry_at, held_until, error, now).await
                }
            }

            #[async_trait]
            impl AttemptStore for $store {
                async fn locked_until(
                    &self,
                    keys: &[AttemptKey],
                    policy: &LockoutPolicy,
                    now: Millis,
                ) -> Result<Option<Millis>, StoreError> {
                    attempts::locked_until(&self.pool, keys, policy, now, false).await
                }

                async fn reserve_attempt(
                    &self,
                    keys: &[AttemptKey],
                    policy: &LockoutPolicy,
                    now: Millis,
                    mailed_code: bool,
                ) -> Result<Reservation, StoreError> {
                    // A locked key is refused on a read, without the write lock: a locked-out script
                    // calling in a loop must not queue every other writer behind it.
                    if let Some(until) =
                        attempts::locked_until(&self.pool, keys, policy, now, mailed_code).await?
                    {
                        return Ok(Reservation::Locked { until });
                    }
                    let mut tx = self.write().await?;
                    let reservation =
                        attempts::reserve(&mut tx, keys, policy, now, mailed_code).await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(reservation)
                }

                async fn fail_attempt(
                    &self,
                    ticket: &AttemptTicket,
                    policy: &LockoutPolicy,
                    now: Millis,
                ) -> Result<Vec<Lockout>, StoreError> {
                    let mut tx = self.write().await?;
                    let locks = attempts::fail(&mut tx, ticket, policy, now).await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(locks)
                }

                async fn give_back(
                    &self,
                    ticket: &AttemptTicket,
                    clear_accounts: bool,
                ) -> Result<(), StoreError> {
                    let mut tx = self.write().await?;
                    attempts::give_back(&mut tx, ticket, clear_accounts).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn clear_failures(&self, key: &AttemptKey) -> Result<(), StoreError> {
                    let mut tx = self.write().await?;
                    attempts::clear(&mut tx, key).await?;
                    tx.commit().await.map_err(store_error)
                }
            }

            #[async_trait]
            impl OutboxStore for $store {
                async fn enqueue_mail(&self, mail: &Mail, audit: AuditEvent) -> Result<(), StoreError> {
                    let mut tx = self.write().await?;
                    mail::enqueue(&mut tx, mail, audit.at).await?;
                    audit::insert(&mut tx, &audit).await?;
                    tx.commit().await.map_err(store_error)
                }

                async fn mails_queued_since(
                    &self,
                    to: &Email,
                    kind: MailKind,
                    since: Millis,
                ) -> Result<u32, StoreError> {
                    mail::queued_since(&self.pool, to, kind, since).await
                }

                async fn lease_mail(
                    &self,
                    owner: &str,
                    lease_for: Duration,
                    now: Millis,
                ) -> Result<Option<QueuedMail>, StoreError> {
                    mail::lease(&self.pool, owner, lease_for, now).await
                }

                async fn finish_mail(
                    &self,
                    mail: &QueuedMail,
                    failure: Option<&str>,
                    now: Millis,
                ) -> Result<bool, StoreError> {
                    mail::finish(&self.pool, mail, failure, now).await
                }

                async fn retry_mail(
                    &self,
                    mail: &QueuedMail,
                    retry_at: Millis,
                    error: &str,
                    now: Millis,
                ) -> Result<bool, StoreError> {
                    mail::retry(&self.pool, mail, retry_at, error, now).await
                }
            }

            #[async_trait]
            impl AuditStore for $store {
                async fn record_audit(&self, event: AuditEvent) -> Result<(), StoreError> {
                    let mut conn = self.pool.acquire().await.map_err(store_error)?;
                    audit::insert(&mut conn, &event).await
                }

                async fn audit_rows(
                    &self,
                    employee_id: Option<EmployeeId>,
                    limit: u32,
                ) -> Result<Vec<AuditRow>, StoreError> {
                    admin::audit_rows(&self.pool, employee_id, limit).await
                }
            }

            #[async_trait]
            impl HelpdeskStore for $store {
                async fn open_session(
                    &self,
                    token_hash: &str,
                    session: &HelperSession,
                    limits: &SessionLimits,
                ) -> Result<(), StoreError> {
                    helpdesk::open_session(&self.pool, token_hash, session, limits).await
                }

                async fn touch_session(
                    &self,
                    token_hash: &str,
                    now: Millis,
                    limits: &SessionLimits,
                ) -> Result<Option<HelperSession>, StoreError> {
                    helpdesk::touch_session(&self.pool, token_hash, now, limits).await
                }

                async fn close_session(&self, token_hash: &str) -> Result<(), StoreError> {
                    helpdesk::close_session(&self.pool, token_hash).await
                }

                async fn people_named(
                    &self,
                    name: &str,
                    sites: &Sites,
                    limit: u32,
                ) -> Result<Vec<RosterEntry>, StoreError> {
                    helpdesk::people_named(&self.pool, name, sites, limit).await
                }
            }

            #[async_trait]
            impl AdminStore for $store {
                async fn seal_key_matches(
                    &self,
                    fingerprint: &str,
                    now: Millis,
                ) -> Result<bool, StoreError> {
                    admin::seal_key_matches(&self.pool, fingerprint, now).await
                }

                async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
                    let (jobs, oldest): (i64, Option<i64>) = sqlx::query_as(
                        "SELECT COUNT(*), MIN(created_at) FROM directory_jobs WHERE state = 'queued'",
                    )
                    .fetch_one(&self.pool)
                    .await
                    .map_err(store_error)?;
                    let mails: i64 =
                        sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox WHERE state = 'queued'")
                            .fetch_one(&self.pool)
                            .await
                            .map_err(store_error)?;
                    Ok(QueueStats {
                        jobs_waiting: u64::try_from(jobs).unwrap_or(0),
                        oldest_job_queued_at: oldest,
                        mails_waiting: u64::try_from(mails).unwrap_or(0),
                    })
                }

                async fn unlock(&self, key: &AttemptKey, audit: AuditEvent) -> Result<bool, StoreError> {
                    let mut tx = self.write().await?;
                    let lifted = admin::unlock(&mut tx, key).await?;
                    audit::insert(&mut tx, &audit).await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(lifted)
                }

                async fn unlock_keys(&self, keys: &[AttemptKey], audit: AuditEvent) -> Result<bool, StoreError> {
                    let mut tx = self.write().await?;
                    let lifted = admin::unlock_all(&mut tx, keys).await?;
                    audit::insert(&mut tx, &audit).await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(lifted)
                }

                async fn release_pending_claim(
                    &self,
                    employee_id: EmployeeId,
                    reason: &str,
                    audit: AuditEvent,
                ) -> Result<bool, StoreError> {
                    let mut tx = self.write().await?;
                    let released = admin::release_pending_claim(&mut tx, employee_id, reason, audit.at).await?;
                    // Nothing released, nothing to record as done.
                    if released {
                        audit::insert(&mut tx, &audit).await?;
                    }
                    tx.commit().await.map_err(store_error)?;
                    Ok(released)
                }

                async fn retry_now(
                    &self,
                    id: OperationId,
                    audit: AuditEvent,
                    now: Millis,
                ) -> Result<bool, StoreError> {
                    let mut tx = self.write().await?;
                    let due = admin::retry_now(&mut tx, id, now).await?;
                    audit::insert(&mut tx, &audit).await?;
                    tx.commit().await.map_err(store_error)?;
                    Ok(due)
                }
            }
        }
    };
}

pub(crate) use impl_store_roles;
