//! Where the pages' requests go: the account flows in this process (`claimd run`), or
//! AccountService over gRPC when the portal runs alone on a DMZ host (`claimd portal`). The
//! pages see one set of calls and the domain's errors either way.

use std::{net::IpAddr, sync::Arc, time::Duration};

use claimd_core::{
    Accounts, ChangeRequest, ClaimRequest, Email, Error, Operation, Question, ResetRequest,
    UpdateAnswersRequest, WorkOrderRequest,
};

use crate::remote::Remote;

/// How long a finish page waits for the directory write before showing progress: the write
/// usually takes a tenth of a second, so most people see the result at once.
pub(crate) const SETTLE: Duration = Duration::from_millis(1500);

/// A claim the service accepted.
#[derive(Debug)]
pub(crate) struct Claimed {
    pub(crate) username: String,
    pub(crate) operation: String,
}

/// The account flows, in process or over gRPC.
#[derive(Debug)]
pub enum Backend {
    /// The flows of this process.
    Local(Arc<Accounts>),
    /// AccountService on another host.
    Remote(Box<Remote>),
}

impl From<Arc<Accounts>> for Backend {
    fn from(accounts: Arc<Accounts>) -> Self {
        Self::Local(accounts)
    }
}

impl From<Remote> for Backend {
    fn from(remote: Remote) -> Self {
        Self::Remote(Box::new(remote))
    }
}

impl Backend {
    /// The fewest characters a new password needs (shown before typing).
    pub(crate) fn min_password_chars(&self) -> usize {
        match self {
            Self::Local(accounts) => accounts.min_password_chars(),
            Self::Remote(remote) => remote.min_password_chars(),
        }
    }

    /// The pool of challenge questions.
    pub(crate) async fn questions(&self) -> Result<Arc<[Question]>, Error> {
        match self {
            Self::Local(accounts) => Ok(accounts.questions().into()),
            Self::Remote(remote) => remote.questions().await,
        }
    }

    pub(crate) async fn claim(
        &self,
        request: ClaimRequest,
        client: Option<IpAddr>,
    ) -> Result<Claimed, Error> {
        match self {
            Self::Local(accounts) => {
                let accounts = accounts.clone();
                let receipt =
                    run_flow(async move { accounts.claim(request, client).await }).await?;
                Ok(Claimed {
                    username: receipt.username.to_string(),
                    operation: receipt.operation.id.to_string(),
                })
            }
            Self::Remote(remote) => remote.claim(request, client).await,
        }
    }

    /// The operation, once final or after [`SETTLE`], whichever is first.
    pub(crate) async fn settled(&self, id: &str) -> Result<Operation, Error> {
        match self {
            Self::Local(accounts) => settled_here(accounts, id).await,
            Self::Remote(remote) => remote.settled(id).await,
        }
    }

    pub(crate) async fn reset_questions(
        &self,
        username: &str,
        client: Option<IpAddr>,
    ) -> Result<Vec<Question>, Error> {
        match self {
            Self::Local(accounts) => accounts.reset_questions(username, client).await,
            Self::Remote(remote) => remote.reset_questions(username, client).await,
        }
    }

    /// A reset's operation id.
    pub(crate) async fn complete_reset(
        &self,
        request: ResetRequest,
        client: Option<IpAddr>,
    ) -> Result<String, Error> {
        match self {
            Self::Local(accounts) => {
                let accounts = accounts.clone();
                run_flow(async move { accounts.complete_reset(request, client).await })
                    .await
                    .map(|op| op.id.to_string())
            }
            Self::Remote(remote) => remote.complete_reset(request, client).await,
        }
    }

    /// A change's operation id.
    pub(crate) async fn change_password(
        &self,
        request: ChangeRequest,
        client: Option<IpAddr>,
    ) -> Result<String, Error> {
        match self {
            Self::Local(accounts) => {
                let accounts = accounts.clone();
                run_flow(async move { accounts.change_password(request, client).await })
                    .await
                    .map(|op| op.id.to_string())
            }
            Self::Remote(remote) => remote.change_password(request, client).await,
        }
    }

    pub(crate) async fn update_answers(
        &self,
        request: UpdateAnswersRequest,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        match self {
            Self::Local(accounts) => {
                let accounts = accounts.clone();
                run_flow(async move { accounts.update_answers(request, client).await }).await
            }
            Self::Remote(remote) => remote.update_answers(request, client).await,
        }
    }

    pub(crate) async fn recover_username(
        &self,
        email: String,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        match self {
            Self::Local(accounts) => {
                let accounts = accounts.clone();
                run_flow(async move { accounts.recover_username(&email, client).await }).await
            }
            Self::Remote(remote) => remote.recover_username(email, client).await,
        }
    }

    /// Mails the work order: in process to `support` (`portal.support_email`); remotely to
    /// the service's own support address, so a DMZ host cannot choose where mail goes.
    pub(crate) async fn work_order(
        &self,
        request: WorkOrderRequest,
        support: &str,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        match self {
            Self::Local(accounts) => {
                let Ok(support) = Email::parse(support) else {
                    tracing::error!("portal.support_email is not set: a work order cannot be sent");
                    return Err(Error::Unavailable);
                };
                let accounts = accounts.clone();
                run_flow(async move { accounts.work_order(request, &support, client).await }).await
            }
            Self::Remote(remote) => remote.work_order(request, client).await,
        }
    }
}

/// Runs an account flow in a task of its own: a browser that gives up must not cut it
/// between reserving an attempt and judging it. (Over gRPC the service does the same.)
async fn run_flow<T: Send + 'static>(
    flow: impl Future<Output = Result<T, Error>> + Send + 'static,
) -> Result<T, Error> {
    tokio::spawn(flow).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "page flow failed");
        Err(Error::Internal)
    })
}

/// Waits on the in-process worker's "a job ended" signal, re-reading the store at each one
/// (and every quarter second, for a worker in another process).
async fn settled_here(accounts: &Accounts, id: &str) -> Result<Operation, Error> {
    let deadline = tokio::time::Instant::now() + SETTLE;
    let mut finished = accounts.events().finished();
    loop {
        finished.borrow_and_update();
        let operation = accounts.operation(id).await?;
        if operation.state.is_final() {
            return Ok(operation);
        }
        let wake = (tokio::time::Instant::now() + Duration::from_millis(250)).min(deadline);
        tokio::select! {
            _ = finished.changed() => {}
            () = tokio::time::sleep_until(wake) => {}
        }
        if tokio::time::Instant::now() >= deadline {
            return accounts.operation(id).await;
        }
    }
}
