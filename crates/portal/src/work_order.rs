//! "Can't get in?": a short form whose request is mailed to the Technology Support Center
//! (`portal.support_email`); the person is told to expect email updates from it.

use std::{collections::HashMap, sync::Arc};

use askama::Template;
use axum::{
    extract::{Query, State},
    http::HeaderMap,
    response::Response,
};
use claimd_core::{Error, WorkOrderRequest};
use serde::Deserialize;

use crate::{
    Portal, PortalSettings,
    csrf::CsrfKey,
    lang::Lang,
    pages::{
        Field, SummaryItem, error_for, message_for, refusals, render, summary_of, with_cookie,
    },
    posted::Posted,
};

#[derive(Template)]
#[template(path = "work_order.html")]
struct WorkOrderPage<'a> {
    site: &'a PortalSettings,
    lang: Lang,
    csrf: String,
    topic: String,
    last_name: Field,
    first_name: Field,
    employee_id: Field,
    email: Field,
    details: Field,
    summary: Vec<SummaryItem>,
    sent: bool,
}

/// What the form posts (no secret is asked for).
#[derive(Clone, Default, Deserialize)]
pub(crate) struct WorkOrderForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    topic: String,
    #[serde(default)]
    last_name: String,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    employee_id: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    details: String,
}

fn page<'a>(
    portal: &'a Portal,
    lang: &Lang,
    nonce: &str,
    form: &WorkOrderForm,
    errors: Vec<(String, String)>,
) -> WorkOrderPage<'a> {
    let error = |name: &str| error_for(&errors, name);
    let text = |name, label, autocomplete, value: &str| Field {
        name,
        label,
        kind: "text",
        autocomplete,
        value: value.to_owned(),
        error: error(name),
        ..Field::default()
    };
    let mut email = text(
        "email",
        lang.t("An email address we can answer"),
        "email",
        &form.email,
    );
    email.kind = "email";
    WorkOrderPage {
        site: &portal.settings,
        lang: lang.clone(),
        csrf: portal.csrf.token(nonce),
        topic: form.topic.clone(),
        last_name: text(
            "last_name",
            lang.t("Last name"),
            "family-name",
            &form.last_name,
        ),
        first_name: text(
            "first_name",
            lang.t("First name"),
            "given-name",
            &form.first_name,
        ),
        employee_id: text(
            "employee_id",
            lang.t("Employee ID (if you know it)"),
            "off",
            &form.employee_id,
        ),
        email,
        details: text("details", lang.t("What happened"), "off", &form.details),
        summary: summary_of(errors),
        sent: false,
    }
}

pub(crate) async fn form(
    State(portal): State<Arc<Portal>>,
    lang: Lang,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let nonce = CsrfKey::nonce_for(&headers);
    let form = WorkOrderForm {
        topic: query.get("topic").cloned().unwrap_or_default(),
        ..WorkOrderForm::default()
    };
    with_cookie(
        render(page(&portal, &lang, &nonce, &form, Vec::new())),
        &nonce,
    )
}

pub(crate) async fn submit(
    State(portal): State<Arc<Portal>>,
    Posted {
        form,
        nonce,
        client,
        lang,
    }: Posted<WorkOrderForm>,
) -> Response {
    let request = WorkOrderRequest {
        last_name: form.last_name.clone(),
        first_name: form.first_name.clone(),
        employee_id: form.employee_id.clone(),
        email: form.email.clone(),
        topic: form.topic.clone(),
        details: form.details.clone(),
    };
    match portal.flows.work_order(request, client).await {
        Ok(()) => {
            let mut done = page(&portal, &lang, &nonce, &form, Vec::new());
            done.sent = true;
            render(done)
        }
        Err(Error::InvalidArgument { violations }) => {
            let errors = refusals(&lang, violations, |_| None);
            with_cookie(render(page(&portal, &lang, &nonce, &form, errors)), &nonce)
        }
        Err(error) => message_for(&portal.settings, &lang, &error),
    }
}

impl crate::posted::WithToken for WorkOrderForm {
    fn token(&self) -> &str {
        &self.csrf
    }
}
