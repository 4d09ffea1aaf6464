//! The camera probe (docs/probe.md): is this RTSP stream alive, what does it
//! send, and how healthy is it? One call, [`probe`], returns a
//! [`ProbeReport`] whatever happens — a camera that is down or misbehaves
//! is an outcome to store, not an error of ours.
//!
//! Steps, each with its own time limit inside an overall one:
//! 1. TCP connect and RTSP `OPTIONS` on a connection of our own
//!    ([`rtsp`]): sorts out `unreachable`, `refused`, `timeout` and
//!    `not_rtsp`, and gives the round trip and the camera's `Date` header;
//! 2. `DESCRIBE`, `SETUP` (interleaved TCP) and `PLAY` through retina
//!    ([`session`]), with basic or digest authentication;
//! 3. frames until the first key frame, decoded with OpenH264 ([`decode`]);
//! 4. frames for the measuring window: frame rate, bitrate, and RTCP
//!    sender reports for the clock offset ([`measure`]).
//!
//! The scheduler and the "probe now" button call [`probe`] (or
//! [`probe_with_progress`]) through the [`Prober`] trait, so their tests
//! can use [`FakeProber`] instead of cameras.

mod decode;
mod measure;
mod rtsp;
mod session;
mod target;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use gozcu_shared::probe::{ProbeOutcome, ProbeReport};
pub use target::{ProbeTarget, TargetError};

use crate::clock::Clock;
use measure::WallAnchor;

/// Sent as `User-Agent` so camera logs show who asked.
pub const USER_AGENT: &str = concat!("gozcu-probe/", env!("CARGO_PKG_VERSION"));

/// The time limits of a probe and the length of its measuring window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeOptions {
    /// Name resolution and TCP connect.
    pub connect_timeout: Duration,
    /// Each RTSP request (OPTIONS, DESCRIBE, SETUP, PLAY), from sending it
    /// to the whole answer: a peer that answers one byte at a time runs
    /// into it as surely as a silent one.
    pub request_timeout: Duration,
    /// From PLAY to the first key frame; must be longer than the camera's
    /// key frame interval.
    pub first_frame_timeout: Duration,
    /// How long frames are counted after the first key frame for the
    /// measured frame rate and bitrate; zero skips the measurement.
    pub window: Duration,
    /// The whole probe, whatever the steps add up to.
    pub total_timeout: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(5),
            first_frame_timeout: Duration::from_secs(10),
            window: Duration::from_secs(2),
            total_timeout: Duration::from_secs(25),
        }
    }
}

/// Where a probe is, for live progress, and where a failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    Connect,
    Options,
    Describe,
    Setup,
    Play,
    FirstFrame,
    Decode,
    Measure,
    /// The overall time limit.
    Total,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Connect => "TCP connect",
            Step::Options => "OPTIONS",
            Step::Describe => "DESCRIBE",
            Step::Setup => "SETUP",
            Step::Play => "PLAY",
            Step::FirstFrame => "first key frame",
            Step::Decode => "decoding",
            Step::Measure => "measuring",
            Step::Total => "probe",
        }
    }
}

/// Why a probe stopped early; becomes the report's outcome and error.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub outcome: ProbeOutcome,
    pub step: Step,
    pub detail: String,
}

impl Failure {
    pub fn new(outcome: ProbeOutcome, step: Step, detail: String) -> Failure {
        Failure {
            outcome,
            step,
            detail,
        }
    }
}

/// What has been measured so far; kept when a later step fails.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub codec: Option<String>,
    pub profile: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub declared_fps: Option<f64>,
    pub measured_fps: Option<f64>,
    pub bitrate_kbps: Option<f64>,
    pub first_frame_ms: Option<u64>,
    pub rtsp_rtt_ms: Option<f64>,
    pub date_offset_ms: Option<i64>,
    pub sender_report_offset_ms: Option<i64>,
}

impl Found {
    fn report(self, failure: Option<Failure>) -> ProbeReport {
        let (outcome, error) = match failure {
            None => (ProbeOutcome::Ok, None),
            Some(f) => (
                f.outcome,
                Some(format!("{}: {}", f.step.as_str(), f.detail)),
            ),
        };
        ProbeReport {
            outcome,
            codec: self.codec,
            profile: self.profile,
            width: self.width,
            height: self.height,
            declared_fps: self.declared_fps,
            measured_fps: self.measured_fps,
            bitrate_kbps: self.bitrate_kbps,
            first_frame_ms: self.first_frame_ms,
            rtsp_rtt_ms: self.rtsp_rtt_ms,
            // A sender report carries the camera's clock to the
            // millisecond; the Date header only to the second.
            clock_offset_ms: self.sender_report_offset_ms.or(self.date_offset_ms),
            error,
        }
    }
}

/// Probes one stream. Never fails and never takes longer than
/// `options.total_timeout` (plus the moment it takes to drop the
/// connections): everything a camera can do wrong is in the report.
pub async fn probe(target: &ProbeTarget, options: &ProbeOptions, clock: &dyn Clock) -> ProbeReport {
    probe_with_progress(target, options, clock, &|_| {}).await
}

/// [`probe`], calling `progress` as each step starts.
pub async fn probe_with_progress(
    target: &ProbeTarget,
    options: &ProbeOptions,
    clock: &dyn Clock,
    progress: &(dyn Fn(Step) + Send + Sync),
) -> ProbeReport {
    let started = Instant::now();
    let anchor = WallAnchor {
        instant: started,
        unix_ms: clock.now_ms(),
    };
    let mut found = Found::default();
    let run = steps(target, options, started, &anchor, &mut found, progress);
    let result = tokio::time::timeout(options.total_timeout, run).await;
    let failure = match result {
        Ok(Ok(())) => None,
        Ok(Err(failure)) => Some(failure),
        Err(_) => Some(Failure::new(
            ProbeOutcome::Timeout,
            Step::Total,
            format!(
                "the whole probe took longer than {}",
                secs(options.total_timeout)
            ),
        )),
    };
    found.report(failure)
}

async fn steps(
    target: &ProbeTarget,
    options: &ProbeOptions,
    started: Instant,
    anchor: &WallAnchor,
    found: &mut Found,
    progress: &(dyn Fn(Step) + Send + Sync),
) -> Result<(), Failure> {
    progress(Step::Connect);
    let (host, port) = target.host_port();
    let reply = rtsp::options(
        &host,
        port,
        target.url(),
        options.connect_timeout,
        options.request_timeout,
        progress,
    )
    .await?;
    found.rtsp_rtt_ms = Some(measure::round(reply.rtt.as_secs_f64() * 1000.0, 2));
    found.date_offset_ms = reply
        .date
        .as_deref()
        .and_then(|d| measure::offset_from_date(d, anchor, reply.sent_at, reply.received_at));
    let playing = session::open(target, options, found, progress).await?;
    playing
        .read(options, started, anchor, found, progress)
        .await
}

/// `2 s`, `0.5 s`: a duration as people read it in an error message.
pub(crate) fn secs(d: Duration) -> String {
    format!("{} s", measure::round(d.as_secs_f64(), 3))
}

/// The boxed future a [`Prober`] returns.
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = ProbeReport> + Send + 'a>>;

/// Something that probes cameras: the real [`RtspProber`], or a
/// [`FakeProber`] in the tests of code that schedules probes and acts on
/// their reports.
pub trait Prober: Send + Sync {
    fn probe<'a>(&'a self, target: &'a ProbeTarget, options: &'a ProbeOptions) -> ProbeFuture<'a>;
}

/// Probes over the network, reading the wall time (for clock offsets)
/// from `clock`.
#[derive(Clone)]
pub struct RtspProber {
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for RtspProber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RtspProber")
    }
}

impl Prober for RtspProber {
    fn probe<'a>(&'a self, target: &'a ProbeTarget, options: &'a ProbeOptions) -> ProbeFuture<'a> {
        Box::pin(probe(target, options, self.clock.as_ref()))
    }
}

/// Answers each URL with the report set for it (a `timeout` report for
/// URLs with none) and remembers which URLs were probed, in order.
#[derive(Debug, Default)]
pub struct FakeProber {
    reports: Mutex<HashMap<String, ProbeReport>>,
    calls: Mutex<Vec<String>>,
}

impl FakeProber {
    /// Sets the report for `url` (as printed by [`ProbeTarget`]).
    pub fn set(&self, url: &str, report: ProbeReport) {
        self.reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(url.to_owned(), report);
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Prober for FakeProber {
    fn probe<'a>(&'a self, target: &'a ProbeTarget, _options: &'a ProbeOptions) -> ProbeFuture<'a> {
        let url = target.to_string();
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(url.clone());
        let report = self
            .reports
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&url)
            .cloned()
            .unwrap_or_else(|| {
                let mut r = ProbeReport::new(ProbeOutcome::Timeout);
                r.error = Some("probe: no scripted report for this URL".to_owned());
                r
            });
        Box::pin(async move { report })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_keeps_what_was_measured() {
        let found = Found {
            codec: Some("h264".into()),
            rtsp_rtt_ms: Some(1.5),
            date_offset_ms: Some(-300),
            ..Found::default()
        };
        let report = found.report(Some(Failure::new(
            ProbeOutcome::Timeout,
            Step::FirstFrame,
            "no key frame within 10 s of PLAY".into(),
        )));
        assert_eq!(report.outcome, ProbeOutcome::Timeout);
        assert_eq!(report.codec.as_deref(), Some("h264"));
        assert_eq!(report.rtsp_rtt_ms, Some(1.5));
        assert_eq!(report.clock_offset_ms, Some(-300));
        assert_eq!(
            report.error.as_deref(),
            Some("first key frame: no key frame within 10 s of PLAY")
        );
    }

    #[test]
    fn a_sender_report_beats_the_date_header() {
        let found = Found {
            date_offset_ms: Some(-300),
            sender_report_offset_ms: Some(12),
            ..Found::default()
        };
        let report = found.report(None);
        assert_eq!(report.outcome, ProbeOutcome::Ok);
        assert_eq!(report.clock_offset_ms, Some(12));
        assert_eq!(report.error, None);
    }

    #[tokio::test]
    async fn the_fake_prober_answers_from_its_script() {
        let fake = FakeProber::default();
        let cam = ProbeTarget::parse("rtsp://cam-1/live", None, None).unwrap();
        let other = ProbeTarget::parse("rtsp://cam-2/live", None, None).unwrap();
        let mut ok = ProbeReport::new(ProbeOutcome::Ok);
        ok.codec = Some("h264".into());
        fake.set("rtsp://cam-1/live", ok.clone());
        let options = ProbeOptions::default();
        assert_eq!(fake.probe(&cam, &options).await, ok);
        assert_eq!(
            fake.probe(&other, &options).await.outcome,
            ProbeOutcome::Timeout
        );
        assert_eq!(fake.calls(), ["rtsp://cam-1/live", "rtsp://cam-2/live"]);
    }
}
