//! Project automation, run through the `cargo xtask` alias:
//!
//! - `cargo xtask test`: installs what the tests need, runs the static checks,
//!   builds the PWA, starts a private PostgreSQL and runs every test.
//!   `.ci/run` is exactly this command.
//! - `cargo xtask run [ARGS…]`: builds the PWA and the release server and runs
//!   `gozcu serve [ARGS…]` in the foreground.
//! - `cargo xtask pwa`: only builds the PWA into `target/dist`, for working
//!   on the app against a server started some other way.
//! - `cargo xtask bench`: measures the performance targets against reference
//!   tools in the same run and writes `docs/benchmarks.md`.

mod bench;
mod bench_photos;
mod bench_probe;
mod bench_reports;
mod install;
mod postgres;
mod pwa;
mod util;

use std::{path::Path, process::ExitCode};

use anyhow::{bail, Context, Result};

use crate::util::{cargo, check_interrupted, Stages};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  test           install prerequisites, run static checks, build the PWA,
                 start a private PostgreSQL and run every test
  run [ARGS…]    build the PWA and the release server, then run `gozcu serve [ARGS…]`
  pwa            only build the PWA into target/dist
  bench          measure the performance targets and write docs/benchmarks.md
  bench probe    only the camera probe benchmark (its section of docs/benchmarks.md)
";

/// Debian packages the test suite needs: the PostgreSQL server for the
/// PostgreSQL half of the API tests, Chromium and its driver for the browser
/// tests, GStreamer's RTSP server with its Python bindings and the plugins
/// of the probe tests' mounts (x264enc is in -ugly; x265enc and h264parse
/// in -bad).
const TEST_PACKAGES: &[&str] = &[
    "postgresql",
    "chromium",
    "chromium-driver",
    "gir1.2-gst-rtsp-server-1.0",
    "python3-gst-1.0",
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-ugly",
    "gstreamer1.0-plugins-bad",
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") if args.len() == 1 => test(),
        Some("run") => run(&args[1..]),
        Some("pwa") if args.len() == 1 => pwa(),
        Some("bench") if args.len() == 1 => bench::bench(),
        Some("bench") if args.len() == 2 && args[1] == "probe" => bench::bench_probe(),
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("\nxtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask test`: every stage in order, then a summary line whether the
/// run passed or not, so that a CI log always ends with the timings.
fn test() -> Result<ExitCode> {
    util::handle_ctrl_c()?;
    let root = util::root();
    let mut stages = Stages::default();
    let result = test_stages(&root, &mut stages);
    stages.print_summary(result.is_ok());
    let (passed, failed) = TEST_COUNTS.with(|c| c.get());
    if passed + failed > 0 {
        println!("tests: {passed} passed, {failed} failed");
    }
    result.map(|()| ExitCode::SUCCESS)
}

fn test_stages(root: &Path, stages: &mut Stages) -> Result<()> {
    let tools = stages.run("install prerequisites", || {
        install::debian_packages(TEST_PACKAGES)?;
        install::pwa_tools(root)
    })?;
    stages.run("static checks", || static_checks(root))?;
    stages.run("build PWA", || pwa::build(root, &tools))?;
    // The guard stops the server when it goes out of scope, which also
    // happens when the tests fail or xtask panics.
    let pg = stages.run("start PostgreSQL", || postgres::PgServer::start(root))?;
    stages.run("tests", || run_tests(root, &pg))?;
    stages.run("stop PostgreSQL", || pg.stop())?;
    Ok(())
}

/// Formatting, lints on both targets, the shared crate building for wasm32,
/// and the rule that the shared crate stays free of server-only dependencies.
fn static_checks(root: &Path) -> Result<()> {
    util::run(cargo(root).args(["fmt", "--all", "--", "--check"]))
        .context("code is not formatted: run `cargo fmt --all`")?;
    check_interrupted()?;
    // `--workspace` overrides `default-members`, so the wasm-only app has to
    // be excluded by name from the host lints; it gets its own run below.
    util::run(cargo(root).args([
        "clippy",
        "--workspace",
        "--exclude",
        "gozcu-app",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    check_interrupted()?;
    util::run(cargo(root).args([
        "clippy",
        "-p",
        "gozcu-app",
        "--target",
        pwa::WASM_TARGET,
        "--target-dir",
        pwa::WASM_TARGET_DIR,
        "--",
        "-D",
        "warnings",
    ]))?;
    check_interrupted()?;
    util::run(cargo(root).args([
        "build",
        "-p",
        "gozcu-shared",
        "--target",
        pwa::WASM_TARGET,
        "--target-dir",
        pwa::WASM_TARGET_DIR,
    ]))
    .context("gozcu-shared must build for wasm32: the PWA depends on it")?;
    check_shared_dependencies(root)
}

/// The crates the shared crate must never depend on: it is compiled into the
/// PWA, so the server's async runtime and database driver have no place in
/// it, whatever the target.
const FORBIDDEN_IN_SHARED: &[&str] = &["tokio", "sqlx"];

fn check_shared_dependencies(root: &Path) -> Result<()> {
    let tree = util::output(cargo(root).args([
        "tree",
        "-p",
        "gozcu-shared",
        "-e",
        "normal",
        "--target",
        "all",
        "--prefix",
        "none",
    ]))?;
    let found = forbidden_crates(&tree);
    if let Some(first) = found.first() {
        bail!(
            "gozcu-shared depends on {} (see `cargo tree -p gozcu-shared -e normal --target all -i {first}`); \
             the shared crate is compiled into the PWA and must stay free of server-only crates",
            found.join(", "),
        );
    }
    println!(
        "gozcu-shared depends on none of: {}",
        FORBIDDEN_IN_SHARED.join(", ")
    );
    Ok(())
}

/// The forbidden crates (and their `-macros`, `-core`… companions) named in
/// `cargo tree --prefix none` output, whose lines start with the crate name.
fn forbidden_crates(tree: &str) -> Vec<&str> {
    let mut found: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| {
            FORBIDDEN_IN_SHARED.iter().any(|f| {
                name == f
                    || name
                        .strip_prefix(f)
                        .is_some_and(|rest| rest.starts_with('-'))
            })
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// Builds the debug server once and runs the whole host test suite against
/// it, the PWA in `target/dist` and the private PostgreSQL.
fn run_tests(root: &Path, pg: &postgres::PgServer) -> Result<()> {
    util::run(cargo(root).args(["build", "-p", "gozcu-server"]))?;
    check_interrupted()?;
    let bin = root.join("target/debug/gozcu");
    if !bin.is_file() {
        bail!(
            "`cargo build -p gozcu-server` did not produce {}",
            bin.display()
        );
    }
    let mut cmd = cargo(root);
    // `--no-fail-fast` so that one failing test binary does not hide the
    // results of the others in a CI log.
    cmd.args([
        "test",
        "--workspace",
        "--exclude",
        "gozcu-app",
        "--no-fail-fast",
    ])
    .env("GOZCU_BIN", &bin)
    .env("GOZCU_WEB_DIR", root.join(pwa::DIST_DIR))
    .env("GOZCU_REQUIRE_E2E", "1")
    // The probe tests' RTSP server was installed above: its absence is a
    // failure here, not a skip.
    .env("GOZCU_REQUIRE_RTSP", "1")
    .env("CHROMEDRIVER", "/usr/bin/chromedriver")
    .env("CHROMIUM", "/usr/bin/chromium");
    pg.set_test_env(&mut cmd);
    let counts = run_counting(&mut cmd);
    TEST_COUNTS.with(|c| c.set(counts.as_ref().map(|(_, n)| *n).unwrap_or_default()));
    counts.map(|_| ()).context("tests failed")
}

thread_local! {
    /// Passed and failed tests over every test binary, for the closing line.
    static TEST_COUNTS: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

/// Runs `cargo test`, echoing its output, and adds up the `test result:`
/// lines of every test binary: a CI log then closes on one total instead of
/// on the last binary's count, which is often a doc-test run of zero.
fn run_counting(cmd: &mut std::process::Command) -> Result<((), (u64, u64))> {
    use std::io::{BufRead, BufReader, Write};
    println!("$ {}", util::describe(cmd));
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("could not start cargo test")?;
    let (mut passed, mut failed) = (0u64, 0u64);
    let stdout = child.stdout.take().context("no stdout")?;
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        let _ = std::io::stdout().flush();
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split(';') {
                let mut words = part.split_whitespace().rev();
                if let (Some(kind), Some(n)) = (words.next(), words.next()) {
                    let n: u64 = n.parse().unwrap_or(0);
                    match kind {
                        "passed" => passed += n,
                        "failed" => failed += n,
                        _ => {}
                    }
                }
            }
        }
    }
    let status = child.wait()?;
    TEST_COUNTS.with(|c| c.set((passed, failed)));
    if !status.success() {
        bail!("`cargo test` failed ({status}); {failed} tests failed");
    }
    Ok(((), (passed, failed)))
}

/// `cargo xtask pwa`: the tools and the PWA build, nothing else.
fn pwa() -> Result<ExitCode> {
    util::handle_ctrl_c()?;
    let root = util::root();
    let tools = install::pwa_tools(&root)?;
    pwa::build(&root, &tools)?;
    Ok(ExitCode::SUCCESS)
}

/// `cargo xtask run`: the PWA and the release server, then the server in the
/// foreground with the terminal's stdio.
fn run(args: &[String]) -> Result<ExitCode> {
    util::handle_ctrl_c()?;
    let root = util::root();
    let tools = install::pwa_tools(&root)?;
    pwa::build(&root, &tools)?;
    check_interrupted()?;
    util::run(cargo(&root).args(["build", "--release", "-p", "gozcu-server"]))?;
    check_interrupted()?;
    let mut cmd = std::process::Command::new(root.join("target/release/gozcu"));
    cmd.current_dir(&root)
        .arg("serve")
        .args(args)
        .env("GOZCU_WEB_DIR", root.join(pwa::DIST_DIR));
    println!("$ {}", util::describe(&cmd));
    // Ctrl-C in the terminal reaches the server directly (same process
    // group); xtask's handler only keeps xtask alive until the server has
    // shut down, so that its exit code can be passed on.
    let status = cmd
        .status()
        .with_context(|| format!("starting {}", util::describe(&cmd)))?;
    Ok(util::exit_code(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_dependency_guard_spots_tokio_and_sqlx() {
        let clean =
            "gozcu-shared v0.1.0 (/w/shared)\ncsv v1.4.0\nserde v1.0.229\ntokionic v1.0.0\n";
        assert!(forbidden_crates(clean).is_empty());
        let dirty =
            "gozcu-shared v0.1.0 (/w/shared)\ntokio v1.54.1\ntokio-macros v2.7.2 (proc-macro)\n\
                     sqlx-core v0.8.6\ntokio v1.54.1 (*)\n";
        assert_eq!(
            forbidden_crates(dirty),
            ["sqlx-core", "tokio", "tokio-macros"]
        );
    }
}
