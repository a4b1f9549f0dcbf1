//! A helpdesk helper signs in (DESIGN.md, "Helpdesk") with their own directory login name and
//! password, and gets a session. The rules, in the order they are applied:
//!
//! - The attempt is reserved on the login name typed and the client address before anything
//!   is asked of the directory (the attempt rule of `attempts`).
//! - The helper's helpdesk groups are read BEFORE any bind: a directory user in none of them
//!   is refused without their password being tried, so the sign-in page is no way to guess
//!   the password of any account of the domain.
//! - The bind keeps below the directory's lockout threshold for the helper, counting every
//!   source's wrong passwords, exactly as a person's current-password check does
//!   (`recovery::binds`): claimd never locks a helper's domain login.
//! - Every refusal ends on the same timer tick after a floor, and says the same thing
//!   (`Unauthenticated`), whether the name is unknown, not a helper, or the password wrong.
//! - A session's token is 32 random bytes shown to the browser once; the store keeps only its
//!   SHA-256, with the helper's scope read now (a change of groups counts at the next sign-in).

use std::{fmt, net::IpAddr, sync::Arc, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use super::{HelperGroup, scope_of};
use crate::{
    Accounts, DirectoryError, Error, Helper, HelperDirectory, PasswordCheck, Rule, Violations,
    attempts::{Attempt, AuditContext, Subject},
    claim_codes::ClaimCodeIssuer,
    recovery::binds::{bind_limit, wait_before_bind},
    store::{
        AuditAction, AuditEvent, AuditOutcome, HelperSession, SessionLimits, Store, now_millis,
    },
};

/// The longest login name taken (AD's sAMAccountName has at most 20 characters).
const MAX_LOGIN_CHARS: usize = 64;

/// Every sign-in reply takes at least this long, so a name that is not a helper's (no bind)
/// answers on the same tick as a wrong password (a bind).
const SIGN_IN_FLOOR: Duration = Duration::from_millis(250);

/// What the helpdesk is built from.
#[derive(Debug)]
pub struct HelpdeskDeps {
    /// The account flows: the attempt rule, the mail, the sealer.
    pub accounts: Arc<Accounts>,
    /// The store, every role (the helpdesk acts as an operator does).
    pub store: Arc<dyn Store>,
    /// Who helpers are, their passwords and groups.
    pub helpers: Arc<dyn HelperDirectory>,
    /// `[helpdesk] groups`.
    pub groups: Vec<HelperGroup>,
    /// How long a session lasts.
    pub limits: SessionLimits,
    /// Hands out claim codes (`None`: `accounts.claim_code` is off).
    pub codes: Option<Arc<ClaimCodeIssuer>>,
}

/// The helpdesk: helpers' sign-in and sessions, and what they may do.
pub struct Helpdesk {
    pub(super) accounts: Arc<Accounts>,
    pub(super) store: Arc<dyn Store>,
    pub(super) helpers: Arc<dyn HelperDirectory>,
    groups: Vec<HelperGroup>,
    pub(super) group_dns: Vec<String>,
    limits: SessionLimits,
    pub(super) codes: Option<Arc<ClaimCodeIssuer>>,
}

impl fmt::Debug for Helpdesk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Helpdesk")
            .field("groups", &self.groups)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What the sign-in page sends.
#[derive(Debug)]
pub struct SignIn {
    /// The login name as typed.
    pub username: String,
    /// The helper's own directory password.
    pub password: SecretString,
}

/// A session begun.
#[derive(Debug)]
pub struct SignedIn {
    /// For the browser's cookie, shown once; the store keeps its hash only.
    pub token: SecretString,
    /// Who signed in, and whom they may help.
    pub session: HelperSession,
}

/// How a sign-in's password check came out, with the bind's reserved attempt.
enum Checked<'a> {
    /// The helper is who they say.
    Right {
        helper: Helper,
        sites: super::Sites,
        bind: Option<Attempt<'a>>,
    },
    /// The password is the helper's, but the directory wants it changed first.
    Proven {
        error: Error,
        bind: Option<Attempt<'a>>,
    },
    /// Unknown, not a helper, or the password is wrong: a failure.
    Wrong {
        why: &'static str,
        bind: Option<Attempt<'a>>,
    },
    /// Nothing was judged: the directory could not be asked, or refuses for now.
    NotJudged {
        error: Error,
        bind: Option<Attempt<'a>>,
    },
}

/// The hash a session is kept under.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// True for a token of the form sign-in hands out (64 hex digits).
fn well_formed(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Helpdesk {
    /// The helpdesk over these parts.
    pub fn new(deps: HelpdeskDeps) -> Self {
        Self {
            group_dns: deps.groups.iter().map(|g| g.group.clone()).collect(),
            accounts: deps.accounts,
            store: deps.store,
            helpers: deps.helpers,
            groups: deps.groups,
            limits: deps.limits,
            codes: deps.codes,
        }
    }

    /// How long a session lasts.
    pub fn limits(&self) -> SessionLimits {
        self.limits
    }

    /// Checks a helper's login name and password and opens a session.
    pub async fn sign_in(
        &self,
        request: SignIn,
        client: Option<IpAddr>,
    ) -> Result<SignedIn, Error> {
        let mut v = Violations::default();
        let login = request.username.trim();
        if login.is_empty() {
            v.add("username", Rule::Required);
        } else if login.chars().count() > MAX_LOGIN_CHARS {
            v.add("username", Rule::AtMostChars(MAX_LOGIN_CHARS));
        } else if crate::text::has_invisible(login) {
            v.add("username", Rule::Invisible);
        }
        if request.password.expose_secret().is_empty() {
            v.add("password", Rule::Required);
        }
        v.into_result()?;
        let login = login.to_owned();
        let key = login.to_lowercase();
        let audit = AuditContext {
            action: AuditAction::HelpdeskSignIn,
            employee_id: None,
            username: None,
            client,
        };
        let attempt = self
            .accounts
            .reserve(&Subject::HelperSignIn(key.clone()), &audit)
            .await?;
        let ends = tokio::time::Instant::now() + SIGN_IN_FLOOR;
        let checked = self.check(&login, &key, &request.password, &audit).await;
        tokio::time::sleep_until(ends).await;
        let actor = Some(format!("helpdesk:{login}"));
        match checked {
            Checked::Right {
                helper,
                sites,
                bind,
            } => {
                attempt.proven().await?;
                if let Some(bind) = bind {
                    bind.proven().await?;
                }
                self.open(helper, sites, client).await
            }
            Checked::Proven { error, bind } => {
                attempt.proven().await?;
                if let Some(bind) = bind {
                    bind.proven().await?;
                }
                warn!(helper = %login, "helpdesk sign-in refused: the helper's password must be changed first");
                self.record(
                    actor,
                    client,
                    AuditOutcome::ProvenRefused,
                    "the password must be changed first",
                )
                .await?;
                Err(error)
            }
            Checked::Wrong { why, bind } => {
                attempt.failed().await?;
                if let Some(bind) = bind {
                    bind.failed().await?;
                }
                warn!(reason = why, "helpdesk sign-in refused");
                self.record(actor, client, AuditOutcome::Unauthenticated, why)
                    .await?;
                Err(Error::Unauthenticated)
            }
            Checked::NotJudged { error, bind } => {
                attempt.not_judged().await?;
                if let Some(bind) = bind {
                    bind.not_judged().await?;
                }
                Err(error)
            }
        }
    }

    /// Who the login is, whether they are a helper, and whether the password is theirs.
    async fn check<'a>(
        &'a self,
        login: &str,
        key: &str,
        password: &SecretString,
        audit: &AuditContext,
    ) -> Checked<'a> {
        let unreachable = |e: DirectoryError, bind| {
            warn!(error = %e, "the directory could not check a helper");
            Checked::NotJudged {
                error: Error::DirectoryUnavailable,
                bind,
            }
        };
        let helper = match self.helpers.find_helper(login).await {
            Ok(Some(helper)) => helper,
            Ok(None) => {
                return Checked::Wrong {
                    why: "no such directory user",
                    bind: None,
                };
            }
            Err(e) => return unreachable(e, None),
        };
        let member_of = match self.helpers.helper_groups(&helper, &self.group_dns).await {
            Ok(member_of) => member_of,
            Err(e) => return unreachable(e, None),
        };
        let Some(sites) = scope_of(&self.groups, &member_of) else {
            return Checked::Wrong {
                why: "not in a helpdesk group",
                bind: None,
            };
        };
        let standing = match self.helpers.helper_lockout(&helper).await {
            Ok(standing) => standing,
            Err(e) => return unreachable(e, None),
        };
        if standing.locked {
            return Checked::NotJudged {
                error: Error::DirectoryLocked,
                bind: None,
            };
        }
        let mut bind = None;
        if let Some(limit) = bind_limit(&standing) {
            if let Some(retry_after) = wait_before_bind(&standing, now_millis()) {
                warn!("helpdesk sign-in refused: one more wrong password would lock the login");
                return Checked::NotJudged {
                    error: Error::LockedOut { retry_after },
                    bind: None,
                };
            }
            let subject = Subject::DirectoryBinds {
                login: key.to_owned(),
                limit,
                window: standing.count_window,
            };
            match self.accounts.reserve(&subject, audit).await {
                Ok(reserved) => bind = Some(reserved),
                Err(error) => return Checked::NotJudged { error, bind: None },
            }
        }
        match self.helpers.check_helper_password(&helper, password).await {
            Ok(PasswordCheck::Right) => Checked::Right {
                helper,
                sites,
                bind,
            },
            Ok(PasswordCheck::Expired | PasswordCheck::MustChange) => Checked::Proven {
                error: Error::invalid("password", Rule::ChangeFirst),
                bind,
            },
            Ok(PasswordCheck::Wrong) => Checked::Wrong {
                why: "wrong password",
                bind,
            },
            Ok(PasswordCheck::Locked) => Checked::NotJudged {
                error: Error::DirectoryLocked,
                bind,
            },
            Err(e) => unreachable(e, bind),
        }
    }

    /// Opens the session of a helper whose password proved right.
    async fn open(
        &self,
        helper: Helper,
        sites: super::Sites,
        client: Option<IpAddr>,
    ) -> Result<SignedIn, Error> {
        let bytes: [u8; 32] = rand::random();
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = now_millis();
        let session = HelperSession {
            login: helper.login,
            dn: helper.dn,
            sites,
            started_at: now,
            seen_at: now,
        };
        self.store
            .open_session(&token_hash(&token), &session, &self.limits)
            .await?;
        let scope = format!("may help sites {:?}", session.sites);
        self.record(
            Some(format!("helpdesk:{}", session.login)),
            client,
            AuditOutcome::Accepted,
            &scope,
        )
        .await?;
        info!(helper = %session.login, sites = ?session.sites, "helpdesk sign-in");
        Ok(SignedIn {
            token: SecretString::from(token),
            session,
        })
    }

    async fn record(
        &self,
        actor: Option<String>,
        client: Option<IpAddr>,
        outcome: AuditOutcome,
        reason: &str,
    ) -> Result<(), Error> {
        let event = AuditEvent {
            at: now_millis(),
            action: AuditAction::HelpdeskSignIn,
            employee_id: None,
            username: None,
            client,
            actor,
            outcome,
            reason: Some(reason.to_owned()),
        };
        Ok(self.store.record_audit(event).await?)
    }

    /// The open session a browser's token names, kept open (its idle time starts again);
    /// `None` when it has ended, was signed out, or never was.
    pub async fn session(&self, token: &str) -> Result<Option<HelperSession>, Error> {
        if !well_formed(token) {
            return Ok(None);
        }
        Ok(self
            .store
            .touch_session(&token_hash(token), now_millis(), &self.limits)
            .await?)
    }

    /// Ends the session a token names.
    pub async fn sign_out(&self, token: &str) -> Result<(), Error> {
        if well_formed(token) {
            self.store.close_session(&token_hash(token)).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_kept_by_a_hash_of_their_own_form() {
        let token = "ab".repeat(32);
        assert!(well_formed(&token));
        assert!(!well_formed("ab"));
        assert!(!well_formed(&"zz".repeat(32)));
        let hash = token_hash(&token);
        assert_eq!(hash.len(), 64);
        assert_ne!(hash, token);
        assert_eq!(hash, token_hash(&token));
    }
}
