//! Forgot My Username: the district email in, the same reply whether or not it is on file;
//! the username goes by mail only to an address on file.

use std::{net::SocketAddr, sync::Arc};

use askama::Template;
use axum::{
    Form,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use claimd_core::Error;
use serde::Deserialize;

use crate::{
    Portal, PortalSettings,
    csrf::{CsrfKey, nonce_from},
    pages::{EXPIRED, Field, message_for, render, with_cookie},
};

#[derive(Template)]
#[template(path = "forgot_username.html")]
struct ForgotUsernamePage<'a> {
    site: &'a PortalSettings,
    csrf: String,
    email: Field,
    sent: bool,
}

/// What the Forgot My Username form posts.
#[derive(Deserialize)]
pub(crate) struct EmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

fn email_field(value: &str, error: Option<String>) -> Field {
    Field {
        name: "email",
        label: "District email address",
        kind: "email",
        autocomplete: "email",
        value: value.to_owned(),
        error,
        ..Field::default()
    }
}

pub(crate) async fn form(State(portal): State<Arc<Portal>>, headers: HeaderMap) -> Response {
    let nonce = CsrfKey::nonce_for(&headers);
    let page = ForgotUsernamePage {
        site: &portal.settings,
        csrf: portal.csrf.token(&nonce),
        email: email_field("", None),
        sent: false,
    };
    with_cookie(render(page), &nonce)
}

/// The same reply whether or not the address is on file (the mail goes only if it is).
pub(crate) async fn submit(
    State(portal): State<Arc<Portal>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<EmailForm>,
) -> Response {
    let Some(nonce) = nonce_from(&headers).filter(|n| portal.csrf.verify(n, &form.csrf)) else {
        return (StatusCode::FORBIDDEN, EXPIRED).into_response();
    };
    let client = match crate::pages::client(&portal, peer, &headers) {
        Ok(client) => client,
        Err(refused) => return *refused,
    };
    let accounts = portal.accounts.clone();
    let email = form.email.trim().to_owned();
    let typed = email.clone();
    let outcome = tokio::spawn(async move { accounts.recover_username(&typed, client).await })
        .await
        .unwrap_or(Err(Error::Internal));
    let error = match outcome {
        Ok(()) => None,
        Err(Error::InvalidArgument { violations }) => violations
            .into_iter()
            .next()
            .map(|v| format!("Email {}.", v.description)),
        Err(error) => return message_for(&portal.settings, &error),
    };
    let sent = error.is_none();
    let page = ForgotUsernamePage {
        site: &portal.settings,
        csrf: portal.csrf.token(&nonce),
        email: email_field(&email, error),
        sent,
    };
    with_cookie(render(page), &nonce)
}
