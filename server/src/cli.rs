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
    /// Probe one camera stream: connect, describe, play, decode the first
    /// key frame and measure frame rate, bitrate and clock offset. The
    /// password comes from GOZCU_CAMERA_PASSWORD or --password-file, never
    /// from the command line. Exits 0 when the outcome is `ok`, 1 when it is
    /// not, 2 on bad arguments.
    Probe(ProbeArgs),
}

#[derive(Debug, clap::Args)]
struct ProbeArgs {
    /// The stream, `rtsp://host[:port]/path`, without a password.
    url: String,
    /// The camera user name.
    #[arg(long)]
    user: Option<String>,
    /// A file whose first line is the camera password (instead of the
    /// GOZCU_CAMERA_PASSWORD environment variable).
    #[arg(long, value_name = "PATH")]
    password_file: Option<std::path::PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Seconds to count frames after the first key frame (frame rate and
    /// bitrate); 0 stops at the first decoded frame. [default: 2]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    window: Option<std::time::Duration>,
    /// Time limit for name resolution and TCP connect. [default: 3]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    connect_timeout: Option<std::time::Duration>,
    /// Time limit for each RTSP request. [default: 5]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    request_timeout: Option<std::time::Duration>,
    /// Time limit from PLAY to the first key frame. [default: 10]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    frame_timeout: Option<std::time::Duration>,
    /// Time limit for the whole probe. [default: 25]
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    timeout: Option<std::time::Duration>,
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
    // A probe needs neither the server's settings nor its database, so a
    // technician can run it anywhere the binary is.
    let cli = match cli.command {
        Command::Probe(args) => return probe(args),
        command => Cli { command },
    };
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
            Command::Probe(_) => unreachable!("handled before the settings are loaded"),
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

/// `--window 2`, `--timeout 0.5`: seconds, decimals allowed.
fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !secs.is_finite() || !(0.0..=3600.0).contains(&secs) {
        return Err(format!("{s} is not between 0 and 3600 seconds"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// The camera password: the first line of `--password-file`, else
/// `GOZCU_CAMERA_PASSWORD`. Only asked for when there is a user.
fn camera_password(
    file: Option<&std::path::Path>,
) -> Result<Option<crate::config::Secret>, String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --password-file {}: {e}", path.display()))?;
        let line = text.lines().next().unwrap_or_default();
        return Ok(Some(crate::config::Secret::new(line)));
    }
    Ok(std::env::var("GOZCU_CAMERA_PASSWORD")
        .ok()
        .map(crate::config::Secret::new))
}

fn probe(args: ProbeArgs) -> ExitCode {
    use crate::probe::{ProbeOptions, ProbeTarget};
    let usage = |message: String| {
        eprintln!("gozcu probe: {message}");
        ExitCode::from(2)
    };
    let password = match camera_password(args.password_file.as_deref()) {
        Ok(p) => p,
        Err(e) => return usage(e),
    };
    let user_known = args.user.is_some() || url_has_user(&args.url);
    if args.password_file.is_some() && !user_known {
        return usage(
            "--password-file needs --user / --password-file için --user gerekli".to_owned(),
        );
    }
    let target = match ProbeTarget::parse(&args.url, args.user, password.filter(|_| user_known)) {
        Ok(t) => t,
        Err(e) => return usage(e.to_string()),
    };
    let defaults = ProbeOptions::default();
    let options = ProbeOptions {
        connect_timeout: args.connect_timeout.unwrap_or(defaults.connect_timeout),
        request_timeout: args.request_timeout.unwrap_or(defaults.request_timeout),
        first_frame_timeout: args.frame_timeout.unwrap_or(defaults.first_frame_timeout),
        window: args.window.unwrap_or(defaults.window),
        total_timeout: args.timeout.unwrap_or(defaults.total_timeout),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gozcu: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let report = runtime.block_on(crate::probe::probe(
        &target,
        &options,
        &crate::clock::SystemClock,
    ));
    if args.json {
        match serde_json::to_string(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("gozcu probe: cannot write the report as JSON: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{}", probe_text(&target, &report));
    }
    if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Whether the URL names a user (`rtsp://user@host/…`); the password file
/// or variable is only read for a user.
fn url_has_user(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| !u.username().is_empty())
}

/// The report for people, one figure a line; `—` for what was not measured.
fn probe_text(
    target: &crate::probe::ProbeTarget,
    report: &gozcu_shared::probe::ProbeReport,
) -> String {
    use gozcu_shared::Lang;
    use std::fmt::Write as _;
    fn or_dash<T: std::fmt::Display>(v: Option<T>, unit: &str) -> String {
        v.map_or_else(|| "—".to_owned(), |v| format!("{v}{unit}"))
    }
    let mut out = format!(
        "{target}\n  outcome       {} — {}\n",
        report.outcome,
        report.outcome.title(Lang::En)
    );
    let codec = match (&report.codec, &report.profile) {
        (Some(c), Some(p)) => format!("{c} ({p})"),
        (Some(c), None) => c.clone(),
        _ => "—".to_owned(),
    };
    let size = match (report.width, report.height) {
        (Some(w), Some(h)) => format!("{w}×{h}"),
        _ => "—".to_owned(),
    };
    let offset = report.clock_offset_ms.map_or_else(
        || "—".to_owned(),
        |ms| match ms {
            0 => "0 ms".to_owned(),
            ms if ms > 0 => format!("+{ms} ms (camera ahead)"),
            ms => format!("{ms} ms (camera behind)"),
        },
    );
    let _ = writeln!(out, "  codec         {codec}");
    let _ = writeln!(out, "  picture       {size}");
    let _ = writeln!(
        out,
        "  frame rate    {} declared, {} measured",
        or_dash(report.declared_fps, ""),
        or_dash(report.measured_fps, "")
    );
    let _ = writeln!(
        out,
        "  bitrate       {}",
        or_dash(report.bitrate_kbps, " kbit/s")
    );
    let _ = writeln!(
        out,
        "  first frame   {}",
        or_dash(report.first_frame_ms, " ms")
    );
    let _ = writeln!(
        out,
        "  RTSP RTT      {}",
        or_dash(report.rtsp_rtt_ms, " ms")
    );
    let _ = writeln!(out, "  clock offset  {offset}");
    if let Some(error) = &report.error {
        let _ = writeln!(out, "  error         {error}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_help_states_the_real_defaults() {
        // `gozcu probe --help` writes the defaults into the flag texts
        // ("[default: 2]"), because the flags are optional so that the
        // library's defaults apply; this keeps the two in step.
        let d = crate::probe::ProbeOptions::default();
        let secs = |x: std::time::Duration| x.as_secs_f64();
        assert_eq!(
            (
                secs(d.window),
                secs(d.connect_timeout),
                secs(d.request_timeout),
                secs(d.first_frame_timeout),
                secs(d.total_timeout)
            ),
            (2.0, 3.0, 5.0, 10.0, 25.0)
        );
    }

    #[test]
    fn seconds_are_checked() {
        assert_eq!(
            parse_seconds("0.5"),
            Ok(std::time::Duration::from_millis(500))
        );
        assert_eq!(parse_seconds("0"), Ok(std::time::Duration::ZERO));
        assert!(parse_seconds("-1").is_err());
        assert!(parse_seconds("soon").is_err());
        assert!(parse_seconds("NaN").is_err());
        assert!(parse_seconds("99999").is_err());
    }
}
