//! `/api/v1/photos`: resumable, content-addressed photo upload and download
//! (docs/photos.md).
//!
//! A small tus-like protocol: `POST` declares an upload by hash, size and
//! type; `PATCH` appends a chunk at `Upload-Offset`; `GET …/upload` says how
//! many bytes the server holds. The body of a `PATCH` is streamed to disk as
//! it arrives, so the part of a chunk that got through before the link
//! dropped is kept and the next status call reports it. Storage itself is
//! [`crate::photos`]; this module reads requests and shapes answers.

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use axum::body::{Body, HttpBody};
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use gozcu_shared::photos::{
    PhotoHash, PhotoType, PhotoUploadRequest, PhotoUploadStatus, MAX_CHUNK_BYTES,
};
use gozcu_shared::{ErrorCode, FieldError, Permission};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::extract::Json;
use super::{Access, AppError, AppResult, Ctx, Route};
use crate::app::App;
use crate::photos::{self, Append, PhotoError, Upload};

/// tus's name for the byte a chunk starts at (request) and the bytes the
/// server holds (answer).
pub const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");

/// How long a `PATCH` may go without receiving a byte before the server
/// keeps what it has and ends it. A dead mobile link is usually noticed by
/// TCP only after many minutes; this frees the request sooner (a resumed
/// upload does not wait for it anyway, see [`crate::photos::Turn`]).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Photos are named by their content, so a cached copy can never be stale.
/// `private` keeps shared proxies from storing them.
const CACHE_FOREVER: &str = "private, max-age=31536000, immutable";

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::POST,
            path: "/api/v1/photos",
            access: Access::Permission(Permission::PhotosUpload),
            tag: "photos",
            summary: "Start or continue a resumable photo upload; answers the offset to send from (201 when started, 200 when continuing or already complete)",
            request: Some("PhotoUploadRequest"),
            response: Some("PhotoUploadStatus"),
            handler: post(begin),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/photos/{sha256}/upload",
            access: Access::Permission(Permission::PhotosUpload),
            tag: "photos",
            summary: "How many bytes of an upload the server holds (ask after a broken connection, then resume from `offset`)",
            request: None,
            response: Some("PhotoUploadStatus"),
            handler: get(status),
        },
        Route {
            method: Method::PATCH,
            path: "/api/v1/photos/{sha256}",
            access: Access::Permission(Permission::PhotosUpload),
            tag: "photos",
            summary: "Append a chunk (application/offset+octet-stream, at most 4 MiB) starting at the `Upload-Offset` header; 409 with the server's offset in `Upload-Offset` when it differs",
            request: None,
            response: Some("PhotoUploadStatus"),
            handler: patch(append),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/photos/{sha256}",
            access: Access::Permission(Permission::InventoryRead),
            tag: "photos",
            summary: "A stored photo's bytes, with its image type; cacheable forever",
            request: None,
            response: None,
            handler: get(download),
        },
    ]
}

/// The `{sha256}` path segment, accepted only as 64 lowercase hex digits so
/// that nothing else can reach a file name.
struct HashParam(PhotoHash);

impl<S: Send + Sync> FromRequestParts<S> for HashParam {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| bad_hash())?;
        PhotoHash::parse(&raw.0).map(HashParam).ok_or_else(bad_hash)
    }
}

fn bad_hash() -> AppError {
    AppError::Api {
        status: StatusCode::BAD_REQUEST,
        code: ErrorCode::BadRequest,
        fields: vec![FieldError::new("sha256", ErrorCode::BadRequest)],
        detail: Some("a photo hash is 64 lowercase hex digits".into()),
    }
}

/// An answer with the offset also in the `Upload-Offset` header, so a client
/// can resume from any answer, errors included, without parsing messages.
fn with_offset(resp: impl IntoResponse, offset: u64) -> Response {
    let mut resp = resp.into_response();
    resp.headers_mut()
        .insert(UPLOAD_OFFSET, HeaderValue::from(offset));
    resp
}

fn answer(status: StatusCode, s: PhotoUploadStatus) -> Response {
    let offset = s.offset;
    with_offset((status, Json(s)), offset)
}

fn photo_error(e: PhotoError) -> Response {
    match e {
        PhotoError::NoUpload => AppError::Api {
            status: StatusCode::NOT_FOUND,
            code: ErrorCode::NotFound,
            fields: Vec::new(),
            detail: Some("no upload of this photo is in progress; start one with POST".into()),
        }
        .into_response(),
        PhotoError::OffsetMismatch { current } => with_offset(
            AppError::Api {
                status: StatusCode::CONFLICT,
                code: ErrorCode::Conflict,
                fields: vec![FieldError::new("upload_offset", ErrorCode::Conflict)],
                detail: Some(format!(
                    "the server holds {current} bytes; send from there"
                )),
            },
            current,
        ),
        PhotoError::HashMismatch => AppError::Api {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: ErrorCode::Validation,
            fields: vec![FieldError::new("sha256", ErrorCode::Validation)],
            detail: Some(
                "the bytes received do not have the declared SHA-256; the upload was discarded, start it again"
                    .into(),
            ),
        }
        .into_response(),
        PhotoError::TypeMismatch { declared } => AppError::Api {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: ErrorCode::Validation,
            fields: vec![FieldError::new("content_type", ErrorCode::Validation)],
            detail: Some(format!(
                "the file is not a {declared} image; the upload was discarded"
            )),
        }
        .into_response(),
        PhotoError::Db(e) => AppError::from(e).into_response(),
        PhotoError::Io(e) => {
            AppError::Internal(anyhow::Error::from(e).context("photo storage")).into_response()
        }
    }
}

async fn begin(
    State(app): State<App>,
    ctx: Ctx,
    Json(req): Json<PhotoUploadRequest>,
) -> Result<Response, Response> {
    let hash = PhotoHash::parse(&req.sha256).ok_or_else(|| bad_hash().into_response())?;
    let kind = PhotoType::from_mime(&req.content_type).ok_or_else(|| {
        AppError::Api {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: ErrorCode::Validation,
            fields: vec![FieldError::new("content_type", ErrorCode::Validation)],
            detail: Some("a photo is image/jpeg, image/png or image/webp".into()),
        }
        .into_response()
    })?;
    if req.size == 0 {
        return Err(AppError::Api {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: ErrorCode::Validation,
            fields: vec![FieldError::new("size", ErrorCode::InvalidNumber)],
            detail: Some("a photo has at least one byte".into()),
        }
        .into_response());
    }
    let max = app.settings.max_photo_bytes;
    if req.size > max {
        return Err(AppError::Api {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: ErrorCode::BodyTooLarge,
            fields: vec![FieldError::new("size", ErrorCode::BodyTooLarge)],
            detail: Some(format!("a photo is at most {max} bytes")),
        }
        .into_response());
    }
    let upload = Upload {
        hash,
        size: req.size,
        kind,
    };
    let turn = app.photos.turn(&upload.hash).await;
    let (status, started) = photos::begin(&app, &turn, &upload, &ctx.actor())
        .await
        .map_err(photo_error)?;
    let code = if started {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(answer(code, status))
}

async fn status(State(app): State<App>, HashParam(hash): HashParam) -> Result<Response, Response> {
    let s = photos::status(&app, &hash).await.map_err(photo_error)?;
    Ok(answer(StatusCode::OK, s))
}

/// How a `PATCH` body ended.
enum Stop {
    /// All of it arrived.
    End,
    /// The connection broke or the client gave up mid-chunk.
    Broken,
    /// Nothing arrived for [`IDLE_TIMEOUT`].
    Idle,
    /// A newer request for the same upload wants to write.
    TakenOver,
    /// More than [`MAX_CHUNK_BYTES`].
    TooLarge,
    /// More bytes than the declared size leaves room for.
    PastEnd,
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

async fn append(
    State(app): State<App>,
    ctx: Ctx,
    HashParam(hash): HashParam,
    req: Request,
) -> Response {
    let http1 = req.version() < Version::HTTP_2;
    let mut consumed = false;
    let (Ok(mut resp) | Err(mut resp)) = write_chunk(&app, &ctx, hash, req, &mut consumed).await;
    // An answer given before the body was read to its end (the photo is
    // already complete, the offset is wrong, the chunk is too large…)
    // leaves the rest of the body in the connection. Saying so makes the
    // client open a new connection for its next request instead of
    // reusing this one and failing. HTTP/2 streams need no such care.
    if !consumed && http1 {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// [`append`]'s work; sets `consumed` once the body has been read to its end.
async fn write_chunk(
    app: &App,
    ctx: &Ctx,
    hash: PhotoHash,
    req: Request,
    consumed: &mut bool,
) -> Result<Response, Response> {
    let headers = req.headers();
    // tus's media type; plain octet-stream too, as some HTTP clients cannot
    // be told otherwise. Anything else is a request meant for another
    // endpoint, and writing it into a photo would only waste the upload.
    let media = header_str(headers, header::CONTENT_TYPE)
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !matches!(
        media.as_deref(),
        Some("application/offset+octet-stream" | "application/octet-stream")
    ) {
        return Err(AppError::Api {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: ErrorCode::BadRequest,
            fields: Vec::new(),
            detail: Some("send chunks as Content-Type: application/offset+octet-stream".into()),
        }
        .into_response());
    }
    let Some(offset) = header_str(headers, &UPLOAD_OFFSET).and_then(|v| v.parse::<u64>().ok())
    else {
        return Err(AppError::bad_request(
            ErrorCode::BadRequest,
            "the Upload-Offset header must give the byte this chunk starts at",
        )
        .into_response());
    };
    let length = header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    let too_large = || {
        AppError::Api {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: ErrorCode::BodyTooLarge,
            fields: Vec::new(),
            detail: Some(format!("a chunk is at most {MAX_CHUNK_BYTES} bytes")),
        }
        .into_response()
    };
    let past_end = || {
        AppError::bad_request(
            ErrorCode::BadRequest,
            "the chunk goes past the size declared for this upload",
        )
        .into_response()
    };
    if length.is_some_and(|n| n > MAX_CHUNK_BYTES) {
        return Err(too_large());
    }

    let mut turn = app.photos.turn(&hash).await;
    let actor = ctx.actor();
    let mut writer = match photos::start_append(app, &turn, &hash, offset, &actor)
        .await
        .map_err(photo_error)?
    {
        Append::Complete(s) => return Ok(answer(StatusCode::OK, s)),
        Append::Write(w) => w,
    };
    if length.is_some_and(|n| n > writer.remaining()) {
        return Err(with_offset(past_end(), offset));
    }
    let upload = writer.upload.clone();
    let mut body = req.into_body();
    let stop = loop {
        // The take-over is checked between writes only: a write is never
        // cut in half, so the file always ends on bytes that were received.
        let next = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx));
        let frame = tokio::select! {
            biased;
            () = turn.taken_over() => break Stop::TakenOver,
            f = tokio::time::timeout(IDLE_TIMEOUT, next) => f,
        };
        let data = match frame {
            Err(_) => break Stop::Idle,
            Ok(None) => break Stop::End,
            Ok(Some(Err(_))) => break Stop::Broken,
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) => data,
                // Trailers carry nothing for us.
                Err(_) => continue,
            },
        };
        let n = data.len() as u64;
        if writer.written + n > MAX_CHUNK_BYTES {
            break Stop::TooLarge;
        }
        if n > writer.remaining() {
            break Stop::PastEnd;
        }
        writer
            .write(&data)
            .await
            .map_err(|e| photo_error(e.into()))?;
    };
    let io = |e: std::io::Error| photo_error(e.into());
    match stop {
        Stop::End => {
            *consumed = true;
            let new_offset = writer.finish().await.map_err(io)?;
            let s = photos::after_append(app, &turn, &upload, offset, new_offset, &actor)
                .await
                .map_err(photo_error)?;
            Ok(answer(StatusCode::OK, s))
        }
        // A malformed request changes nothing.
        Stop::TooLarge => {
            let kept = writer.discard().await.map_err(io)?;
            Err(with_offset(too_large(), kept))
        }
        Stop::PastEnd => {
            let kept = writer.discard().await.map_err(io)?;
            Err(with_offset(past_end(), kept))
        }
        // What arrived is kept: that is what makes the upload resumable.
        // The answer mostly goes nowhere, but a client that is still there
        // learns where to resume.
        Stop::Broken => {
            let kept = writer.finish().await.map_err(io)?;
            Err(with_offset(
                AppError::bad_request(
                    ErrorCode::BadRequest,
                    "the chunk ended early; resume from Upload-Offset",
                ),
                kept,
            ))
        }
        Stop::Idle => {
            let kept = writer.finish().await.map_err(io)?;
            Err(with_offset(
                AppError::Api {
                    status: StatusCode::REQUEST_TIMEOUT,
                    code: ErrorCode::BadRequest,
                    fields: Vec::new(),
                    detail: Some("no bytes arrived for a minute; resume from Upload-Offset".into()),
                },
                kept,
            ))
        }
        Stop::TakenOver => {
            let kept = writer.finish().await.map_err(io)?;
            Err(with_offset(
                AppError::Api {
                    status: StatusCode::CONFLICT,
                    code: ErrorCode::Conflict,
                    fields: vec![FieldError::new("upload_offset", ErrorCode::Conflict)],
                    detail: Some("a newer request for this upload took over".into()),
                },
                kept,
            ))
        }
    }
}

async fn download(
    State(app): State<App>,
    ctx: Ctx,
    HashParam(hash): HashParam,
    req: Request,
) -> AppResult<Response> {
    let photo = photos::find_photo(&app, &hash)
        .await?
        .ok_or_else(AppError::not_found)?;
    // Out of scope answers exactly like absent, so that a hash cannot be
    // used to learn whether another site holds a photo.
    if let Some(sites) = ctx.scope() {
        if !photos::visible_to(&app, &hash, &ctx.user.id, sites).await? {
            return Err(AppError::not_found());
        }
    }
    let etag = format!("\"{hash}\"");
    let cached = header_str(req.headers(), header::IF_NONE_MATCH).is_some_and(|v| {
        v.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag || t == "*")
    });
    if cached {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, CACHE_FOREVER.to_owned()),
            ],
        )
            .into_response());
    }
    // ServeFile streams the file and answers Range requests, so a photo
    // viewed over a weak link can be fetched in parts too.
    let served = ServeFile::new(app.photos.photo_path(&hash))
        .oneshot(req)
        .await
        .unwrap_or_else(|never| match never {});
    if served.status() == StatusCode::NOT_FOUND {
        return Err(AppError::Internal(anyhow::anyhow!(
            "photo {hash} is recorded but its file is missing"
        )));
    }
    let mut resp = served.map(Body::new);
    let content = resp_is_content(resp.status());
    let h = resp.headers_mut();
    if content {
        let kind = HeaderValue::from_str(&photo.content_type).map_err(anyhow::Error::from)?;
        h.insert(header::CONTENT_TYPE, kind);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_FOREVER),
    );
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(anyhow::Error::from)?,
    );
    // The bytes were checked to be an image; should a browser still be
    // talked into rendering them as a page, it may run nothing.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(resp)
}

fn resp_is_content(status: StatusCode) -> bool {
    status == StatusCode::OK || status == StatusCode::PARTIAL_CONTENT
}
