//! Photos and drawn signatures taken on site, kept on the tablet first and
//! uploaded later (docs/photos.md).
//!
//! A picked image is decoded, downscaled to at most [`MAX_SIDE`] pixels on
//! its long side, re-encoded as JPEG and hashed in the browser; the result
//! is stored in the user's photo database and queued for upload before the
//! form that asked for it learns its hash, so a photo that was shown as
//! added is never lost, whatever happens to the network or the tab.
//!
//! Layout:
//! - [`capture`]: decode, downscale, re-encode, hash (browser APIs only);
//! - [`store`]: the per-user IndexedDB database of photos and the queue;
//! - [`uploader`]: drains the queue with the resumable upload;
//! - [`gps`]: the tablet's position, when it has one to give;
//! - [`input`]: the [`PhotoInput`] field, [`PhotoImg`] and the queue's
//!   progress line [`PhotoQueueStatus`].

pub mod capture;
pub mod gps;
pub mod input;
pub mod store;
pub mod uploader;

use std::cell::RefCell;
use std::rc::Rc;

use uuid::Uuid;
use wasm_bindgen::JsValue;

use crate::store::StoreError;
use store::{PhotoStore, StoredPhoto};

#[allow(unused_imports)]
pub use input::{PhotoImg, PhotoInput, PhotoQueueStatus};

/// The longest side a stored photo may have. 2048 px keeps a label's serial
/// number and a cable's colour readable while a photo stays well under a
/// megabyte, so a day of photos fits a tablet and uploads over one bar of
/// signal.
pub const MAX_SIDE: u32 = 2048;

/// The JPEG quality of a re-encoded photo.
pub const JPEG_QUALITY: f64 = 0.85;

/// Why a photo could not be kept.
#[derive(Debug, Clone, PartialEq)]
pub enum PhotoError {
    /// No user is logged in, so there is no database to keep it in.
    NotLoggedIn,
    /// The browser could not decode the file as an image.
    Unreadable,
    /// IndexedDB refused (full, or private browsing).
    Store(StoreError),
    /// Some other browser API failed; the text is for the console.
    Browser(String),
}

impl From<StoreError> for PhotoError {
    fn from(e: StoreError) -> PhotoError {
        PhotoError::Store(e)
    }
}

impl From<JsValue> for PhotoError {
    fn from(e: JsValue) -> PhotoError {
        PhotoError::Browser(js_text(&e))
    }
}

/// A JavaScript error as text, for the console.
pub(crate) fn js_text(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            js_sys::Reflect::get(e, &JsValue::from_str("message"))
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

thread_local! {
    /// The open database of the user it belongs to; opening one costs a
    /// round trip to IndexedDB, so it is kept for the session.
    static OPEN: RefCell<Option<(Uuid, Rc<PhotoStore>)>> = const { RefCell::new(None) };
}

/// The photo database of `user`, opened once.
pub(crate) async fn store_for(user: Uuid) -> Result<Rc<PhotoStore>, StoreError> {
    if let Some(s) = OPEN.with_borrow(|o| {
        o.as_ref()
            .and_then(|(u, s)| (*u == user).then(|| s.clone()))
    }) {
        return Ok(s);
    }
    let store = Rc::new(PhotoStore::open(user).await?);
    OPEN.with_borrow_mut(|o| *o = Some((user, store.clone())));
    Ok(store)
}

/// The logged-in user, as the session last told the sync code.
fn current_user() -> Option<Uuid> {
    crate::sync::login::current().map(|s| s.user.id)
}

/// The photo database of the logged-in user.
pub(crate) async fn current_store() -> Result<Rc<PhotoStore>, PhotoError> {
    let user = current_user().ok_or(PhotoError::NotLoggedIn)?;
    Ok(store_for(user).await?)
}

/// Keeps an encoded image (a downscaled photo or a drawn signature) in the
/// user's photo database and queues its upload; returns its SHA-256, the
/// name the server will know it by. Saving the same bytes twice stores them
/// once.
pub async fn save(
    blob: web_sys::Blob,
    content_type: &str,
    width: u32,
    height: u32,
    taken_at_ms: Option<i64>,
) -> Result<String, PhotoError> {
    let sha256 = capture::sha256_hex(&blob).await?;
    let store = current_store().await?;
    let photo = StoredPhoto {
        size: blob.size() as u64,
        blob,
        content_type: content_type.to_owned(),
        width,
        height,
        taken_at_ms,
    };
    if store.add(&sha256, &photo, crate::sync::now_ms()).await? {
        uploader::queued(photo.size);
    }
    Ok(sha256)
}

/// Where an `<img>` can load a photo from: an object URL of the local copy
/// when this tablet has one (it shows without a network), else the
/// server's address. An object URL is revoked when this value is dropped,
/// so a page holds it for as long as the image is shown.
#[derive(Debug)]
pub struct PhotoUrl {
    url: String,
    local: bool,
}

impl PhotoUrl {
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// Whether the URL points at this tablet's copy.
    pub fn is_local(&self) -> bool {
        self.local
    }
}

impl Drop for PhotoUrl {
    fn drop(&mut self) {
        if self.local {
            let _ = web_sys::Url::revoke_object_url(&self.url);
        }
    }
}

/// The URL to show the photo `sha256` with; see [`PhotoUrl`].
pub async fn url(sha256: &str) -> PhotoUrl {
    let local = match current_store().await {
        Ok(store) => store.get(sha256).await.ok().flatten(),
        Err(_) => None,
    };
    if let Some(url) = local.and_then(|p| web_sys::Url::create_object_url_with_blob(&p.blob).ok()) {
        return PhotoUrl { url, local: true };
    }
    PhotoUrl {
        url: crate::api::photos::url(sha256),
        local: false,
    }
}
