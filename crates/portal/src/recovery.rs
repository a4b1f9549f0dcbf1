//! Forgot My Password and Unlock My Account: the username, then the three questions chosen
//! at claim time (or, for a name nobody claimed, the same stable decoys the API shows) with,
//! for a reset, a new password; then a page that follows the directory write to its end. The
//! two share the proof and so the pages; an unlock sets no password.

use std::{collections::HashMap, sync::Arc};

use askama::Template;
use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
};
use claimd_core::{Error, Operation, OperationState, Question, ResetRequest, UnlockRequest};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{
    Portal, PortalSettings,
    csrf::CsrfKey,
    lang::Lang,
    pages::{
        Field, Picked, SummaryItem, error_for, message_for, password_field, refusals, render,
        summary_of, with_cookie,
    },
    posted::Posted,
};

/// Which of the two pages: what they post to and what the answers prove.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// Forgot My Password: the answers and a new password.
    Reset,
    /// Unlock My Account: the answers only.
    Unlock,
}

impl Purpose {
    fn path(self) -> &'static str {
        match self {
            Self::Reset => "/forgot-password",
            Self::Unlock => "/unlock",
        }
    }
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
    /// Unlock My Account: no new password asked.
    unlock: bool,
    action: &'static str,
    csrf: String,
    username: Field,
    questions: Vec<Question>,
    answers: Vec<Field>,
    /// Asked when the district sends a code to the personal address.
    verification_code: Option<Field>,
    new_password: Field,
    new_password_confirm: Field,
    summary: Vec<SummaryItem>,
    min_password: usize,
}

#[derive(Template)]
#[template(path = "changed.html")]
struct ChangedPage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
    heading: &'static str,
    pending: bool,
    succeeded: bool,
    reason: String,
    /// The old password had expired or had to be changed (the directory said so).
    expired: bool,
}

/// What both steps post; the second carries the questions shown and the answers.
#[derive(Deserialize)]
pub(crate) struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    username: String,
    /// `question_1..3` and `answer_1..3`.
    #[serde(flatten)]
    picked: Picked,
    #[serde(default)]
    verification_code: SecretString,
    #[serde(default)]
    new_password: SecretString,
    #[serde(default)]
    new_password_confirm: SecretString,
}

fn page<'a>(
    portal: &'a Portal,
    purpose: Purpose,
    lang: &Lang,
    nonce: &str,
    username: &str,
    questions: Vec<Question>,
    errors: Vec<(String, String)>,
) -> ResetPage<'a> {
    let error = |name: &str| error_for(&errors, name);
    let min = portal.flows.min_password_chars();
    let secret = |name, label| password_field(name, label, "new-password", error(name), min);
    ResetPage {
        site: &portal.settings,
        lang: lang.clone(),
        unlock: purpose == Purpose::Unlock,
        action: purpose.path(),
        csrf: portal.csrf.token(nonce),
        username: Field {
            name: "username",
            label: lang.t("Username"),
            hint: lang
                .t("e and your employee ID, as on the page you saw when you claimed: e77777."),
            kind: "text",
            autocomplete: "username",
            value: username.to_owned(),
            error: error("username"),
            ..Field::default()
        },
        answers: ["answer_1", "answer_2", "answer_3"]
            .into_iter()
            .map(|name| Field {
                name,
                error: error(name),
                ..Field::default()
            })
            .collect(),
        questions,
        verification_code: portal.settings.second_factor.then(|| Field {
            name: "verification_code",
            label: lang.t("Verification code"),
            hint: lang.t("We sent it to your personal email address, if Human Resources has one: 8 digits, for 10 minutes. Without one, leave this empty."),
            kind: "text",
            autocomplete: "one-time-code",
            inputmode: "numeric",
            error: error("verification_code"),
            ..Field::default()
        }),
        new_password: secret("new_password", lang.t("New password")),
        new_password_confirm: secret("new_password_confirm", lang.t("New password again")),
        summary: summary_of(errors),
        min_password: portal.flows.min_password_chars(),
    }
}

pub(crate) async fn form(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    form_for(&portal, Purpose::Reset, &lang, &headers)
}

pub(crate) async fn unlock_form(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    form_for(&portal, Purpose::Unlock, &lang, &headers)
}

fn form_for(portal: &Portal, purpose: Purpose, lang: &Lang, headers: &HeaderMap) -> Response {
    let nonce = CsrfKey::nonce_for(headers);
    with_cookie(
        render(page(
            portal,
            purpose,
            lang,
            &nonce,
            "",
            Vec::new(),
            Vec::new(),
        )),
        &nonce,
    )
}

pub(crate) async fn submit(state: State<Arc<Portal>>, posted: Posted<ResetForm>) -> Response {
    submit_for(state, Purpose::Reset, posted).await
}

pub(crate) async fn unlock_submit(
    state: State<Arc<Portal>>,
    posted: Posted<ResetForm>,
) -> Response {
    submit_for(state, Purpose::Unlock, posted).await
}

async fn submit_for(
    State(portal): State<Arc<Portal>>,
    purpose: Purpose,
    Posted {
        form,
        nonce,
        client,
        lang,
    }: Posted<ResetForm>,
) -> Response {
    let username = form.username.trim().to_ascii_lowercase();
    // Step one, or a step two that must show its questions again.
    let questions = |errors: Vec<(String, String)>| {
        let (portal, nonce, username, lang) = (&portal, &nonce, &username, &lang);
        async move {
            match portal.flows.reset_questions(username, client).await {
                Ok(questions) => with_cookie(
                    render(page(
                        portal, purpose, lang, nonce, username, questions, errors,
                    )),
                    nonce,
                ),
                Err(Error::InvalidArgument { violations }) => {
                    let errors = refusals(lang, violations, |_| Some("username"));
                    with_cookie(
                        render(page(
                            portal,
                            purpose,
                            lang,
                            nonce,
                            username,
                            Vec::new(),
                            errors,
                        )),
                        nonce,
                    )
                }
                Err(error) => message_for(&portal.settings, lang, &error),
            }
        }
    };
    if form.step != "answers" {
        return questions(Vec::new()).await;
    }
    let answered = match purpose {
        Purpose::Unlock => {
            let request = UnlockRequest {
                username: username.clone(),
                answers: form.picked.into_typed(),
                verification_code: form.verification_code,
            };
            portal
                .flows
                .unlock_account(request, client)
                .await
                .map(|op| format!("/unlock/done?op={}", op.id))
        }
        Purpose::Reset => {
            if form.new_password.expose_secret() != form.new_password_confirm.expose_secret() {
                let mismatch = lang.t("The two passwords are not the same.").to_owned();
                return questions(vec![("new_password_confirm".into(), mismatch)]).await;
            }
            let request = ResetRequest {
                username: username.clone(),
                answers: form.picked.into_typed(),
                new_password: form.new_password,
                verification_code: form.verification_code,
            };
            portal
                .flows
                .complete_reset(request, client)
                .await
                .map(|op| format!("/password/done?op={}", op.id))
        }
    };
    match answered {
        Ok(next) => Redirect::to(&next).into_response(),
        Err(Error::InvalidArgument { violations }) => {
            questions(refusals(&lang, violations, |_| None)).await
        }
        Err(Error::Unauthenticated) => {
            let wrong =
                lang.t("The username or the answers are not right. Check them and try again.");
            questions(vec![(String::new(), wrong.to_owned())]).await
        }
        Err(error) => message_for(&portal.settings, &lang, &error),
    }
}

/// Follows a reset's (or change's) directory write to its end.
pub(crate) async fn done(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(op) = query.get("op") else {
        return Redirect::to("/forgot-password").into_response();
    };
    let Some(operation) = crate::pages::progress(&portal, op).await else {
        return Redirect::to("/forgot-password").into_response();
    };
    let expired = query.get("expired").is_some_and(|v| v == "1");
    render(changed_page(&portal.settings, lang, &operation, expired))
}

/// Follows an unlock's directory write to its end.
pub(crate) async fn unlock_done(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(op) = query.get("op") else {
        return Redirect::to("/unlock").into_response();
    };
    let Some(operation) = crate::pages::progress(&portal, op).await else {
        return Redirect::to("/unlock").into_response();
    };
    let (heading, pending, succeeded) = match operation.state {
        OperationState::Pending => (lang.t("Unlocking your account"), true, false),
        OperationState::Succeeded => (lang.t("Your Account Is Unlocked"), false, true),
        OperationState::Failed => (lang.t("Your account could not be unlocked"), false, false),
    };
    render(UnlockedPage {
        site: &portal.settings,
        reason: lang.reason(operation.reason.as_deref().unwrap_or_default()),
        lang,
        heading,
        pending,
        succeeded,
    })
}

#[derive(Template)]
#[template(path = "unlocked.html")]
struct UnlockedPage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
    heading: &'static str,
    pending: bool,
    succeeded: bool,
    reason: String,
}

/// The finish page of a reset or change whose operation stands at `operation`; `expired`:
/// the directory said the old password had expired or had to be changed.
pub(crate) fn changed_page<'a>(
    site: &'a PortalSettings,
    lang: Lang,
    operation: &Operation,
    expired: bool,
) -> impl Template + 'a {
    let (heading, pending, succeeded) = match operation.state {
        OperationState::Pending => (lang.t("Setting your new password"), true, false),
        OperationState::Succeeded => (lang.t("Your Password Has Been Changed"), false, true),
        OperationState::Failed => (lang.t("Your password could not be changed"), false, false),
    };
    ChangedPage {
        site,
        reason: lang.reason(operation.reason.as_deref().unwrap_or_default()),
        lang,
        heading,
        pending,
        succeeded,
        expired,
    }
}

impl crate::posted::WithToken for ResetForm {
    fn token(&self) -> &str {
        &self.csrf
    }
}
