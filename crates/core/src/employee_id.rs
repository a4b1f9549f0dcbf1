//! Employee IDs: typed as exactly six digits at the portal, stored as the number.

use std::fmt;

use crate::Rule;

/// An employee ID from 1 to 999999. Displays zero-padded to six digits, as people type it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmployeeId(u32);

impl EmployeeId {
    /// The largest ID that fits in six digits.
    pub const MAX: u32 = 999_999;

    /// Parses the ID as typed at the portal: exactly six ASCII digits, zero-padded, not all zeros.
    pub fn parse_typed(typed: &str) -> Result<Self, Rule> {
        if typed.len() != 6 || !typed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Rule::EmployeeIdForm);
        }
        typed
            .parse()
            .ok()
            .and_then(Self::new)
            .ok_or(Rule::EmployeeIdForm)
    }

    /// Parses the ID as HR exports it: one to six digits, since spreadsheets drop leading zeros.
    pub fn parse_roster(value: &str) -> Result<Self, Rule> {
        const RULE: Rule = Rule::RosterEmployeeIdForm;
        let value = value.trim();
        if value.is_empty() || value.len() > 6 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RULE);
        }
        value.parse().ok().and_then(Self::new).ok_or(RULE)
    }

    /// The ID for a number from 1 to 999999.
    pub fn new(number: u32) -> Option<Self> {
        (1..=Self::MAX).contains(&number).then_some(Self(number))
    }

    /// The number, without padding.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for EmployeeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl fmt::Debug for EmployeeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmployeeId({self})")
    }
}

/// A line number for every possible employee ID (a million of them), for a file read once:
/// which line first named each ID. The table is allocated zeroed, and the system hands out
/// zeroed pages only as they are written, so it costs at most 4 MiB however long the file is
/// (a hash map grew by 17 bytes a row).
pub struct FirstLines(Vec<u32>);

impl FirstLines {
    /// An empty table.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Records that `line` names `id`; the line that named it before, if one did.
    pub fn insert(&mut self, id: EmployeeId, line: u64) -> Option<u64> {
        if self.0.is_empty() {
            self.0 = vec![0; EmployeeId::MAX as usize + 1];
        }
        let slot = &mut self.0[id.get() as usize];
        let earlier = *slot;
        if earlier == 0 {
            *slot = u32::try_from(line).unwrap_or(u32::MAX);
            None
        } else {
            Some(u64::from(earlier))
        }
    }
}

impl Default for FirstLines {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for FirstLines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FirstLines")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_sheet_example_parses() {
        let id = EmployeeId::parse_typed("077777").unwrap();
        assert_eq!(id.get(), 77777);
        assert_eq!(id.to_string(), "077777");
    }

    #[test]
    fn typed_ids_must_be_exactly_six_ascii_digits() {
        for bad in [
            "",
            "77777",
            "0077777",
            "07777a",
            " 077777",
            "077777 ",
            "-77777",
            "+77777",
            "07 777",
            "000000",
            "０７７７７７",
            "7.7777",
        ] {
            assert_eq!(
                EmployeeId::parse_typed(bad),
                Err(Rule::EmployeeIdForm),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn roster_ids_may_lack_leading_zeros() {
        assert_eq!(EmployeeId::parse_roster("77777").unwrap().get(), 77777);
        assert_eq!(EmployeeId::parse_roster(" 077777 ").unwrap().get(), 77777);
        for bad in ["", "0", "1234567", "12a", "-1"] {
            assert!(EmployeeId::parse_roster(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn every_id_round_trips_through_its_typed_form(n in 1u32..=999_999) {
            let id = EmployeeId::new(n).unwrap();
            prop_assert_eq!(EmployeeId::parse_typed(&id.to_string()), Ok(id));
            prop_assert_eq!(EmployeeId::parse_roster(&n.to_string()), Ok(id));
        }

        #[test]
        fn typed_parser_never_panics(s in "\\PC{0,10}") {
            let _ = EmployeeId::parse_typed(&s);
        }
    }
}
