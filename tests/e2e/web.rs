//! The portal spoken to as a browser with scripts off does: plain HTTP/1.1 requests, the CSRF
//! cookie and token of a form, the answers' status, headers and body.

use std::{
    io::{Read, Write},
    net::TcpStream,
};

use crate::harness::PASSWORD;

/// One HTTP/1.1 exchange; returns the status, the headers (lowercased names) and the body.
pub fn http(portal: &str, request: &str) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(portal).expect("portal listens");
    stream.write_all(request.as_bytes()).unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    // Pages are UTF-8; an image body is only measured, so a lossy read is enough.
    let raw = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

pub fn get(portal: &str, path: &str) -> (u16, Vec<(String, String)>, String) {
    get_with(portal, path, "")
}

/// A GET with extra header lines (each ending in `\r\n`).
pub fn get_with(portal: &str, path: &str, extra: &str) -> (u16, Vec<(String, String)>, String) {
    http(
        portal,
        &format!("GET {path} HTTP/1.1\r\nHost: portal\r\nConnection: close\r\n{extra}\r\n"),
    )
}

pub fn post(
    portal: &str,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, String) {
    post_with(portal, path, cookie, form, "")
}

/// A form POST with extra header lines (each ending in `\r\n`).
pub fn post_with(
    portal: &str,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
    extra: &str,
) -> (u16, Vec<(String, String)>, String) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    http(
        portal,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: portal\r\nConnection: close\r\nCookie: {cookie}\r\n{extra}\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The form's CSRF cookie (`name=value`) and its hidden token.
pub fn form_tokens(headers: &[(String, String)], body: &str) -> (String, String) {
    let cookie = header(headers, "set-cookie")
        .and_then(|c| c.split(';').next())
        .expect("a CSRF cookie")
        .to_owned();
    let token = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF field")
        .to_owned();
    (cookie, token)
}

pub fn jane_form<'a>(token: &'a str, employee_id: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", token),
        ("last_name", "Doe"),
        ("first_name", "Jane"),
        ("employee_id", employee_id),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
        ("question_1", "first-pet"),
        ("answer_1", "Rex the Dog"),
        ("question_2", "birth-city"),
        ("answer_2", "Jonesboro"),
        ("question_3", "first-car"),
        ("answer_3", "Ford Focus"),
    ]
}
