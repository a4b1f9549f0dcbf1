//! `claimd admin …`: what IT staff do by hand, each recorded in the audit log.

use std::{net::IpAddr, time::Duration};

use anyhow::bail;
use claimd_core::{
    EmployeeId, OperationId, Store, Username, UsernameTemplate, account_keys, address_keys,
    store::{AuditAction, AuditEvent, AuditOutcome, now_millis},
};
use clap::Subcommand;
use secrecy::ExposeSecret;

/// The administrator commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Lift a lockout: an employee ID, a username or a client address.
    Unlock {
        /// `077777`, `e77777` or `10.1.2.3`.
        account: String,
    },
    /// Give up a claim stuck in pending (e.g. the directory refuses the service account), so
    /// the person can claim again.
    Release {
        /// The employee ID.
        employee_id: String,
        /// Why, for the person and the audit log.
        #[arg(
            long,
            default_value = claimd_core::reasons::RELEASED
        )]
        reason: String,
    },
    /// Give an employee a new claim code (the old one stops working): mailed to the roster's
    /// personal_email, or printed here for IT to hand over when there is none.
    ReissueCode {
        /// The employee ID.
        employee_id: String,
    },
    /// Retry a waiting directory job now instead of at its next backoff time.
    Retry {
        /// The operation id.
        operation_id: String,
    },
    /// Show the latest audit rows, newest first.
    Audit {
        /// Only rows about this employee ID.
        #[arg(long)]
        employee: Option<String>,
        /// How many rows.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

/// Who ran the command, for the audit log's actor.
fn operator() -> String {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

fn event(
    action: AuditAction,
    employee_id: Option<EmployeeId>,
    username: Option<Username>,
    outcome: AuditOutcome,
) -> AuditEvent {
    AuditEvent {
        at: now_millis(),
        action,
        employee_id,
        username,
        client: None,
        actor: Some(operator()),
        outcome,
        reason: None,
    }
}

fn employee_id(value: &str) -> anyhow::Result<EmployeeId> {
    EmployeeId::parse_roster(value).map_err(|rule| anyhow::anyhow!("employee ID {value:?} {rule}"))
}

/// Runs one admin command against the store.
pub async fn run(
    store: &crate::settings::StoreParts,
    usernames: &UsernameTemplate,
    codes: &crate::settings::CodeParts,
    command: AdminCommand,
) -> anyhow::Result<()> {
    let store = store.open().await?;
    match command {
        AdminCommand::ReissueCode { employee_id: id } => {
            let id = employee_id(&id)?;
            let Some(issuer) = crate::codes::issuer(codes, store.clone())? else {
                bail!("claim codes are off; set accounts.claim_code = \"required\" first");
            };
            let until = issuer.until();
            let by = claimd_core::claim_codes::ReissuedBy {
                action: AuditAction::AdminReissueCode,
                actor: operator(),
                reason: None,
                client: None,
            };
            match issuer.reissue(id, by).await? {
                None => println!(
                    "a new claim code for employee {id} was mailed to their personal address \
                     (it works until {until}); the old one no longer works"
                ),
                Some(code) => println!(
                    "new claim code for employee {id}: {} (works until {until}; the old one no \
                     longer works). The roster has no personal_email: give it to the person \
                     yourself.",
                    code.expose_secret()
                ),
            }
            Ok(())
        }
        AdminCommand::Unlock { account } => unlock(&*store, usernames, &account).await,
        AdminCommand::Release {
            employee_id: id,
            reason,
        } => {
            let id = employee_id(&id)?;
            let released = store
                .release_pending_claim(
                    id,
                    &reason,
                    AuditEvent {
                        reason: Some(reason.clone()),
                        ..event(
                            AuditAction::AdminRelease,
                            Some(id),
                            None,
                            AuditOutcome::Done,
                        )
                    },
                )
                .await?;
            if !released {
                bail!("employee {id} has no pending claim");
            }
            println!("released the pending claim of employee {id}; they may claim again");
            Ok(())
        }
        AdminCommand::Retry { operation_id } => {
            let id = OperationId::parse(&operation_id)
                .map_err(|rule| anyhow::anyhow!("operation id {rule}"))?;
            let now = now_millis();
            if !store
                .retry_now(
                    id,
                    event(AuditAction::AdminRetry, None, None, AuditOutcome::Done),
                    now,
                )
                .await?
            {
                bail!(
                    "operation {id} has no job waiting for a retry (done, failed, unknown, being applied now, or held until its lease ends because its last write may still land)"
                );
            }
            println!("operation {id} will be retried now");
            Ok(())
        }
        AdminCommand::Audit { employee, limit } => {
            let employee = employee.as_deref().map(employee_id).transpose()?;
            for row in store.audit_rows(employee, limit).await? {
                let at = std::time::UNIX_EPOCH
                    + Duration::from_millis(u64::try_from(row.at).unwrap_or(0));
                let id = row
                    .employee_id
                    .map_or_else(|| "-".into(), |id| format!("{id:06}"));
                println!(
                    "{}  {:<26} {:<22} {id:<7} {:<10} {:<15} {:<16} {}",
                    humantime::format_rfc3339_seconds(at),
                    row.action,
                    row.actor.as_deref().unwrap_or("-"),
                    row.username.as_deref().unwrap_or("-"),
                    row.client.as_deref().unwrap_or("-"),
                    row.outcome,
                    row.reason.as_deref().unwrap_or(""),
                );
            }
            Ok(())
        }
    }
}

async fn unlock(
    store: &dyn Store,
    usernames: &UsernameTemplate,
    account: &str,
) -> anyhow::Result<()> {
    let (mut employee, mut username, mut address) = (None, None, None);
    let keys = if let Ok(ip) = account.parse::<IpAddr>() {
        // The audit row names the address unlocked.
        address = Some(ip);
        address_keys(ip)
    } else {
        // An account is locked under its employee ID (claims) or its username (recovery),
        // whichever was typed at the portal: unlocking one form unlocks both.
        if account.bytes().all(|b| b.is_ascii_digit()) {
            let id = employee_id(account)?;
            employee = Some(id);
            username = Some(usernames.render(id));
        } else {
            let name = Username::parse(account)
                .map_err(|rule| anyhow::anyhow!("username {account:?} {rule}"))?;
            // The template leads back to the ID whether or not the person ever claimed.
            employee = match usernames.employee_id(&name) {
                Some(id) => Some(id),
                None => store
                    .claimed_account(&name)
                    .await?
                    .map(|c| c.account.employee_id),
            };
            username = Some(name);
        }
        account_keys(employee, username.as_ref())
    };
    let mut lifted = false;
    for key in &keys {
        let audit = AuditEvent {
            client: address,
            ..event(
                AuditAction::AdminUnlock,
                employee,
                username.clone(),
                AuditOutcome::Done,
            )
        };
        let done = store.unlock(key, audit).await?;
        if done {
            println!("unlocked {key}");
        }
        lifted |= done;
    }
    if !lifted {
        println!("{account} was not locked and had no failures on record");
    }
    Ok(())
}
