//! The account flows as a front end sees them: one port, [`AccountFlows`], that the pages
//! (and any other front end) call, with two implementations: [`InProcess`], the flows of
//! this process, and a gRPC client of AccountService (in `claimd-grpc`) for a portal on a
//! DMZ host. Either way the caller gets the domain's types and errors.
//!
//! [`InProcess`] also owns what every front end of this process needs once: a flow runs to
//! its end in a task of its own (a caller that hangs up must not cut it between reserving an
//! attempt and judging it), work orders go to the one configured support address, and an
//! operation is followed by the worker's "a job ended" signal.

use std::{fmt, net::IpAddr, sync::Arc, time::Duration};

use async_trait::async_trait;
use tokio::time::Instant;

use crate::{
    Accounts, ChangeReceipt, ChangeRequest, ClaimReceipt, ClaimRequest, Email, Error, Operation,
    Question, ResetRequest, UnlockRequest, UpdateAnswersRequest, WorkOrderRequest,
    admission::with_deadline,
};

/// What a front end asks of the account flows. `client` is the person's address (attempt
/// limits count it); `None` for a caller inside this process with no person behind it.
#[async_trait]
pub trait AccountFlows: Send + Sync + fmt::Debug {
    /// The fewest characters a new password needs (shown before typing; the flows judge).
    fn min_password_chars(&self) -> usize;

    /// The pool of challenge questions.
    async fn questions(&self) -> Result<Arc<[Question]>, Error>;

    /// Claim My Account.
    async fn claim(
        &self,
        request: ClaimRequest,
        client: Option<IpAddr>,
    ) -> Result<ClaimReceipt, Error>;

    /// The operation `id` once it is final, or as it stands at `deadline`.
    async fn wait_for(&self, id: &str, deadline: Instant) -> Result<Operation, Error>;

    /// Forgot My Password, first step: the person's three questions (or decoys).
    async fn reset_questions(
        &self,
        username: &str,
        client: Option<IpAddr>,
    ) -> Result<Vec<Question>, Error>;

    /// Forgot My Password, second step.
    async fn complete_reset(
        &self,
        request: ResetRequest,
        client: Option<IpAddr>,
    ) -> Result<Operation, Error>;

    /// Unlock My Account (its questions are Forgot My Password's first step).
    async fn unlock_account(
        &self,
        request: UnlockRequest,
        client: Option<IpAddr>,
    ) -> Result<Operation, Error>;

    /// Change My Password.
    async fn change_password(
        &self,
        request: ChangeRequest,
        client: Option<IpAddr>,
    ) -> Result<ChangeReceipt, Error>;

    /// Change My Challenge Questions.
    async fn update_answers(
        &self,
        request: UpdateAnswersRequest,
        client: Option<IpAddr>,
    ) -> Result<(), Error>;

    /// Forgot My Username.
    async fn recover_username(&self, email: &str, client: Option<IpAddr>) -> Result<(), Error>;

    /// A work order to the Technology Support Center, mailed to the address the flows are
    /// configured with (never one the caller names): UNAVAILABLE when there is none.
    async fn work_order(
        &self,
        request: WorkOrderRequest,
        client: Option<IpAddr>,
    ) -> Result<(), Error>;
}

/// How often an operation is read again when no in-process signal arrives (a worker in
/// another process).
pub const OPERATION_POLL: Duration = Duration::from_millis(250);

/// The account flows of this process.
#[derive(Debug, Clone)]
pub struct InProcess {
    accounts: Arc<Accounts>,
    /// Where work orders go (`portal.support_email`).
    support: Option<Email>,
}

impl InProcess {
    /// The flows of `accounts`; work orders mailed to `support`.
    pub fn new(accounts: Arc<Accounts>, support: Option<Email>) -> Self {
        Self { accounts, support }
    }

    /// The flows themselves, for what is not a person's request (operations, questions).
    pub fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }

    /// Runs `flow` to its end in a task of its own, its CPU work bounded by `deadline`.
    pub async fn run<T: Send + 'static>(
        &self,
        deadline: Option<Instant>,
        flow: impl Future<Output = Result<T, Error>> + Send + 'static,
    ) -> Result<T, Error> {
        let span = tracing::Span::current();
        let task = tokio::spawn(tracing::Instrument::instrument(
            with_deadline(deadline, flow),
            span,
        ));
        task.await.unwrap_or_else(|e| {
            tracing::error!(error = %e, "request task failed");
            Err(Error::Internal)
        })
    }

    /// Claim My Account, with the caller's deadline for its CPU work.
    pub async fn claim_by(
        &self,
        request: ClaimRequest,
        client: Option<IpAddr>,
        deadline: Option<Instant>,
    ) -> Result<ClaimReceipt, Error> {
        let accounts = self.accounts.clone();
        self.run(
            deadline,
            async move { accounts.claim(request, client).await },
        )
        .await
    }

    /// Forgot My Password's second step, with the caller's deadline.
    pub async fn complete_reset_by(
        &self,
        request: ResetRequest,
        client: Option<IpAddr>,
        deadline: Option<Instant>,
    ) -> Result<Operation, Error> {
        let accounts = self.accounts.clone();
        self.run(deadline, async move {
            accounts.complete_reset(request, client).await
        })
        .await
    }

    /// Unlock My Account, with the caller's deadline.
    pub async fn unlock_account_by(
        &self,
        request: UnlockRequest,
        client: Option<IpAddr>,
        deadline: Option<Instant>,
    ) -> Result<Operation, Error> {
        let accounts = self.accounts.clone();
        self.run(deadline, async move {
            accounts.unlock_account(request, client).await
        })
        .await
    }

    /// Change My Password, with the caller's deadline.
    pub async fn change_password_by(
        &self,
        request: ChangeRequest,
        client: Option<IpAddr>,
        deadline: Option<Instant>,
    ) -> Result<ChangeReceipt, Error> {
        let accounts = self.accounts.clone();
        self.run(deadline, async move {
            accounts.change_password(request, client).await
        })
        .await
    }

    /// Change My Challenge Questions, with the caller's deadline.
    pub async fn update_answers_by(
        &self,
        request: UpdateAnswersRequest,
        client: Option<IpAddr>,
        deadline: Option<Instant>,
    ) -> Result<(), Error> {
        let accounts = self.accounts.clone();
        self.run(deadline, async move {
            accounts.update_answers(request, client).await
        })
        .await
    }

    /// The operation `id` once it differs from `current` (or is final), or as it stands at
    /// `deadline`: woken by the in-process worker's signal, and every [`OPERATION_POLL`] for
    /// a worker elsewhere.
    pub async fn next(
        &self,
        id: &str,
        current: Option<&Operation>,
        deadline: Instant,
    ) -> Result<Operation, Error> {
        let mut finished = self.accounts.events().finished();
        loop {
            finished.borrow_and_update();
            let operation = self.accounts.operation(id).await?;
            if operation.state.is_final() || current != Some(&operation) {
                return Ok(operation);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(operation);
            }
            let wake = (now + OPERATION_POLL).min(deadline);
            tokio::select! {
                _ = finished.changed() => {}
                () = tokio::time::sleep_until(wake) => {}
            }
        }
    }
}

#[async_trait]
impl AccountFlows for InProcess {
    fn min_password_chars(&self) -> usize {
        self.accounts.min_password_chars()
    }

    async fn questions(&self) -> Result<Arc<[Question]>, Error> {
        Ok(self.accounts.questions().into())
    }

    async fn claim(
        &self,
        request: ClaimRequest,
        client: Option<IpAddr>,
    ) -> Result<ClaimReceipt, Error> {
        self.claim_by(request, client, None).await
    }

    async fn wait_for(&self, id: &str, deadline: Instant) -> Result<Operation, Error> {
        let mut current = self.next(id, None, deadline).await?;
        while !current.state.is_final() && Instant::now() < deadline {
            current = self.next(id, Some(&current), deadline).await?;
        }
        Ok(current)
    }

    async fn reset_questions(
        &self,
        username: &str,
        client: Option<IpAddr>,
    ) -> Result<Vec<Question>, Error> {
        self.accounts.reset_questions(username, client).await
    }

    async fn complete_reset(
        &self,
        request: ResetRequest,
        client: Option<IpAddr>,
    ) -> Result<Operation, Error> {
        self.complete_reset_by(request, client, None).await
    }

    async fn unlock_account(
        &self,
        request: UnlockRequest,
        client: Option<IpAddr>,
    ) -> Result<Operation, Error> {
        self.unlock_account_by(request, client, None).await
    }

    async fn change_password(
        &self,
        request: ChangeRequest,
        client: Option<IpAddr>,
    ) -> Result<ChangeReceipt, Error> {
        self.change_password_by(request, client, None).await
    }

    async fn update_answers(
        &self,
        request: UpdateAnswersRequest,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        self.update_answers_by(request, client, None).await
    }

    async fn recover_username(&self, email: &str, client: Option<IpAddr>) -> Result<(), Error> {
        let (accounts, email) = (self.accounts.clone(), email.to_owned());
        self.run(None, async move {
            accounts.recover_username(&email, client).await
        })
        .await
    }

    async fn work_order(
        &self,
        request: WorkOrderRequest,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        let Some(support) = self.support.clone() else {
            tracing::warn!("portal.support_email is not set: a work order cannot be sent");
            return Err(Error::Unavailable);
        };
        let accounts = self.accounts.clone();
        self.run(None, async move {
            accounts.work_order(request, &support, client).await
        })
        .await
    }
}
