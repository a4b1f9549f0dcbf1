//! What is wrong with a configuration, collected while every section is checked, so that an
//! admin sees every problem at once, each naming its key, and nothing starts until all are
//! fixed.

use std::{fmt, fs, path::Path};

/// The problems found so far, one line each.
#[derive(Debug, Default)]
pub(super) struct Problems(Vec<String>);

impl Problems {
    pub(super) fn add(&mut self, key: &str, message: impl fmt::Display) {
        self.0.push(format!("{key}: {message}"));
    }

    /// A problem whose message already names its key.
    pub(super) fn add_named(&mut self, message: impl fmt::Display) {
        self.0.push(message.to_string());
    }

    /// `result`'s value, or `None` with its error recorded under `key`.
    pub(super) fn take<T, E: fmt::Display>(
        &mut self,
        key: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_err(|e| self.add(key, e)).ok()
    }

    /// Records `key` when `value` is zero.
    pub(super) fn at_least_one(&mut self, key: &str, value: u64) {
        if value == 0 {
            self.add(key, "must be at least 1");
        }
    }

    /// The checked parts, or every problem, one per line. `parts` is `None` only when a
    /// problem made a part impossible, so an empty list with no parts is a bug named as such.
    pub(super) fn finish<T>(self, parts: Option<T>) -> anyhow::Result<T> {
        if !self.0.is_empty() {
            anyhow::bail!("invalid configuration:\n  {}", self.0.join("\n  "));
        }
        parts.ok_or_else(|| anyhow::anyhow!("invalid configuration (a part was left unbuilt)"))
    }
}

/// The secret a `*_file` key names: its text without the trailing newline; never empty.
pub(super) fn read_secret_file(path: &Path) -> Result<String, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let secret = text.trim_end_matches(['\n', '\r']).to_owned();
    if secret.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(secret)
}

/// A setting that is one of a few words (`directory.flavor`, `log.format`, …). Read through
/// [`choice`], so a wrong word stops the load with a message that names the key and lists the
/// words, where a derived enum would say "does not have variant constructor".
pub trait Choice: Sized + Copy + 'static {
    /// Every word and the value it stands for.
    const WORDS: &'static [(&'static str, Self)];

    /// The value `word` stands for.
    fn choose(word: &str) -> Result<Self, String> {
        let word = word.trim();
        Self::WORDS
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, value)| *value)
            .ok_or_else(|| {
                let words: Vec<&str> = Self::WORDS.iter().map(|(w, _)| *w).collect();
                format!("must be {}, not {word:?}", words.join(" or "))
            })
    }
}

/// Reads a [`Choice`] (`#[serde(deserialize_with = "choice")]`).
pub(super) fn choice<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Choice,
{
    let word = <String as serde::Deserialize>::deserialize(deserializer)?;
    T::choose(&word).map_err(serde::de::Error::custom)
}
