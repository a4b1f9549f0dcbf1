//! Claim My Account: the form laid out as the district sheet's four steps, its refusals, and
//! the finish page. A refused claim comes back with every non-secret value kept, each bad
//! field explained beside it and in a summary at the top.

use std::{collections::HashMap, sync::Arc};

use askama::Template;
use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use claimd_core::{ClaimRequest, Error, Operation, OperationState, Question};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{
    Portal, PortalSettings,
    csrf::CsrfKey,
    lang::Lang,
    pages::{
        Field, Picked, SummaryItem, error_for, message_for, password_field, question_picks,
        refusals, render, summary_of, with_cookie,
    },
    posted::Posted,
};

/// A question choice and its answer.
#[derive(Clone, Debug)]
pub(crate) struct Pick {
    pub(crate) select: Field,
    pub(crate) answer: Field,
}

#[derive(Template)]
#[template(path = "claim.html")]
struct ClaimPage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
    csrf: String,
    questions: Arc<[Question]>,
    last_name: Field,
    first_name: Field,
    employee_id: Field,
    /// Asked when the district requires claim codes.
    claim_code: Option<Field>,
    password: Field,
    password_confirm: Field,
    picks: Vec<Pick>,
    summary: Vec<SummaryItem>,
    show_work_order: bool,
    min_password: usize,
}

#[derive(Template)]
#[template(path = "done.html")]
struct DonePage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
    heading: &'static str,
    pending: bool,
    succeeded: bool,
    username: String,
    reason: String,
}

/// What the claim form posts. Secrets go straight into `SecretString`.
#[derive(Deserialize)]
pub(crate) struct ClaimForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    employee_id: String,
    #[serde(default)]
    claim_code: SecretString,
    #[serde(default)]
    password: SecretString,
    #[serde(default)]
    password_confirm: SecretString,
    /// `question_1..3` and `answer_1..3`.
    #[serde(flatten)]
    picked: Picked,
}

/// The claim form with its CSRF cookie.
pub(crate) async fn form(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    let nonce = CsrfKey::nonce_for(&headers);
    again(
        &portal,
        &lang,
        &nonce,
        &ClaimValues::default(),
        Vec::new(),
        false,
    )
    .await
}

/// The form (again), with the refused fields explained.
async fn again(
    portal: &Portal,
    lang: &Lang,
    nonce: &str,
    values: &ClaimValues,
    errors: Vec<(String, String)>,
    show_work_order: bool,
) -> Response {
    match portal.flows.questions().await {
        Ok(questions) => with_cookie(
            render(claim_page(
                portal,
                lang,
                nonce,
                values,
                questions,
                errors,
                show_work_order,
            )),
            nonce,
        ),
        Err(error) => message_for(&portal.settings, lang, &error),
    }
}

/// The values typed, kept when the form comes back (never the password or the answers).
#[derive(Default)]
struct ClaimValues {
    last_name: String,
    first_name: String,
    employee_id: String,
    questions: [String; 3],
}

fn claim_page<'a>(
    portal: &'a Portal,
    lang: &Lang,
    nonce: &str,
    values: &ClaimValues,
    questions: Arc<[Question]>,
    errors: Vec<(String, String)>,
    show_work_order: bool,
) -> ClaimPage<'a> {
    let error = |name: &str| error_for(&errors, name);
    let text = |name, label, hint, autocomplete, value: &str| Field {
        name,
        label,
        hint,
        kind: "text",
        autocomplete,
        value: value.to_owned(),
        error: error(name),
        ..Field::default()
    };
    let min = portal.flows.min_password_chars();
    let secret =
        |name, label, autocomplete| password_field(name, label, autocomplete, error(name), min);
    let chosen = [
        values.questions[0].as_str(),
        values.questions[1].as_str(),
        values.questions[2].as_str(),
    ];
    let picks = question_picks(lang, chosen, error);
    let mut employee_id = text(
        "employee_id",
        lang.t("Employee ID"),
        lang.t("Six digits: put 0 before a five-digit ID (077777), 00 before a four-digit one."),
        "off",
        &values.employee_id,
    );
    employee_id.inputmode = "numeric";
    // Never typed back into the form: the code is a secret, like the password.
    let claim_code = portal.settings.claim_code.then(|| {
        text(
            "claim_code",
            lang.t("Claim code"),
            lang.t("From the email or letter Human Resources sent you: 12 letters and digits, such as 7KDM-3QXA-9RFT."),
            "one-time-code",
            "",
        )
    });
    ClaimPage {
        site: &portal.settings,
        lang: lang.clone(),
        csrf: portal.csrf.token(nonce),
        questions,
        last_name: text(
            "last_name",
            lang.t("Last name"),
            "",
            "family-name",
            &values.last_name,
        ),
        first_name: text(
            "first_name",
            lang.t("First name"),
            "",
            "given-name",
            &values.first_name,
        ),
        employee_id,
        claim_code,
        password: secret("password", lang.t("Password"), "new-password"),
        password_confirm: secret("password_confirm", lang.t("Password again"), "new-password"),
        picks,
        summary: summary_of(errors),
        show_work_order,
        min_password: portal.flows.min_password_chars(),
    }
}

/// A five-digit (or shorter) ID as typed from a badge is padded, as the sheet says to.
fn padded_id(typed: &str) -> String {
    let trimmed = typed.trim();
    if !trimmed.is_empty() && trimmed.len() < 6 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        format!("{trimmed:0>6}")
    } else {
        trimmed.to_owned()
    }
}

pub(crate) async fn submit(
    State(portal): State<Arc<Portal>>,
    Posted {
        form,
        nonce,
        client,
        lang,
    }: Posted<ClaimForm>,
) -> Response {
    let values = ClaimValues {
        last_name: form.last_name.clone(),
        first_name: form.first_name.clone(),
        employee_id: padded_id(&form.employee_id),
        questions: form.picked.questions(),
    };
    if form.password.expose_secret() != form.password_confirm.expose_secret() {
        let errors = vec![(
            "password_confirm".to_owned(),
            lang.t("The two passwords are not the same.").to_owned(),
        )];
        return again(&portal, &lang, &nonce, &values, errors, false).await;
    }
    let request = ClaimRequest {
        last_name: form.last_name,
        first_name: form.first_name,
        employee_id: values.employee_id.clone(),
        password: form.password,
        answers: form.picked.into_typed(),
        claim_code: form.claim_code,
    };
    match portal.flows.claim(request, client).await {
        Ok(claimed) => {
            // The finish page shows the username as fact: the link carries it signed, so
            // nobody can make the district's page show another one.
            let (op, user) = (claimed.operation.id, claimed.username);
            let signature = portal.csrf.sign(&format!("{op}/{user}"));
            Redirect::to(&format!("/claim/done?op={op}&u={user}&s={signature}")).into_response()
        }
        Err(Error::InvalidArgument { violations }) => {
            let errors = refusals(&lang, violations, |_| None);
            again(&portal, &lang, &nonce, &values, errors, false).await
        }
        Err(Error::NoRosterMatch) => {
            let errors = vec![(
                String::new(),
                lang.t("We could not find your names and employee ID in the district's records. Check them against your offer letter or badge.")
                    .to_owned(),
            )];
            again(&portal, &lang, &nonce, &values, errors, true).await
        }
        Err(error) => message_for(&portal.settings, &lang, &error),
    }
}

/// The finish page: progress while the directory is written, then the username.
pub(crate) async fn done(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (Some(op), Some(username), Some(signature)) =
        (query.get("op"), query.get("u"), query.get("s"))
    else {
        return Redirect::to("/claim").into_response();
    };
    if !portal.csrf.signed(&format!("{op}/{username}"), signature) {
        return (
            StatusCode::NOT_FOUND,
            lang.t("This link is not one this site made."),
        )
            .into_response();
    }
    let Some(operation) = crate::pages::progress(&portal, op).await else {
        return Redirect::to("/claim").into_response();
    };
    render(done_page(
        &portal.settings,
        lang,
        username.clone(),
        &operation,
    ))
}

/// The finish page of a claim whose operation stands at `operation`.
pub(crate) fn done_page<'a>(
    site: &'a PortalSettings,
    lang: Lang,
    username: String,
    operation: &Operation,
) -> impl Template + 'a {
    let (heading, pending, succeeded) = match operation.state {
        OperationState::Pending => (lang.t("Creating your account"), true, false),
        OperationState::Succeeded => (lang.t("You Have Claimed Your Account"), false, true),
        OperationState::Failed => (lang.t("Your account could not be created"), false, false),
    };
    DonePage {
        site,
        reason: lang.reason(operation.reason.as_deref().unwrap_or_default()),
        lang,
        heading,
        pending,
        succeeded,
        username,
    }
}

impl crate::posted::WithToken for ClaimForm {
    fn token(&self) -> &str {
        &self.csrf
    }
}
