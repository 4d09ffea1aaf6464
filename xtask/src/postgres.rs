//! A private, throw-away PostgreSQL server for the tests and the benchmark:
//! its own data directory, a free port on 127.0.0.1, trust authentication and
//! no fsync. It never touches the machine's own cluster.

use std::{
    fs,
    hash::{DefaultHasher, Hash as _, Hasher as _},
    net::TcpStream,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{bail, Context, Result};

use crate::util;

/// The OS user that runs PostgreSQL when xtask is root: the server refuses
/// to run as root. Debian's `postgresql` package creates it.
const PG_USER: &str = "postgres";

#[derive(Debug)]
pub struct PgServer {
    bin_dir: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    log: PathBuf,
    port: u16,
    /// Whether the server's commands run through `runuser -u postgres`.
    as_pg_user: bool,
    stopped: bool,
}

impl PgServer {
    /// Initialises a fresh cluster and starts it. A data directory left by an
    /// earlier run (one that was killed, say) is stopped and removed first.
    pub fn start(root: &Path) -> Result<PgServer> {
        let bin_dir = find_bin_dir()?;
        let as_pg_user = util::is_root()?;
        let base = base_dir(root, as_pg_user)?;
        let data = base.join("data");
        let log = base.join("postgres.log");
        let mut server = PgServer {
            socket_dir: std::env::temp_dir().join(format!("gozcu-pg-{}", std::process::id())),
            port: util::free_port()?,
            bin_dir,
            data,
            log,
            as_pg_user,
            stopped: true,
        };
        println!("PostgreSQL binaries: {}", server.bin_dir.display());
        server.remove_stale()?;

        fs::create_dir_all(&server.socket_dir)
            .with_context(|| format!("creating {}", server.socket_dir.display()))?;
        if as_pg_user {
            chown_to_pg_user(&base)?;
            chown_to_pg_user(&server.socket_dir)?;
        }

        // `--no-sync` and `fsync=off`: the cluster lives for one run, and
        // durability costs seconds for nothing.
        util::run(
            server
                .command("initdb")
                .arg("-D")
                .arg(&server.data)
                .args([
                    "--auth=trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ])
                .stdout(std::process::Stdio::null()),
        )
        .context("initdb failed")?;

        let options = format!(
            "-p {} -k '{}' -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200",
            server.port,
            server.socket_dir.display()
        );
        let started = util::run(
            server
                .command("pg_ctl")
                .arg("-D")
                .arg(&server.data)
                .arg("-l")
                .arg(&server.log)
                .args(["-o", &options, "-w", "-t", "60", "start"]),
        );
        if let Err(e) = started {
            return Err(e).context(format!(
                "PostgreSQL did not start; its log:\n{}",
                server.log_tail()
            ));
        }
        server.stopped = false;

        // pg_ctl -w waits for the socket; this also proves TCP on 127.0.0.1
        // works, which is what the tests and the server use.
        TcpStream::connect_timeout(
            &([127, 0, 0, 1], server.port).into(),
            Duration::from_secs(5),
        )
        .with_context(|| {
            format!(
                "PostgreSQL started but 127.0.0.1:{} refuses connections",
                server.port
            )
        })?;
        let version =
            util::output(
                server
                    .psql("postgres")
                    .args(["-t", "-A", "-c", "show server_version"]),
            )?;
        println!(
            "PostgreSQL {} is up: {}",
            version.trim(),
            server.url("postgres")
        );
        Ok(server)
    }

    /// A connection URL for `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The variables through which the test suite finds this server and is
    /// told that skipping the PostgreSQL tests is not acceptable.
    pub fn set_test_env(&self, cmd: &mut Command) {
        cmd.env("GOZCU_TEST_POSTGRES_URL", self.url("postgres"))
            .env("GOZCU_REQUIRE_POSTGRES", "1");
    }

    /// `psql` connected to `database` over TCP, quiet and stopping at the
    /// first error, without reading the user's `~/.psqlrc`.
    pub fn psql(&self, database: &str) -> Command {
        let mut cmd = Command::new(self.bin_dir.join("psql"));
        cmd.args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-p",
        ])
        .arg(self.port.to_string())
        .args(["-d", database]);
        cmd
    }

    pub fn create_database(&self, name: &str) -> Result<()> {
        util::run(
            self.psql("postgres")
                .args(["-c", &format!("CREATE DATABASE \"{name}\"")]),
        )
    }

    /// Stops the server and reports whether that worked; dropping the guard
    /// does the same but can only print a failure.
    pub fn stop(mut self) -> Result<()> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let fast = util::run(
            self.command("pg_ctl")
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "fast", "-w", "-t", "30", "stop"]),
        );
        let result = match fast {
            Ok(()) => Ok(()),
            // A server that ignores a fast shutdown (a stuck client, say)
            // is not worth waiting for: its data is thrown away anyway.
            Err(e) => {
                eprintln!("fast shutdown failed ({e:#}); stopping PostgreSQL immediately");
                util::run(self.command("pg_ctl").arg("-D").arg(&self.data).args([
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ]))
            }
        };
        let _ = fs::remove_dir_all(&self.socket_dir);
        result
    }

    /// Stops a server still running from an earlier, interrupted run and
    /// removes its data, so that initdb starts from an empty directory.
    fn remove_stale(&self) -> Result<()> {
        if !self.data.exists() {
            return Ok(());
        }
        if self.data.join("postmaster.pid").exists() {
            println!("stopping a PostgreSQL left running by an earlier run");
            let _ = util::run(self.command("pg_ctl").arg("-D").arg(&self.data).args([
                "-m",
                "immediate",
                "-w",
                "stop",
            ]));
        }
        fs::remove_dir_all(&self.data)
            .with_context(|| format!("removing stale {}", self.data.display()))
    }

    /// A PostgreSQL program, run as the `postgres` user when xtask is root.
    fn command(&self, program: &str) -> Command {
        let bin = self.bin_dir.join(program);
        if self.as_pg_user {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", PG_USER, "--"]).arg(bin);
            cmd
        } else {
            Command::new(bin)
        }
    }

    fn log_tail(&self) -> String {
        let log = fs::read_to_string(&self.log)
            .unwrap_or_else(|e| format!("({}: {e})", self.log.display()));
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if let Err(e) = self.shut_down() {
            eprintln!(
                "warning: could not stop PostgreSQL on port {}: {e:#}",
                self.port
            );
        }
    }
}

/// The newest `/usr/lib/postgresql/<major>/bin`, where Debian puts the
/// server programs (only the client tools are on `PATH`).
fn find_bin_dir() -> Result<PathBuf> {
    let versions = fs::read_dir("/usr/lib/postgresql").context(
        "PostgreSQL is not installed (no /usr/lib/postgresql); install the Debian package `postgresql`",
    )?;
    let mut found: Vec<(u32, PathBuf)> = versions
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!(
            "no /usr/lib/postgresql/*/bin/initdb found; install the Debian package `postgresql`"
        ),
    }
}

/// `target/pg`, unless xtask is root and the `postgres` user cannot reach it
/// (a checkout under `/root` is mode 700): then a directory under the system
/// temp dir, named after the checkout so that stale runs are still found.
fn base_dir(root: &Path, as_pg_user: bool) -> Result<PathBuf> {
    let preferred = root.join("target/pg");
    fs::create_dir_all(&preferred).with_context(|| format!("creating {}", preferred.display()))?;
    if !as_pg_user || pg_user_can_enter(&preferred) {
        return Ok(preferred);
    }
    let mut hasher = DefaultHasher::new();
    root.hash(&mut hasher);
    let fallback = std::env::temp_dir().join(format!("gozcu-pg-{:016x}", hasher.finish()));
    println!(
        "the `{PG_USER}` user cannot reach {}; keeping the cluster in {} instead",
        preferred.display(),
        fallback.display()
    );
    fs::create_dir_all(&fallback).with_context(|| format!("creating {}", fallback.display()))?;
    Ok(fallback)
}

fn pg_user_can_enter(dir: &Path) -> bool {
    // Every ancestor must be searchable; `test -x` as that user checks
    // exactly that without reimplementing permission rules.
    let parent = dir.parent().unwrap_or(dir);
    util::probe(
        Command::new("runuser")
            .args(["-u", PG_USER, "--", "test", "-x"])
            .arg(parent),
    )
    .is_some()
}

fn chown_to_pg_user(path: &Path) -> Result<()> {
    util::run(
        Command::new("chown")
            .args(["-R", &format!("{PG_USER}:{PG_USER}")])
            .arg(path),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Starts and stops a real server. Ignored because `cargo xtask test`
    /// already does this around the whole suite, and a second cluster would
    /// only slow CI down; run it with `cargo test -p xtask -- --ignored` when
    /// changing this module.
    #[test]
    #[ignore = "needs the Debian postgresql package; exercised by `cargo xtask test` itself"]
    fn starts_answers_and_stops() {
        let root = util::root();
        let pg = PgServer::start(&root).expect("start");
        pg.create_database("xtask_probe").expect("create database");
        let out = util::output(
            pg.psql("xtask_probe")
                .args(["-t", "-A", "-c", "select 40 + 2"]),
        )
        .expect("psql");
        assert_eq!(out.trim(), "42");
        let port = pg.port;
        pg.stop().expect("stop");
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the server still listens after stop"
        );

        // A guard dropped without `stop` (a panic, a failed stage) stops too.
        let pg = PgServer::start(&root).expect("second start over the old data directory");
        let port = pg.port;
        drop(pg);
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "the server still listens after drop"
        );
    }
}
