//! CSRF tokens without server state: a form's GET sets a random nonce in an HttpOnly,
//! SameSite=Strict cookie and puts `issued.HMAC(key, nonce, issued)` in the form; a POST is
//! taken only when the two agree and the token is at most [`TOKEN_LIFETIME`] old. Another
//! site can neither read the cookie nor compute the token, and a token copied from an old
//! page (a shared computer's history) stops working.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The cookie holding the nonce.
pub(crate) const COOKIE: &str = "claimd_csrf";

/// How long a form may stay open before it must be reloaded: long enough to read the sheet
/// and think of three answers, short enough that an old page is worthless.
pub(crate) const TOKEN_LIFETIME: u64 = 2 * 60 * 60;

/// A clock ahead of another replica's by this much still accepts its tokens.
const CLOCK_SKEW: u64 = 60;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

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
        hex(&self.mac(&format!("sign:{text}")))
    }

    /// True when `signature` is [`CsrfKey::sign`] of `text`.
    pub(crate) fn signed(&self, text: &str, signature: &str) -> bool {
        self.mac_matches(&format!("sign:{text}"), signature)
    }

    /// The token a form carries for `nonce`, issued now.
    pub(crate) fn token(&self, nonce: &str) -> String {
        self.token_at(nonce, now_secs())
    }

    fn token_at(&self, nonce: &str, issued: u64) -> String {
        format!(
            "{issued:x}.{}",
            hex(&self.mac(&format!("csrf:{nonce}:{issued}")))
        )
    }

    /// True when `token` was made for `nonce` by this key less than [`TOKEN_LIFETIME`] ago
    /// (compared in constant time).
    pub(crate) fn verify(&self, nonce: &str, token: &str) -> bool {
        self.verify_at(nonce, token, now_secs())
    }

    fn verify_at(&self, nonce: &str, token: &str, now: u64) -> bool {
        let Some((issued, mac)) = token.split_once('.') else {
            return false;
        };
        let Ok(issued) = u64::from_str_radix(issued, 16) else {
            return false;
        };
        let fresh = issued <= now.saturating_add(CLOCK_SKEW)
            && now.saturating_sub(issued) <= TOKEN_LIFETIME;
        self.mac_matches(&format!("csrf:{nonce}:{issued}"), mac) && fresh
    }

    fn mac(&self, text: &str) -> Vec<u8> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("any key length");
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    fn mac_matches(&self, text: &str, hex_mac: &str) -> bool {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("any key length");
        mac.update(text.as_bytes());
        match unhex(hex_mac) {
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
    cookie(headers, COOKIE)
}

/// The value of the request's cookie `wanted`, from every `Cookie` header line.
pub(crate) fn cookie(headers: &axum::http::HeaderMap, wanted: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == wanted).then(|| value.to_owned())
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

    #[test]
    fn a_token_expires_and_its_time_cannot_be_changed() {
        let key = CsrfKey::new([7; 32]);
        let nonce = CsrfKey::nonce();
        let issued = 1_800_000_000;
        let token = key.token_at(&nonce, issued);
        assert!(key.verify_at(&nonce, &token, issued));
        assert!(key.verify_at(&nonce, &token, issued + TOKEN_LIFETIME));
        assert!(!key.verify_at(&nonce, &token, issued + TOKEN_LIFETIME + 1));
        // Issued in the future (beyond clock skew between replicas): refused.
        assert!(key.verify_at(&nonce, &token, issued - CLOCK_SKEW));
        assert!(!key.verify_at(&nonce, &token, issued - CLOCK_SKEW - 1));
        // Moving the issue time forward breaks the MAC.
        let (_, mac) = token.split_once('.').unwrap();
        let renewed = format!("{:x}.{mac}", issued + 3600);
        assert!(!key.verify_at(&nonce, &renewed, issued + TOKEN_LIFETIME + 1));
        assert!(!key.verify_at(&nonce, &renewed, issued + 3600));
        // The finish page's signed links do not expire.
        let signature = key.sign("op/e77777");
        assert!(key.signed("op/e77777", &signature));
        assert!(!key.signed("op/e12345", &signature));
    }
}
