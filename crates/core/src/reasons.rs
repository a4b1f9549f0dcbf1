//! Why an operation ended without its change, in the plain words the person reads on a
//! finish page (and a district service in `Operation.reason`).
//!
//! Every reason an operation can end with, or wait with, is one of these texts (but for the
//! words IT types in `claimd admin release --reason`, shown as typed), so the pages can
//! translate each of them: [`ALL`] lists them, and the portal's tests render a
//! failed finish page in Spanish for every one. A reason carries at most one number, written
//! `{n}` here and filled in with [`with_number`]. They name nothing the person did not type
//! (no other account, no DN, no server text): details go to claimd's log.

use std::fmt::Display;

/// A password job replaced by a newer request for the same account.
pub const SUPERSEDED: &str = "replaced by a newer password request";
/// A password job cancelled because the person left (a roster import).
pub const LEFT: &str = "cancelled: the employee has left";
/// What a job waiting for the directory says while it is retried.
pub const RETRYING: &str = "waiting for the directory; claimd keeps retrying";
/// `claimd admin release`'s default reason.
pub const RELEASED: &str = "released by the district's IT staff; please claim again";
/// A job still failing after `sync.max_job_age_secs` (`{n}`: days).
pub const TOO_OLD: &str =
    "the directory could not be written for {n} day(s); please submit the request again";
/// The same, for a `sync.max_job_age_secs` under a day (`{n}`: hours).
pub const TOO_OLD_HOURS: &str =
    "the directory could not be written for {n} hour(s); please submit the request again";

/// The reason a job ends with when it is still failing after `max_age`: in days, or in
/// hours for an age under a day (never "0 days").
pub fn too_old(max_age: std::time::Duration) -> String {
    let secs = max_age.as_secs();
    if secs >= 86_400 {
        with_number(TOO_OLD, secs.div_ceil(86_400))
    } else {
        with_number(TOO_OLD_HOURS, secs.div_ceil(3_600).max(1))
    }
}
/// A queued password that the seal key cannot open.
pub const PASSWORD_UNREADABLE: &str =
    "the queued password could not be read; please submit the request again";
/// A password job that reached the directory writer without its password.
pub const PASSWORD_MISSING: &str =
    "the queued password is missing; please submit the request again";

/// A change for an account that is no longer in the directory.
pub const NOT_IN_DIRECTORY: &str =
    "the account is not in the directory; ask the district's IT staff";
/// OpenLDAP: the username's entry carries another employee's number.
pub const ENTRY_OF_ANOTHER: &str = "the directory already has an account with this username for \
                                    another employee; ask the district's IT staff";
/// OpenLDAP: the username's entry carries no employee number.
pub const ENTRY_UNNUMBERED: &str = "the directory already has an account with this username and \
                                    no employee number, so it is not known to be this person's; \
                                    ask the district's IT staff";
/// AD: the pre-provisioned account has been used.
pub const ACCOUNT_USED: &str = "the directory's account for this employee has been used \
                                already, so it cannot be claimed; ask the district's IT staff";
/// AD: the pre-provisioned account has another sAMAccountName.
pub const ACCOUNT_OTHER_USERNAME: &str = "the directory's account for this employee has another \
                                          username; ask the district's IT staff";
/// AD: the account is privileged (`adminCount = 1`: a member of a protected group, now or
/// before); claimd never sets its password or changes it.
pub const ACCOUNT_PRIVILEGED: &str = "the directory's account for this employee is a \
                                      privileged one, which claimd never changes; ask the \
                                      district's IT staff";
/// OpenLDAP: the username's entry is no longer the one the claim took (deleted and made again).
pub const ENTRY_REPLACED: &str = "the directory's account for this username is no longer the \
                                  one that was claimed; ask the district's IT staff";
/// AD: several accounts carry the employee ID (`{n}`: how many).
pub const SEVERAL_ACCOUNTS: &str =
    "the directory has {n} accounts for this employee ID; ask the district's IT staff";
/// AD: every common name tried for a new account is taken.
pub const NAME_TAKEN: &str = "the directory already has entries with this person's name; ask \
                              the district's IT staff";

/// A password the directory's policy refused (OpenLDAP ppolicy, or AD without a known code).
pub const PASSWORD_POLICY: &str =
    "the directory refused the password: it does not meet the directory's password policy";
/// A password refused with another LDAP result (`{n}`: the result code).
pub const PASSWORD_REFUSED: &str = "the directory refused the password (result {n})";
/// An entry refused (`{n}`: the LDAP result code).
pub const ENTRY_REFUSED: &str = "the directory refused the account entry (result {n})";
/// AD 0000052D, complexity.
pub const AD_COMPLEXITY: &str = "the directory refused the password: it does not meet the \
                                 complexity rules: use three of upper-case letters, lower-case \
                                 letters, digits and symbols, and not your username or parts of \
                                 your name";
/// AD 0000052D, too short.
pub const AD_TOO_SHORT: &str =
    "the directory refused the password: it is shorter than the domain's minimum length";
/// AD 0000052D, in history.
pub const AD_HISTORY: &str =
    "the directory refused the password: it was used before; choose one you have not used";
/// AD 0000052D, too young.
pub const AD_TOO_YOUNG: &str =
    "the directory refused the password: the password was changed too recently; try again later";
/// AD 0000052D, any other policy.
pub const AD_POLICY: &str =
    "the directory refused the password: it does not meet the domain's password policy";
/// AD 00000056.
pub const AD_WRONG_CURRENT: &str =
    "the directory refused the change: the current password is not correct";
/// AD 00002071.
pub const AD_NAME_IN_USE: &str = "the directory refused the account: that name is already in \
                                  use; ask the district's IT staff";
/// AD 00002035.
pub const AD_PASSWORD_FORM: &str =
    "the directory refused the password: it was not accepted in this form";

/// Every reason above.
pub const ALL: &[&str] = &[
    SUPERSEDED,
    LEFT,
    RETRYING,
    RELEASED,
    TOO_OLD,
    TOO_OLD_HOURS,
    PASSWORD_UNREADABLE,
    PASSWORD_MISSING,
    NOT_IN_DIRECTORY,
    ENTRY_OF_ANOTHER,
    ENTRY_UNNUMBERED,
    ACCOUNT_USED,
    ACCOUNT_OTHER_USERNAME,
    ACCOUNT_PRIVILEGED,
    ENTRY_REPLACED,
    SEVERAL_ACCOUNTS,
    NAME_TAKEN,
    PASSWORD_POLICY,
    PASSWORD_REFUSED,
    ENTRY_REFUSED,
    AD_COMPLEXITY,
    AD_TOO_SHORT,
    AD_HISTORY,
    AD_TOO_YOUNG,
    AD_POLICY,
    AD_WRONG_CURRENT,
    AD_NAME_IN_USE,
    AD_PASSWORD_FORM,
];

/// `reason` with its `{n}` filled in.
pub fn with_number(reason: &'static str, n: impl Display) -> String {
    debug_assert!(reason.contains("{n}"), "{reason} has no number");
    reason.replace("{n}", &n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_s_age_is_told_in_days_or_hours_never_zero() {
        use std::time::Duration;
        let days = |n| with_number(TOO_OLD, n);
        let hours = |n| with_number(TOO_OLD_HOURS, n);
        assert_eq!(too_old(Duration::from_secs(7 * 86_400)), days(7));
        assert_eq!(too_old(Duration::from_secs(86_400 + 1)), days(2));
        assert_eq!(too_old(Duration::from_secs(3_600)), hours(1));
        assert_eq!(too_old(Duration::from_millis(300)), hours(1));
    }

    #[test]
    fn reasons_are_distinct_one_line_and_hold_at_most_one_number() {
        let mut seen = std::collections::BTreeSet::new();
        for reason in ALL {
            assert!(seen.insert(reason), "{reason} twice");
            assert!(!reason.contains('\n') && !reason.contains("  "), "{reason}");
            assert!(reason.matches("{n}").count() <= 1, "{reason}");
            assert!(!reason.replace("{n}", "").contains(['{', '}']), "{reason}");
        }
    }
}
