//! The HR roster: who may claim an account. Parsed from the district's CSV export
//! (`employee_id,last_name,first_name,email,status`, optionally `personal_email` and
//! `site`; extra columns ignored).

use std::{fmt, io};

use crate::{EmployeeId, PersonName, Rule, employee_id::FirstLines, text::has_invisible};

/// Whether a roster entry may claim an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RosterStatus {
    /// A current employee: may claim.
    Active,
    /// No longer employed: may not claim.
    Terminated,
}

impl RosterStatus {
    /// The status as written in the CSV and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Terminated => "terminated",
        }
    }

    /// Parses `active` or `terminated` (any case).
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "active" => Some(Self::Active),
            "terminated" => Some(Self::Terminated),
            _ => None,
        }
    }
}

/// A district email address, kept lowercase so lookups ignore case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Validates an address: one `@`, something on both sides, no spaces or control
    /// characters, at most 254 characters. Case and surrounding spaces are ignored.
    pub fn parse(value: &str) -> Result<Self, Rule> {
        const RULE: Rule = Rule::EmailForm;
        let value = value.trim().to_lowercase();
        let Some((local, domain)) = value.split_once('@') else {
            return Err(RULE);
        };
        let bad = value.len() > 254
            || local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || value.chars().any(|c| c.is_whitespace())
            || has_invisible(&value);
        if bad { Err(RULE) } else { Ok(Self(value)) }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}

/// A school or department code (the roster's optional `site` column, e.g. `101`): whose
/// helpdesk may help the person. Letters, digits, `-`, `_` and `.`, at most 32, kept as
/// written but for surrounding spaces.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Site(String);

impl Site {
    /// The longest code.
    pub const MAX_CHARS: usize = 32;

    /// A code as HR writes it; `None` for an empty cell (no site).
    pub fn parse(value: &str) -> Result<Option<Self>, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
        if value.len() > Self::MAX_CHARS || !value.chars().all(allowed) {
            return Err(format!(
                "must be a code of at most {} letters, digits, '-', '_' or '.' (such as 101)",
                Self::MAX_CHARS
            ));
        }
        Ok(Some(Self(value.to_owned())))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One HR record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterEntry {
    /// The employee ID.
    pub employee_id: EmployeeId,
    /// Last name as HR records it.
    pub last_name: PersonName,
    /// First name as HR records it.
    pub first_name: PersonName,
    /// District email address.
    pub email: Email,
    /// Whether the entry may claim.
    pub status: RosterStatus,
    /// The address HR's offer letter went to (optional column `personal_email`): where claim
    /// and verification codes go. Never shown, never written to the directory, never sent a
    /// username.
    pub personal_email: Option<Email>,
    /// The school or department (optional column `site`): whose helpdesk may help.
    pub site: Option<Site>,
}

/// A bad row (or header) of a roster file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterProblem {
    /// The line in the file, counting the header as line 1.
    pub line: u64,
    /// What is wrong, naming the column.
    pub message: String,
}

impl fmt::Display for RosterProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

const COLUMNS: [&str; 5] = ["employee_id", "last_name", "first_name", "email", "status"];

/// A roster file read one row at a time, so an import holds a chunk of the file rather than
/// all of it. Each item is an entry or the row's problems; only the employee IDs seen so far
/// are kept (to name a duplicate's first line).
pub struct RosterRows<R> {
    reader: csv::Reader<R>,
    index: [usize; 5],
    /// The optional `personal_email` column.
    personal: Option<usize>,
    /// The optional `site` column.
    site: Option<usize>,
    first_line: FirstLines,
}

impl<R: io::Read> RosterRows<R> {
    /// Reads the header; a missing column is a problem of line 1.
    pub fn new(input: R) -> Result<Self, Vec<RosterProblem>> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let headers = reader
            .headers()
            .map_err(|e| vec![csv_problem(1, &e)])?
            .clone();
        // Names match ignoring case, surrounding spaces and a spreadsheet's byte-order mark.
        let column = |name: &str| {
            headers.iter().position(|h| {
                h.trim()
                    .trim_start_matches('\u{feff}')
                    .eq_ignore_ascii_case(name)
            })
        };
        let mut index = [0usize; 5];
        let mut problems = Vec::new();
        for (slot, name) in index.iter_mut().zip(COLUMNS) {
            match column(name) {
                Some(i) => *slot = i,
                None => problems.push(RosterProblem {
                    line: 1,
                    message: format!("the header has no column {name:?}"),
                }),
            }
        }
        let personal = column("personal_email");
        let site = column("site");
        if problems.is_empty() {
            Ok(Self {
                reader,
                index,
                personal,
                site,
                first_line: FirstLines::new(),
            })
        } else {
            Err(problems)
        }
    }

    /// Whether the file has the optional `personal_email` column.
    pub fn has_personal_email(&self) -> bool {
        self.personal.is_some()
    }

    /// Whether the file has the optional `site` column.
    pub fn has_site(&self) -> bool {
        self.site.is_some()
    }

    fn entry(&mut self, record: &csv::StringRecord) -> Result<RosterEntry, Vec<RosterProblem>> {
        let line = record.position().map_or(0, |p| p.line());
        let field = |i: usize| record.get(self.index[i]).unwrap_or("");
        let mut row_problems = Vec::new();
        let mut note = |column: &str, rule: &dyn std::fmt::Display| {
            row_problems.push(format!("{column}: {rule}"));
        };
        let employee_id = EmployeeId::parse_roster(field(0))
            .map_err(|r| note("employee_id", &r))
            .ok();
        let last_name = PersonName::parse(field(1))
            .map_err(|r| note("last_name", &r))
            .ok();
        let first_name = PersonName::parse(field(2))
            .map_err(|r| note("first_name", &r))
            .ok();
        let email = Email::parse(field(3)).map_err(|r| note("email", &r)).ok();
        let status = RosterStatus::parse(field(4));
        if status.is_none() {
            note("status", &"must be active or terminated");
        }
        let personal = self.personal.map_or("", |i| record.get(i).unwrap_or(""));
        let personal_email = if personal.trim().is_empty() {
            Some(None)
        } else {
            Email::parse(personal)
                .map(Some)
                .map_err(|r| note("personal_email", &r))
                .ok()
        };
        let site = Site::parse(self.site.map_or("", |i| record.get(i).unwrap_or("")))
            .map_err(|r| note("site", &r))
            .ok();
        if let Some(id) = employee_id
            && let Some(earlier) = self.first_line.insert(id, line)
        {
            note(
                "employee_id",
                &format!("{id} already appears on line {earlier}"),
            );
        }
        match (
            employee_id,
            last_name,
            first_name,
            email,
            status,
            personal_email,
            site,
        ) {
            (
                Some(employee_id),
                Some(last_name),
                Some(first_name),
                Some(email),
                Some(status),
                Some(personal_email),
                Some(site),
            ) if row_problems.is_empty() => Ok(RosterEntry {
                employee_id,
                last_name,
                first_name,
                email,
                status,
                personal_email,
                site,
            }),
            _ => Err(row_problems
                .into_iter()
                .map(|message| RosterProblem { line, message })
                .collect()),
        }
    }
}

impl<R> fmt::Debug for RosterRows<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RosterRows").finish_non_exhaustive()
    }
}

impl<R: io::Read> Iterator for RosterRows<R> {
    type Item = Result<RosterEntry, Vec<RosterProblem>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut record = csv::StringRecord::new();
        match self.reader.read_record(&mut record) {
            Ok(true) => Some(self.entry(&record)),
            Ok(false) => None,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                Some(Err(vec![csv_problem(line, &e)]))
            }
        }
    }
}

fn csv_problem(line: u64, error: &csv::Error) -> RosterProblem {
    let message = match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8 text".to_owned(),
        _ => format!("cannot be read as CSV: {error}"),
    };
    RosterProblem { line, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A whole file read through [`RosterRows`]: every entry, or every problem.
    fn parse_roster_csv(input: impl io::Read) -> Result<Vec<RosterEntry>, Vec<RosterProblem>> {
        let mut entries = Vec::new();
        let mut problems = Vec::new();
        for row in RosterRows::new(input)? {
            match row {
                Ok(entry) => entries.push(entry),
                Err(found) => problems.extend(found),
            }
        }
        if problems.is_empty() {
            Ok(entries)
        } else {
            Err(problems)
        }
    }

    #[test]
    fn a_good_file_parses_with_extra_columns_and_unpadded_ids() {
        let csv = "\u{feff}employee_id,last_name,first_name,email,status,department\n\
                   077777,Doe,Jane,Jane.Doe@District.example,active,Math\n\
                   42,\"O'Brien, Jr.\",Pat,pat@district.example,Terminated,\n";
        let entries = parse_roster_csv(csv.as_bytes()).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].employee_id.get(), 77777);
        assert_eq!(entries[0].email.as_str(), "jane.doe@district.example");
        assert_eq!(entries[1].last_name.as_str(), "O'Brien, Jr.");
        assert_eq!(entries[1].status, RosterStatus::Terminated);
    }

    #[test]
    fn every_bad_row_is_reported_with_its_line() {
        let csv = "employee_id,last_name,first_name,email,status\n\
                   077777,Doe,Jane,jane@d.example,active\n\
                   12x,Doe,Jane,jane@d.example,active\n\
                   5,,Jane,not-an-email,retired\n\
                   077777,Roe,Rick,rick@d.example,active\n";
        let problems = parse_roster_csv(csv.as_bytes()).unwrap_err();
        let printed: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "line 3: employee_id: must be a number from 1 to 999999 (one to six digits)",
                "line 4: last_name: is required",
                "line 4: email: must be an email address such as jane.doe@district.example",
                "line 4: status: must be active or terminated",
                "line 5: employee_id: 077777 already appears on line 2",
            ]
        );
    }

    #[test]
    fn a_site_is_optional_and_checked() {
        let csv = "employee_id,last_name,first_name,email,status,Site\n\
                   1,Doe,Jane,jane@d.example,active, 101 \n\
                   2,Roe,Rick,rick@d.example,active,\n\
                   3,Poe,Pat,pat@d.example,active,101 Main\n\
                   4,Loe,Lee,lee@d.example,active,h\u{200b}s\n";
        let problems = parse_roster_csv(csv.as_bytes()).unwrap_err();
        let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [4, 5], "{problems:?}");
        assert!(problems.iter().all(|p| p.message.starts_with("site:")));
        let good = csv.lines().take(3).collect::<Vec<_>>().join("\n");
        let rows = RosterRows::new(good.as_bytes()).unwrap();
        assert!(rows.has_site());
        let entries: Vec<RosterEntry> = rows.map(Result::unwrap).collect();
        assert_eq!(entries[0].site.as_ref().map(Site::as_str), Some("101"));
        assert_eq!(entries[1].site, None);
        let without =
            "employee_id,last_name,first_name,email,status\n1,Doe,Jane,j@d.example,active\n";
        assert!(!RosterRows::new(without.as_bytes()).unwrap().has_site());
    }

    #[test]
    fn a_personal_address_is_optional_and_checked() {
        let csv = "employee_id,last_name,first_name,email,status,personal_email\n\
                   1,Doe,Jane,jane@d.example,active,Jane.Doe@Home.example\n\
                   2,Roe,Rick,rick@d.example,active,\n\
                   3,Poe,Pat,pat@d.example,active,not an address\n";
        let problems = parse_roster_csv(csv.as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 4);
        assert!(problems[0].message.starts_with("personal_email:"));
        let good = csv.lines().take(3).collect::<Vec<_>>().join("\n");
        let entries = parse_roster_csv(good.as_bytes()).unwrap();
        assert_eq!(
            entries[0].personal_email.as_ref().map(Email::as_str),
            Some("jane.doe@home.example")
        );
        assert_eq!(entries[1].personal_email, None);
        let without = parse_roster_csv(
            "employee_id,last_name,first_name,email,status\n1,Doe,Jane,j@d.example,active\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(without[0].personal_email, None);
    }

    #[test]
    fn a_missing_column_is_named() {
        let problems = parse_roster_csv("employee_id,last_name,email\n".as_bytes()).unwrap_err();
        let printed: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            printed,
            [
                "line 1: the header has no column \"first_name\"",
                "line 1: the header has no column \"status\""
            ]
        );
    }

    #[test]
    fn invalid_utf8_is_reported() {
        let mut bytes = b"employee_id,last_name,first_name,email,status\n1,Do".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(b",Jane,j@d.example,active\n");
        let problems = parse_roster_csv(&bytes[..]).unwrap_err();
        assert_eq!(problems[0].line, 2);
        assert!(problems[0].message.contains("UTF-8"));
    }
}
