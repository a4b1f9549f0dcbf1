//! The helpdesk's part of the store (DESIGN.md, "Helpdesk"): helpers' sessions, kept in the
//! store so that a sign-out, an idle hour or the 8-hour end holds on every replica and across
//! restarts; and the people a helper finds by name within their scope.

use std::{fmt, time::Duration};

use async_trait::async_trait;

use crate::{RosterEntry, StoreError, helpdesk::Sites, store::Millis};

/// A signed-in helper, as the store keeps them. The session's token itself is never stored:
/// only its hash, so a copy of the database opens no session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelperSession {
    /// The login name they signed in with, as the directory spells it.
    pub login: String,
    /// Their directory entry.
    pub dn: String,
    /// Whom they may help: their groups' sites, read at sign-in.
    pub sites: Sites,
    /// When they signed in.
    pub started_at: Millis,
    /// When the session was last used.
    pub seen_at: Millis,
}

/// How long a session lasts: `idle` without a request, `max` in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLimits {
    /// Unused this long, the session ends (15 minutes).
    pub idle: Duration,
    /// Used or not, the session ends this long after sign-in (8 hours).
    pub max: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(15 * 60),
            max: Duration::from_secs(8 * 60 * 60),
        }
    }
}

impl SessionLimits {
    /// The earliest `seen_at` and `started_at` of a session still open at `now`.
    pub fn open_since(&self, now: Millis) -> (Millis, Millis) {
        let back =
            |d: Duration| now.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        (back(self.idle), back(self.max))
    }
}

/// The helpdesk's sessions and searches.
#[async_trait]
pub trait HelpdeskStore: Send + Sync + fmt::Debug {
    /// Keeps a new session under `token_hash`; sessions that have ended by `limits` are
    /// removed on the way, so abandoned ones do not pile up.
    async fn open_session(
        &self,
        token_hash: &str,
        session: &HelperSession,
        limits: &SessionLimits,
    ) -> Result<(), StoreError>;

    /// The session under `token_hash` when it is still open at `now`, its `seen_at` moved to
    /// `now`, in one statement (two replicas cannot revive an ended session between them);
    /// `None`, and the session removed, when it has ended or never was.
    async fn touch_session(
        &self,
        token_hash: &str,
        now: Millis,
        limits: &SessionLimits,
    ) -> Result<Option<HelperSession>, StoreError>;

    /// Ends a session (sign-out). Ending one that is gone is not an error.
    async fn close_session(&self, token_hash: &str) -> Result<(), StoreError>;

    /// Roster entries within `sites` whose last or first name begins with `name`
    /// (case-blind), ordered by last name, first name and ID, at most `limit`.
    async fn people_named(
        &self,
        name: &str,
        sites: &Sites,
        limit: u32,
    ) -> Result<Vec<RosterEntry>, StoreError>;
}
