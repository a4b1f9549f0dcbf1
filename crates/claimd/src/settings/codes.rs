//! What `roster import` and `admin reissue-code` need to issue claim codes: whether the
//! district requires them, for how long they work, the seal key that keys and seals them,
//! and the words of the mail (the portal's address, the mail's signature).

use std::{path::PathBuf, time::Duration};

use super::{Settings, build::Problems};

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
        let required = self.claim_code_required(&mut p);
        // Mail matters only when codes are mailed: a broken [mail] must not stop an import
        // or an unlock in a district that does not use codes.
        let signature = if required {
            self.mail_signature(&mut p).0
        } else {
            String::new()
        };
        if !p.0.is_empty() {
            anyhow::bail!("invalid configuration:\n  {}", p.0.join("\n  "));
        }
        let url = self.portal.public_url.trim();
        Ok(CodeParts {
            lifetime: required
                .then(|| Duration::from_secs(u64::from(self.accounts.claim_code_days) * 86_400)),
            seal_key_file: self.store.seal_key_file.clone(),
            portal: if url.is_empty() {
                "the district's account self-service page".to_owned()
            } else {
                format!("{}/claim", url.trim_end_matches('/'))
            },
            signature,
        })
    }
}
