//! Official papers: a completed run, a site's hand-over and its QR labels
//! as PDFs whose text (Turkish letters included) is what was recorded, each
//! numbered and audited; and report templates an administrator edits.

use gozcu_shared::checklists::Template;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::checklists::{complete_run, maintenance, scene};
use crate::support::{scalar, Backend};
use crate::sync::Device;

both!(
    a_completed_run_prints_with_its_answers,
    a_site_hands_over_its_devices_and_prints_labels,
    an_edited_template_is_tried_before_it_is_kept,
);

fn text_of(pdf: &[u8]) -> String {
    pdf_extract::extract_text_from_mem(pdf).expect("the PDF's text")
}

async fn a_completed_run_prints_with_its_answers(backend: Backend) {
    let s = scene(backend).await;
    // A run still in progress has nothing to print yet.
    let mut dev = Device::new();
    let run = complete_run(&s, &mut dev).await;
    let (st, kind, pdf) = s
        .tech
        .get_bytes(&format!("/api/v1/checklists/runs/{run}/report.pdf"))
        .await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(kind, "application/pdf");
    let text = text_of(&pdf);
    let template: Template = maintenance();
    for needle in [
        template.title.tr.as_str(),
        "Giriş — Rektörlük",
        "saha",
        "Temizlendi, sorun yok",
        "Ayşe Yılmaz",
        "GZC-",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let (st, _, pdf) = s
        .tech
        .get_bytes(&format!("/api/v1/checklists/runs/{run}/report.pdf?lang=en"))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(text_of(&pdf).contains(&template.title.en), "English title");
    assert_eq!(
        scalar(&s.t, "SELECT COUNT(*) FROM report_documents").await,
        2,
        "each paper gets its own number"
    );
    assert_eq!(
        scalar(
            &s.t,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'export'"
        )
        .await,
        2
    );
    let (st, _, _) = s
        .tech
        .get_bytes(&format!(
            "/api/v1/checklists/runs/{}/report.pdf",
            Uuid::now_v7()
        ))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

async fn a_site_hands_over_its_devices_and_prints_labels(backend: Backend) {
    let s = scene(backend).await;
    let (_, site) = s.admin.get(&format!("/api/v1/cameras/{}", s.camera)).await;
    let site = site["site_id"].as_str().unwrap().to_owned();
    let (st, building) = s
        .admin
        .post(
            "/api/v1/buildings",
            json!({"site_id": site, "name": "Kuzey Blok"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{building}");
    let (st, location) = s
        .admin
        .post(
            "/api/v1/locations",
            json!({"building_id": building["id"], "name": "Otopark çıkışı"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{location}");
    s.admin
        .create_camera(
            &site,
            "Otopark Işıklı",
            json!({"serial": "ŞĞÜ-0042", "ip": "10.1.1.42", "location_id": location["id"], "asset_number": "DMR-77"}),
        )
        .await;
    let path = format!(
        "/api/v1/reports/handover?site_id={site}&handed_over_by=Mehmet%20%C3%96zt%C3%BCrk&received_by=%C4%B0lknur%20%C5%9Eahin"
    );
    // Technicians print too; viewers may not.
    let (st, _, pdf) = s.admin.get_bytes(&path).await;
    assert_eq!(st, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
    let text = text_of(&pdf);
    for needle in [
        "ŞĞÜ-0042",
        "10.1.1.42",
        "Mehmet Öztürk",
        "İlknur Şahin",
        "Cihaz Adı",
        "DMR-77",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    // Each device's row reads: number, kind, name, make / model, serial,
    // MAC, IP, location. The name has its own column after the kind, and
    // the location column (the last) says where the device stands: the
    // whole path for the camera placed in a location, the site for the one
    // that is not placed.
    let row = |start: &str| {
        let at = text
            .find(start)
            .unwrap_or_else(|| panic!("{start:?} in:\n{text}"));
        let rest = &text[at..];
        let end = rest.find("\n\n").unwrap_or(rest.len());
        rest[..end].split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let placed = row("2 Kamera Otopark Işıklı");
    assert!(
        placed.starts_with("2 Kamera Otopark Işıklı Hikvision")
            && placed.ends_with("ŞĞÜ-0042 — 10.1.1.42 Rektörlük / Kuzey Blok / Otopark çıkışı"),
        "{placed}"
    );
    let unplaced = row("1 Kamera Giriş");
    assert!(
        unplaced.starts_with("1 Kamera Giriş Hikvision") && unplaced.ends_with("— Rektörlük"),
        "{unplaced}"
    );
    let (st, kind, pdf) = s
        .tech
        .get_bytes(&format!(
            "/api/v1/reports/labels?site_id={site}&kind=camera"
        ))
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(kind, "application/pdf");
    let text = text_of(&pdf);
    assert!(
        text.contains("Otopark Işıklı") && text.contains("Giriş"),
        "{text}"
    );
    let viewer = s.t.user(&s.admin, "bakan", "viewer", &[]).await;
    let (st, _, _) = viewer.get_bytes(&path).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Another site's devices are not the technician's to print.
    let other = s.admin.create_site("Başka").await;
    let (st, _, _) = s
        .tech
        .get_bytes(&format!("/api/v1/reports/labels?site_id={other}"))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

async fn an_edited_template_is_tried_before_it_is_kept(backend: Backend) {
    let s = scene(backend).await;
    let path = "/api/v1/reports/templates/run";
    let (st, current) = s.admin.get(path).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(current["builtin"], true);
    let builtin = current["source"].as_str().unwrap().to_owned();

    let (st, b) = s
        .admin
        .put(path, json!({"source": "#let x = (\n= Bozuk"}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    assert!(b.to_string().contains("main.typ:"), "{b}");

    let edited = format!("{builtin}\n#text[Bu belge Gözcü ile üretilmiştir — ığüşöçİ]\n");
    let (st, b) = s.admin.put(path, json!({"source": edited})).await;
    assert_eq!(st, StatusCode::OK, "{b}");
    let mut dev = Device::new();
    let run = complete_run(&s, &mut dev).await;
    let (_, _, pdf) = s
        .tech
        .get_bytes(&format!("/api/v1/checklists/runs/{run}/report.pdf"))
        .await;
    assert!(
        text_of(&pdf).contains("ığüşöçİ"),
        "the edited template was used"
    );
    let (st, _) = s.tech.put(path, json!({"source": builtin})).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}
