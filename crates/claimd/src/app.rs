//! Wiring: the store, the directory, the sealer, the flows, the gRPC server and the sync
//! workers (directory jobs, mail, expiry reminders), started in the combinations `run`, `serve` and `sync` need, stopped by SIGTERM or
//! Ctrl-C after the work in hand is done.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use claimd_core::{
    Accounts, AccountsDeps, AnswerHasher, Events, MailWriter, Sealer,
    admission::CpuPool,
    store::{AdminStore, now_millis},
};
use claimd_ldap::LdapDirectory;
use claimd_mail::SmtpMailer;
use claimd_sync::{MailSender, ReminderScanner, Worker};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::settings::{Parts, PortalParts};

/// What to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The gRPC service and the background workers in one process.
    Run,
    /// Only the gRPC service.
    Serve,
    /// Only the background workers: the directory sync worker and the mail sender.
    Sync,
}

/// Runs until a shutdown signal, then drains and returns.
pub async fn run(parts: Parts, mode: Mode) -> anyhow::Result<()> {
    for warning in parts.warnings() {
        warn!("{warning}");
    }
    let store = parts.store.open().await?;
    let (sealer, created) =
        Sealer::load_or_create(&parts.seal_key_file).context("store.seal_key_file")?;
    if created {
        warn!(path = %parts.seal_key_file.display(), "generated a new seal key; keep it with the database");
    }
    if !store
        .seal_key_matches(&sealer.fingerprint(), now_millis())
        .await?
    {
        anyhow::bail!(
            "store.seal_key_file: {} is not the seal key this database was first started with \
             (a new key, or another replica's): start every replica with the same key file \
             (see the README's backup and replicas sections)",
            parts.seal_key_file.display()
        );
    }
    let sealer = Arc::new(sealer);
    let events = Arc::new(Events::default());
    let directory = Arc::new(
        LdapDirectory::new(parts.directory.clone())?.with_connections(parts.sync.concurrency),
    );
    let mail = Arc::new(MailWriter::new(parts.mail.signature.clone()));
    let shutdown = CancellationToken::new();
    if let Some(listen) = parts.metrics_listen {
        serve_metrics(listen, store.clone(), shutdown.clone())?;
    }
    let mut tasks: Vec<(&str, JoinHandle<anyhow::Result<()>>)> = Vec::new();
    // Cancelled when no job in hand can still finish here, so open watches end then.
    let work_done = CancellationToken::new();
    if mode == Mode::Serve {
        work_done.cancel();
    }

    if mode != Mode::Sync {
        let accounts = Arc::new(Accounts::new(AccountsDeps {
            store: store.clone(),
            policy: Arc::new(parts.policy.clone()),
            hasher: AnswerHasher::new(parts.pepper.clone()),
            sealer: sealer.clone(),
            events: events.clone(),
            directory: directory.clone(),
            mail: mail.clone(),
            cpu: Arc::new(CpuPool::new(&parts.admission)),
        })?);
        let listener = TcpListener::bind(parts.listen)
            .await
            .with_context(|| format!("grpc.listen: cannot listen on {}", parts.listen))?;
        let drain = claimd_grpc::Drain {
            shutdown: shutdown.clone(),
            work_done: work_done.clone(),
        };
        // The helpdesk acts as an operator does, so it runs only here, beside the store and
        // the directory: its pages under `claimd run`, never the DMZ's `claimd portal`.
        let helpdesk = (!parts.helpdesk.groups.is_empty() || !parts.helpdesk.clients.is_empty())
            .then(|| helpdesk(&parts, &accounts, &store, &directory, &sealer));
        if let (Mode::Run, Some(listen)) = (mode, parts.portal_listen) {
            let flows = claimd_core::InProcess::new(accounts.clone(), parts.grpc.support.clone());
            let mut portal = claimd_portal::Portal::new(
                Arc::new(flows),
                parts.portal.clone(),
                claimd_portal::CsrfKey::new(*sealer.subkey("portal csrf tokens")),
            );
            if let Some(desk) = helpdesk
                .clone()
                .filter(|_| !parts.helpdesk.groups.is_empty())
            {
                portal = portal.with_helpdesk(desk);
            }
            let portal = Arc::new(portal);
            let listener = TcpListener::bind(listen)
                .await
                .with_context(|| format!("portal.listen: cannot listen on {listen}"))?;
            let token = shutdown.clone();
            tasks.push((
                "portal",
                tokio::spawn(
                    async move { Ok(claimd_portal::serve(listener, portal, token).await?) },
                ),
            ));
        }
        // Forgot My Password's codes are made off the request path by a worker of their own.
        if let Some(codes) = accounts.code_worker() {
            let token = shutdown.clone();
            tasks.push((
                "verification code worker",
                tokio::spawn(async move {
                    codes.run(token.cancelled_owned()).await;
                    Ok(())
                }),
            ));
        }
        // HelpdeskService answers whenever there is a helpdesk, so a caller without a listed
        // certificate is told so (UNAUTHENTICATED) rather than that it does not exist.
        let desk = match helpdesk {
            Some(desk) => Some(claimd_grpc::HelpdeskApi::new(
                desk,
                parts.helpdesk.clients.clone(),
                helpdesk_issuers(&parts)?,
                parts.grpc.clients.clone(),
            )),
            None => None,
        };
        let server = claimd_grpc::serve(listener, accounts, desk, parts.grpc.clone(), drain);
        tasks.push((
            "gRPC server",
            tokio::spawn(async move { Ok(server.await?) }),
        ));
    }
    if mode != Mode::Serve {
        if let Some(r) = &parts.reminders {
            let reminders = Arc::new(claimd_core::Reminders::new(
                r.policy.clone(),
                store.clone(),
                mail.clone(),
                r.change_page.clone(),
                r.scan_interval,
            ));
            let scanner = Arc::new(ReminderScanner::new(
                directory.clone(),
                reminders,
                r.scan_interval,
                parts.sync.backoff_initial,
            ));
            let token = shutdown.clone();
            tasks.push((
                "expiry reminder scanner",
                tokio::spawn(async move {
                    scanner.run(token).await;
                    Ok(())
                }),
            ));
        }
        let worker = Arc::new(Worker::new(
            store.clone(),
            directory,
            sealer.clone(),
            events.clone(),
            mail,
            parts.sync.clone(),
        ));
        let token = shutdown.clone();
        tasks.push((
            "sync worker",
            tokio::spawn(async move {
                worker.run(token).await;
                work_done.cancel();
                Ok(())
            }),
        ));
        let m = &parts.mail;
        let mailer = Arc::new(SmtpMailer::new(
            &m.url,
            &m.from,
            m.timeout,
            m.ca_pem.as_deref(),
        )?);
        let sender = Arc::new(MailSender::new(
            store.clone(),
            mailer,
            sealer.clone(),
            events,
            parts.sync.clone(),
        ));
        let token = shutdown.clone();
        tasks.push((
            "mail sender",
            tokio::spawn(async move {
                sender.run(token).await;
                Ok(())
            }),
        ));
    }
    info!(?mode, "claimd started");

    // Stop on a signal, or as soon as one part ends on its own (which is a failure).
    let stopped_early = tokio::select! {
        () = shutdown_signal() => None,
        (result, index, _) = futures::future::select_all(tasks.iter_mut().map(|(_, task)| task)) => Some((index, result)),
    };
    shutdown.cancel();
    if let Some((index, result)) = stopped_early {
        let (name, _) = tasks.remove(index);
        result
            .with_context(|| format!("{name} panicked"))?
            .with_context(|| format!("{name} failed"))?;
        anyhow::bail!("{name} stopped unexpectedly");
    }
    info!("shutting down: finishing work in hand");
    for (name, task) in tasks {
        task.await
            .with_context(|| format!("{name} panicked"))?
            .with_context(|| format!("{name} failed"))?;
    }
    info!("claimd stopped");
    Ok(())
}

/// `claimd portal`: the pages alone, calling AccountService over gRPC, until a signal.
pub async fn portal(parts: PortalParts) -> anyhow::Result<()> {
    let remote = Arc::new(claimd_grpc::Remote::new(&parts.api)?);
    // The same derivation as `claimd run` (from its seal key), from a key of the portal's own:
    // forms and finish links stay valid across restarts and across portals sharing the file.
    let (key, created) = Sealer::load_or_create(&parts.key_file).context("portal.key_file")?;
    if created {
        warn!(path = %parts.key_file.display(), "generated a new portal key; copy it to every portal behind the same name");
    }
    let portal = Arc::new(claimd_portal::Portal::new(
        remote,
        parts.pages,
        claimd_portal::CsrfKey::new(*key.subkey("portal csrf tokens")),
    ));
    let listener = TcpListener::bind(parts.listen)
        .await
        .with_context(|| format!("portal.listen: cannot listen on {}", parts.listen))?;
    let shutdown = CancellationToken::new();
    let pages = tokio::spawn(claimd_portal::serve(listener, portal, shutdown.clone()));
    info!(api = %parts.api.url, "claimd portal started");
    shutdown_signal().await;
    shutdown.cancel();
    pages.await.context("portal panicked")??;
    info!("claimd stopped");
    Ok(())
}

/// Serves Prometheus metrics on `listen` and keeps the queue gauges current.
fn serve_metrics(
    listen: std::net::SocketAddr,
    store: Arc<dyn AdminStore>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (recorder, exporter) = metrics_exporter_prometheus::PrometheusBuilder::new()
        .with_http_listener(listen)
        .build()
        .with_context(|| format!("metrics.listen: cannot serve metrics on {listen}"))?;
    metrics::set_global_recorder(recorder).context("metrics recorder already installed")?;
    tokio::spawn(async move {
        if let Err(e) = exporter.await {
            warn!(error = ?e, "metrics endpoint stopped");
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            match store.queue_stats().await {
                Ok(stats) => {
                    let oldest = stats
                        .oldest_job_queued_at
                        .map_or(0.0, |at| (now_millis() - at).max(0) as f64 / 1000.0);
                    metrics::gauge!("claimd_directory_queue_depth").set(stats.jobs_waiting as f64);
                    metrics::gauge!("claimd_directory_oldest_job_seconds").set(oldest);
                    metrics::gauge!("claimd_mail_queue_depth").set(stats.mails_waiting as f64);
                }
                Err(e) => warn!(error = %e, "queue metrics not updated"),
            }
        }
    });
    info!(%listen, "metrics endpoint listening on /metrics");
    Ok(())
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = term.recv() => info!(signal = "SIGTERM", "shutdown requested"),
        _ = tokio::signal::ctrl_c() => info!(signal = "SIGINT", "shutdown requested"),
    }
}

/// The helpdesk over the account flows, the store and the directory.
fn helpdesk(
    parts: &Parts,
    accounts: &Arc<Accounts>,
    store: &Arc<dyn claimd_core::Store>,
    directory: &Arc<LdapDirectory>,
    sealer: &Arc<Sealer>,
) -> Arc<claimd_core::helpdesk::Helpdesk> {
    let codes = parts.policy.claim_code.map(|lifetime| {
        Arc::new(claimd_core::claim_codes::ClaimCodeIssuer::new(
            store.clone(),
            sealer.clone(),
            MailWriter::new(parts.mail.signature.clone()),
            lifetime,
            crate::settings::claim_page(&parts.portal.public_url),
        ))
    });
    Arc::new(claimd_core::helpdesk::Helpdesk::new(
        claimd_core::helpdesk::HelpdeskDeps {
            accounts: accounts.clone(),
            store: store.clone(),
            helpers: directory.clone(),
            groups: parts.helpdesk.groups.clone(),
            limits: claimd_core::store::SessionLimits::default(),
            codes,
        },
    ))
}

/// The CA that issues district tools' certificates, when the gRPC server also trusts
/// another (`grpc.client_ca_file`): HelpdeskService then takes only certificates it signed.
fn helpdesk_issuers(parts: &Parts) -> anyhow::Result<Option<claimd_grpc::HelpdeskIssuers>> {
    let Some(tls) = &parts.grpc.tls else {
        return Ok(None);
    };
    let (Some(path), Some(_)) = (&tls.helpdesk_ca_file, &tls.client_ca_file) else {
        return Ok(None);
    };
    let pem = std::fs::read(path)
        .with_context(|| format!("helpdesk.client_ca_file: cannot read {}", path.display()))?;
    claimd_grpc::HelpdeskIssuers::from_pem(&pem)
        .map(Some)
        .map_err(|why| anyhow::anyhow!("helpdesk.client_ca_file: {} {why}", path.display()))
}
