//! The probe's second connection, through retina: DESCRIBE (with basic or
//! digest authentication), SETUP of the video stream over interleaved TCP,
//! PLAY, and reading frames until the first key frame and through the
//! measuring window.

use std::time::{Duration, Instant};

use futures::StreamExt;
use gozcu_shared::probe::{profile_from_rfc6381, ProbeOutcome};
use retina::client::{
    Credentials, Demuxed, PlayOptions, Session, SessionOptions, SetupOptions, TcpTransportOptions,
    TeardownPolicy, Transport,
};
use retina::codec::{CodecItem, FrameFormat, ParametersRef, VideoFrame};

use super::measure::{self, WallAnchor, Window};
use super::{decode, secs, Failure, Found, ProbeOptions, ProbeTarget, Step};

/// Video codecs the probe reads. Others are reported by name as `no_video`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    H264,
    H265,
}

/// A described, set up and playing session with the index of its video
/// stream.
pub struct Playing {
    demuxed: Demuxed,
    stream: usize,
    codec: Codec,
    clock_rate: u32,
}

/// DESCRIBE, pick the video stream, SETUP and PLAY; fills `found` with what
/// the session description says.
pub async fn open(
    target: &ProbeTarget,
    options: &ProbeOptions,
    found: &mut Found,
    progress: &(dyn Fn(Step) + Send + Sync),
) -> Result<Playing, Failure> {
    let mut session_options = SessionOptions::default()
        .user_agent(super::USER_AGENT.to_owned())
        // One TEARDOWN on the open connection when the probe ends, then
        // the connection is closed: cameras have few session slots.
        .teardown(TeardownPolicy::Auto);
    let has_creds = target.user().is_some();
    if let Some(user) = target.user() {
        session_options = session_options.creds(Some(Credentials {
            username: user.to_owned(),
            password: target
                .password()
                .map(|p| p.expose().to_owned())
                .unwrap_or_default(),
        }));
    }
    progress(Step::Describe);
    let mut session = timed(
        options.request_timeout,
        Step::Describe,
        Session::describe(target.url().clone(), session_options),
        has_creds,
    )
    .await?;

    let streams = session.streams();
    let Some(index) = streams.iter().position(|s| s.media() == "video") else {
        let offered: Vec<String> = streams
            .iter()
            .map(|s| format!("{} {}", s.media(), s.encoding_name()))
            .collect();
        return Err(Failure::new(
            ProbeOutcome::NoVideo,
            Step::Describe,
            if offered.is_empty() {
                "the session description has no streams".to_owned()
            } else {
                format!("the camera offers no video, only: {}", offered.join(", "))
            },
        ));
    };
    let stream = &streams[index];
    let encoding = stream.encoding_name().to_ascii_lowercase();
    found.codec = Some(encoding.clone());
    let codec = match encoding.as_str() {
        "h264" => Codec::H264,
        "h265" => Codec::H265,
        other => {
            return Err(Failure::new(
                ProbeOutcome::NoVideo,
                Step::Describe,
                format!(
                "the video stream is {other}, which the probe does not read (only H.264 and H.265)"
            ),
            ))
        }
    };
    found.declared_fps = stream
        .framerate()
        .filter(|f| f.is_finite() && *f > 0.0)
        .map(|f| measure::round(f64::from(f), 2));
    let clock_rate = stream.clock_rate_hz();
    note_parameters(stream.parameters(), found);

    progress(Step::Setup);
    timed(
        options.request_timeout,
        Step::Setup,
        session.setup(
            index,
            SetupOptions::default()
                .transport(Transport::Tcp(TcpTransportOptions::default()))
                .frame_format(FrameFormat::SIMPLE),
        ),
        has_creds,
    )
    .await?;
    progress(Step::Play);
    let playing = timed(
        options.request_timeout,
        Step::Play,
        session.play(PlayOptions::default()),
        has_creds,
    )
    .await?;
    let demuxed = playing
        .demuxed()
        .map_err(|e| retina_failure(&e, Step::Play, has_creds))?;
    Ok(Playing {
        demuxed,
        stream: index,
        codec,
        clock_rate,
    })
}

impl Playing {
    /// Reads until the first key frame, decodes it (H.264), then counts
    /// frames for `options.window`. Sender reports seen on the way set the
    /// clock offset.
    pub async fn read(
        mut self,
        options: &ProbeOptions,
        started: Instant,
        anchor: &WallAnchor,
        found: &mut Found,
        progress: &(dyn Fn(Step) + Send + Sync),
    ) -> Result<(), Failure> {
        progress(Step::FirstFrame);
        let deadline = tokio::time::Instant::now() + options.first_frame_timeout;
        let key = loop {
            let item = tokio::time::timeout_at(deadline, self.demuxed.next())
                .await
                .map_err(|_| {
                    Failure::new(
                        ProbeOutcome::Timeout,
                        Step::FirstFrame,
                        format!(
                            "no key frame within {} of PLAY",
                            secs(options.first_frame_timeout)
                        ),
                    )
                })?;
            match self.item(item, Step::FirstFrame, anchor, found)? {
                Some(frame) if frame.is_random_access_point() => break frame,
                _ => continue,
            }
        };
        let window_start = Instant::now();
        self.note_stream_parameters(found);
        match self.codec {
            Codec::H264 => {
                progress(Step::Decode);
                let data = key.data().to_vec();
                let decoded = tokio::task::spawn_blocking(move || decode::h264_key_frame(&data))
                    .await
                    .map_err(|e| {
                        Failure::new(
                            ProbeOutcome::DecodeError,
                            Step::Decode,
                            format!("the decoder stopped: {e}"),
                        )
                    })?
                    .map_err(|e| Failure::new(ProbeOutcome::DecodeError, Step::Decode, e))?;
                found.first_frame_ms = Some(started.elapsed().as_millis() as u64);
                found.width = Some(decoded.width);
                found.height = Some(decoded.height);
            }
            // No H.265 decoder is built in: the complete key frame with its
            // parameter sets is what the probe can vouch for.
            Codec::H265 => {}
        }

        if options.window.is_zero() {
            return Ok(());
        }
        progress(Step::Measure);
        let mut window = Window::new(self.clock_rate);
        window.add(key.timestamp().timestamp(), key.data().len());
        let end = tokio::time::Instant::from_std(window_start + options.window);
        let result = loop {
            let Ok(item) = tokio::time::timeout_at(end, self.demuxed.next()).await else {
                break Ok(());
            };
            match self.item(item, Step::Measure, anchor, found) {
                Ok(Some(frame)) => window.add(frame.timestamp().timestamp(), frame.data().len()),
                Ok(None) => {}
                Err(mut failure) => {
                    failure.detail = format!(
                        "{} ({} ms into the measuring window)",
                        failure.detail,
                        window_start.elapsed().as_millis()
                    );
                    break Err(failure);
                }
            }
        };
        // What was measured before a failure is still worth reporting.
        let elapsed = window_start.elapsed().min(options.window);
        found.measured_fps = window.fps();
        found.bitrate_kbps = window.kbps(elapsed);
        self.note_stream_parameters(found);
        result
    }

    /// One item from the stream: a video frame of our stream is returned,
    /// a sender report noted, anything else skipped.
    fn item(
        &self,
        item: Option<Result<CodecItem, retina::Error>>,
        step: Step,
        anchor: &WallAnchor,
        found: &mut Found,
    ) -> Result<Option<VideoFrame>, Failure> {
        match item {
            None => Err(Failure::new(
                ProbeOutcome::ProtocolError,
                step,
                "the camera closed the connection".to_owned(),
            )),
            Some(Err(e)) => Err(retina_failure(&e, step, false)),
            Some(Ok(CodecItem::VideoFrame(frame))) if frame.stream_id() == self.stream => {
                Ok(Some(frame))
            }
            Some(Ok(CodecItem::Rtcp(rtcp))) => {
                for packet in rtcp.pkts() {
                    if let Ok(Some(sr)) = packet.as_sender_report() {
                        let rtt =
                            Duration::from_secs_f64(found.rtsp_rtt_ms.unwrap_or(0.0) / 1000.0);
                        if let Some(offset) = measure::offset_from_sender_report(
                            sr.ntp_timestamp().0,
                            anchor,
                            rtcp.ctx().received(),
                            rtt,
                        ) {
                            found.sender_report_offset_ms = Some(offset);
                        }
                    }
                }
                Ok(None)
            }
            Some(Ok(_)) => Ok(None),
        }
    }

    fn note_stream_parameters(&self, found: &mut Found) {
        if let Some(stream) = self.demuxed.streams().get(self.stream) {
            note_parameters(stream.parameters(), found);
        }
    }
}

/// Profile, size and declared rate from the codec parameters, when known.
/// A size already taken from a decoded picture is kept: it is what the
/// camera really sends.
fn note_parameters(parameters: Option<ParametersRef<'_>>, found: &mut Found) {
    let Some(ParametersRef::Video(video)) = parameters else {
        return;
    };
    found.profile = profile_from_rfc6381(video.rfc6381_codec()).or(found.profile.take());
    if found.first_frame_ms.is_none() {
        let (w, h) = video.pixel_dimensions();
        found.width = Some(w);
        found.height = Some(h);
    }
    if found.declared_fps.is_none() {
        // retina gives the frame duration as (numerator, denominator) in
        // seconds, so the rate is their inverse.
        found.declared_fps = video
            .frame_rate()
            .filter(|(num, den)| *num > 0 && *den > 0)
            .map(|(num, den)| measure::round(f64::from(den) / f64::from(num), 2));
    }
}

/// Runs one request with its time limit and sorts its failure.
async fn timed<T>(
    limit: Duration,
    step: Step,
    request: impl std::future::Future<Output = Result<T, retina::Error>>,
    has_creds: bool,
) -> Result<T, Failure> {
    match tokio::time::timeout(limit, request).await {
        Err(_) => Err(Failure::new(
            ProbeOutcome::Timeout,
            step,
            format!("no answer within {}", secs(limit)),
        )),
        Ok(Err(e)) => Err(retina_failure(&e, step, has_creds)),
        Ok(Ok(v)) => Ok(v),
    }
}

/// Sorts a retina error into an outcome. Retina's errors are opaque except
/// for the RTSP status, so the rest goes by the kind of message; the first
/// line of the message is kept (the following lines are connection
/// context, addresses and byte positions).
fn retina_failure(e: &retina::Error, step: Step, has_creds: bool) -> Failure {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default().to_owned();
    classify(e.status_code(), &first, step, has_creds)
}

fn classify(status: Option<u16>, first_line: &str, step: Step, has_creds: bool) -> Failure {
    let (outcome, detail) = match status {
        Some(401) if has_creds => (
            ProbeOutcome::AuthFailed,
            "the camera refused the user name or password (401 Unauthorized)".to_owned(),
        ),
        Some(401) => (
            ProbeOutcome::AuthFailed,
            "the camera asks for a user name and password (401 Unauthorized): give --user and the password".to_owned(),
        ),
        Some(403) => (
            ProbeOutcome::AuthFailed,
            "the camera does not let this user watch the stream (403 Forbidden)".to_owned(),
        ),
        Some(404) => (
            ProbeOutcome::ProtocolError,
            "the camera has no stream at this path (404 Not Found)".to_owned(),
        ),
        Some(status) => (
            ProbeOutcome::ProtocolError,
            format!("the camera answered with status {status}: {first_line}"),
        ),
        None if first_line.starts_with("Unable to connect") => {
            // Only possible when the camera went away between the probe's
            // first connection and retina's.
            if first_line.contains("refused") {
                (ProbeOutcome::Refused, first_line.to_owned())
            } else {
                (ProbeOutcome::Unreachable, first_line.to_owned())
            }
        }
        None => (ProbeOutcome::ProtocolError, first_line.to_owned()),
    };
    Failure::new(outcome, step, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_sorted() {
        let c = |status, creds| classify(status, "x", Step::Describe, creds).outcome;
        assert_eq!(c(Some(401), true), ProbeOutcome::AuthFailed);
        assert_eq!(c(Some(401), false), ProbeOutcome::AuthFailed);
        assert_eq!(c(Some(403), true), ProbeOutcome::AuthFailed);
        assert_eq!(c(Some(404), true), ProbeOutcome::ProtocolError);
        assert_eq!(c(Some(454), true), ProbeOutcome::ProtocolError);
        assert_eq!(c(Some(500), false), ProbeOutcome::ProtocolError);
        assert_eq!(c(None, false), ProbeOutcome::ProtocolError);
        let missing = classify(Some(401), "", Step::Describe, false);
        assert!(missing.detail.contains("--user"), "{}", missing.detail);
    }

    #[test]
    fn a_connect_failure_inside_retina_keeps_its_kind() {
        let refused = classify(
            None,
            "Unable to connect to RTSP server: Connection refused (os error 111)",
            Step::Describe,
            false,
        );
        assert_eq!(refused.outcome, ProbeOutcome::Refused);
        let other = classify(
            None,
            "Unable to connect to RTSP server: Network is unreachable (os error 101)",
            Step::Describe,
            false,
        );
        assert_eq!(other.outcome, ProbeOutcome::Unreachable);
    }
}
