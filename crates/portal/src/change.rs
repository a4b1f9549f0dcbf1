//! Change my password and change my challenge questions: a person who knows the current
//! password (checked by the directory) sets a new one, or three new questions and answers.

use std::sync::Arc;

use askama::Template;
use axum::{
    extract::State,
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
};
use claimd_core::{ChangeRequest, Error, Question, UpdateAnswersRequest};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::{
    Portal, PortalSettings,
    claim::Pick,
    csrf::CsrfKey,
    pages::{
        Field, Picked, SummaryItem, error_for, message_for, password_field, question_picks, render,
        summary_of, with_cookie,
    },
    posted::Posted,
};

#[derive(Template)]
#[template(path = "change.html")]
struct ChangePage<'a> {
    site: &'a PortalSettings,
    heading: &'static str,
    action: &'static str,
    csrf: String,
    username: Field,
    current: Field,
    new_password: Field,
    new_password_confirm: Field,
    /// Empty on the password page; the pool on the questions page.
    questions: Arc<[Question]>,
    picks: Vec<Pick>,
    summary: Vec<SummaryItem>,
    done: bool,
    min_password: usize,
}

/// What both forms post (each uses its own fields).
#[derive(Deserialize)]
pub(crate) struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    current_password: SecretString,
    #[serde(default)]
    new_password: SecretString,
    #[serde(default)]
    new_password_confirm: SecretString,
    /// `question_1..3` and `answer_1..3`.
    #[serde(flatten)]
    picked: Picked,
}

/// Which of the two pages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Password,
    Questions,
}

fn page<'a>(
    portal: &'a Portal,
    kind: Kind,
    nonce: &str,
    username: &str,
    chosen: [&str; 3],
    questions: Arc<[Question]>,
    errors: Vec<(String, String)>,
) -> ChangePage<'a> {
    let error = |name: &str| error_for(&errors, name);
    let min = portal.accounts.min_password_chars();
    let secret =
        |name, label, autocomplete| password_field(name, label, autocomplete, error(name), min);
    let picks = question_picks(chosen, error);
    let (heading, action) = match kind {
        Kind::Password => ("Change My Password", "/change-password"),
        Kind::Questions => ("Change My Challenge Questions", "/challenge-questions"),
    };
    ChangePage {
        site: &portal.settings,
        heading,
        action,
        csrf: portal.csrf.token(nonce),
        username: Field {
            name: "username",
            label: "Username",
            kind: "text",
            autocomplete: "username",
            value: username.to_owned(),
            error: error("username"),
            ..Field::default()
        },
        current: secret("current_password", "Your password now", "current-password"),
        new_password: secret("new_password", "New password", "new-password"),
        new_password_confirm: secret("new_password_confirm", "New password again", "new-password"),
        questions,
        picks,
        summary: summary_of(errors),
        done: false,
        min_password: portal.accounts.min_password_chars(),
    }
}

/// The page, with the pool of questions when it is the questions page; `done` says the
/// change was made (and the form is not shown again).
async fn shown(
    portal: &Portal,
    kind: Kind,
    nonce: &str,
    username: &str,
    chosen: [&str; 3],
    errors: Vec<(String, String)>,
    done: bool,
) -> Response {
    let questions = match kind {
        Kind::Password => Arc::from(Vec::new()),
        Kind::Questions => match portal.accounts.questions().await {
            Ok(questions) => questions,
            Err(error) => return message_for(&portal.settings, &error),
        },
    };
    let mut shown = page(portal, kind, nonce, username, chosen, questions, errors);
    shown.done = done;
    if done {
        render(shown)
    } else {
        with_cookie(render(shown), nonce)
    }
}

async fn blank(portal: &Portal, kind: Kind, headers: &HeaderMap) -> Response {
    let nonce = CsrfKey::nonce_for(headers);
    shown(portal, kind, &nonce, "", ["", "", ""], Vec::new(), false).await
}

pub(crate) async fn password_form(
    State(portal): State<Arc<Portal>>,
    headers: HeaderMap,
) -> Response {
    blank(&portal, Kind::Password, &headers).await
}

pub(crate) async fn questions_form(
    State(portal): State<Arc<Portal>>,
    headers: HeaderMap,
) -> Response {
    blank(&portal, Kind::Questions, &headers).await
}

/// The API's field names as the form's (`answers[0].answer` is `answer_1`).
fn form_field(api: &str, kind: Kind) -> String {
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
    match (api, kind) {
        ("answers", _) => "question_1".into(),
        ("password", Kind::Questions) => "current_password".into(),
        (other, _) => other.into(),
    }
}

pub(crate) async fn password_submit(
    State(portal): State<Arc<Portal>>,
    posted: Posted<ChangeForm>,
) -> Response {
    submit(portal, posted, Kind::Password).await
}

pub(crate) async fn questions_submit(
    State(portal): State<Arc<Portal>>,
    posted: Posted<ChangeForm>,
) -> Response {
    submit(portal, posted, Kind::Questions).await
}

async fn submit(portal: Arc<Portal>, posted: Posted<ChangeForm>, kind: Kind) -> Response {
    let Posted {
        form,
        nonce,
        client,
    } = posted;
    let username = form.username.trim().to_ascii_lowercase();
    let chosen = form.picked.questions();
    let again = |errors: Vec<(String, String)>| {
        let (portal, nonce, username) = (&portal, &nonce, &username);
        let chosen = chosen.clone();
        async move {
            let chosen = [chosen[0].as_str(), chosen[1].as_str(), chosen[2].as_str()];
            shown(portal, kind, nonce, username, chosen, errors, false).await
        }
    };
    if kind == Kind::Password
        && form.new_password.expose_secret() != form.new_password_confirm.expose_secret()
    {
        return again(vec![(
            "new_password_confirm".into(),
            "The two passwords are not the same.".into(),
        )])
        .await;
    }
    let typed = username.clone();
    let outcome = match kind {
        Kind::Password => {
            let request = ChangeRequest {
                username: typed,
                current_password: form.current_password,
                new_password: form.new_password,
            };
            portal
                .accounts
                .change_password(request, client)
                .await
                .map(Some)
        }
        Kind::Questions => {
            let request = UpdateAnswersRequest {
                username: typed,
                password: form.current_password,
                answers: form.picked.into_typed(),
            };
            portal
                .accounts
                .update_answers(request, client)
                .await
                .map(|()| None)
        }
    };
    match outcome {
        Ok(Some(operation)) => {
            Redirect::to(&format!("/password/done?op={operation}")).into_response()
        }
        Ok(None) => {
            shown(
                &portal,
                kind,
                &nonce,
                &username,
                ["", "", ""],
                Vec::new(),
                true,
            )
            .await
        }
        Err(Error::InvalidArgument { violations }) => {
            again(
                violations
                    .into_iter()
                    .map(|v| {
                        let field = form_field(&v.field, kind);
                        let message = format!("{}: {}.", field.replace('_', " "), v.description);
                        (field, message)
                    })
                    .collect(),
            )
            .await
        }
        Err(Error::Unauthenticated) => {
            again(vec![(
                String::new(),
                "The username or the password is not right. Check them and try again.".into(),
            )])
            .await
        }
        Err(error) => message_for(&portal.settings, &error),
    }
}

impl crate::posted::WithToken for ChangeForm {
    fn token(&self) -> &str {
        &self.csrf
    }
}
