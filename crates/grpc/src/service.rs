//! The `AccountService` handlers.

use std::{
    pin::Pin,
    time::{Duration, Instant},
};

use claimd_api::v1::{
    BeginPasswordResetRequest, BeginPasswordResetResponse, ChangePasswordRequest,
    ChangePasswordResponse, ClaimAccountRequest, ClaimAccountResponse,
    CompletePasswordResetRequest, CompletePasswordResetResponse, GetOperationRequest,
    GetOperationResponse, ListChallengeQuestionsRequest, ListChallengeQuestionsResponse,
    OpenWorkOrderRequest, OpenWorkOrderResponse, RecoverUsernameRequest, RecoverUsernameResponse,
    UnlockAccountRequest, UnlockAccountResponse, UpdateChallengeAnswersRequest,
    UpdateChallengeAnswersResponse, WatchOperationRequest, WatchOperationResponse,
    account_service_server::AccountService,
};
use claimd_core::{AccountFlows, Error, InProcess};
use futures::Stream;
use std::net::IpAddr;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::{Instrument, field, info, instrument, warn};

use claimd_core::client_address::{ClientAddressError, ClientAddressPolicy};

use crate::{convert, deadline::deadline, status::to_status, watch::Watches};

/// When a busy watch is told to retry.
const WATCH_RETRY: Duration = Duration::from_secs(1);

/// The longest open watches go on after a shutdown signal, waiting for the job in hand to
/// end: within the server's 10 s grace.
const WATCH_DRAIN: Duration = Duration::from_secs(8);

/// When open watches end at shutdown.
#[derive(Clone, Debug, Default)]
pub struct Drain {
    /// Cancelled when the process is asked to stop.
    pub shutdown: CancellationToken,
    /// Cancelled once no job in hand can still finish in this process (the in-process
    /// worker has stopped; at once when there is none).
    pub work_done: CancellationToken,
}

/// The service over the account flows.
#[derive(Debug)]
pub struct AccountApi {
    flows: InProcess,
    clients: ClientAddressPolicy,
    drain: Drain,
    /// The places for open watches, for the server and for each client network.
    watches: Watches,
}

impl AccountApi {
    /// Handlers over `flows`; at most `max_watches` watches are open at once
    /// (`max_watches_per_client` from one client network), and they end as `drain` says.
    pub fn new(
        flows: InProcess,
        clients: ClientAddressPolicy,
        drain: Drain,
        max_watches: usize,
        max_watches_per_client: usize,
    ) -> Self {
        Self {
            flows,
            clients,
            drain,
            watches: Watches::new(max_watches, max_watches_per_client),
        }
    }

    /// Every person's call, the same way: the client's address (recorded on the span), the
    /// flow under the caller's deadline (in a task of its own, so a caller that hangs up never
    /// cuts it), then the outcome logged, counted and mapped to a status.
    async fn call<M, T, F>(
        &self,
        rpc: &'static str,
        request: Request<M>,
        flow: impl FnOnce(InProcess, M, Option<IpAddr>, Option<tokio::time::Instant>) -> F,
    ) -> Result<T, Status>
    where
        F: Future<Output = Result<T, Error>>,
    {
        let started = Instant::now();
        let client = self.client(&request)?;
        if let Some(ip) = client {
            tracing::Span::current().record("client", field::display(ip));
        }
        let deadline = deadline(&request);
        let result = flow(self.flows.clone(), request.into_inner(), client, deadline).await;
        finish(rpc, started, &result);
        result.map_err(to_status)
    }

    /// The client's address; a trusted proxy that does not say who its client is gets
    /// INVALID_ARGUMENT naming the header.
    fn client<T>(&self, request: &Request<T>) -> Result<Option<std::net::IpAddr>, Status> {
        self.client_address(request).map_err(refused)
    }

    fn client_address<T>(
        &self,
        request: &Request<T>,
    ) -> Result<Option<IpAddr>, ClientAddressError> {
        client_address(&self.clients, request)
    }
}

/// The caller's address under `clients`: the peer's, or the one a trusted proxy forwards in
/// `x-forwarded-for` (every line read). Shared by AccountService and HelpdeskService.
pub(crate) fn client_address<T>(
    clients: &ClientAddressPolicy,
    request: &Request<T>,
) -> Result<Option<IpAddr>, ClientAddressError> {
    let forwarded = request
        .metadata()
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().ok());
    clients.client(request.remote_addr().map(|a| a.ip()), forwarded)
}

/// A trusted proxy's request whose forwarded address is missing or malformed.
fn refused(e: ClientAddressError) -> Status {
    warn!(error = %e, "request from a trusted proxy refused");
    Status::invalid_argument(e.to_string())
}

fn outcome<T>(result: &Result<T, Error>) -> &'static str {
    result.as_ref().map_or_else(|e| e.code().1, |_| "ok")
}

/// Records the call's outcome on its span and in the metrics, and logs one line for it.
pub(crate) fn finish<T>(rpc: &'static str, started: Instant, result: &Result<T, Error>) {
    let outcome = outcome(result);
    tracing::Span::current().record("outcome", outcome);
    metrics::counter!("claimd_rpc_requests_total", "rpc" => rpc, "outcome" => outcome).increment(1);
    metrics::histogram!("claimd_rpc_duration_seconds", "rpc" => rpc)
        .record(started.elapsed().as_secs_f64());
    info!(outcome, "{rpc} finished");
}

/// A deadline no watch reaches (it ends with its operation, its caller or the server).
fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400 * 365)
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchOperationResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AccountService for AccountApi {
    #[instrument(skip_all, fields(rpc = "ListChallengeQuestions"))]
    async fn list_challenge_questions(
        &self,
        _request: Request<ListChallengeQuestionsRequest>,
    ) -> Result<Response<ListChallengeQuestionsResponse>, Status> {
        let questions = self
            .flows
            .accounts()
            .questions()
            .iter()
            .map(convert::question)
            .collect();
        metrics::counter!("claimd_rpc_requests_total", "rpc" => "ListChallengeQuestions", "outcome" => "ok")
            .increment(1);
        Ok(Response::new(ListChallengeQuestionsResponse { questions }))
    }

    #[instrument(
        skip_all,
        fields(rpc = "ClaimAccount", client = field::Empty, employee_id = field::Empty, username = field::Empty, outcome = field::Empty)
    )]
    async fn claim_account(
        &self,
        request: Request<ClaimAccountRequest>,
    ) -> Result<Response<ClaimAccountResponse>, Status> {
        let receipt = self
            .call("ClaimAccount", request, |flows, m, client, by| async move {
                flows.claim_by(convert::claim_request(m), client, by).await
            })
            .await?;
        let username = receipt.username.to_string();
        Ok(Response::new(ClaimAccountResponse {
            message: format!("Please retain your username for future use: {username}"),
            username,
            operation: Some(convert::operation(&receipt.operation)),
        }))
    }

    #[instrument(skip_all, fields(rpc = "GetOperation", operation = field::Empty, outcome = field::Empty))]
    async fn get_operation(
        &self,
        request: Request<GetOperationRequest>,
    ) -> Result<Response<GetOperationResponse>, Status> {
        let started = Instant::now();
        let id = request.into_inner().id;
        let result = self.flows.accounts().operation(&id).await;
        finish("GetOperation", started, &result);
        let op = result.map_err(to_status)?;
        tracing::Span::current().record("operation", field::display(op.id));
        Ok(Response::new(GetOperationResponse {
            operation: Some(convert::operation(&op)),
        }))
    }

    #[instrument(skip_all, fields(rpc = "RecoverUsername", client = field::Empty, outcome = field::Empty))]
    async fn recover_username(
        &self,
        request: Request<RecoverUsernameRequest>,
    ) -> Result<Response<RecoverUsernameResponse>, Status> {
        self.call(
            "RecoverUsername",
            request,
            |flows, m, client, _| async move { flows.recover_username(&m.email, client).await },
        )
        .await?;
        Ok(Response::new(RecoverUsernameResponse {}))
    }

    #[instrument(skip_all, fields(rpc = "BeginPasswordReset", client = field::Empty, outcome = field::Empty))]
    async fn begin_password_reset(
        &self,
        request: Request<BeginPasswordResetRequest>,
    ) -> Result<Response<BeginPasswordResetResponse>, Status> {
        let questions = self
            .call("BeginPasswordReset", request, |flows, m, client, _| async move {
                flows.reset_questions(&m.username, client).await
            })
            .await?
            .iter()
            .map(convert::question)
            .collect();
        Ok(Response::new(BeginPasswordResetResponse { questions }))
    }

    #[instrument(
        skip_all,
        fields(rpc = "CompletePasswordReset", client = field::Empty, username = field::Empty, outcome = field::Empty)
    )]
    async fn complete_password_reset(
        &self,
        request: Request<CompletePasswordResetRequest>,
    ) -> Result<Response<CompletePasswordResetResponse>, Status> {
        let operation = self
            .call(
                "CompletePasswordReset",
                request,
                |flows, m, client, by| async move {
                    flows
                        .complete_reset_by(convert::reset_request(m), client, by)
                        .await
                },
            )
            .await?;
        Ok(Response::new(CompletePasswordResetResponse {
            operation: Some(convert::operation(&operation)),
        }))
    }

    #[instrument(
        skip_all,
        fields(rpc = "UnlockAccount", client = field::Empty, username = field::Empty, outcome = field::Empty)
    )]
    async fn unlock_account(
        &self,
        request: Request<UnlockAccountRequest>,
    ) -> Result<Response<UnlockAccountResponse>, Status> {
        let operation = self
            .call(
                "UnlockAccount",
                request,
                |flows, m, client, by| async move {
                    flows
                        .unlock_account_by(convert::unlock_request(m), client, by)
                        .await
                },
            )
            .await?;
        Ok(Response::new(UnlockAccountResponse {
            operation: Some(convert::operation(&operation)),
        }))
    }

    #[instrument(
        skip_all,
        fields(rpc = "ChangePassword", client = field::Empty, username = field::Empty, outcome = field::Empty)
    )]
    async fn change_password(
        &self,
        request: Request<ChangePasswordRequest>,
    ) -> Result<Response<ChangePasswordResponse>, Status> {
        let receipt = self
            .call(
                "ChangePassword",
                request,
                |flows, m, client, by| async move {
                    flows
                        .change_password_by(convert::change_request(m), client, by)
                        .await
                },
            )
            .await?;
        Ok(Response::new(ChangePasswordResponse {
            operation: Some(convert::operation(&receipt.operation)),
            current_password_expired: receipt.current_password_expired,
        }))
    }

    #[instrument(
        skip_all,
        fields(rpc = "UpdateChallengeAnswers", client = field::Empty, username = field::Empty, outcome = field::Empty)
    )]
    async fn update_challenge_answers(
        &self,
        request: Request<UpdateChallengeAnswersRequest>,
    ) -> Result<Response<UpdateChallengeAnswersResponse>, Status> {
        self.call(
            "UpdateChallengeAnswers",
            request,
            |flows, m, client, by| async move {
                flows
                    .update_answers_by(convert::update_answers_request(m), client, by)
                    .await
            },
        )
        .await?;
        Ok(Response::new(UpdateChallengeAnswersResponse {}))
    }

    #[instrument(skip_all, fields(rpc = "OpenWorkOrder", client = field::Empty, outcome = field::Empty))]
    async fn open_work_order(
        &self,
        request: Request<OpenWorkOrderRequest>,
    ) -> Result<Response<OpenWorkOrderResponse>, Status> {
        self.call("OpenWorkOrder", request, |flows, m, client, _| async move {
            flows
                .work_order(convert::work_order_request(m), client)
                .await
        })
        .await?;
        Ok(Response::new(OpenWorkOrderResponse {}))
    }

    type WatchOperationStream = WatchStream;

    #[instrument(skip_all, fields(rpc = "WatchOperation", operation = field::Empty))]
    async fn watch_operation(
        &self,
        request: Request<WatchOperationRequest>,
    ) -> Result<Response<Self::WatchOperationStream>, Status> {
        // A trusted proxy's own watches (the DMZ portal following a claim it sent) name no
        // visitor: they count against the server's bound only.
        let client = match self.client_address(&request) {
            Err(ClientAddressError::Missing) => None,
            other => other.map_err(refused)?,
        };
        let id = request.into_inner().id;
        // Each watch holds a task and a channel: bounded, and refused cheaply past the bound.
        let Some(permit) = self.watches.open(client) else {
            metrics::counter!("claimd_rpc_requests_total", "rpc" => "WatchOperation", "outcome" => "busy")
                .increment(1);
            return Err(to_status(Error::Busy {
                retry_after: WATCH_RETRY,
            }));
        };
        // Unknown or malformed ids fail the call itself, before any stream starts.
        let first = self
            .flows
            .accounts()
            .operation(&id)
            .await
            .map_err(to_status)?;
        tracing::Span::current().record("operation", field::display(first.id));
        let (tx, rx) = mpsc::channel(4);
        let flows = self.flows.clone();
        let Drain {
            shutdown,
            work_done,
        } = self.drain.clone();
        tokio::spawn(
            async move {
                let _permit = permit;
                // At shutdown the job in hand is still finished, so a watcher keeps watching
                // until it is (or a while) and sees its end; then it is told to watch again.
                let drained = async {
                    shutdown.cancelled().await;
                    tokio::select! {
                        () = work_done.cancelled() => {}
                        () = tokio::time::sleep(WATCH_DRAIN) => {}
                    }
                };
                tokio::pin!(drained);
                let mut current = first;
                loop {
                    let response = WatchOperationResponse { operation: Some(convert::operation(&current)) };
                    if tx.send(Ok(response)).await.is_err() || current.state.is_final() {
                        return;
                    }
                    tokio::select! {
                        () = &mut drained => {
                            if let Ok(op) = flows.accounts().operation(&id).await
                                && op.state.is_final()
                            {
                                let response = WatchOperationResponse { operation: Some(convert::operation(&op)) };
                                let _ = tx.send(Ok(response)).await;
                                return;
                            }
                            let _ = tx.send(Err(Status::unavailable("the server is shutting down; watch again"))).await;
                            return;
                        }
                        () = tx.closed() => return,
                        next = flows.next(&id, Some(&current), far_future()) => match next {
                            Ok(op) => current = op,
                            Err(e) => {
                                warn!(error = %e, "watch could not read the operation");
                                let _ = tx.send(Err(to_status(e))).await;
                                return;
                            }
                        },
                    }
                }
            }
            .in_current_span(),
        );
        Ok(Response::new(
            Box::pin(ReceiverStream::new(rx)) as WatchStream
        ))
    }
}
