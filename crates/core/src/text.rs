//! Text rules shared by names, answers and passwords: control characters, and the two folds
//! used for matching (names) and for hashing (answers).

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};

/// True when `s` holds a control character: NUL, tab, line breaks, escapes, DEL or C1 controls.
pub fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// The key two names are compared by: accents dropped, case folded, surrounding and repeated
/// spaces removed, and nothing else (hyphens and apostrophes still count).
pub fn name_key(s: &str) -> String {
    let unaccented: String = s.nfd().filter(|c| !is_combining_mark(*c)).collect();
    collapse_spaces(&caseless::default_case_fold_str(&unaccented))
}

/// The key a challenge answer is hashed from: compatibility-normalised (NFKC), accents
/// dropped, case folded, and spaces trimmed and collapsed, so `  Rex ` and `rex` are one answer.
pub fn answer_key(s: &str) -> String {
    let unaccented: String = s.nfkd().filter(|c| !is_combining_mark(*c)).collect();
    let folded = caseless::default_case_fold_str(&unaccented);
    collapse_spaces(&folded.nfkc().collect::<String>())
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_ignore_case_accents_and_extra_spaces() {
        assert_eq!(name_key("García"), name_key("garcia"));
        assert_eq!(name_key("  De   la  CRUZ "), "de la cruz");
        assert_eq!(name_key("Zoë"), name_key("ZOE"));
        assert_eq!(name_key("STRASSE"), name_key("Straße"));
    }

    #[test]
    fn names_keep_everything_else() {
        assert_ne!(name_key("O'Brien"), name_key("OBrien"));
        assert_ne!(name_key("Smith-Jones"), name_key("Smith Jones"));
        assert_ne!(name_key("Smith)(uid=*"), name_key("Smith"));
    }

    #[test]
    fn answers_fold_width_case_accents_and_spaces() {
        assert_eq!(answer_key("  Rex   the DOG "), "rex the dog");
        assert_eq!(answer_key("Ｒｅｘ"), "rex");
        assert_eq!(answer_key("Jonesbóro"), answer_key("JONESBORO"));
    }

    #[test]
    fn control_characters_are_found() {
        for bad in [
            "a\0b", "a\nb", "a\rb", "a\tb", "a\u{1b}b", "a\u{7f}b", "a\u{85}b",
        ] {
            assert!(has_control(bad), "{bad:?}");
        }
        assert!(!has_control("Zoë O'Brien, Jr. 😀"));
    }

    proptest! {
        #[test]
        fn name_key_is_idempotent(s in "\\PC{0,40}") {
            let once = name_key(&s);
            prop_assert_eq!(name_key(&once), once.clone());
        }

        #[test]
        fn name_key_ignores_padding_and_case(s in "[A-Za-z]{1,12}( [A-Za-z]{1,12}){0,2}") {
            let padded = format!("  {}  ", s.to_uppercase().replace(' ', "   "));
            prop_assert_eq!(name_key(&padded), name_key(&s));
        }

        #[test]
        fn answer_key_is_idempotent_and_trimmed(s in "\\PC{0,40}") {
            let once = answer_key(&s);
            prop_assert_eq!(answer_key(&once), once.clone());
            prop_assert_eq!(once.trim(), once.as_str());
            prop_assert!(!once.contains("  "));
        }
    }
}
