//! The POSTs of a person's page: `/helpdesk/people/{id}/{unlock|temporary-password|
//! claim-code|release}`, each with a `reason`. Checked in this order: the session, then the
//! person within the helper's sites (so an out-of-scope ID gets the unknown ID's 404 before
//! anything about the request is judged), then the CSRF token, then the reason and the
//! action. A temporary password or a printed claim code is shown once, on this answer only.

use std::sync::Arc;

use askama::Template;
use axum::{
    Form,
    extract::{ConnectInfo, Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use claimd_core::{
    Error,
    helpdesk::{Acting, ReissuedCode},
    store::AuditAction,
};
use secrecy::ExposeSecret;
use serde::Deserialize;

use super::{
    Signed,
    person::{Banner, not_found, person_page},
    signed,
};
use crate::{
    Portal, PortalSettings,
    csrf::nonce_from,
    lang::Lang,
    pages::{refusals, render, with_cookie},
};

#[derive(Deserialize)]
pub(crate) struct ReasonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

#[derive(Template)]
#[template(path = "helpdesk/done.html")]
struct DonePage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
    banner: Banner,
    id: String,
    heading: &'static str,
    lines: Vec<String>,
    /// Shown once: the temporary password.
    password: Option<String>,
    /// Shown once: a claim code to print.
    code: Option<String>,
}

/// The actions a person's page posts to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Action {
    Unlock,
    TemporaryPassword,
    ClaimCode,
    Release,
}

impl Action {
    fn parse(path: &str) -> Option<Self> {
        match path {
            "unlock" => Some(Self::Unlock),
            "temporary-password" => Some(Self::TemporaryPassword),
            "claim-code" => Some(Self::ClaimCode),
            "release" => Some(Self::Release),
            _ => None,
        }
    }

    /// The audit action a refusal of it is recorded under.
    fn audited(self) -> AuditAction {
        match self {
            Self::Unlock => AuditAction::HelpdeskUnlock,
            Self::TemporaryPassword => AuditAction::HelpdeskTemporaryPassword,
            Self::ClaimCode => AuditAction::HelpdeskClaimCode,
            Self::Release => AuditAction::HelpdeskRelease,
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Unlock => "unlock",
            Self::TemporaryPassword => "temporary-password",
            Self::ClaimCode => "claim-code",
            Self::Release => "release",
        }
    }
}

pub(crate) async fn act(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ReasonForm>,
) -> Response {
    let Some(action) = Action::parse(&action) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (signed, client) = match signed(&portal, &lang, &headers, peer).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let acting = signed.acting(client);
    let fresh = crate::csrf::CsrfKey::nonce_for(&headers);
    match signed.desk.in_scope(&acting, &id, action.audited()).await {
        Ok(_) => {}
        Err(Error::PersonNotFound) => return not_found(&portal, &lang, &fresh, &signed),
        Err(error) => return crate::pages::message_for(&portal.settings, &lang, &error),
    }
    let Some(nonce) = nonce_from(&headers).filter(|n| portal.csrf.verify(n, &form.csrf)) else {
        tracing::warn!(
            ?client,
            "helpdesk form refused: its CSRF token does not match its cookie"
        );
        let expired = lang.t("This form has expired or did not come from this site. Go back, reload the page and try again.");
        return (StatusCode::FORBIDDEN, expired).into_response();
    };
    let done = |heading, lines, password, code| DonePage {
        site: &portal.settings,
        lang: lang.clone(),
        banner: Banner::of(&signed, &portal, &nonce),
        id: id.clone(),
        heading,
        lines,
        password,
        code,
    };
    let result = match action {
        Action::Unlock => signed.desk.unlock(&acting, &id, &form.reason).await.map(|job| {
            let mut lines = vec![lang.t("claimd's locks on this person are lifted.").to_owned()];
            if job.is_some() {
                lines.push(lang.t("The directory's lockout is being lifted now; the password stays the same.").to_owned());
            }
            lines.push(lang.t("The person has been sent a notice.").to_owned());
            done(lang.t("The account is unlocked"), lines, None, None)
        }),
        Action::TemporaryPassword => signed
            .desk
            .set_temporary_password(&acting, &id, &form.reason)
            .await
            .map(|set| {
                done(
                    lang.t("A temporary password is being set"),
                    vec![
                        lang.t("Give the person this password. It is shown only now: it cannot be shown again.").to_owned(),
                        lang.t("They must choose a new password when they first sign in with it; they are mailed once it is set.").to_owned(),
                    ],
                    Some(set.password.expose_secret().to_owned()),
                    None,
                )
            }),
        Action::ClaimCode => signed
            .desk
            .reissue_claim_code(&acting, &id, &form.reason)
            .await
            .map(|code| match code {
                ReissuedCode::Mailed { until } => done(
                    lang.t("A new claim code was mailed"),
                    vec![lang.f("It went to the personal address HR gave and works until {n}; the old code no longer works.", until)],
                    None,
                    None,
                ),
                ReissuedCode::Shown { code, until } => done(
                    lang.t("A new claim code"),
                    vec![
                        lang.t("HR gave no personal address: give the person this code yourself. It is shown only now.").to_owned(),
                        lang.f("It works until {n}; the old code no longer works.", until),
                    ],
                    None,
                    Some(code.expose_secret().to_owned()),
                ),
            }),
        Action::Release => signed
            .desk
            .release_claim(&acting, &id, &form.reason)
            .await
            .map(|()| {
                done(
                    lang.t("The claim is released"),
                    vec![
                        lang.t("The person can claim their account again.").to_owned(),
                        lang.t("The person has been sent a notice.").to_owned(),
                    ],
                    None,
                    None,
                )
            }),
    };
    match result {
        Ok(page) => with_cookie(render(page), &nonce),
        Err(Error::InvalidArgument { violations }) => {
            let message = refusals(&lang, violations, |_| None)
                .into_iter()
                .next()
                .map(|(_, m)| m)
                .unwrap_or_default();
            refused(
                &portal, &lang, &nonce, &signed, &acting, &id, action, message,
            )
            .await
        }
        Err(error) => refusal(&portal, &lang, &nonce, &signed, &id, &error),
    }
}

/// The person's page again, with the action's reason refused.
#[allow(clippy::too_many_arguments)]
async fn refused(
    portal: &Portal,
    lang: &Lang,
    nonce: &str,
    signed: &Signed,
    acting: &Acting,
    id: &str,
    action: Action,
    message: String,
) -> Response {
    match signed.desk.look_up(acting, id, None).await {
        Ok(person) => {
            let page = person_page(
                portal,
                lang,
                nonce,
                signed,
                &person,
                Some((action.path(), message)),
            );
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                with_cookie(render(page), nonce),
            )
                .into_response()
        }
        Err(error) => refusal(portal, lang, nonce, signed, id, &error),
    }
}

#[derive(Template)]
#[template(path = "helpdesk/refused.html")]
struct RefusedPage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
    banner: Banner,
    id: String,
    heading: &'static str,
    line: String,
}

/// Why an action was not done, on the helpdesk's own page.
fn refusal(
    portal: &Portal,
    lang: &Lang,
    nonce: &str,
    signed: &Signed,
    id: &str,
    error: &Error,
) -> Response {
    let (status, heading, line) = match error {
        Error::PersonNotFound => return not_found(portal, lang, nonce, signed),
        Error::Privileged => (
            StatusCode::FORBIDDEN,
            lang.t("This account is privileged"),
            lang.t("claimd never acts on an administrator's account. Ask a domain administrator.")
                .to_owned(),
        ),
        Error::NotApplicable { why } => (
            StatusCode::CONFLICT,
            lang.t("This does not apply to this person now"),
            lang.reason(&why.to_string()),
        ),
        error => return crate::pages::message_for(&portal.settings, lang, error),
    };
    let page = RefusedPage {
        site: &portal.settings,
        lang: lang.clone(),
        banner: Banner::of(signed, portal, nonce),
        id: id.to_owned(),
        heading,
        line,
    };
    (status, with_cookie(render(page), nonce)).into_response()
}
