//! `claimd`: the self-service account claim and recovery daemon.
//!
//! One binary with subcommands: `run` (the gRPC service and the workers in one process, the
//! embedded default), `serve`, `sync`, `roster import FILE.csv`, `admin …`, `check-config` and
//! `completions SHELL` (and, for packagers, the hidden `manpage`). This
//! crate only wires the others together: configuration in, parts built, tasks started.

mod admin;
mod app;
mod codes;
mod manual;
mod roster;
mod settings;
mod telemetry;

use std::{path::PathBuf, process::ExitCode};

use clap::{CommandFactory, Parser, Subcommand};

use crate::{app::Mode, settings::Settings};

/// mimalloc instead of glibc's malloc: under a storm of connections and argon2's 19 MiB
/// blocks, glibc's per-thread arenas fragment and the peak resident memory grew to ~940 MiB;
/// with mimalloc it stays ~150 MiB (BENCHMARKS.md, "Claim storm").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The version `--version` prints, with the commit it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("CLAIMD_GIT_COMMIT"),
    ")"
);

/// Self-service account claim and recovery for school districts.
#[derive(Debug, Parser)]
#[command(version = VERSION, about)]
struct Cli {
    /// The TOML configuration file; every key may be overridden by CLAIMD__SECTION__KEY.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gRPC service and the directory sync worker in one process.
    Run,
    /// Run only the gRPC service (a sync worker runs elsewhere).
    Serve,
    /// Run only the directory sync worker.
    Sync,
    /// Serve only the self-service pages, calling AccountService at portal.api over gRPC
    /// (for a DMZ host; the service lists this host in grpc.trusted_proxies).
    Portal,
    /// Manage the HR roster.
    Roster {
        #[command(subcommand)]
        command: RosterCommand,
    },
    /// Check the configuration and exit; names every key that is wrong.
    CheckConfig,
    /// Administer accounts: unlock, release a stuck claim, retry now, read the audit log.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Print shell completions (bash, zsh, fish, elvish, powershell) to standard output.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page claimd(1), as roff, to standard output (for packagers).
    #[command(hide = true)]
    Manpage,
}

#[derive(Debug, Subcommand)]
enum RosterCommand {
    /// Import (add or update) entries from a CSV file: employee_id,last_name,first_name,email,status.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// The file is the whole staff: active people missing from it have left.
        #[arg(long)]
        full: bool,
        /// Print the planned directory changes and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Let a full import disable more than roster.max_disable_percent of the accounts.
        #[arg(long)]
        allow_mass_disable: bool,
        /// With accounts.claim_code = "required": write the claim codes of entries without a
        /// personal_email to this new CSV file (mode 0600) for HR to print and hand out.
        #[arg(long, value_name = "FILE")]
        codes_out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Made from the definitions alone: no configuration is read.
    match &cli.command {
        Command::Completions { shell } => {
            manual::completions(Cli::command(), *shell);
            return ExitCode::SUCCESS;
        }
        Command::Manpage => {
            return match manual::manpage(Cli::command()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("claimd: {error}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {}
    }
    // One TLS provider for the whole process (LDAP and gRPC); see FACTS.md.
    let _ = rustls::crypto::ring::default_provider().install_default();
    match execute(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("claimd: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn execute(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load(cli.config.as_deref(), None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Command::Roster {
        command:
            RosterCommand::Import {
                file,
                full,
                dry_run,
                allow_mass_disable,
                codes_out,
            },
    } = &cli.command
    {
        let options = claimd_core::store::ImportOptions {
            full: *full,
            dry_run: *dry_run,
            max_disable_percent: (!allow_mass_disable).then_some(settings.max_disable_percent()?),
            // Set from the file's header by `roster::import`.
            keep_personal_email: false,
            keep_site: false,
        };
        // Importing needs only the store: a directory not yet set up must not block it.
        let store = settings.store()?;
        let codes = settings.code_parts()?;
        return runtime.block_on(roster::import(
            &store,
            file,
            &options,
            &codes,
            codes_out.as_deref(),
        ));
    }
    if let Command::Admin { command } = cli.command {
        // Like roster import, this needs only the store.
        let usernames = settings.username_template()?;
        let store = settings.store()?;
        let codes = settings.code_parts()?;
        return runtime.block_on(admin::run(&store, &usernames, &codes, command));
    }
    if let Command::Portal = cli.command {
        // The pages alone need only [portal]: the store, directory and keys stay inside.
        let parts = settings.portal_parts()?;
        telemetry::init(parts.log_json, &settings.log.level);
        return runtime.block_on(app::portal(parts));
    }
    let mut settings = settings;
    let not_yet = match cli.command {
        Command::CheckConfig => not_yet_there(&mut settings),
        _ => Vec::new(),
    };
    let parts = settings.parts()?;
    match cli.command {
        Command::CheckConfig => check_config(&parts, &not_yet),
        Command::Roster { .. }
        | Command::Admin { .. }
        | Command::Portal
        | Command::Completions { .. }
        | Command::Manpage => {
            unreachable!("handled above")
        }
        Command::Run | Command::Serve | Command::Sync => {
            telemetry::init(parts.log_json, &settings.log.level);
            let mode = match cli.command {
                Command::Run => Mode::Run,
                Command::Serve => Mode::Serve,
                _ => Mode::Sync,
            };
            runtime.block_on(app::run(parts, mode))
        }
    }
}

/// For `check-config`: the directory's password file when it does not exist yet (a fresh
/// install, before the administrator has put the password in place). They
/// are not mistakes in the configuration, so the rest is checked without them and they are
/// named; `run` still refuses to start until they exist. A file that exists but cannot be
/// read is checked (and refused) as usual.
fn not_yet_there(settings: &mut Settings) -> Vec<String> {
    let mut missing = Vec::new();
    // Only a file known not to be there: one that cannot be looked at (a directory claimd
    // cannot enter, an error) is read, and refused, as `run` would.
    if let Some(path) = settings.directory.bind_password_file.clone()
        && matches!(path.try_exists(), Ok(false))
        && settings.directory.bind_password.is_none()
    {
        missing.push(format!("directory.bind_password_file: {}", path.display()));
        settings.directory.bind_password_file = None;
        // Stands in for the password in this check only; nothing connects.
        settings.directory.bind_password = Some(secrecy::SecretString::from("not yet set"));
    }
    missing
}

/// `check-config`'s report: what the service would run with, and what is not there yet.
fn check_config(parts: &settings::Parts, not_yet: &[String]) -> anyhow::Result<()> {
    for warning in parts.warnings() {
        eprintln!("warning: {warning}");
    }
    println!(
        "configuration OK: gRPC on {}, store {}, {:?} directory at {}",
        parts.listen,
        parts.store.display(),
        parts.directory.flavor,
        parts.directory.urls.join(", ")
    );
    for group in &parts.helpdesk.groups {
        println!("helpdesk group {}: sites {:?}", group.group, group.sites);
    }
    for client in &parts.helpdesk.clients {
        println!(
            "helpdesk client {}: sites {:?}",
            client.subject, client.sites
        );
    }
    for missing in not_yet {
        println!("not there yet: {missing} (claimd will not start until it is)");
    }
    Ok(())
}
