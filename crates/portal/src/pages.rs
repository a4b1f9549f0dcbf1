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

use crate::{Portal, PortalSettings, csrf::COOKIE};

/// What a POST without its form's token gets.
pub(crate) const EXPIRED: &str =
    "This form has expired or did not come from this site. Go back, reload the page and try again.";

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
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    site: &'a PortalSettings,
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

pub(crate) async fn index(State(portal): State<Arc<Portal>>) -> Response {
    render(IndexPage {
        site: &portal.settings,
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

pub(crate) fn message_for(site: &PortalSettings, error: &Error) -> Response {
    let (status, heading, lines, next_href, next_label) = match error {
        Error::AlreadyClaimed => (
            StatusCode::OK,
            "This account has already been claimed",
            vec!["If it was you, use Forgot My Username or Forgot My Password.".to_owned()],
            "/forgot-password",
            "Forgot My Password",
        ),
        Error::ClaimPending => (
            StatusCode::OK,
            "This account is being created",
            vec![
                "A claim of this account is being completed. Try again in a few minutes."
                    .to_owned(),
            ],
            "/",
            "Back to the start",
        ),
        Error::LockedOut { retry_after } | Error::Busy { retry_after } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Please wait before trying again",
            vec![format!(
                "There have been too many attempts, or the service is busy. Try again in {} minute(s).",
                retry_after.as_secs().div_ceil(60).max(1)
            )],
            "/work-order?topic=locked",
            "Ask the Technology Support Center for help",
        ),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Something went wrong",
            vec!["Your request was not completed. Please try again in a few minutes.".to_owned()],
            "/",
            "Back to the start",
        ),
    };
    let page = MessagePage {
        site,
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
                    "The proxy in front of this site did not say who you are.",
                )
                    .into_response(),
            )
        })
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
                label: "Your answer",
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
