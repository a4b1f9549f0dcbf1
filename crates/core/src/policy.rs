//! The district's rules, gathered from configuration and shared by the flows.

use crate::{LockoutPolicy, PasswordPolicy, QuestionPool, UsernameTemplate};

/// Everything configurable that the account flows apply.
#[derive(Clone, Debug, Default)]
pub struct AccountPolicy {
    /// How usernames are made.
    pub usernames: UsernameTemplate,
    /// What a new password must satisfy.
    pub passwords: PasswordPolicy,
    /// The challenge questions offered.
    pub questions: QuestionPool,
    /// When failures lock an account or an address.
    pub lockout: LockoutPolicy,
    /// How long a claim code works, when every claim needs one
    /// (`accounts.claim_code = "required"`); `None` when claims need names and ID alone.
    pub claim_code: Option<std::time::Duration>,
    /// Forgot My Password also needs a code mailed to the personal address
    /// (`recovery.second_factor = "personal_email"`).
    pub second_factor: bool,
}
