//! The camera probe benchmark, against GStreamer's RTSP server on this
//! machine (`tests/peers/rtsp_server.py`):
//!
//! - time to the first decoded frame: the release `gozcu probe --json
//!   --window 0` beside `ffmpeg -rtsp_transport tcp -i <url> -frames:v 1
//!   -f null -` on the same mount, alternating, each a fresh process timed
//!   from start to exit (and the probe's own `first_frame_ms`);
//! - a fleet: 200 loopback cameras (one mount each, served from a recorded
//!   file so the server's encoders do not eat the cores being measured)
//!   probed at once with the default 2 s window by the library
//!   (`server/examples/probe_bench.rs`, two worker threads): probes per
//!   second and CPU time per probe, at most 50 at a time (which the RTSP
//!   server on the same cores keeps up with) and then all at once.
//!
//! `cargo xtask bench probe` runs only this and rewrites only the
//! "Camera probe" section of `docs/benchmarks.md`.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::util::{self, cargo, check_interrupted};

/// Timed runs of each side after one untimed warm-up of each.
const RUNS: usize = 7;
const CAMERAS: usize = 200;
/// Sessions at a time that the loopback GStreamer server keeps up with.
const SLICE: usize = 50;
const MOUNT: &str = "/h264-640x360-25";
const RATIO_TARGET: f64 = 10.0;
const PROBES_PER_S_TARGET: f64 = 100.0;
pub const HEADING: &str = "## Camera probe";
/// The Debian packages of the RTSP server and the reference.
pub const PACKAGES: &[&str] = &[
    "gir1.2-gst-rtsp-server-1.0",
    "python3-gst-1.0",
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-ugly",
    "gstreamer1.0-plugins-bad",
    "ffmpeg",
];

#[derive(Debug)]
pub struct ProbeBench {
    /// Medians in milliseconds.
    pub gozcu_ms: f64,
    pub gozcu_first_frame_ms: f64,
    pub ffmpeg_ms: f64,
    pub ffmpeg_version: String,
    /// All cameras at once, then in slices the RTSP server keeps up with.
    pub fleets: Vec<Result<Fleet, String>>,
}

#[derive(Debug)]
pub struct Fleet {
    pub concurrency: usize,
    pub probes: usize,
    pub ok: usize,
    pub wall_s: f64,
    pub cpu_ms: f64,
    pub first_frame_p50_ms: f64,
    pub outcomes: String,
    /// CPU time of the RTSP server during the batch, which shares the two
    /// cores with the probes.
    pub peer_cpu_ms: Option<f64>,
}

impl Fleet {
    fn probes_per_s(&self) -> f64 {
        self.probes as f64 / self.wall_s
    }

    fn cpu_per_probe_ms(&self) -> f64 {
        self.cpu_ms / self.probes as f64
    }

    fn peer_note(&self) -> String {
        self.peer_cpu_ms.map_or_else(String::new, |ms| {
            format!(" (RTSP server: {:.1} ms)", ms / self.probes as f64)
        })
    }
}

impl ProbeBench {
    pub fn ratio(&self) -> f64 {
        self.ffmpeg_ms / self.gozcu_ms
    }

    pub fn console(&self) -> String {
        let mut out = format!(
            "camera probe, first decoded frame ({MOUNT}, median of {RUNS}):\n  gozcu probe: {:.0} ms (in-process first_frame_ms {:.0})\n  ffmpeg:      {:.0} ms\n  ratio:       {:.1}× faster\n",
            self.gozcu_ms,
            self.gozcu_first_frame_ms,
            self.ffmpeg_ms,
            self.ratio()
        );
        for fleet in &self.fleets {
            match fleet {
                Ok(f) => {
                    let _ = writeln!(
                    out,
                    "fleet, {} at a time: {} probes in {:.2} s = {:.0} probes/s, {:.1} ms CPU per probe ({}){}",
                    f.concurrency,
                    f.probes,
                    f.wall_s,
                    f.probes_per_s(),
                    f.cpu_per_probe_ms(),
                    f.outcomes,
                    f.peer_note()
                );
                }
                Err(e) => {
                    let _ = writeln!(out, "fleet: not measured ({e})");
                }
            }
        }
        out
    }

    /// The section of `docs/benchmarks.md`, from its heading on.
    pub fn markdown(&self) -> String {
        let mut md = format!("{HEADING}\n\n");
        md.push_str(
            "GStreamer's RTSP server (`tests/peers/rtsp_server.py`) on this machine. First frame: \
             each side a fresh process timed from start to exit, alternating, after one untimed \
             warm-up each, on a mount that starts a new 640×360 25 fps H.264 encoder per client \
             (so both get a key frame at once). Fleet: every camera a mount of its own served \
             from a recorded 640×360 file, probed by the library on two worker threads with the \
             default 2 s measuring window, at most 50 at a time and then all at once; CPU is the probing process's user + \
             system time (the RTSP server runs on the same two cores).\n\n\
             | figure | Gözcü | reference | reference value | reference ÷ Gözcü | target |\n\
             |---|---:|---|---:|---|---|\n",
        );
        let ratio = self.ratio();
        let _ = writeln!(
            md,
            "| time to first decoded frame (median of {RUNS}) | {:.0} ms (in-process {:.0} ms) | {} `-rtsp_transport tcp -frames:v 1` | {:.0} ms | {:.1}× faster | ≥ {RATIO_TARGET:.0}× {} |",
            self.gozcu_ms,
            self.gozcu_first_frame_ms,
            self.ffmpeg_version,
            self.ffmpeg_ms,
            ratio,
            if ratio >= RATIO_TARGET { "✅" } else { "❌ missed" }
        );
        for fleet in &self.fleets {
            match fleet {
                Ok(f) => {
                    let rate = f.probes_per_s();
                    let _ = writeln!(
                        md,
                        "| {} loopback cameras, {} at a time, 2 s window ({}; first frame p50 {:.0} ms) | {:.0} probes/s, {:.1} ms CPU per probe{} | | | | ≥ {PROBES_PER_S_TARGET:.0} probes/s {} |",
                        f.probes,
                        f.concurrency,
                        f.outcomes,
                        f.first_frame_p50_ms,
                        rate,
                        f.cpu_per_probe_ms(),
                        f.peer_note(),
                        if rate >= PROBES_PER_S_TARGET && f.ok == f.probes {
                            "✅"
                        } else {
                            "❌ missed"
                        }
                    );
                }
                Err(e) => {
                    let _ = writeln!(
                        md,
                        "| {CAMERAS} loopback cameras | not measured: {} | | | | ≥ {PROBES_PER_S_TARGET:.0} probes/s ❌ not measured |",
                        e.replace('|', "\\|")
                    );
                }
            }
        }
        if let Some(Ok(f)) = self
            .fleets
            .iter()
            .find(|f| f.as_ref().is_ok_and(|f| f.concurrency == SLICE))
        {
            let _ = writeln!(
                md,
                "\nAt {:.1} ms of CPU per probe ({SLICE} at a time), two cores have room for about {:.0} \
                 probes/s of probing work. The wall-clock rate of a batch is bounded by its \
                 concurrency over the probe's length (window plus first frame: 200 at once cannot \
                 pass about 90/s), and here also by the RTSP server, one Python main loop that \
                 builds a GStreamer pipeline per session on the same two cores: it does not answer \
                 every DESCRIBE of 200 simultaneous sessions within the probe's 5 s request limit. \
                 Real cameras each serve their own sessions.",
                f.cpu_per_probe_ms(),
                2000.0 / f.cpu_per_probe_ms().max(0.001),
            );
        }
        md
    }
}

/// Replaces the probe section of an existing `docs/benchmarks.md` (from its
/// heading to the next `## ` heading or the end), or appends it.
pub fn splice(existing: &str, section: &str) -> String {
    let section = section.trim_end();
    let Some(start) = existing.find(HEADING) else {
        return format!("{}\n\n{section}\n", existing.trim_end());
    };
    let after = &existing[start + HEADING.len()..];
    let end = after
        .find("\n## ")
        .map_or(existing.len(), |i| start + HEADING.len() + i + 1);
    format!(
        "{}{section}\n{}{}",
        &existing[..start],
        if end < existing.len() { "\n" } else { "" },
        &existing[end..]
    )
}

/// The GStreamer server of the tests, with `cameras` extra mounts.
struct RtspServer {
    child: Child,
    port: u16,
}

impl RtspServer {
    fn start(root: &Path, cameras: usize) -> Result<RtspServer> {
        let script = root.join("tests/peers/rtsp_server.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(&script)
            .args([
                "--password",
                "bench-unused",
                "--cameras",
                &cameras.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", script.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let info: Value = match serde_json::from_str(line.trim()) {
            Ok(v) => v,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the GStreamer RTSP server did not start (printed {line:?})");
            }
        };
        let port = info["port"].as_u64().context("no port")? as u16;
        Ok(RtspServer { child, port })
    }

    fn url(&self, path: &str) -> String {
        format!("rtsp://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        // Closing stdin stops it; the kill is for a server that hangs.
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn run(root: &Path) -> Result<ProbeBench> {
    util::run(cargo(root).args([
        "build",
        "--release",
        "-p",
        "gozcu-server",
        "--bin",
        "gozcu",
        "--example",
        "probe_bench",
    ]))?;
    check_interrupted()?;
    let gozcu = root.join("target/release/gozcu");
    let server = RtspServer::start(root, CAMERAS)?;
    let url = server.url(MOUNT);
    let ffmpeg_version = util::output(Command::new("ffmpeg").arg("-version"))
        .ok()
        .and_then(|v| v.split_whitespace().nth(2).map(|s| format!("ffmpeg {s}")))
        .unwrap_or_else(|| "ffmpeg".to_owned());

    let mut ours = Vec::new();
    let mut inproc = Vec::new();
    let mut theirs = Vec::new();
    for i in 0..=RUNS {
        check_interrupted()?;
        let (ms, report) = time_gozcu(&gozcu, &url)?;
        let ffmpeg_ms = time_ffmpeg(&url)?;
        // The first round warms both up (page cache, GStreamer's plugins).
        if i > 0 {
            ours.push(ms);
            inproc.push(
                report["first_frame_ms"]
                    .as_f64()
                    .context("no first_frame_ms")?,
            );
            theirs.push(ffmpeg_ms);
        }
    }
    // The slices first, while the RTSP server is fresh: the burst of 200
    // leaves it busy tearing down pipelines for a while.
    let fleets = [SLICE, CAMERAS]
        .into_iter()
        .map(|concurrency| {
            fleet(root, &server, concurrency).map_err(|e| {
                eprintln!("warning: probe fleet benchmark: {e:#}");
                format!("{e:#}")
            })
        })
        .collect();
    Ok(ProbeBench {
        gozcu_ms: median(&mut ours),
        gozcu_first_frame_ms: median(&mut inproc),
        ffmpeg_ms: median(&mut theirs),
        ffmpeg_version,
        fleets,
    })
}

fn time_gozcu(bin: &Path, url: &str) -> Result<(f64, Value)> {
    let started = Instant::now();
    let out = Command::new(bin)
        .args(["probe", "--json", "--window", "0", url])
        .output()
        .context("running gozcu probe")?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let report: Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "gozcu probe printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    ensure!(report["outcome"] == "ok", "gozcu probe: {report}");
    Ok((ms, report))
}

fn time_ffmpeg(url: &str) -> Result<f64> {
    let started = Instant::now();
    let out = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-rtsp_transport",
            "tcp",
            "-i",
            url,
        ])
        .args(["-frames:v", "1", "-f", "null", "-"])
        .output()
        .context("running ffmpeg (apt-get install ffmpeg)")?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    ensure!(
        out.status.success(),
        "ffmpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(ms)
}

fn fleet(root: &Path, server: &RtspServer, concurrency: usize) -> Result<Fleet> {
    let example = root.join("target/release/examples/probe_bench");
    let urls: Vec<String> = (0..CAMERAS)
        .map(|n| server.url(&format!("/cam/{n}")))
        .collect();
    let peer_before = process_cpu_ms(server.child.id());
    let out = util::output(
        Command::new(&example)
            .args(["--window", "2", "--concurrency", &concurrency.to_string()])
            .args(&urls),
    )?;
    let peer_cpu_ms = match (peer_before, process_cpu_ms(server.child.id())) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    let v: Value = serde_json::from_str(out.trim()).context("probe_bench printed invalid JSON")?;
    let probes = v["probes"].as_u64().context("no probes")? as usize;
    let ok = v["outcomes"]["ok"].as_u64().unwrap_or(0) as usize;
    let outcomes = v["outcomes"]
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    if ok < probes {
        eprintln!("probe_bench errors: {}", v["errors"]);
    }
    let mut first: Vec<f64> = v["first_frame_ms"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    Ok(Fleet {
        concurrency,
        probes,
        ok,
        wall_s: v["wall_ms"].as_f64().context("no wall_ms")? / 1000.0,
        cpu_ms: v["cpu_ms"].as_f64().context("no cpu_ms")?,
        first_frame_p50_ms: if first.is_empty() {
            f64::NAN
        } else {
            median(&mut first)
        },
        outcomes,
        peer_cpu_ms,
    })
}

/// User + system CPU time of a process in milliseconds, from
/// `/proc/<pid>/stat` (fields 14 and 15, in ticks of 1/100 s).
fn process_cpu_ms(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10.0)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_section_is_replaced_in_place_or_appended() {
        let doc = "# Benchmarks\n\nintro\n\n## PDF reports\n\npdf\n";
        let new = splice(doc, "## Camera probe\n\nv1\n");
        assert_eq!(
            new,
            "# Benchmarks\n\nintro\n\n## PDF reports\n\npdf\n\n## Camera probe\n\nv1\n"
        );
        let again = splice(&new, "## Camera probe\n\nv2\n");
        assert_eq!(again, new.replace("v1", "v2"));
        let middle = "# B\n\n## Camera probe\n\nold\n\n## PDF reports\n\npdf\n";
        assert_eq!(
            splice(middle, "## Camera probe\n\nnew"),
            "# B\n\n## Camera probe\n\nnew\n\n## PDF reports\n\npdf\n"
        );
    }
}
