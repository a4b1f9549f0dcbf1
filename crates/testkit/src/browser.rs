//! A real headless Chromium, driven over the W3C WebDriver protocol by Debian's
//! `chromedriver` on a free loopback port: what a person does with a keyboard, and what they
//! see (screenshots). JavaScript is off unless asked for, like a locked-down browser.

use std::{
    io::{Read, Write},
    net::TcpStream,
    os::unix::process::CommandExt,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};

use serde_json::{Value, json};

use crate::wait::{free_port, wait_until};

/// Where scripts/deps puts axe-core.
const AXE: &str = "/opt/claimd-test-axe/node_modules/axe-core/axe.min.js";

/// WebDriver key codes.
pub mod keys {
    /// Moves the focus forward.
    pub const TAB: &str = "\u{E004}";
    /// Submits or activates.
    pub const ENTER: &str = "\u{E007}";
}

/// chromedriver with one browser session, ended on drop.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium (JavaScript off unless `javascript`) that
    /// asks for English pages.
    pub fn start(javascript: bool) -> Self {
        Self::start_in(javascript, "en-US")
    }

    /// Like [`Browser::start`], for a person whose browser asks for `language` (`es-MX`).
    pub fn start_in(javascript: bool, language: &str) -> Self {
        assert!(
            Path::new("/usr/bin/chromedriver").exists(),
            "chromedriver is not installed: run scripts/deps (apt-get install -y chromium chromium-driver)"
        );
        let port = free_port();
        // Its own process group, so the browser it starts is stopped with it whatever happens.
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        wait_until("chromedriver to listen", Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        let mut browser = Self {
            driver,
            port,
            session: String::new(),
        };
        let prefs = json!({
            "profile.managed_default_content_settings.javascript": if javascript { 1 } else { 2 },
            "intl.accept_languages": language,
        });
        let created = browser.call(
            "POST",
            "/session",
            &json!({"capabilities": {"alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": "/usr/bin/chromium",
                    "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                             "--disable-gpu", "--window-size=800,1200",
                             format!("--lang={language}")],
                    "prefs": prefs,
                }
            }}}),
        );
        browser.session = created["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        browser
    }

    /// Opens `url` and waits for the page to load.
    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", &json!({ "url": url }));
    }

    /// The page's HTML as the browser has it.
    pub fn source(&self) -> String {
        self.session_call("GET", "/source", &Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The current address.
    pub fn url(&self) -> String {
        self.session_call("GET", "/url", &Value::Null)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The `id` attribute of the focused element (empty for none).
    pub fn focused_id(&self) -> String {
        self.focused_attribute("id")
    }

    /// An attribute of the focused element (empty for none).
    pub fn focused_attribute(&self, name: &str) -> String {
        let element = self.session_call("GET", "/element/active", &Value::Null);
        let Some(id) = element_id(&element) else {
            return String::new();
        };
        self.session_call(
            "GET",
            &format!("/element/{id}/attribute/{name}"),
            &Value::Null,
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Types `text` (with [`keys`] for Tab and Enter) into the focused element, as a keyboard.
    pub fn type_keys(&self, text: &str) {
        let actions: Vec<Value> = text
            .chars()
            .flat_map(|c| {
                let key = c.to_string();
                [
                    json!({"type": "keyDown", "value": key}),
                    json!({"type": "keyUp", "value": key}),
                ]
            })
            .collect();
        self.session_call(
            "POST",
            "/actions",
            &json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]}),
        );
    }

    /// Presses Tab until the element with `id` has the focus (at most 40 times).
    pub fn tab_to(&self, id: &str) {
        for _ in 0..40 {
            if self.focused_id() == id {
                return;
            }
            self.type_keys(keys::TAB);
        }
        panic!("Tab never reached #{id}");
    }

    /// Presses Tab until a link to `href` (as written in the page) has the focus (at most
    /// 60 times).
    pub fn tab_to_link(&self, href: &str) {
        for _ in 0..60 {
            let focused = self.focused_attribute("href");
            // The driver may answer with the link resolved against the page's address.
            let path = match focused.split_once("://") {
                Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
                None => focused.as_str(),
            };
            if path == href && !focused.is_empty() {
                return;
            }
            self.type_keys(keys::TAB);
        }
        panic!("Tab never reached a link to {href}");
    }

    /// Runs axe-core (installed by scripts/deps) in the page against WCAG 2.1 A and AA and
    /// returns its violations as `rule-id: help (N nodes)`. Needs a session with JavaScript.
    pub fn accessibility_violations(&self) -> Vec<String> {
        let axe = std::fs::read_to_string(AXE).unwrap_or_else(|e| {
            panic!(
                "axe-core is not installed at {AXE} ({e}): run scripts/deps (npm install axe-core)"
            )
        });
        self.session_call(
            "POST",
            "/execute/sync",
            &json!({"script": format!("{axe}\nreturn true;"), "args": []}),
        );
        let found = self.session_call(
            "POST",
            "/execute/async",
            &json!({"script": "const done = arguments[arguments.length - 1];
                axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                  .then(r => done(r.violations.map(v => v.id + ': ' + v.help + ' (' + v.nodes.length + ' nodes)')))
                  .catch(e => done(['axe failed: ' + e]));", "args": []}),
        );
        found
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Saves what the browser shows (the whole page) as a PNG.
    pub fn screenshot(&self, path: &Path) {
        let shot = self.session_call("GET", "/screenshot", &Value::Null);
        let png = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            shot.as_str().expect("base64 PNG"),
        )
        .expect("valid base64");
        std::fs::write(path, png).expect("screenshot written");
    }

    fn session_call(&self, method: &str, path: &str, body: &Value) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    /// One WebDriver command; panics with the driver's message when it fails.
    fn call(&self, method: &str, path: &str, body: &Value) -> Value {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("chromedriver");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("request sent");
        let text = read_response(&mut stream);
        let reply: Value = serde_json::from_str(&text).expect("JSON from chromedriver");
        let value = reply["value"].clone();
        assert!(
            value.get("error").is_none(),
            "WebDriver {method} {path}: {value}"
        );
        value
    }
}

fn element_id(element: &Value) -> Option<String> {
    element
        .as_object()?
        .iter()
        .find(|(k, _)| k.starts_with("element-"))
        .and_then(|(_, v)| v.as_str().map(str::to_owned))
}

/// Reads one HTTP/1.1 response's body (by its length, or chunk by chunk): chromedriver keeps
/// connections open, so reading to the end would wait for its timeout.
fn read_response(stream: &mut TcpStream) -> String {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut buf).expect("response read");
        assert!(n > 0, "chromedriver closed the connection");
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&raw[..header_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    loop {
        let body = &raw[header_end..];
        let complete = match length {
            Some(length) => body.len() >= length,
            None if chunked => body.windows(5).any(|w| w == b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = stream.read(&mut buf).expect("response read");
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let body = String::from_utf8_lossy(&raw[header_end..]).into_owned();
    if chunked { unchunk(&body) } else { body }
}

/// The body of a chunked HTTP/1.1 response.
fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&tail[..size.min(tail.len())]);
        rest = tail.get(size + 2..).unwrap_or("");
    }
    out
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.call("DELETE", &path, &Value::Null)
            }));
        }
        if let Ok(pid) = i32::try_from(self.driver.id()) {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = self.driver.wait();
    }
}
