//! What every page shares: inputs and the error summary as templates draw them, rendering,
//! the CSRF cookie, the pages for refusals, the index and the stylesheet.

use std::sync::Arc;

use askama::Template;
use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use claimd_core::Error;

use crate::{Portal, PortalSettings, csrf::COOKIE, lang::Lang};

/// One text input, as the template draws it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) label: &'static str,
    pub(crate) hint: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) autocomplete: &'static str,
    pub(crate) inputmode: &'static str,
    pub(crate) value: String,
    pub(crate) error: Option<String>,
    /// For a new password: the fewest characters (the page's script checks it as typed).
    pub(crate) min: usize,
}

/// The message for the form field `name` among the refused fields, if it was refused.
pub(crate) fn error_for(errors: &[(String, String)], name: &str) -> Option<String> {
    errors
        .iter()
        .find(|(field, _)| field == name)
        .map(|(_, message)| message.clone())
}

/// The refused fields as the error summary lists them.
pub(crate) fn summary_of(errors: Vec<(String, String)>) -> Vec<SummaryItem> {
    errors
        .into_iter()
        .map(|(field, message)| SummaryItem { field, message })
        .collect()
}

/// A line of the error summary, linking to its field.
#[derive(Clone, Debug)]
pub(crate) struct SummaryItem {
    pub(crate) field: String,
    pub(crate) message: String,
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    site: &'a PortalSettings,
    lang: &'a Lang,
    heading: &'static str,
    lines: Vec<String>,
    next_href: &'static str,
    next_label: &'static str,
}

pub(crate) fn render(page: impl Template) -> Response {
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page did not render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub(crate) async fn index(State(portal): State<Arc<Portal>>, lang: Lang) -> Response {
    render(IndexPage {
        site: &portal.settings,
        lang,
    })
}

/// The district's logo (`portal.logo_file`), or 404 when none is configured.
pub(crate) async fn logo(State(portal): State<Arc<Portal>>) -> Response {
    match &portal.settings.logo {
        Some((content_type, bytes)) => {
            ([(header::CONTENT_TYPE, *content_type)], bytes.clone()).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The icon browsers ask every site for: the district's logo, else a plain person icon in
/// the pages' accent colour (without it, every visit logs a 404 in the browser).
pub(crate) async fn favicon(State(portal): State<Arc<Portal>>) -> Response {
    match &portal.settings.logo {
        Some((content_type, bytes)) => {
            ([(header::CONTENT_TYPE, *content_type)], bytes.clone()).into_response()
        }
        None => (
            [(header::CONTENT_TYPE, "image/svg+xml")],
            include_str!("../static/favicon.svg"),
        )
            .into_response(),
    }
}

/// Optional help while typing a password (the pages work without it).
pub(crate) async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/portal.js"),
    )
        .into_response()
}

pub(crate) async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/portal.css"),
    )
        .into_response()
}

pub(crate) fn with_cookie(mut response: Response, nonce: &str) -> Response {
    let cookie = format!("{COOKIE}={nonce}; Path=/; HttpOnly; SameSite=Strict");
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub(crate) fn message_for(site: &PortalSettings, lang: &Lang, error: &Error) -> Response {
    let (status, heading, lines, next_href, next_label) = match error {
        Error::AlreadyClaimed => (
            StatusCode::OK,
            lang.t("This account has already been claimed"),
            vec![lang.t("If it was you, use Forgot My Username or Forgot My Password.").to_owned()],
            "/forgot-password",
            lang.t("Forgot My Password"),
        ),
        Error::ClaimPending => (
            StatusCode::OK,
            lang.t("This account is being created"),
            vec![
                lang.t("A claim of this account is being completed. Try again in a few minutes.")
                    .to_owned(),
            ],
            "/",
            lang.t("Back to the start"),
        ),
        Error::DirectoryLocked => (
            StatusCode::OK,
            lang.t("Your account is locked"),
            vec![
                lang.t("The district's directory locked your account after too many wrong passwords, perhaps at a computer or on the Wi-Fi.")
                    .to_owned(),
                lang.t("Unlock My Account lifts the lock with your challenge answers; your password stays the same.")
                    .to_owned(),
            ],
            "/unlock",
            lang.t("Unlock My Account"),
        ),
        Error::LockedOut { retry_after } | Error::Busy { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            lang.t("Please wait before trying again"),
            vec![lang.f(
                "There have been too many attempts, or the service is busy. Try again in {n} minute(s).",
                retry_after.as_secs().div_ceil(60).max(1),
            )],
            "/work-order?topic=locked",
            lang.t("Ask the Technology Support Center for help"),
        ),
        // Each page handles the refusals it expects (fields, no match, wrong secrets)
        // itself; here they, and the faults, say the request was not done. Listed one by
        // one: a new error must be placed, not fall through unseen.
        Error::InvalidArgument { .. }
        | Error::NoRosterMatch
        | Error::OperationNotFound
        | Error::Unauthenticated
        | Error::DirectoryUnavailable
        | Error::Unavailable
        | Error::Internal
        // The helpdesk's own, which its pages place themselves.
        | Error::PersonNotFound
        | Error::Privileged
        | Error::NotApplicable { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            lang.t("Something went wrong"),
            vec![lang.t("Your request was not completed. Please try again in a few minutes.").to_owned()],
            "/",
            lang.t("Back to the start"),
        ),
    };
    let page = MessagePage {
        site,
        lang,
        heading,
        lines,
        next_href,
        next_label,
    };
    (status, render(page)).into_response()
}

/// The browser's address: the peer's, or, behind the district's reverse proxy (a trusted
/// proxy in `portal.trusted_proxies`), the one it forwards in `X-Forwarded-For`. Every
/// attempt limit counts against it, so it must be the person's, not the proxy's.
pub(crate) fn client(
    portal: &crate::Portal,
    lang: &Lang,
    peer: std::net::SocketAddr,
    headers: &axum::http::HeaderMap,
) -> Result<Option<std::net::IpAddr>, Box<Response>> {
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| v.to_str().ok());
    portal
        .settings
        .clients
        .client(Some(peer.ip()), forwarded)
        .map_err(|e| {
            tracing::warn!(error = %e, "request from a trusted proxy refused");
            Box::new(
                (
                    StatusCode::BAD_REQUEST,
                    lang.t("The proxy in front of this site did not say who you are."),
                )
                    .into_response(),
            )
        })
}

/// How long a finish page waits for the directory write before showing progress: the write
/// usually takes a tenth of a second, so most people see the result at once.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(1500);

/// What a finish page shows for operation `id`: its state once final or after a moment, or
/// pending while the service cannot be asked (the request was accepted, so the page keeps
/// refreshing instead of sending the person back to a form that would now say "already
/// claimed"). `None` only for an id that is not an operation.
pub(crate) async fn progress(portal: &Portal, id: &str) -> Option<claimd_core::Operation> {
    let deadline = tokio::time::Instant::now() + SETTLE;
    match portal.flows.wait_for(id, deadline).await {
        Ok(operation) => Some(operation),
        Err(Error::OperationNotFound | Error::InvalidArgument { .. }) => None,
        Err(error) => {
            tracing::warn!(error = %error, "operation not read; showing it as pending");
            let id = claimd_core::OperationId::parse(id).ok()?;
            Some(claimd_core::Operation {
                id,
                state: claimd_core::OperationState::Pending,
                reason: None,
            })
        }
    }
}

/// A password input; a new password carries the district's minimum for the page's script.
pub(crate) fn password_field(
    name: &'static str,
    label: &'static str,
    autocomplete: &'static str,
    error: Option<String>,
    min: usize,
) -> Field {
    Field {
        name,
        label,
        kind: "password",
        autocomplete,
        error,
        min: if autocomplete == "new-password" {
            min
        } else {
            0
        },
        ..Field::default()
    }
}

/// The three question lists and their answers, with the questions already chosen.
pub(crate) fn question_picks(
    lang: &Lang,
    chosen: [&str; 3],
    error: impl Fn(&str) -> Option<String>,
) -> Vec<crate::claim::Pick> {
    const QUESTIONS: [&str; 3] = ["question_1", "question_2", "question_3"];
    const ANSWERS: [&str; 3] = ["answer_1", "answer_2", "answer_3"];
    (0..3)
        .map(|i| crate::claim::Pick {
            select: Field {
                name: QUESTIONS[i],
                value: chosen[i].to_owned(),
                error: error(QUESTIONS[i]),
                ..Field::default()
            },
            answer: Field {
                name: ANSWERS[i],
                label: lang.t("Your answer"),
                kind: "text",
                autocomplete: "off",
                error: error(ANSWERS[i]),
                ..Field::default()
            },
        })
        .collect()
}

/// The three `question_n` / `answer_n` pairs a form posts (flattened into each form).
#[derive(Default, serde::Deserialize)]
pub(crate) struct Picked {
    #[serde(default)]
    question_1: String,
    #[serde(default)]
    question_2: String,
    #[serde(default)]
    question_3: String,
    #[serde(default)]
    answer_1: secrecy::SecretString,
    #[serde(default)]
    answer_2: secrecy::SecretString,
    #[serde(default)]
    answer_3: secrecy::SecretString,
}

impl Picked {
    /// The questions chosen, to show them again.
    pub(crate) fn questions(&self) -> [String; 3] {
        [
            self.question_1.clone(),
            self.question_2.clone(),
            self.question_3.clone(),
        ]
    }

    /// The pairs as the flows take them.
    pub(crate) fn into_typed(self) -> Vec<claimd_core::TypedAnswer> {
        [
            (self.question_1, self.answer_1),
            (self.question_2, self.answer_2),
            (self.question_3, self.answer_3),
        ]
        .into_iter()
        .map(|(question_id, answer)| claimd_core::TypedAnswer {
            question_id,
            answer,
        })
        .collect()
    }
}

/// What a refused field is called in its message.
fn field_label(lang: &Lang, field: &str) -> Option<&'static str> {
    Some(match field {
        "last_name" => lang.t("Last name"),
        "first_name" => lang.t("First name"),
        "employee_id" => lang.t("Employee ID"),
        "claim_code" => lang.t("Claim code"),
        "verification_code" => lang.t("Verification code"),
        "password" => lang.t("Password"),
        "password_confirm" => lang.t("Password again"),
        "current_password" => lang.t("Your password now"),
        "new_password" => lang.t("New password"),
        "new_password_confirm" => lang.t("New password again"),
        "username" => lang.t("Username"),
        "email" => lang.t("Email"),
        "details" => lang.t("What happened"),
        "answer_1" => lang.t("Answer 1"),
        "answer_2" => lang.t("Answer 2"),
        "answer_3" => lang.t("Answer 3"),
        "question_1" => lang.t("Question 1"),
        "question_2" => lang.t("Question 2"),
        "question_3" => lang.t("Question 3"),
        "reason" => lang.t("Reason"),
        "query" => lang.t("Search"),
        _ => return None,
    })
}

/// A refused form field's message, as a sentence beside it and in the summary:
/// "Last name must be at most 100 characters." (English reads the rule as a predicate;
/// Spanish as "Apellido: debe …").
pub(crate) fn refusal(lang: &Lang, field: &str, rule: claimd_core::Rule) -> String {
    let label = field_label(lang, field).map_or_else(|| field.replace('_', " "), str::to_owned);
    let rule = lang.field_rule(rule);
    if lang.code() == "en" && (rule.starts_with("must") || rule.starts_with("is ")) {
        format!("{label} {rule}.")
    } else {
        format!("{label}: {rule}.")
    }
}

/// The service's refused fields as the form's fields (`answers[1].answer` is `answer_2`,
/// and `rename` maps the rest), each with its message.
pub(crate) fn refusals(
    lang: &Lang,
    violations: Vec<claimd_core::FieldViolation>,
    rename: impl Fn(&str) -> Option<&'static str>,
) -> Vec<(String, String)> {
    violations
        .into_iter()
        .map(|v| {
            let field = form_field(&v.field, &rename);
            let message = refusal(lang, &field, v.rule);
            (field, message)
        })
        .collect()
}

/// An API field name as the form's.
fn form_field(api: &str, rename: impl Fn(&str) -> Option<&'static str>) -> String {
    if let Some(rest) = api.strip_prefix("answers[")
        && let Some(i) = rest.chars().next().and_then(|d| d.to_digit(10))
    {
        let what = if rest.ends_with("question_id") {
            "question"
        } else {
            "answer"
        };
        return format!("{what}_{}", i + 1);
    }
    if let Some(renamed) = rename(api) {
        return renamed.to_owned();
    }
    match api {
        "answers" => "question_1".into(),
        other => other.into(),
    }
}
