//! What every form POST goes through before its handler runs: the CSRF check (the cookie's
//! nonce against the form's token) and the browser's address (see [`crate::pages::client`]).
//! One extractor, so a new form cannot forget either.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    Form,
    extract::{ConnectInfo, FromRequest, Request},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

use crate::{Portal, csrf::nonce_from, lang::Lang};

/// A form that carries a CSRF token.
pub(crate) trait WithToken {
    /// The token field's value.
    fn token(&self) -> &str;
}

/// A form whose token matched its cookie, from this browser.
pub(crate) struct Posted<T> {
    /// The fields.
    pub form: T,
    /// The cookie's nonce (the page that answers keeps using it).
    pub nonce: String,
    /// The browser's address, for the attempt limits.
    pub client: Option<std::net::IpAddr>,
    /// The language the answer is drawn in.
    pub lang: Lang,
}

impl<T> FromRequest<Arc<Portal>> for Posted<T>
where
    T: DeserializeOwned + WithToken + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, portal: &Arc<Portal>) -> Result<Self, Response> {
        let nonce = nonce_from(request.headers());
        let lang = Lang::of(
            request.uri().path(),
            request.uri().query(),
            request.headers(),
        );
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| *peer)
            .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        let client =
            crate::pages::client(portal, &lang, peer, request.headers()).map_err(|r| *r)?;
        let path = request.uri().path().to_owned();
        let Form(form) = Form::<T>::from_request(request, portal).await.map_err(|e| {
            // Not its text: a deserializer's message may quote what was typed.
            tracing::warn!(%path, ?client, status = %e.status(), "form refused: not a form of this page");
            e.into_response()
        })?;
        match nonce.filter(|n| portal.csrf.verify(n, form.token())) {
            Some(nonce) => Ok(Self {
                form,
                nonce,
                client,
                lang,
            }),
            None => {
                // Replayed, forged or stale: operators see it (a CSRF attempt shows as many).
                tracing::warn!(%path, ?client, "form refused: its CSRF token does not match its cookie");
                let expired = lang.t("This form has expired or did not come from this site. Go back, reload the page and try again.");
                Err((StatusCode::FORBIDDEN, expired).into_response())
            }
        }
    }
}
