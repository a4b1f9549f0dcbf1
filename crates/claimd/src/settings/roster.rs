//! `[roster]`, checked, and what `roster import` and `admin reissue-code` need to issue
//! claim codes: whether the district requires them, for how long they work, the seal key that
//! keys and seals them, and the words of the mail (the portal's address, the mail's signature).

use std::{path::PathBuf, time::Duration};

use serde::Deserialize;

use super::{Settings, problems::Problems};

/// How roster imports treat the directory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RosterSection {
    /// A full import that would disable more than this percentage of the claimed accounts
    /// refuses without `--allow-mass-disable`: a truncated export must not lock out a district.
    pub max_disable_percent: u8,
}

impl Default for RosterSection {
    fn default() -> Self {
        Self {
            max_disable_percent: 10,
        }
    }
}

/// Where a claim code's mail sends people: `portal.public_url`'s claim page, or a sentence
/// when there is none.
pub fn claim_page(public_url: &str) -> String {
    let url = public_url.trim();
    if url.is_empty() {
        "the district's account self-service page".to_owned()
    } else {
        format!("{}/claim", url.trim_end_matches('/'))
    }
}

/// `accounts.claim_code*`, checked, with what a code's mail needs.
#[derive(Debug)]
pub struct CodeParts {
    /// How long a code works; `None` when claims need no code.
    pub lifetime: Option<Duration>,
    pub seal_key_file: PathBuf,
    /// Where the mail sends people: `portal.public_url`, or a sentence when there is none.
    pub portal: String,
    pub signature: String,
}

impl Settings {
    /// The claim-code settings; every bad key named.
    pub fn code_parts(&self) -> anyhow::Result<CodeParts> {
        let mut p = Problems::default();
        let lifetime = self.claim_code_lifetime(&mut p);
        // Mail matters only when codes are mailed: a broken [mail] must not stop an import
        // or an unlock in a district that does not use codes.
        let signature = if lifetime.is_some() {
            self.mail_signature(&mut p).0
        } else {
            String::new()
        };
        p.finish(Some(CodeParts {
            lifetime,
            seal_key_file: self.store.seal_key_file.clone(),
            portal: claim_page(&self.portal.public_url),
            signature,
        }))
    }

    /// `roster.max_disable_percent`, checked: the share of claimed accounts a full import may
    /// disable without `--allow-mass-disable`.
    pub fn max_disable_percent(&self) -> anyhow::Result<u8> {
        let mut p = Problems::default();
        let percent = self.roster_limits(&mut p);
        p.finish(Some(percent))
    }

    /// `[roster]`, checked; part of every full check so `check-config` reports it too.
    pub(super) fn roster_limits(&self, p: &mut Problems) -> u8 {
        let percent = self.roster.max_disable_percent;
        if percent > 100 {
            p.add("roster.max_disable_percent", "must be from 0 to 100");
        }
        percent
    }
}
