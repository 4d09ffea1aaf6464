//! A generated survey report of a chosen size, for the tests and for the
//! report benchmark (`xtask/src/bench_reports.rs`), so both measure the same
//! document.

use std::io::Cursor;

use image::{codecs::jpeg::JpegEncoder, ImageBuffer, Rgb};
use sha2::{Digest, Sha256};

use super::{
    Amendment, Answer, Images, Lang, Photo, ReportDate, ReportHeader, Section, Signature,
    SurveyReport,
};

/// Photo size of the sample: what the app sends after shrinking a tablet
/// camera's picture.
pub const SAMPLE_PHOTO_WIDTH: u32 = 1600;
pub const SAMPLE_PHOTO_HEIGHT: u32 = 1200;

/// Answer rows that fill about one A4 page in the built-in survey template,
/// and photos per page of its photo grid; measured on the template, used to
/// aim the sample at the asked number of pages.
const ANSWERS_PER_PAGE: usize = 32;
const PHOTOS_PER_PAGE: usize = 6;

const QUESTIONS: &[(&str, &str)] = &[
    (
        "Kurulum yeri",
        "Kütüphane giriş holü, turnikelerin karşısı; tavan yüksekliği 3,2 m.",
    ),
    (
        "Görüş alanı",
        "Giriş kapıları ve turnikeler tam görülüyor; danışma bankosu kısmen.",
    ),
    (
        "Aydınlatma",
        "Gündüz yeterli; gece için kızılötesi aydınlatmalı kamera gerekli.",
    ),
    (
        "Enerji",
        "En yakın PoE switch kat kabinetinde, 38 m; ek enerji hattı gerekmiyor.",
    ),
    (
        "Kablo güzergâhı",
        "Asma tavan üzerinden, mevcut kablo tavası kullanılarak.",
    ),
    (
        "Ağ",
        "Güvenlik VLAN'ı (120) kat switch'inde mevcut; boş port sayısı 6.",
    ),
    (
        "Kayıt",
        "NVR-03 üzerinde boş kanal var; 30 günlük saklama için disk yeterli.",
    ),
    (
        "Mahremiyet",
        "Görüş alanında özel alan yok; maskeleme gerekmiyor.",
    ),
    ("Montaj", "Duvar tipi aparat; yükseklik 2,8 m, eğim 25°."),
    ("Risk", "Vandal riski düşük; kubbe tipi kamera önerilir."),
];

/// A survey report of about `pages` A4 pages with `photos` generated JPEG
/// photos of 1600 × 1200, and the images it refers to.
///
/// The text is Turkish with every letter that needs the embedded fonts
/// (ç ğ ı İ ö ş ü), so the sample also exercises font coverage.
pub fn sample_survey(pages: usize, photos: usize) -> (SurveyReport, Images) {
    let mut images = Images::new();
    let mut photo_list = Vec::with_capacity(photos);
    for i in 0..photos {
        let bytes = sample_jpeg(i as u32);
        let sha = hex::encode(Sha256::digest(&bytes));
        images.insert(sha.clone(), bytes);
        photo_list.push(Photo {
            sha256: sha,
            caption: format!("Fotoğraf {}: kurulum noktası, {}. açı", i + 1, i % 4 + 1),
        });
    }

    let photo_pages = photos.div_ceil(PHOTOS_PER_PAGE);
    // One page for the title block, the conclusion and the signatures.
    let text_pages = pages.saturating_sub(photo_pages + 1).max(1);
    let answers = text_pages * ANSWERS_PER_PAGE;
    let per_section = 8;
    let sections = (0..answers.div_ceil(per_section))
        .map(|s| Section {
            title: format!("{}. Bölüm — İşlevsel gereksinimler ve ölçümler", s + 1),
            answers: (0..per_section.min(answers - s * per_section))
                .map(|a| {
                    let (label, value) = QUESTIONS[(s * per_section + a) % QUESTIONS.len()];
                    Answer {
                        label: format!("{}.{} {label}", s + 1, a + 1),
                        value_text: value.to_owned(),
                        photos: Vec::new(),
                        amended: (a == 3 && s % 3 == 0).then(|| Amendment {
                            old: "Kayıt cihazında boş kanal yok.".into(),
                            reason: "Yeniden sayıldı; NVR-03'te iki kanal boş.".into(),
                            by: "Ayşe Yıldırım".into(),
                            at: "12.03.2025 15:40".into(),
                        }),
                    }
                })
                .collect(),
        })
        .collect();

    let report = SurveyReport {
        header: ReportHeader {
            institution: "T.C. Örnek Büyükşehir Belediyesi".into(),
            unit: "Bilgi İşlem Daire Başkanlığı — Güvenlik Teknolojileri Servisi".into(),
            document_no: "KŞF-2025-0042".into(),
            date: ReportDate {
                year: 2025,
                month: 3,
                day: 12,
            },
            logo_sha256: None,
            footer: Some("Bu belge kurum içi kullanım içindir.".into()),
            lang: Lang::Tr,
        },
        site: "Merkez Yerleşke".into(),
        location: Some("Kütüphane binası, zemin kat".into()),
        requesting_unit: "Kütüphane ve Dokümantasyon Daire Başkanlığı".into(),
        surveyed_at: "12.03.2025 10:30".into(),
        participants: vec![
            "Ayşe Yıldırım (Tekniker)".into(),
            "Mehmet Öztürk (Şef)".into(),
            "Işıl Çağlayan (Kütüphane Müdürü)".into(),
        ],
        sections,
        photos: photo_list,
        conclusion: Some(
            "Giriş holüne iki adet kubbe tipi IP kamera kurulması uygundur; kablolama \
             mevcut tavadan yapılacak, kayıt NVR-03 üzerinde tutulacaktır."
                .into(),
        ),
        signatures: vec![
            Signature {
                role_label: "Talep Eden Birim Amiri".into(),
                signer: Some("Işıl Çağlayan".into()),
                signed_at: Some("12.03.2025 16:05".into()),
                image_sha256: None,
            },
            Signature {
                role_label: "Güvenlik Teknolojileri Şube Müdürü".into(),
                signer: Some("Mehmet Öztürk".into()),
                signed_at: Some("12.03.2025 16:20".into()),
                image_sha256: None,
            },
        ],
    };
    (report, images)
}

/// A photo-like JPEG: smooth gradients with fine noise, so that it
/// compresses about as well as a real picture (a flat image would make the
/// PDF unrealistically small and fast).
pub fn sample_jpeg(seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9) | 1;
    let (w, h) = (SAMPLE_PHOTO_WIDTH, SAMPLE_PHOTO_HEIGHT);
    let tint = [(seed * 53) % 160, (seed * 97) % 160, (seed * 31) % 160];
    let img = ImageBuffer::from_fn(w, h, |x, y| {
        // xorshift32: cheap, deterministic noise.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state & 0x1F) as i32 - 16;
        let base = (x * 80 / w + y * 60 / h) as i32;
        let band = if (x / 200 + y / 150 + seed).is_multiple_of(5) {
            40
        } else {
            0
        };
        let px = |t: u32| (t as i32 + base + band + noise).clamp(0, 255) as u8;
        Rgb([px(tint[0]), px(tint[1]), px(tint[2])])
    });
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, 82)
        .encode_image(&img)
        .expect("encoding a JPEG into memory cannot fail");
    out.into_inner()
}
