//! Helpers shared by every command: running child processes, timing stages
//! and noticing Ctrl-C.

use std::{
    fmt::Write as _,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, ExitCode, ExitStatus, Stdio},
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Keeps xtask alive on Ctrl-C. The children run in the terminal's process
/// group, so they receive the same SIGINT and stop by themselves; xtask then
/// sees them fail and unwinds normally, which runs the guards (PostgreSQL,
/// benchmark servers) instead of leaving those processes behind.
pub fn handle_ctrl_c() -> Result<()> {
    ctrlc::set_handler(|| {
        if !INTERRUPTED.swap(true, Ordering::SeqCst) {
            eprintln!("\nxtask: interrupted; waiting for child processes to stop");
        }
    })
    .context("installing the Ctrl-C handler")
}

/// Whether Ctrl-C was pressed; long loops in xtask itself check this.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

pub fn check_interrupted() -> Result<()> {
    if interrupted() {
        bail!("interrupted");
    }
    Ok(())
}

/// The workspace root: xtask always lives in `<root>/xtask`.
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// A `cargo` command in the workspace root, using the same cargo that runs
/// xtask so that the toolchain cannot differ between stages.
pub fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root);
    cmd
}

/// The command line as a person would type it, for logs and error messages.
pub fn describe(cmd: &Command) -> String {
    let mut out = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
            let _ = write!(out, " '{}'", arg.replace('\'', r"'\''"));
        } else {
            let _ = write!(out, " {arg}");
        }
    }
    out
}

/// Runs a command with inherited stdio and fails unless it exits with 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    println!("$ {}", describe(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{}`", describe(cmd)))?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(cmd));
    }
    Ok(())
}

/// Runs a command quietly and returns its stdout; stderr is passed through
/// so that a failure explains itself.
pub fn output(cmd: &mut Command) -> Result<String> {
    // `output()` gives the child an empty stdin unless the caller set one.
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start `{}`", describe(cmd)))?;
    if !out.status.success() {
        bail!("`{}` failed ({})", describe(cmd), out.status);
    }
    String::from_utf8(out.stdout)
        .with_context(|| format!("`{}` printed invalid UTF-8", describe(cmd)))
}

/// Like [`output`], but a command that cannot start or fails gives `None`:
/// for probing whether a tool is there and which version it is.
pub fn probe(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Finds an executable on `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Whether xtask runs as root: package installs and PostgreSQL's refusal to
/// run as root both depend on it.
pub fn is_root() -> Result<bool> {
    let uid = output(Command::new("id").arg("-u"))?;
    Ok(uid.trim() == "0")
}

/// A TCP port on 127.0.0.1 that was free a moment ago. The small race with
/// other programs is acceptable for a test machine.
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0 to find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Passes a child's exit status on as xtask's own; death by a signal becomes
/// 128 + the signal number, as shells report it.
pub fn exit_code(status: ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt as _;
    match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        (None, Some(signal)) => ExitCode::from(u8::try_from(128 + signal).unwrap_or(1)),
        (None, None) => ExitCode::FAILURE,
    }
}

pub fn fmt_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// Runs named stages with a `==> name` header and a duration line each, and
/// remembers them for the closing summary.
#[derive(Default)]
pub struct Stages {
    done: Vec<(&'static str, Duration, bool)>,
}

impl Stages {
    pub fn run<T>(&mut self, name: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        check_interrupted()?;
        println!("\n==> {name}");
        let start = Instant::now();
        let result = f().with_context(|| format!("stage `{name}` failed"));
        let took = start.elapsed();
        let verdict = if result.is_ok() { "done" } else { "FAILED" };
        println!("<== {name}: {verdict} in {}", fmt_duration(took));
        self.done.push((name, took, result.is_ok()));
        result
    }

    /// One line with every stage's duration and the total.
    pub fn print_summary(&self, ok: bool) {
        let total: Duration = self.done.iter().map(|(_, d, _)| *d).sum();
        let stages: Vec<String> = self
            .done
            .iter()
            .map(|(name, d, ok)| {
                format!(
                    "{name} {}{}",
                    fmt_duration(*d),
                    if *ok { "" } else { " (FAILED)" }
                )
            })
            .collect();
        println!(
            "\n==> summary: {}: {}; total {}",
            if ok { "ok" } else { "FAILED" },
            stages.join(", "),
            fmt_duration(total)
        );
    }
}
