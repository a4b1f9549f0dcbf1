//! Turns LDAP failures into the domain's transient or permanent directory errors.

use claimd_core::{DirectoryError, reasons};
use ldap3::LdapError;

/// Result codes that mean the server refused this very change (RFC 4511 appendix A): retrying
/// it unchanged cannot succeed. Everything else may be a passing or fixable condition.
const PERMANENT: &[u32] = &[
    19, // constraintViolation: password quality, length, history
    21, // invalidAttributeSyntax
    34, // invalidDNSyntax
    53, // unwillingToPerform
    64, // namingViolation
    65, // objectClassViolation
    67, // notAllowedOnRDN
    69, // objectClassModsProhibited
];

/// What the job was doing when the error came, to word the reason.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    Connect,
    /// A search: it changes nothing, so a failure is never an unconfirmed write.
    Read,
    Entry,
    Password,
}

pub(crate) fn classify(step: Step, error: LdapError) -> DirectoryError {
    if let LdapError::LdapResult { result } = &error
        && let Some(reason) = active_directory_reason(&result.text)
    {
        return DirectoryError::Permanent { reason };
    }
    match error {
        LdapError::LdapResult { result } if PERMANENT.contains(&result.rc) => {
            // The server's own text goes to the log only: it can name entries, DNs and
            // policies a claimant has no business reading, so the caller gets fixed words.
            tracing::warn!(rc = result.rc, text = %result.text.trim(), "the directory refused a change");
            let reason = match (step, result.rc) {
                (Step::Password, 19) => reasons::PASSWORD_POLICY.to_owned(),
                (Step::Password, rc) => reasons::with_number(reasons::PASSWORD_REFUSED, rc),
                (Step::Entry | Step::Read | Step::Connect, rc) => {
                    reasons::with_number(reasons::ENTRY_REFUSED, rc)
                }
            };
            DirectoryError::Permanent { reason }
        }
        // The server answered (busy, unavailable, …): it did not carry the change out.
        other @ LdapError::LdapResult { .. } => DirectoryError::Transient {
            reason: format!("{step:?}: {other}"),
        },
        // Nothing was sent: the connection never stood, or its handler had already gone
        // when the request was handed to it.
        other @ LdapError::OpSend { .. } => DirectoryError::Transient {
            reason: format!("{step:?}: {other}"),
        },
        other if matches!(step, Step::Connect | Step::Read) => DirectoryError::Transient {
            reason: format!("{step:?}: {other}"),
        },
        // A request on a connection that broke or went quiet: it may have been sent, and
        // the server may still carry it out.
        other => DirectoryError::Unconfirmed {
            reason: format!("{step:?}: {other}"),
        },
    }
}

/// Active Directory's extended error codes (the hex word at the start of the text, e.g.
/// `0000052D: Constraint violation - check_password_restrictions: ...`) in plain words.
/// `None` when the text carries none that means a permanent refusal.
fn active_directory_reason(text: &str) -> Option<String> {
    let code = text.split(':').next()?.trim().to_ascii_uppercase();
    let lower = text.to_ascii_lowercase();
    let reason = match code.as_str() {
        "0000052D" if lower.contains("complexity") => reasons::AD_COMPLEXITY,
        "0000052D" if lower.contains("too short") => reasons::AD_TOO_SHORT,
        "0000052D" if lower.contains("history") => reasons::AD_HISTORY,
        "0000052D" if lower.contains("too young") => reasons::AD_TOO_YOUNG,
        "0000052D" => reasons::AD_POLICY,
        "00000056" => reasons::AD_WRONG_CURRENT,
        "00002071" => reasons::AD_NAME_IN_USE,
        "00002035" => reasons::AD_PASSWORD_FORM,
        _ => return None,
    };
    Some(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3::LdapResult;

    fn result(rc: u32, text: &str) -> LdapError {
        LdapError::LdapResult {
            result: LdapResult {
                rc,
                matched: String::new(),
                text: text.into(),
                refs: vec![],
                ctrls: vec![],
            },
        }
    }

    #[test]
    fn policy_refusals_are_permanent_readable_and_never_the_server_s_text() {
        let e = classify(
            Step::Password,
            result(19, "Password fails quality checking policy"),
        );
        assert_eq!(
            e,
            DirectoryError::Permanent {
                reason: "the directory refused the password: it does not meet the directory's \
                         password policy"
                    .into()
            }
        );
        let e = classify(
            Step::Entry,
            result(
                65,
                "object class 'x' requires attribute 'y' in cn=admin,dc=secret",
            ),
        );
        assert_eq!(
            e,
            DirectoryError::Permanent {
                reason: "the directory refused the account entry (result 65)".into()
            }
        );
    }

    #[test]
    fn active_directory_codes_become_plain_reasons() {
        let cases = [
            (
                19,
                "0000052D: Constraint violation - check_password_restrictions: the password does not meet the complexity criteria!",
                "complexity",
            ),
            (
                19,
                "0000052D: Constraint violation - check_password_restrictions: the password is too short. It should be equal or longer than 7 characters!",
                "minimum length",
            ),
            (
                19,
                "0000052D: Constraint violation - check_password_restrictions: the password was already used (in history)!",
                "used before",
            ),
            (
                19,
                "0000052D: Constraint violation - check_password_restrictions: password is too young to change!",
                "too recently",
            ),
            (
                19,
                "00000056: Constraint violation - check_password_restrictions: The old password specified doesn't match!",
                "current password",
            ),
            (68, "00002071: Entry already exists", "already in use"),
        ];
        for (rc, text, expected) in cases {
            let DirectoryError::Permanent { reason } = classify(Step::Password, result(rc, text))
            else {
                panic!("{text} is permanent");
            };
            assert!(reason.contains(expected), "{reason}");
        }
    }

    #[test]
    fn busy_unavailable_and_access_problems_are_retried() {
        for rc in [49, 50, 51, 52, 80, 32] {
            assert!(
                matches!(
                    classify(Step::Entry, result(rc, "")),
                    DirectoryError::Transient { .. }
                ),
                "{rc}"
            );
        }
        let io = || LdapError::Io {
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        };
        assert!(matches!(
            classify(Step::Connect, io()),
            DirectoryError::Transient { .. }
        ));
        // A search that broke off changed nothing.
        assert!(matches!(
            classify(Step::Read, io()),
            DirectoryError::Transient { .. }
        ));
        assert!(matches!(
            classify(Step::Read, LdapError::EndOfStream),
            DirectoryError::Transient { .. }
        ));
        // The same failure once a write may have gone out: it may still land.
        for step in [Step::Entry, Step::Password] {
            assert!(
                matches!(classify(step, io()), DirectoryError::Unconfirmed { .. }),
                "{step:?}"
            );
        }
    }
}
