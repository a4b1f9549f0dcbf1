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
    lang::Lang,
    pages::{
        Field, Picked, SummaryItem, error_for, message_for, password_field, question_picks,
        refusals, render, summary_of, with_cookie,
    },
    posted::Posted,
};

#[derive(Template)]
#[template(path = "change.html")]
struct ChangePage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
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

/// One of the two pages, for one browser, in its language.
#[derive(Clone, Copy)]
struct View<'a> {
    portal: &'a Portal,
    lang: &'a Lang,
    kind: Kind,
    nonce: &'a str,
}

impl<'a> View<'a> {
    fn page(
        self,
        username: &str,
        chosen: [&str; 3],
        questions: Arc<[Question]>,
        errors: Vec<(String, String)>,
    ) -> ChangePage<'a> {
        let Self {
            portal,
            lang,
            kind,
            nonce,
        } = self;
        let error = |name: &str| error_for(&errors, name);
        let min = portal.flows.min_password_chars();
        let secret =
            |name, label, autocomplete| password_field(name, label, autocomplete, error(name), min);
        let picks = question_picks(lang, chosen, error);
        let (heading, action) = match kind {
            Kind::Password => (lang.t("Change My Password"), "/change-password"),
            Kind::Questions => (
                lang.t("Change My Challenge Questions"),
                "/challenge-questions",
            ),
        };
        ChangePage {
            site: &portal.settings,
            lang: lang.clone(),
            heading,
            action,
            csrf: portal.csrf.token(nonce),
            username: Field {
                name: "username",
                label: lang.t("Username"),
                kind: "text",
                autocomplete: "username",
                value: username.to_owned(),
                error: error("username"),
                ..Field::default()
            },
            current: secret(
                "current_password",
                lang.t("Your password now"),
                "current-password",
            ),
            new_password: secret("new_password", lang.t("New password"), "new-password"),
            new_password_confirm: secret(
                "new_password_confirm",
                lang.t("New password again"),
                "new-password",
            ),
            questions,
            picks,
            summary: summary_of(errors),
            done: false,
            min_password: min,
        }
    }

    /// The page, with the pool of questions when it is the questions page; `done` says the
    /// change was made (and the form is not shown again).
    async fn shown(
        self,
        username: &str,
        chosen: [&str; 3],
        errors: Vec<(String, String)>,
        done: bool,
    ) -> Response {
        let questions = match self.kind {
            Kind::Password => Arc::from(Vec::new()),
            Kind::Questions => match self.portal.flows.questions().await {
                Ok(questions) => questions,
                Err(error) => return message_for(&self.portal.settings, self.lang, &error),
            },
        };
        let mut shown = self.page(username, chosen, questions, errors);
        shown.done = done;
        if done {
            render(shown)
        } else {
            with_cookie(render(shown), self.nonce)
        }
    }
}

async fn blank(portal: &Portal, lang: &Lang, kind: Kind, headers: &HeaderMap) -> Response {
    let nonce = CsrfKey::nonce_for(headers);
    let view = View {
        portal,
        lang,
        kind,
        nonce: &nonce,
    };
    view.shown("", ["", "", ""], Vec::new(), false).await
}

pub(crate) async fn password_form(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    blank(&portal, &lang, Kind::Password, &headers).await
}

pub(crate) async fn questions_form(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    blank(&portal, &lang, Kind::Questions, &headers).await
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
        lang,
    } = posted;
    let username = form.username.trim().to_ascii_lowercase();
    let chosen = form.picked.questions();
    let view = View {
        portal: &portal,
        lang: &lang,
        kind,
        nonce: &nonce,
    };
    let again = |errors: Vec<(String, String)>| {
        let (chosen, username) = (&chosen, &username);
        async move {
            let chosen = [chosen[0].as_str(), chosen[1].as_str(), chosen[2].as_str()];
            view.shown(username, chosen, errors, false).await
        }
    };
    if kind == Kind::Password
        && form.new_password.expose_secret() != form.new_password_confirm.expose_secret()
    {
        return again(vec![(
            "new_password_confirm".into(),
            lang.t("The two passwords are not the same.").into(),
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
                .flows
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
                .flows
                .update_answers(request, client)
                .await
                .map(|()| None)
        }
    };
    match outcome {
        Ok(Some(receipt)) => {
            // The finish page says why the person had to come (Windows: "your password has
            // expired"), when the directory said so.
            let due = if receipt.current_password_expired {
                "&expired=1"
            } else {
                ""
            };
            Redirect::to(&format!("/password/done?op={}{due}", receipt.operation.id))
                .into_response()
        }
        Ok(None) => view.shown(&username, ["", "", ""], Vec::new(), true).await,
        Err(Error::InvalidArgument { violations }) => {
            // UpdateChallengeAnswers calls the current password `password`.
            let rename = |api: &str| (api == "password").then_some("current_password");
            again(refusals(&lang, violations, rename)).await
        }
        Err(Error::Unauthenticated) => {
            again(vec![(
                String::new(),
                lang.t("The username or the password is not right. Check them and try again.")
                    .into(),
            )])
            .await
        }
        Err(error) => message_for(&portal.settings, &lang, &error),
    }
}

impl crate::posted::WithToken for ChangeForm {
    fn token(&self) -> &str {
        &self.csrf
    }
}
