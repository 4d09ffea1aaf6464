//! The camera probe against real peers (docs/probe.md): every outcome is
//! produced by a real socket — GStreamer's RTSP server with its mounts, or
//! a hostile peer from `peers.rs` — through the library function and
//! through the `gozcu probe --json` binary.
//!
//! The GStreamer server is started once and shared. Without GStreamer the
//! tests that need it say they were skipped, unless `GOZCU_REQUIRE_RTSP=1`
//! (set by `cargo xtask test`), which makes that a failure; the same goes
//! for the binary (`GOZCU_BIN` or `target/debug/gozcu`).

mod peers;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gozcu_server::clock::{FakeClock, SystemClock};
use gozcu_server::config::Secret;
use gozcu_server::probe::{
    probe, probe_with_progress, ProbeOptions, ProbeOutcome, ProbeReport, ProbeTarget, Step,
};
use peers::{Mischief, PASSWORD, USER};
use serde_json::Value;

/// Short limits so that failing peers fail fast; a one-second window.
fn options() -> ProbeOptions {
    ProbeOptions {
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        first_frame_timeout: Duration::from_secs(5),
        window: Duration::from_secs(1),
        total_timeout: Duration::from_secs(15),
    }
}

fn target(url: &str) -> ProbeTarget {
    ProbeTarget::parse(url, None, None).unwrap()
}

fn with_login(url: &str, password: &str) -> ProbeTarget {
    ProbeTarget::parse(url, Some(USER.into()), Some(Secret::new(password))).unwrap()
}

async fn run(target: ProbeTarget, options: &ProbeOptions) -> ProbeReport {
    let report = probe(&target, options, &SystemClock).await;
    let debug = format!("{report:?}");
    assert!(!debug.contains(PASSWORD), "password in the report: {debug}");
    report
}

fn addr_url(addr: SocketAddr, path: &str) -> String {
    format!("rtsp://{addr}{path}")
}

/// Asserts the outcome, with the whole report in the message.
#[track_caller]
fn expect(report: &ProbeReport, outcome: ProbeOutcome) {
    assert_eq!(report.outcome, outcome, "{report:#?}");
    if outcome == ProbeOutcome::Ok {
        assert_eq!(report.error, None);
    } else {
        assert!(report.error.as_deref().is_some_and(|e| !e.is_empty()));
    }
}

/// A healthy H.264 report: size, rates near what the mount sends, a
/// decoded frame, a clock offset from the same machine.
#[track_caller]
fn expect_h264(report: &ProbeReport, width: u32, height: u32, fps: f64) {
    expect(report, ProbeOutcome::Ok);
    assert_eq!(report.codec.as_deref(), Some("h264"));
    assert!(report.profile.is_some(), "{report:#?}");
    assert_eq!((report.width, report.height), (Some(width), Some(height)));
    assert_eq!(report.declared_fps, Some(fps), "{report:#?}");
    let measured = report.measured_fps.expect("measured fps");
    assert!((measured - fps).abs() <= fps * 0.15, "{report:#?}");
    assert!(report.bitrate_kbps.is_some_and(|b| b > 10.0), "{report:#?}");
    assert!(
        report.first_frame_ms.is_some_and(|ms| ms < 5_000),
        "{report:#?}"
    );
    assert!(
        report.rtsp_rtt_ms.is_some_and(|ms| ms < 500.0),
        "{report:#?}"
    );
    // Same machine, same clock: within the Date header's half second (or
    // a sender report's milliseconds).
    assert!(
        report.clock_offset_ms.is_some_and(|ms| ms.abs() <= 600),
        "{report:#?}"
    );
}

#[tokio::test]
async fn healthy_h264_mounts_of_different_sizes_rates_and_gops() {
    let Some(gst) = peers::gst() else { return };
    let options = options();
    let (a, b, c, high, shared, recorded) = tokio::join!(
        run(target(&gst.url("/h264-640x360-25")), &options),
        run(target(&gst.url("/h264-1280x720-15")), &options),
        run(target(&gst.url("/h264-320x240-5")), &options),
        run(target(&gst.url("/h264-high-800x600-10")), &options),
        run(target(&gst.url("/shared-h264-640x360")), &options),
        run(target(&gst.url("/recorded")), &options),
    );
    expect_h264(&a, 640, 360, 25.0);
    assert_eq!(a.profile.as_deref(), Some("Constrained Baseline"));
    expect_h264(&b, 1280, 720, 15.0);
    expect_h264(&c, 320, 240, 5.0);
    expect_h264(&high, 800, 600, 10.0);
    assert_eq!(high.profile.as_deref(), Some("High"));
    // Joining a live encoder mid-GOP: the probe waits for the key frame.
    expect_h264(&shared, 640, 360, 25.0);
    // Recorded with B-frames, as recorders store it.
    expect_h264(&recorded, 640, 360, 25.0);
    assert_eq!(recorded.profile.as_deref(), Some("High"));
    // 1280×720 at 1.5 Mbit/s against 320×240 at 0.2 Mbit/s.
    assert!(b.bitrate_kbps > c.bitrate_kbps, "{b:#?} {c:#?}");
}

#[tokio::test]
async fn h265_is_reported_with_its_parameters() {
    let Some(gst) = peers::gst() else { return };
    if !gst.h265 {
        assert!(
            std::env::var("GOZCU_REQUIRE_RTSP").as_deref() != Ok("1"),
            "GOZCU_REQUIRE_RTSP=1 but GStreamer has no x265enc (gstreamer1.0-plugins-bad)"
        );
        println!("skipped: no x265enc");
        return;
    }
    let report = run(target(&gst.url("/h265-640x360-25")), &options()).await;
    expect(&report, ProbeOutcome::Ok);
    assert_eq!(report.codec.as_deref(), Some("h265"));
    assert_eq!(report.profile.as_deref(), Some("Main"));
    assert_eq!((report.width, report.height), (Some(640), Some(360)));
    assert!(
        report.measured_fps.is_some_and(|f| (f - 25.0).abs() < 4.0),
        "{report:#?}"
    );
    assert!(report.bitrate_kbps.is_some(), "{report:#?}");
    // Not decoded, so no time to a decoded frame.
    assert_eq!(report.first_frame_ms, None);
}

#[tokio::test]
async fn digest_and_basic_authentication() {
    let Some(gst) = peers::gst() else { return };
    let digest = format!("rtsp://127.0.0.1:{}/secure", gst.digest_port);
    let basic = format!("rtsp://127.0.0.1:{}/basic", gst.basic_port);
    let options = options();
    let (digest_ok, digest_wrong, digest_none, basic_ok, basic_wrong) = tokio::join!(
        run(with_login(&digest, PASSWORD), &options),
        run(with_login(&digest, "wrong-password"), &options),
        run(target(&digest), &options),
        run(with_login(&basic, PASSWORD), &options),
        run(with_login(&basic, "wrong-password"), &options),
    );
    expect_h264(&digest_ok, 640, 360, 25.0);
    expect_h264(&basic_ok, 320, 240, 10.0);
    for report in [&digest_wrong, &basic_wrong] {
        expect(report, ProbeOutcome::AuthFailed);
        assert!(
            report.error.as_deref().unwrap().contains("DESCRIBE"),
            "{report:#?}"
        );
        // The RTSP exchange before the refusal was measured.
        assert!(report.rtsp_rtt_ms.is_some());
    }
    expect(&digest_none, ProbeOutcome::AuthFailed);
    assert!(digest_none.error.as_deref().unwrap().contains("--user"));
}

#[tokio::test]
async fn audio_only_is_no_video_and_a_wrong_path_is_a_protocol_error() {
    let Some(gst) = peers::gst() else { return };
    let options = options();
    let (audio, missing) = tokio::join!(
        run(target(&gst.url("/audio")), &options),
        run(target(&gst.url("/no-such-stream")), &options),
    );
    expect(&audio, ProbeOutcome::NoVideo);
    assert!(
        audio.error.as_deref().unwrap().contains("audio"),
        "{audio:#?}"
    );
    expect(&missing, ProbeOutcome::ProtocolError);
    assert!(
        missing.error.as_deref().unwrap().contains("404"),
        "{missing:#?}"
    );
}

#[tokio::test]
async fn silent_garbage_http_closed_blackhole_and_unroutable_peers() {
    let (silent, garbage, http, closed, blackhole) = (
        peers::silent().await,
        peers::garbage().await,
        peers::http().await,
        peers::closed().await,
        peers::blackhole().await,
    );
    let options = options();
    let started = Instant::now();
    let (silent_r, garbage_r, http_r, closed_r, blackhole_r, unroutable_r) = tokio::join!(
        run(target(&addr_url(silent, "/live")), &options),
        run(target(&addr_url(garbage, "/live")), &options),
        run(target(&addr_url(http, "/live")), &options),
        run(target(&addr_url(closed, "/live")), &options),
        run(target(&addr_url(blackhole.addr, "/live")), &options),
        // The broadcast address has no route for TCP: the kernel answers
        // "network is unreachable" at once, and no packet leaves.
        run(target("rtsp://255.255.255.255:554/live"), &options),
    );
    // Everything ran side by side: the slowest is one request time limit.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );

    expect(&silent_r, ProbeOutcome::Timeout);
    assert!(
        silent_r.error.as_deref().unwrap().starts_with("OPTIONS:"),
        "{silent_r:#?}"
    );
    expect(&blackhole_r, ProbeOutcome::Timeout);
    assert!(
        blackhole_r
            .error
            .as_deref()
            .unwrap()
            .starts_with("TCP connect:"),
        "{blackhole_r:#?}"
    );
    expect(&garbage_r, ProbeOutcome::NotRtsp);
    expect(&http_r, ProbeOutcome::NotRtsp);
    assert!(
        http_r.error.as_deref().unwrap().contains("HTTP"),
        "{http_r:#?}"
    );
    expect(&closed_r, ProbeOutcome::Refused);
    expect(&unroutable_r, ProbeOutcome::Unreachable);
    for r in [
        &silent_r,
        &garbage_r,
        &http_r,
        &closed_r,
        &blackhole_r,
        &unroutable_r,
    ] {
        assert_eq!(r.codec, None);
        assert_eq!(r.first_frame_ms, None);
    }
}

#[tokio::test]
async fn a_camera_that_drops_mid_stream_or_sends_a_broken_picture() {
    let Some(gst) = peers::gst() else { return };
    let upstream: SocketAddr = format!("127.0.0.1:{}", gst.port).parse().unwrap();
    let dropper = peers::proxy(upstream, Mischief::DropAfterFrames(3)).await;
    let corrupter = peers::proxy(upstream, Mischief::CorruptVideo).await;
    let options = options();
    let (dropped, corrupt, unsupported) = tokio::join!(
        run(target(&addr_url(dropper, "/h264-640x360-25")), &options),
        run(target(&addr_url(corrupter, "/h264-640x360-25")), &options),
        run(target(&gst.url("/h264-444")), &options),
    );
    expect(&dropped, ProbeOutcome::ProtocolError);
    assert!(
        dropped.error.as_deref().unwrap().contains("closed"),
        "{dropped:#?}"
    );
    // DESCRIBE got through, so the codec is known.
    assert_eq!(dropped.codec.as_deref(), Some("h264"));
    expect(&corrupt, ProbeOutcome::DecodeError);
    assert!(
        corrupt.error.as_deref().unwrap().starts_with("decoding:"),
        "{corrupt:#?}"
    );
    assert_eq!(corrupt.first_frame_ms, None);
    // A stream in a profile the decoder does not support, straight from the
    // server: reported with what its parameters say.
    expect(&unsupported, ProbeOutcome::DecodeError);
    assert_eq!(
        unsupported.profile.as_deref(),
        Some("High 4:4:4 Predictive")
    );
    assert_eq!(
        (unsupported.width, unsupported.height),
        (Some(320), Some(240))
    );
}

#[tokio::test]
async fn slow_peers_a_far_camera_works_a_trickling_one_times_out() {
    let Some(gst) = peers::gst() else { return };
    let upstream: SocketAddr = format!("127.0.0.1:{}", gst.port).parse().unwrap();
    let far = peers::proxy(upstream, Mischief::Latency(Duration::from_millis(150))).await;
    // About 180 bytes of OPTIONS answer at 20 ms a byte: 3.6 s, more than
    // the 2 s a request may take, though bytes never stop coming.
    let trickle = peers::proxy(upstream, Mischief::Trickle(Duration::from_millis(20))).await;
    let options = options();
    let started = Instant::now();
    let (far_r, trickle_r) = tokio::join!(
        run(target(&addr_url(far, "/h264-320x240-5")), &options),
        run(target(&addr_url(trickle, "/h264-320x240-5")), &options),
    );
    expect(&far_r, ProbeOutcome::Ok);
    assert!(
        far_r.rtsp_rtt_ms.is_some_and(|ms| ms >= 150.0),
        "{far_r:#?}"
    );
    expect(&trickle_r, ProbeOutcome::Timeout);
    assert!(
        trickle_r.error.as_deref().unwrap().starts_with("OPTIONS:"),
        "{trickle_r:#?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_hung_peer_never_holds_up_another_probe_or_outlives_the_total_limit() {
    let silent = peers::silent().await;
    let patient = ProbeOptions {
        request_timeout: Duration::from_secs(60),
        total_timeout: Duration::from_millis(800),
        ..options()
    };
    let hung = target(&addr_url(silent, "/live"));
    let started = Instant::now();
    let report = run(hung.clone(), &patient).await;
    let took = started.elapsed();
    expect(&report, ProbeOutcome::Timeout);
    assert!(
        report.error.as_deref().unwrap().starts_with("probe:"),
        "{report:#?}"
    );
    // Far below the 60 s request limit, with room for a loaded CI machine.
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_millis(3000),
        "{took:?}"
    );

    // A healthy camera probed beside many hung ones finishes on its own time.
    let Some(gst) = peers::gst() else { return };
    let healthy = target(&gst.url("/h264-320x240-5"));
    let hung_options = ProbeOptions {
        request_timeout: Duration::from_secs(60),
        total_timeout: Duration::from_secs(60),
        ..options()
    };
    let hung_probes: Vec<_> = (0..20)
        .map(|_| {
            let hung = hung.clone();
            let hung_options = hung_options.clone();
            tokio::spawn(async move { probe(&hung, &hung_options, &SystemClock).await })
        })
        .collect();
    let started = Instant::now();
    let report = run(healthy, &options()).await;
    expect(&report, ProbeOutcome::Ok);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    for p in &hung_probes {
        assert!(!p.is_finished(), "a hung probe should still be waiting");
        p.abort();
    }
}

#[tokio::test]
async fn the_clock_offset_follows_the_camera_clock() {
    let Some(gst) = peers::gst() else { return };
    // Our clock says it is ten seconds later than it is: the camera (the
    // machine's real clock) then looks ten seconds behind.
    let real = SystemClock;
    let ahead = FakeClock::new(gozcu_server::clock::Clock::now_ms(&real) + 10_000);
    let url = gst.url("/h264-320x240-5");
    // A short window sees no RTCP sender report (GStreamer sends the first
    // one 1–4 s into the session): the offset comes from the Date header,
    // to within half a second. A 5 s window sees one: milliseconds.
    let long = ProbeOptions {
        window: Duration::from_secs(5),
        ..options()
    };
    let short = ProbeOptions {
        window: Duration::from_millis(200),
        ..options()
    };
    let camera = target(&url);
    let (from_date, from_report) = tokio::join!(
        probe(&camera, &short, &ahead),
        probe(&camera, &long, &ahead),
    );
    expect(&from_date, ProbeOutcome::Ok);
    let offset = from_date.clock_offset_ms.unwrap();
    assert!((-10_600..=-9_400).contains(&offset), "{from_date:#?}");
    expect(&from_report, ProbeOutcome::Ok);
    let offset = from_report.clock_offset_ms.unwrap();
    assert!((-10_100..=-9_900).contains(&offset), "{from_report:#?}");
}

#[tokio::test]
async fn progress_names_every_step_in_order() {
    let Some(gst) = peers::gst() else { return };
    let steps = std::sync::Mutex::new(Vec::new());
    let report = probe_with_progress(
        &target(&gst.url("/h264-320x240-5")),
        &options(),
        &SystemClock,
        &|step| steps.lock().unwrap().push(step),
    )
    .await;
    expect(&report, ProbeOutcome::Ok);
    assert_eq!(
        *steps.lock().unwrap(),
        [
            Step::Connect,
            Step::Options,
            Step::Describe,
            Step::Setup,
            Step::Play,
            Step::FirstFrame,
            Step::Decode,
            Step::Measure
        ]
    );
}

// ---- the `gozcu probe` binary ----

fn binary() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned();
    let bin = std::env::var_os("GOZCU_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/debug/gozcu"));
    if bin.is_file() {
        return Some(bin);
    }
    let required = ["GOZCU_REQUIRE_RTSP", "GOZCU_REQUIRE_E2E"]
        .iter()
        .any(|v| std::env::var(v).as_deref() == Ok("1"));
    assert!(!required, "no gozcu binary at {}", bin.display());
    println!(
        "skipped: no gozcu binary at {} (run `cargo build -p gozcu-server`)",
        bin.display()
    );
    None
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `gozcu probe ARGS…` with the camera password in the environment
/// (or not), off the async runtime. The command is built before the
/// future is returned, so the arguments may be temporaries.
fn cli(
    bin: &Path,
    args: &[&str],
    password: Option<&str>,
) -> impl std::future::Future<Output = Run> + 'static {
    let mut cmd = Command::new(bin);
    cmd.arg("probe")
        .args(args)
        .env_remove("GOZCU_CAMERA_PASSWORD");
    if let Some(pw) = password {
        cmd.env("GOZCU_CAMERA_PASSWORD", pw);
    }
    async move {
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(
            !run.stdout.contains(PASSWORD) && !run.stderr.contains(PASSWORD),
            "the password leaked: {} {}",
            run.stdout,
            run.stderr
        );
        run
    }
}

const KEYS: [&str; 12] = [
    "outcome",
    "codec",
    "profile",
    "width",
    "height",
    "declared_fps",
    "measured_fps",
    "bitrate_kbps",
    "first_frame_ms",
    "rtsp_rtt_ms",
    "clock_offset_ms",
    "error",
];

/// The one JSON object on stdout, checked for exactly the documented keys.
#[track_caller]
fn json(run: &Run) -> Value {
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "one line of JSON: {}", run.stdout);
    let value: Value = serde_json::from_str(lines[0]).unwrap();
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut want = KEYS.to_vec();
    keys.sort_unstable();
    want.sort_unstable();
    assert_eq!(keys, want);
    value
}

#[tokio::test]
async fn the_binary_prints_one_json_object_and_exits_by_outcome() {
    let Some(bin) = binary() else { return };
    let silent = peers::silent().await;
    let closed = peers::closed().await;
    let fast = ["--json", "--connect-timeout", "1", "--request-timeout", "1"];
    let silent_url = addr_url(silent, "/x");
    let closed_url = addr_url(closed, "/x");
    let (timeout, refused) = tokio::join!(
        cli(&bin, &[&fast[..], &[silent_url.as_str()]].concat(), None),
        cli(&bin, &[&fast[..], &[closed_url.as_str()]].concat(), None),
    );
    assert_eq!(timeout.code, 1);
    assert_eq!(json(&timeout)["outcome"], "timeout");
    assert_eq!(refused.code, 1);
    assert_eq!(json(&refused)["outcome"], "refused");

    let Some(gst) = peers::gst() else { return };
    let digest = format!("rtsp://127.0.0.1:{}/secure", gst.digest_port);
    let password_file = std::env::temp_dir().join(format!("gozcu-probe-pw-{}", std::process::id()));
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();
    let file = password_file.to_str().unwrap().to_owned();
    let plain = gst.url("/h264-640x360-25");
    let (ok, from_env, from_file, wrong, text) = tokio::join!(
        cli(&bin, &["--json", "--window", "1", &plain], None),
        cli(
            &bin,
            &["--json", "--window", "0.5", "--user", USER, &digest],
            Some(PASSWORD)
        ),
        cli(
            &bin,
            &[
                "--json",
                "--window",
                "0",
                "--user",
                USER,
                "--password-file",
                &file,
                &digest
            ],
            None
        ),
        cli(
            &bin,
            &["--json", "--user", USER, &digest],
            Some("wrong-password")
        ),
        cli(&bin, &["--window", "0.5", &plain], None),
    );
    let _ = std::fs::remove_file(&password_file);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let v = json(&ok);
    assert_eq!(v["outcome"], "ok");
    assert_eq!(v["codec"], "h264");
    assert_eq!(v["width"], 640);
    assert_eq!(v["height"], 360);
    assert_eq!(v["declared_fps"], 25.0);
    assert!(v["first_frame_ms"].as_u64().is_some());
    assert!(v["bitrate_kbps"].as_f64().is_some_and(|b| b > 0.0));
    assert!(v["error"].is_null());

    assert_eq!(from_env.code, 0, "{}", from_env.stdout);
    assert_eq!(json(&from_env)["outcome"], "ok");
    assert_eq!(from_file.code, 0, "{}", from_file.stdout);
    let v = json(&from_file);
    assert_eq!(v["outcome"], "ok");
    // A zero window stops at the first decoded frame.
    assert!(v["first_frame_ms"].as_u64().is_some());
    assert!(v["measured_fps"].is_null() && v["bitrate_kbps"].is_null());
    assert_eq!(wrong.code, 1);
    assert_eq!(json(&wrong)["outcome"], "auth_failed");

    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("outcome       ok"), "{}", text.stdout);
    assert!(text.stdout.contains("640×360"), "{}", text.stdout);
}

#[tokio::test]
async fn the_binary_refuses_a_password_in_the_url_without_printing_it() {
    let Some(bin) = binary() else { return };
    let url = format!("rtsp://admin:{PASSWORD}@127.0.0.1:9/live");
    let mut cmd = Command::new(&bin);
    cmd.args(["probe", "--json", &url]);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("GOZCU_CAMERA_PASSWORD") && stderr.contains("--password-file"),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD), "{stderr}");

    // Not a URL of ours, and a password file without a user.
    let bad = cli(&bin, &["http://127.0.0.1/x"], None).await;
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("rtsp://"), "{}", bad.stderr);
    let lonely = cli(
        &bin,
        &["--password-file", "/nonexistent", "rtsp://127.0.0.1/x"],
        None,
    )
    .await;
    assert_eq!(lonely.code, 2);
}

#[test]
fn every_outcome_has_a_test_here() {
    // The outcomes this file produces with real peers; a new outcome must
    // come with its peer.
    let source = include_str!("main.rs");
    for outcome in ProbeOutcome::ALL {
        let variant = format!("{outcome:?}");
        assert!(
            source.contains(&format!("ProbeOutcome::{variant})")),
            "no test expects {variant}"
        );
    }
}

/// The recorded mount is for the recorder checks to come, which play back
/// from a point in time: a PLAY with a `Range` must be honoured.
#[tokio::test]
async fn the_recorded_mount_seeks() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(gst) = peers::gst() else { return };
    let url = gst.url("/recorded");
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", gst.port))
        .await
        .unwrap();
    let mut session = String::new();
    let mut buf = Vec::new();
    let mut ask = async |request: String| -> String {
        stream.write_all(request.as_bytes()).await.unwrap();
        // Answers to DESCRIBE/SETUP/PLAY come before any media.
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end + 4]).into_owned();
                let body = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .map_or(0, |n| n.trim().parse::<usize>().unwrap());
                while buf.len() < end + 4 + body {
                    let mut chunk = [0u8; 4096];
                    let n = stream.read(&mut chunk).await.unwrap();
                    buf.extend_from_slice(&chunk[..n]);
                }
                buf.drain(..end + 4 + body);
                return head;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    let describe = ask(format!(
        "DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n\r\n"
    ))
    .await;
    assert!(describe.starts_with("RTSP/1.0 200"), "{describe}");
    let setup = ask(format!(
        "SETUP {url}/stream=0 RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"
    ))
    .await;
    assert!(setup.starts_with("RTSP/1.0 200"), "{setup}");
    session.push_str(
        setup
            .lines()
            .find_map(|l| l.strip_prefix("Session: "))
            .unwrap()
            .split(';')
            .next()
            .unwrap(),
    );
    let play = ask(format!(
        "PLAY {url} RTSP/1.0\r\nCSeq: 3\r\nSession: {session}\r\nRange: npt=5.000-\r\n\r\n"
    ))
    .await;
    assert!(play.starts_with("RTSP/1.0 200"), "{play}");
    // The server starts at the key frame at or before the point asked for.
    let start: f64 = play
        .lines()
        .find_map(|l| l.strip_prefix("Range: npt="))
        .and_then(|r| r.split('-').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no npt range in {play}"));
    assert!((4.0..=5.0).contains(&start), "PLAY answered {play}");
}
