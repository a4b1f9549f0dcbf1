//! The helpdesk's pages (DESIGN.md, "Helpdesk"), served only where the flows run
//! (`claimd run`), never by the DMZ's `claimd portal`: a campus tech signs in with their own
//! directory login (`/helpdesk/login`), finds a person within their sites (`/helpdesk`),
//! sees them (`/helpdesk/people/{id}`) and acts with a reason (`…/unlock`,
//! `…/temporary-password`, `…/claim-code`, `…/release`). The session is an HttpOnly,
//! SameSite=Strict cookie holding a random token the store keeps only hashed (`__Host-` and
//! `Secure` by the pages' HTTPS rule, in `headers`); every form carries a CSRF token. Without
//! a helpdesk configured every path answers 404.

mod actions;
pub(crate) mod es;
mod person;
mod sign_in;

use std::sync::Arc;

use axum::{
    Router,
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use claimd_core::{
    helpdesk::{Acting, Helpdesk},
    store::HelperSession,
};

use crate::{Portal, lang::Lang};

/// The cookie holding the session's token.
const SESSION_COOKIE: &str = "claimd_helpdesk";

/// The routes under `/helpdesk`.
pub(crate) fn routes() -> Router<Arc<Portal>> {
    Router::new()
        .route("/helpdesk", get(person::search))
        .route("/helpdesk/login", get(sign_in::form).post(sign_in::submit))
        .route("/helpdesk/logout", post(sign_in::sign_out))
        .route("/helpdesk/people/{id}", get(person::page))
        .route("/helpdesk/people/{id}/{action}", post(actions::act))
}

/// The session token a request's cookie carries.
fn token_from(headers: &HeaderMap) -> Option<String> {
    crate::csrf::cookie(headers, SESSION_COOKIE)
}

/// The cookie that carries a new session (a browser session's cookie: closing the browser
/// ends it too), or, with no token, the one that ends it.
fn session_cookie(token: Option<&str>) -> HeaderValue {
    let cookie = match token {
        Some(token) => format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict"),
        None => format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    HeaderValue::from_str(&cookie).expect("a token is hex")
}

/// A signed-in helper, from the request's session cookie.
pub(crate) struct Signed {
    pub(crate) desk: Arc<Helpdesk>,
    pub(crate) session: HelperSession,
}

impl Signed {
    /// Who acts, from `client`.
    pub(crate) fn acting(&self, client: Option<std::net::IpAddr>) -> Acting {
        Acting::helper(&self.session, client)
    }
}

/// The helper signed in by the request's cookie, and the browser's address; otherwise the
/// answer to give (404 without a helpdesk, the sign-in page without a session).
pub(crate) async fn signed(
    portal: &Portal,
    lang: &Lang,
    headers: &HeaderMap,
    peer: std::net::SocketAddr,
) -> Result<(Signed, Option<std::net::IpAddr>), Response> {
    let Some(desk) = portal.helpdesk.clone() else {
        return Err(StatusCode::NOT_FOUND.into_response());
    };
    let client = crate::pages::client(portal, lang, peer, headers).map_err(|r| *r)?;
    let session = match token_from(headers) {
        Some(token) => desk.session(&token).await,
        None => Ok(None),
    };
    match session {
        Ok(Some(session)) => Ok((Signed { desk, session }, client)),
        Ok(None) => Err(Redirect::to(&with_lang("/helpdesk/login", lang)).into_response()),
        Err(error) => Err(crate::pages::message_for(&portal.settings, lang, &error)),
    }
}

/// `path` in the page's language (the switch's choice is kept by its cookie too).
fn with_lang(path: &str, lang: &Lang) -> String {
    if lang.code() == "en" {
        path.to_owned()
    } else {
        format!("{path}?lang={}", lang.code())
    }
}

/// A time as the pages show it: `2026-12-06 21:44 UTC`.
pub(crate) fn when(at: claimd_core::store::Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}
