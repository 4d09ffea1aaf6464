//! What a camera probe reports (docs/probe.md). The server's `probe` module
//! produces a [`ProbeReport`]; the command line prints it, the scheduler
//! will store it and the app will show it, so the type lives here.
//!
//! An unreachable or misbehaving camera is not an error of ours: it is a
//! report whose [`ProbeOutcome`] says what went wrong, with every figure
//! that was measured before it did.

use serde::{Deserialize, Serialize};

use crate::Lang;

/// The one verdict of a probe. The wire names (`ok`, `auth_failed`, …) are
/// part of the command line's JSON and will be stored: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProbeOutcome {
    /// Connected, described, played, and the first key frame decoded (or,
    /// for H.265, received whole with its parameters).
    Ok,
    /// No route to the host, or its name does not resolve.
    Unreachable,
    /// The host answered the TCP connection attempt with a reset: nothing
    /// listens on that port.
    Refused,
    /// A step did not finish within its time limit: TCP connect, an RTSP
    /// request, the first key frame, or the probe as a whole.
    Timeout,
    /// The camera refused the user name and password (401/403), or asked
    /// for credentials that were not given.
    AuthFailed,
    /// Something answered, but not RTSP (an HTTP server, random bytes).
    NotRtsp,
    /// The RTSP session description has no H.264 or H.265 video stream.
    NoVideo,
    /// The first key frame arrived but the decoder rejected it.
    DecodeError,
    /// The camera speaks RTSP but the exchange failed: an error status
    /// such as 404, a malformed answer, or the connection closed mid-way.
    ProtocolError,
}

impl ProbeOutcome {
    pub const ALL: [ProbeOutcome; 9] = [
        ProbeOutcome::Ok,
        ProbeOutcome::Unreachable,
        ProbeOutcome::Refused,
        ProbeOutcome::Timeout,
        ProbeOutcome::AuthFailed,
        ProbeOutcome::NotRtsp,
        ProbeOutcome::NoVideo,
        ProbeOutcome::DecodeError,
        ProbeOutcome::ProtocolError,
    ];

    /// The wire name; a unit test keeps it equal to serde's.
    pub fn as_str(self) -> &'static str {
        self.texts().0
    }

    /// A short sentence for people, in the UI's language.
    pub fn title(self, lang: Lang) -> &'static str {
        let (_, tr, en) = self.texts();
        match lang {
            Lang::Tr => tr,
            Lang::En => en,
        }
    }

    fn texts(self) -> (&'static str, &'static str, &'static str) {
        use ProbeOutcome::*;
        match self {
            Ok => ("ok", "Görüntü alınıyor.", "The camera streams video."),
            Unreachable => (
                "unreachable",
                "Kameraya ulaşılamıyor (ağ yolu yok ya da ad çözülemedi).",
                "The camera cannot be reached (no route, or the name does not resolve).",
            ),
            Refused => (
                "refused",
                "Bağlantı reddedildi: bu portta RTSP servisi çalışmıyor.",
                "Connection refused: nothing listens on this port.",
            ),
            Timeout => (
                "timeout",
                "Kamera zamanında yanıt vermedi.",
                "The camera did not answer in time.",
            ),
            AuthFailed => (
                "auth_failed",
                "Kullanıcı adı veya şifre kabul edilmedi.",
                "The camera did not accept the user name or password.",
            ),
            NotRtsp => (
                "not_rtsp",
                "Bu adresteki servis RTSP konuşmuyor (port yanlış olabilir).",
                "The service at this address does not speak RTSP (wrong port?).",
            ),
            NoVideo => (
                "no_video",
                "Yayında okunabilir (H.264/H.265) görüntü yok.",
                "The stream has no readable (H.264/H.265) video.",
            ),
            DecodeError => (
                "decode_error",
                "Görüntü geldi ama çözülemedi.",
                "Video arrived but could not be decoded.",
            ),
            ProtocolError => (
                "protocol_error",
                "RTSP oturumu başarısız oldu.",
                "The RTSP session failed.",
            ),
        }
    }
}

impl std::fmt::Display for ProbeOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything one probe found out. Fields are `None` when the probe did not
/// get far enough to measure them (or, for `measured_fps` and
/// `bitrate_kbps`, when the measuring window was zero). The field names are
/// the keys of `gozcu probe --json`, exactly and only these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProbeReport {
    pub outcome: ProbeOutcome,
    /// `h264`, `h265`, or the SDP encoding name in lower case for a video
    /// codec the probe does not read.
    pub codec: Option<String>,
    /// The codec profile from the sequence parameter set, e.g. `High`.
    pub profile: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The frame rate the camera announces (SDP `a=framerate`, else the
    /// SPS timing information).
    pub declared_fps: Option<f64>,
    /// Frames per second from the RTP timestamps of the frames received in
    /// the measuring window.
    pub measured_fps: Option<f64>,
    /// Video payload received in the measuring window, in kbit/s.
    pub bitrate_kbps: Option<f64>,
    /// From the start of the probe to the first decoded key frame.
    pub first_frame_ms: Option<u64>,
    /// The round trip of the RTSP `OPTIONS` request.
    pub rtsp_rtt_ms: Option<f64>,
    /// Camera clock minus our clock: positive when the camera is ahead.
    pub clock_offset_ms: Option<i64>,
    /// What went wrong, in English, with the step it went wrong in; `None`
    /// when the outcome is `ok`.
    pub error: Option<String>,
}

impl ProbeReport {
    /// A report with only an outcome and an error; the prober fills in the
    /// figures it measured before the failure.
    pub fn new(outcome: ProbeOutcome) -> ProbeReport {
        ProbeReport {
            outcome,
            codec: None,
            profile: None,
            width: None,
            height: None,
            declared_fps: None,
            measured_fps: None,
            bitrate_kbps: None,
            first_frame_ms: None,
            rtsp_rtt_ms: None,
            clock_offset_ms: None,
            error: None,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.outcome == ProbeOutcome::Ok
    }
}

/// The name of an H.264 profile from `profile_idc` and the constraint flags
/// byte of the SPS (ITU-T H.264 Annex A).
pub fn h264_profile_name(profile_idc: u8, constraint_flags: u8) -> String {
    // constraint_set1_flag (0x40) on Baseline makes it Constrained Baseline;
    // constraint_set3_flag (0x10) on High profiles makes them Intra.
    let set1 = constraint_flags & 0x40 != 0;
    let set3 = constraint_flags & 0x10 != 0;
    let name = match profile_idc {
        66 if set1 => "Constrained Baseline",
        66 => "Baseline",
        77 => "Main",
        88 => "Extended",
        100 => "High",
        110 if set3 => "High 10 Intra",
        110 => "High 10",
        122 if set3 => "High 4:2:2 Intra",
        122 => "High 4:2:2",
        244 if set3 => "High 4:4:4 Intra",
        244 => "High 4:4:4 Predictive",
        44 => "CAVLC 4:4:4 Intra",
        118 => "Multiview High",
        128 => "Stereo High",
        other => return format!("profile {other}"),
    };
    name.to_owned()
}

/// The name of an H.265 profile from `general_profile_idc` (ITU-T H.265
/// Annex A).
pub fn h265_profile_name(profile_idc: u8) -> String {
    let name = match profile_idc {
        1 => "Main",
        2 => "Main 10",
        3 => "Main Still Picture",
        4 => "Range Extensions",
        5 => "High Throughput",
        9 => "Screen Content Coding",
        other => return format!("profile {other}"),
    };
    name.to_owned()
}

/// The profile named in an RFC 6381 codec string: `avc1.PPCCLL` (hex
/// profile, constraint flags, level) or `hvc1.[space]P.…` / `hev1.…`.
pub fn profile_from_rfc6381(codec: &str) -> Option<String> {
    let (kind, rest) = codec.split_once('.')?;
    match kind {
        "avc1" | "avc3" => {
            let hex = rest.get(..4)?;
            let profile = u8::from_str_radix(hex.get(..2)?, 16).ok()?;
            let flags = u8::from_str_radix(hex.get(2..4)?, 16).ok()?;
            Some(h264_profile_name(profile, flags))
        }
        "hvc1" | "hev1" => {
            let first = rest.split('.').next()?;
            // An optional profile space letter (A, B, C) precedes the number.
            let digits = first.trim_start_matches(['A', 'B', 'C']);
            Some(h265_profile_name(digits.parse().ok()?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde() {
        for outcome in ProbeOutcome::ALL {
            let json = serde_json::to_string(&outcome).unwrap();
            assert_eq!(json, format!("\"{}\"", outcome.as_str()));
            let back: ProbeOutcome = serde_json::from_str(&json).unwrap();
            assert_eq!(back, outcome);
            assert!(!outcome.title(Lang::Tr).is_empty());
            assert_ne!(outcome.title(Lang::Tr), outcome.title(Lang::En));
        }
    }

    #[test]
    fn report_json_has_exactly_the_documented_keys() {
        let json = serde_json::to_value(ProbeReport::new(ProbeOutcome::Timeout)).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "bitrate_kbps",
                "clock_offset_ms",
                "codec",
                "declared_fps",
                "error",
                "first_frame_ms",
                "height",
                "measured_fps",
                "outcome",
                "profile",
                "rtsp_rtt_ms",
                "width"
            ]
        );
        assert_eq!(json["outcome"], "timeout");
        assert!(json["codec"].is_null());
    }

    #[test]
    fn profiles_from_codec_strings() {
        let cases = [
            ("avc1.42C01E", Some("Constrained Baseline")),
            ("avc1.42001E", Some("Baseline")),
            ("avc1.4D401F", Some("Main")),
            ("avc1.640028", Some("High")),
            ("avc1.6E0028", Some("High 10")),
            ("avc1.F4101F", Some("High 4:4:4 Intra")),
            ("avc1.070028", Some("profile 7")),
            ("hvc1.1.6.L93.B0", Some("Main")),
            ("hev1.2.4.L120.90", Some("Main 10")),
            ("hvc1.A4.0.L93", Some("Range Extensions")),
            ("mp4a.40.2", None),
            ("avc1.6", None),
            ("avc1.ZZ0028", None),
            ("hvc1", None),
        ];
        for (codec, want) in cases {
            assert_eq!(profile_from_rfc6381(codec).as_deref(), want, "{codec}");
        }
    }
}
