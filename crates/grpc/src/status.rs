//! Domain errors to gRPC statuses: the one place that decides codes (DESIGN.md, "API contract").

use claimd_core::{Error, ErrorCode};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// The status a client receives for `error`. Messages are fixed texts (plus, for invalid
/// fields, the rules broken); no cause, server name or secret is ever included.
pub fn to_status(error: Error) -> Status {
    let message = error.to_string();
    let code = match error.code().0 {
        ErrorCode::InvalidArgument => Code::InvalidArgument,
        ErrorCode::NotFound => Code::NotFound,
        ErrorCode::AlreadyExists => Code::AlreadyExists,
        ErrorCode::Unauthenticated => Code::Unauthenticated,
        ErrorCode::FailedPrecondition => Code::FailedPrecondition,
        ErrorCode::ResourceExhausted => Code::ResourceExhausted,
        ErrorCode::Unavailable => Code::Unavailable,
        ErrorCode::Internal => Code::Internal,
    };
    match error {
        Error::InvalidArgument { violations } => {
            let summary: Vec<String> = violations
                .iter()
                .map(|v| format!("{} {}", v.field, v.description))
                .collect();
            let details = ErrorDetails::with_bad_request(
                violations
                    .into_iter()
                    .map(|v| FieldViolation::new(v.field, v.description))
                    .collect::<Vec<_>>(),
            );
            Status::with_error_details(code, format!("{message}: {}", summary.join("; ")), details)
        }
        Error::LockedOut { retry_after } | Error::Busy { retry_after } => {
            Status::with_error_details(
                code,
                message,
                ErrorDetails::with_retry_info(Some(retry_after)),
            )
        }
        _ => Status::new(code, message),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn field_violations_travel_as_bad_request_details() {
        let status = to_status(Error::invalid("employee_id", "must be exactly six digits"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status
                .message()
                .contains("employee_id must be exactly six digits")
        );
        let details = status.get_error_details();
        let violations = &details.bad_request().unwrap().field_violations;
        assert_eq!(violations[0].field, "employee_id");
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
