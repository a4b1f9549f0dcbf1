//! Text rules shared by names, answers and passwords: invisible characters, and the two folds
//! used for matching (names) and for hashing (answers).

use unicode_normalization::{UnicodeNormalization, char::is_combining_mark};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// True when `s` holds a character that is not seen as typed: a control (NUL, tab, line
/// breaks, escapes, DEL, C1), a format character (zero-width spaces and joiners, bidi
/// overrides such as U+202E, the BOM) or a line or paragraph separator (U+2028, U+2029).
/// Such characters make one text look like another, or break the lines it is written in.
pub fn has_invisible(s: &str) -> bool {
    // Most text is ASCII, where only the controls are invisible (no format or separator
    // character is ASCII): a byte test instead of a table lookup per character (a quarter
    // of a large roster import's time before).
    if s.is_ascii() {
        return s.bytes().any(|b| b.is_ascii_control());
    }
    s.chars().any(|c| {
        matches!(
            c.general_category(),
            GeneralCategory::Control
                | GeneralCategory::Format
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
    })
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
pub(crate) mod tests {
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
    fn invisible_characters_are_found() {
        for bad in [
            "a\0b",
            "a\nb",
            "a\rb",
            "a\tb",
            "a\u{1b}b",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{200b}b", // zero-width space
            "a\u{200d}b", // zero-width joiner
            "a\u{202e}b", // right-to-left override
            "a\u{2066}b", // left-to-right isolate
            "a\u{feff}b", // byte order mark
            "a\u{2028}b", // line separator
            "a\u{2029}b", // paragraph separator
            "\u{e0041}",  // tag character
        ] {
            assert!(has_invisible(bad), "{bad:?}");
        }
        // Letters of any script, accents, punctuation, emoji and spaces are what people type.
        assert!(!has_invisible("Zoë O'Brien, Jr. 😀 日本 Ж"));
        assert!(!has_invisible("no\u{a0}break"));
    }

    /// Any text, with the invisible characters people paste by accident or attackers on
    /// purpose mixed in often.
    pub(crate) const ANY_TEXT: &str =
        "((?s:.)|[\\x{0}\\x{9}\\x{200B}\\x{200D}\\x{202E}\\x{2028}\\x{2029}\\x{FEFF}]){0,40}";

    /// [`ANY_TEXT`] long enough to cross the password bounds (8 and 128 characters).
    pub(crate) const ANY_LONG_TEXT: &str =
        "((?s:.)|[\\x{0}\\x{9}\\x{200B}\\x{200D}\\x{202E}\\x{2028}\\x{2029}\\x{FEFF}]){0,140}";

    proptest! {
        #[test]
        fn an_invisible_character_anywhere_is_found(
            before in "\\PC{0,20}",
            after in "\\PC{0,20}",
            c in "[\\x{0}-\\x{1F}\\x{7F}-\\x{9F}\\x{AD}\\x{200B}-\\x{200F}\\x{2028}-\\x{202E}\\x{2060}-\\x{2064}\\x{2066}-\\x{206F}\\x{FEFF}]",
        ) {
            let text = format!("{before}{c}{after}");
            prop_assert!(has_invisible(&text), "{:?}", text);
        }

        /// The ASCII shortcut says what the Unicode tables say.
        #[test]
        fn ascii_text_is_judged_as_the_tables_judge_it(s in "[\\x00-\\x7F]{0,40}") {
            let by_table = s.chars().any(|c| {
                matches!(
                    c.general_category(),
                    GeneralCategory::Control
                        | GeneralCategory::Format
                        | GeneralCategory::LineSeparator
                        | GeneralCategory::ParagraphSeparator
                )
            });
            prop_assert_eq!(has_invisible(&s), by_table, "{:?}", s);
        }

        #[test]
        fn name_key_is_idempotent(s in ANY_TEXT) {
            let once = name_key(&s);
            prop_assert_eq!(name_key(&once), once.clone());
        }

        #[test]
        fn name_key_ignores_padding_and_case(s in "[A-Za-z]{1,12}( [A-Za-z]{1,12}){0,2}") {
            let padded = format!("  {}  ", s.to_uppercase().replace(' ', "   "));
            prop_assert_eq!(name_key(&padded), name_key(&s));
        }

        #[test]
        fn answer_key_is_idempotent_and_trimmed(s in ANY_TEXT) {
            let once = answer_key(&s);
            prop_assert_eq!(answer_key(&once), once.clone());
            prop_assert_eq!(once.trim(), once.as_str());
            prop_assert!(!once.contains("  "));
        }
    }
}
