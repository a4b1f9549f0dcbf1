//! Domain errors to gRPC statuses: the one place that decides codes (DESIGN.md, "API contract").

use std::{collections::HashMap, time::Duration};

use claimd_core::{Error, ErrorCode, Rule};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// The `google.rpc.ErrorInfo` domain of claimd's statuses.
pub const ERROR_DOMAIN: &str = "claimd.v1";

/// The status code for a domain error code.
fn grpc_code(code: ErrorCode) -> Code {
    match code {
        ErrorCode::InvalidArgument => Code::InvalidArgument,
        ErrorCode::NotFound => Code::NotFound,
        ErrorCode::AlreadyExists => Code::AlreadyExists,
        ErrorCode::Unauthenticated => Code::Unauthenticated,
        ErrorCode::FailedPrecondition => Code::FailedPrecondition,
        ErrorCode::ResourceExhausted => Code::ResourceExhausted,
        ErrorCode::Unavailable => Code::Unavailable,
        ErrorCode::Internal => Code::Internal,
        ErrorCode::PermissionDenied => Code::PermissionDenied,
    }
}

/// The status a client receives for `error`. Messages are fixed texts (plus, for invalid
/// fields, the rules broken); no cause, server name or secret is ever included. Every status
/// carries `google.rpc.ErrorInfo` (domain `claimd.v1`, reason the error's name in capitals:
/// `LOCKED_OUT`, `BUSY`, …), so a client tells apart errors that share a code.
pub fn to_status(error: Error) -> Status {
    let message = error.to_string();
    let (code, label) = error.code();
    let mut details = ErrorDetails::new();
    let mut metadata = HashMap::new();
    if let Error::NotApplicable { why } = &error {
        metadata.insert("why".to_owned(), why.code().to_owned());
    }
    details.set_error_info(label.to_ascii_uppercase(), ERROR_DOMAIN, metadata);
    let message = match error {
        Error::InvalidArgument { violations } => {
            let summary: Vec<String> = violations
                .iter()
                .map(|v| format!("{} {}", v.field, v.rule))
                .collect();
            // The rule's code is the violation's reason, so a client (the pages) can
            // translate it; its English words are the description.
            details.set_bad_request(
                violations
                    .into_iter()
                    .map(|v| FieldViolation {
                        reason: v.rule.code().to_owned(),
                        ..FieldViolation::new(v.field, v.rule.to_string())
                    })
                    .collect::<Vec<_>>(),
            );
            format!("{message}: {}", summary.join("; "))
        }
        Error::LockedOut { retry_after } | Error::Busy { retry_after } => {
            details.set_retry_info(Some(retry_after));
            message
        }
        _ => message,
    };
    Status::with_error_details(grpc_code(code), message, details)
}

/// The domain error a status was made from: the reverse of [`to_status`], beside it so the
/// two cannot drift (a test round-trips every variant). A status from elsewhere (a proxy, a
/// transport failure) is read by its code alone.
pub fn from_status(status: &Status) -> Error {
    let details = status.get_error_details();
    let retry_after = details
        .retry_info()
        .and_then(|r| r.retry_delay)
        .unwrap_or(Duration::from_secs(60));
    let info = details
        .error_info()
        .filter(|info| info.domain == ERROR_DOMAIN);
    let reason = info.map(|info| info.reason.to_ascii_lowercase());
    let why = info
        .and_then(|info| info.metadata.get("why"))
        .and_then(|code| claimd_core::Inapplicable::from_code(code));
    let error = match reason.as_deref() {
        Some("invalid_argument") => invalid_argument(status),
        Some("no_roster_match") => Some(Error::NoRosterMatch),
        Some("not_found") => Some(Error::OperationNotFound),
        Some("already_claimed") => Some(Error::AlreadyClaimed),
        Some("unauthenticated") => Some(Error::Unauthenticated),
        Some("directory_unavailable") => Some(Error::DirectoryUnavailable),
        Some("claim_pending") => Some(Error::ClaimPending),
        Some("directory_locked") => Some(Error::DirectoryLocked),
        Some("locked_out") => Some(Error::LockedOut { retry_after }),
        Some("busy") => Some(Error::Busy { retry_after }),
        Some("unavailable") => Some(Error::Unavailable),
        Some("internal") => Some(Error::Internal),
        Some("person_not_found") => Some(Error::PersonNotFound),
        Some("privileged") => Some(Error::Privileged),
        Some("not_applicable") => why.map(|why| Error::NotApplicable { why }),
        _ => None,
    };
    if let Some(error) = error {
        return error;
    }
    match status.code() {
        Code::InvalidArgument => invalid_argument(status).unwrap_or(Error::Internal),
        Code::NotFound => Error::NoRosterMatch,
        Code::AlreadyExists => Error::AlreadyClaimed,
        Code::Unauthenticated => Error::Unauthenticated,
        Code::FailedPrecondition => Error::ClaimPending,
        Code::ResourceExhausted => Error::Busy { retry_after },
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
            tracing::warn!(code = ?status.code(), message = status.message(), "AccountService cannot be reached");
            Error::Unavailable
        }
        code => {
            tracing::error!(?code, message = status.message(), "AccountService failed");
            Error::Internal
        }
    }
}

/// The field violations a status carries; `None` when it names no field.
fn invalid_argument(status: &Status) -> Option<Error> {
    let details = status.get_error_details();
    let violations: Vec<claimd_core::FieldViolation> = details
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| {
                    claimd_core::FieldViolation::new(
                        v.field.clone(),
                        Rule::from_code(&v.reason, &v.description),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if violations.is_empty() {
        tracing::warn!(
            message = status.message(),
            "AccountService refused a request without naming a field"
        );
        return None;
    }
    Some(Error::InvalidArgument { violations })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant, and the reverse map gives each back as it was.
    #[test]
    fn every_error_round_trips_through_its_status() {
        let retry_after = Duration::from_secs(42);
        let every_rule = Error::InvalidArgument {
            violations: Rule::ALL
                .iter()
                .enumerate()
                .map(|(i, &rule)| claimd_core::FieldViolation::new(format!("f{i}"), rule))
                .collect(),
        };
        let all = [
            every_rule,
            Error::NoRosterMatch,
            Error::OperationNotFound,
            Error::AlreadyClaimed,
            Error::Unauthenticated,
            Error::DirectoryUnavailable,
            Error::ClaimPending,
            Error::DirectoryLocked,
            Error::LockedOut { retry_after },
            Error::Busy { retry_after },
            Error::Unavailable,
            Error::Internal,
            Error::PersonNotFound,
            Error::Privileged,
        ]
        .into_iter()
        .chain(
            claimd_core::Inapplicable::ALL
                .into_iter()
                .map(|why| Error::NotApplicable { why }),
        )
        .collect::<Vec<_>>();
        // A new variant must be added above: this match is exhaustive.
        for error in &all {
            match error {
                Error::InvalidArgument { .. }
                | Error::NoRosterMatch
                | Error::OperationNotFound
                | Error::AlreadyClaimed
                | Error::Unauthenticated
                | Error::DirectoryUnavailable
                | Error::ClaimPending
                | Error::DirectoryLocked
                | Error::LockedOut { .. }
                | Error::Busy { .. }
                | Error::Unavailable
                | Error::Internal
                | Error::PersonNotFound
                | Error::Privileged
                | Error::NotApplicable { .. } => {}
            }
        }
        for error in all {
            let status = to_status(error.clone());
            // What crosses the wire: the code, the message and the details.
            let received = Status::with_details(
                status.code(),
                status.message(),
                status.details().to_vec().into(),
            );
            assert_eq!(from_status(&received), error);
        }
    }

    #[test]
    fn field_violations_travel_as_bad_request_details() {
        let status = to_status(Error::invalid("employee_id", Rule::EmployeeIdForm));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status
                .message()
                .contains("employee_id must be exactly six digits")
        );
        let details = status.get_error_details();
        let violations = &details.bad_request().unwrap().field_violations;
        assert_eq!(violations[0].field, "employee_id");
        assert_eq!(violations[0].reason, "EMPLOYEE_ID_FORM");
        assert!(
            violations[0]
                .description
                .starts_with("must be exactly six digits")
        );
    }

    #[test]
    fn lockouts_carry_retry_info() {
        let status = to_status(Error::LockedOut {
            retry_after: Duration::from_secs(900),
        });
        assert_eq!(status.code(), Code::ResourceExhausted);
        let details = status.get_error_details();
        assert_eq!(
            details.retry_info().unwrap().retry_delay,
            Some(Duration::from_secs(900))
        );
    }

    #[test]
    fn every_error_has_its_code() {
        let cases = [
            (Error::NoRosterMatch, Code::NotFound),
            (Error::OperationNotFound, Code::NotFound),
            (Error::Unauthenticated, Code::Unauthenticated),
            (Error::DirectoryUnavailable, Code::Unavailable),
            (Error::AlreadyClaimed, Code::AlreadyExists),
            (Error::ClaimPending, Code::FailedPrecondition),
            (Error::Unavailable, Code::Unavailable),
            (Error::Internal, Code::Internal),
            (
                Error::Busy {
                    retry_after: Duration::from_secs(2),
                },
                Code::ResourceExhausted,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(to_status(error).code(), code);
        }
    }
}
