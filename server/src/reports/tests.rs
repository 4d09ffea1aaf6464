//! Rendering every built-in template and reading the text back out of the
//! PDF, template errors, QR payloads, and the large survey of the benchmark.

use std::collections::BTreeMap;

use serde_json::json;
use uuid::Uuid;

use super::*;

/// Every Turkish letter that a font without Turkish coverage would drop or
/// replace, in one string that each test finds again in the PDF's text.
const MARKER: &str = "Şişli Gözetleme Ünitesi — Işıklı İğdır ğüşıöçİ";

fn header(lang: Lang) -> ReportHeader {
    ReportHeader {
        institution: MARKER.into(),
        unit: "Bilgi İşlem Daire Başkanlığı — Güvenlik Teknolojileri Servisi".into(),
        document_no: "GZC-2025-0007".into(),
        date: ReportDate::parse("2025-03-12").unwrap(),
        logo_sha256: None,
        footer: Some("Gizlidir; çoğaltılamaz.".into()),
        lang,
    }
}

fn text_of(pdf: &[u8]) -> String {
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    let text = pdf_extract::extract_text_from_mem(pdf).expect("the PDF's text can be extracted");
    // Line breaks and justified spacing are layout, not content.
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn pages_of(pdf: &[u8]) -> usize {
    pdf_extract::extract_text_from_mem_by_pages(pdf)
        .expect("the PDF's pages can be read")
        .len()
}

fn png(color: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(40, 20, image::Rgb(color));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn sha(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

fn signatures(images: &mut Images) -> Vec<Signature> {
    let image = png([20, 20, 120]);
    let image_sha = sha(&image);
    images.insert(image_sha.clone(), image);
    vec![
        Signature {
            role_label: "Talep Eden Birim Amiri".into(),
            signer: Some("Işıl Çağlayan".into()),
            signed_at: Some("12.03.2025 16:05".into()),
            image_sha256: Some(image_sha),
        },
        Signature {
            role_label: "Güvenlik Şube Müdürlüğü".into(),
            signer: None,
            signed_at: None,
            image_sha256: None,
        },
    ]
}

fn sections() -> Vec<Section> {
    vec![Section {
        title: "Kamera gövdesi ve lens".into(),
        answers: vec![
            Answer {
                label: "Lens temiz mi?".into(),
                value_text: "Evet, ıslak bezle silindi".into(),
                photos: vec![],
                amended: None,
            },
            Answer {
                label: "Kablo bağlantısı".into(),
                value_text: "Sağlam".into(),
                photos: vec!["0".repeat(64)],
                amended: Some(Amendment {
                    old: "Gevşek".into(),
                    reason: "Yanlış cihaz işaretlenmişti".into(),
                    by: "Ayşe Yıldırım".into(),
                    at: "12.03.2025 15:40".into(),
                }),
            },
        ],
    }]
}

fn survey() -> (SurveyReport, Images) {
    let mut images = Images::new();
    let logo = png([200, 30, 30]);
    let logo_sha = sha(&logo);
    images.insert(logo_sha.clone(), logo);
    let photo = image_jpeg();
    let photo_sha = sha(&photo);
    images.insert(photo_sha.clone(), photo);
    let mut report_header = header(Lang::Tr);
    report_header.logo_sha256 = Some(logo_sha);
    let report = SurveyReport {
        header: report_header,
        site: "Merkez Yerleşke".into(),
        location: Some("Kütüphane, zemin kat".into()),
        requesting_unit: "Kütüphane Daire Başkanlığı".into(),
        surveyed_at: "12.03.2025 10:30".into(),
        participants: vec!["Ayşe Yıldırım".into(), "Mehmet Öztürk".into()],
        sections: sections(),
        photos: vec![
            Photo {
                sha256: photo_sha,
                caption: "Giriş holü, kuzeyden".into(),
            },
            Photo {
                sha256: "f".repeat(64),
                caption: "Henüz gelmeyen fotoğraf".into(),
            },
        ],
        conclusion: Some("Kurulum uygundur.".into()),
        signatures: signatures(&mut images),
    };
    (report, images)
}

fn image_jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

#[test]
fn survey_prints_turkish_text_header_answers_and_signatures() {
    let (report, images) = survey();
    let pdf = report_pdf(&report, &images).unwrap();
    let text = text_of(&pdf);
    let pages = pages_of(&pdf);
    assert!(text.contains(&format!("Sayfa 1 / {pages}")), "{text}");
    assert!(text.contains(&format!("Sayfa {pages} / {pages}")), "{text}");
    for expected in [
        MARKER,
        "KEŞİF TUTANAĞI",
        "Belge No",
        "GZC-2025-0007",
        "12.03.2025",
        "Gizlidir; çoğaltılamaz.",
        "Kütüphane Daire Başkanlığı",
        "Kamera gövdesi ve lens",
        "Evet, ıslak bezle silindi",
        "Değiştirildi",
        "Yanlış cihaz işaretlenmişti",
        "Giriş holü, kuzeyden",
        "Fotoğraf henüz yüklenmedi",
        "Talep Eden Birim Amiri",
        "Işıl Çağlayan",
        "Güvenlik Şube Müdürlüğü",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from: {text}");
    }
}

fn handover() -> (HandoverReport, Images) {
    let mut images = Images::new();
    let device = |n: u32| HandoverDevice {
        kind: "Kamera".into(),
        make: Some("Hikvision".into()),
        model: Some("DS-2CD2143G2-I".into()),
        serial: Some(format!("SN-İĞ-{n:04}")),
        mac: Some(format!("AC:CB:51:00:00:{n:02X}")),
        ip: Some(format!("10.20.30.{n}")),
        name: Some(format!("Kapı kamerası {n}")),
        location: Some("Işıklar / Şişli kapısı / Direk 4".into()),
        asset_no: Some(format!("DMR-{n}")),
    };
    let report = HandoverReport {
        header: header(Lang::Tr),
        site: "Işıklar Yerleşkesi".into(),
        location: None,
        handed_over_by: "Güvenlik Teknolojileri Servisi".into(),
        received_by: "Öğrenci İşleri Daire Başkanlığı".into(),
        handed_over_at: "14.03.2025".into(),
        devices: (1..=3)
            .map(device)
            .chain([HandoverDevice {
                kind: "PoE switch".into(),
                make: None,
                model: None,
                serial: None,
                mac: None,
                ip: None,
                name: None,
                location: None,
                asset_no: None,
            }])
            .collect(),
        notes: Some("Şifreler ayrıca teslim edilmemiştir.".into()),
        signatures: signatures(&mut images),
    };
    (report, images)
}

#[test]
fn handover_lists_every_device() {
    let (report, images) = handover();
    let text = text_of(&report_pdf(&report, &images).unwrap());
    for expected in [
        MARKER,
        "DEMİRBAŞ DEVİR TESLİM TUTANAĞI",
        "Öğrenci İşleri Daire Başkanlığı",
        "SN-İĞ-0002",
        "AC:CB:51:00:00:03",
        "10.20.30.1",
        "DS-2CD2143G2-I",
        "Kapı kamerası 2",
        "Işıklar / Şişli kapısı / Direk 4",
        "DMR-3",
        "PoE switch",
        "Toplam cihaz: 4",
        "Şifreler ayrıca teslim edilmemiştir.",
        "Sayfa 1 / 1",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from: {text}");
    }
}

fn run() -> (RunReport, Images) {
    let mut images = Images::new();
    let report = RunReport {
        header: header(Lang::Tr),
        template_title: "Periyodik bakım — dış ortam kamerası".into(),
        template_version: 3,
        target: "KMR-0042 · Kütüphane giriş".into(),
        technician: "Ayşe Yıldırım".into(),
        started_at: "12.03.2025 09:00".into(),
        completed_at: Some("12.03.2025 09:45".into()),
        gps: Some(Gps {
            lat: 41.0602,
            lon: 28.9877,
            accuracy_m: Some(6.0),
        }),
        sections: sections(),
        photos: vec![],
        signatures: signatures(&mut images),
    };
    (report, images)
}

#[test]
fn run_shows_template_times_gps_and_amendments() {
    let (report, images) = run();
    let text = text_of(&report_pdf(&report, &images).unwrap());
    for expected in [
        MARKER,
        "KONTROL LİSTESİ RAPORU",
        "Periyodik bakım — dış ortam kamerası (sürüm 3)",
        "KMR-0042 · Kütüphane giriş",
        "12.03.2025 09:45",
        "41.0602, 28.9877",
        "Yanlış cihaz işaretlenmişti",
        "Işıl Çağlayan",
    ] {
        assert!(text.contains(expected), "`{expected}` missing from: {text}");
    }
}

#[test]
fn english_wording_follows_lang() {
    let (mut report, images) = survey();
    report.header.lang = Lang::En;
    let text = text_of(&report_pdf(&report, &images).unwrap());
    assert!(text.contains("SITE SURVEY REPORT"), "{text}");
    assert!(text.contains("Page 1 / "), "{text}");
    // The data is printed as given, whatever the wording's language.
    assert!(text.contains(MARKER), "{text}");
}

#[test]
fn label_sheet_prints_titles_and_breaks_pages_by_layout() {
    let labels: Vec<Label> = (0..26)
        .map(|i| Label {
            device_id: Uuid::from_u128(i + 1),
            title: format!("KMR-{:04} · Kütüphane giriş", i + 1),
            subtitle: Some("Işıklı İğdır ğüşıöçİ".into()),
        })
        .collect();
    let pdf = labels_pdf(&header(Lang::Tr), &labels, &LabelLayout::default()).unwrap();
    // 24 labels on the first sheet, two on the second.
    assert_eq!(pages_of(&pdf), 2);
    let text = text_of(&pdf);
    for expected in [
        "KMR-0001 · Kütüphane giriş",
        "KMR-0026",
        "Işıklı İğdır ğüşıöçİ",
        MARKER,
    ] {
        assert!(text.contains(expected), "`{expected}` missing from: {text}");
    }
}

#[test]
fn a_label_layout_larger_than_a4_is_refused() {
    let layout = LabelLayout {
        rows: 9,
        ..LabelLayout::default()
    };
    let err = labels_pdf(&header(Lang::Tr), &[], &layout).unwrap_err();
    assert!(matches!(err, ReportError::Input(_)), "{err}");
}

#[test]
fn qr_payload_is_only_the_device_id() {
    for id in [
        Uuid::nil(),
        Uuid::max(),
        Uuid::from_u128(0x0123_4567_89ab_cdef),
        Uuid::new_v4(),
    ] {
        let payload = qr::payload(id);
        assert_eq!(payload, format!("gozcu:device/{id}"));
        let rest = payload.strip_prefix(qr::PAYLOAD_PREFIX).unwrap();
        assert!(
            rest.len() == 36 && rest.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
            "{payload}"
        );
        assert_eq!(qr::parse_payload(&payload), Some(id));
    }
    let id = Uuid::from_u128(7);
    for foreign in [
        format!("gozcu:device/{id}?token=x"),
        format!("gozcu:device/{}", id.simple()),
        format!("https://example.org/{id}"),
    ] {
        assert_eq!(qr::parse_payload(&foreign), None, "{foreign}");
    }
}

#[test]
fn the_printed_qr_code_decodes_to_the_payload() {
    let id = Uuid::new_v4();
    let payload = qr::payload(id);
    let code = qr::code(&payload);
    // Paint the modules at 8 px each inside a 4-module quiet zone, as a
    // printed label looks to a camera, and let rqrr find and decode it.
    let (width, scale, quiet) = (code.width() as u32, 8u32, 4u32);
    let colors = code.to_colors();
    let side = (width + 2 * quiet) * scale;
    let img = image::GrayImage::from_fn(side, side, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        let dark = mx >= quiet
            && my >= quiet
            && mx < quiet + width
            && my < quiet + width
            && colors[((my - quiet) * width + (mx - quiet)) as usize] == qrcode::Color::Dark;
        image::Luma([if dark { 0 } else { 255 }])
    });
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, decoded) = grids[0].decode().unwrap();
    assert_eq!(decoded, payload);
    assert_eq!(qr::parse_payload(&decoded), Some(id));

    // The SVG handed to typst is that same code: one path of dark modules
    // on a white square of width + quiet zone units.
    let svg = qr::svg(&payload);
    let units = width + 2 * quiet;
    assert!(
        svg.contains(&format!("viewBox=\"0 0 {units} {units}\"")),
        "{svg}"
    );
}

#[test]
fn a_broken_template_names_the_line() {
    let template = "#let data = json(\"data.json\")\n= Rapor\n\n#data.header.institution\n#(1 +)\n";
    let err = render(
        template,
        &json!({"header": {"institution": "x"}}),
        &BTreeMap::new(),
    )
    .unwrap_err();
    let ReportError::Template(diagnostics) = &err else {
        panic!("expected a template error, got {err}");
    };
    let first = &diagnostics[0];
    assert_eq!(first.file.as_deref(), Some("main.typ"));
    assert_eq!(first.line, Some(5), "{first}");
    assert!(err.to_string().contains("main.typ:5:"), "{err}");
}

#[test]
fn a_missing_field_names_the_line_and_the_field() {
    let template = builtin_template(ReportKind::Survey)
        .replace("data.requesting_unit", "data.requesting_unitt");
    let line = template
        .lines()
        .position(|l| l.contains("requesting_unitt"))
        .unwrap()
        + 1;
    let (report, images) = survey();
    let err = report_pdf_with(&template, &report, &images).unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&format!("main.typ:{line}:")), "{message}");
    assert!(message.contains("requesting_unitt"), "{message}");
}

#[test]
fn an_error_inside_gozcu_typ_is_traced_back_to_the_template() {
    let template =
        "#import \"gozcu.typ\": *\n#let data = json(\"data.json\")\n\n#answers(data, (1, 2))\n";
    let err = render(template, &json!({"header": {}}), &BTreeMap::new()).unwrap_err();
    let ReportError::Template(diagnostics) = &err else {
        panic!("expected a template error, got {err}");
    };
    let first = &diagnostics[0];
    assert_eq!(first.file.as_deref(), Some("gozcu.typ"), "{first}");
    assert!(
        first.trace.iter().any(|t| t.contains("main.typ:4:")),
        "{first}"
    );
}

#[test]
fn packages_and_unknown_files_are_errors_not_panics() {
    for (template, expected) in [
        (
            "#import \"@preview/cetz:0.3.0\": *\n",
            "packages are not available",
        ),
        ("#image(\"/etc/passwd\")\n", "not found"),
        ("#read(\"../secret.txt\")\n", "main.typ:1:"),
    ] {
        let err = render(template, &json!({}), &BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains(expected), "{template}: {err}");
    }
}

#[test]
fn data_cannot_inject_markup() {
    let (mut report, images) = survey();
    report.site = "#panic(\"x\") *kalın* $x^2$ <etiket> @ref".into();
    let text = text_of(&report_pdf(&report, &images).unwrap());
    assert!(
        text.contains("#panic(\"x\") *kalın* $x^2$ <etiket> @ref"),
        "{text}"
    );
}

#[test]
fn reserved_names_and_unknown_image_formats_are_refused() {
    let files = BTreeMap::from([("data.json".to_owned(), b"{}".to_vec())]);
    let err = render("x", &json!({}), &files).unwrap_err();
    assert!(matches!(err, ReportError::Input(_)), "{err}");

    let (mut report, mut images) = survey();
    images.insert("a".repeat(64), b"MZ not an image".to_vec());
    report.photos[0].sha256 = "a".repeat(64);
    let err = report_pdf(&report, &images).unwrap_err();
    assert!(err.to_string().contains(&"a".repeat(64)), "{err}");
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let (report, images) = survey();
    let first = report_pdf(&report, &images).unwrap();
    let second = report_pdf(&report, &images).unwrap();
    assert!(first == second, "two renders of one report differ");
    // The creation date is the report's date, not the clock's.
    let raw = String::from_utf8_lossy(&first);
    assert!(
        raw.contains("D:20250312"),
        "no creation date from the header"
    );
}

#[test]
fn the_fonts_the_templates_use_cover_turkish() {
    use typst::foundations::Bytes;
    use typst::text::Font;
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    for family in ["Libertinus Serif", "DejaVu Sans Mono"] {
        let faces: Vec<&Font> = fonts.iter().filter(|f| f.info().family == family).collect();
        assert!(!faces.is_empty(), "{family} is not embedded");
        for face in faces {
            for c in MARKER.chars().chain("çÇğĞıIiİöÖşŞüÜâÂ".chars()) {
                assert!(
                    face.info().coverage.contains(c as u32),
                    "{family} {:?} has no glyph for {c}",
                    face.info().variant
                );
            }
        }
    }
    for template in ReportKind::ALL
        .map(builtin_template)
        .into_iter()
        .chain([common_template()])
    {
        for font in ["font: \"", "-font = \""] {
            for used in template.split(font).skip(1) {
                let family = used.split('"').next().unwrap();
                assert!(
                    ["Libertinus Serif", "DejaVu Sans Mono"].contains(&family),
                    "a template uses {family}"
                );
            }
        }
    }
}

#[test]
fn every_builtin_template_is_listed() {
    for kind in ReportKind::ALL {
        assert!(builtin_template(kind).contains("data.json"), "{kind:?}");
    }
    assert!(common_template().contains("#let report("));
}

#[test]
fn report_dates_are_strict() {
    assert_eq!(
        ReportDate::parse("2024-02-29"),
        Some(ReportDate {
            year: 2024,
            month: 2,
            day: 29
        })
    );
    for bad in [
        "2025-02-29",
        "2025-13-01",
        "2025-1-01",
        "25-01-01",
        "2025-01-01T00:00",
        "",
    ] {
        assert_eq!(ReportDate::parse(bad), None, "{bad}");
    }
    let header: Result<ReportHeader, _> = serde_json::from_value(json!({
        "institution": "a", "unit": "b", "document_no": "c", "date": "2025-02-30",
        "logo_sha256": null
    }));
    assert!(header.is_err());
}

/// The document of the benchmark: 20 pages with 40 photos of 1600 × 1200.
#[test]
fn a_twenty_page_survey_with_forty_photos_renders() {
    let (report, images) = sample_survey(20, 40);
    assert_eq!(images.len(), 40);
    let pdf = report_pdf(&report, &images).unwrap();
    let pages = pages_of(&pdf);
    assert!((18..=22).contains(&pages), "{pages} pages");
    let text = text_of(&pdf);
    assert!(text.contains(&format!("Sayfa {pages} / {pages}")), "{text}");
    assert!(text.contains("Fotoğraf 40: kurulum noktası"), "{text}");
    // The JPEGs are embedded as they are, not decoded and re-encoded larger.
    let photo_bytes: usize = images.values().map(Vec::len).sum();
    assert!(pdf.len() > photo_bytes, "{} < {photo_bytes}", pdf.len());
    assert!(
        pdf.len() < photo_bytes * 2,
        "{} vs {photo_bytes}",
        pdf.len()
    );
}
