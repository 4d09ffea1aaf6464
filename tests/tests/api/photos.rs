//! Photo upload: resumable over broken connections, content-addressed,
//! verified, stored once; and every way a request can be wrong.

use std::time::Duration;

use gozcu_shared::photos::PhotoHash;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{scalar, Backend, Client, TestApp, ADMIN_PASSWORD};

both!(
    upload_survives_two_broken_connections,
    wrong_bytes_are_discarded,
    offset_mismatch_answers_the_current_offset,
    bad_hashes_never_reach_the_disk,
    only_uploaders_upload_and_readers_read,
    photos_are_seen_only_within_the_sites_of_their_runs,
    oversized_photos_and_chunks_are_refused
);

const MIB: usize = 1024 * 1024;

/// Bytes that look random to any compressor and start like a JPEG, which
/// is all the server checks of the content besides its hash.
fn jpeg_like(len: usize, mut seed: u64) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect();
    bytes[..4].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    bytes
}

fn declare(photo: &[u8], hash: &PhotoHash) -> Value {
    json!({"sha256": hash, "size": photo.len(), "content_type": "image/jpeg"})
}

/// `PATCH` one chunk; the status, the `Upload-Offset` header and the body.
async fn patch(c: &Client, hash: &str, offset: usize, chunk: &[u8]) -> (StatusCode, u64, Value) {
    let resp = c
        .http
        .patch(format!("{}/api/v1/photos/{hash}", c.base))
        .header("x-csrf-token", c.csrf.clone().unwrap_or_default())
        .header(CONTENT_TYPE, "application/offset+octet-stream")
        .header("upload-offset", offset.to_string())
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let header = resp
        .headers()
        .get("upload-offset")
        .map(|v| v.to_str().unwrap().parse().unwrap())
        .unwrap_or(u64::MAX);
    (status, header, resp.json().await.unwrap_or(Value::Null))
}

async fn upload_status(c: &Client, hash: &str) -> (StatusCode, Value) {
    c.get(&format!("/api/v1/photos/{hash}/upload")).await
}

/// Sends a whole photo in chunks; the last answer.
async fn upload_all(
    c: &Client,
    photo: &[u8],
    hash: &PhotoHash,
    chunk: usize,
) -> (StatusCode, Value) {
    let (s, b) = c.post("/api/v1/photos", declare(photo, hash)).await;
    assert!(s.is_success(), "{s} {b}");
    let mut offset = b["offset"].as_u64().unwrap() as usize;
    let mut last = (s, b);
    while offset < photo.len() {
        let end = (offset + chunk).min(photo.len());
        let (s, _, b) = patch(c, hash.as_str(), offset, &photo[offset..end]).await;
        if !s.is_success() {
            return (s, b);
        }
        offset = b["offset"].as_u64().unwrap() as usize;
        last = (s, b);
    }
    last
}

/// Logs in without a cookie jar and returns the session cookie and CSRF
/// token, for requests written by hand on a raw socket.
async fn raw_session(t: &TestApp) -> (String, String) {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", t.base))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let cookie = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("gozcu_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let body: Value = resp.json().await.unwrap();
    (cookie, body["csrf_token"].as_str().unwrap().to_owned())
}

/// Starts a request on a raw socket: the head, then only `body`. The
/// caller decides whether the connection then drops or hangs.
async fn raw_request(t: &TestApp, head: &str, body: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(t.base.trim_start_matches("http://"))
        .await
        .unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// A `PATCH` that announces the whole chunk in `Content-Length` but sends
/// only its first `sent` bytes, as a phone losing its signal would.
async fn cut_patch(
    t: &TestApp,
    (cookie, csrf): &(String, String),
    hash: &str,
    offset: usize,
    chunk: &[u8],
    sent: usize,
) -> TcpStream {
    let head = format!(
        "PATCH /api/v1/photos/{hash} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\nContent-Length: {len}\r\n\r\n",
        host = t.base.trim_start_matches("http://"),
        len = chunk.len(),
    );
    raw_request(t, &head, &chunk[..sent]).await
}

/// Asks for the upload's status until the server holds `expected` bytes:
/// the bytes of a cut request reach the disk a moment after they were
/// sent. Panics with the last answer after ten seconds.
async fn wait_for_offset(c: &Client, hash: &str, expected: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (s, b) = upload_status(c, hash).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        if b["offset"].as_u64() == Some(expected) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server holds {} bytes, expected {expected}",
            b["offset"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The acceptance test of the feature: "a 10 MB photo over a connection
/// that drops twice still arrives, once".
async fn upload_survives_two_broken_connections(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let raw = raw_session(&t).await;
    // Not a multiple of the chunk size, so the last chunk is short.
    let photo = jpeg_like(10 * MIB + 4321, 7);
    let hash = PhotoHash::of(&photo);
    let h = hash.as_str();

    let (s, b) = admin.post("/api/v1/photos", declare(&photo, &hash)).await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        b,
        json!({"sha256": h, "offset": 0, "size": photo.len(), "complete": false})
    );

    let mut offset = 0usize;
    let mut requests = 0;
    let mut hanging = None;
    let mut last = Value::Null;
    while offset < photo.len() {
        let end = (offset + MIB).min(photo.len());
        requests += 1;
        if requests == 3 || requests == 7 {
            // Half a chunk and a bit gets through, then the link dies. The
            // first time the socket closes; the second time it just goes
            // silent, as a dead mobile link does, and the server cannot
            // know the request will never finish.
            let sent = (end - offset) / 2 + 17;
            let socket = cut_patch(&t, &raw, h, offset, &photo[offset..end], sent).await;
            if requests == 3 {
                drop(socket);
            } else {
                hanging = Some(socket);
            }
            // Those bytes count: the status reports them, and the upload
            // resumes right after them.
            wait_for_offset(&admin, h, (offset + sent) as u64).await;
            let (_, st) = upload_status(&admin, h).await;
            assert_eq!(st["complete"], false);
            offset = st["offset"].as_u64().unwrap() as usize;
            continue;
        }
        // Resuming while the silent request still holds the upload works:
        // the newer request takes over.
        let (s, header, b) = patch(&admin, h, offset, &photo[offset..end]).await;
        assert_eq!(s, StatusCode::OK, "chunk at {offset}: {b}");
        assert_eq!(b["offset"].as_u64(), Some(end as u64));
        assert_eq!(header, end as u64, "Upload-Offset header");
        offset = end;
        last = b;
    }
    assert_eq!(
        last,
        json!({"sha256": h, "offset": photo.len(), "size": photo.len(), "complete": true})
    );
    // The silent request was told it had been taken over.
    let mut socket = hanging.expect("a hanging request");
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("the taken-over request is answered")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 409"), "{answer}");

    // Stored once, under its hash, with exactly the bytes sent.
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM photos").await, 1);
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM photo_uploads").await, 0);
    assert_eq!(
        scalar(&t, "SELECT size FROM photos").await,
        photo.len() as i64
    );
    let stored = t.data_dir.join("photos").join(&h[..2]).join(h);
    let on_disk = std::fs::read(&stored).unwrap();
    assert_eq!(PhotoHash::of(&on_disk), hash);
    assert!(on_disk == photo);
    assert!(files_under(&t.data_dir.join("uploads")).is_empty());
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'photo' AND action = 'upload'"
        )
        .await,
        1
    );

    // Served back byte for byte, with its type and a cache lifetime that
    // only content addressing allows.
    let resp = admin
        .http
        .get(format!("{}/api/v1/photos/{h}", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[CONTENT_TYPE], "image/jpeg");
    assert_eq!(
        resp.headers()[CACHE_CONTROL],
        "private, max-age=31536000, immutable"
    );
    assert!(resp.bytes().await.unwrap() == photo);
    let resp = admin
        .http
        .get(format!("{}/api/v1/photos/{h}", t.base))
        .header("if-none-match", format!("\"{h}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_MODIFIED);

    // The same photo again (another tablet, or a retry that lost the last
    // answer) is complete at once and stored once.
    let (s, b) = admin.post("/api/v1/photos", declare(&photo, &hash)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["complete"], true);
    assert_eq!(b["offset"].as_u64(), Some(photo.len() as u64));
    let (s, _, b) = patch(&admin, h, 0, &photo[..MIB]).await;
    assert_eq!((s, &b["complete"]), (StatusCode::OK, &json!(true)));
    let (s, b) = upload_status(&admin, h).await;
    assert_eq!((s, &b["complete"]), (StatusCode::OK, &json!(true)));
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM photos").await, 1);
    assert_eq!(
        scalar(
            &t,
            "SELECT COUNT(*) FROM audit_log WHERE entity_type = 'photo'"
        )
        .await,
        1
    );
    assert!(matches!(
        gozcu_server::audit::verify(&t.app.db).await.unwrap(),
        Ok(n) if n > 1
    ));
}

async fn wrong_bytes_are_discarded(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;

    // Bytes that are not the ones the hash was computed from.
    let photo = jpeg_like(300 * 1024, 1);
    let other = jpeg_like(300 * 1024, 2);
    let claimed = PhotoHash::of(&other);
    let (s, b) = upload_all(&admin, &photo, &claimed, 128 * 1024).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation")),
        "{b}"
    );
    assert_eq!(b["fields"][0]["field"], "sha256");
    assert!(b["message"].as_str().unwrap().contains("SHA-256"), "{b}");
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM photos").await, 0);
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM photo_uploads").await, 0);
    assert!(files_under(&t.data_dir.join("uploads")).is_empty());
    assert!(files_under(&t.data_dir.join("photos")).is_empty());
    let (s, _) = upload_status(&admin, claimed.as_str()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The right bytes for that hash can then be uploaded from the start.
    let (s, b) = upload_all(&admin, &other, &claimed, 128 * 1024).await;
    assert_eq!((s, &b["complete"]), (StatusCode::OK, &json!(true)), "{b}");

    // A JPEG declared as a PNG is refused as soon as its first bytes are
    // in, not after the whole upload.
    let jpeg = jpeg_like(200 * 1024, 3);
    let hash = PhotoHash::of(&jpeg);
    let (s, b) = admin
        .post(
            "/api/v1/photos",
            json!({"sha256": hash, "size": jpeg.len(), "content_type": "image/png"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, _, b) = patch(&admin, hash.as_str(), 0, &jpeg[..1000]).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation"))
    );
    assert_eq!(b["fields"][0]["field"], "content_type");
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM photo_uploads").await, 0);
    assert!(files_under(&t.data_dir.join("uploads")).is_empty());
    // A whole photo that is nothing like an image, sent in one chunk.
    let mut text = b"<html><script>alert(1)</script></html>".to_vec();
    text.resize(4096, b' ');
    let hash = PhotoHash::of(&text);
    let (s, b) = upload_all(&admin, &text, &hash, MIB).await;
    assert_eq!(
        (s, b["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("content_type")),
        "{b}"
    );
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM photos").await, 1);
}

async fn offset_mismatch_answers_the_current_offset(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let photo = jpeg_like(5000, 4);
    let hash = PhotoHash::of(&photo);
    let h = hash.as_str();
    let (s, _) = admin.post("/api/v1/photos", declare(&photo, &hash)).await;
    assert_eq!(s, StatusCode::CREATED);

    let (s, header, b) = patch(&admin, h, 5, &photo[5..100]).await;
    assert_eq!(
        (s, b["code"].as_str(), header),
        (StatusCode::CONFLICT, Some("conflict"), 0),
        "{b}"
    );
    let (s, header, _) = patch(&admin, h, 0, &photo[..1000]).await;
    assert_eq!((s, header), (StatusCode::OK, 1000));
    // A chunk sent again because its answer was lost: refused, nothing
    // written twice, and the answer says where to go on.
    let (s, header, b) = patch(&admin, h, 0, &photo[..1000]).await;
    assert_eq!((s, header), (StatusCode::CONFLICT, 1000), "{b}");
    let part = t.data_dir.join("uploads").join(format!("{h}.part"));
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 1000);
    // Declaring the same upload again continues it.
    let (s, b) = admin.post("/api/v1/photos", declare(&photo, &hash)).await;
    assert_eq!((s, b["offset"].as_u64()), (StatusCode::OK, Some(1000)));
    let (s, header, b) = patch(&admin, h, 1000, &photo[1000..]).await;
    assert_eq!(
        (s, header, &b["complete"]),
        (StatusCode::OK, 5000, &json!(true))
    );
    // A missing or unreadable Upload-Offset is a bad request.
    let resp = admin
        .http
        .patch(format!("{}/api/v1/photos/{h}", t.base))
        .header("x-csrf-token", admin.csrf.clone().unwrap())
        .header(CONTENT_TYPE, "application/offset+octet-stream")
        .header("upload-offset", "-1")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

async fn bad_hashes_never_reach_the_disk(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let photo = jpeg_like(1000, 5);
    let hash = PhotoHash::of(&photo);
    let upper = hash.as_str().to_uppercase();
    for path in [
        "/api/v1/photos/abc".to_owned(),
        format!("/api/v1/photos/{upper}"),
        format!("/api/v1/photos/{}x", &hash.as_str()[..63]),
        "/api/v1/photos/..%2F..%2Fgozcu.db".to_owned(),
        "/api/v1/photos/..%2F..%2Fgozcu.db/upload".to_owned(),
        format!("/api/v1/photos/{}%00/upload", hash),
    ] {
        let (s, b) = admin.get(&path).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad_request")),
            "{path}: {b}"
        );
    }
    let (s, _, b) = patch(&admin, "..%2F..%2Fgozcu.db", 0, &photo).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    for sha in [
        "../../../etc/passwd".to_owned(),
        upper.clone(),
        format!("{hash}/../x"),
        String::new(),
    ] {
        let (s, b) = admin
            .post(
                "/api/v1/photos",
                json!({"sha256": sha, "size": 1000, "content_type": "image/jpeg"}),
            )
            .await;
        assert_eq!(
            (s, b["fields"][0]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("sha256")),
            "{sha}: {b}"
        );
    }
    // Dot segments written by hand (a client library would remove them)
    // match no route.
    let (cookie, csrf) = raw_session(&t).await;
    let head = format!(
        "PATCH /api/v1/photos/../../gozcu.db HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: 4\r\nConnection: close\r\n\r\n"
    );
    let socket = raw_request(&t, &head, b"\xFF\xD8\xFF\xE0").await;
    let answer = read_answer(socket).await;
    assert!(
        answer.starts_with("HTTP/1.1 404") || answer.starts_with("HTTP/1.1 400"),
        "{answer}"
    );
    // Well-formed hashes of nothing are simply not found.
    let (s, _) = admin.get(&format!("/api/v1/photos/{hash}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = upload_status(&admin, hash.as_str()).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = patch(&admin, hash.as_str(), 0, &photo).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(files_under(&t.data_dir.join("uploads")).is_empty());
    assert!(files_under(&t.data_dir.join("photos")).is_empty());
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM photo_uploads").await, 0);
}

async fn only_uploaders_upload_and_readers_read(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let viewer = t.user(&admin, "izleyici", "viewer", &[]).await;
    let technician = t.user(&admin, "teknisyen", "technician", &[]).await;
    let photo = jpeg_like(2000, 6);
    let hash = PhotoHash::of(&photo);
    let h = hash.as_str();

    let (s, b) = viewer.post("/api/v1/photos", declare(&photo, &hash)).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (s, b) = technician
        .post("/api/v1/photos", declare(&photo, &hash))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let (s, _, b) = patch(&viewer, h, 0, &photo).await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (s, _) = upload_status(&viewer, h).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Uploads are shared by hash: the bytes decide, not who sends them.
    let (s, _, b) = patch(&technician, h, 0, &photo).await;
    assert_eq!((s, &b["complete"]), (StatusCode::OK, &json!(true)), "{b}");
    // Without the CSRF header a session cookie alone cannot upload.
    let resp = technician
        .http
        .post(format!("{}/api/v1/photos", t.base))
        .json(&declare(&photo, &hash))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // Anyone who can read the inventory sees the photo; nobody else.
    let resp = viewer
        .http
        .get(format!("{}/api/v1/photos/{h}", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.bytes().await.unwrap() == photo);
    let (s, _) = t.anonymous().get(&format!("/api/v1/photos/{h}")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let uploaded_by: String = sqlx::query_scalar("SELECT uploaded_by FROM photos")
        .fetch_one(&t.app.db.pool)
        .await
        .unwrap();
    let (_, me) = technician.get("/api/v1/auth/me").await;
    assert_eq!(me["user"]["id"], uploaded_by.as_str());
}

/// GETs a photo and answers the status only.
async fn photo_status(t: &TestApp, c: &Client, hash: &str) -> StatusCode {
    c.http
        .get(format!("{}/api/v1/photos/{hash}", t.base))
        .send()
        .await
        .unwrap()
        .status()
}

async fn photos_are_seen_only_within_the_sites_of_their_runs(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let a = admin.create_site("Kampüs A").await;
    let b = admin.create_site("Kampüs B").await;
    let uploader = t.user(&admin, "saha-a", "technician", &[a.as_str()]).await;
    let colleague = t.user(&admin, "izleyici-a", "viewer", &[a.as_str()]).await;
    let stranger = t.user(&admin, "saha-b", "technician", &[b.as_str()]).await;
    let photo = jpeg_like(3000, 9);
    let hash = PhotoHash::of(&photo);
    let h = hash.as_str();
    let (s, body) = uploader
        .post("/api/v1/photos", declare(&photo, &hash))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, _, body) = patch(&uploader, h, 0, &photo).await;
    assert_eq!(
        (s, &body["complete"]),
        (StatusCode::OK, &json!(true)),
        "{body}"
    );

    // Before any answer names it, only its uploader (and admins) see it.
    assert_eq!(photo_status(&t, &uploader, h).await, StatusCode::OK);
    assert_eq!(photo_status(&t, &admin, h).await, StatusCode::OK);
    assert_eq!(photo_status(&t, &colleague, h).await, StatusCode::NOT_FOUND);
    assert_eq!(photo_status(&t, &stranger, h).await, StatusCode::NOT_FOUND);

    // Once an answer of a run on site A names it, site A's users see it and
    // site B's still get the same answer as for a photo that does not exist.
    let camera = admin.create_camera(&a, "Giriş", json!({})).await;
    let run = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO checklist_runs (id, template_id, template_version, purpose, target_kind, \
         target_id, site_id, status, started_at, updated_at) \
         VALUES ($1, $2, 1, 'maintenance', 'camera', $3, $4, 'in_progress', 0, 0)",
    )
    .bind(&run)
    .bind(gozcu_shared::checklists::builtin::CAMERA_MAINTENANCE.to_string())
    .bind(camera["id"].as_str().unwrap())
    .bind(&a)
    .execute(&t.app.db.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO checklist_answers (run_id, item_id, value, updated_at) VALUES ($1, 'lens', $2, 0)",
    )
    .bind(&run)
    .bind(json!([{ "sha256": h, "taken_at_ms": 0 }]).to_string())
    .execute(&t.app.db.pool)
    .await
    .unwrap();
    assert_eq!(photo_status(&t, &colleague, h).await, StatusCode::OK);
    assert_eq!(photo_status(&t, &stranger, h).await, StatusCode::NOT_FOUND);
}

async fn oversized_photos_and_chunks_are_refused(backend: Backend) {
    let t = TestApp::spawn(backend).await;
    let admin = t.admin().await;
    let max = t.app.settings.max_photo_bytes;
    let hash = PhotoHash::of(b"anything");

    let (s, b) = admin
        .post(
            "/api/v1/photos",
            json!({"sha256": hash, "size": max + 1, "content_type": "image/jpeg"}),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large")),
        "{b}"
    );
    let (s, b) = admin
        .post(
            "/api/v1/photos",
            json!({"sha256": hash, "size": 0, "content_type": "image/jpeg"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{b}");
    let (s, b) = admin
        .post(
            "/api/v1/photos",
            json!({"sha256": hash, "size": 10, "content_type": "image/svg+xml"}),
        )
        .await;
    assert_eq!(
        (s, b["fields"][0]["field"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("content_type")),
        "{b}"
    );
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM photo_uploads").await, 0);

    // A chunk announced above 4 MiB is refused before its body is read.
    let photo = jpeg_like(5 * MIB, 8);
    let hash = PhotoHash::of(&photo);
    let h = hash.as_str();
    let (s, _) = admin.post("/api/v1/photos", declare(&photo, &hash)).await;
    assert_eq!(s, StatusCode::CREATED);
    let (cookie, csrf) = raw_session(&t).await;
    let head = |framing: &str| {
        format!(
            "PATCH /api/v1/photos/{h} HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n{framing}\r\nConnection: close\r\n\r\n"
        )
    };
    let socket = raw_request(&t, &head(&format!("Content-Length: {}", 4 * MIB + 1)), b"").await;
    let answer = read_answer(socket).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body_too_large"), "{answer}");
    // The same without a Content-Length (chunked encoding): the server
    // counts, stops at the limit, and drops what it had written of that
    // request.
    let mut socket = raw_request(&t, &head("Transfer-Encoding: chunked"), b"").await;
    for piece in [&photo[..MIB], &photo[MIB..4 * MIB + 1]] {
        // The server may stop reading once it has seen enough.
        let _ = socket
            .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
            .await;
        let _ = socket.write_all(piece).await;
        let _ = socket.write_all(b"\r\n").await;
    }
    let _ = socket.write_all(b"0\r\n\r\n").await;
    let answer = read_answer(socket).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 413"),
        "{answer}"
    );
    let (_, st) = upload_status(&admin, h).await;
    assert_eq!(st["offset"], 0);
    assert_eq!(
        std::fs::metadata(t.data_dir.join("uploads").join(format!("{h}.part")))
            .unwrap()
            .len(),
        0
    );
    // Bytes past the declared size are refused the same way.
    let small = jpeg_like(100, 9);
    let small_hash = PhotoHash::of(&small);
    let (s, _) = admin
        .post("/api/v1/photos", declare(&small, &small_hash))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let mut longer = small.clone();
    longer.extend_from_slice(&[0; 50]);
    let (s, _, b) = patch(&admin, small_hash.as_str(), 0, &longer).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (_, st) = upload_status(&admin, small_hash.as_str()).await;
    assert_eq!(st["offset"], 0);
    // A chunk that is not sent as bytes is refused before it is read.
    let resp = admin
        .http
        .patch(format!("{}/api/v1/photos/{}", t.base, small_hash))
        .header("x-csrf-token", admin.csrf.clone().unwrap())
        .header(CONTENT_TYPE, "application/json")
        .header("upload-offset", "0")
        .body(small.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(scalar(&t, "SELECT COUNT(*) FROM photos").await, 0);
}

/// Everything the server answers on a raw socket until it closes; empty
/// when the connection was reset before an answer could be read.
async fn read_answer(mut socket: TcpStream) -> String {
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}
