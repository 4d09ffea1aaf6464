//! The QR codes printed on device labels.
//!
//! A label stays on a pole for years and anyone can photograph it, so the
//! code carries nothing but the device's id: no address of the server, no
//! token, no credential. The app resolves the id after the user has logged in.

use qrcode::{render::svg, EcLevel, QrCode};
use uuid::Uuid;

/// The scheme and path in front of the id. The app's scanner accepts only
/// strings that start with this.
pub const PAYLOAD_PREFIX: &str = "gozcu:device/";

/// What a device's QR code encodes: `gozcu:device/<uuid>`, the id in its
/// lowercase hyphenated form.
pub fn payload(device_id: Uuid) -> String {
    format!("{PAYLOAD_PREFIX}{}", device_id.as_hyphenated())
}

/// The device id in a scanned payload, if it is one of ours.
pub fn parse_payload(scanned: &str) -> Option<Uuid> {
    let id = scanned.strip_prefix(PAYLOAD_PREFIX)?;
    // Only the canonical form: a payload with anything appended (a query, a
    // braced or simple uuid) was not printed by us.
    let uuid = Uuid::try_parse(id).ok()?;
    (payload(uuid) == scanned).then_some(uuid)
}

/// The QR code of a payload. Error correction level M survives a scratched
/// or slightly dirty label and still fits a 50-character payload in a
/// 29 × 29 code, which prints sharply at 20 mm.
pub fn code(payload: &str) -> QrCode {
    // A payload of this length always fits a QR code (version 40 holds over
    // 2,000 bytes at level M); a failure here would be a bug in the caller.
    QrCode::with_error_correction_level(payload, EcLevel::M)
        .expect("a device payload always fits in a QR code")
}

/// The QR code as an SVG document, one unit per module with the four-module
/// quiet zone that scanners need, for typst to scale to the label.
pub fn svg(payload: &str) -> String {
    code(payload)
        .render::<svg::Color<'_>>()
        .module_dimensions(1, 1)
        .quiet_zone(true)
        .build()
}
