//! Probes many cameras at once through the library, as the scheduler will:
//! run by `xtask/src/bench_probe.rs` as
//!
//! ```text
//! probe_bench --window 2 --concurrency 200 URL…
//! ```
//!
//! Every URL is probed once, at most `--concurrency` at a time, on a
//! two-thread runtime. It prints one JSON line: the wall time of the whole
//! batch, the process's CPU time (user + system, all threads, from
//! `/proc/self/stat`), the outcomes and every `first_frame_ms`.
//!
//! An example rather than a `gozcu` subcommand: the command line belongs to
//! the server's operators, and this is a measuring tool.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gozcu_server::clock::SystemClock;
use gozcu_server::probe::{probe, ProbeOptions, ProbeTarget};

fn main() -> ExitCode {
    let mut window = Duration::from_secs(2);
    let mut concurrency = 200usize;
    let mut urls = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let parsed: Result<(), String> = match arg.as_str() {
            "--window" => value("--window")
                .and_then(|v| v.parse::<f64>().map_err(|e| e.to_string()))
                .map(|s| window = Duration::from_secs_f64(s)),
            "--concurrency" => value("--concurrency")
                .and_then(|v| v.parse::<usize>().map_err(|e| e.to_string()))
                .map(|n| concurrency = n.max(1)),
            url => {
                urls.push(url.to_owned());
                Ok(())
            }
        };
        if let Err(e) = parsed {
            eprintln!("probe_bench: {e}");
            return ExitCode::from(2);
        }
    }
    let targets: Vec<ProbeTarget> = match urls
        .iter()
        .map(|u| ProbeTarget::parse(u, None, None))
        .collect()
    {
        Ok(t) => t,
        Err(e) => {
            eprintln!("probe_bench: {e}");
            return ExitCode::from(2);
        }
    };
    // The server's runtime on this machine: one worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let options = ProbeOptions {
        window,
        ..ProbeOptions::default()
    };
    let cpu_before = cpu_ms();
    let started = Instant::now();
    let reports = runtime.block_on(async move {
        let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let mut tasks = Vec::new();
        for target in targets {
            let slots = slots.clone();
            let options = options.clone();
            tasks.push(tokio::spawn(async move {
                let _slot = slots.acquire_owned().await.expect("semaphore open");
                probe(&target, &options, &SystemClock).await
            }));
        }
        let mut reports = Vec::new();
        for task in tasks {
            reports.push(task.await.expect("probe task"));
        }
        reports
    });
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let cpu_ms = cpu_ms() - cpu_before;
    let mut outcomes = BTreeMap::new();
    for r in &reports {
        *outcomes.entry(r.outcome.as_str()).or_insert(0u32) += 1;
    }
    let first: Vec<u64> = reports.iter().filter_map(|r| r.first_frame_ms).collect();
    let errors: Vec<&str> = reports
        .iter()
        .filter_map(|r| r.error.as_deref())
        .take(5)
        .collect();
    println!(
        "{}",
        serde_json::json!({
            "probes": reports.len(),
            "wall_ms": wall_ms,
            "cpu_ms": cpu_ms,
            "outcomes": outcomes,
            "first_frame_ms": first,
            "errors": errors,
        })
    );
    ExitCode::SUCCESS
}

/// User + system CPU time of this process so far, in milliseconds, from
/// `/proc/self/stat` (fields 14 and 15, in clock ticks of 1/100 s on
/// Linux).
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may contain spaces; fields after it are
    // counted from its closing parenthesis.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Field 14 (utime) is the 12th after the parenthesis (field 3 is index 0).
    (ticks(11) + ticks(12)) * 10.0
}
