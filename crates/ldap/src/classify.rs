//! Turns LDAP failures into the domain's transient or permanent directory errors.

use claimd_core::DirectoryError;
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
    Entry,
    Password,
}

pub(crate) fn classify(step: Step, error: LdapError) -> DirectoryError {
    match error {
        LdapError::LdapResult { result } if PERMANENT.contains(&result.rc) => {
            let what = match step {
                Step::Password => "the directory refused the password",
                Step::Entry | Step::Connect => "the directory refused the account entry",
            };
            let text = result.text.trim();
            let reason = if text.is_empty() {
                format!("{what} (result {})", result.rc)
            } else {
                format!("{what}: {text}")
            };
            DirectoryError::Permanent { reason }
        }
        other => DirectoryError::Transient {
            reason: format!("{step:?}: {other}"),
        },
    }
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
    fn policy_refusals_are_permanent_and_readable() {
        let e = classify(
            Step::Password,
            result(19, "Password fails quality checking policy"),
        );
        assert_eq!(
            e,
            DirectoryError::Permanent {
                reason:
                    "the directory refused the password: Password fails quality checking policy"
                        .into()
            }
        );
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
        let io = LdapError::Io {
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        };
        assert!(matches!(
            classify(Step::Connect, io),
            DirectoryError::Transient { .. }
        ));
    }
}
