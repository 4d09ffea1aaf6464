//! The `gozcu` command line. Each subcommand is a thin shell around library
//! code so that tests exercise the same paths.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::app::App;
use crate::config::Settings;

#[derive(Debug, Parser)]
#[command(
    name = "gozcu",
    version,
    about = "Gözcü — security camera fleet management"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and the PWA (settings from gozcu.toml and GOZCU_* variables).
    Serve,
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Offline sync tools.
    Sync {
        #[command(subcommand)]
        command: SyncCommand,
    },
}

#[derive(Debug, Subcommand)]
enum SyncCommand {
    /// Start a new sync epoch. Run after restoring the database from a
    /// backup: every app then rebuilds its copy from the server and sends
    /// its unsent changes again.
    NewEpoch,
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain; exits non-zero at the first broken link.
    Verify,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gozcu: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let filter =
        EnvFilter::try_from_env("GOZCU_LOG").unwrap_or_else(|_| EnvFilter::new(&settings.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gozcu: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve => serve(settings).await,
            Command::Audit {
                command: AuditCommand::Verify,
            } => audit_verify(settings).await,
            Command::Sync {
                command: SyncCommand::NewEpoch,
            } => sync_new_epoch(settings).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gozcu: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<ExitCode> {
    let listen = settings.listen;
    let app = App::open_default(settings).await?;
    if let Some(first) = app.ensure_admin().await? {
        match first.password {
            Some(pw) => println!("\nGözcü: created the first account.\n  username: admin\n  password: {pw}\nThis password is shown only once: log in and change it under Users.\n"),
            None => println!("\nGözcü: created the first account `admin` with the password from GOZCU_ADMIN_PASSWORD.\n"),
        }
    }
    // Signal handlers are installed before anything announces that the
    // server is up, so a supervisor that stops it right away still gets a
    // clean shutdown instead of the default "killed by signal".
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    if app.settings.web_dir.is_none() {
        tracing::warn!("GOZCU_WEB_DIR is not set: serving the API only (use `cargo xtask run` to build and serve the app)");
    }
    println!("Gözcü is listening on http://{addr}  (Ctrl-C to stop)");
    crate::http::serve(listener, app, shutdown).await?;
    println!("Gözcü stopped.");
    Ok(ExitCode::SUCCESS)
}

/// Installs the Ctrl-C and SIGTERM handlers now and returns a future that
/// resolves on either, so in-flight requests can finish.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let (mut int, mut term) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}

async fn sync_new_epoch(settings: Settings) -> anyhow::Result<ExitCode> {
    let app = App::open_default(settings).await?;
    let epoch = crate::sync::new_epoch(&app.db).await?;
    crate::audit::record(
        &app.db,
        app.now_ms(),
        &crate::audit::Actor::system(),
        crate::audit::Event {
            action: "sync_new_epoch",
            entity_type: "sync",
            entity_id: Some(epoch.clone()),
            before: None,
            after: None,
        },
    )
    .await?;
    println!("new sync epoch {epoch}: apps will rebuild their copy and resend unsent changes");
    Ok(ExitCode::SUCCESS)
}

async fn audit_verify(settings: Settings) -> anyhow::Result<ExitCode> {
    let app = App::open_default(settings).await?;
    match crate::audit::verify(&app.db).await? {
        Ok(n) => {
            println!("audit log intact: {n} entries");
            Ok(ExitCode::SUCCESS)
        }
        Err(gozcu_shared::audit::ChainBreak::HashMismatch { seq }) => {
            println!("audit log BROKEN at entry {seq}: its contents or its link to entry {} were changed", seq - 1);
            Ok(ExitCode::from(1))
        }
        Err(gozcu_shared::audit::ChainBreak::Gap { seq, expected }) => {
            println!("audit log BROKEN: entry {expected} is missing (next entry found is {seq})");
            Ok(ExitCode::from(1))
        }
    }
}
