//! Who acts at the helpdesk, and what they see of a person (DESIGN.md, "Helpdesk").
//!
//! Every request names a person by employee ID, and the first thing done with it is the
//! scope check: a person outside the caller's sites is answered exactly like an ID the roster
//! does not hold ([`Error::PersonNotFound`]), before the request's other fields are judged,
//! so no refusal tells an out-of-scope person from an unknown one. Every look-up is audited
//! with who looked.

use std::{fmt, net::IpAddr};

use super::{Helpdesk, Sites};
use crate::{
    Account, AccountState, EmployeeId, Error, RosterEntry, Rule, Username, Violations,
    account_keys,
    store::{
        AuditAction, AuditEvent, AuditOutcome, AuditRow, ClaimState, HelperSession, now_millis,
    },
};

/// The longest reason taken: a ticket number and a sentence.
const MAX_REASON_CHARS: usize = 500;

/// The longest `actor` a district tool may name.
const MAX_ACTOR_CHARS: usize = 64;

/// At most this many people answer a name search (narrow it to see others).
pub const SEARCH_LIMIT: u32 = 25;

/// Audit rows shown on a person's page.
const AUDIT_ROWS: u32 = 20;

/// Who acts: a signed-in helper, or a district tool by its client certificate on behalf of
/// one of its users.
#[derive(Clone)]
pub struct Acting {
    /// As the audit names them: `helpdesk:tech101`, `cert:CN=ticketing as jdoe`.
    actor: String,
    /// Who acts without the tool's user: `helpdesk:tech101`, `cert:CN=ticketing`.
    caller: String,
    /// A tool's user as given, judged once the person is known to be in scope.
    typed_actor: Option<String>,
    sites: Sites,
    client: Option<IpAddr>,
}

impl fmt::Debug for Acting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acting")
            .field("actor", &self.actor)
            .field("sites", &self.sites)
            .finish_non_exhaustive()
    }
}

impl Acting {
    /// A helper signed in at the pages, from `client`.
    pub fn helper(session: &HelperSession, client: Option<IpAddr>) -> Self {
        let caller = format!("helpdesk:{}", session.login);
        Self {
            actor: caller.clone(),
            caller,
            typed_actor: None,
            sites: session.sites.clone(),
            client,
        }
    }

    /// A district tool known by its certificate's `subject`, acting for its user `actor`
    /// (required, judged after the scope check: the audit must name a person).
    pub fn tool(subject: &str, actor: &str, sites: Sites, client: Option<IpAddr>) -> Self {
        let caller = format!("cert:{subject}");
        Self {
            actor: format!("{caller} as {}", actor.trim()),
            caller,
            typed_actor: Some(actor.to_owned()),
            sites,
            client,
        }
    }

    /// The tool's user, judged: required, one line.
    fn checked(&self) -> Result<(), Error> {
        match &self.typed_actor {
            Some(actor) => one_line("actor", actor, MAX_ACTOR_CHARS).map(drop),
            None => Ok(()),
        }
    }

    /// As the audit names them.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Where the request came from, when known.
    pub fn client(&self) -> Option<IpAddr> {
        self.client
    }

    /// An audit row of this actor about `entry`.
    pub(super) fn event(
        &self,
        action: AuditAction,
        entry: &RosterEntry,
        username: Option<Username>,
        outcome: AuditOutcome,
        reason: Option<String>,
    ) -> AuditEvent {
        AuditEvent {
            at: now_millis(),
            action,
            employee_id: Some(entry.employee_id),
            username,
            client: self.client,
            actor: Some(self.actor.clone()),
            outcome,
            reason,
        }
    }
}

/// The reason a helper gives for an action: required, one sentence's worth, printable.
pub(super) fn reason(typed: &str) -> Result<String, Error> {
    one_line("reason", typed, MAX_REASON_CHARS)
}

/// A required one-line text of at most `max` characters, trimmed; its refusal names `field`.
fn one_line(field: &str, typed: &str, max: usize) -> Result<String, Error> {
    let text = typed.trim();
    let mut v = Violations::default();
    if text.is_empty() {
        v.add(field, Rule::Required);
    } else if text.chars().count() > max {
        v.add(field, Rule::AtMostChars(max));
    } else if crate::text::has_invisible(text) || text.chars().any(char::is_control) {
        v.add(field, Rule::Invisible);
    }
    v.into_result()?;
    Ok(text.to_owned())
}

/// Where a person's claim stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimStanding {
    /// Never claimed (or a claim the directory refused).
    Unclaimed,
    /// Claimed; the directory is being written.
    Pending,
    /// Claimed and written.
    Claimed,
    /// Terminated in the roster.
    Left,
}

/// What the directory says of the person's login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DirectoryView {
    /// The entry's state.
    Found(AccountState),
    /// No entry answers to the person.
    NoEntry,
    /// The directory could not be asked now.
    Unreachable,
}

/// A person as a helper sees them.
#[derive(Clone, Debug)]
pub struct PersonView {
    /// The roster's entry.
    pub entry: RosterEntry,
    /// Their username (whether or not they claimed it).
    pub username: Username,
    /// Where the claim stands.
    pub claim: ClaimStanding,
    /// The directory's state of their login.
    pub directory: DirectoryView,
    /// Privileged, or a helper: no helpdesk action applies (`None`: the directory could not
    /// say).
    pub privileged: Option<bool>,
    /// When claimd's own lock on them (wrong answers, codes) ends, if one holds.
    pub locked_until: Option<crate::store::Millis>,
    /// Their latest audit rows, newest first.
    pub audit: Vec<AuditRow>,
}

impl Helpdesk {
    /// The roster entry of `id` when it is within the caller's sites; otherwise the unknown
    /// ID's answer, audited as `action` with the ID typed (so a helper probing other schools
    /// shows in the log). Every action starts here; a tool's `actor` is judged only after.
    pub async fn in_scope(
        &self,
        acting: &Acting,
        id: &str,
        action: AuditAction,
    ) -> Result<RosterEntry, Error> {
        match self.scoped(acting, id).await? {
            Some(entry) => {
                acting.checked()?;
                Ok(entry)
            }
            None => {
                let typed: String = id.chars().take(16).collect();
                tracing::warn!(actor = %acting.caller, "helpdesk: no person by that ID within the caller's sites");
                self.store
                    .record_audit(AuditEvent {
                        at: now_millis(),
                        action,
                        employee_id: None,
                        username: None,
                        client: acting.client,
                        actor: Some(acting.caller.clone()),
                        outcome: AuditOutcome::NoMatch,
                        reason: Some(format!("no person {typed:?} within the caller's sites")),
                    })
                    .await?;
                Err(Error::PersonNotFound)
            }
        }
    }

    /// The entry of `id` within the caller's sites, unaudited.
    async fn scoped(&self, acting: &Acting, id: &str) -> Result<Option<RosterEntry>, Error> {
        let Ok(id) = EmployeeId::parse_typed(id) else {
            return Ok(None);
        };
        Ok(self
            .store
            .roster_entry(id)
            .await?
            .filter(|entry| acting.sites.covers(entry.site.as_ref())))
    }

    /// Whether no helpdesk action may touch `account`: privileged in the directory (AD's
    /// privileged groups and `adminCount`, `accounts.protected_groups`), or a helper
    /// themselves (in any `[helpdesk] groups` group), so that no tech takes over a colleague
    /// of wider scope, or helps themselves.
    pub(super) async fn protected(
        &self,
        account: &Account,
        entry: Option<&str>,
    ) -> Result<bool, crate::DirectoryError> {
        if self.accounts.directory.is_protected(account, entry).await? {
            return Ok(true);
        }
        if self.group_dns.is_empty() {
            return Ok(false);
        }
        match self.helpers.find_helper(account.username.as_str()).await? {
            Some(helper) => Ok(self
                .helpers
                .helper_groups(&helper, &self.group_dns)
                .await?
                .into_iter()
                .any(|member| member)),
            None => Ok(false),
        }
    }

    /// The username of an employee ID, claimed or not.
    pub fn username_of(&self, id: EmployeeId) -> Username {
        self.accounts.policy.usernames.render(id)
    }

    /// The account the roster entry is, claimed or not.
    pub(super) fn account_of(&self, entry: &RosterEntry) -> Account {
        Account {
            username: self.accounts.policy.usernames.render(entry.employee_id),
            employee_id: entry.employee_id,
            first_name: entry.first_name.clone(),
            last_name: entry.last_name.clone(),
            email: entry.email.clone(),
        }
    }

    /// A person's page: roster, claim, directory, locks and history. `reason`: why, when the
    /// caller gives one (a district tool's look-up).
    pub async fn look_up(
        &self,
        acting: &Acting,
        id: &str,
        reason: Option<&str>,
    ) -> Result<PersonView, Error> {
        let entry = self
            .in_scope(acting, id, AuditAction::HelpdeskLookUp)
            .await?;
        let reason = reason
            .filter(|r| !r.trim().is_empty())
            .map(self::reason)
            .transpose()?;
        let account = self.account_of(&entry);
        let claim = match self.store.live_claim(entry.employee_id).await? {
            _ if entry.status == crate::RosterStatus::Terminated => ClaimStanding::Left,
            Some(ClaimState::Active) => ClaimStanding::Claimed,
            Some(ClaimState::Pending) => ClaimStanding::Pending,
            Some(ClaimState::Rejected) | None => ClaimStanding::Unclaimed,
        };
        let recorded = self.store.claimed_account(&account.username).await?;
        let taken = recorded.as_ref().and_then(|c| c.entry.as_deref());
        let directory = match self.helpers.account_state(&account, taken).await {
            Ok(Some(state)) => DirectoryView::Found(state),
            Ok(None) => DirectoryView::NoEntry,
            Err(e) => {
                tracing::warn!(error = %e, "the directory could not show a person's login");
                DirectoryView::Unreachable
            }
        };
        let privileged = match self.protected(&account, taken).await {
            Ok(privileged) => Some(privileged),
            Err(e) => {
                tracing::warn!(error = %e, "the directory could not say whether a login is privileged");
                None
            }
        };
        let keys = account_keys(Some(entry.employee_id), Some(&account.username));
        let locked_until = self
            .store
            .locked_until(&keys, &self.accounts.policy.lockout, now_millis())
            .await?;
        self.store
            .record_audit(acting.event(
                AuditAction::HelpdeskLookUp,
                &entry,
                Some(account.username.clone()),
                AuditOutcome::Done,
                reason,
            ))
            .await?;
        let audit = self
            .store
            .audit_rows(Some(entry.employee_id), AUDIT_ROWS)
            .await?;
        Ok(PersonView {
            username: account.username,
            entry,
            claim,
            directory,
            privileged,
            locked_until,
            audit,
        })
    }

    /// The people a helper's search finds within their sites: by employee ID, by username,
    /// or by the start of a last or first name (at most [`SEARCH_LIMIT`]).
    pub async fn search(&self, acting: &Acting, query: &str) -> Result<Vec<RosterEntry>, Error> {
        let query = one_line("query", query, 64)?;
        let query = query.as_str();
        let by_id = EmployeeId::parse_typed(query).ok().or_else(|| {
            Username::parse(query)
                .ok()
                .and_then(|name| self.accounts.policy.usernames.employee_id(&name))
        });
        let found = match by_id {
            Some(id) => self
                .scoped(acting, &id.to_string())
                .await?
                .into_iter()
                .collect(),
            None => {
                self.store
                    .people_named(query, &acting.sites, SEARCH_LIMIT)
                    .await?
            }
        };
        self.store
            .record_audit(AuditEvent {
                at: now_millis(),
                action: AuditAction::HelpdeskLookUp,
                employee_id: None,
                username: None,
                client: acting.client,
                actor: Some(acting.actor.clone()),
                outcome: AuditOutcome::Done,
                reason: Some(format!("searched {query:?}: {} found", found.len())),
            })
            .await?;
        Ok(found)
    }
}
