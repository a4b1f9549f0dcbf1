//! `[portal]`, checked: the pages `claimd run` serves beside the API, and the standalone
//! `claimd portal` that calls AccountService over gRPC from a DMZ host.

use std::{
    fs,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
};

use claimd_core::{Email, PasswordPolicy};
use claimd_grpc::{ClientAddressPolicy, RemoteSettings};
use claimd_portal::PortalSettings;
use serde::Deserialize;

use super::{ClaimCode, SecondFactor, Settings, problems::Problems};

/// The self-service pages (`claimd run` serves them beside the API).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PortalSection {
    /// Where the pages are served; empty: no pages.
    pub listen: String,
    /// The AccountService `claimd portal` calls, e.g. `https://claimd.district.internal:50051`.
    pub api: String,
    /// The CA that signed the service's certificate (for an `https://` api).
    pub api_ca_file: Option<PathBuf>,
    /// This portal's client certificate, when the service asks for one.
    pub api_cert_file: Option<PathBuf>,
    /// The client certificate's key.
    pub api_key_file: Option<PathBuf>,
    /// `claimd portal`: the secret its forms and links are signed with, created (0600) when
    /// missing; portals behind one load balancer share a copy.
    pub key_file: PathBuf,
    /// The pages' public address, e.g. `https://my.district.example`.
    pub public_url: String,
    /// Reverse proxies in front of the pages whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
    pub district_name: String,
    pub support_email: String,
    pub support_url: String,
    pub knowledge_base_url: String,
    pub support_phone: String,
    /// The district's logo in the pages' header (.png, .jpg, .svg, .webp; at most 512 KiB).
    pub logo_file: String,
}

impl Default for PortalSection {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            api: String::new(),
            api_ca_file: None,
            api_cert_file: None,
            api_key_file: None,
            key_file: "claimd-portal.key".into(),
            public_url: String::new(),
            trusted_proxies: Vec::new(),
            district_name: "Example School District".into(),
            support_email: String::new(),
            support_url: String::new(),
            knowledge_base_url: String::new(),
            support_phone: String::new(),
            logo_file: String::new(),
        }
    }
}

/// What `claimd portal` runs with.
#[derive(Debug)]
pub struct PortalParts {
    pub listen: SocketAddr,
    pub key_file: std::path::PathBuf,
    pub pages: PortalSettings,
    pub api: RemoteSettings,
    pub log_json: bool,
}

impl Settings {
    /// The pages' settings: where they listen (`None`: off), what they show, and the
    /// validated support address work orders go to.
    pub(super) fn pages(
        &self,
        p: &mut Problems,
    ) -> (Option<SocketAddr>, PortalSettings, Option<Email>) {
        let s = &self.portal;
        let support = match s.support_email.trim() {
            "" => None,
            address => p.take("portal.support_email", Email::parse(address)),
        };
        let logo = match s.logo_file.trim() {
            "" => None,
            path => p.take("portal.logo_file", read_logo(path)),
        };
        let listen = match s.listen.trim() {
            "" => None,
            listen => p.take(
                "portal.listen",
                listen.parse::<SocketAddr>().map_err(|_| {
                    format!("{listen:?} is not an address and port such as 127.0.0.1:8080")
                }),
            ),
        };
        let pages = PortalSettings {
            district_name: s.district_name.clone(),
            support_email: s.support_email.clone(),
            support_url: s.support_url.clone(),
            knowledge_base_url: s.knowledge_base_url.clone(),
            support_phone: s.support_phone.clone(),
            public_url: s.public_url.clone(),
            clients: ClientAddressPolicy {
                trusted_proxies: s.trusted_proxies.clone(),
                // Listening on loopback means "behind the reverse proxy on this host"; with no
                // proxies listed, that proxy must still not make the district one address.
                local_proxy: s.trusted_proxies.is_empty()
                    && listen.is_some_and(|a: SocketAddr| a.ip().is_loopback()),
            },
            logo,
            claim_code: self.accounts.claim_code == ClaimCode::Required,
            second_factor: self.recovery.second_factor == SecondFactor::PersonalEmail,
        };
        (listen, pages, support)
    }

    /// `claimd portal`: only `[portal]`, `accounts.password_min_length` and `[log]` matter;
    /// the store, the directory and the keys stay with the service.
    pub fn portal_parts(&self) -> anyhow::Result<PortalParts> {
        let mut p = Problems::default();
        let (listen, pages, _) = self.pages(&mut p);
        if listen.is_none() && self.portal.listen.trim().is_empty() {
            p.add("portal.listen", "is required for claimd portal");
        }
        if self.portal.api.trim().is_empty() {
            p.add(
                "portal.api",
                "is required for claimd portal: the AccountService URL, such as https://claimd.district.internal:50051",
            );
        }
        let min = p
            .take(
                "accounts.password_min_length",
                PasswordPolicy::new(self.accounts.password_min_length),
            )
            .map_or(0, |policy| policy.min_chars());
        if self.accounts.claim_code_days == 0 {
            p.add("accounts.claim_code_days", "must be at least 1");
        }
        let log_json = self.log_json(&mut p);
        let listen = p.finish(listen)?;
        let api = RemoteSettings {
            url: self.portal.api.trim().to_owned(),
            ca_file: self.portal.api_ca_file.clone(),
            cert_file: self.portal.api_cert_file.clone(),
            key_file: self.portal.api_key_file.clone(),
            min_password_chars: min,
        };
        Ok(PortalParts {
            listen,
            key_file: self.portal.key_file.clone(),
            pages,
            api,
            log_json,
        })
    }
}

/// The logo file's content type (by its extension) and bytes; at most 512 KiB.
fn read_logo(path: &str) -> Result<(&'static str, Vec<u8>), String> {
    let content_type = match path
        .rsplit('.')
        .next()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        Some("webp") => "image/webp",
        _ => return Err(format!("{path}: must be a .png, .jpg, .svg or .webp file")),
    };
    let bytes = fs::read(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    if bytes.len() > 512 * 1024 {
        return Err(format!("{path}: must be at most 512 KiB"));
    }
    Ok((content_type, bytes))
}
