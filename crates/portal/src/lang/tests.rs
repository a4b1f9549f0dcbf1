//! Every text the pages show has its Spanish; the language is chosen as the browser asks.

use std::{collections::BTreeSet, fs, path::Path};

use axum::http::{HeaderMap, HeaderValue, header};

use super::*;

/// The string literals that follow `.t(` or `.f(` in `text` (templates and Rust alike).
fn msgids(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for marker in [".t(", ".f("] {
        for (at, _) in text.match_indices(marker) {
            let rest = text[at + marker.len()..].trim_start();
            let Some(rest) = rest.strip_prefix('"') else {
                continue;
            };
            let mut literal = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => literal.push(chars.next().unwrap_or('\\')),
                    c => literal.push(c),
                }
            }
            found.push(literal);
        }
    }
    found
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs" || e == "html") {
            out.push(path);
        }
    }
}

#[test]
fn every_text_of_the_pages_has_its_spanish() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    files(&root.join("src"), &mut paths);
    files(&root.join("templates"), &mut paths);
    let mut wanted = BTreeSet::new();
    for path in paths {
        if path.ends_with("lang/tests.rs") {
            continue;
        }
        wanted.extend(msgids(&fs::read_to_string(&path).unwrap()));
    }
    wanted.extend(
        claimd_core::QuestionPool::default()
            .questions()
            .iter()
            .map(|q| q.text.clone()),
    );
    assert!(wanted.len() > 100, "the scan finds the texts: {wanted:?}");
    let missing: Vec<_> = wanted
        .iter()
        .filter(|w| !SPANISH.contains_key(w.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "no Spanish for:\n{}",
        missing
            .iter()
            .map(|m| format!("    (\"{m}\", \"\"),"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // A translation keeps the placeholders of its English.
    for (english, spanish) in crate::es::CATALOG {
        assert_eq!(
            english.matches("{n}").count(),
            spanish.matches("{n}").count(),
            "{english}"
        );
        assert!(!spanish.is_empty(), "{english}");
    }
}

fn accepting(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ACCEPT_LANGUAGE,
        HeaderValue::from_str(value).unwrap(),
    );
    headers
}

#[test]
fn the_browser_the_switch_and_the_cookie_choose_the_language() {
    let none = HeaderMap::new();
    assert_eq!(Lang::of("/", None, &none).code(), "en");
    assert_eq!(
        Lang::of("/", None, &accepting("es-MX,es;q=0.9,en;q=0.8")).code(),
        "es"
    );
    assert_eq!(
        Lang::of("/", None, &accepting("fr-FR, en;q=0.5, es;q=0.7")).code(),
        "es"
    );
    assert_eq!(Lang::of("/", None, &accepting("es;q=0, en")).code(), "en");
    assert_eq!(Lang::of("/", None, &accepting("de")).code(), "en");
    // The switch wins over the browser, and the cookie remembers it.
    let es = accepting("es");
    assert_eq!(Lang::of("/claim", Some("lang=en"), &es).code(), "en");
    let mut cookie = accepting("es");
    cookie.insert(
        header::COOKIE,
        HeaderValue::from_static("claimd_csrf=ab; claimd_lang=en"),
    );
    assert_eq!(Lang::of("/claim", None, &cookie).code(), "en");
    // The switch keeps the page's other parameters.
    let lang = Lang::of("/claim/done", Some("op=1&u=e77777&s=ff&lang=en"), &none);
    assert_eq!(lang.switch_href(), "/claim/done?op=1&u=e77777&s=ff&lang=es");
    assert_eq!(lang.switch_label(), "Español");
}

/// Every rule a field can break reads in Spanish, with its number, and in English as core
/// words it; the page picks the words by the rule, so rewording core changes no Spanish page.
#[test]
fn every_field_rule_reads_in_both_languages() {
    let es = Lang::of("/", Some("lang=es"), &HeaderMap::new());
    let en = Lang::default();
    for &rule in claimd_core::Rule::ALL {
        let spanish = es.field_rule(rule);
        assert_eq!(en.field_rule(rule), rule.to_string());
        assert_ne!(spanish, rule.to_string(), "{rule:?}");
        if let Some(n) = rule.number() {
            assert!(spanish.contains(&n.to_string()), "{rule:?}: {spanish}");
        }
    }
    assert_eq!(
        es.field_rule(claimd_core::Rule::AtLeastChars(12)),
        "debe tener al menos 12 caracteres"
    );
}

#[test]
fn reasons_keep_their_numbers_in_spanish() {
    let es = Lang::of("/", Some("lang=es"), &HeaderMap::new());
    let english = claimd_core::reasons::PASSWORD_REFUSED.replace("{n}", "19");
    let spanish = es.reason(&english);
    assert_ne!(spanish, english);
    assert!(spanish.contains("19"), "{spanish}");
    // Something the pages do not know stays as the service said it.
    assert_eq!(es.reason("an unknown reason 7"), "an unknown reason 7");
    assert_eq!(Lang::default().reason(&english), english);
}

/// Every reason an operation can end with (claimd_core::reasons), shown on the claim's and
/// the reset's failed finish page in Spanish: the Spanish is there, the English is not.
#[test]
fn every_failure_reason_reads_in_spanish_on_the_finish_pages() {
    use askama::Template;
    let es = Lang::of("/claim/done", Some("lang=es"), &HeaderMap::new());
    let site = crate::PortalSettings::default();
    let unescape = |html: String| {
        html.replace("&#x27;", "'")
            .replace("&#39;", "'")
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
    };
    for template in claimd_core::reasons::ALL {
        let english = template.replace("{n}", "7");
        let spanish = SPANISH
            .get(template)
            .unwrap_or_else(|| panic!("no Spanish for {template:?}"))
            .replace("{n}", "7");
        let operation = claimd_core::Operation {
            id: claimd_core::OperationId::new(),
            state: claimd_core::OperationState::Failed,
            reason: Some(english.clone()),
        };
        let pages = [
            crate::claim::done_page(&site, es.clone(), "e77777".into(), &operation)
                .render()
                .unwrap(),
            crate::recovery::changed_page(&site, es.clone(), &operation, true)
                .render()
                .unwrap(),
        ];
        for html in pages.map(unescape) {
            assert!(html.contains(&spanish), "{spanish:?} missing from\n{html}");
            assert!(!html.contains(&english), "{english:?} shown in English");
        }
    }
}

/// The directory writer and the worker word every refusal with a text of
/// `claimd_core::reasons`, so the test above covers each reason a finish page can show: a
/// refusal written as a literal here would reach the page untranslated.
#[test]
fn every_refusal_the_writer_and_the_worker_make_is_a_listed_reason() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut paths = Vec::new();
    files(&crates.join("ldap/src"), &mut paths);
    files(&crates.join("sync/src"), &mut paths);
    let mut made = 0;
    for path in paths {
        let text = fs::read_to_string(&path).unwrap();
        // Unit tests may spell reasons out.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for marker in ["DirectoryError::Permanent {", "JobOutcome::Failed {"] {
            for (at, _) in code.match_indices(marker) {
                let rest = code[at + marker.len()..].trim_start();
                let Some(value) = rest.strip_prefix("reason:") else {
                    continue; // a pattern, or `{ reason }` made from a listed reason above it
                };
                made += 1;
                let value = value.trim_start();
                assert!(
                    value.starts_with("reasons::") || value.starts_with("reason.into()"),
                    "{}: a reason not taken from claimd_core::reasons: {}",
                    path.display(),
                    value.lines().next().unwrap_or_default()
                );
            }
        }
    }
    assert!(made >= 8, "the scan finds the refusals ({made})");
}
