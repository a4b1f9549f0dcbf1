//! Names as people type them at the portal and as HR records them.

use crate::{
    Rule,
    text::{has_invisible, name_key},
};

/// The longest name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A last or first name: not blank, at most [`MAX_NAME_CHARS`] characters, no control
/// characters. Kept as typed (surrounding spaces trimmed) for display; compared by
/// [`PersonName::matches`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    /// Validates a name; the error says what is wrong with it.
    pub fn parse(value: &str) -> Result<Self, Rule> {
        if has_invisible(value) {
            return Err(Rule::Invisible);
        }
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(Rule::Required);
        }
        if trimmed.chars().count() > MAX_NAME_CHARS {
            return Err(Rule::AtMostChars(MAX_NAME_CHARS));
        }
        Ok(Self(
            trimmed.split_whitespace().collect::<Vec<_>>().join(" "),
        ))
    }

    /// The name as written (trimmed, spaces collapsed).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the two names are the same but for case, accents and spacing.
    pub fn matches(&self, other: &PersonName) -> bool {
        name_key(&self.0) == name_key(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_names_match_roster_names_loosely() {
        let roster = PersonName::parse("García").unwrap();
        assert!(PersonName::parse("  GARCIA ").unwrap().matches(&roster));
        assert!(!PersonName::parse("Garcias").unwrap().matches(&roster));
    }

    #[test]
    fn injection_shaped_names_match_only_themselves() {
        let roster = PersonName::parse("O'Brien, Jr.").unwrap();
        assert!(PersonName::parse("o'brien,  jr.").unwrap().matches(&roster));
        assert!(!PersonName::parse("O'Brien").unwrap().matches(&roster));
        let tricky = PersonName::parse("Smith)(uid=*").unwrap();
        assert!(!PersonName::parse("Smith").unwrap().matches(&tricky));
    }

    #[test]
    fn bad_names_are_refused() {
        assert!(PersonName::parse("").is_err());
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse("Doe\n").is_err());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
        assert!(PersonName::parse(&"é".repeat(100)).is_ok());
    }
}
