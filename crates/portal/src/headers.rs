//! Headers on every response: a strict Content-Security-Policy (only this site's own script
//! file, no inline script or style, nothing from elsewhere), no framing, no referrer, nothing cached (forms and results carry
//! personal data), no MIME sniffing; and, when the pages are public over HTTPS, HSTS and
//! `Secure` cookies.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::Response,
};

use crate::Portal;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(crate) async fn secure(State(portal): State<Arc<Portal>>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if portal.settings.public_url.starts_with("https://") {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
        let cookies: Vec<HeaderValue> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|c| HeaderValue::from_str(&format!("{}; Secure", c.to_str().ok()?)).ok())
            .collect();
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            headers.append(header::SET_COOKIE, cookie);
        }
    }
    response
}
