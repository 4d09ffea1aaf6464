//! The peers the probe is tested against: GStreamer's RTSP server
//! (`tests/peers/rtsp_server.py`, started once per test binary and shared)
//! and hostile peers written here, each a real socket on 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// The password of the user `probe` on the authenticated mounts: distinct
/// enough that finding it in any output is a leak, not a coincidence.
pub const PASSWORD: &str = "Gz-probe-S3cret!7";
pub const USER: &str = "probe";

/// The running GStreamer server.
#[derive(Debug)]
pub struct Gst {
    pub port: u16,
    pub digest_port: u16,
    pub basic_port: u16,
    pub h265: bool,
    _child: Mutex<Child>,
    /// Held open for the life of the test process: the server stops when
    /// it reads end-of-file, so it dies with us however we end.
    _stdin: Mutex<ChildStdin>,
}

impl Gst {
    pub fn url(&self, mount: &str) -> String {
        format!("rtsp://127.0.0.1:{}{mount}", self.port)
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

fn required() -> bool {
    std::env::var("GOZCU_REQUIRE_RTSP").as_deref() == Ok("1")
}

/// The shared GStreamer server, started on first use; `None` (with a
/// message) when GStreamer is not installed, unless `GOZCU_REQUIRE_RTSP=1`
/// (set by `cargo xtask test`), which makes that a failure.
pub fn gst() -> Option<&'static Gst> {
    static GST: OnceLock<Result<Gst, String>> = OnceLock::new();
    match GST.get_or_init(start_gst) {
        Ok(gst) => Some(gst),
        Err(why) if required() => panic!("GOZCU_REQUIRE_RTSP=1 but {why}"),
        Err(why) => {
            println!("skipped: {why}");
            None
        }
    }
}

fn start_gst() -> Result<Gst, String> {
    // Debian's python3 has the GStreamer bindings; another python3 earlier
    // in PATH (pyenv, a virtualenv) usually does not.
    let python = ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|p| !p.starts_with('/') || Path::new(p).exists())
        .unwrap_or("python3");
    let script = root().join("tests/peers/rtsp_server.py");
    let mut child = Command::new(python)
        .arg(&script)
        .args(["--password", PASSWORD])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {python} {}: {e}", script.display()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let stdin = child.stdin.take().expect("piped stdin");
    // The first line is the JSON with the ports, or nothing if the script
    // failed; read it on a thread so a stuck start-up cannot hang the tests.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(90)).unwrap_or_default();
    if line.trim().is_empty() {
        let _ = child.kill();
        let output = child.wait_with_output().ok();
        let stderr = output
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .unwrap_or_default();
        return Err(format!(
            "the GStreamer RTSP server did not start ({}); install it with \
             `apt-get install gir1.2-gst-rtsp-server-1.0 python3-gst-1.0 gstreamer1.0-plugins-base \
             gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly gstreamer1.0-plugins-bad` \
             or run `cargo xtask test`",
            stderr.trim().lines().last().unwrap_or("no output")
        ));
    }
    let info: serde_json::Value =
        serde_json::from_str(&line).map_err(|e| format!("bad start-up line {line:?}: {e}"))?;
    let port = |key: &str| {
        info[key]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| format!("no {key} in {line:?}"))
    };
    // Drain stderr so GStreamer's warnings can never fill the pipe and
    // block the server.
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        });
    }
    Ok(Gst {
        port: port("port")?,
        digest_port: port("digest_port")?,
        basic_port: port("basic_port")?,
        h265: info["h265"].as_bool().unwrap_or(false),
        _child: Mutex::new(child),
        _stdin: Mutex::new(stdin),
    })
}

/// A port that accepts connections and never says a word.
pub async fn silent() -> SocketAddr {
    serve(|mut stream| async move {
        // Hold the connection until the client gives up.
        let mut sink = [0u8; 1024];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await
}

/// A port that answers anything with bytes that are no protocol at all,
/// then keeps the connection open.
pub async fn garbage() -> SocketAddr {
    serve(|mut stream| async move {
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf).await;
        let noise: Vec<u8> = (0..256u32).map(|i| (i * 167 + 13) as u8).collect();
        let _ = stream.write_all(&noise).await;
        while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await
}

/// A camera's web server: answers HTTP.
pub async fn http() -> SocketAddr {
    serve(|mut stream| async move {
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf).await;
        let _ = stream
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\nServer: webs\r\nContent-Type: text/html\r\n\
                  Content-Length: 11\r\nConnection: close\r\n\r\nBad Request",
            )
            .await;
    })
    .await
}

/// A port nothing listens on: bound, then closed, so the kernel answers a
/// connection attempt with a reset.
pub async fn closed() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}

/// A port whose accept queue is full, so the kernel drops further SYNs
/// and a TCP connect hangs until the client gives up — what a firewall
/// that drops packets looks like, without sending anything anywhere.
pub struct Blackhole {
    pub addr: SocketAddr,
    _listener: TcpListener,
    _filler: TcpStream,
}

pub async fn blackhole() -> Blackhole {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    // Backlog 0: one connection fills the queue; it is never accepted.
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let filler = TcpStream::connect(addr).await.unwrap();
    Blackhole {
        addr,
        _listener: listener,
        _filler: filler,
    }
}

/// What a [`proxy`] in front of the GStreamer server does to the stream
/// from the server to the client.
#[derive(Debug, Clone, Copy)]
pub enum Mischief {
    /// Hold every chunk this long before passing it on: a camera far away
    /// or overloaded, but working.
    Latency(Duration),
    /// Pass on one byte at a time with this pause between bytes: a peer
    /// that is always answering and never done.
    Trickle(Duration),
    /// Pass on the answers and this many interleaved data frames after
    /// PLAY, then close both connections: a camera that drops mid-stream.
    DropAfterFrames(usize),
    /// Flip the bits of the video slice data in every RTP packet on
    /// interleaved channel 0, leaving RTP, FU and NAL headers intact:
    /// packets that arrive whole but carry a picture no decoder accepts.
    CorruptVideo,
}

/// A TCP proxy on a fresh port in front of `upstream`, misbehaving as told.
pub async fn proxy(upstream: SocketAddr, mischief: Mischief) -> SocketAddr {
    serve(move |client| async move {
        let Ok(server) = TcpStream::connect(upstream).await else {
            return;
        };
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let upward = tokio::spawn(async move {
            let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        });
        let mut buf = vec![0u8; 64 * 1024];
        let mut framing = Framing::default();
        'outer: loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            let out = match mischief {
                Mischief::Latency(delay) => {
                    tokio::time::sleep(delay).await;
                    chunk.to_vec()
                }
                Mischief::Trickle(pause) => {
                    for byte in chunk {
                        if client_write.write_all(&[*byte]).await.is_err() {
                            break 'outer;
                        }
                        tokio::time::sleep(pause).await;
                    }
                    continue;
                }
                Mischief::DropAfterFrames(limit) => {
                    let (out, done) = framing.pass_frames(chunk, limit);
                    if done {
                        let _ = client_write.write_all(&out).await;
                        break;
                    }
                    out
                }
                Mischief::CorruptVideo => framing.corrupt(chunk),
            };
            if client_write.write_all(&out).await.is_err() {
                break;
            }
        }
        upward.abort();
    })
    .await
}

/// Splits the server-to-client byte stream of an RTSP connection into
/// whole messages: RTSP answers (head and `Content-Length` body) and
/// interleaved frames (`$`, channel, 16-bit length, data).
#[derive(Debug, Default)]
struct Framing {
    pending: Vec<u8>,
    frames: usize,
}

enum Message {
    Text(Vec<u8>),
    Frame { channel: u8, data: Vec<u8> },
}

impl Framing {
    fn next(&mut self) -> Option<Message> {
        let buf = &self.pending;
        if buf.first() == Some(&b'$') {
            if buf.len() < 4 {
                return None;
            }
            let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
            if buf.len() < 4 + len {
                return None;
            }
            let channel = buf[1];
            let data = buf[4..4 + len].to_vec();
            self.pending.drain(..4 + len);
            return Some(Message::Frame { channel, data });
        }
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let body = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if buf.len() < end + body {
            return None;
        }
        let text = self.pending.drain(..end + body).collect();
        Some(Message::Text(text))
    }

    /// Passes answers and the first `limit` frames; `true` once the limit
    /// is reached.
    fn pass_frames(&mut self, chunk: &[u8], limit: usize) -> (Vec<u8>, bool) {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(message) = self.next() {
            match message {
                Message::Text(text) => out.extend(text),
                Message::Frame { channel, data } => {
                    out.extend(frame_bytes(channel, &data));
                    self.frames += 1;
                    if self.frames >= limit {
                        return (out, true);
                    }
                }
            }
        }
        (out, false)
    }

    fn corrupt(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(chunk);
        let mut out = Vec::new();
        while let Some(message) = self.next() {
            match message {
                Message::Text(text) => out.extend(text),
                Message::Frame { channel, mut data } => {
                    if channel == 0 {
                        corrupt_rtp_h264(&mut data);
                    }
                    out.extend(frame_bytes(channel, &data));
                }
            }
        }
        out
    }
}

fn frame_bytes(channel: u8, data: &[u8]) -> Vec<u8> {
    let len = u16::try_from(data.len()).expect("interleaved frames fit 16 bits");
    let mut out = vec![b'$', channel];
    out.extend(len.to_be_bytes());
    out.extend_from_slice(data);
    out
}

/// Inverts the slice data of an H.264 RTP packet (RFC 6184): after the
/// 12-byte RTP header (plus CSRCs), a single slice NAL (types 1 and 5) keeps
/// its NAL header byte and the first byte of its slice header
/// (`first_mb_in_slice`…); an FU-A fragment of a slice keeps its two FU
/// bytes too. SPS, PPS and SEI pass untouched, so the stream still
/// describes itself correctly and only the picture is broken.
fn corrupt_rtp_h264(packet: &mut [u8]) {
    if packet.len() < 12 {
        return;
    }
    let csrc = usize::from(packet[0] & 0x0f) * 4;
    let payload = 12 + csrc;
    let Some(&indicator) = packet.get(payload) else {
        return;
    };
    let keep = match indicator & 0x1f {
        1 | 5 => payload + 2,
        28 => {
            let Some(&header) = packet.get(payload + 1) else {
                return;
            };
            let start = header & 0x80 != 0;
            match header & 0x1f {
                1 | 5 if start => payload + 3,
                1 | 5 => payload + 2,
                _ => return,
            }
        }
        _ => return,
    };
    for byte in packet.iter_mut().skip(keep) {
        *byte ^= 0xff;
    }
}

/// Binds 127.0.0.1 on a free port and runs `handle` for every connection
/// on the current runtime, until the runtime (the test) ends.
async fn serve<F, Fut>(handle: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(handle(stream));
        }
    });
    addr
}

#[test]
fn framing_splits_answers_and_frames() {
    let mut f = Framing::default();
    let mut stream = b"RTSP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc".to_vec();
    stream.extend(frame_bytes(0, &[1, 2, 3, 4]));
    stream.extend(frame_bytes(1, &[9]));
    // Fed in two pieces that cut a frame in half.
    let (a, done) = f.pass_frames(&stream[..44], 5);
    assert!(!done);
    let (b, done) = f.pass_frames(&stream[44..], 2);
    assert!(done);
    assert_eq!([a, b].concat(), stream);
}

#[test]
fn corruption_spares_headers_and_parameter_sets() {
    // RTP header, then an FU-A start fragment of an IDR slice.
    let mut packet = vec![
        0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x7c, 0x85, 0x88, 0x00, 0x0f,
    ];
    corrupt_rtp_h264(&mut packet);
    assert_eq!(
        &packet[..15],
        &[0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x7c, 0x85, 0x88]
    );
    assert_eq!(&packet[15..], &[0xff, 0xf0]);
    // An SPS passes untouched.
    let mut sps = vec![
        0x80, 96, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e,
    ];
    let before = sps.clone();
    corrupt_rtp_h264(&mut sps);
    assert_eq!(sps, before);
}
