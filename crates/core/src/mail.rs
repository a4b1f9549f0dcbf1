//! Notices sent to the person's district address: what they say, and the sender they go
//! through. Mail is queued in the store (the outbox) with the change it reports, and drained by
//! a sender that retries while the SMTP server is down. Only code mails hold a secret, and
//! their bodies wait sealed (see `codes`).

use std::fmt;

use async_trait::async_trait;

mod helpdesk;

pub use helpdesk::HelpdeskDeed;

use crate::{Account, Email, Username, store::Millis};

/// What a mail tells the person.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailKind {
    /// The account was claimed and is ready.
    ClaimConfirmation,
    /// The username(s) of the accounts using this address (Forgot My Username).
    UsernameReminder,
    /// The password was reset with the challenge answers.
    PasswordReset,
    /// The password was changed by the person.
    PasswordChanged,
    /// The challenge questions and answers were replaced.
    AnswersChanged,
    /// The directory's lock on the login was lifted (Unlock My Account).
    AccountUnlocked,
    /// The password expires soon (a reminder, `[reminders]`).
    ExpiryReminder,
    /// A helpdesk helper acted on the account (a temporary password, an unlock, a claim
    /// code, a released claim).
    Helpdesk,
    /// A work order for the Technology Support Center, from someone who cannot get in.
    WorkOrder,
    /// A new hire's claim code, to the personal address (sealed in the outbox).
    ClaimCode,
    /// A Forgot My Password verification code, to the personal address (sealed).
    VerificationCode,
    /// The person's secrets were given correctly, but nothing changed (the new password
    /// broke a rule): whoever gave them now knows they are right.
    SecretsProven,
}

impl MailKind {
    /// The kind as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClaimConfirmation => "claim_confirmation",
            Self::UsernameReminder => "username_reminder",
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
            Self::AnswersChanged => "answers_changed",
            Self::AccountUnlocked => "account_unlocked",
            Self::ExpiryReminder => "expiry_reminder",
            Self::Helpdesk => "helpdesk",
            Self::WorkOrder => "work_order",
            Self::ClaimCode => "claim_code",
            Self::VerificationCode => "verification_code",
            Self::SecretsProven => "secrets_proven",
        }
    }

    /// Parses a stored kind.
    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::ClaimConfirmation,
            Self::UsernameReminder,
            Self::PasswordReset,
            Self::PasswordChanged,
            Self::AnswersChanged,
            Self::WorkOrder,
            Self::ClaimCode,
            Self::VerificationCode,
            Self::SecretsProven,
            Self::AccountUnlocked,
            Self::ExpiryReminder,
            Self::Helpdesk,
        ]
        .into_iter()
        .find(|k| k.as_str() == value)
    }
}

/// A plain-text mail to one person.
#[derive(Clone, PartialEq, Eq)]
pub struct Mail {
    /// What it tells.
    pub kind: MailKind,
    /// The district address it goes to.
    pub to: Email,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub body: String,
}

impl fmt::Debug for Mail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body names usernames; logs need only the kind and the recipient.
        f.debug_struct("Mail")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// A mail taken from the outbox by a sender.
#[derive(Clone, Debug)]
pub struct QueuedMail {
    /// The outbox row.
    pub id: String,
    /// The mail.
    pub mail: Mail,
    /// Tries so far, counting this one.
    pub attempts: u32,
    /// The sender holding the lease.
    pub lease_owner: String,
}

/// Why a mail was not handed to the SMTP server.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The server is down, busy or refused for now; try again later.
    #[error("mail not sent yet: {reason}")]
    Transient {
        /// What happened.
        reason: String,
    },
    /// The server refused this mail for good (a bad recipient).
    #[error("mail refused: {reason}")]
    Permanent {
        /// What happened.
        reason: String,
    },
}

/// Hands mail to an SMTP server.
#[async_trait]
pub trait Mailer: Send + Sync + fmt::Debug {
    /// Sends one mail.
    async fn send(&self, mail: &Mail) -> Result<(), MailError>;
}

/// Writes the notices in the district's name.
#[derive(Clone, Debug)]
pub struct MailWriter {
    signature: String,
}

impl MailWriter {
    /// Notices signed by `signature` (e.g. "District IT").
    pub fn new(signature: impl Into<String>) -> Self {
        Self {
            signature: signature.into(),
        }
    }

    fn mail(&self, kind: MailKind, to: &Email, subject: &str, body: String) -> Mail {
        Mail {
            kind,
            to: to.clone(),
            subject: subject.into(),
            body: format!("{body}\n\n{}\n", self.signature),
        }
    }

    /// The account was claimed and written to the directory.
    pub fn claim_confirmation(&self, account: &Account) -> Mail {
        let body = format!(
            "Hello {first},\n\n\
             Your district account has been claimed and is ready to use.\n\n\
             Username: {username}\n\n\
             Please retain your username for future use. Your password is the one\n\
             you chose; the district will never ask you for it by email.\n\n\
             If you did not claim this account, contact the district's IT\n\
             department right away.",
            first = account.first_name.as_str(),
            username = account.username,
        );
        self.mail(
            MailKind::ClaimConfirmation,
            &account.email,
            "Your district account is ready",
            body,
        )
    }

    /// A new hire's claim code, with the sheet's steps, to the personal address HR holds.
    /// The body carries a secret: it is sealed for the outbox (`codes::seal_body`).
    pub fn claim_code(
        &self,
        entry: &crate::RosterEntry,
        to: &Email,
        code: &str,
        portal: &str,
        expires: &str,
    ) -> Mail {
        let body = format!(
            "Hello {first},\n\n\
             Welcome to the district! To use the district's computers and applications,\n\
             claim your network account:\n\n\
             1. Go to {portal} and press Claim My Account.\n\
             2. Enter your last name and first name, then your employee ID as six digits\n\
             \x20  (zeroes first: {id}).\n\
             3. Enter this claim code: {code}\n\
             4. Choose a password and answer three challenge questions.\n\n\
             The page tells you your username. The code works once, until {expires}.\n\
             If it has expired, ask the district's IT department for a new one.\n\n\
             If you did not expect this message, you can ignore it.",
            first = entry.first_name.as_str(),
            id = entry.employee_id,
        );
        self.mail(MailKind::ClaimCode, to, "Claim your district account", body)
    }

    /// A Forgot My Password verification code, to the personal address. Sealed like a claim
    /// code.
    pub fn verification_code(&self, to: &Email, username: &Username, code: &str) -> Mail {
        let body = format!(
            "Hello,\n\n\
             Someone is resetting the password of the district account {username},\n\
             or unlocking it.\n\n\
             Verification code: {code}\n\n\
             Enter it with your challenge answers within 10 minutes. If you did not ask\n\
             for this, do not share the code: your password stays as it is.",
        );
        self.mail(
            MailKind::VerificationCode,
            to,
            "Your district password reset code",
            body,
        )
    }

    /// A work order for the support center: who asks, how to reach them, what happened.
    /// Never a secret: the form asks for none.
    pub fn work_order(&self, to: &Email, order: &WorkOrder) -> Mail {
        let body = format!(
            "A work order from the account self-service pages.\n\n\
             Name: {first} {last}\n\
             Employee ID: {id}\n\
             Reply to: {email}\n\
             What happened: {what}\n\n\
             Details:\n{details}\n\n\
             Please answer the person at the address above with updates.",
            first = order.first_name,
            last = order.last_name,
            id = if order.employee_id.is_empty() {
                "(not given)"
            } else {
                &order.employee_id
            },
            email = order.email.as_str(),
            what = order.topic,
            details = order.details,
        );
        let subject = format!(
            "Work order: {} for {} {}",
            order.topic, order.first_name, order.last_name
        );
        self.mail(MailKind::WorkOrder, to, &subject, body)
    }

    /// Forgot My Username: every claimed account using the address.
    pub fn username_reminder(&self, to: &Email, usernames: &[Username]) -> Mail {
        let list: Vec<String> = usernames.iter().map(|u| format!("Username: {u}")).collect();
        let body = format!(
            "Hello,\n\n\
             Someone asked for the username of the district account that uses this\n\
             email address.\n\n\
             {}\n\n\
             If you did not ask for this, you can ignore this message: nothing has\n\
             changed.",
            list.join("\n"),
        );
        self.mail(
            MailKind::UsernameReminder,
            to,
            "Your district username",
            body,
        )
    }

    /// The password was reset with the challenge answers.
    pub fn password_reset(&self, account: &Account) -> Mail {
        let what = format!(
            "The password of your district account {} was reset using your\n\
             challenge questions. The old password no longer works.",
            account.username
        );
        self.change_notice(
            MailKind::PasswordReset,
            account,
            "Your district password was reset",
            &what,
        )
    }

    /// The password was changed by the person.
    pub fn password_changed(&self, account: &Account) -> Mail {
        let what = format!(
            "The password of your district account {} was changed. The old\n\
             password no longer works.",
            account.username
        );
        self.change_notice(
            MailKind::PasswordChanged,
            account,
            "Your district password was changed",
            &what,
        )
    }

    /// `proof` ("the answers to your challenge questions", "your current password") was
    /// given correctly at `at`, and the password was not changed because the new one `rule`.
    pub fn secrets_proven(
        &self,
        account: &Account,
        proof: &str,
        at: crate::store::Millis,
        rule: crate::Rule,
    ) -> Mail {
        let minutes = at.div_euclid(60_000).rem_euclid(24 * 60);
        let what = format!(
            "Someone gave {proof} for your district account {} correctly\n\
             at {:02}:{:02} UTC. The password was not changed, because the new\n\
             password {rule}.\n\n\
             If this was you, choose another password and try again.",
            account.username,
            minutes / 60,
            minutes % 60,
        );
        self.change_notice(
            MailKind::SecretsProven,
            account,
            "Your district account's secrets were used",
            &what,
        )
    }

    /// The directory's lock on the login was lifted (Unlock My Account).
    pub fn account_unlocked(&self, account: &Account) -> Mail {
        let what = format!(
            "Your district account {} was unlocked, with your challenge\n\
             questions or by the helpdesk at your request. Your password is\n\
             unchanged: sign in with it as before.",
            account.username
        );
        self.change_notice(
            MailKind::AccountUnlocked,
            account,
            "Your district account was unlocked",
            &what,
        )
    }

    /// The password expires in `days_left` days (at `expires_at`): change it at
    /// `change_page` before then. It asks for nothing by mail, and the page is the district's
    /// own address (`portal.public_url`), so a reminder cannot be mistaken for the phishing
    /// that imitates such mails.
    pub fn expiry_reminder(
        &self,
        account: &Account,
        days_left: u32,
        expires_at: Millis,
        change_page: &str,
    ) -> Mail {
        let days = if days_left == 1 {
            "1 day".to_owned()
        } else {
            format!("{days_left} days")
        };
        let date = chrono::DateTime::from_timestamp_millis(expires_at)
            .map(|at| at.format("%A %-d %B %Y, %H:%M UTC").to_string())
            .unwrap_or_else(|| "soon".to_owned());
        let body = format!(
            "Hello {first},\n\n\
             The password of your district account {username}\n\
             expires in {days}, on {date}.\n\n\
             Choose a new one before then, with your current password, at\n\
             {change_page}\n\n\
             After it expires you can still change it there. The district never\n\
             asks for your password by mail: do not reply with it.",
            first = account.first_name.as_str(),
            username = account.username,
        );
        self.mail(
            MailKind::ExpiryReminder,
            &account.email,
            &format!("Your district password expires in {days}"),
            body,
        )
    }

    /// The challenge questions and answers were replaced.
    pub fn answers_changed(&self, account: &Account) -> Mail {
        let what = format!(
            "The challenge questions of your district account {} were\n\
             changed. The next password reset will ask the new questions.",
            account.username
        );
        self.change_notice(
            MailKind::AnswersChanged,
            account,
            "Your challenge questions were changed",
            &what,
        )
    }

    /// A notice of a change to the account, with the warning to act if it was not the person.
    fn change_notice(&self, kind: MailKind, account: &Account, subject: &str, what: &str) -> Mail {
        let body = format!(
            "Hello {},\n\n{what}\n\n\
             If you did not do this, contact the district's IT department right away.",
            account.first_name.as_str(),
        );
        self.mail(kind, &account.email, subject, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EmployeeId, PersonName};

    fn account() -> Account {
        Account {
            username: Username::parse("e77777").unwrap(),
            employee_id: EmployeeId::new(77777).unwrap(),
            first_name: PersonName::parse("Jane").unwrap(),
            last_name: PersonName::parse("Doe").unwrap(),
            email: Email::parse("jane.doe@district.example").unwrap(),
        }
    }

    #[test]
    fn notices_name_the_username_and_are_signed() {
        let writer = MailWriter::new("District IT");
        for mail in [
            writer.claim_confirmation(&account()),
            writer.password_reset(&account()),
            writer.password_changed(&account()),
            writer.answers_changed(&account()),
            writer.account_unlocked(&account()),
            writer.temporary_password_set(&account()),
            writer.expiry_reminder(
                &account(),
                10,
                1_800_000_000_000,
                "https://accounts.example/change-password",
            ),
            writer.username_reminder(&account().email, &[account().username]),
        ] {
            assert!(mail.body.contains("e77777"), "{}", mail.body);
            assert!(mail.body.ends_with("District IT\n"));
            assert_eq!(mail.to.as_str(), "jane.doe@district.example");
            assert!(mail.body.is_ascii(), "plain 7-bit text");
            assert!(
                mail.body.lines().all(|l| l.len() <= 76),
                "short lines stay 7-bit:\n{}",
                mail.body
            );
            assert!(
                !format!("{mail:?}").contains("e77777"),
                "Debug leaves the body out"
            );
            assert_eq!(MailKind::parse(mail.kind.as_str()), Some(mail.kind));
        }
    }

    #[test]
    fn a_reminder_names_the_days_the_date_and_the_change_page() {
        let writer = MailWriter::new("District IT");
        // 2027-01-15 08:00 UTC.
        let mail = writer.expiry_reminder(
            &account(),
            10,
            1_800_000_000_000,
            "https://a.example/change-password",
        );
        assert_eq!(mail.subject, "Your district password expires in 10 days");
        assert!(
            mail.body.contains("https://a.example/change-password"),
            "{}",
            mail.body
        );
        assert!(mail.body.contains("2027"), "{}", mail.body);
        let one = writer.expiry_reminder(&account(), 1, 1_800_000_000_000, "x");
        assert_eq!(one.subject, "Your district password expires in 1 day");
    }
}

/// A request for help from someone who cannot get in, as the work order form takes it.
#[derive(Clone, Debug)]
pub struct WorkOrder {
    /// Last name as typed.
    pub last_name: String,
    /// First name as typed.
    pub first_name: String,
    /// The employee ID as typed, if any.
    pub employee_id: String,
    /// Where the support center answers.
    pub email: Email,
    /// What the person was doing: "Claim My Account", "locked out", …
    pub topic: String,
    /// In the person's words.
    pub details: String,
}
