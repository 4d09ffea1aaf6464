//! Sites, devices, search, CSV import/export and change history.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{field_codes, Backend, TestApp};

both!(
    site_tree_and_device_crud,
    duplicates_and_references,
    search_filter_sort_and_paging,
    csv_import_is_all_or_nothing,
    csv_export_round_trips,
    history_records_every_change
);

async fn site_tree_and_device_crud(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Merkez Yerleşke").await;
    let (s, building) = admin
        .post(
            "/api/v1/buildings",
            json!({"site_id": site, "name": "A Blok"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{building}");
    let (s, location) = admin
        .post(
            "/api/v1/locations",
            json!({"building_id": building["id"], "name": "Zemin kat koridor", "floor": "0"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{location}");
    let (s, rec) = admin.post("/api/v1/recorders", json!({"site_id": site, "name": "NVR-1", "make": "Dahua", "channels": 16, "retention_days": 30, "storage_tb": 8.0})).await;
    assert_eq!(s, StatusCode::CREATED, "{rec}");
    let (s, sw) = admin.post("/api/v1/switches", json!({"site_id": site, "name": "SW-1", "make": "Cisco", "ports": 24, "poe_budget_w": 370.0, "uplink": "Core-1 Gi0/1"})).await;
    assert_eq!(s, StatusCode::CREATED, "{sw}");
    let cam = admin
        .create_camera(&site, "Koridor 1", json!({"location_id": location["id"], "recorder_id": rec["id"], "recorder_channel": 3, "serial": "SN-1", "ip": "10.1.0.11", "mac": "00-11-22-33-44-55", "status": "installed", "warranty_start": "2025-01-01", "warranty_end": "2027-01-01", "tags": ["iç", "koridor"], "rtsp_main_path": "rtsp://10.1.0.11/Streaming/Channels/101"}))
        .await;
    assert_eq!(cam["mac"], "00:11:22:33:44:55", "MAC is stored canonical");
    assert_eq!(cam["rtsp_main_path"], "/Streaming/Channels/101");

    let (s, tree) = admin.get("/api/v1/sites/tree").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(tree[0]["site"]["name"], "Merkez Yerleşke");
    assert_eq!(
        tree[0]["buildings"][0]["locations"][0]["name"],
        "Zemin kat koridor"
    );
    assert_eq!(
        (
            tree[0]["camera_count"].as_u64(),
            tree[0]["recorder_count"].as_u64(),
            tree[0]["switch_count"].as_u64()
        ),
        (Some(1), Some(1), Some(1))
    );

    // Places can be renamed; names and codes stay unique.
    let bid = building["id"].as_str().unwrap();
    let lid = location["id"].as_str().unwrap();
    let (s, b) = admin
        .put(
            &format!("/api/v1/buildings/{bid}"),
            json!({"site_id": site, "name": "A Blok (yeni)"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = admin
        .put(
            &format!("/api/v1/locations/{lid}"),
            json!({"building_id": bid, "name": "1. kat", "floor": "1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = admin
        .put(
            &format!("/api/v1/sites/{site}"),
            json!({"name": "Merkez Yerleşke", "code": "MRK"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let other = admin.create_site("Diğer").await;
    let (s, b) = admin
        .put(
            &format!("/api/v1/sites/{other}"),
            json!({"name": "Merkez Yerleşke"}),
        )
        .await;
    assert_eq!(
        (s, field_codes(&b)),
        (
            StatusCode::CONFLICT,
            vec![("name".into(), "duplicate_name".into())]
        )
    );
    let (s, b) = admin
        .put(
            &format!("/api/v1/sites/{other}"),
            json!({"name": "Diğer", "code": "MRK"}),
        )
        .await;
    assert_eq!(
        (s, field_codes(&b)),
        (
            StatusCode::CONFLICT,
            vec![("code".into(), "duplicate_name".into())]
        )
    );
    let (_, tree) = admin.get("/api/v1/sites/tree").await;
    let merkez = tree
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["site"]["id"] == site.as_str())
        .unwrap();
    assert_eq!(merkez["site"]["code"], "MRK");
    assert_eq!(merkez["buildings"][0]["building"]["name"], "A Blok (yeni)");
    assert_eq!(merkez["buildings"][0]["locations"][0]["name"], "1. kat");
    let (_, h) = admin.get("/api/v1/audit?limit=20").await;
    assert!(h
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["entity_type"] == "location"
            && e["action"] == "update"
            && e["before"]["name"] == "Zemin kat koridor"));

    let id = cam["id"].as_str().unwrap();
    let mut changed = cam.clone();
    changed["name"] = json!("Koridor 1 (yeni)");
    changed["status"] = json!("faulty");
    let (s, b) = admin.put(&format!("/api/v1/cameras/{id}"), changed).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (_, got) = admin.get(&format!("/api/v1/cameras/{id}")).await;
    assert_eq!(got["name"], "Koridor 1 (yeni)");
    assert_eq!(got["status"], "faulty");
    assert_eq!(got["tags"], json!(["iç", "koridor"]));
    assert_eq!(got["recorder_channel"], 3);

    // A site with devices cannot be deleted out from under them.
    let (s, _) = admin.delete(&format!("/api/v1/sites/{site}")).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = admin.delete(&format!("/api/v1/cameras/{id}")).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = admin.get(&format!("/api/v1/cameras/{id}")).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

async fn duplicates_and_references(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("S").await;
    let (_, rec) = admin.post("/api/v1/recorders", json!({"site_id": site, "name": "NVR", "make": "Dahua", "channels": 8, "ip": "10.0.0.2"})).await;
    admin
        .create_camera(
            &site,
            "A",
            json!({"serial": "ab-1", "ip": "10.0.0.10", "mac": "aa:bb:cc:dd:ee:01"}),
        )
        .await;

    // Same serial in another case and same make, the recorder's IP, and the same MAC.
    let (s, b) = admin.post("/api/v1/cameras", json!({"site_id": site, "name": "B", "make": "hikvision", "serial": "AB-1 ", "ip": "10.0.0.2", "mac": "AABBCCDDEE01"})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{b}");
    let mut codes = field_codes(&b);
    codes.sort();
    assert_eq!(
        codes,
        vec![
            ("ip".into(), "duplicate_ip".into()),
            ("mac".into(), "duplicate_mac".into()),
            ("serial".into(), "duplicate_serial".into())
        ]
    );
    // The same serial from another make is a different device.
    admin
        .create_camera(&site, "C", json!({"make": "Axis", "serial": "AB-1"}))
        .await;

    let (s, b) = admin.post("/api/v1/cameras", json!({"site_id": site, "name": "D", "make": "Axis", "recorder_id": rec["id"], "recorder_channel": 9})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_codes(&b),
        vec![("recorder_channel".into(), "channel_out_of_range".into())]
    );
    let (s, b) = admin
        .post(
            "/api/v1/cameras",
            json!({"site_id": uuid::Uuid::now_v7(), "name": "E", "make": "Axis"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_codes(&b),
        vec![("site_id".into(), "unknown_site".into())]
    );
    let (s, b) = admin.post("/api/v1/cameras", json!({"site_id": site, "name": "F", "make": "Axis", "warranty_start": "2026-01-01", "warranty_end": "2025-12-31"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        field_codes(&b),
        vec![("warranty_end".into(), "warranty_end_before_start".into())]
    );

    // Editing a device may keep its own identity keys.
    let (_, list) = admin.get("/api/v1/cameras?q=ab-1&sort=name").await;
    let a = list["items"][0].clone();
    assert_eq!(a["name"], "A");
    let (s, b) = admin
        .put(
            &format!("/api/v1/cameras/{}", a["id"].as_str().unwrap()),
            a.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // Freed keys can be reused after a delete.
    admin
        .delete(&format!("/api/v1/cameras/{}", a["id"].as_str().unwrap()))
        .await;
    admin
        .create_camera(
            &site,
            "A2",
            json!({"serial": "AB-1", "ip": "10.0.0.10", "mac": "aa:bb:cc:dd:ee:01"}),
        )
        .await;
}

async fn search_filter_sort_and_paging(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let a = admin.create_site("Güney").await;
    let b = admin.create_site("Kuzey").await;
    let mut rows = String::from("site,name,make,serial,ip,status\n");
    for i in 0..120 {
        let site = if i % 2 == 0 { "Güney" } else { "Kuzey" };
        let status = if i % 3 == 0 { "faulty" } else { "installed" };
        rows.push_str(&format!(
            "{site},Kamera {i:03},Axis,SER{i:04},10.2.{}.{},{status}\n",
            i / 200,
            i % 200 + 1
        ));
    }
    rows.push_str("Güney,Güvenlik Kulübesi,Axis,SPECIAL,10.3.0.1,installed\n");
    let (s, r) = admin.import(rows, false).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["imported"], 121);

    let (_, p) = admin.get("/api/v1/cameras?limit=50").await;
    assert_eq!(
        (p["total"].as_u64(), p["items"].as_array().unwrap().len()),
        (Some(121), 50)
    );
    let (_, p) = admin.get("/api/v1/cameras?q=SER0042").await;
    assert_eq!(p["total"], 1);
    assert_eq!(p["items"][0]["name"], "Kamera 042");
    // Folded search: no Turkish keyboard needed.
    let (_, p) = admin.get("/api/v1/cameras?q=guvenlik%20kulubesi").await;
    assert_eq!(p["items"][0]["serial"], "SPECIAL");
    let (_, p) = admin
        .get(&format!(
            "/api/v1/cameras?site_id={b}&status=faulty&limit=1000"
        ))
        .await;
    assert_eq!(p["total"], 20, "odd i with i % 3 == 0 below 120");
    let (_, p) = admin
        .get(&format!(
            "/api/v1/cameras?site_id={a}&sort=serial&order=desc&limit=2&offset=1"
        ))
        .await;
    let serials: Vec<&str> = p["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["serial"].as_str().unwrap())
        .collect();
    assert_eq!(serials, vec!["SER0118", "SER0116"]);
    // LIKE wildcards are literal.
    let (_, p) = admin.get("/api/v1/cameras?q=%25").await;
    assert_eq!(p["total"], 0);
}

fn csv_with_bad_rows() -> (String, Vec<(u64, &'static str, &'static str)>) {
    let mut csv = String::from("site;name;make;serial;ip;warranty_start;warranty_end\n");
    let mut bad = Vec::new();
    for i in 1..=50u64 {
        let line = i + 1;
        match i {
            7 => {
                csv.push_str("Depo;Kamera 7;Axis;S7;10.9.0.300;;\n");
                bad.push((line, "ip", "invalid_ip"));
            }
            19 => {
                csv.push_str("Depo;;Axis;S19;10.9.0.19;;\n");
                bad.push((line, "name", "required"));
            }
            33 => {
                csv.push_str("Depo;Kamera 33;Axis;S33;10.9.0.33;2026-05-01;2026-04-30\n");
                bad.push((line, "warranty_end", "warranty_end_before_start"));
            }
            _ => csv.push_str(&format!("Depo;Kamera {i};Axis;S{i};10.9.0.{i};;\n")),
        }
    }
    (csv, bad)
}

async fn csv_import_is_all_or_nothing(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    admin.create_site("Depo").await;
    let (csv, bad) = csv_with_bad_rows();

    let (s, r) = admin.import(csv.clone(), true).await;
    assert_eq!(s, StatusCode::OK);
    let got: Vec<(u64, &str, &str)> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["field"].as_str().unwrap(),
                e["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, bad);
    assert_eq!(
        (
            r["total_rows"].as_u64(),
            r["valid_rows"].as_u64(),
            r["imported"].as_u64()
        ),
        (Some(50), Some(47), Some(0))
    );

    // The real import refuses the whole file and writes nothing.
    let (s, r) = admin.import(csv.clone(), false).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r["imported"], 0);
    let (_, p) = admin.get("/api/v1/cameras").await;
    assert_eq!(p["total"], 0);

    // Without the bad rows it goes through; a second run finds duplicates.
    let good: String = csv
        .lines()
        .enumerate()
        .filter(|(i, _)| ![7, 19, 33].contains(i))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let (s, r) = admin.import(good.clone(), false).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["imported"], 47);
    let (s, r) = admin.import(good, true).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        r["errors"].as_array().unwrap().len(),
        47 * 2,
        "each row's serial and IP are taken"
    );

    // One audit entry per imported camera, and the chain still verifies
    // after the batched append.
    let n = gozcu_server::audit::verify(&t.app.db)
        .await
        .unwrap()
        .expect("intact chain after import");
    assert!(n >= 47 + 3, "{n}");
    let (_, p) = admin.get("/api/v1/cameras?q=S12").await;
    let (_, h) = admin
        .get(&format!(
            "/api/v1/cameras/{}/history",
            p["items"][0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(h[0]["action"], "import");
    assert_eq!(h[0]["after"]["serial"], "S12");

    // Unknown references are reported per row.
    let (_, r) = admin.import("site,name,make,recorder,channel,location\nNowhere,X,Axis,,,\nDepo,Y,Axis,NVR-9,1,\nDepo,Z,Axis,,,Roof\n".to_owned(), true).await;
    let codes: Vec<&str> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec!["unknown_site", "unknown_recorder", "unknown_location"]
    );
}

async fn csv_export_round_trips(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("Çarşı").await;
    admin.create_camera(&site, "Meydan, doğu", json!({"serial": "X1", "ip": "10.5.0.1", "tags": ["dış", "meydan"], "public": true, "notes": "satır 1\nsatır 2"})).await;
    let resp = admin
        .http
        .get(format!("{}/api/v1/cameras/export.csv", admin.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let bytes = resp.bytes().await.unwrap();
    let parsed = gozcu_shared::csv_import::parse_cameras(&bytes);
    assert_eq!(parsed.errors, vec![]);
    assert_eq!(parsed.rows.len(), 1);
    let row = &parsed.rows[0];
    assert_eq!(
        (
            row.site.as_str(),
            row.camera.name.as_str(),
            row.camera.public
        ),
        ("Çarşı", "Meydan, doğu", true)
    );
    assert_eq!(row.camera.tags, vec!["dış", "meydan"]);
    assert_eq!(row.camera.asset.notes.as_deref(), Some("satır 1\nsatır 2"));
}

async fn history_records_every_change(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let site = admin.create_site("H").await;
    let cam = admin.create_camera(&site, "Old", json!({})).await;
    let id = cam["id"].as_str().unwrap();
    let mut c = cam.clone();
    c["name"] = json!("New");
    admin.put(&format!("/api/v1/cameras/{id}"), c).await;
    admin
        .put(
            &format!("/api/v1/cameras/{id}/credentials"),
            json!({"username": "admin", "password": "p4ss"}),
        )
        .await;
    let (s, h) = admin.get(&format!("/api/v1/cameras/{id}/history")).await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["create", "update", "set_credentials"]);
    assert_eq!(h[1]["before"]["name"], "Old");
    assert_eq!(h[1]["after"]["name"], "New");
    assert_eq!(h[1]["actor_name"], "admin");
    assert!(
        !h.to_string().contains("p4ss"),
        "history never shows a password"
    );
}
