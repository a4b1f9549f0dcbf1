//! Domain values to and from the wire messages.

use claimd_api::v1;
use claimd_core::{
    ChangeRequest, ClaimRequest, Operation, OperationState, Question, ResetRequest, TypedAnswer,
    UnlockRequest, UpdateAnswersRequest, WorkOrderRequest,
};
use secrecy::SecretString;

pub(crate) fn operation(op: &Operation) -> v1::Operation {
    let state = match op.state {
        OperationState::Pending => v1::OperationState::Pending,
        OperationState::Succeeded => v1::OperationState::Succeeded,
        OperationState::Failed => v1::OperationState::Failed,
    };
    v1::Operation {
        id: op.id.to_string(),
        state: state.into(),
        reason: op.reason.clone().unwrap_or_default(),
    }
}

pub(crate) fn question(q: &Question) -> v1::ChallengeQuestion {
    v1::ChallengeQuestion {
        id: q.id.clone(),
        text: q.text.clone(),
    }
}

/// Moves the secrets out of the message into `SecretString`s, which zeroize on drop.
pub(crate) fn claim_request(mut m: v1::ClaimAccountRequest) -> ClaimRequest {
    ClaimRequest {
        last_name: m.last_name,
        first_name: m.first_name,
        employee_id: m.employee_id,
        password: SecretString::from(std::mem::take(&mut m.password)),
        answers: m.answers.into_iter().map(answer).collect(),
        claim_code: SecretString::from(std::mem::take(&mut m.claim_code)),
    }
}

pub(crate) fn reset_request(mut m: v1::CompletePasswordResetRequest) -> ResetRequest {
    ResetRequest {
        new_password: SecretString::from(std::mem::take(&mut m.new_password)),
        verification_code: SecretString::from(std::mem::take(&mut m.verification_code)),
        username: m.username,
        answers: m.answers.into_iter().map(answer).collect(),
    }
}

pub(crate) fn unlock_request(mut m: v1::UnlockAccountRequest) -> UnlockRequest {
    UnlockRequest {
        verification_code: SecretString::from(std::mem::take(&mut m.verification_code)),
        username: m.username,
        answers: m.answers.into_iter().map(answer).collect(),
    }
}

pub(crate) fn change_request(mut m: v1::ChangePasswordRequest) -> ChangeRequest {
    ChangeRequest {
        current_password: SecretString::from(std::mem::take(&mut m.current_password)),
        new_password: SecretString::from(std::mem::take(&mut m.new_password)),
        username: m.username,
    }
}

pub(crate) fn update_answers_request(
    mut m: v1::UpdateChallengeAnswersRequest,
) -> UpdateAnswersRequest {
    UpdateAnswersRequest {
        password: SecretString::from(std::mem::take(&mut m.password)),
        username: m.username,
        answers: m.answers.into_iter().map(answer).collect(),
    }
}

fn answer(mut a: v1::ChallengeAnswer) -> TypedAnswer {
    TypedAnswer {
        question_id: a.question_id,
        answer: SecretString::from(std::mem::take(&mut a.answer)),
    }
}

pub(crate) fn work_order_request(m: v1::OpenWorkOrderRequest) -> WorkOrderRequest {
    WorkOrderRequest {
        last_name: m.last_name,
        first_name: m.first_name,
        employee_id: m.employee_id,
        email: m.email,
        topic: m.topic,
        details: m.details,
    }
}
