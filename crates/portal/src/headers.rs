//! Headers on every response: a strict Content-Security-Policy (only this site's own script
//! file, no inline script or style, nothing from elsewhere), no framing, no referrer, nothing
//! cached (forms and results carry personal data), no MIME sniffing; and, when the pages are
//! public over HTTPS, HSTS and `__Host-` cookies (`Secure`, this host only, whole site), which
//! a sibling subdomain cannot plant: a cookie without the prefix is not believed then. The
//! pages are public over HTTPS when `portal.public_url` says so, or when the trusted reverse
//! proxy in front says `X-Forwarded-Proto: https` (it terminates TLS for them).

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, header},
    middleware::Next,
    response::Response,
};

use crate::Portal;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What the cookies are called over HTTPS.
const HOST_PREFIX: &str = "__Host-";

pub(crate) async fn secure(
    State(portal): State<Arc<Portal>>,
    mut request: Request,
    next: Next,
) -> Response {
    let https =
        portal.settings.public_url.starts_with("https://") || behind_https(&portal, &request);
    if https {
        only_host_cookies(request.headers_mut());
    }
    let mut response = next.run(request).await;
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
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
        let cookies: Vec<HeaderValue> = headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|c| {
                HeaderValue::from_str(&format!("{HOST_PREFIX}{}; Secure", c.to_str().ok()?)).ok()
            })
            .collect();
        headers.remove(header::SET_COOKIE);
        for cookie in cookies {
            headers.append(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// A trusted proxy brought the request over HTTPS: its `X-Forwarded-Proto` (the last one, the
/// nearest proxy's) says `https`. From anyone else the header is the visitor's own claim.
fn behind_https(portal: &Portal, request: &Request) -> bool {
    let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() else {
        return false;
    };
    portal.settings.clients.speaks_for_clients(peer.ip())
        && request
            .headers()
            .get_all("x-forwarded-proto")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The request's cookies as the pages read them: only `__Host-` ones, under their plain
/// names.
fn only_host_cookies(headers: &mut HeaderMap) {
    let kept: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().strip_prefix(HOST_PREFIX).map(str::to_owned))
        .collect();
    headers.remove(header::COOKIE);
    if let Ok(value) = HeaderValue::from_str(&kept.join("; ")) {
        headers.insert(header::COOKIE, value);
    }
}
