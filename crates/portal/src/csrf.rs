//! CSRF tokens without server state: a form's GET sets a random nonce in an HttpOnly,
//! SameSite=Strict cookie and puts HMAC(key, nonce) in the form; a POST is taken only when the
//! two agree. Another site can neither read the cookie nor compute the token.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The cookie holding the nonce.
pub(crate) const COOKIE: &str = "claimd_csrf";

/// The key tokens are computed with (derived from the seal key, so it survives restarts).
#[derive(Clone)]
pub struct CsrfKey([u8; 32]);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey([redacted])")
    }
}

impl CsrfKey {
    /// A key from 32 secret bytes.
    pub fn new(key: [u8; 32]) -> Self {
        Self(key)
    }

    /// A key of this process alone (`claimd portal`, which holds no seal key): forms open
    /// across a restart ask to be reloaded.
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// A fresh nonce for a form's cookie.
    pub(crate) fn nonce() -> String {
        let bytes: [u8; 16] = rand::random();
        hex(&bytes)
    }

    /// The nonce of the browser's cookie when it has a well-formed one (so a second tab does
    /// not invalidate the first tab's form), else a fresh one.
    pub(crate) fn nonce_for(headers: &axum::http::HeaderMap) -> String {
        nonce_from(headers)
            .filter(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()))
            .unwrap_or_else(Self::nonce)
    }

    /// A signature of `text` (for values a link carries that a page then shows as fact).
    pub(crate) fn sign(&self, text: &str) -> String {
        self.token(&format!("sign:{text}"))
    }

    /// True when `signature` is [`CsrfKey::sign`] of `text`.
    pub(crate) fn signed(&self, text: &str, signature: &str) -> bool {
        self.verify(&format!("sign:{text}"), signature)
    }

    /// The token a form carries for `nonce`.
    pub(crate) fn token(&self, nonce: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("any key length");
        mac.update(nonce.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// True when `token` was made for `nonce` (compared in constant time).
    pub(crate) fn verify(&self, nonce: &str, token: &str) -> bool {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("any key length");
        mac.update(nonce.as_bytes());
        match unhex(token) {
            Some(bytes) => mac.verify_slice(&bytes).is_ok(),
            None => false,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The nonce in a request's `Cookie` header lines.
pub(crate) fn nonce_from(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_good_only_for_its_nonce_and_key() {
        let key = CsrfKey::new([7; 32]);
        let nonce = CsrfKey::nonce();
        let token = key.token(&nonce);
        assert!(key.verify(&nonce, &token));
        assert!(!key.verify(&CsrfKey::nonce(), &token));
        assert!(!CsrfKey::new([8; 32]).verify(&nonce, &token));
        assert!(!key.verify(&nonce, ""));
        assert!(!key.verify(&nonce, "zz"));
        assert_eq!(format!("{key:?}"), "CsrfKey([redacted])");
    }
}
