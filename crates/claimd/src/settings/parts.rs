//! From settings as written to the typed parts claimd runs with: each section checks itself
//! (its own file, its own function), every problem is reported at once naming its key, and
//! nothing starts until all are fixed.

use std::{net::SocketAddr, path::PathBuf};

use claimd_core::{AccountPolicy, admission::AdmissionPolicy};
use claimd_grpc::GrpcSettings;
use claimd_ldap::DirectorySettings;
use claimd_sync::SyncConfig;
use secrecy::SecretSlice;

use super::{LogFormat, MailParts, Settings, StoreParts, problems::Problems};

/// The typed, validated configuration.
#[derive(Debug)]
pub struct Parts {
    pub listen: SocketAddr,
    pub grpc: GrpcSettings,
    pub store: StoreParts,
    pub seal_key_file: PathBuf,
    pub directory: DirectorySettings,
    pub policy: AccountPolicy,
    pub pepper: Option<SecretSlice<u8>>,
    pub sync: SyncConfig,
    pub mail: MailParts,
    pub metrics_listen: Option<SocketAddr>,
    pub portal_listen: Option<SocketAddr>,
    pub portal: claimd_portal::PortalSettings,
    pub log_json: bool,
    pub admission: AdmissionPolicy,
    /// `None`: no expiry reminders.
    pub reminders: Option<super::ReminderParts>,
    /// `[helpdesk]`: who may help whom.
    pub helpdesk: super::HelpdeskParts,
}

impl Parts {
    /// What is valid but weaker than it should be, for `check-config` and the start's log.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.pepper.is_none() {
            warnings.push(
                "security.pepper_file is not set: challenge answers are hashed without a \
                 server-side pepper, so a copy of the database alone is enough to start \
                 guessing them offline. Point it at a file of at least 16 random characters \
                 (the same on every replica, backed up apart from the database)"
                    .to_owned(),
            );
        }
        if let Some(listen) = self.portal_listen
            && !listen.ip().is_loopback()
            && self.portal.clients.trusted_proxies.is_empty()
        {
            warnings.push(format!(
                "portal.trusted_proxies is empty while portal.listen is {listen}: if a reverse \
                 proxy or load balancer forwards to the pages, list its address there, or every \
                 visitor counts as that proxy and one person's wrong tries lock out everyone"
            ));
        }
        warnings
    }
}

impl Settings {
    /// Validates everything and builds the parts; the error lists every problem, one per line.
    pub fn parts(&self) -> anyhow::Result<Parts> {
        let mut p = Problems::default();
        let limits = self.limits(&mut p);
        let (portal_listen, portal, support) = self.pages(&mut p);
        let grpc = self.grpc(&mut p, &limits, support);
        let store = self.store_parts(&mut p);
        let directory = self.directory(&mut p);
        let policy = self.account_policy(&mut p);
        let pepper = self.pepper(&mut p);
        let sync = self.sync(&mut p);
        let mail = self.mail(&mut p);
        let metrics_listen = self.metrics_listen(&mut p);
        let log_json = self.log_json(&mut p);
        self.roster_limits(&mut p);
        let reminders = self.reminders(&mut p);
        let helpdesk = self.helpdesk(&mut p);
        let parts = (|| {
            let (listen, grpc) = grpc?;
            Some(Parts {
                listen,
                grpc,
                store: store?,
                seal_key_file: self.store.seal_key_file.clone(),
                directory,
                policy: policy?,
                pepper,
                sync,
                mail,
                metrics_listen,
                portal_listen,
                portal,
                log_json,
                admission: limits.admission,
                reminders,
                helpdesk,
            })
        })();
        p.finish(parts)
    }

    /// `metrics.listen`: an address and port, or empty for no metrics endpoint.
    fn metrics_listen(&self, p: &mut Problems) -> Option<SocketAddr> {
        match self.metrics.listen.trim() {
            "" => None,
            listen => p.take(
                "metrics.listen",
                listen.parse::<SocketAddr>().map_err(|_| {
                    format!("{listen:?} is not an address and port such as 127.0.0.1:9464")
                }),
            ),
        }
    }

    /// `[log]`, checked: whether lines are JSON.
    pub(super) fn log_json(&self, p: &mut Problems) -> bool {
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            p.add(
                "log.level",
                format!("{:?} is not a log filter: {e}", self.log.level),
            );
        }
        self.log.format == LogFormat::Json
    }
}
