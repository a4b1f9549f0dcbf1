//! Hand-written `Debug` for messages that carry secrets: the secret fields print as
//! `[redacted]`, so a stray `{:?}` can never put a password or an answer into a log.

use std::fmt;

use crate::v1::{
    ChallengeAnswer, ChangePasswordRequest, ClaimAccountRequest, CompletePasswordResetRequest,
    ReissueClaimCodeResponse, SetTemporaryPasswordResponse, UnlockAccountRequest,
    UpdateChallengeAnswersRequest,
};

const REDACTED: &str = "[redacted]";

impl fmt::Debug for ChallengeAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChallengeAnswer")
            .field("question_id", &self.question_id)
            .field("answer", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for ClaimAccountRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimAccountRequest")
            .field("last_name", &self.last_name)
            .field("first_name", &self.first_name)
            .field("employee_id", &self.employee_id)
            .field("password", &REDACTED)
            .field("answers", &self.answers)
            .field("claim_code", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for CompletePasswordResetRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletePasswordResetRequest")
            .field("username", &self.username)
            .field("answers", &self.answers)
            .field("new_password", &REDACTED)
            .field("verification_code", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for SetTemporaryPasswordResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetTemporaryPasswordResponse")
            .field("temporary_password", &REDACTED)
            .field("operation", &self.operation)
            .finish()
    }
}

impl fmt::Debug for ReissueClaimCodeResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReissueClaimCodeResponse")
            .field("mailed", &self.mailed)
            .field("claim_code", &REDACTED)
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

impl fmt::Debug for UnlockAccountRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnlockAccountRequest")
            .field("username", &self.username)
            .field("answers", &self.answers)
            .field("verification_code", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChangePasswordRequest")
            .field("username", &self.username)
            .field("current_password", &REDACTED)
            .field("new_password", &REDACTED)
            .finish()
    }
}

impl fmt::Debug for UpdateChallengeAnswersRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpdateChallengeAnswersRequest")
            .field("username", &self.username)
            .field("password", &REDACTED)
            .field("answers", &self.answers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use crate::v1::{
        ChallengeAnswer, ChangePasswordRequest, ClaimAccountRequest, CompletePasswordResetRequest,
        ReissueClaimCodeResponse, SetTemporaryPasswordResponse, UnlockAccountRequest,
        UpdateChallengeAnswersRequest,
    };

    #[test]
    fn debug_hides_password_and_answers() {
        let request = ClaimAccountRequest {
            last_name: "Doe".into(),
            first_name: "Jane".into(),
            employee_id: "077777".into(),
            password: "hunter2-Secret".into(),
            answers: vec![ChallengeAnswer {
                question_id: "first-pet".into(),
                answer: "Rex the dog".into(),
            }],
            claim_code: "7KDM-3QXA-9RFT".into(),
        };
        let printed = format!("{request:?}");
        assert!(printed.contains("077777"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("7KDM"), "{printed}");
        assert!(!printed.contains("Rex"), "{printed}");
        let change = ChangePasswordRequest {
            username: "e77777".into(),
            current_password: "old-Secret-1".into(),
            new_password: "new-Secret-2".into(),
        };
        let printed = format!("{change:?}");
        assert!(
            printed.contains("e77777") && !printed.contains("Secret"),
            "{printed}"
        );
        let reset = CompletePasswordResetRequest {
            username: "e77777".into(),
            answers: request.answers.clone(),
            new_password: "new-Secret-2".into(),
            verification_code: "4821 0937".into(),
        };
        let printed = format!("{reset:?}");
        assert!(
            !printed.contains("Secret") && !printed.contains("Rex") && !printed.contains("4821"),
            "{printed}"
        );
        let unlock = UnlockAccountRequest {
            username: "e77777".into(),
            answers: request.answers.clone(),
            verification_code: "4821 0937".into(),
        };
        let printed = format!("{unlock:?}");
        assert!(
            printed.contains("e77777") && !printed.contains("Rex") && !printed.contains("4821"),
            "{printed}"
        );
        let temporary = SetTemporaryPasswordResponse {
            temporary_password: "wpdF-ftyc-QsNk-hGM4".into(),
            operation: None,
        };
        let printed = format!("{temporary:?}");
        assert!(!printed.contains("wpdF"), "{printed}");
        let code = ReissueClaimCodeResponse {
            mailed: false,
            claim_code: "7KDM-3QXA-9RFT".into(),
            expires_on: "2026-12-28".into(),
        };
        let printed = format!("{code:?}");
        assert!(
            printed.contains("2026-12-28") && !printed.contains("7KDM"),
            "{printed}"
        );
        let update = UpdateChallengeAnswersRequest {
            username: "e77777".into(),
            password: "old-Secret-1".into(),
            answers: request.answers.clone(),
        };
        let printed = format!("{update:?}");
        assert!(
            !printed.contains("Secret") && !printed.contains("Rex"),
            "{printed}"
        );
    }
}
