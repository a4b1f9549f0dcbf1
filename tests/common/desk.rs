//! A helpdesk helper's browser over plain HTTP, as the e2e and AD suites drive the pages: the
//! sign-in, the CSRF cookie and the session cookie, forms posted with their page's token.

use crate::web::{form_tokens, get_with, header, post_with};

/// A browser's cookie jar of two: the CSRF nonce and the session.
pub struct Desk {
    portal: String,
    csrf_cookie: String,
    session: String,
}

impl Desk {
    /// The Cookie header this browser sends.
    pub fn cookies(&self) -> String {
        format!("{}; {}", self.csrf_cookie, self.session)
    }

    pub fn get(&self, path: &str) -> (u16, Vec<(String, String)>, String) {
        get_with(
            &self.portal,
            path,
            &format!("Cookie: {}\r\n", self.cookies()),
        )
    }

    /// Posts `form` with the CSRF token of the page at `page`.
    pub fn post(&mut self, page: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let (status, headers, body) = self.get(page);
        assert!(status == 200 || status == 404, "{page}: {status}");
        let (cookie, token) = form_tokens(&headers, &body);
        self.csrf_cookie = cookie;
        let mut fields = vec![("csrf", token.as_str())];
        fields.extend_from_slice(form);
        let (status, _, body) = post_with(&self.portal, path, &self.cookies(), &fields, "");
        (status, body)
    }
}

/// Signs in at `portal`'s helpdesk as `login`; the refusal page's body when refused.
pub fn signed_in(portal: &str, login: &str, password: &str) -> Result<Desk, String> {
    let (_, headers, body) = get_with(portal, "/helpdesk/login", "");
    let (csrf_cookie, token) = form_tokens(&headers, &body);
    let (status, headers, body) = post_with(
        portal,
        "/helpdesk/login",
        &csrf_cookie,
        &[
            ("csrf", &token),
            ("username", login),
            ("password", password),
        ],
        "",
    );
    if status != 303 {
        return Err(body);
    }
    let session = headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.clone())
        .find(|c| c.starts_with("claimd_helpdesk="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    assert_eq!(header(&headers, "location"), Some("/helpdesk"));
    Ok(Desk {
        portal: portal.to_owned(),
        csrf_cookie,
        session: session.split(';').next().unwrap().to_owned(),
    })
}

/// The page without what differs between two requests (the CSRF token).
pub fn without_token(body: &str) -> String {
    body.split("name=\"csrf\" value=\"")
        .map(|part| part.split_once('"').map_or(part, |(_, rest)| rest))
        .collect()
}
