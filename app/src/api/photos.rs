//! The resumable photo upload (docs/photos.md): declare, ask where an
//! upload stands, append a chunk at an offset. The queue that drives these
//! calls is [`crate::photos::uploader`].

use gloo_net::http::Request;
use gozcu_shared::photos::{PhotoUploadRequest, PhotoUploadStatus};

use super::{common, failure, json, mutation, net, send, ApiFailure, BASE};

/// How long one chunk may take before it is given up and the offset asked
/// again. A dead mobile connection can keep a request open for minutes;
/// the server keeps whatever bytes arrived, so aborting loses nothing.
const CHUNK_TIMEOUT_MS: u32 = 90_000;

/// The address the server serves a stored photo at.
pub fn url(sha256: &str) -> String {
    format!("{BASE}/photos/{sha256}")
}

/// `POST /photos`: starts an upload, or continues the one in progress, or
/// learns that the photo is stored already (`complete`).
pub async fn declare(req: &PhotoUploadRequest) -> Result<PhotoUploadStatus, ApiFailure> {
    super::post("/photos", req).await
}

/// `GET /photos/{sha256}/upload`; `None` when the server has neither the
/// photo nor an upload of it.
pub async fn status(sha256: &str) -> Result<Option<PhotoUploadStatus>, ApiFailure> {
    let req = common(Request::get(&format!("{BASE}/photos/{sha256}/upload")))
        .build()
        .map_err(net)?;
    let resp = req.send().await.map_err(net)?;
    match resp.status() {
        404 => Ok(None),
        _ if resp.ok() => json(resp).await.map(Some),
        _ => Err(failure(resp).await),
    }
}

/// `PATCH /photos/{sha256}`: the bytes of `chunk` belong at `offset`.
/// A 409 (the server holds a different number of bytes, or a newer request
/// took the upload over) comes back as an [`ApiFailure`] like any refusal;
/// the caller asks [`status`] and carries on from there.
pub async fn append(
    sha256: &str,
    offset: u64,
    chunk: &web_sys::Blob,
) -> Result<PhotoUploadStatus, ApiFailure> {
    let abort = web_sys::AbortController::new().map_err(|_| net("AbortController"))?;
    let signal = abort.signal();
    // The timer aborts the request if it is still running; once the answer
    // is in, aborting does nothing.
    let timer = gloo_timers::callback::Timeout::new(CHUNK_TIMEOUT_MS, move || abort.abort());
    let req = mutation(Request::patch(&format!("{BASE}/photos/{sha256}")))
        .header("Upload-Offset", &offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .abort_signal(Some(&signal))
        .body(chunk.clone())
        .map_err(net)?;
    let resp = send(req).await;
    drop(timer);
    json(resp?).await
}
