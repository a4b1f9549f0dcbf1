//! Forgot My Username: the district email in, the same reply whether or not it is on file;
//! the username goes by mail only to an address on file.

use std::sync::Arc;

use askama::Template;
use axum::{extract::State, http::HeaderMap, response::Response};
use claimd_core::Error;
use serde::Deserialize;

use crate::{
    Portal, PortalSettings,
    csrf::CsrfKey,
    lang::Lang,
    pages::{Field, message_for, refusal, render, with_cookie},
    posted::Posted,
};

#[derive(Template)]
#[template(path = "forgot_username.html")]
struct ForgotUsernamePage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
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

fn email_field(lang: &Lang, value: &str, error: Option<String>) -> Field {
    Field {
        name: "email",
        label: lang.t("District email address"),
        kind: "email",
        autocomplete: "email",
        value: value.to_owned(),
        error,
        ..Field::default()
    }
}

pub(crate) async fn form(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    let nonce = CsrfKey::nonce_for(&headers);
    let page = ForgotUsernamePage {
        site: &portal.settings,
        csrf: portal.csrf.token(&nonce),
        email: email_field(&lang, "", None),
        lang,
        sent: false,
    };
    with_cookie(render(page), &nonce)
}

/// The same reply whether or not the address is on file (the mail goes only if it is).
pub(crate) async fn submit(
    State(portal): State<Arc<Portal>>,
    Posted {
        form,
        nonce,
        client,
        lang,
    }: Posted<EmailForm>,
) -> Response {
    let email = form.email.trim().to_owned();
    let error = match portal.flows.recover_username(&email, client).await {
        Ok(()) => None,
        Err(Error::InvalidArgument { violations }) => violations
            .into_iter()
            .next()
            .map(|v| refusal(&lang, "email", v.rule)),
        Err(error) => return message_for(&portal.settings, &lang, &error),
    };
    let sent = error.is_none();
    let page = ForgotUsernamePage {
        site: &portal.settings,
        csrf: portal.csrf.token(&nonce),
        email: email_field(&lang, &email, error),
        lang,
        sent,
    };
    with_cookie(render(page), &nonce)
}

impl crate::posted::WithToken for EmailForm {
    fn token(&self) -> &str {
        &self.csrf
    }
}
