//! The QR reader the app ships, run natively: `rqrr` with the compact
//! Galois-field arithmetic of `patches/g2p`. A clean label needs no error
//! correction, so the browser test alone would never run that arithmetic;
//! here labels with scratched modules must still read, which only the
//! Reed-Solomon decoder (syndromes, Berlekamp-Massey, Forney's division)
//! can achieve.

use qrcode::{Color, EcLevel, QrCode};

/// The label of a device id as the app's scan page would see it: modules
/// of `scale` pixels, a quiet zone of four modules, `flip` modules
/// inverted.
fn read(payload: &str, level: EcLevel, flip: &[(usize, usize)]) -> Option<String> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), level).ok()?;
    let n = code.width();
    let mut dark: Vec<bool> = code.to_colors().iter().map(|c| *c == Color::Dark).collect();
    for &(x, y) in flip {
        dark[y * n + x] = !dark[y * n + x];
    }
    let (scale, quiet) = (6, 4);
    let side = (n + 2 * quiet) * scale;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        let inside = (quiet..quiet + n).contains(&mx) && (quiet..quiet + n).contains(&my);
        if inside && dark[(my - quiet) * n + (mx - quiet)] {
            0
        } else {
            255
        }
    });
    let grids = img.detect_grids();
    grids
        .first()
        .and_then(|g| g.decode().ok())
        .map(|(_, content)| content)
}

#[test]
fn labels_read_clean_and_scratched() {
    let payload = "gozcu:device/0190d6c6-1234-7abc-8def-0123456789ab";
    assert_eq!(read(payload, EcLevel::M, &[]).as_deref(), Some(payload));
    // Scratches in the data area, away from the finder, timing and
    // alignment patterns: each flipped module spoils one codeword, which
    // level H corrects up to about 30 % of.
    let scratches: Vec<(usize, usize)> = (0..8).map(|i| (10 + i, 10 + (i * 3) % 7)).collect();
    assert_eq!(
        read(payload, EcLevel::H, &scratches).as_deref(),
        Some(payload)
    );
    // Far more damage than any level corrects is refused, not misread.
    let ruined: Vec<(usize, usize)> = (9..20).flat_map(|x| (9..20).map(move |y| (x, y))).collect();
    assert_eq!(read(payload, EcLevel::L, &ruined), None);
}
