//! The `HelpdeskService` handlers (DESIGN.md, "Helpdesk"): district tools act on one person
//! with the helpdesk's rules, identified by their TLS client certificate. The certificate's
//! subject is looked up in `[helpdesk] clients`; its sites are the caller's scope, and the
//! request's `actor` (the tool's own user) is named beside it in the audit. No certificate
//! (plain-text gRPC, or TLS without one) is UNAUTHENTICATED before anything else; an unlisted
//! subject is PERMISSION_DENIED.

use std::{sync::Arc, time::Instant};

use claimd_api::v1::{
    AuditEntry, ClaimStanding as WireStanding, DirectoryLogin, HelpdeskUnlockAccountRequest,
    HelpdeskUnlockAccountResponse, LookUpPersonRequest, LookUpPersonResponse, Person,
    ReissueClaimCodeRequest, ReissueClaimCodeResponse, ReleaseClaimRequest, ReleaseClaimResponse,
    SetTemporaryPasswordRequest, SetTemporaryPasswordResponse,
    helpdesk_service_server::HelpdeskService,
};
use claimd_core::{
    Error,
    client_address::ClientAddressPolicy,
    helpdesk::{Acting, ClaimStanding, DirectoryView, Helpdesk, PersonView, ReissuedCode, Sites},
    store::Millis,
};
use secrecy::ExposeSecret;
use tonic::{Request, Response, Status};
use tracing::warn;

use crate::{convert, peer::HelpdeskIssuers, status::to_status};

/// A district tool allowed to call HelpdeskService: its certificate's subject and sites.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelpdeskClient {
    /// The certificate's subject as configured (`CN=ticketing,O=District`).
    pub subject: String,
    /// Whom it may act on.
    pub sites: Sites,
}

/// The service over the helpdesk in this process.
#[derive(Debug)]
pub struct HelpdeskApi {
    desk: Arc<Helpdesk>,
    /// Each client with its configured subject as attributes.
    clients: Vec<(HelpdeskClient, crate::peer::Name)>,
    /// When other client CAs are trusted too: the ones that issue tools' certificates.
    issuers: Option<HelpdeskIssuers>,
    addresses: ClientAddressPolicy,
}

impl HelpdeskApi {
    /// The service for these certificate subjects. `issuers`: the tools' CA, when the TLS
    /// server also trusts another (`grpc.client_ca_file`), so that a certificate of that CA
    /// naming a tool's subject is not taken for the tool.
    pub fn new(
        desk: Arc<Helpdesk>,
        clients: Vec<HelpdeskClient>,
        issuers: Option<HelpdeskIssuers>,
        addresses: ClientAddressPolicy,
    ) -> Self {
        Self {
            desk,
            clients: clients
                .into_iter()
                .map(|c| {
                    let name = crate::peer::configured(&c.subject);
                    (c, name)
                })
                .collect(),
            issuers,
            addresses,
        }
    }

    /// Who calls: their certificate's listed subject with its sites, and `actor` (judged by
    /// the helpdesk once the person is known to be within those sites).
    fn acting<T>(&self, request: &Request<T>, actor: &str) -> Result<Acting, Status> {
        let Some(leaf) = crate::peer::leaf(request) else {
            warn!("HelpdeskService refused: no TLS client certificate");
            return Err(Status::unauthenticated(
                "HelpdeskService needs a TLS client certificate listed in [helpdesk] clients",
            ));
        };
        let listed = crate::peer::subject(&leaf)
            .filter(|_| self.issuers.as_ref().is_none_or(|i| i.issued(&leaf)))
            .and_then(|subject| {
                self.clients
                    .iter()
                    .find(|(_, name)| crate::peer::same(name, &subject))
            });
        let Some((client, _)) = listed else {
            warn!(
                "HelpdeskService refused: the certificate is not a listed tool's (subject or issuing CA)"
            );
            return Err(Status::permission_denied(
                "this client certificate is not listed in [helpdesk] clients, or not issued by helpdesk.client_ca_file",
            ));
        };
        let address = crate::service::client_address(&self.addresses, request)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        Ok(Acting::tool(
            &client.subject,
            actor,
            client.sites.clone(),
            address,
        ))
    }
}

/// Counts and logs one call's outcome as AccountService's calls are, and maps its error.
fn finish<T>(rpc: &'static str, started: Instant, result: Result<T, Error>) -> Result<T, Status> {
    crate::service::finish(rpc, started, &result);
    result.map_err(to_status)
}

fn rfc3339(at: Option<Millis>) -> String {
    at.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn person(view: PersonView) -> Person {
    let entry = view.entry;
    let directory = match view.directory {
        DirectoryView::Found(state) => DirectoryLogin {
            reachable: true,
            found: true,
            enabled: state.enabled,
            locked: state.locked,
            password_set_at: rfc3339(state.password_set_at),
            password_expires_at: rfc3339(state.password_expires_at),
            must_change: state.must_change,
        },
        DirectoryView::NoEntry => DirectoryLogin {
            reachable: true,
            ..DirectoryLogin::default()
        },
        DirectoryView::Unreachable => DirectoryLogin::default(),
    };
    let claim = match view.claim {
        ClaimStanding::Unclaimed => WireStanding::Unclaimed,
        ClaimStanding::Pending => WireStanding::Pending,
        ClaimStanding::Claimed => WireStanding::Claimed,
        ClaimStanding::Left => WireStanding::Left,
    };
    Person {
        employee_id: entry.employee_id.to_string(),
        last_name: entry.last_name.as_str().to_owned(),
        first_name: entry.first_name.as_str().to_owned(),
        email: entry.email.as_str().to_owned(),
        site: entry
            .site
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        username: view.username.to_string(),
        claim: claim.into(),
        directory: Some(directory),
        privileged: view.privileged != Some(false),
        claimd_locked_until: rfc3339(view.locked_until),
        history: view
            .audit
            .into_iter()
            .map(|row| AuditEntry {
                at: rfc3339(Some(row.at)),
                action: row.action,
                actor: row.actor.unwrap_or_default(),
                outcome: row.outcome,
                reason: row.reason.unwrap_or_default(),
            })
            .collect(),
    }
}

#[tonic::async_trait]
impl HelpdeskService for HelpdeskApi {
    async fn look_up_person(
        &self,
        request: Request<LookUpPersonRequest>,
    ) -> Result<Response<LookUpPersonResponse>, Status> {
        let started = Instant::now();
        let acting = self.acting(&request, &request.get_ref().actor)?;
        let r = request.into_inner();
        let reason = (!r.reason.trim().is_empty()).then_some(r.reason.as_str());
        let result = self.desk.look_up(&acting, &r.employee_id, reason).await;
        let view = finish("LookUpPerson", started, result)?;
        Ok(Response::new(LookUpPersonResponse {
            person: Some(person(view)),
        }))
    }

    async fn unlock_account(
        &self,
        request: Request<HelpdeskUnlockAccountRequest>,
    ) -> Result<Response<HelpdeskUnlockAccountResponse>, Status> {
        let started = Instant::now();
        let acting = self.acting(&request, &request.get_ref().actor)?;
        let r = request.into_inner();
        let result = self.desk.unlock(&acting, &r.employee_id, &r.reason).await;
        let operation = finish("HelpdeskUnlockAccount", started, result)?;
        Ok(Response::new(HelpdeskUnlockAccountResponse {
            operation: operation.as_ref().map(convert::operation),
        }))
    }

    async fn set_temporary_password(
        &self,
        request: Request<SetTemporaryPasswordRequest>,
    ) -> Result<Response<SetTemporaryPasswordResponse>, Status> {
        let started = Instant::now();
        let acting = self.acting(&request, &request.get_ref().actor)?;
        let r = request.into_inner();
        let result = self
            .desk
            .set_temporary_password(&acting, &r.employee_id, &r.reason)
            .await;
        let set = finish("SetTemporaryPassword", started, result)?;
        Ok(Response::new(SetTemporaryPasswordResponse {
            temporary_password: set.password.expose_secret().to_owned(),
            operation: Some(convert::operation(&set.operation)),
        }))
    }

    async fn reissue_claim_code(
        &self,
        request: Request<ReissueClaimCodeRequest>,
    ) -> Result<Response<ReissueClaimCodeResponse>, Status> {
        let started = Instant::now();
        let acting = self.acting(&request, &request.get_ref().actor)?;
        let r = request.into_inner();
        let result = self
            .desk
            .reissue_claim_code(&acting, &r.employee_id, &r.reason)
            .await;
        Ok(Response::new(
            match finish("ReissueClaimCode", started, result)? {
                ReissuedCode::Mailed { until } => ReissueClaimCodeResponse {
                    mailed: true,
                    claim_code: String::new(),
                    expires_on: until,
                },
                ReissuedCode::Shown { code, until } => ReissueClaimCodeResponse {
                    mailed: false,
                    claim_code: code.expose_secret().to_owned(),
                    expires_on: until,
                },
            },
        ))
    }

    async fn release_claim(
        &self,
        request: Request<ReleaseClaimRequest>,
    ) -> Result<Response<ReleaseClaimResponse>, Status> {
        let started = Instant::now();
        let acting = self.acting(&request, &request.get_ref().actor)?;
        let r = request.into_inner();
        let result = self
            .desk
            .release_claim(&acting, &r.employee_id, &r.reason)
            .await;
        finish("ReleaseClaim", started, result)?;
        Ok(Response::new(ReleaseClaimResponse {}))
    }
}
