//! What can be wrong with one field of a request: a closed set. Each rule has a stable code,
//! which crosses the wire as `google.rpc.BadRequest.FieldViolation.reason` and which the pages
//! translate, and its English words, which cross as the violation's `description`. Rewording
//! a rule here changes what English callers read; it cannot untranslate a page.

use std::fmt;

/// Why a field was refused. The words never repeat the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Left empty.
    Required,
    /// Holds a control or invisible character (tab, line break, zero-width space, …).
    Invisible,
    /// Holds a control or invisible character other than a line break (free text).
    InvisibleInText,
    /// Fewer characters than the number.
    AtLeastChars(usize),
    /// More characters than the number.
    AtMostChars(usize),
    /// Fewer than three of AD's character classes.
    DomainComplexity,
    /// Contains the person's name, employee ID or username.
    PersonalWords,
    /// One of the most common passwords.
    CommonPassword,
    /// Too easy to guess by zxcvbn's estimate.
    EasyToGuess,
    /// In the district's list of breached passwords.
    Breached,
    /// The new password is the current one.
    SameAsCurrent,
    /// An answer is the new password.
    SameAsPassword,
    /// Not a username's form.
    UsernameForm,
    /// Not six digits as typed at the portal.
    EmployeeIdForm,
    /// Not one to six digits as HR exports it.
    RosterEmployeeIdForm,
    /// Neither empty nor up to six digits (a work order's optional ID).
    OptionalEmployeeIdForm,
    /// Not an email address.
    EmailForm,
    /// Not an operation id.
    OperationIdForm,
    /// A question id that is not offered.
    QuestionNotOffered,
    /// Not the number of answers a claim or an update sets.
    AnswerCount(usize),
    /// Not the number of answers for the questions a reset showed.
    ShownAnswerCount(usize),
    /// Two answers for one question.
    DistinctQuestions,
    /// Two answers alike.
    DistinctAnswers,
    /// The password is right but has expired or must be changed before it may be used.
    ChangeFirst,
    /// A rule this build does not know (a newer server's code); its words are kept by no one,
    /// so the field is only said to be wrong.
    Unrecognized,
}

impl Rule {
    /// Every rule, with a sample number where it has one, for tests that cover them all.
    pub const ALL: &'static [Rule] = &[
        Self::Required,
        Self::Invisible,
        Self::InvisibleInText,
        Self::AtLeastChars(12),
        Self::AtMostChars(100),
        Self::DomainComplexity,
        Self::PersonalWords,
        Self::CommonPassword,
        Self::EasyToGuess,
        Self::Breached,
        Self::SameAsCurrent,
        Self::SameAsPassword,
        Self::UsernameForm,
        Self::EmployeeIdForm,
        Self::RosterEmployeeIdForm,
        Self::OptionalEmployeeIdForm,
        Self::EmailForm,
        Self::OperationIdForm,
        Self::QuestionNotOffered,
        Self::AnswerCount(3),
        Self::ShownAnswerCount(3),
        Self::DistinctQuestions,
        Self::DistinctAnswers,
        Self::ChangeFirst,
        Self::Unrecognized,
    ];

    /// The stable code, in SCREAMING_SNAKE_CASE as `BadRequest` reasons are written.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Required => "REQUIRED",
            Self::Invisible => "INVISIBLE_CHARACTERS",
            Self::InvisibleInText => "INVISIBLE_CHARACTERS_IN_TEXT",
            Self::AtLeastChars(_) => "TOO_SHORT",
            Self::AtMostChars(_) => "TOO_LONG",
            Self::DomainComplexity => "DOMAIN_COMPLEXITY",
            Self::PersonalWords => "PERSONAL_WORDS",
            Self::CommonPassword => "COMMON_PASSWORD",
            Self::EasyToGuess => "EASY_TO_GUESS",
            Self::Breached => "BREACHED_PASSWORD",
            Self::SameAsCurrent => "SAME_AS_CURRENT_PASSWORD",
            Self::SameAsPassword => "SAME_AS_PASSWORD",
            Self::UsernameForm => "USERNAME_FORM",
            Self::EmployeeIdForm => "EMPLOYEE_ID_FORM",
            Self::RosterEmployeeIdForm => "ROSTER_EMPLOYEE_ID_FORM",
            Self::OptionalEmployeeIdForm => "OPTIONAL_EMPLOYEE_ID_FORM",
            Self::EmailForm => "EMAIL_FORM",
            Self::OperationIdForm => "OPERATION_ID_FORM",
            Self::QuestionNotOffered => "QUESTION_NOT_OFFERED",
            Self::AnswerCount(_) => "ANSWER_COUNT",
            Self::ShownAnswerCount(_) => "SHOWN_ANSWER_COUNT",
            Self::DistinctQuestions => "DISTINCT_QUESTIONS",
            Self::DistinctAnswers => "DISTINCT_ANSWERS",
            Self::ChangeFirst => "PASSWORD_MUST_BE_CHANGED",
            Self::Unrecognized => "UNRECOGNIZED",
        }
    }

    /// The number the rule carries (a length or a count), if any.
    pub const fn number(self) -> Option<usize> {
        match self {
            Self::AtLeastChars(n)
            | Self::AtMostChars(n)
            | Self::AnswerCount(n)
            | Self::ShownAnswerCount(n) => Some(n),
            _ => None,
        }
    }

    /// The rule a code and its words stand for, as a client reads them back. The number of a
    /// rule that has one is the first number in its words (there is only one); a code this
    /// build does not know is [`Rule::Unrecognized`].
    pub fn from_code(code: &str, words: &str) -> Self {
        let number = || {
            let digits: String = words
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        };
        let with_number = |make: fn(usize) -> Self| number().map_or(Self::Unrecognized, make);
        match code {
            "TOO_SHORT" => with_number(Self::AtLeastChars),
            "TOO_LONG" => with_number(Self::AtMostChars),
            "ANSWER_COUNT" => with_number(Self::AnswerCount),
            "SHOWN_ANSWER_COUNT" => with_number(Self::ShownAnswerCount),
            code => Self::ALL
                .iter()
                .copied()
                .find(|rule| rule.number().is_none() && rule.code() == code)
                .unwrap_or(Self::Unrecognized),
        }
    }
}

/// The English words, as a predicate of the field ("must be at least 12 characters").
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Required => f.write_str("is required"),
            Self::Invisible => f.write_str(
                "must not contain control or invisible characters such as line breaks, tabs, \
                 zero-width spaces or direction marks",
            ),
            Self::InvisibleInText => f.write_str(
                "must not contain control or invisible characters other than line breaks",
            ),
            Self::AtLeastChars(n) => write!(f, "must be at least {n} characters"),
            Self::AtMostChars(n) => write!(f, "must be at most {n} characters"),
            Self::DomainComplexity => f.write_str(
                "must contain three of: upper-case letters, lower-case letters, digits, symbols \
                 (the domain's complexity rule)",
            ),
            Self::PersonalWords => {
                f.write_str("must not contain your name, employee ID or username")
            }
            Self::CommonPassword => {
                f.write_str("is one of the most commonly used passwords; choose another")
            }
            Self::EasyToGuess => f.write_str(
                "is too easy to guess (a common word, name, date or keyboard pattern); try a \
                 longer phrase of unrelated words",
            ),
            Self::Breached => f.write_str(
                "appears in lists of passwords exposed in data breaches, which attackers try \
                 first; choose another",
            ),
            Self::SameAsCurrent => f.write_str("must differ from the current password"),
            Self::SameAsPassword => f.write_str("must not be your password"),
            Self::UsernameForm => f.write_str(
                "must be 1 to 20 letters, digits, '.', '-' or '_', starting with a letter or digit",
            ),
            Self::EmployeeIdForm => {
                f.write_str("must be exactly six digits, with leading zeros (for example 077777)")
            }
            Self::RosterEmployeeIdForm => {
                f.write_str("must be a number from 1 to 999999 (one to six digits)")
            }
            Self::OptionalEmployeeIdForm => f.write_str("must be up to six digits, or left empty"),
            Self::EmailForm => {
                f.write_str("must be an email address such as jane.doe@district.example")
            }
            Self::OperationIdForm => {
                f.write_str("must be an operation id as returned by the service")
            }
            Self::QuestionNotOffered => f.write_str("is not one of the offered questions"),
            Self::AnswerCount(n) => write!(
                f,
                "exactly {n} answers are required, each for a different question"
            ),
            Self::ShownAnswerCount(n) => write!(
                f,
                "exactly {n} answers are required, one for each question shown"
            ),
            Self::DistinctQuestions => f.write_str("each answer must be for a different question"),
            Self::DistinctAnswers => f.write_str("each answer must be different"),
            Self::ChangeFirst => f.write_str(
                "has expired or must be changed: change it first (Change My Password), then \
                 sign in with the new one",
            ),
            Self::Unrecognized => f.write_str("is not valid"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Rule;

    #[test]
    fn every_rule_reads_back_from_its_code_and_words() {
        for &rule in Rule::ALL {
            assert_eq!(Rule::from_code(rule.code(), &rule.to_string()), rule);
        }
        let mut codes: Vec<&str> = Rule::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Rule::ALL.len(), "two rules share a code");
    }

    #[test]
    fn an_unknown_code_or_a_missing_number_is_unrecognized() {
        assert_eq!(
            Rule::from_code("NEWER_RULE", "must be blue"),
            Rule::Unrecognized
        );
        assert_eq!(Rule::from_code("TOO_SHORT", "is short"), Rule::Unrecognized);
    }
}
