//! `/helpdesk` (find a person by employee ID, username or name, within the helper's sites)
//! and `/helpdesk/people/{id}` (who they are, their claim, their login in the directory,
//! claimd's locks, their recent history, and the actions that apply). An ID outside the
//! helper's sites gets the very page an unknown ID gets.

use std::{collections::HashMap, sync::Arc};

use askama::Template;
use axum::{
    extract::{ConnectInfo, Path, Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use claimd_core::{
    Error, RosterEntry, RosterStatus,
    helpdesk::{ClaimStanding, DirectoryView, PersonView},
    store::AuditRow,
};

use super::{Signed, signed, when};
use crate::{
    Portal, PortalSettings,
    csrf::CsrfKey,
    lang::Lang,
    pages::{Field, SummaryItem, refusals, render, summary_of, with_cookie},
};

/// What every helpdesk page shows in its banner.
pub(crate) struct Banner {
    pub(crate) login: String,
    pub(crate) sites: String,
    pub(crate) csrf: String,
}

impl Banner {
    pub(crate) fn of(signed: &Signed, portal: &Portal, nonce: &str) -> Self {
        Self {
            login: signed.session.login.clone(),
            sites: match &signed.session.sites {
                claimd_core::helpdesk::Sites::All => "*".to_owned(),
                sites => sites.stored().replace(',', ", "),
            },
            csrf: portal.csrf.token(nonce),
        }
    }
}

#[derive(Template)]
#[template(path = "helpdesk/search.html")]
struct SearchPage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
    banner: Banner,
    query: Field,
    searched: bool,
    found: Vec<Found>,
    summary: Vec<SummaryItem>,
}

struct Found {
    id: String,
    name: String,
    username: String,
    site: String,
}

fn found(desk: &claimd_core::helpdesk::Helpdesk, entry: &RosterEntry) -> Found {
    Found {
        id: entry.employee_id.to_string(),
        name: format!(
            "{}, {}",
            entry.last_name.as_str(),
            entry.first_name.as_str()
        ),
        username: desk.username_of(entry.employee_id).to_string(),
        site: entry
            .site
            .as_ref()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
    }
}

pub(crate) async fn search(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (signed, client) = match signed(&portal, &lang, &headers, peer).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let nonce = CsrfKey::nonce_for(&headers);
    let typed = query.get("query").cloned().unwrap_or_default();
    let mut errors = Vec::new();
    let mut results = Vec::new();
    let searched = query.contains_key("query");
    if searched {
        match signed.desk.search(&signed.acting(client), &typed).await {
            Ok(entries) => results = entries.iter().map(|e| found(&signed.desk, e)).collect(),
            Err(Error::InvalidArgument { violations }) => {
                errors = refusals(&lang, violations, |_| None);
            }
            Err(error) => return crate::pages::message_for(&portal.settings, &lang, &error),
        }
    }
    let page = SearchPage {
        site: &portal.settings,
        banner: Banner::of(&signed, &portal, &nonce),
        query: Field {
            name: "query",
            label: lang.t("Employee ID, username or name"),
            kind: "search",
            autocomplete: "off",
            value: typed,
            error: crate::pages::error_for(&errors, "query"),
            ..Field::default()
        },
        lang,
        searched: searched && errors.is_empty(),
        found: results,
        summary: summary_of(errors),
    };
    with_cookie(render(page), &nonce)
}

#[derive(Template)]
#[template(path = "helpdesk/person.html")]
pub(crate) struct PersonPage<'a> {
    pub(crate) site: &'a PortalSettings,
    pub(crate) lang: Lang,
    pub(crate) banner: Banner,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) username: String,
    pub(crate) facts: Vec<(&'static str, String)>,
    pub(crate) privileged: bool,
    pub(crate) actions: Vec<ActionForm>,
    pub(crate) history: Vec<HistoryRow>,
}

/// One action's form on the person's page.
pub(crate) struct ActionForm {
    pub(crate) path: &'static str,
    pub(crate) heading: &'static str,
    pub(crate) what: &'static str,
    pub(crate) button: &'static str,
    /// The reason's refusal, when the form came back with one.
    pub(crate) error: Option<String>,
}

pub(crate) struct HistoryRow {
    at: String,
    action: String,
    actor: String,
    outcome: String,
    reason: String,
}

impl From<&AuditRow> for HistoryRow {
    fn from(row: &AuditRow) -> Self {
        Self {
            at: when(row.at),
            action: row.action.clone(),
            actor: row.actor.clone().unwrap_or_default(),
            outcome: row.outcome.clone(),
            reason: row.reason.clone().unwrap_or_default(),
        }
    }
}

/// The unknown ID's page, also what a person outside the helper's sites gets.
pub(crate) fn not_found(portal: &Portal, lang: &Lang, nonce: &str, signed: &Signed) -> Response {
    let page = NotFoundPage {
        site: &portal.settings,
        lang: lang.clone(),
        banner: Banner::of(signed, portal, nonce),
    };
    (StatusCode::NOT_FOUND, with_cookie(render(page), nonce)).into_response()
}

#[derive(Template)]
#[template(path = "helpdesk/not_found.html")]
struct NotFoundPage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
    banner: Banner,
}

fn yes_no(lang: &Lang, yes: bool) -> String {
    if yes { lang.t("Yes") } else { lang.t("No") }.to_owned()
}

/// The person's page; `refused`: the action whose reason came back refused, and why.
pub(crate) fn person_page<'a>(
    portal: &'a Portal,
    lang: &Lang,
    nonce: &str,
    signed: &Signed,
    person: &PersonView,
    refused: Option<(&str, String)>,
) -> PersonPage<'a> {
    let entry = &person.entry;
    let mut facts = vec![
        (lang.t("Employee ID"), entry.employee_id.to_string()),
        (
            lang.t("Site"),
            entry
                .site
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_else(|| lang.t("None").to_owned()),
        ),
        (lang.t("District email"), entry.email.as_str().to_owned()),
        (
            lang.t("Account claim"),
            match person.claim {
                ClaimStanding::Unclaimed => lang.t("Not claimed yet"),
                ClaimStanding::Pending => lang.t("Claimed; being written to the directory"),
                ClaimStanding::Claimed => lang.t("Claimed"),
                ClaimStanding::Left => lang.t("Left the district"),
            }
            .to_owned(),
        ),
    ];
    match &person.directory {
        DirectoryView::Found(state) => {
            facts.push((lang.t("Login enabled"), yes_no(lang, state.enabled)));
            facts.push((
                lang.t("Locked by the directory"),
                yes_no(lang, state.locked),
            ));
            facts.push((
                lang.t("Password last set"),
                state
                    .password_set_at
                    .map(when)
                    .unwrap_or_else(|| lang.t("Never").to_owned()),
            ));
            facts.push((
                lang.t("Password expires"),
                if state.must_change {
                    lang.t("Must be changed at the next sign-in").to_owned()
                } else {
                    state
                        .password_expires_at
                        .map(when)
                        .unwrap_or_else(|| lang.t("Never").to_owned())
                },
            ));
        }
        DirectoryView::NoEntry => {
            facts.push((lang.t("Directory login"), lang.t("None yet").to_owned()));
        }
        DirectoryView::Unreachable => {
            facts.push((
                lang.t("Directory login"),
                lang.t("The directory cannot be reached right now")
                    .to_owned(),
            ));
        }
    }
    facts.push((
        lang.t("Locked by claimd"),
        match person.locked_until {
            Some(until) => lang.f("Yes, until {n}", when(until)),
            None => lang.t("No").to_owned(),
        },
    ));
    let privileged = person.privileged != Some(false);
    let mut actions = Vec::new();
    if !privileged && entry.status != RosterStatus::Terminated {
        actions.push(ActionForm {
            path: "unlock",
            heading: lang.t("Unlock"),
            what: lang.t("Lifts claimd's locks and the directory's lockout. The password stays."),
            button: lang.t("Unlock the account"),
            error: None,
        });
        if person.claim == ClaimStanding::Claimed {
            actions.push(ActionForm {
                path: "temporary-password",
                heading: lang.t("Temporary password"),
                what: lang.t("Sets a new password, shown to you once, that the person must change at their next sign-in. Their challenge answers stay."),
                button: lang.t("Set a temporary password"),
                error: None,
            });
        }
        if person.claim == ClaimStanding::Unclaimed {
            actions.push(ActionForm {
                path: "claim-code",
                heading: lang.t("Claim code"),
                what: lang.t("Makes a new claim code (the old one stops working): mailed to the personal address HR gave, or shown to you once to print."),
                button: lang.t("Reissue the claim code"),
                error: None,
            });
        }
    }
    // A release touches only claimd's own pending claim: offered even when the directory
    // cannot say whether the account is privileged (it is most needed while it is down).
    if entry.status != RosterStatus::Terminated && person.claim == ClaimStanding::Pending {
        actions.push(ActionForm {
            path: "release",
            heading: lang.t("Release the claim"),
            what: lang
                .t("Gives up a claim stuck while being written, so the person can claim again."),
            button: lang.t("Release the claim"),
            error: None,
        });
    }
    if let Some((path, error)) = refused {
        for action in &mut actions {
            if action.path == path {
                action.error = Some(error.clone());
            }
        }
    }
    PersonPage {
        site: &portal.settings,
        lang: lang.clone(),
        banner: Banner::of(signed, portal, nonce),
        id: entry.employee_id.to_string(),
        name: format!("{} {}", entry.first_name.as_str(), entry.last_name.as_str()),
        username: person.username.to_string(),
        facts,
        privileged,
        actions,
        history: person.audit.iter().map(HistoryRow::from).collect(),
    }
}

pub(crate) async fn page(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    headers: HeaderMap,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    Path(id): Path<String>,
) -> Response {
    let (signed, client) = match signed(&portal, &lang, &headers, peer).await {
        Ok(signed) => signed,
        Err(response) => return response,
    };
    let nonce = CsrfKey::nonce_for(&headers);
    match signed.desk.look_up(&signed.acting(client), &id, None).await {
        Ok(person) => with_cookie(
            render(person_page(&portal, &lang, &nonce, &signed, &person, None)),
            &nonce,
        ),
        Err(Error::PersonNotFound) => not_found(&portal, &lang, &nonce, &signed),
        Err(error) => crate::pages::message_for(&portal.settings, &lang, &error),
    }
}
