//! English and Spanish. The page's language is the one its link asks for (`?lang=es`, which
//! the switch on every page sets and a cookie then remembers), else the browser's
//! `Accept-Language`, else English. Texts are looked up by their English wording, as gettext
//! does: a missing translation shows the English, and a test lists every text the templates
//! and the pages use that has none.

use std::{collections::HashMap, fmt::Display, sync::LazyLock};

use axum::{
    extract::{FromRequestParts, Request},
    http::{HeaderMap, HeaderValue, header, request::Parts},
    middleware::Next,
    response::Response,
};

/// The cookie that remembers a switch.
const COOKIE: &str = "claimd_lang";

/// The languages of the pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Language {
    #[default]
    En,
    Es,
}

impl Language {
    fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Es => "es",
        }
    }

    fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().split(['-', '_']).next()? {
            "en" => Some(Self::En),
            "es" => Some(Self::Es),
            _ => None,
        }
    }
}

/// The language a page is drawn in, and how to switch to the other one.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lang {
    language: Language,
    /// This page's path with `lang=` set to the other language.
    switch_href: String,
}

impl Lang {
    /// `en` or `es`, for `<html lang>`.
    pub(crate) fn code(&self) -> &'static str {
        self.language.code()
    }

    /// The text in this language (the English itself when there is no translation).
    pub(crate) fn t(&self, english: &'static str) -> &'static str {
        match self.language {
            Language::En => english,
            Language::Es => SPANISH.get(english).copied().unwrap_or(english),
        }
    }

    /// [`Lang::t`] with `{n}` replaced by `n`.
    pub(crate) fn f(&self, english: &'static str, n: impl Display) -> String {
        self.t(english).replace("{n}", &n.to_string())
    }

    /// The words an operation ended with ([`claimd_core::reasons`], "the directory refused
    /// the password (result 19)"), translated when they are ones the pages know, the number
    /// kept; anything else stays as the service said it.
    pub(crate) fn reason(&self, english: &str) -> String {
        if self.language == Language::En {
            return english.to_owned();
        }
        if let Some(text) = SPANISH.get(english) {
            return (*text).to_owned();
        }
        // One number in the rule: look it up as "{n}".
        let start = english.find(|c: char| c.is_ascii_digit());
        if let Some(start) = start {
            let end = english[start..]
                .find(|c: char| !c.is_ascii_digit())
                .map_or(english.len(), |e| start + e);
            let pattern = format!("{}{{n}}{}", &english[..start], &english[end..]);
            if let Some(text) = SPANISH.get(pattern.as_str()) {
                return text.replace("{n}", &english[start..end]);
            }
        }
        english.to_owned()
    }

    /// A field's rule in this language, chosen by its code, never by its English words.
    pub(crate) fn field_rule(&self, rule: claimd_core::Rule) -> String {
        match self.language {
            Language::En => rule.to_string(),
            Language::Es => crate::es::rule(rule),
        }
    }

    /// A question as the district wrote it, translated when it is one of the built-in ones.
    pub(crate) fn question(&self, text: &str) -> String {
        self.reason(text)
    }

    /// Where the switch on the page goes.
    pub(crate) fn switch_href(&self) -> &str {
        &self.switch_href
    }

    /// The other language's name, in that language (what the switch says).
    pub(crate) fn switch_label(&self) -> &'static str {
        match self.language {
            Language::En => "Español",
            Language::Es => "English",
        }
    }

    /// The other language's code (the switch's `lang` and `hreflang`).
    pub(crate) fn switch_code(&self) -> &'static str {
        match self.language {
            Language::En => "es",
            Language::Es => "en",
        }
    }

    /// The language for a request: its `lang` query, its cookie, its `Accept-Language`.
    pub(crate) fn of(path: &str, query: Option<&str>, headers: &HeaderMap) -> Self {
        let language = asked(query)
            .or_else(|| remembered(headers))
            .or_else(|| accepted(headers))
            .unwrap_or_default();
        let other = match language {
            Language::En => Language::Es,
            Language::Es => Language::En,
        };
        let mut href = format!("{path}?");
        let kept = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .filter(|(name, _)| name != "lang");
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(kept).append_pair("lang", other.code());
        href.push_str(&query.finish());
        Self {
            language,
            switch_href: href,
        }
    }
}

fn asked(query: Option<&str>) -> Option<Language> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(name, _)| name == "lang")
        .and_then(|(_, value)| Language::parse(&value))
}

fn remembered(headers: &HeaderMap) -> Option<Language> {
    Language::parse(&crate::csrf::cookie(headers, COOKIE)?)
}

/// The browser's most preferred language the pages have (`es-MX;q=0.9, en;q=0.8`).
fn accepted(headers: &HeaderMap) -> Option<Language> {
    let value = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    let mut best: Option<(f32, Language)> = None;
    for item in value.split(',') {
        let mut parts = item.split(';');
        let Some(language) = parts.next().and_then(Language::parse) else {
            continue;
        };
        let quality = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, language));
        }
    }
    best.map(|(_, language)| language)
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(
            parts.uri.path(),
            parts.uri.query(),
            &parts.headers,
        ))
    }
}

/// Remembers a switch: a request that asks for a language (`?lang=es`) gets a cookie, so the
/// next pages (and the form posts) stay in it.
pub(crate) async fn remember(request: Request, next: Next) -> Response {
    let asked = asked(request.uri().query());
    let mut response = next.run(request).await;
    if let Some(language) = asked {
        let cookie = format!(
            "{COOKIE}={}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Strict",
            language.code()
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

static SPANISH: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    crate::es::CATALOG
        .iter()
        .chain(crate::helpdesk::es::CATALOG)
        .copied()
        .collect()
});

#[cfg(test)]
mod tests;
