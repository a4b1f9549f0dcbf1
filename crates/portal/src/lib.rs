//! The self-service pages: Claim My Account as the district sheet lays it out (names,
//! employee ID, password, three questions) and its finish page, Forgot My Username, Forgot My
//! Password, Change My Password, Change My Challenge Questions, the work order, the index;
//! English and Spanish. Pages are rendered on the server and work with scripts off; every
//! form carries a CSRF token, every response strict security headers, and no secret ever
//! travels in a URL. The pages know only the port [`claimd_core::AccountFlows`]: the flows in
//! this process under `claimd run`, or AccountService over gRPC (claimd-grpc's `Remote`)
//! under `claimd portal`; either way with the browser's address, so the attempt limits hold
//! exactly as for gRPC callers.

mod change;
mod claim;
mod csrf;
mod es;
mod headers;
mod helpdesk;
mod lang;
mod pages;
mod posted;
mod recovery;
mod username;
mod work_order;

use std::{net::SocketAddr, sync::Arc};

use axum::{Router, routing::get};
use claimd_core::AccountFlows;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use csrf::CsrfKey;

/// The largest form taken: far above any honest form (a work order's 2,000 characters of
/// details), under the service's 64 KiB message limit.
const MAX_FORM_BYTES: usize = 32 * 1024;

/// What the pages say about the district (`[portal]` in the configuration).
#[derive(Clone, Debug, Default)]
pub struct PortalSettings {
    /// Shown in titles and headings: "Example School District".
    pub district_name: String,
    /// The support center's address, shown in the footer.
    pub support_email: String,
    /// The support center's page.
    pub support_url: String,
    /// The knowledge base.
    pub knowledge_base_url: String,
    /// The support phone number.
    pub support_phone: String,
    /// The pages' public address; `https://…` turns on HSTS and `Secure` cookies (so does a
    /// trusted proxy's `X-Forwarded-Proto: https`).
    pub public_url: String,
    /// The reverse proxies whose `X-Forwarded-For` names the browser.
    pub clients: claimd_core::client_address::ClientAddressPolicy,
    /// The district's logo for the page header: its content type and bytes.
    pub logo: Option<(&'static str, Vec<u8>)>,
    /// The claim form asks for the claim code HR sent (`accounts.claim_code = "required"`).
    pub claim_code: bool,
    /// Forgot My Password asks for the code mailed to the personal address
    /// (`recovery.second_factor = "personal_email"`).
    pub second_factor: bool,
}

/// Everything a page needs.
#[derive(Debug)]
pub struct Portal {
    flows: Arc<dyn AccountFlows>,
    settings: PortalSettings,
    csrf: CsrfKey,
    /// The helpdesk's pages' engine; `None`: they answer 404 (not configured, or the DMZ's
    /// `claimd portal`).
    helpdesk: Option<Arc<claimd_core::helpdesk::Helpdesk>>,
}

impl Portal {
    /// The pages over `flows`: the flows in this process, or AccountService over gRPC.
    pub fn new(flows: Arc<dyn AccountFlows>, settings: PortalSettings, csrf: CsrfKey) -> Self {
        Self {
            flows,
            settings,
            csrf,
            helpdesk: None,
        }
    }

    /// Also serves the helpdesk's pages, over `helpdesk` in this process.
    #[must_use]
    pub fn with_helpdesk(self, helpdesk: Arc<claimd_core::helpdesk::Helpdesk>) -> Self {
        Self {
            helpdesk: Some(helpdesk),
            ..self
        }
    }
}

/// The routes: `/`, `/claim`, `/claim/done`, `/forgot-username`, `/healthz`,
/// `/static/portal.css`.
pub fn router(portal: Arc<Portal>) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/claim", get(claim::form).post(claim::submit))
        .route("/claim/done", get(claim::done))
        .route(
            "/forgot-password",
            get(recovery::form).post(recovery::submit),
        )
        .route("/password/done", get(recovery::done))
        .route(
            "/unlock",
            get(recovery::unlock_form).post(recovery::unlock_submit),
        )
        .route("/unlock/done", get(recovery::unlock_done))
        .route(
            "/change-password",
            get(change::password_form).post(change::password_submit),
        )
        .route(
            "/challenge-questions",
            get(change::questions_form).post(change::questions_submit),
        )
        .route(
            "/forgot-username",
            get(username::form).post(username::submit),
        )
        .route(
            "/work-order",
            get(work_order::form).post(work_order::submit),
        )
        .merge(helpdesk::routes())
        .route("/healthz", get(|| async { "ok" }))
        .route("/static/portal.css", get(pages::stylesheet))
        .route("/static/portal.js", get(pages::script))
        .route("/static/logo", get(pages::logo))
        .route("/favicon.ico", get(pages::favicon))
        .layer(axum::middleware::from_fn(lang::remember))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            portal.clone(),
            headers::secure,
        ))
        .with_state(portal)
}

/// Serves the pages on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    portal: Arc<Portal>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let local = listener.local_addr().ok();
    tracing::info!(listen = ?local.map(|a| a.to_string()), "portal listening");
    axum::serve(
        listener,
        router(portal).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await
}
