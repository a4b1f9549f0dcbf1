//! AccountService as the account flows ([`AccountFlows`]), over gRPC: what the pages call
//! as `claimd portal` (`[portal] api`), for a district that puts them on a DMZ host while the
//! service, the store and the keys stay inside. Statuses come back as the domain errors they
//! were made from ([`crate::status::from_status`], beside the forward map). Each call forwards the browser's address in `x-forwarded-for`, so the service
//! (which lists this host in `grpc.trusted_proxies`) counts attempts per person, not per
//! portal. Secrets leave their `SecretString` only to be written into the request.

use std::{
    net::IpAddr,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use claimd_api::v1::{
    self, BeginPasswordResetRequest, ChallengeAnswer, ChangePasswordRequest, ClaimAccountRequest,
    CompletePasswordResetRequest, ListChallengeQuestionsRequest, OpenWorkOrderRequest,
    RecoverUsernameRequest, UnlockAccountRequest, UpdateChallengeAnswersRequest,
    WatchOperationRequest, account_service_client::AccountServiceClient,
};
use claimd_core::{
    AccountFlows, ChangeReceipt, ChangeRequest, ClaimReceipt, ClaimRequest, Error, Operation,
    OperationId, OperationState, Question, ResetRequest, TypedAnswer, UnlockRequest,
    UpdateAnswersRequest, Username, WorkOrderRequest,
};
use secrecy::ExposeSecret;
use tokio::sync::OnceCell;
use tonic::{
    metadata::MetadataValue,
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
};

use crate::status::from_status;

/// A call that has not answered after this is given up (the service's own limit is 30 s).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections to the service, each carrying up to its `limits.max_calls_per_connection`.
const CONNECTIONS: usize = 8;

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// How to reach AccountService (`[portal] api` and its TLS files).
#[derive(Clone, Debug, Default)]
pub struct RemoteSettings {
    /// `https://claimd.district.internal:50051` (or `http://` on a trusted network).
    pub url: String,
    /// The CA that signed the service's certificate (required for `https://`).
    pub ca_file: Option<PathBuf>,
    /// This portal's client certificate and key, when the service asks for one.
    pub cert_file: Option<PathBuf>,
    /// The client certificate's key.
    pub key_file: Option<PathBuf>,
    /// The fewest characters of a new password (`accounts.password_min_length`), shown
    /// before typing; the service still judges every password.
    pub min_password_chars: usize,
}

/// Why the client could not be set up; each names its configuration key.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// A key's value is wrong.
    #[error("portal.{key}: {problem}")]
    Setting {
        /// The key under `[portal]`.
        key: &'static str,
        /// What is wrong.
        problem: String,
    },
}

/// AccountService over gRPC.
#[derive(Debug)]
pub struct Remote {
    clients: Vec<AccountServiceClient<Channel>>,
    /// Which connection the next call takes (round robin).
    next: AtomicUsize,
    min_password_chars: usize,
    /// Read on first use (the service may start after the portal), then kept.
    questions: OnceCell<Arc<[Question]>>,
}

fn setting(key: &'static str, problem: impl ToString) -> RemoteError {
    RemoteError::Setting {
        key,
        problem: problem.to_string(),
    }
}

impl Remote {
    /// A client that connects on first use; files are read now, so a bad one stops the start.
    pub fn new(settings: &RemoteSettings) -> Result<Self, RemoteError> {
        let url = settings.url.trim();
        let read = |key, path: &PathBuf| {
            std::fs::read(path)
                .map_err(|e| setting(key, format!("cannot read {}: {e}", path.display())))
        };
        let mut endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|_| {
                setting(
                    "api",
                    format!("{url:?} is not a URL such as https://claimd.district.internal:50051"),
                )
            })?
            .connect_timeout(Duration::from_secs(5))
            .timeout(CALL_TIMEOUT)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(10));
        if url.starts_with("https://") {
            let Some(ca) = &settings.ca_file else {
                return Err(setting("api_ca_file", "is required for an https:// api"));
            };
            let mut tls = ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(read("api_ca_file", ca)?));
            match (&settings.cert_file, &settings.key_file) {
                (Some(cert), Some(key)) => {
                    tls = tls.identity(Identity::from_pem(
                        read("api_cert_file", cert)?,
                        read("api_key_file", key)?,
                    ));
                }
                (None, None) => {}
                (Some(_), None) => {
                    return Err(setting(
                        "api_key_file",
                        "is required with portal.api_cert_file",
                    ));
                }
                (None, Some(_)) => {
                    return Err(setting(
                        "api_cert_file",
                        "is required with portal.api_key_file",
                    ));
                }
            }
            endpoint = endpoint.tls_config(tls).map_err(|e| setting("api", e))?;
        } else if !url.starts_with("http://") {
            return Err(setting("api", format!("{url:?} must start with https://")));
        } else if settings.cert_file.is_some()
            || settings.key_file.is_some()
            || settings.ca_file.is_some()
        {
            return Err(setting(
                "api",
                "TLS files are set but the URL is http://; use https://",
            ));
        } else if !is_loopback(endpoint.uri().host().unwrap_or_default()) {
            // Passwords and answers cross this link: in the clear only within one host.
            return Err(setting(
                "api",
                format!("{url:?} would send passwords unencrypted to another host; use https://"),
            ));
        }
        // Several connections: the service bounds the calls in flight on each one, and a
        // single connection would make that bound the whole portal's.
        let clients = (0..CONNECTIONS)
            .map(|_| AccountServiceClient::new(endpoint.clone().connect_lazy()))
            .collect();
        Ok(Self {
            clients,
            next: AtomicUsize::new(0),
            min_password_chars: settings.min_password_chars,
            questions: OnceCell::new(),
        })
    }

    /// A connection for one call.
    fn client(&self) -> AccountServiceClient<Channel> {
        let at = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len();
        self.clients[at].clone()
    }
}

#[tonic::async_trait]
impl AccountFlows for Remote {
    fn min_password_chars(&self) -> usize {
        self.min_password_chars
    }

    async fn questions(&self) -> Result<Arc<[Question]>, Error> {
        self.questions
            .get_or_try_init(|| async {
                let reply = self
                    .client()
                    .list_challenge_questions(ListChallengeQuestionsRequest {})
                    .await
                    .map_err(|s| from_status(&s))?;
                let questions: Arc<[Question]> = reply
                    .into_inner()
                    .questions
                    .into_iter()
                    .map(question)
                    .collect();
                // A service that answers with no questions is not kept: ask again next time.
                if questions.is_empty() {
                    return Err(Error::Unavailable);
                }
                Ok(questions)
            })
            .await
            .cloned()
    }

    async fn claim(
        &self,
        request: ClaimRequest,
        client: Option<IpAddr>,
    ) -> Result<ClaimReceipt, Error> {
        let message = ClaimAccountRequest {
            last_name: request.last_name,
            first_name: request.first_name,
            employee_id: request.employee_id,
            password: request.password.expose_secret().to_owned(),
            answers: answers(request.answers),
            claim_code: request.claim_code.expose_secret().to_owned(),
        };
        let reply = self
            .client()
            .claim_account(forwarded(message, client))
            .await
            .map_err(|s| from_status(&s))?
            .into_inner();
        Ok(ClaimReceipt {
            username: Username::parse(&reply.username).map_err(|_| Error::Internal)?,
            operation: operation(reply.operation.unwrap_or_default())?,
        })
    }

    /// Follows the operation's watch until it is final or `deadline` has passed.
    async fn wait_for(&self, id: &str, deadline: tokio::time::Instant) -> Result<Operation, Error> {
        let mut stream = self
            .client()
            .watch_operation(WatchOperationRequest { id: id.to_owned() })
            .await
            .map_err(|s| from_status(&s))?
            .into_inner();
        let mut last = None;
        // Until the final state, or the stream ends, fails or runs out of time: what was
        // seen last stands.
        while let Ok(Ok(Some(reply))) = tokio::time::timeout_at(deadline, stream.message()).await {
            let op = reply.operation.map(operation).transpose()?;
            let done = op.as_ref().is_some_and(|op| op.state.is_final());
            last = op.or(last);
            if done {
                break;
            }
        }
        last.ok_or(Error::Unavailable)
    }

    async fn reset_questions(
        &self,
        username: &str,
        client: Option<IpAddr>,
    ) -> Result<Vec<Question>, Error> {
        let message = BeginPasswordResetRequest {
            username: username.to_owned(),
        };
        let reply = self
            .client()
            .begin_password_reset(forwarded(message, client))
            .await
            .map_err(|s| from_status(&s))?;
        Ok(reply
            .into_inner()
            .questions
            .into_iter()
            .map(question)
            .collect())
    }

    async fn complete_reset(
        &self,
        request: ResetRequest,
        client: Option<IpAddr>,
    ) -> Result<Operation, Error> {
        let message = CompletePasswordResetRequest {
            username: request.username,
            answers: answers(request.answers),
            new_password: request.new_password.expose_secret().to_owned(),
            verification_code: request.verification_code.expose_secret().to_owned(),
        };
        let reply = self
            .client()
            .complete_password_reset(forwarded(message, client))
            .await
            .map_err(|s| from_status(&s))?;
        operation(reply.into_inner().operation.unwrap_or_default())
    }

    async fn unlock_account(
        &self,
        request: UnlockRequest,
        client: Option<IpAddr>,
    ) -> Result<Operation, Error> {
        let message = UnlockAccountRequest {
            username: request.username,
            answers: answers(request.answers),
            verification_code: request.verification_code.expose_secret().to_owned(),
        };
        let reply = self
            .client()
            .unlock_account(forwarded(message, client))
            .await
            .map_err(|s| from_status(&s))?;
        operation(reply.into_inner().operation.unwrap_or_default())
    }

    async fn change_password(
        &self,
        request: ChangeRequest,
        client: Option<IpAddr>,
    ) -> Result<ChangeReceipt, Error> {
        let message = ChangePasswordRequest {
            username: request.username,
            current_password: request.current_password.expose_secret().to_owned(),
            new_password: request.new_password.expose_secret().to_owned(),
        };
        let reply = self
            .client()
            .change_password(forwarded(message, client))
            .await
            .map_err(|s| from_status(&s))?
            .into_inner();
        Ok(ChangeReceipt {
            operation: operation(reply.operation.unwrap_or_default())?,
            current_password_expired: reply.current_password_expired,
        })
    }

    async fn update_answers(
        &self,
        request: UpdateAnswersRequest,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        let message = UpdateChallengeAnswersRequest {
            username: request.username,
            password: request.password.expose_secret().to_owned(),
            answers: answers(request.answers),
        };
        self.client()
            .update_challenge_answers(forwarded(message, client))
            .await
            .map_err(|s| from_status(&s))?;
        Ok(())
    }

    async fn recover_username(&self, email: &str, client: Option<IpAddr>) -> Result<(), Error> {
        let email = email.to_owned();
        self.client()
            .recover_username(forwarded(RecoverUsernameRequest { email }, client))
            .await
            .map_err(|s| from_status(&s))?;
        Ok(())
    }

    /// Mailed by the service to its own `portal.support_email`: the DMZ host cannot choose
    /// where mail goes.
    async fn work_order(
        &self,
        request: WorkOrderRequest,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        let message = OpenWorkOrderRequest {
            last_name: request.last_name,
            first_name: request.first_name,
            employee_id: request.employee_id,
            email: request.email,
            topic: request.topic,
            details: request.details,
        };
        self.client()
            .open_work_order(forwarded(message, client))
            .await
            .map_err(|s| from_status(&s))?;
        Ok(())
    }
}

/// The request with the browser's address as a proxy forwards it.
fn forwarded<T>(message: T, client: Option<IpAddr>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(ip) = client
        && let Ok(value) = MetadataValue::try_from(ip.to_string())
    {
        request.metadata_mut().insert("x-forwarded-for", value);
    }
    request
}

fn answers(typed: Vec<TypedAnswer>) -> Vec<ChallengeAnswer> {
    typed
        .into_iter()
        .map(|a| ChallengeAnswer {
            question_id: a.question_id,
            answer: a.answer.expose_secret().to_owned(),
        })
        .collect()
}

fn question(q: v1::ChallengeQuestion) -> Question {
    Question {
        id: q.id,
        text: q.text,
    }
}

fn operation(op: v1::Operation) -> Result<Operation, Error> {
    let state = match v1::OperationState::try_from(op.state) {
        Ok(v1::OperationState::Succeeded) => OperationState::Succeeded,
        Ok(v1::OperationState::Failed) => OperationState::Failed,
        _ => OperationState::Pending,
    };
    Ok(Operation {
        id: OperationId::parse(&op.id).map_err(|_| Error::Internal)?,
        state,
        reason: Some(op.reason).filter(|r| !r.is_empty()),
    })
}
