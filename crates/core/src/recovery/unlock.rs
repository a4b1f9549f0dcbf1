//! Unlock My Account: the person whose login the directory locked (too many wrong passwords
//! at a workstation, on the Wi-Fi) proves it is them exactly as Forgot My Password does (the
//! three answers, the mailed code when the district asks for one, the same attempt rule and
//! replies), and a directory job lifts the lock and nothing else. The password stays.

use std::net::IpAddr;

use tracing::info;

use super::UnlockRequest;
use crate::{
    Accounts, Error, JobKind, Operation, OperationId, OperationState,
    directory::DirectoryJob,
    store::{AuditAction, AuditOutcome, NewAccountJob, now_millis},
};

impl Accounts {
    /// Checks the answers (and code) and queues the job that lifts the directory's lock.
    pub async fn unlock_account(
        &self,
        request: UnlockRequest,
        client: Option<IpAddr>,
    ) -> Result<Operation, Error> {
        let target = self
            .answers_target(
                &request.username,
                &request.answers,
                &request.verification_code,
                AuditAction::UnlockAccount,
                client,
            )
            .await?;
        let claimed = self
            .prove_answers(
                target,
                &request.answers,
                &request.verification_code,
                AuditAction::UnlockAccount,
                client,
            )
            .await?;
        let now = now_millis();
        let id = OperationId::new();
        let job = NewAccountJob {
            audit: self.account_event(
                AuditAction::UnlockAccount,
                &claimed,
                client,
                AuditOutcome::Accepted,
                now,
            ),
            sealed_password: Vec::new(),
            job: DirectoryJob {
                id,
                kind: JobKind::UnlockAccount,
                account: claimed.account.clone(),
                rehire: false,
                entry: None,
            },
            claim_id: claimed.claim_id,
            now,
        };
        if !self.store.insert_account_job(job).await? {
            // The person left while the request was checked: answered as for a stranger.
            tracing::warn!("unlock refused: the account is no longer managed");
            return Err(Error::Unauthenticated);
        }
        self.events.job_queued();
        metrics::counter!("claimd_unlocks_total", "outcome" => "accepted").increment(1);
        info!(operation = %id, "unlock accepted");
        Ok(Operation {
            id,
            state: OperationState::Pending,
            reason: None,
        })
    }
}
