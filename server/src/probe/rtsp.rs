//! The probe's first connection: TCP connect and one RTSP `OPTIONS`, done by
//! hand rather than through retina, because this is where a probe learns
//! what kind of peer it has (nothing there, a refusal, a silent port, an
//! HTTP server, noise) and retina reports all of those as one opaque error.
//! It also gives the round trip and the camera's `Date` header.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Failure, Step};
use gozcu_shared::probe::ProbeOutcome;

/// The largest response head the probe reads; cameras send a few hundred
/// bytes, so more than this is not an RTSP answer to OPTIONS.
const MAX_HEAD: usize = 16 * 1024;

/// What the OPTIONS exchange found.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionsReply {
    pub status: u16,
    /// From writing the request to reading the end of the response head.
    pub rtt: Duration,
    /// When the request was sent and the head was complete, to place the
    /// `Date` header on our own time line.
    pub sent_at: Instant,
    pub received_at: Instant,
    /// The `Date` header's value, if any.
    pub date: Option<String>,
}

/// Resolves `host`, connects within `connect_timeout`, sends OPTIONS and
/// reads the response head within `request_timeout`.
pub async fn options(
    host: &str,
    port: u16,
    url: &url::Url,
    connect_timeout: Duration,
    request_timeout: Duration,
    progress: &(dyn Fn(Step) + Send + Sync),
) -> Result<OptionsReply, Failure> {
    let mut stream = connect(host, port, connect_timeout).await?;
    progress(Step::Options);
    let request = format!(
        "OPTIONS {url} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: {}\r\n\r\n",
        super::USER_AGENT
    );
    let sent_at = Instant::now();
    let exchange = async {
        stream.write_all(request.as_bytes()).await?;
        read_head(&mut stream).await
    };
    let head = match tokio::time::timeout(request_timeout, exchange).await {
        Err(_) => {
            return Err(Failure::new(
                ProbeOutcome::Timeout,
                Step::Options,
                format!(
                    "no complete answer to OPTIONS within {}",
                    super::secs(request_timeout)
                ),
            ))
        }
        Ok(Err(e)) => return Err(read_failure(&e)),
        Ok(Ok(head)) => head,
    };
    let received_at = Instant::now();
    let parsed = parse_head(&head)?;
    Ok(OptionsReply {
        status: parsed.status,
        rtt: received_at - sent_at,
        sent_at,
        received_at,
        date: parsed.date,
    })
}

/// The TCP connection, with the reason it failed sorted into an outcome.
async fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, Failure> {
    let deadline = tokio::time::Instant::now() + timeout;
    let addrs: Vec<SocketAddr> =
        match tokio::time::timeout_at(deadline, tokio::net::lookup_host((host, port))).await {
            Err(_) => {
                return Err(Failure::new(
                    ProbeOutcome::Timeout,
                    Step::Connect,
                    format!("resolving {host} took longer than {}", super::secs(timeout)),
                ))
            }
            Ok(Err(e)) => {
                return Err(Failure::new(
                    ProbeOutcome::Unreachable,
                    Step::Connect,
                    format!("cannot resolve {host}: {e}"),
                ))
            }
            Ok(Ok(addrs)) => addrs.collect(),
        };
    let mut last = None;
    for addr in &addrs {
        match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Err(_) => {
                return Err(Failure::new(
                    ProbeOutcome::Timeout,
                    Step::Connect,
                    format!(
                        "no answer to the TCP connection to {addr} within {}",
                        super::secs(timeout)
                    ),
                ))
            }
            Ok(Ok(stream)) => {
                // Requests are small and each waits for its answer: send
                // them at once.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) => last = Some((addr, e)),
        }
    }
    let Some((addr, e)) = last else {
        return Err(Failure::new(
            ProbeOutcome::Unreachable,
            Step::Connect,
            format!("{host} resolves to no address"),
        ));
    };
    Err(connect_failure(*addr, &e))
}

/// Sorts a failed TCP connect: a reset is `refused`, everything else that
/// the network stack says about the path is `unreachable`.
pub(crate) fn connect_failure(addr: SocketAddr, e: &io::Error) -> Failure {
    let outcome = match e.kind() {
        io::ErrorKind::ConnectionRefused => ProbeOutcome::Refused,
        io::ErrorKind::TimedOut => ProbeOutcome::Timeout,
        _ => ProbeOutcome::Unreachable,
    };
    Failure::new(
        outcome,
        Step::Connect,
        format!("TCP connection to {addr} failed: {e}"),
    )
}

fn read_failure(e: &io::Error) -> Failure {
    let detail = if e.kind() == io::ErrorKind::UnexpectedEof {
        "the peer closed the connection without answering OPTIONS".to_owned()
    } else {
        format!("reading the answer to OPTIONS failed: {e}")
    };
    Failure::new(ProbeOutcome::ProtocolError, Step::Options, detail)
}

/// Reads until the blank line that ends a response head. Stops early, with
/// what it has, as soon as the first bytes cannot be the start of an RTSP
/// answer: a peer that sends noise and then keeps the connection open must
/// not be mistaken for a slow camera.
async fn read_head(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            if buf.is_empty() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        if head_end(&buf).is_some() || !could_be_rtsp(&buf) || buf.len() > MAX_HEAD {
            return Ok(buf);
        }
    }
}

fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Whether `buf` can still become `RTSP/1.0 …`.
fn could_be_rtsp(buf: &[u8]) -> bool {
    const PREFIX: &[u8] = b"RTSP/";
    let n = buf.len().min(PREFIX.len());
    buf[..n] == PREFIX[..n]
}

#[derive(Debug, PartialEq)]
struct Head {
    status: u16,
    date: Option<String>,
}

/// Reads the status line and the `Date` header of an OPTIONS answer.
fn parse_head(buf: &[u8]) -> Result<Head, Failure> {
    let not_rtsp = |what: String| Failure::new(ProbeOutcome::NotRtsp, Step::Options, what);
    if buf.starts_with(b"HTTP/") {
        let line = first_line(buf);
        return Err(not_rtsp(format!(
            "the peer answered with HTTP ({line:?}), not RTSP: is this the camera's web port?"
        )));
    }
    if !buf.starts_with(b"RTSP/") {
        return Err(not_rtsp(format!(
            "the answer does not start with RTSP/ (first bytes: {})",
            hex_preview(buf)
        )));
    }
    let Some(end) = head_end(buf) else {
        return Err(Failure::new(
            ProbeOutcome::ProtocolError,
            Step::Options,
            if buf.len() > MAX_HEAD {
                format!("the answer's head is longer than {MAX_HEAD} bytes")
            } else {
                "the connection closed in the middle of the answer".to_owned()
            },
        ));
    };
    let text = String::from_utf8_lossy(&buf[..end]);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..1000).contains(s))
        .ok_or_else(|| not_rtsp(format!("malformed status line {status_line:?}")))?;
    let date = lines.find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("date")
            .then(|| value.trim().to_owned())
    });
    Ok(Head { status, date })
}

fn first_line(buf: &[u8]) -> String {
    let line = buf
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or(buf);
    String::from_utf8_lossy(&line[..line.len().min(80)]).into_owned()
}

/// The first bytes of a garbled answer, printable ones as text.
fn hex_preview(buf: &[u8]) -> String {
    buf.iter()
        .take(16)
        .map(|&b| {
            if b.is_ascii_graphic() {
                (b as char).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_rtsp_answer_gives_status_and_date() {
        let head = parse_head(
            b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\nDate: Mon, 23 Nov 2026 16:44:51 GMT\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            head,
            Head {
                status: 200,
                date: Some("Mon, 23 Nov 2026 16:44:51 GMT".into())
            }
        );
        let head = parse_head(b"RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\n\r\n").unwrap();
        assert_eq!(head.status, 401);
        assert_eq!(head.date, None);
    }

    #[test]
    fn http_and_noise_are_not_rtsp() {
        let err = parse_head(b"HTTP/1.1 400 Bad Request\r\n\r\n").unwrap_err();
        assert_eq!(err.outcome, ProbeOutcome::NotRtsp);
        assert!(err.detail.contains("HTTP"), "{}", err.detail);
        let err = parse_head(b"\x16\x03\x01garbage").unwrap_err();
        assert_eq!(err.outcome, ProbeOutcome::NotRtsp);
        assert!(err.detail.contains("\\x16"), "{}", err.detail);
        let err = parse_head(b"RTSP/1.0 abc\r\n\r\n").unwrap_err();
        assert_eq!(err.outcome, ProbeOutcome::NotRtsp);
    }

    #[test]
    fn a_cut_answer_is_a_protocol_error() {
        let err = parse_head(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n").unwrap_err();
        assert_eq!(err.outcome, ProbeOutcome::ProtocolError);
    }

    #[test]
    fn noise_is_recognised_from_its_first_byte() {
        assert!(could_be_rtsp(b""));
        assert!(could_be_rtsp(b"RTS"));
        assert!(could_be_rtsp(b"RTSP/1.0 200"));
        assert!(!could_be_rtsp(b"H"));
        assert!(!could_be_rtsp(b"RTX"));
    }

    #[test]
    fn connect_errors_are_sorted() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(
            connect_failure(addr, &refused).outcome,
            ProbeOutcome::Refused
        );
        let unreachable = io::Error::from_raw_os_error(101); // ENETUNREACH
        assert_eq!(
            connect_failure(addr, &unreachable).outcome,
            ProbeOutcome::Unreachable
        );
        let host = io::Error::from_raw_os_error(113); // EHOSTUNREACH
        assert_eq!(
            connect_failure(addr, &host).outcome,
            ProbeOutcome::Unreachable
        );
    }
}
