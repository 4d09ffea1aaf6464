//! The arithmetic of a probe, apart from any I/O so it can be tested with
//! made-up numbers: frame rate and bitrate over the measuring window, and
//! the camera's clock offset from an RTCP sender report or a `Date` header.

use std::time::{Duration, Instant};

/// Seconds from 1900 (NTP's epoch) to 1970 (Unix's).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// Frames seen in the measuring window.
#[derive(Debug, Default, Clone)]
pub struct Window {
    frames: u64,
    bytes: u64,
    /// Lowest and highest RTP timestamp (in clock-rate units, extended so
    /// they do not wrap) of the frames counted.
    ts_min: Option<i64>,
    ts_max: Option<i64>,
    clock_rate: u32,
}

impl Window {
    pub fn new(clock_rate: u32) -> Window {
        Window {
            clock_rate,
            ..Window::default()
        }
    }

    /// Counts one frame of `bytes` with RTP timestamp `ts`.
    pub fn add(&mut self, ts: i64, bytes: usize) {
        self.frames += 1;
        self.bytes += bytes as u64;
        self.ts_min = Some(self.ts_min.map_or(ts, |m| m.min(ts)));
        self.ts_max = Some(self.ts_max.map_or(ts, |m| m.max(ts)));
    }

    /// Frames per second from the RTP timestamps: the camera stamps each
    /// frame with its capture time, so this is its real rate, whatever
    /// bunching the network adds. Needs two frames with different times.
    pub fn fps(&self) -> Option<f64> {
        let span = self.ts_max? - self.ts_min?;
        if self.frames < 2 || span <= 0 || self.clock_rate == 0 {
            return None;
        }
        let secs = span as f64 / f64::from(self.clock_rate);
        Some(round((self.frames - 1) as f64 / secs, 2))
    }

    /// kbit/s of video payload over `elapsed` of wall time.
    pub fn kbps(&self, elapsed: Duration) -> Option<f64> {
        let secs = elapsed.as_secs_f64();
        (secs > 0.0).then(|| round(self.bytes as f64 * 8.0 / secs / 1000.0, 1))
    }
}

/// Our wall clock, read once when the probe starts and carried forward with
/// the monotonic clock, so that every time the probe needs is on one line
/// and the system time is read in one place (the server's `Clock`).
#[derive(Debug, Clone, Copy)]
pub struct WallAnchor {
    pub instant: Instant,
    pub unix_ms: i64,
}

impl WallAnchor {
    /// Our Unix time in milliseconds (fractional) at `at`.
    pub fn unix_ms_at(&self, at: Instant) -> f64 {
        let delta = if at >= self.instant {
            (at - self.instant).as_secs_f64()
        } else {
            -(self.instant - at).as_secs_f64()
        };
        self.unix_ms as f64 + delta * 1000.0
    }
}

/// The clock offset from a `Date` header, which has whole seconds: the
/// camera's time lies anywhere in the second it names, so its middle
/// (+500 ms) is compared with the middle of our request/response round
/// trip. The result is within ±500 ms of the truth plus half the round
/// trip's asymmetry.
pub fn offset_from_date(
    date: &str,
    anchor: &WallAnchor,
    sent: Instant,
    received: Instant,
) -> Option<i64> {
    let camera_ms = parse_http_date(date)? as f64 * 1000.0 + 500.0;
    let ours = (anchor.unix_ms_at(sent) + anchor.unix_ms_at(received)) / 2.0;
    Some((camera_ms - ours).round() as i64)
}

/// The clock offset from an RTCP sender report: the camera wrote its NTP
/// time into the report when it sent it, which is half a round trip before
/// we read it.
pub fn offset_from_sender_report(
    ntp: u64,
    anchor: &WallAnchor,
    received: Instant,
    rtt: Duration,
) -> Option<i64> {
    let camera_ms = ntp_to_unix_ms(ntp)?;
    let sent_ours = anchor.unix_ms_at(received) - rtt.as_secs_f64() * 1000.0 / 2.0;
    Some((camera_ms - sent_ours).round() as i64)
}

/// A 64-bit NTP timestamp (32.32 fixed point seconds since 1900) as Unix
/// milliseconds; `None` for the zero "unknown" value and times before 1970.
pub fn ntp_to_unix_ms(ntp: u64) -> Option<f64> {
    let secs = ntp >> 32;
    if ntp == 0 || secs < NTP_UNIX_OFFSET_SECS {
        return None;
    }
    let frac = (ntp & 0xFFFF_FFFF) as f64 / 4_294_967_296.0;
    Some(((secs - NTP_UNIX_OFFSET_SECS) as f64 + frac) * 1000.0)
}

/// Parses the RFC 1123 date of RTSP and HTTP headers
/// (`Mon, 23 Nov 2026 16:44:51 GMT`; the weekday is optional and not
/// checked) into Unix seconds.
pub fn parse_http_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s.split_once(',').map_or(s, |(_, rest)| rest).trim();
    let mut parts = s.split_whitespace();
    let day: u32 = parts.next()?.parse().ok()?;
    let month = match parts.next()?.to_ascii_lowercase().as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: i64 = hms.next()?.parse().ok()?;
    let m: i64 = hms.next()?.parse().ok()?;
    let sec: i64 = hms.next()?.parse().ok()?;
    // Cameras write GMT or UTC; anything else (or nothing) is read as UTC
    // too, because a zone name cannot be trusted more than the time itself.
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 || !(1970..=9999).contains(&year) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let d = i64::from(d);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `x` rounded to `places` decimals, for figures people read.
pub fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fps_comes_from_rtp_timestamps() {
        // 25 frames at 25 fps on a 90 kHz clock, arriving in any order.
        let mut w = Window::new(90_000);
        for i in (0..25).rev() {
            w.add(1_000_000 + i * 3600, 1000);
        }
        assert_eq!(w.fps(), Some(25.0));
        assert_eq!(w.frames, 25);
        // 25,000 bytes in 2 s is 100 kbit/s.
        assert_eq!(w.kbps(Duration::from_secs(2)), Some(100.0));
        // A dropped frame shows as a lower rate.
        let mut w = Window::new(90_000);
        for i in [0, 1, 2, 4, 5] {
            w.add(i * 18_000, 10);
        }
        assert_eq!(w.fps(), Some(4.0));
    }

    #[test]
    fn too_few_frames_have_no_rate() {
        let mut w = Window::new(90_000);
        assert_eq!(w.fps(), None);
        w.add(5, 100);
        assert_eq!(w.fps(), None);
        w.add(5, 100);
        assert_eq!(w.fps(), None, "two frames at one instant");
        assert_eq!(w.kbps(Duration::ZERO), None);
    }

    #[test]
    fn http_dates() {
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Mon, 23 Nov 2026 16:44:51 GMT"),
            Some(1_795_452_291)
        );
        assert_eq!(
            parse_http_date("29 Feb 2024 12:00:00 UTC"),
            Some(1_709_208_000)
        );
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        for bad in [
            "",
            "yesterday",
            "Mon, 32 Nov 2026 16:44:51 GMT",
            "Mon, 23 Foo 2026 16:44:51 GMT",
            "Mon, 23 Nov 2026 25:00:00 GMT",
            "Mon, 23 Nov 2026",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn offsets_from_date_and_sender_reports() {
        let now = Instant::now();
        let anchor = WallAnchor {
            instant: now,
            unix_ms: 1_795_452_291_000,
        };
        // The camera says 16:44:51 (its middle is …51.5) while our round
        // trip was centred on …51.200: the camera is 300 ms ahead.
        let sent = now + Duration::from_millis(150);
        let received = now + Duration::from_millis(250);
        assert_eq!(
            offset_from_date("Mon, 23 Nov 2026 16:44:51 GMT", &anchor, sent, received),
            Some(300)
        );
        // A camera ten seconds behind.
        assert_eq!(
            offset_from_date("Mon, 23 Nov 2026 16:44:41 GMT", &anchor, sent, received),
            Some(-9_700)
        );
        assert_eq!(offset_from_date("garbage", &anchor, sent, received), None);

        // An SR stamped 1 s after our anchor, received 1.010 s after it
        // over a 20 ms round trip: the clocks agree.
        let ntp_secs = 1_795_452_291 + NTP_UNIX_OFFSET_SECS + 1;
        let ntp = ntp_secs << 32;
        assert_eq!(
            offset_from_sender_report(
                ntp,
                &anchor,
                now + Duration::from_millis(1010),
                Duration::from_millis(20)
            ),
            Some(0)
        );
        // Half a second in the fraction.
        let ntp = (ntp_secs << 32) | 0x8000_0000;
        assert_eq!(
            offset_from_sender_report(
                ntp,
                &anchor,
                now + Duration::from_millis(1000),
                Duration::ZERO
            ),
            Some(500)
        );
        assert_eq!(
            offset_from_sender_report(0, &anchor, now, Duration::ZERO),
            None
        );
    }

    #[test]
    fn the_anchor_runs_both_ways() {
        let now = Instant::now();
        let anchor = WallAnchor {
            instant: now + Duration::from_secs(1),
            unix_ms: 10_000,
        };
        assert_eq!(anchor.unix_ms_at(now), 9_000.0);
        assert_eq!(anchor.unix_ms_at(now + Duration::from_secs(3)), 12_000.0);
    }
}
