//! Photos taken on site: content-addressed by SHA-256 and uploaded in chunks
//! that survive a dropped connection (docs/photos.md).
//!
//! What the server and the app must agree on lives here: the shape of a
//! photo's hash, the image types accepted and how they are recognised from
//! their first bytes, the largest chunk one request may carry, and the
//! bodies of the upload protocol. Everything is pure, so the app can check a
//! photo with the same rules before it queues the upload. [`exif`] reads
//! when a photo was taken from its camera's metadata.

pub mod exif;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The most bytes one `PATCH` may carry. Small enough that a chunk lost on a
/// weak link costs little, large enough that a 10 MB photo needs only a few
/// requests. The server answers 413 above it.
pub const MAX_CHUNK_BYTES: u64 = 4 * 1024 * 1024;

/// Bytes needed to recognise every accepted type (WebP's `RIFF....WEBP`).
pub const SNIFF_BYTES: usize = 12;

/// A photo's identity: the SHA-256 of its bytes as exactly 64 lowercase hex
/// digits. Only this spelling is accepted, so one photo has one name and a
/// hash can be used as a file name without any path tricks getting through.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhotoHash(String);

impl PhotoHash {
    pub fn parse(s: &str) -> Option<PhotoHash> {
        let ok = s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| PhotoHash(s.to_owned()))
    }

    /// The hash of some bytes.
    pub fn of(bytes: &[u8]) -> PhotoHash {
        PhotoHash(hex::encode(Sha256::digest(bytes)))
    }

    /// The hash a finished [`Sha256`] computed, for callers that hash as
    /// they read.
    pub fn from_digest(hasher: Sha256) -> PhotoHash {
        PhotoHash(hex::encode(hasher.finalize()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PhotoHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PhotoHash {
    type Error = &'static str;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PhotoHash::parse(&s).ok_or("a photo hash is 64 lowercase hex digits")
    }
}

impl From<PhotoHash> for String {
    fn from(h: PhotoHash) -> String {
        h.0
    }
}

/// The image types a photo may have. Browsers show all three; cameras and
/// phones produce the first, screenshots the second, re-encoders the third.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhotoType {
    Jpeg,
    Png,
    Webp,
}

impl PhotoType {
    pub const ALL: [PhotoType; 3] = [PhotoType::Jpeg, PhotoType::Png, PhotoType::Webp];

    pub fn mime(self) -> &'static str {
        match self {
            PhotoType::Jpeg => "image/jpeg",
            PhotoType::Png => "image/png",
            PhotoType::Webp => "image/webp",
        }
    }

    /// Reads a declared `Content-Type`; parameters and case are ignored
    /// (`image/JPEG; charset=x` is a JPEG), `image/jpg` is accepted because
    /// some Android galleries send it.
    pub fn from_mime(s: &str) -> Option<PhotoType> {
        let essence = s
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "image/jpeg" | "image/jpg" => Some(PhotoType::Jpeg),
            "image/png" => Some(PhotoType::Png),
            "image/webp" => Some(PhotoType::Webp),
            _ => None,
        }
    }

    /// Recognises a type from the first bytes of a file ("magic numbers");
    /// `None` when they belong to none of the accepted types or are fewer
    /// than the type needs.
    pub fn sniff(head: &[u8]) -> Option<PhotoType> {
        if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(PhotoType::Jpeg)
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(PhotoType::Png)
        } else if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Some(PhotoType::Webp)
        } else {
            None
        }
    }

    /// Width and height in pixels as stored (before any EXIF rotation),
    /// read from the start of the file; `None` when the header is not where
    /// the format puts it or `head` is too short. Never panics on hostile
    /// bytes: every read is bounds-checked.
    pub fn dimensions(self, head: &[u8]) -> Option<(u32, u32)> {
        let dims = match self {
            PhotoType::Jpeg => jpeg_dimensions(head),
            PhotoType::Png => png_dimensions(head),
            PhotoType::Webp => webp_dimensions(head),
        }?;
        (dims.0 > 0 && dims.1 > 0).then_some(dims)
    }
}

impl std::fmt::Display for PhotoType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.mime())
    }
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_le_bytes(
        b.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn le24(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 3)?;
    Some(u32::from(s[0]) | u32::from(s[1]) << 8 | u32::from(s[2]) << 16)
}

/// Walks the marker segments up to the first start-of-frame, which holds the
/// size; EXIF blocks (with their thumbnails) come before it.
fn jpeg_dimensions(b: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    loop {
        if *b.get(i)? != 0xFF {
            return None;
        }
        // Any number of 0xFF fill bytes may precede a marker.
        while *b.get(i)? == 0xFF {
            i += 1;
        }
        let marker = *b.get(i)?;
        i += 1;
        match marker {
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            // End of image or start of scan before any frame header.
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let len = be16(b, i)? as usize;
        if len < 2 {
            return None;
        }
        // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share
        // the range but are not frame headers.
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            let height = be16(b, i + 3)?;
            let width = be16(b, i + 5)?;
            return Some((width, height));
        }
        i += len;
    }
}

fn png_dimensions(b: &[u8]) -> Option<(u32, u32)> {
    if b.get(12..16)? != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(b.get(16..20)?.try_into().ok()?);
    let h = u32::from_be_bytes(b.get(20..24)?.try_into().ok()?);
    Some((w, h))
}

fn webp_dimensions(b: &[u8]) -> Option<(u32, u32)> {
    match b.get(12..16)? {
        // Lossy: a key frame starts with 3 tag bytes and the start code.
        b"VP8 " => {
            if b.get(23..26)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            Some((le16(b, 26)? & 0x3FFF, le16(b, 28)? & 0x3FFF))
        }
        // Lossless: a signature byte, then 14 bits each of width-1, height-1.
        b"VP8L" => {
            if *b.get(20)? != 0x2F {
                return None;
            }
            let bits = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        // Extended: the canvas size, 24 bits each of width-1, height-1.
        b"VP8X" => Some((le24(b, 24)? + 1, le24(b, 27)? + 1)),
        _ => None,
    }
}

/// `POST /api/v1/photos`: announce an upload (or ask to continue one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoUploadRequest {
    /// SHA-256 of the whole file, 64 lowercase hex digits.
    pub sha256: String,
    /// The file's size in bytes.
    pub size: u64,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: String,
}

/// Where an upload stands; the answer of every upload call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoUploadStatus {
    pub sha256: String,
    /// Bytes the server holds: the next chunk starts here.
    pub offset: u64,
    pub size: u64,
    /// The photo is stored and verified; nothing more to send.
    pub complete: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lowercase_hex_of_the_right_length_is_a_hash() {
        let good = PhotoHash::of(b"photo");
        assert_eq!(PhotoHash::parse(good.as_str()), Some(good.clone()));
        for bad in [
            "",
            &good.as_str()[..63],
            &format!("{good}0"),
            &good.as_str().to_uppercase(),
            "../../../../../../../../../../../../../../../../../../etc/passwd",
            &format!("{}/{}", &good.as_str()[..31], &good.as_str()[32..]),
            &"g".repeat(64),
        ] {
            assert_eq!(PhotoHash::parse(bad), None, "{bad}");
        }
        assert!(serde_json::from_str::<PhotoHash>("\"ABC\"").is_err());
        assert_eq!(serde_json::to_string(&good).unwrap(), format!("\"{good}\""));
    }

    #[test]
    fn mime_types_round_trip_and_sniff() {
        for t in PhotoType::ALL {
            assert_eq!(PhotoType::from_mime(t.mime()), Some(t));
        }
        assert_eq!(
            PhotoType::from_mime(" Image/JPG ; q=1"),
            Some(PhotoType::Jpeg)
        );
        assert_eq!(PhotoType::from_mime("image/svg+xml"), None);
        assert_eq!(PhotoType::from_mime("text/html"), None);
        assert_eq!(
            PhotoType::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Some(PhotoType::Jpeg)
        );
        assert_eq!(
            PhotoType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(PhotoType::Png)
        );
        assert_eq!(
            PhotoType::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(PhotoType::Webp)
        );
        assert_eq!(PhotoType::sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(PhotoType::sniff(b"<svg"), None);
        assert_eq!(PhotoType::sniff(&[0xFF, 0xD8]), None);
    }

    #[test]
    fn dimensions_of_each_format() {
        // A JPEG with an APP0 segment before its baseline frame header.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB];
        jpeg.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08, 0x01, 0xE0, 0x02, 0x80, 0x03]);
        assert_eq!(PhotoType::Jpeg.dimensions(&jpeg), Some((640, 480)));
        // A Huffman table (C4) is not a frame header.
        let mut dht = vec![0xFF, 0xD8, 0xFF, 0xC4, 0x00, 0x04, 0x00, 0x00];
        dht.extend_from_slice(&[0xFF, 0xC2, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x20]);
        assert_eq!(PhotoType::Jpeg.dimensions(&dht), Some((32, 16)));

        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&1920u32.to_be_bytes());
        png.extend_from_slice(&1080u32.to_be_bytes());
        assert_eq!(PhotoType::Png.dimensions(&png), Some((1920, 1080)));

        let mut vp8 = b"RIFF\0\0\0\0WEBPVP8 \0\0\0\0\x10\x02\x00\x9d\x01\x2a".to_vec();
        vp8.extend_from_slice(&800u16.to_le_bytes());
        vp8.extend_from_slice(&600u16.to_le_bytes());
        assert_eq!(PhotoType::Webp.dimensions(&vp8), Some((800, 600)));
        let mut vp8l = b"RIFF\0\0\0\0WEBPVP8L\0\0\0\0\x2f".to_vec();
        vp8l.extend_from_slice(&((99u32) | (49u32 << 14)).to_le_bytes());
        assert_eq!(PhotoType::Webp.dimensions(&vp8l), Some((100, 50)));
        let mut vp8x = b"RIFF\0\0\0\0WEBPVP8X\0\0\0\0\0\0\0\0".to_vec();
        vp8x.extend_from_slice(&[0x3F, 0x1F, 0x00, 0x9F, 0x0F, 0x00]);
        assert_eq!(PhotoType::Webp.dimensions(&vp8x), Some((8000, 4000)));
    }

    #[test]
    fn hostile_headers_give_none_not_a_panic() {
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        for len in 0..300 {
            for t in PhotoType::ALL {
                let mut b: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed as u8
                    })
                    .collect();
                // Give each format its magic so the walk gets past the start.
                match t {
                    PhotoType::Jpeg if len >= 3 => b[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]),
                    PhotoType::Webp if len >= 16 => b[12..16].copy_from_slice(b"VP8X"),
                    _ => {}
                }
                let _ = t.dimensions(&b);
            }
        }
        // A segment length that points past the end, and one of zero.
        assert_eq!(
            PhotoType::Jpeg.dimensions(&[0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF]),
            None
        );
        assert_eq!(
            PhotoType::Jpeg.dimensions(&[0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x00]),
            None
        );
    }
}
