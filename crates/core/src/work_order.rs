//! "Can't get in?": a person whose claim found no roster match, or who is locked out, asks
//! the Technology Support Center for help. The request goes by mail to the support address,
//! through the same durable outbox as every notice, at a rate of its own per client address.

use std::net::IpAddr;

use tracing::info;

use crate::{
    Accounts, Email, Error, PersonName, Rule, Violations,
    attempts::{AuditContext, Subject},
    mail::WorkOrder,
    store::{AuditAction, AuditEvent, AuditOutcome, now_millis},
    text::has_invisible,
};

/// The longest details accepted, in characters.
pub const MAX_DETAILS_CHARS: usize = 2000;

/// A work order as typed.
#[derive(Debug)]
pub struct WorkOrderRequest {
    /// Last name.
    pub last_name: String,
    /// First name.
    pub first_name: String,
    /// The employee ID, if the person knows it.
    pub employee_id: String,
    /// Where the support center answers.
    pub email: String,
    /// What the person was doing.
    pub topic: String,
    /// In the person's words (line breaks allowed).
    pub details: String,
}

impl Accounts {
    /// Queues the work order's mail to `support` (the district's support address).
    pub async fn work_order(
        &self,
        request: WorkOrderRequest,
        support: &Email,
        client: Option<IpAddr>,
    ) -> Result<(), Error> {
        let mut v = Violations::default();
        let last = v.check("last_name", PersonName::parse(&request.last_name));
        let first = v.check("first_name", PersonName::parse(&request.first_name));
        let email = v.check("email", Email::parse(&request.email));
        let id = request.employee_id.trim();
        if !id.is_empty() && (id.len() > 6 || !id.bytes().all(|b| b.is_ascii_digit())) {
            v.add("employee_id", Rule::OptionalEmployeeIdForm);
        }
        let details = request.details.trim();
        // Line breaks are how people write; every other invisible character is refused.
        if details.lines().any(has_invisible) {
            v.add("details", Rule::InvisibleInText);
        } else if details.chars().count() > MAX_DETAILS_CHARS {
            v.add("details", Rule::AtMostChars(MAX_DETAILS_CHARS));
        }
        v.into_result()?;
        let (Some(last), Some(first), Some(email)) = (last, first, email) else {
            return Err(Error::Internal);
        };
        let audit = AuditContext {
            action: AuditAction::WorkOrder,
            employee_id: None,
            username: None,
            client,
        };
        self.reserve(&Subject::WorkOrder, &audit)
            .await?
            .failed()
            .await?;
        let topic = match request.topic.as_str() {
            "claim" => "could not claim the account",
            "locked" => "locked out",
            _ => "needs help with the account",
        };
        let order = WorkOrder {
            last_name: last.as_str().to_owned(),
            first_name: first.as_str().to_owned(),
            employee_id: id.to_owned(),
            email,
            topic: topic.to_owned(),
            details: details.to_owned(),
        };
        let mail = self.mail.work_order(support, &order);
        let event = AuditEvent {
            at: now_millis(),
            action: AuditAction::WorkOrder,
            employee_id: None,
            username: None,
            client,
            actor: None,
            outcome: AuditOutcome::Queued,
            reason: Some(topic.to_owned()),
        };
        self.store.enqueue_mail(&mail, event).await?;
        self.events.mail_queued();
        info!(topic, "work order queued");
        Ok(())
    }
}
