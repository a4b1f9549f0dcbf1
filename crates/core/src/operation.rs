//! Operations: what a mutating request returns, so the caller can follow the directory job
//! behind it until it has succeeded or failed.

use std::fmt;

use uuid::Uuid;

/// An operation's id: a random UUID, unguessable, shown to callers as text.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperationId(Uuid);

impl OperationId {
    /// A fresh random id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses an id given by a caller.
    pub fn parse(value: &str) -> Result<Self, crate::Rule> {
        Uuid::try_parse(value.trim())
            .map(Self)
            .map_err(|_| crate::Rule::OperationIdForm)
    }
}

impl Default for OperationId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for OperationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OperationId({self})")
    }
}

/// Where an operation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationState {
    /// Accepted and durable; the directory is not written yet.
    Pending,
    /// The directory has the change.
    Succeeded,
    /// The directory refused the change.
    Failed,
}

impl OperationState {
    /// The state as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored state.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(Self::Pending),
            "succeeded" => Some(Self::Succeeded),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    /// True once the state can no longer change.
    pub fn is_final(self) -> bool {
        self != Self::Pending
    }
}

/// An operation as callers see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// Its id.
    pub id: OperationId,
    /// Where it stands.
    pub state: OperationState,
    /// Why it failed, in plain words; or, while pending, what it waits for.
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_garbage_is_refused() {
        let id = OperationId::new();
        assert_eq!(OperationId::parse(&id.to_string()), Ok(id));
        assert!(OperationId::parse("").is_err());
        assert!(OperationId::parse("'; DROP TABLE operations; --").is_err());
    }
}
