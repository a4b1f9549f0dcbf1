//! The password policy (NIST SP 800-63B, OWASP ASVS V6.2): a length range, no control
//! characters, not a commonly used or easily guessed password, and nothing built from the
//! person's own names, employee ID or username, and, when the district gives one, not in a
//! list of breached passwords ([`BreachedPasswords`]). No composition rules.

use std::{fmt, sync::Arc};

use secrecy::{ExposeSecret, SecretString};
use zxcvbn::matching::patterns::MatchPattern;

use crate::{
    Rule,
    text::{has_invisible, name_key},
};

/// The fewest characters any configuration may allow.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// The most characters a password may have; longer ones are refused, never truncated.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Below this many estimated guesses (log10) a password counts as easily guessed.
const MIN_GUESSES_LOG10: f64 = 6.0;
/// Personal words shorter than this are too common inside other words to refuse.
const MIN_PERSONAL_WORD_CHARS: usize = 3;

/// A list of passwords seen in breaches, asked once per new password (claimd-breached reads
/// Have I Been Pwned's file).
pub trait BreachedPasswords: Send + Sync + fmt::Debug {
    /// Whether the password is listed, often enough to refuse it.
    fn holds(&self, password: &SecretString) -> std::io::Result<bool>;
}

/// The length rule and the checks every new password goes through.
#[derive(Clone, Debug)]
pub struct PasswordPolicy {
    min_chars: usize,
    ad_complexity: bool,
    breached: Option<Arc<dyn BreachedPasswords>>,
}

impl PasswordPolicy {
    /// The fewest characters a password may have.
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }

    /// A policy requiring at least `min_chars` characters (8 to 128).
    pub fn new(min_chars: usize) -> Result<Self, String> {
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&min_chars) {
            return Err(format!(
                "must be from {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS}"
            ));
        }
        Ok(Self {
            min_chars,
            ad_complexity: false,
            breached: None,
        })
    }

    /// Also refuses passwords the breached list holds.
    pub fn with_breached(self, list: Arc<dyn BreachedPasswords>) -> Self {
        Self {
            breached: Some(list),
            ..self
        }
    }

    /// Also applies Active Directory's complexity rule (three of four character classes), so
    /// the directory's refusal becomes a field error before anything is queued.
    pub fn with_ad_complexity(self, enabled: bool) -> Self {
        Self {
            ad_complexity: enabled,
            ..self
        }
    }

    /// Checks a new password with every rule; the error says why it was refused and never
    /// repeats it. `personal` holds the person's names, employee ID and username
    /// ([`personal_words`]).
    pub fn check(&self, password: &SecretString, personal: &[String]) -> Result<(), Rule> {
        self.check_before_proof(password, personal)?;
        let Some(list) = &self.breached else {
            return Ok(());
        };
        match list.holds(password) {
            Ok(true) => Err(Rule::Breached),
            Ok(false) => Ok(()),
            // The list is one more check over the others, which still hold: an unreadable
            // list must not stop every claim in the district, and IT hears of it at once.
            Err(error) => {
                tracing::error!(list = ?list, %error, "the breached-password list cannot be read; password accepted without it");
                Ok(())
            }
        }
    }

    /// Every rule but the breached list, which is judged only once the person's secrets are
    /// proven (DESIGN, "Security rules"): before that, a listed password costs the caller the
    /// same as any other.
    pub fn check_before_proof(
        &self,
        password: &SecretString,
        personal: &[String],
    ) -> Result<(), Rule> {
        let password = password.expose_secret();
        if has_invisible(password) {
            return Err(Rule::Invisible);
        }
        let chars = password.chars().count();
        if chars < self.min_chars {
            return Err(Rule::AtLeastChars(self.min_chars));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(Rule::AtMostChars(MAX_PASSWORD_CHARS));
        }
        if self.ad_complexity && character_classes(password) < 3 {
            return Err(Rule::DomainComplexity);
        }
        let folded = name_key(password).replace(' ', "");
        if personal.iter().any(|word| folded.contains(word.as_str())) {
            return Err(Rule::PersonalWords);
        }
        let estimate = zxcvbn::zxcvbn(password, &[]);
        if let [only] = estimate.sequence() {
            // `DictionaryType` is not exported by zxcvbn; its default is the list of common
            // passwords (30,000 entries from breach corpora), which is what we compare with.
            if let MatchPattern::Dictionary(word) = &only.pattern
                && word.dictionary_name == Default::default()
            {
                return Err(Rule::CommonPassword);
            }
        }
        if estimate.guesses_log10() < MIN_GUESSES_LOG10 {
            return Err(Rule::EasyToGuess);
        }
        Ok(())
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: MIN_PASSWORD_CHARS,
            ad_complexity: false,
            breached: None,
        }
    }
}

/// How many of AD's character classes the password uses: upper case, lower case, digits,
/// symbols, and letters without case (e.g. CJK), as in "Passwords must meet complexity".
fn character_classes(password: &str) -> usize {
    let has = |test: fn(char) -> bool| password.chars().any(test);
    [
        has(char::is_uppercase),
        has(char::is_lowercase),
        has(|c| c.is_ascii_digit()),
        has(|c| !c.is_alphanumeric()),
        has(|c| c.is_alphabetic() && !c.is_uppercase() && !c.is_lowercase()),
    ]
    .into_iter()
    .filter(|present| *present)
    .count()
}

/// The words a person's password must not contain, folded as [`PasswordPolicy::check`]
/// compares them: each name whole and in parts, the employee ID with and without padding, and
/// the username.
pub fn personal_words(
    last_name: &str,
    first_name: &str,
    employee_id: &str,
    username: &str,
) -> Vec<String> {
    let mut words = Vec::new();
    for name in [last_name, first_name] {
        let key = name_key(name);
        words.push(key.replace(' ', ""));
        words.extend(
            key.split(|c: char| c.is_whitespace() || c == '-' || c == '\'')
                .map(str::to_owned),
        );
    }
    words.push(employee_id.trim_start_matches('0').to_owned());
    words.push(employee_id.to_owned());
    words.push(username.to_ascii_lowercase());
    words.retain(|w| w.chars().count() >= MIN_PERSONAL_WORD_CHARS);
    words.sort();
    words.dedup();
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str) -> Result<(), String> {
        let personal = personal_words("Doe", "Jane", "077777", "e77777");
        PasswordPolicy::default()
            .check(&SecretString::from(password), &personal)
            .map_err(|rule| rule.to_string())
    }

    #[test]
    fn good_passwords_pass() {
        for good in [
            "Correct-Horse-Battery-9",
            "kT9#mQ2zLp",
            "blue mountain tulip river",
            "Ünïcödé Paßwörd 𝄞 fine",
            "N3w-Hire-Pass!",
            &"long enough ".repeat(10)[..120],
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn length_is_counted_in_characters_and_never_truncated() {
        assert!(check("kT9#mQ2").unwrap_err().contains("at least 8"));
        // Seven characters in twenty bytes: still too short.
        assert!(check("ü日本€😀ßÆ").unwrap_err().contains("at least 8"));
        let too_long = format!("{}x", "kT9#mQ2zLp".repeat(13)); // 131 characters
        assert!(check(&too_long).unwrap_err().contains("at most 128"));
        let policy = PasswordPolicy::new(12).unwrap();
        assert!(
            policy
                .check(&SecretString::from("kT9#mQ2zLp"), &[])
                .unwrap_err()
                == Rule::AtLeastChars(12)
        );
        assert!(PasswordPolicy::new(7).is_err());
    }

    #[test]
    fn common_passwords_are_refused() {
        for common in [
            "password",
            "12345678",
            "qwertyuiop",
            "iloveyou",
            "Password1",
            "P@ssw0rd",
            "football",
        ] {
            assert!(check(common).is_err(), "{common}");
        }
    }

    #[test]
    fn guessable_patterns_are_refused() {
        for weak in ["aaaaaaaa", "abcdefgh", "asdfghjkl", "11111111aa"] {
            assert!(check(weak).is_err(), "{weak}");
        }
    }

    #[test]
    fn personal_words_are_refused_whatever_the_case() {
        for personal in [
            "JaneRocks!2931x",
            "xdoe-Qz81#kk",
            "pass77777word!",
            "Ze77777-Qz81#kk",
            "x077777-Qz81#k",
        ] {
            let err = check(personal).unwrap_err();
            assert!(err.contains("your name"), "{personal}: {err}");
        }
    }

    #[test]
    fn accented_names_are_refused_unaccented() {
        let personal = personal_words("García", "Zoë", "000042", "e42");
        let err = PasswordPolicy::default()
            .check(&SecretString::from("Qz81#garcia!kk"), &personal)
            .unwrap_err();
        assert_eq!(err, Rule::PersonalWords);
    }

    #[test]
    fn the_ad_complexity_rule_needs_three_classes() {
        let ad = PasswordPolicy::default().with_ad_complexity(true);
        let check = |p: &str| {
            ad.check(&SecretString::from(p), &[])
                .map_err(|r| r.to_string())
        };
        for weak in [
            "blue mountain tulip river",
            "correcthorsebattery",
            "CORRECT-HORSE-BATTERY",
        ] {
            assert!(check(weak).unwrap_err().contains("complexity"), "{weak}");
        }
        for strong in [
            "Correct-horse-battery",
            "correct-horse-battery-9",
            "Correcthorsebattery9",
        ] {
            assert_eq!(check(strong), Ok(()), "{strong}");
        }
        assert_eq!(
            PasswordPolicy::default().check(&SecretString::from("blue mountain tulip river"), &[]),
            Ok(())
        );
    }

    #[test]
    fn control_and_invisible_characters_are_refused() {
        for bad in [
            "Qz81#kk\nLp2x",
            "Qz81#kk\0Lp2x",
            "Qz81#kk\u{1b}Lp2x",
            "Qz81#kk\u{200b}Lp2x",
            "Qz81#kk\u{202e}Lp2x",
            "Qz81#kk\u{2028}Lp2x",
        ] {
            assert!(check(bad).unwrap_err().contains("invisible"), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn a_password_holding_the_last_name_is_always_refused(
            before in "[a-z0-9!#%]{0,10}",
            after in "[a-z0-9!#%]{0,10}",
            upper in proptest::bool::ANY,
        ) {
            let name = if upper { "DOE-SMITH" } else { "doe-smith" };
            let personal = personal_words("Doe-Smith", "Jane", "077777", "e77777");
            let password = SecretString::from(format!("{before}{name}{after}"));
            proptest::prop_assert!(PasswordPolicy::default().check(&password, &personal).is_err());
        }

        #[test]
        fn length_rules_hold_for_any_text(password in crate::text::tests::ANY_LONG_TEXT) {
            let invisible = crate::text::has_invisible(&password);
            let chars = password.chars().count();
            let result = PasswordPolicy::default().check(&SecretString::from(password), &[]);
            if invisible || !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
                proptest::prop_assert!(result.is_err());
            }
        }

        /// Multi-byte text: the bounds are characters, never bytes.
        #[test]
        fn length_is_counted_in_characters(password in "[ü日本€😀ßÆøЖ漢字 ]{0,140}") {
            let chars = password.chars().count();
            let error = PasswordPolicy::default()
                .check(&SecretString::from(password), &[])
                .err()
                .map(|rule| rule.to_string())
                .unwrap_or_default();
            proptest::prop_assert_eq!(chars < MIN_PASSWORD_CHARS, error.contains("at least 8"));
            proptest::prop_assert_eq!(chars > MAX_PASSWORD_CHARS, error.contains("at most 128"));
        }
    }

    #[test]
    fn errors_never_repeat_the_password() {
        for bad in ["football", "JaneRocks!2931x", "shortpw"] {
            assert!(!check(bad).unwrap_err().contains(bad));
        }
    }
}
