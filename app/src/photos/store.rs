//! The photos of one user in IndexedDB, in a database of their own
//! (`gozcu-photos-<user id>`), apart from the replica's (`gozcu-<user id>`,
//! [`crate::store`]): photos are large binary values that the replica's
//! start-up read (everything, as JSON) must never touch, and the two can
//! change their schema independently.
//!
//! Stores:
//! - `photos`: sha256 → `{blob, content_type, width, height, taken_at_ms,
//!   size}`. The `Blob` is stored as it is (IndexedDB keeps binary values
//!   natively, without a base64 detour) and is never deleted by the app: a
//!   photo is evidence, and its local copy is what the screen shows without
//!   a network;
//! - `queue`: sha256 → `{sha256, queued_at_ms, size}` for every photo not
//!   yet confirmed complete by the server.
//!
//! A photo and its queue entry are written in one transaction, so a stored
//! photo is never forgotten by the uploader.

use js_sys::{Object, Reflect};
use rexie::{ObjectStore, Rexie, TransactionMode};
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};

use crate::store::{Result, StoreError};

const PHOTOS: &str = "photos";
const QUEUE: &str = "queue";
const VERSION: u32 = 1;

pub fn db_name(user: Uuid) -> String {
    format!("gozcu-photos-{user}")
}

/// One photo as kept on the device.
#[derive(Debug, Clone)]
pub struct StoredPhoto {
    pub blob: web_sys::Blob,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub taken_at_ms: Option<i64>,
    pub size: u64,
}

/// A photo waiting for its upload.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    pub sha256: String,
    pub queued_at_ms: i64,
    pub size: u64,
}

/// An open per-user photo database.
#[derive(Debug)]
pub struct PhotoStore {
    db: Rexie,
}

fn set(o: &Object, key: &str, value: JsValue) {
    // Setting a property on a plain object we just made cannot fail.
    let _ = Reflect::set(o, &JsValue::from_str(key), &value);
}

fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn num(o: &JsValue, key: &str) -> Option<f64> {
    get(o, key).as_f64()
}

fn bad(what: &str) -> StoreError {
    StoreError(format!("a stored photo has no valid {what}"))
}

impl StoredPhoto {
    fn to_js(&self) -> JsValue {
        let o = Object::new();
        set(&o, "blob", self.blob.clone().into());
        set(&o, "content_type", JsValue::from_str(&self.content_type));
        set(&o, "width", JsValue::from(self.width));
        set(&o, "height", JsValue::from(self.height));
        set(
            &o,
            "taken_at_ms",
            self.taken_at_ms
                .map_or(JsValue::NULL, |t| JsValue::from_f64(t as f64)),
        );
        set(&o, "size", JsValue::from_f64(self.size as f64));
        o.into()
    }

    fn from_js(v: &JsValue) -> Result<StoredPhoto> {
        Ok(StoredPhoto {
            blob: get(v, "blob").dyn_into().map_err(|_| bad("blob"))?,
            content_type: get(v, "content_type")
                .as_string()
                .ok_or_else(|| bad("content type"))?,
            width: num(v, "width").ok_or_else(|| bad("width"))? as u32,
            height: num(v, "height").ok_or_else(|| bad("height"))? as u32,
            taken_at_ms: num(v, "taken_at_ms").map(|t| t as i64),
            size: num(v, "size").ok_or_else(|| bad("size"))? as u64,
        })
    }
}

impl Queued {
    fn to_js(&self) -> JsValue {
        let o = Object::new();
        set(&o, "sha256", JsValue::from_str(&self.sha256));
        set(
            &o,
            "queued_at_ms",
            JsValue::from_f64(self.queued_at_ms as f64),
        );
        set(&o, "size", JsValue::from_f64(self.size as f64));
        o.into()
    }

    fn from_js(v: &JsValue) -> Option<Queued> {
        Some(Queued {
            sha256: get(v, "sha256").as_string()?,
            queued_at_ms: num(v, "queued_at_ms")? as i64,
            size: num(v, "size")? as u64,
        })
    }
}

impl PhotoStore {
    pub async fn open(user: Uuid) -> Result<PhotoStore> {
        let db = Rexie::builder(&db_name(user))
            .version(VERSION)
            .add_object_store(ObjectStore::new(PHOTOS))
            .add_object_store(ObjectStore::new(QUEUE))
            .build()
            .await?;
        Ok(PhotoStore { db })
    }

    /// Stores a photo and queues its upload. A photo stored already (the
    /// same bytes picked twice) is left as it is and not queued again: it
    /// is either uploaded or still in the queue. Returns whether it was new.
    pub async fn add(&self, sha256: &str, photo: &StoredPhoto, now_ms: i64) -> Result<bool> {
        let tx = self
            .db
            .transaction(&[PHOTOS, QUEUE], TransactionMode::ReadWrite)?;
        let photos = tx.store(PHOTOS)?;
        let key = JsValue::from_str(sha256);
        if photos.key_exists(key.clone()).await? {
            tx.done().await?;
            return Ok(false);
        }
        photos.put(&photo.to_js(), Some(&key)).await?;
        let queued = Queued {
            sha256: sha256.to_owned(),
            queued_at_ms: now_ms,
            size: photo.size,
        };
        tx.store(QUEUE)?.put(&queued.to_js(), Some(&key)).await?;
        tx.done().await?;
        Ok(true)
    }

    pub async fn get(&self, sha256: &str) -> Result<Option<StoredPhoto>> {
        let tx = self.db.transaction(&[PHOTOS], TransactionMode::ReadOnly)?;
        let v = tx.store(PHOTOS)?.get(JsValue::from_str(sha256)).await?;
        tx.done().await?;
        v.map(|v| StoredPhoto::from_js(&v)).transpose()
    }

    /// The photos waiting for their upload, oldest first. The queue holds
    /// a day's photos at most, so it is read whole and sorted here rather
    /// than kept in an index.
    pub async fn queue(&self) -> Result<Vec<Queued>> {
        let tx = self.db.transaction(&[QUEUE], TransactionMode::ReadOnly)?;
        let all = tx.store(QUEUE)?.get_all(None, None).await?;
        tx.done().await?;
        let mut out: Vec<Queued> = all.iter().filter_map(Queued::from_js).collect();
        // Unstable is enough (no two entries share a hash) and keeps the
        // stable sort's code out of the download.
        out.sort_unstable_by(|a, b| (a.queued_at_ms, &a.sha256).cmp(&(b.queued_at_ms, &b.sha256)));
        Ok(out)
    }

    /// The server holds the photo: it leaves the queue. The local copy
    /// stays.
    pub async fn uploaded(&self, sha256: &str) -> Result<()> {
        let tx = self.db.transaction(&[QUEUE], TransactionMode::ReadWrite)?;
        tx.store(QUEUE)?.delete(JsValue::from_str(sha256)).await?;
        tx.done().await?;
        Ok(())
    }
}
