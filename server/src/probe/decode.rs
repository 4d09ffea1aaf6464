//! Decoding the first key frame: the proof that what the camera sends is a
//! picture and not just packets. H.264 through OpenH264 (built from source
//! inside the `openh264` crate).

/// The size of the decoded picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    pub width: u32,
    pub height: u32,
}

/// Decodes one H.264 access unit in Annex B form with its SPS and PPS in
/// front (retina's `FrameFormat::SIMPLE` puts them there on key frames).
/// A fresh decoder each time: a probe decodes exactly one frame, and a
/// decoder that has seen nothing before is the honest test of a key frame.
pub fn h264_key_frame(annex_b: &[u8]) -> Result<Decoded, String> {
    let mut decoder = openh264::decoder::Decoder::new()
        .map_err(|e| format!("cannot start the H.264 decoder ({})", state_names(&e)))?;
    let rejected = |e: openh264::Error| {
        format!(
            "the H.264 decoder rejected the key frame ({})",
            state_names(&e)
        )
    };
    match decoder.decode(annex_b) {
        Ok(Some(picture)) => Ok(dimensions(&picture)),
        Ok(None) => {
            // The decoder may hold the picture back until told that no more
            // data is coming.
            let rest = decoder.flush_remaining().map_err(rejected)?;
            rest.first().map(dimensions).ok_or_else(|| {
                "the H.264 decoder produced no picture from the key frame".to_owned()
            })
        }
        Err(e) => Err(rejected(e)),
    }
}

/// OpenH264's decoding state bits (`DECODING_STATE` in its `codec_def.h`)
/// as words; its own message is a debugging dump.
fn state_names(e: &openh264::Error) -> String {
    const NAMES: [(i64, &str); 11] = [
        (0x01, "frame pending"),
        (0x02, "reference lost"),
        (0x04, "bitstream error"),
        (0x08, "dependent layer lost"),
        (
            0x10,
            "no usable parameter sets (unsupported profile or damaged SPS/PPS)",
        ),
        (0x20, "data error concealed"),
        (0x40, "reference list empty"),
        (0x1000, "invalid argument"),
        (0x2000, "not initialised"),
        (0x4000, "out of memory"),
        (0x8000, "buffer too small"),
    ];
    let code = e.native_code();
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| code & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    if names.is_empty() {
        format!("OpenH264 error {code}")
    } else {
        names.join(", ")
    }
}

fn dimensions(picture: &openh264::decoder::DecodedYUV<'_>) -> Decoded {
    use openh264::formats::YUVSource;
    let (width, height) = picture.dimensions();
    Decoded {
        width: width as u32,
        height: height as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_not_a_picture() {
        assert!(h264_key_frame(b"").is_err());
        // A start code, an IDR NAL header and noise with no SPS before it.
        let mut bad = vec![0, 0, 0, 1, 0x65];
        bad.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
        assert!(h264_key_frame(&bad).is_err());
    }

    #[test]
    fn a_real_key_frame_decodes() {
        // OpenH264 also encodes: one grey 64x48 frame is a real key frame
        // with its SPS and PPS in Annex B form.
        use openh264::encoder::Encoder;
        use openh264::formats::YUVBuffer;
        let yuv = YUVBuffer::new(64, 48);
        let mut encoder = Encoder::new().unwrap();
        let bitstream = encoder.encode(&yuv).unwrap().to_vec();
        assert_eq!(
            h264_key_frame(&bitstream).unwrap(),
            Decoded {
                width: 64,
                height: 48
            }
        );
        // Cutting the frame in half makes it undecodable.
        assert!(h264_key_frame(&bitstream[..bitstream.len() / 2]).is_err());
    }
}
