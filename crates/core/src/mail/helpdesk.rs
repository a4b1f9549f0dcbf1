//! The notices of what a helpdesk helper did to an account (DESIGN.md, "Helpdesk"): the
//! person hears of every action, with the time, so a helper acting without being asked is
//! seen by the one person who can tell.

use super::{Mail, MailKind, MailWriter};
use crate::{Account, Email, PersonName, store::now_millis};

/// Now, as the notices name it: `10:42 UTC on 6 December 2026`.
fn now_in_words() -> String {
    chrono::DateTime::from_timestamp_millis(now_millis())
        .map(|at| at.format("%H:%M UTC on %-d %B %Y").to_string())
        .unwrap_or_else(|| "just now".to_owned())
}

/// What a helper did, as a notice names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelpdeskDeed {
    /// Lifted claimd's locks on someone who has not claimed (a claimed person hears from the
    /// directory job that lifts the domain's lockout, once it has).
    Unlocked,
    /// Released a claim that was stuck.
    Released,
    /// Made a new claim code, handed over in person (no personal address to mail it to).
    ClaimCodeHanded,
}

impl MailWriter {
    /// The helpdesk set a temporary password, which the person must change at the next
    /// sign-in. Sent once the directory has it.
    pub fn temporary_password_set(&self, account: &Account) -> Mail {
        let what = format!(
            "The helpdesk set a temporary password on your district\n\
             account {} at {}, at your request. Sign in\n\
             with it once: you will be asked to choose a new password. Your\n\
             challenge questions are unchanged.",
            account.username,
            now_in_words()
        );
        self.change_notice(
            MailKind::Helpdesk,
            account,
            "The helpdesk set a temporary password",
            &what,
        )
    }

    /// A helper acted on the account (or, before a claim, on the roster entry) of the person
    /// `first_name`, mailed to `to`: their district address once they have claimed, else the
    /// personal one HR gave.
    pub fn helpdesk_acted(&self, first_name: &PersonName, to: &Email, deed: HelpdeskDeed) -> Mail {
        let (subject, what) = match deed {
            HelpdeskDeed::Unlocked => (
                "The helpdesk unlocked your account claim",
                "The helpdesk lifted the lock on claiming your district account",
            ),
            HelpdeskDeed::Released => (
                "The helpdesk released your account claim",
                "The helpdesk released your unfinished account claim, so\n\
                 that you can claim your account again,",
            ),
            HelpdeskDeed::ClaimCodeHanded => (
                "The helpdesk made you a new claim code",
                "The helpdesk made you a new claim code, to be given to you\n\
                 in person (your old code no longer works),",
            ),
        };
        let body = format!(
            "Hello {},\n\n{what} at {}, at your request.\n\n\
             If you did not ask the helpdesk for this, contact the district's IT\n\
             department right away.",
            first_name.as_str(),
            now_in_words(),
        );
        self.mail(MailKind::Helpdesk, to, subject, body)
    }
}
