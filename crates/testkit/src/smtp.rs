//! A real SMTP server for tests: Debian's aiosmtpd, delivering into a Maildir in a temp dir.

use std::{
    fs,
    net::TcpStream,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};

use crate::wait::{free_port, wait_until};

const PYTHON: &str = "/usr/bin/python3";

/// A received mail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The To header.
    pub to: String,
    /// The From header.
    pub from: String,
    /// The Subject header.
    pub subject: String,
    /// The body, as sent.
    pub body: String,
    /// The whole message, headers included.
    pub raw: String,
}

/// A running SMTP server on a free loopback port, stopped on drop.
#[derive(Debug)]
pub struct Smtp {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
    /// STARTTLS required (with `tls.crt`/`tls.key` in the temp dir), and maybe a login.
    secure: Option<Option<(String, String)>>,
}

/// aiosmtpd with STARTTLS required and, given a user, AUTH LOGIN/PLAIN required after it;
/// mail goes to the same Maildir. Its command line has no AUTH, so it is driven from Python.
const SECURE_SERVER: &str = r#"
import ssl, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword
host, port, maildir, cert, key, user, password = sys.argv[1:8]
context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
def authenticate(server, session, envelope, mechanism, data):
    ok = (isinstance(data, LoginPassword) and data.login.decode() == user
          and data.password.decode() == password)
    return AuthResult(success=ok, handled=False)
options = dict(tls_context=context, require_starttls=True)
if user:
    options.update(authenticator=authenticate, auth_required=True, auth_require_tls=True)
Controller(Mailbox(maildir), hostname=host, port=int(port), **options).start()
threading.Event().wait()
"#;

impl Smtp {
    /// Starts the server. Panics with the reason when aiosmtpd is missing.
    pub fn start() -> Self {
        let available = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            available,
            "aiosmtpd is not installed: run scripts/deps (apt-get install -y python3-aiosmtpd)"
        );
        let dir = tempfile::Builder::new()
            .prefix("claimd-smtp-")
            .tempdir()
            .expect("temp dir");
        let mut smtp = Self {
            dir,
            port: free_port(),
            child: None,
            secure: None,
        };
        smtp.launch();
        smtp
    }

    /// A server that requires STARTTLS with `identity` (a certificate for 127.0.0.1) and,
    /// with `login`, that user and password after it.
    pub fn start_secure(identity: &crate::Issued, login: Option<(&str, &str)>) -> Self {
        let mut smtp = Self::start();
        smtp.stop();
        fs::write(smtp.dir.path().join("tls.crt"), &identity.cert_pem).expect("certificate");
        fs::write(smtp.dir.path().join("tls.key"), &identity.key_pem).expect("key");
        smtp.secure = Some(login.map(|(u, p)| (u.to_owned(), p.to_owned())));
        smtp.launch();
        smtp
    }

    /// `smtp://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn maildir(&self) -> PathBuf {
        self.dir.path().join("Maildir")
    }

    /// Stops the server; mail received so far stays readable.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill(
                Pid::from_raw(i32::try_from(child.id()).expect("pid fits")),
                Signal::SIGTERM,
            );
            let _ = child.wait();
        }
    }

    /// Starts the stopped server again on the same port.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "smtp is running");
        self.launch();
    }

    /// Every mail received so far, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = ["new", "cur"]
            .iter()
            .flat_map(|sub| fs::read_dir(self.maildir().join(sub)).into_iter().flatten())
            .filter_map(|e| e.ok())
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        files.sort();
        files.iter().filter_map(|(_, path)| parse(path)).collect()
    }

    /// Waits (with a deadline) until at least `count` mails have arrived, and returns them all.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        wait_until(&format!("{count} mail(s)"), timeout, || {
            self.messages().len() >= count
        });
        self.messages()
    }

    fn launch(&mut self) {
        let listen = format!("127.0.0.1:{}", self.port);
        let mut command = Command::new(PYTHON);
        match &self.secure {
            None => {
                command
                    .args([
                        "-m",
                        "aiosmtpd",
                        "-n",
                        "-l",
                        &listen,
                        "-c",
                        "aiosmtpd.handlers.Mailbox",
                    ])
                    .arg(self.maildir());
            }
            Some(login) => {
                let (user, password) = login.clone().unwrap_or_default();
                command
                    .args(["-c", SECURE_SERVER, "127.0.0.1", &self.port.to_string()])
                    .arg(self.maildir())
                    .arg(self.dir.path().join("tls.crt"))
                    .arg(self.dir.path().join("tls.key"))
                    .args([user, password]);
            }
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let port = self.port;
        let child = self.child.insert(child);
        wait_until(
            "the SMTP server to accept connections",
            Duration::from_secs(20),
            || {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("aiosmtpd exited at start ({status}); port {port} taken?");
                }
                TcpStream::connect(("127.0.0.1", port)).is_ok()
            },
        );
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        self.stop();
    }
}

fn parse(path: &Path) -> Option<ReceivedMail> {
    let raw = fs::read_to_string(path).ok()?.replace("\r\n", "\n");
    let (headers, body) = raw.split_once("\n\n")?;
    let header = |name: &str| {
        headers
            .lines()
            .find_map(|l| {
                l.split_once(": ")
                    .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.to_owned())
            })
            .unwrap_or_default()
    };
    let body = if header("Content-Transfer-Encoding").eq_ignore_ascii_case("quoted-printable") {
        decode_quoted_printable(body)
    } else {
        body.to_owned()
    };
    Some(ReceivedMail {
        to: header("To"),
        from: header("From"),
        subject: header("Subject"),
        body,
        raw: raw.clone(),
    })
}

/// Undoes quoted-printable (RFC 2045): soft line breaks and `=XX` bytes.
fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = joined
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Write};

    fn say(stream: &mut TcpStream, reader: &mut BufReader<TcpStream>, line: &str) -> String {
        if !line.is_empty() {
            stream.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        }
        let mut reply = String::new();
        loop {
            let mut l = String::new();
            reader.read_line(&mut l).unwrap();
            reply.push_str(&l);
            if l.len() < 4 || l.as_bytes()[3] == b' ' {
                return reply;
            }
        }
    }

    #[test]
    fn quoted_printable_bodies_are_decoded() {
        assert_eq!(
            decode_quoted_printable("Jos=C3=A9 ch=\nose =3D"),
            "José chose ="
        );
    }

    #[test]
    fn receives_a_mail_and_resumes_after_a_stop() {
        let mut smtp = Smtp::start();
        let mut stream = TcpStream::connect(("127.0.0.1", smtp.port)).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        assert!(say(&mut stream, &mut reader, "").starts_with("220"));
        for line in [
            "HELO t",
            "MAIL FROM:<it@x.example>",
            "RCPT TO:<jane@x.example>",
            "DATA",
        ] {
            say(&mut stream, &mut reader, line);
        }
        let reply = say(
            &mut stream,
            &mut reader,
            "To: jane@x.example\r\nSubject: hello\r\n\r\nbody text\r\n.",
        );
        assert!(reply.starts_with("250"), "{reply}");
        let mails = smtp.wait_for(1, Duration::from_secs(10));
        assert_eq!(mails[0].subject, "hello");
        assert!(mails[0].body.contains("body text"));
        smtp.stop();
        assert!(TcpStream::connect(("127.0.0.1", smtp.port)).is_err());
        smtp.resume();
        assert_eq!(smtp.messages().len(), 1);
    }
}
