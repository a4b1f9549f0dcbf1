//! What the slapd suites share: the settings of a claimd that writes into the test slapd.

use std::time::Duration;

use claimd_ldap::{DirectorySettings, Flavor};
use claimd_testkit::Slapd;
use secrecy::SecretString;

/// The OpenLDAP flavor against `slapd`, as claimd's service account.
pub fn settings(slapd: &Slapd) -> DirectorySettings {
    DirectorySettings {
        flavor: Flavor::OpenLdap,
        urls: vec![slapd.url()],
        bind_dn: Slapd::SERVICE_DN.into(),
        bind_password: SecretString::from(Slapd::SERVICE_PASSWORD),
        users_base_dn: Slapd::USERS_BASE_DN.into(),
        ca_file: None,
        starttls: false,
        allow_insecure_directory: true,
        timeout: Duration::from_secs(5),
        upn_suffix: None,
        adopt_used_accounts: false,
        protected_groups: Vec::new(),
        ppolicy_default_dn: None,
    }
}
