//! Usernames and the template they are made from (`e{id}` gives `e77777`).

use std::fmt;

use crate::{EmployeeId, Rule};

/// A directory username: 1 to 20 characters (AD's sAMAccountName limit) of lowercase ASCII
/// letters, digits, `.`, `-` and `_`, starting with a letter or digit.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Parses a username as a person types it: surrounding spaces and case are ignored.
    pub fn parse(typed: &str) -> Result<Self, Rule> {
        let value = typed.trim().to_ascii_lowercase();
        let valid_chars = value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        let starts_well = value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
        if value.len() > 20 || !valid_chars || !starts_well {
            return Err(Rule::UsernameForm);
        }
        Ok(Self(value))
    }

    /// The username as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}

/// How a username is made from an employee ID: text around one placeholder, `{id}` (the
/// number without padding, `e{id}` gives `e77777`) or `{id6}` (six digits, `e{id6}` gives `e077777`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsernameTemplate {
    prefix: String,
    suffix: String,
    padded: bool,
}

impl UsernameTemplate {
    /// Parses a template; the error says what is wrong with it.
    pub fn parse(template: &str) -> Result<Self, String> {
        let (placeholder, padded) = match (template.find("{id}"), template.find("{id6}")) {
            (Some(_), Some(_)) => return Err("must hold only one of {id} and {id6}".into()),
            (Some(_), None) => ("{id}", false),
            (None, Some(_)) => ("{id6}", true),
            (None, None) => return Err("must hold the placeholder {id} or {id6}".into()),
        };
        let (prefix, suffix) = template.split_once(placeholder).expect("placeholder found");
        if prefix.contains('{')
            || suffix.contains('{')
            || prefix.contains('}')
            || suffix.contains('}')
        {
            return Err("must hold exactly one placeholder and no other braces".into());
        }
        let parsed = Self {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
            padded,
        };
        // Every ID must give a valid, distinct username: checking the longest and shortest
        // renderings is enough, since only the digits change.
        for number in [1, EmployeeId::MAX] {
            let id = EmployeeId::new(number).expect("in range");
            let rendered = parsed.render_raw(id);
            if rendered != rendered.to_ascii_lowercase() {
                return Err("must be lowercase".into());
            }
            Username::parse(&rendered)
                .map_err(|rule| format!("gives {rendered:?}, but a username {rule}"))?;
        }
        Ok(parsed)
    }

    /// The username for an employee ID.
    pub fn render(&self, id: EmployeeId) -> Username {
        Username(self.render_raw(id))
    }

    /// The employee ID whose username this is, when the template made it (`e77777` gives
    /// 77777): how a username typed at the portal leads back to its claim key.
    pub fn employee_id(&self, username: &Username) -> Option<EmployeeId> {
        let digits = username
            .as_str()
            .strip_prefix(self.prefix.as_str())?
            .strip_suffix(self.suffix.as_str())?;
        let canonical = if self.padded {
            digits.len() == 6
        } else {
            !digits.starts_with('0')
        };
        if !canonical || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let id = EmployeeId::new(digits.parse().ok()?)?;
        (self.render(id) == *username).then_some(id)
    }

    fn render_raw(&self, id: EmployeeId) -> String {
        if self.padded {
            format!("{}{}{}", self.prefix, id, self.suffix)
        } else {
            format!("{}{}{}", self.prefix, id.get(), self.suffix)
        }
    }
}

impl Default for UsernameTemplate {
    fn default() -> Self {
        Self::parse("e{id}").expect("the default template is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> EmployeeId {
        EmployeeId::new(n).unwrap()
    }

    #[test]
    fn a_rendered_username_leads_back_to_its_id() {
        let plain = UsernameTemplate::default();
        let name = |s: &str| Username::parse(s).unwrap();
        assert_eq!(plain.employee_id(&name("e77777")), Some(id(77777)));
        for other in ["e077777", "x77777", "e", "e1x", "e1000000", "e0"] {
            assert_eq!(plain.employee_id(&name(other)), None, "{other}");
        }
        let padded = UsernameTemplate::parse("staff{id6}.k12").unwrap();
        assert_eq!(
            padded.employee_id(&name("staff077777.k12")),
            Some(id(77777))
        );
        assert_eq!(padded.employee_id(&name("staff77777.k12")), None);
    }

    #[test]
    fn default_template_gives_the_sheet_username() {
        assert_eq!(
            UsernameTemplate::default().render(id(77777)).as_str(),
            "e77777"
        );
    }

    #[test]
    fn padded_and_suffixed_templates() {
        let t = UsernameTemplate::parse("emp{id6}.staff").unwrap();
        assert_eq!(t.render(id(42)).as_str(), "emp000042.staff");
    }

    #[test]
    fn bad_templates_say_why() {
        for bad in [
            "e",
            "e{id}{id6}",
            "{id}{",
            "E{id}",
            "e {id}",
            "averyveryverylongprefix{id}",
            "-{id}",
        ] {
            assert!(UsernameTemplate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn typed_usernames_ignore_case_and_spaces() {
        assert_eq!(Username::parse(" E77777 ").unwrap().as_str(), "e77777");
        for bad in [
            "",
            "e 777",
            "e77777*",
            "(uid=*)",
            "é1",
            "_x",
            "abcdefghijklmnopqrstu",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }
}
