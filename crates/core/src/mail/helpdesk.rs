//! The notices of what a helpdesk helper did to an account (DESIGN.md, "Helpdesk"): the
//! person hears of every action, with the time, so a helper acting without being asked is
//! seen by the one person who can tell.

use super::{Mail, MailKind, MailWriter};
use crate::{Account, store::now_millis};

impl MailWriter {
    /// The helpdesk set a temporary password, which the person must change at the next
    /// sign-in. Sent once the directory has it.
    pub fn temporary_password_set(&self, account: &Account) -> Mail {
        let at = chrono::DateTime::from_timestamp_millis(now_millis())
            .map(|at| at.format("%H:%M UTC on %-d %B %Y").to_string())
            .unwrap_or_else(|| "just now".to_owned());
        let what = format!(
            "The helpdesk set a temporary password on your district\n\
             account {} at {at}, at your request. Sign in\n\
             with it once: you will be asked to choose a new password. Your\n\
             challenge questions are unchanged.",
            account.username
        );
        self.change_notice(
            MailKind::Helpdesk,
            account,
            "The helpdesk set a temporary password",
            &what,
        )
    }
}
