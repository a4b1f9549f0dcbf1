//! How claimd reaches the directory, and the transport rule: a password travels only over
//! TLS (ldaps:// or StartTLS), except to a loopback directory when
//! `allow_insecure_directory = true` for local development.

use std::{fmt, net::IpAddr, path::PathBuf, sync::Arc, time::Duration};

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::{CertificateDer, pem::PemObject};
use secrecy::SecretString;

/// How entries and passwords are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// inetOrgPerson entries, passwords by Password Modify (RFC 3062).
    OpenLdap,
    /// AD users found by employeeID, passwords by unicodePwd.
    ActiveDirectory,
}

/// The `[directory]` settings.
#[derive(Clone)]
pub struct DirectorySettings {
    /// How entries and passwords are written.
    pub flavor: Flavor,
    /// `ldap://host:port` or `ldaps://host:port`; several for failover, tried in order.
    pub urls: Vec<String>,
    /// The service account's DN (or, for AD, its user principal name).
    pub bind_dn: String,
    /// The service account's password.
    pub bind_password: SecretString,
    /// Where user entries live.
    pub users_base_dn: String,
    /// PEM file of the CA(s) trusted for ldaps:// and StartTLS; the system roots otherwise.
    pub ca_file: Option<PathBuf>,
    /// Upgrade an ldap:// connection with StartTLS before binding.
    pub starttls: bool,
    /// Allow passwords in clear to a loopback directory (local development only).
    pub allow_insecure_directory: bool,
    /// Limit for connecting and for each operation.
    pub timeout: Duration,
    /// AD: the suffix of userPrincipalName (`e77777@{suffix}`); by default the DNS name of
    /// the domain in `users_base_dn` (`DC=district,DC=example` gives `district.example`).
    pub upn_suffix: Option<String>,
    /// AD: take over a pre-provisioned account matched by employeeID even when it has been
    /// used (a password set, a logon); by default only never-used accounts are claimed.
    pub adopt_used_accounts: bool,
    /// Groups (DNs) whose members, nested members included, claimd never acts on, beside
    /// AD's own privileged groups (`accounts.protected_groups`).
    pub protected_groups: Vec<String>,
    /// OpenLDAP: the ppolicy overlay's default policy entry, read for users with no
    /// `pwdPolicySubentry` (their lockout rule, `pwdMaxAge`); none: no default policy known.
    pub ppolicy_default_dn: Option<String>,
}

impl fmt::Debug for DirectorySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectorySettings")
            .field("flavor", &self.flavor)
            .field("urls", &self.urls)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password", &"[redacted]")
            .field("users_base_dn", &self.users_base_dn)
            .field("ca_file", &self.ca_file)
            .field("starttls", &self.starttls)
            .field("allow_insecure_directory", &self.allow_insecure_directory)
            .field("timeout", &self.timeout)
            .field("upn_suffix", &self.upn_suffix)
            .field("ppolicy_default_dn", &self.ppolicy_default_dn)
            .finish()
    }
}

/// A setting that cannot work, naming its key (`directory.url`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("directory.{key}: {message}")]
pub struct SettingsError {
    /// The key under `[directory]`.
    pub key: &'static str,
    /// What is wrong and what to change.
    pub message: String,
}

fn error(key: &'static str, message: impl Into<String>) -> SettingsError {
    SettingsError {
        key,
        message: message.into(),
    }
}

impl DirectorySettings {
    /// Checks the settings without connecting: URL form, the transport rule, the CA file.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.urls.is_empty() {
            return Err(error("url", "is required"));
        }
        for url in &self.urls {
            self.check_url(url)?;
        }
        if self.bind_dn.trim().is_empty() {
            return Err(error("bind_dn", "is required"));
        }
        if self.users_base_dn.trim().is_empty() {
            return Err(error("users_base_dn", "is required"));
        }
        if self.timeout.is_zero() {
            return Err(error("timeout_secs", "must be at least 1"));
        }
        if self.flavor == Flavor::ActiveDirectory && self.upn_suffix().is_empty() {
            return Err(error(
                "upn_suffix",
                "is required when users_base_dn has no DC= parts to take the domain name from",
            ));
        }
        self.tls_config().map(|_| ())
    }

    /// The AD user principal name suffix: configured, or the domain's DNS name.
    pub fn upn_suffix(&self) -> String {
        match &self.upn_suffix {
            Some(suffix) => suffix.trim_start_matches('@').to_owned(),
            None => self
                .users_base_dn
                .split(',')
                .filter_map(|rdn| rdn.trim().split_once('='))
                .filter(|(attr, _)| attr.trim().eq_ignore_ascii_case("dc"))
                .map(|(_, value)| value.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join("."),
        }
    }

    /// One URL's form and the transport rule for it.
    fn check_url(&self, raw: &str) -> Result<(), SettingsError> {
        let url =
            url::Url::parse(raw).map_err(|e| error("url", format!("{raw:?} is not a URL: {e}")))?;
        let tls_scheme = match url.scheme() {
            "ldaps" => true,
            "ldap" => false,
            other => {
                return Err(error(
                    "url",
                    format!("scheme must be ldap:// or ldaps://, not {other}://"),
                ));
            }
        };
        let Some(host) = url.host_str() else {
            return Err(error("url", "names no host"));
        };
        if tls_scheme && self.starttls {
            return Err(error(
                "starttls",
                "must be false with ldaps:// (the connection is TLS already)",
            ));
        }
        if !tls_scheme && !self.starttls {
            let loopback = host == "localhost"
                || host
                    .trim_matches(['[', ']'])
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !self.allow_insecure_directory {
                return Err(error(
                    "url",
                    "would send passwords in clear text: use ldaps://, or set directory.starttls = true \
                     (or, for a directory on this machine during development only, \
                     directory.allow_insecure_directory = true)",
                ));
            }
            if !loopback {
                return Err(error(
                    "allow_insecure_directory",
                    format!(
                        "only allows a directory on loopback (127.0.0.1, ::1, localhost), not {host}; use ldaps:// or starttls"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The rustls configuration trusting `ca_file`, or `None` to use the system roots.
    pub(crate) fn tls_config(&self) -> Result<Option<Arc<ClientConfig>>, SettingsError> {
        let Some(path) = &self.ca_file else {
            return Ok(None);
        };
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|e| {
                error(
                    "ca_file",
                    format!("cannot read PEM certificates from {}: {e}", path.display()),
                )
            })?;
        let mut roots = RootCertStore::empty();
        let (added, _ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(error(
                "ca_file",
                format!("{} holds no usable CA certificate", path.display()),
            ));
        }
        let config = ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Some(Arc::new(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str) -> DirectorySettings {
        DirectorySettings {
            flavor: Flavor::OpenLdap,
            urls: vec![url.into()],
            bind_dn: "cn=admin,dc=example,dc=org".into(),
            bind_password: SecretString::from("bind-secret-value"),
            users_base_dn: "ou=people,dc=example,dc=org".into(),
            ca_file: None,
            starttls: false,
            allow_insecure_directory: false,
            timeout: Duration::from_secs(10),
            upn_suffix: None,
            adopt_used_accounts: false,
            protected_groups: Vec::new(),
            ppolicy_default_dn: None,
        }
    }

    #[test]
    fn the_upn_suffix_defaults_to_the_domain_name() {
        let s = DirectorySettings {
            flavor: Flavor::ActiveDirectory,
            users_base_dn: "OU=Staff, DC=District ,DC=example".into(),
            ..settings("ldaps://dc1")
        };
        assert_eq!(s.upn_suffix(), "district.example");
        let s = DirectorySettings {
            upn_suffix: Some("@schools.example".into()),
            ..s
        };
        assert_eq!(s.upn_suffix(), "schools.example");
        let s = DirectorySettings {
            upn_suffix: None,
            users_base_dn: "OU=Staff".into(),
            ..s
        };
        assert_eq!(s.validate().unwrap_err().key, "upn_suffix");
    }

    #[test]
    fn every_failover_url_obeys_the_transport_rule() {
        let s = DirectorySettings {
            urls: vec!["ldaps://dc1".into(), "ldap://dc2.district.example".into()],
            ..settings("ldaps://dc1")
        };
        assert_eq!(s.validate().unwrap_err().key, "url");
    }

    #[test]
    fn tls_urls_pass_and_clear_text_is_refused_by_default() {
        assert_eq!(settings("ldaps://dc1.district.example").validate(), Ok(()));
        let starttls = DirectorySettings {
            starttls: true,
            ..settings("ldap://dc1.district.example")
        };
        assert_eq!(starttls.validate(), Ok(()));
        let err = settings("ldap://127.0.0.1:389").validate().unwrap_err();
        assert_eq!(err.key, "url");
        assert!(err.message.contains("clear text"), "{err}");
    }

    #[test]
    fn insecure_is_only_for_loopback() {
        for url in [
            "ldap://127.0.0.1:3890",
            "ldap://[::1]:389",
            "ldap://localhost",
        ] {
            let s = DirectorySettings {
                allow_insecure_directory: true,
                ..settings(url)
            };
            assert_eq!(s.validate(), Ok(()), "{url}");
        }
        let s = DirectorySettings {
            allow_insecure_directory: true,
            ..settings("ldap://10.0.0.5")
        };
        assert_eq!(s.validate().unwrap_err().key, "allow_insecure_directory");
    }

    #[test]
    fn bad_urls_and_files_name_their_key() {
        assert_eq!(settings("http://x").validate().unwrap_err().key, "url");
        assert_eq!(settings("not a url").validate().unwrap_err().key, "url");
        let missing = DirectorySettings {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..settings("ldaps://x")
        };
        assert_eq!(missing.validate().unwrap_err().key, "ca_file");
    }

    #[test]
    fn debug_hides_the_bind_password() {
        let printed = format!("{:?}", settings("ldaps://x"));
        assert!(!printed.contains("bind-secret-value"), "{printed}");
    }
}
