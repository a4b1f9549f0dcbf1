//! `/helpdesk/login` and `/helpdesk/logout`: a helper's own directory login name and
//! password open a session (core's `Helpdesk::sign_in` judges them, attempt-limited and
//! below the directory's lockout); sign-out ends it in the store, not only in the browser.

use std::sync::Arc;

use askama::Template;
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use claimd_core::{Error, helpdesk::SignIn};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{session_cookie, token_from, with_lang};
use crate::{
    Portal, PortalSettings,
    csrf::CsrfKey,
    lang::Lang,
    pages::{Field, SummaryItem, password_field, refusals, render, summary_of, with_cookie},
    posted::{Posted, WithToken},
};

#[derive(Template)]
#[template(path = "helpdesk/login.html")]
struct LoginPage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
    csrf: String,
    username: Field,
    password: Field,
    summary: Vec<SummaryItem>,
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: SecretString,
}

impl WithToken for LoginForm {
    fn token(&self) -> &str {
        &self.csrf
    }
}

fn page<'a>(
    portal: &'a Portal,
    lang: &Lang,
    nonce: &str,
    username: &str,
    errors: Vec<(String, String)>,
) -> LoginPage<'a> {
    let error = |name: &str| crate::pages::error_for(&errors, name);
    LoginPage {
        site: &portal.settings,
        lang: lang.clone(),
        csrf: portal.csrf.token(nonce),
        username: Field {
            name: "username",
            label: lang.t("Your directory username"),
            kind: "text",
            autocomplete: "username",
            value: username.to_owned(),
            error: error("username"),
            ..Field::default()
        },
        password: password_field(
            "password",
            lang.t("Your password"),
            "current-password",
            error("password"),
            0,
        ),
        summary: summary_of(errors),
    }
}

pub(crate) async fn form(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    if portal.helpdesk.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let nonce = CsrfKey::nonce_for(&headers);
    with_cookie(render(page(&portal, &lang, &nonce, "", Vec::new())), &nonce)
}

pub(crate) async fn submit(
    State(portal): State<Arc<Portal>>,
    Posted {
        form,
        nonce,
        client,
        lang,
    }: Posted<LoginForm>,
) -> Response {
    let Some(desk) = portal.helpdesk.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let request = SignIn {
        username: form.username.clone(),
        password: SecretString::from(form.password.expose_secret().to_owned()),
    };
    let refused = |errors| {
        with_cookie(
            render(page(&portal, &lang, &nonce, &form.username, errors)),
            &nonce,
        )
    };
    match desk.sign_in(request, client).await {
        Ok(signed_in) => {
            let mut response =
                Redirect::to(&with_lang("/helpdesk", &lang)).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                session_cookie(Some(signed_in.token.expose_secret())),
            );
            response
        }
        Err(Error::InvalidArgument { violations }) => refused(refusals(&lang, violations, |_| None)),
        Err(Error::Unauthenticated) => refused(vec![(
            "password".to_owned(),
            lang.t("The username or password is not correct, or this login is not a member of a helpdesk group.")
                .to_owned(),
        )]),
        Err(error) => crate::pages::message_for(&portal.settings, &lang, &error),
    }
}

#[derive(Deserialize)]
pub(crate) struct SignOutForm {
    #[serde(default)]
    csrf: String,
}

impl WithToken for SignOutForm {
    fn token(&self) -> &str {
        &self.csrf
    }
}

pub(crate) async fn sign_out(
    State(portal): State<Arc<Portal>>,
    headers: HeaderMap,
    Posted { lang, .. }: Posted<SignOutForm>,
) -> Response {
    if let (Some(desk), Some(token)) = (&portal.helpdesk, token_from(&headers))
        && let Err(error) = desk.sign_out(&token).await
    {
        return crate::pages::message_for(&portal.settings, &lang, &error);
    }
    let mut response = Redirect::to(&with_lang("/helpdesk/login", &lang)).into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session_cookie(None));
    response
}
