//! `[helpdesk]`, checked (DESIGN.md, "Helpdesk"): the directory groups whose members may
//! help, each with its sites, and the district tools' client certificates with theirs. Both
//! empty (the default): no helpdesk.

use claimd_core::helpdesk::{HelperGroup, Sites};
use claimd_grpc::HelpdeskClient;
use serde::Deserialize;

use super::{Settings, problems::Problems};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HelpdeskSection {
    /// `[{ group = "CN=Techs-101,OU=Groups,…", sites = ["101", "102"] }, …]`.
    pub groups: Vec<GroupEntry>,
    /// `[{ subject = "CN=ticketing", sites = ["*"] }, …]`: HelpdeskService callers.
    pub clients: Vec<ClientEntry>,
    /// The CA that signs those callers' certificates (when `grpc.client_ca_file` does not).
    pub client_ca_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupEntry {
    pub group: String,
    pub sites: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientEntry {
    pub subject: String,
    pub sites: Vec<String>,
}

/// `[helpdesk]`, checked.
#[derive(Clone, Debug, Default)]
pub struct HelpdeskParts {
    pub groups: Vec<HelperGroup>,
    pub clients: Vec<HelpdeskClient>,
}

impl Settings {
    /// `[helpdesk]`, checked: every group a DN, every subject a distinguished name, every
    /// entry's sites one `*` or site codes; the problems name the key and the entry.
    pub(super) fn helpdesk(&self, p: &mut Problems) -> HelpdeskParts {
        let h = &self.helpdesk;
        let mut parts = HelpdeskParts::default();
        for (n, entry) in h.groups.iter().enumerate() {
            let at = format!("entry {}", n + 1);
            if !entry.group.contains('=') || entry.group.trim() != entry.group {
                p.add(
                    "helpdesk.groups",
                    format_args!("{at}: group is not a group's DN: {:?}", entry.group),
                );
            }
            match Sites::parse(&entry.sites) {
                Ok(sites) => parts.groups.push(HelperGroup {
                    group: entry.group.clone(),
                    sites,
                }),
                Err(why) => p.add("helpdesk.groups", format_args!("{at}: sites {why}")),
            }
        }
        for (n, entry) in h.clients.iter().enumerate() {
            let at = format!("entry {}", n + 1);
            if !entry.subject.contains('=') || entry.subject.trim() != entry.subject {
                p.add(
                    "helpdesk.clients",
                    format_args!(
                        "{at}: subject is not a certificate subject such as \"CN=ticketing\": {:?}",
                        entry.subject
                    ),
                );
            }
            match Sites::parse(&entry.sites) {
                Ok(sites) => parts.clients.push(HelpdeskClient {
                    subject: entry.subject.clone(),
                    sites,
                }),
                Err(why) => p.add("helpdesk.clients", format_args!("{at}: sites {why}")),
            }
        }
        // District tools are known by their TLS client certificates only.
        let tls = self.grpc.tls_cert_file.is_some();
        if h.client_ca_file.is_some() && !tls {
            p.add(
                "helpdesk.client_ca_file",
                "needs grpc.tls_cert_file and grpc.tls_key_file",
            );
        }
        if !h.clients.is_empty() && !tls {
            p.add(
                "helpdesk.clients",
                "needs grpc.tls_cert_file and grpc.tls_key_file: HelpdeskService callers are \
                 known by their TLS client certificate",
            );
        } else if !h.clients.is_empty()
            && h.client_ca_file.is_none()
            && self.grpc.client_ca_file.is_none()
        {
            p.add(
                "helpdesk.clients",
                "needs helpdesk.client_ca_file (or grpc.client_ca_file): the CA that signs \
                 the district tools' client certificates",
            );
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// `[helpdesk]` from a TOML text, as `parts()` checks it: the part, or the problems.
    fn helpdesk(toml: &str) -> Result<HelpdeskParts, String> {
        let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        f.write_all(toml.as_bytes()).unwrap();
        let s =
            Settings::load(Some(f.path()), Some(Default::default())).map_err(|e| e.to_string())?;
        let mut p = Problems::default();
        let part = s.helpdesk(&mut p);
        p.finish(Some(part)).map_err(|e| e.to_string())
    }

    #[test]
    fn groups_and_clients_are_read_with_their_sites_and_checked() {
        let off = helpdesk("").unwrap();
        assert!(
            off.groups.is_empty() && off.clients.is_empty(),
            "off by default"
        );
        let on = helpdesk(
            r#"[grpc]
tls_cert_file = "/etc/claimd/tls/server.pem"
tls_key_file = "/etc/claimd/tls/server.key"
[helpdesk]
client_ca_file = "/etc/claimd/tls/tools-ca.pem"
groups = [
    { group = "CN=Techs-101,OU=Groups,DC=district,DC=example", sites = ["101", "102"] },
    { group = "CN=District Helpdesk,OU=Groups,DC=district,DC=example", sites = ["*"] },
]
clients = [{ subject = "CN=ticketing", sites = ["*"] }]
"#,
        )
        .unwrap();
        assert_eq!(on.groups.len(), 2);
        assert_eq!(format!("{:?}", on.groups[0].sites), r#"["101", "102"]"#);
        assert_eq!(on.groups[1].sites, Sites::All);
        assert_eq!(on.clients[0].subject, "CN=ticketing");

        let err = helpdesk(
            r#"[helpdesk]
groups = [{ group = "Techs-101", sites = [] }, { group = "CN=x", sites = ["*", "101"] }]
clients = [{ subject = "ticketing", sites = ["10 1"] }]
"#,
        )
        .unwrap_err();
        for expected in [
            "helpdesk.groups: entry 1: group is not a group's DN",
            "helpdesk.groups: entry 1: sites must list at least one site",
            "helpdesk.groups: entry 2: sites \"*\" already means every site",
            "helpdesk.clients: entry 1: subject is not a certificate subject",
            "helpdesk.clients: entry 1: sites \"10 1\" must be a code",
            "helpdesk.clients: needs grpc.tls_cert_file and grpc.tls_key_file",
        ] {
            assert!(err.contains(expected), "{expected:?} in\n{err}");
        }
        let no_ca = helpdesk(
            "[grpc]\ntls_cert_file = \"/s.pem\"\ntls_key_file = \"/s.key\"\n[helpdesk]\n\
             clients = [{ subject = \"CN=t\", sites = [\"*\"] }]\n",
        )
        .unwrap_err();
        assert!(
            no_ca.contains("helpdesk.clients: needs helpdesk.client_ca_file"),
            "{no_ca}"
        );
        let unknown =
            helpdesk("[helpdesk]\ngroups = [{ group = \"CN=x\", site = [\"1\"] }]\n").unwrap_err();
        assert!(unknown.contains("helpdesk.groups"), "{unknown}");
    }
}
