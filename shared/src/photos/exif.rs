//! The one EXIF field the app reads: when a photo was taken (the app
//! re-encodes every photo, which drops its metadata, so it reads the date
//! from the original first). A full EXIF library would cost the tablet more
//! download than every other photo feature together; this walk reads the
//! JPEG's APP1 block, its TIFF header and two directories, and checks every
//! offset against the bytes it has, so a hostile or cut file gives `None`,
//! never a panic.

/// `DateTimeOriginal` (else `DateTime`) of a JPEG as `[year, month, day,
/// hour, minute, second]`, as written by the camera in its local time.
pub fn date_time_original(jpeg: &[u8]) -> Option<[u32; 6]> {
    let tiff = exif_block(jpeg)?;
    let big_endian = match tiff.get(0..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let r = Reader {
        b: tiff,
        big_endian,
    };
    if r.u16(2)? != 42 {
        return None;
    }
    let ifd0 = r.u32(4)? as usize;
    let mut date = None;
    if let Some(exif_ifd) = r.find(ifd0, 0x8769).and_then(|e| r.u32(e + 8)) {
        date = r.find(exif_ifd as usize, 0x9003).and_then(|e| r.date(e));
    }
    date.or_else(|| r.find(ifd0, 0x0132).and_then(|e| r.date(e)))
}

/// The TIFF data of the `Exif` APP1 segment, walking the segments up to the
/// start of the image data.
fn exif_block(b: &[u8]) -> Option<&[u8]> {
    if b.get(0..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut at = 2;
    loop {
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        // Start of scan: the metadata segments are all before it.
        if marker == 0xDA {
            return None;
        }
        let len = usize::from(u16::from_be_bytes([*b.get(at + 2)?, *b.get(at + 3)?]));
        if len < 2 {
            return None;
        }
        let body = b.get(at + 4..at + 2 + len);
        if marker == 0xE1 {
            if let Some(tiff) = body.and_then(|s| s.strip_prefix(b"Exif\0\0")) {
                return Some(tiff);
            }
        }
        at += 2 + len;
    }
}

struct Reader<'a> {
    b: &'a [u8],
    big_endian: bool,
}

impl Reader<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        let s: [u8; 2] = self.b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    }

    fn u32(&self, at: usize) -> Option<u32> {
        let s: [u8; 4] = self.b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }

    /// The offset of the directory entry with `tag` in the directory at
    /// `ifd`.
    fn find(&self, ifd: usize, tag: u16) -> Option<usize> {
        let n = usize::from(self.u16(ifd)?);
        (0..n)
            .map(|i| ifd + 2 + 12 * i)
            .find(|&e| self.u16(e) == Some(tag))
    }

    /// An ASCII `YYYY:MM:DD HH:MM:SS` entry (type 2, 20 bytes with its NUL,
    /// so always stored at an offset).
    fn date(&self, entry: usize) -> Option<[u32; 6]> {
        if self.u16(entry + 2)? != 2 || self.u32(entry + 4)? < 19 {
            return None;
        }
        let at = self.u32(entry + 8)? as usize;
        let s = std::str::from_utf8(self.b.get(at..at.checked_add(19)?)?).ok()?;
        let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
        let v = [
            num(0..4)?,
            num(5..7)?,
            num(8..10)?,
            num(11..13)?,
            num(14..16)?,
            num(17..19)?,
        ];
        // Cameras without a set clock write zeros or blanks.
        let plausible = (1990..=2200).contains(&v[0])
            && (1..=12).contains(&v[1])
            && (1..=31).contains(&v[2])
            && v[3] < 24
            && v[4] < 60
            && v[5] < 61;
        plausible.then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG start with an APP0 segment and an EXIF block whose IFD0 has
    /// `DateTime` and a pointer to an EXIF IFD with `DateTimeOriginal`.
    fn jpeg(big_endian: bool, original: Option<&str>) -> Vec<u8> {
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut t = Vec::new();
        t.extend_from_slice(if big_endian { b"MM" } else { b"II" });
        t.extend_from_slice(&u16b(42));
        t.extend_from_slice(&u32b(8));
        // IFD0 at 8: two entries, then the next-IFD pointer.
        t.extend_from_slice(&u16b(2));
        t.extend_from_slice(&u16b(0x0132));
        t.extend_from_slice(&u16b(2));
        t.extend_from_slice(&u32b(20));
        t.extend_from_slice(&u32b(50));
        t.extend_from_slice(&u16b(0x8769));
        t.extend_from_slice(&u16b(4));
        t.extend_from_slice(&u32b(1));
        t.extend_from_slice(&u32b(70));
        t.extend_from_slice(&u32b(0));
        t.resize(50, 0);
        t.extend_from_slice(b"2020:01:02 03:04:05\0");
        // EXIF IFD at 70.
        t.resize(70, 0);
        t.extend_from_slice(&u16b(u16::from(original.is_some())));
        if original.is_some() {
            t.extend_from_slice(&u16b(0x9003));
            t.extend_from_slice(&u16b(2));
            t.extend_from_slice(&u32b(20));
            t.extend_from_slice(&u32b(90));
        }
        t.resize(90, 0);
        if let Some(o) = original {
            t.extend_from_slice(o.as_bytes());
            t.push(0);
        }
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB, 0xFF, 0xE1];
        j.extend_from_slice(&((t.len() + 8) as u16).to_be_bytes());
        j.extend_from_slice(b"Exif\0\0");
        j.extend_from_slice(&t);
        j.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02]);
        j
    }

    #[test]
    fn reads_the_original_date_in_both_byte_orders() {
        for be in [true, false] {
            assert_eq!(
                date_time_original(&jpeg(be, Some("2026:03:14 15:09:26"))),
                Some([2026, 3, 14, 15, 9, 26])
            );
            // Without DateTimeOriginal, the file's DateTime.
            assert_eq!(
                date_time_original(&jpeg(be, None)),
                Some([2020, 1, 2, 3, 4, 5])
            );
        }
        // A camera with no clock set.
        assert_eq!(
            date_time_original(&jpeg(true, Some("0000:00:00 00:00:00"))),
            Some([2020, 1, 2, 3, 4, 5])
        );
    }

    #[test]
    fn cut_or_hostile_files_give_none() {
        let full = jpeg(false, Some("2026:03:14 15:09:26"));
        for len in 0..full.len() {
            let _ = date_time_original(&full[..len]);
        }
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..2000 {
            let mut b = full.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let i = (seed as usize) % b.len();
                b[i] = (seed >> 32) as u8;
            }
            let _ = date_time_original(&b);
        }
        assert_eq!(date_time_original(b"not a jpeg"), None);
    }
}
