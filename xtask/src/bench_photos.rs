//! The photo downscale of the PWA, timed in headless Chromium: a
//! 12-megapixel JPEG (4000×3000, like a tablet's camera) decoded with
//! `createImageBitmap`, drawn onto a canvas at most 2048 px on its long
//! side, re-encoded with `toBlob("image/jpeg", 0.85)` and hashed with
//! `crypto.subtle.digest("SHA-256")`: the calls `app/src/photos/capture.rs`
//! makes, in the same order and with the same options. The median of
//! several runs is put beside ImageMagick doing the same job on the same
//! machine in the same run (`convert -resize 2048x2048 -quality 85`, then
//! `sha256sum`), as a ratio.
//!
//! The source image is made by ImageMagick too (a plasma fractal with
//! sensor-like noise, so the JPEG is as hard to decode as a photo, not a
//! flat test card) and kept in `target/bench-photos/` between runs. The
//! page is served from 127.0.0.1 by a small HTTP server of this module:
//! `crypto.subtle` exists only in a secure context, which a loopback
//! origin is.
//!
//! Needs the Debian packages `chromium`, `chromium-driver` and
//! `imagemagick`; without them `run` fails with a message saying which is
//! missing, which the caller reports as a skipped figure.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, sleep};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

use crate::util::{self, check_interrupted};

const WIDTH: u32 = 4000;
const HEIGHT: u32 = 3000;
/// `MAX_SIDE` and `JPEG_QUALITY` of `app/src/photos/mod.rs`.
const MAX_SIDE: u32 = 2048;
const QUALITY: f64 = 0.85;
/// Timed runs of each side, after one untimed warm-up (the browser's first
/// decode also loads its JPEG codec; ImageMagick's first run fills the page
/// cache).
const RUNS: usize = 7;

/// What `run` measured. Times are medians in milliseconds.
#[derive(Debug, Clone)]
pub struct PhotoBench {
    /// The whole pipeline in the browser, from the picked file to the hash.
    pub browser_ms: f64,
    /// Its steps: decode, draw (the downscale), encode, hash.
    pub steps_ms: [(&'static str, f64); 4],
    /// ImageMagick's resize and re-encode plus `sha256sum`, each a new
    /// process as a command line would run it.
    pub reference_ms: f64,
    pub reference: String,
    pub browser: String,
    pub source_bytes: u64,
    /// What the browser produced: width, height and JPEG bytes.
    pub output: (u32, u32, u64),
    pub reference_bytes: u64,
}

impl PhotoBench {
    /// How many times ImageMagick's time the browser takes.
    pub fn ratio(&self) -> f64 {
        self.browser_ms / self.reference_ms.max(0.001)
    }

    /// One line for the console.
    pub fn console(&self) -> String {
        format!(
            "photo downscale {WIDTH}×{HEIGHT} → {}×{}: {:.0} ms in {} (decode {:.0}, draw {:.0}, encode {:.0}, hash {:.0}), \
             {:.0} ms with {} ({:.1}×)",
            self.output.0,
            self.output.1,
            self.browser_ms,
            self.browser,
            self.steps_ms[0].1,
            self.steps_ms[1].1,
            self.steps_ms[2].1,
            self.steps_ms[3].1,
            self.reference_ms,
            self.reference,
            self.ratio()
        )
    }

    /// A section for `docs/benchmarks.md`.
    pub fn markdown(&self) -> String {
        let kb = |b: u64| b.div_ceil(1024);
        format!(
            "### Photo downscale in the browser\n\n\
             A {WIDTH}×{HEIGHT} JPEG ({} KB) as a tablet's camera takes it, prepared the way the app \
             prepares every photo before storing it (`app/src/photos/capture.rs`): \
             `createImageBitmap`, a canvas draw to {}×{}, `toBlob` JPEG {QUALITY}, SHA-256 with \
             `crypto.subtle`. Median of {RUNS} runs in headless {}, against {} doing the same \
             resize and re-encode (and `sha256sum`) on the same machine in the same run.\n\n\
             | step | median |\n|---|---:|\n\
             | decode (`createImageBitmap`) | {:.0} ms |\n\
             | downscale (canvas `drawImage`, smoothing \"high\") | {:.0} ms |\n\
             | encode (`toBlob` JPEG {QUALITY}) | {:.0} ms |\n\
             | hash (`crypto.subtle.digest`) | {:.0} ms |\n\
             | **whole photo in the browser** | **{:.0} ms** |\n\
             | {} (reference) | {:.0} ms |\n\
             | ratio browser / reference | {:.2}× |\n\n\
             Output: {} KB in the browser, {} KB from the reference. A tablet is slower than this \
             machine; the ratio is what carries over.\n",
            kb(self.source_bytes),
            self.output.0,
            self.output.1,
            self.browser,
            self.reference,
            self.steps_ms[0].1,
            self.steps_ms[1].1,
            self.steps_ms[2].1,
            self.steps_ms[3].1,
            self.browser_ms,
            self.reference,
            self.reference_ms,
            self.ratio(),
            kb(self.output.2),
            kb(self.reference_bytes),
        )
    }
}

/// The browser side, run by chromedriver's `execute/async`. The image is
/// fetched once before timing: in the app it is a `File` the picker hands
/// over, already in memory.
const SCRIPT: &str = r#"
const [url, runs, maxSide, quality] = arguments;
const done = arguments[arguments.length - 1];
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
(async () => {
  const file = await (await fetch(url)).blob();
  const rows = [];
  let out = null;
  for (let i = 0; i <= runs; i++) {
    const t0 = performance.now();
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    const t1 = performance.now();
    const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * scale));
    const h = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d');
    ctx.imageSmoothingQuality = 'high';
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, w, h);
    ctx.drawImage(bitmap, 0, 0, w, h);
    bitmap.close();
    // Drawing is queued on the GPU process; reading one pixel waits for it,
    // so the draw is timed as drawing, not as part of the encode.
    ctx.getImageData(0, 0, 1, 1);
    const t2 = performance.now();
    const jpeg = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', quality));
    const t3 = performance.now();
    const digest = await crypto.subtle.digest('SHA-256', await jpeg.arrayBuffer());
    const t4 = performance.now();
    canvas.width = 0;
    canvas.height = 0;
    if (i > 0) rows.push([t4 - t0, t1 - t0, t2 - t1, t3 - t2, t4 - t3]);
    out = { w, h, bytes: jpeg.size, sha256: hex(digest) };
  }
  done({ rows, out, source_bytes: file.size, agent: navigator.userAgent });
})().catch((e) => done({ error: String(e && e.stack || e) }));
"#;

const PAGE: &str = "<!doctype html><meta charset=utf-8><title>photo bench</title>";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// ImageMagick's `convert`, by a name that is really ImageMagick.
fn imagemagick() -> Result<(PathBuf, String)> {
    for name in ["convert-im6.q16", "magick", "/usr/bin/convert", "convert"] {
        let Some(path) = util::which(name).or_else(|| {
            let p = PathBuf::from(name);
            p.is_absolute().then_some(p).filter(|p| p.is_file())
        }) else {
            continue;
        };
        let Some(version) = util::probe(Command::new(&path).arg("-version")) else {
            continue;
        };
        if let Some(line) = version.lines().find(|l| l.contains("ImageMagick")) {
            let short = line
                .split_whitespace()
                .skip_while(|w| *w != "ImageMagick")
                .take(2)
                .collect::<Vec<_>>()
                .join(" ");
            return Ok((path, short));
        }
    }
    bail!("skipped: ImageMagick is not installed (Debian package `imagemagick`)")
}

/// The 12-megapixel source, made once.
fn source(convert: &Path, dir: &Path) -> Result<PathBuf> {
    let path = dir.join(format!("source-{WIDTH}x{HEIGHT}.jpg"));
    if path.is_file() {
        return Ok(path);
    }
    let tmp = dir.join("source.tmp.jpg");
    util::run(
        Command::new(convert)
            .args(["-seed", "4242", "-size"])
            .arg(format!("{WIDTH}x{HEIGHT}"))
            .args([
                "plasma:fractal",
                "-attenuate",
                "0.25",
                "+noise",
                "Gaussian",
                "-quality",
                "92",
                "-sampling-factor",
                "2x2",
            ])
            .arg(&tmp),
    )
    .context("making the 12-megapixel source image")?;
    fs::rename(&tmp, &path)?;
    Ok(path)
}

/// ImageMagick doing the app's job: the median of `RUNS` runs after a
/// warm-up, and the size of what it wrote.
fn reference(convert: &Path, src: &Path, dir: &Path) -> Result<(f64, u64)> {
    let out = dir.join("reference.jpg");
    let mut times = Vec::new();
    for i in 0..=RUNS {
        check_interrupted()?;
        let t0 = Instant::now();
        util::run(
            Command::new(convert)
                .arg(src)
                .args(["-resize"])
                .arg(format!("{MAX_SIDE}x{MAX_SIDE}"))
                .args(["-quality", "85"])
                .arg(&out),
        )?;
        util::output(Command::new("sha256sum").arg(&out))?;
        if i > 0 {
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok((median(times), fs::metadata(&out)?.len()))
}

/// Serves `/` (an empty page) and `/photo.jpg` until dropped.
struct FileServer {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<thread::JoinHandle<()>>,
}

impl FileServer {
    fn start(photo: Vec<u8>) -> Result<FileServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        // One request per connection, answered in full; a
                        // failed answer only fails the browser's fetch.
                        let _ = answer(stream, &photo);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        sleep(Duration::from_millis(10));
                    }
                    Err(_) => break,
                }
            }
        });
        Ok(FileServer {
            port,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(stream: TcpStream, photo: &[u8]) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // The headers are read and ignored.
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/");
    let (status, kind, body): (&str, &str, &[u8]) = match path {
        "/" => ("200 OK", "text/html; charset=utf-8", PAGE.as_bytes()),
        "/photo.jpg" => ("200 OK", "image/jpeg", photo),
        _ => ("404 Not Found", "text/plain", b"not found"),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    stream.flush()
}

/// A child process killed when the guard goes, so that a failed run leaves
/// no chromedriver behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the benchmark; its files are kept in `target/bench-photos/`.
pub fn run(root: &Path) -> Result<PhotoBench> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let chromedriver =
        std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    for (name, path) in [("chromium", &chromium), ("chromedriver", &chromedriver)] {
        if !Path::new(path).is_file() {
            bail!("skipped: {name} is not installed at {path} (Debian packages `chromium` and `chromium-driver`)");
        }
    }
    let (convert, reference_name) = imagemagick()?;
    let dir = root.join("target/bench-photos");
    fs::create_dir_all(&dir)?;
    let src = source(&convert, &dir)?;
    let mut photo = Vec::new();
    fs::File::open(&src)?.read_to_end(&mut photo)?;
    let source_bytes = photo.len() as u64;

    let (reference_ms, reference_bytes) = reference(&convert, &src, &dir)?;

    let server = FileServer::start(photo)?;
    let port = util::free_port()?;
    let mut driver = KillOnDrop(
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {chromedriver}"))?,
    );
    let wd = format!("http://127.0.0.1:{port}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !agent
        .get(format!("{wd}/status"))
        .call()
        .is_ok_and(|r| r.status().as_u16() == 200)
    {
        check_interrupted()?;
        if let Some(status) = driver.0.try_wait()? {
            bail!("chromedriver exited ({status})");
        }
        ensure!(Instant::now() < deadline, "chromedriver did not answer");
        sleep(Duration::from_millis(100));
    }
    let call = |method: &str, path: &str, body: Value| -> Result<Value> {
        let url = format!("{wd}{path}");
        let response = match method {
            "DELETE" => agent.delete(&url).call(),
            _ => agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.to_string()),
        }
        .with_context(|| format!("WebDriver {method} {path}"))?;
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string()?;
        ensure!(
            status == 200,
            "WebDriver {method} {path} answered {status}: {}",
            text.chars().take(500).collect::<String>()
        );
        let v: Value = serde_json::from_str(&text)?;
        Ok(v["value"].clone())
    };
    let profile = dir.join("profile");
    let _ = fs::remove_dir_all(&profile);
    let session = call(
        "POST",
        "/session",
        json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-background-networking",
                     format!("--user-data-dir={}", profile.display())],
        }}}}),
    )?;
    let id = session["sessionId"]
        .as_str()
        .context("WebDriver session without id")?
        .to_owned();
    let base = format!("http://127.0.0.1:{}", server.port);
    let result = (|| {
        call(
            "POST",
            &format!("/session/{id}/url"),
            json!({"url": format!("{base}/")}),
        )?;
        call(
            "POST",
            &format!("/session/{id}/timeouts"),
            json!({"script": 600_000}),
        )?;
        call(
            "POST",
            &format!("/session/{id}/execute/async"),
            json!({"script": SCRIPT, "args": [format!("{base}/photo.jpg"), RUNS, MAX_SIDE, QUALITY]}),
        )
    })();
    let _ = call("DELETE", &format!("/session/{id}"), Value::Null);
    drop(server);
    let r = result?;
    if let Some(e) = r.get("error") {
        bail!("the script failed in the browser: {e}");
    }
    let rows = r["rows"].as_array().context("no rows")?;
    ensure!(rows.len() == RUNS, "the browser ran {} times", rows.len());
    let column = |i: usize| -> Result<f64> {
        let v: Option<Vec<f64>> = rows.iter().map(|row| row[i].as_f64()).collect();
        Ok(median(v.context("a time that is not a number")?))
    };
    let out = &r["out"];
    let output = (
        out["w"].as_u64().context("width")? as u32,
        out["h"].as_u64().context("height")? as u32,
        out["bytes"].as_u64().context("bytes")?,
    );
    ensure!(
        output.0.max(output.1) == MAX_SIDE,
        "the browser made {}×{}",
        output.0,
        output.1
    );
    ensure!(
        out["sha256"].as_str().is_some_and(|s| s.len() == 64),
        "no hash: {out}"
    );
    ensure!(
        r["source_bytes"].as_u64() == Some(source_bytes),
        "the browser fetched {} bytes",
        r["source_bytes"]
    );
    let result = PhotoBench {
        browser_ms: column(0)?,
        steps_ms: [
            ("decode", column(1)?),
            ("draw", column(2)?),
            ("encode", column(3)?),
            ("hash", column(4)?),
        ],
        reference_ms,
        reference: format!("{reference_name} `convert`"),
        browser: r["agent"]
            .as_str()
            .and_then(|a| a.split_whitespace().find(|w| w.contains("Chrome/")))
            .unwrap_or("Chromium")
            .replace("HeadlessChrome", "Chromium"),
        source_bytes,
        output,
        reference_bytes,
    };
    println!("{}", result.console());
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(Vec::new()).is_nan());
    }

    /// The page server answers what the browser asks for, and nothing else.
    #[test]
    fn the_page_server_serves_the_photo() -> Result<()> {
        let server = FileServer::start(b"\xFF\xD8\xFFjpeg".to_vec())?;
        let get = |path: &str| -> Result<String> {
            let mut s = TcpStream::connect(("127.0.0.1", server.port))?;
            write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")?;
            let mut out = Vec::new();
            s.read_to_end(&mut out)?;
            Ok(String::from_utf8_lossy(&out).into_owned())
        };
        let photo = get("/photo.jpg")?;
        assert!(photo.starts_with("HTTP/1.1 200 OK\r\n"), "{photo}");
        assert!(photo.contains("Content-Type: image/jpeg\r\n"));
        assert!(photo.ends_with("jpeg"));
        assert!(get("/")?.contains("<title>photo bench</title>"));
        assert!(get("/etc/passwd")?.starts_with("HTTP/1.1 404"));
        Ok(())
    }
}
