//! Photo storage: content-addressed files and resumable uploads
//! (docs/photos.md).
//!
//! A photo is stored once, as `<data_dir>/photos/<first two hex digits>/<sha256>`,
//! and never changes. While it is being uploaded its bytes collect in
//! `<data_dir>/uploads/<sha256>.part`; the length of that file *is* the
//! upload's offset, so whatever reached the disk before a connection broke
//! counts, with no bookkeeping that could disagree with the file. What the
//! client declared (size, type) is a row in `photo_uploads`. When the last
//! byte arrives the whole file is hashed and its first bytes are checked
//! against the declared type; only then is it renamed into place and the
//! `photos` row and its audit entry written, in one transaction.
//!
//! Everything that changes an upload runs while holding the hash's [`Turn`].
//! A newer request for the same hash *takes over* the turn instead of waiting
//! for it: a phone whose link died mid-chunk leaves a request on the server
//! that may wait minutes for TCP to notice, and the resumed upload must not
//! queue behind it.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gozcu_shared::photos::{PhotoHash, PhotoType, PhotoUploadStatus, SNIFF_BYTES};
use sha2::{Digest, Sha256};
use sqlx::Row;
use tokio::io::AsyncWriteExt;
use tokio::sync::{watch, OwnedMutexGuard};

use uuid::Uuid;

use crate::app::App;
use crate::audit::{self, Actor, Event};

/// Bytes read from the start of a finished photo to find its type and size
/// in pixels: a JPEG's frame header comes after its EXIF block, which may
/// hold a thumbnail of up to 64 KiB, and there can be several such blocks.
const HEAD_BYTES: usize = 256 * 1024;

/// Expected outcomes of upload calls; the HTTP layer turns each into an
/// answer. I/O and database failures are ours and end as 500.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("no upload of this photo is in progress")]
    NoUpload,
    #[error("the upload is at byte {current}")]
    OffsetMismatch { current: u64 },
    #[error("the bytes received do not have the declared SHA-256")]
    HashMismatch,
    #[error("the bytes received are not a {declared} image")]
    TypeMismatch { declared: PhotoType },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// What a client declared for an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub hash: PhotoHash,
    pub size: u64,
    pub kind: PhotoType,
}

/// A complete photo as recorded in `photos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPhoto {
    pub hash: PhotoHash,
    pub size: u64,
    pub content_type: String,
}

impl StoredPhoto {
    fn status(&self) -> PhotoUploadStatus {
        PhotoUploadStatus {
            sha256: self.hash.to_string(),
            offset: self.size,
            size: self.size,
            complete: true,
        }
    }
}

/// The photo and upload directories, and the per-hash turns.
#[derive(Debug)]
pub struct PhotoStore {
    photos_dir: PathBuf,
    uploads_dir: PathBuf,
    turns: Mutex<HashMap<PhotoHash, Arc<Slot>>>,
}

#[derive(Debug)]
struct Slot {
    lock: Arc<tokio::sync::Mutex<()>>,
    /// The ticket of the newest request for this hash; a holder whose
    /// ticket is no longer the newest has been taken over.
    newest: watch::Sender<u64>,
}

/// The right to change one hash's upload, held by one request at a time.
#[derive(Debug)]
pub struct Turn<'a> {
    store: &'a PhotoStore,
    hash: PhotoHash,
    slot: Arc<Slot>,
    ticket: u64,
    newest: watch::Receiver<u64>,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Turn<'_> {
    /// Resolves once a newer request for the same hash wants the turn. A
    /// request streaming a chunk selects on this and stops writing, so the
    /// newer one gets the turn as soon as the current write is done.
    pub async fn taken_over(&mut self) {
        loop {
            if *self.newest.borrow_and_update() != self.ticket {
                return;
            }
            // The sender lives in the slot, which this turn keeps alive, so
            // `changed` can only fail if that invariant breaks; treat that
            // as never taken over rather than spinning.
            if self.newest.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut turns = self.store.turns.lock().unwrap_or_else(|p| p.into_inner());
        self.guard.take();
        // The map and this turn are the only owners: nobody waits for the
        // hash, so its slot goes (the map would otherwise grow by one entry
        // for every photo ever uploaded). Waiters clone the slot under the
        // same map lock, so none can appear between the check and the
        // removal.
        if Arc::strong_count(&self.slot) == 2 {
            turns.remove(&self.hash);
        }
    }
}

impl PhotoStore {
    /// Creates the directories below `data_dir` when they are missing.
    pub fn open(data_dir: &Path) -> std::io::Result<PhotoStore> {
        let photos_dir = data_dir.join("photos");
        let uploads_dir = data_dir.join("uploads");
        std::fs::create_dir_all(&photos_dir)?;
        std::fs::create_dir_all(&uploads_dir)?;
        Ok(PhotoStore {
            photos_dir,
            uploads_dir,
            turns: Mutex::new(HashMap::new()),
        })
    }

    /// Where a complete photo lives. Fanned out by the first two hex
    /// digits so that no directory holds more than a few thousand files
    /// even with a million photos.
    pub fn photo_path(&self, hash: &PhotoHash) -> PathBuf {
        self.photos_dir
            .join(&hash.as_str()[..2])
            .join(hash.as_str())
    }

    pub fn part_path(&self, hash: &PhotoHash) -> PathBuf {
        self.uploads_dir.join(format!("{hash}.part"))
    }

    /// Takes the hash's turn, taking it over from whoever holds it (see the
    /// module comment). Waits only for the current holder to notice.
    pub async fn turn(&self, hash: &PhotoHash) -> Turn<'_> {
        let slot = {
            let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
            turns
                .entry(hash.clone())
                .or_insert_with(|| {
                    Arc::new(Slot {
                        lock: Arc::new(tokio::sync::Mutex::new(())),
                        newest: watch::Sender::new(0),
                    })
                })
                .clone()
        };
        let mut ticket = 0;
        slot.newest.send_modify(|n| {
            *n += 1;
            ticket = *n;
        });
        let newest = slot.newest.subscribe();
        let guard = slot.lock.clone().lock_owned().await;
        Turn {
            store: self,
            hash: hash.clone(),
            slot,
            ticket,
            newest,
            guard: Some(guard),
        }
    }

    /// Bytes received so far; none when there is no part file.
    pub async fn part_len(&self, hash: &PhotoHash) -> std::io::Result<u64> {
        match tokio::fs::metadata(self.part_path(hash)).await {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }
}

pub async fn find_photo(app: &App, hash: &PhotoHash) -> Result<Option<StoredPhoto>, sqlx::Error> {
    let row = sqlx::query("SELECT size, content_type FROM photos WHERE sha256 = $1")
        .bind(hash.as_str())
        .fetch_optional(&app.db.pool)
        .await?;
    row.map(|r| {
        Ok(StoredPhoto {
            hash: hash.clone(),
            size: r.try_get::<i64, _>(0)? as u64,
            content_type: r.try_get(1)?,
        })
    })
    .transpose()
}

/// Whether a user limited to `sites` may see a photo: one they uploaded
/// themselves (it may not be in an answer yet), or one that an answer or an
/// amendment of a run on one of their sites names. Admins and users of every
/// site are not asked. A photo's hash alone must not be a key to it: a hash
/// seen in one site's report would otherwise open that photo to every user.
pub async fn visible_to(
    app: &App,
    hash: &PhotoHash,
    user_id: &Uuid,
    sites: &[Uuid],
) -> Result<bool, sqlx::Error> {
    let own: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM photos WHERE sha256 = $1 AND uploaded_by = $2")
            .bind(hash.as_str())
            .bind(user_id.to_string())
            .fetch_optional(&app.db.pool)
            .await?;
    if own.is_some() || sites.is_empty() {
        return Ok(own.is_some());
    }
    // Answers hold photos and signatures as JSON naming the hash; the hash
    // is 64 hex digits, so a substring match cannot hit anything else.
    let params: Vec<String> = (0..sites.len()).map(|i| format!("${}", i + 2)).collect();
    let sites_in = params.join(", ");
    let sql = format!(
        "SELECT 1 FROM checklist_runs r WHERE r.site_id IN ({sites_in}) AND (\
         EXISTS (SELECT 1 FROM checklist_answers a WHERE a.run_id = r.id AND a.value LIKE $1) \
         OR EXISTS (SELECT 1 FROM checklist_amendments m WHERE m.run_id = r.id \
         AND (m.old_value LIKE $1 OR m.new_value LIKE $1))) LIMIT 1"
    );
    let mut q = sqlx::query_scalar::<_, i64>(&sql).bind(format!("%{}%", hash.as_str()));
    for site in sites {
        q = q.bind(site.to_string());
    }
    Ok(q.fetch_optional(&app.db.pool).await?.is_some())
}

async fn find_upload(app: &App, hash: &PhotoHash) -> Result<Option<Upload>, sqlx::Error> {
    let row = sqlx::query("SELECT size, content_type FROM photo_uploads WHERE sha256 = $1")
        .bind(hash.as_str())
        .fetch_optional(&app.db.pool)
        .await?;
    let Some(r) = row else { return Ok(None) };
    let size = r.try_get::<i64, _>(0)? as u64;
    let content_type: String = r.try_get(1)?;
    // Only accepted types are ever written; an unknown one means the row
    // was edited by hand, and the upload is treated as absent.
    Ok(PhotoType::from_mime(&content_type).map(|kind| Upload {
        hash: hash.clone(),
        size,
        kind,
    }))
}

/// Where an upload stands, without taking its turn: a status call must
/// answer even while a dead connection's request still holds it. The
/// answer is what is on disk at this moment; an append checks the offset
/// again under the turn.
pub async fn status(app: &App, hash: &PhotoHash) -> Result<PhotoUploadStatus, PhotoError> {
    if let Some(photo) = find_photo(app, hash).await? {
        return Ok(photo.status());
    }
    let upload = find_upload(app, hash).await?.ok_or(PhotoError::NoUpload)?;
    let offset = app.photos.part_len(hash).await?;
    if offset == 0 {
        // The part may have just been renamed into place by a completing
        // request.
        if let Some(photo) = find_photo(app, hash).await? {
            return Ok(photo.status());
        }
    }
    Ok(PhotoUploadStatus {
        sha256: hash.to_string(),
        offset,
        size: upload.size,
        complete: false,
    })
}

/// Starts an upload or continues the one in progress. Returns the status
/// and whether a new upload was started.
///
/// The same declaration continues where the bytes on disk end. A different
/// declaration for the same hash starts over: one of the two is wrong, and
/// the newer one comes from the client that is still trying; the hash
/// check at the end keeps a wrong one from storing anything.
pub async fn begin(
    app: &App,
    _turn: &Turn<'_>,
    upload: &Upload,
    actor: &Actor,
) -> Result<(PhotoUploadStatus, bool), PhotoError> {
    let hash = &upload.hash;
    if let Some(photo) = find_photo(app, hash).await? {
        return Ok((photo.status(), false));
    }
    if let Some(photo) = recover(app, hash, actor).await? {
        return Ok((photo.status(), false));
    }
    let store = &app.photos;
    let existing = find_upload(app, hash).await?;
    let status = |offset| PhotoUploadStatus {
        sha256: hash.to_string(),
        offset,
        size: upload.size,
        complete: false,
    };
    if existing.as_ref() == Some(upload) {
        let offset = store.part_len(hash).await?;
        // Appends never go past the declared size; a longer file was not
        // written by us and cannot be continued.
        if offset <= upload.size {
            return Ok((status(offset), false));
        }
    }
    let mut tx = app.db.begin_write().await?;
    sqlx::query("DELETE FROM photo_uploads WHERE sha256 = $1")
        .bind(hash.as_str())
        .execute(tx.conn())
        .await?;
    sqlx::query("INSERT INTO photo_uploads (sha256, size, content_type, started_by, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(hash.as_str())
        .bind(upload.size as i64)
        .bind(upload.kind.mime())
        .bind(actor.id.clone())
        .bind(app.now_ms())
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    // Truncates whatever an earlier declaration left behind.
    tokio::fs::File::create(store.part_path(hash))
        .await?
        .sync_all()
        .await?;
    Ok((status(0), true))
}

/// A photo file in place without its row: the server stopped between the
/// rename and the commit. The file is checked again, as it has not been
/// vouched for by a commit, and recorded; a bad one is removed.
async fn recover(
    app: &App,
    hash: &PhotoHash,
    actor: &Actor,
) -> Result<Option<StoredPhoto>, PhotoError> {
    let path = app.photos.photo_path(hash);
    if !tokio::fs::try_exists(&path).await? {
        return Ok(None);
    }
    let (got, size, head) = inspect(path.clone()).await?;
    match PhotoType::sniff(&head) {
        Some(kind) if got == *hash => {
            let upload = Upload {
                hash: hash.clone(),
                size,
                kind,
            };
            record(app, &upload, kind.dimensions(&head), actor).await?;
            Ok(find_photo(app, hash).await?)
        }
        _ => {
            tracing::warn!(%hash, "removing a photo file that does not match its name");
            tokio::fs::remove_file(&path).await?;
            Ok(None)
        }
    }
}

/// What an append should do, decided under the turn.
pub enum Append {
    /// The photo is already stored (an earlier request finished it and its
    /// answer was lost): nothing to write.
    Complete(PhotoUploadStatus),
    Write(PartWriter),
}

/// Checks the client's offset against the bytes on disk and opens the part
/// for appending.
pub async fn start_append(
    app: &App,
    _turn: &Turn<'_>,
    hash: &PhotoHash,
    offset: u64,
    actor: &Actor,
) -> Result<Append, PhotoError> {
    if let Some(photo) = find_photo(app, hash).await? {
        return Ok(Append::Complete(photo.status()));
    }
    // The last chunk's request may have moved the file into place and then
    // failed to commit; the client resends, and must not start over.
    if let Some(photo) = recover(app, hash, actor).await? {
        return Ok(Append::Complete(photo.status()));
    }
    let upload = find_upload(app, hash).await?.ok_or(PhotoError::NoUpload)?;
    let current = app.photos.part_len(hash).await?;
    if current != offset {
        return Err(PhotoError::OffsetMismatch { current });
    }
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(app.photos.part_path(hash))
        .await?;
    Ok(Append::Write(PartWriter {
        file,
        upload,
        start: offset,
        written: 0,
    }))
}

/// Appends one request's bytes to a part file.
#[derive(Debug)]
pub struct PartWriter {
    file: tokio::fs::File,
    pub upload: Upload,
    pub start: u64,
    pub written: u64,
}

impl PartWriter {
    /// Bytes the upload may still take.
    pub fn remaining(&self) -> u64 {
        self.upload.size - self.start - self.written
    }

    /// Writes and flushes one piece of the body. Flushing hands the bytes
    /// to the kernel at once, so a status call sees them and they survive
    /// this request being cut off; fsync waits for the end of the request.
    pub async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.file.write_all(data).await?;
        self.file.flush().await?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Makes the bytes durable and returns the new offset. Called however
    /// the request ended, so that an offset the server reports survives a
    /// power cut.
    pub async fn finish(mut self) -> std::io::Result<u64> {
        self.file.flush().await?;
        self.file.sync_data().await?;
        Ok(self.start + self.written)
    }

    /// Drops this request's bytes: a malformed request changes nothing.
    pub async fn discard(mut self) -> std::io::Result<u64> {
        self.file.flush().await?;
        self.file.set_len(self.start).await?;
        self.file.sync_data().await?;
        Ok(self.start)
    }
}

/// After a request's bytes are on disk: rejects a file whose first bytes
/// are not the declared type as soon as they have arrived (rather than
/// after the rest of a large upload), and completes the photo when the
/// last byte is in.
pub async fn after_append(
    app: &App,
    _turn: &Turn<'_>,
    upload: &Upload,
    start: u64,
    offset: u64,
    actor: &Actor,
) -> Result<PhotoUploadStatus, PhotoError> {
    let part = app.photos.part_path(&upload.hash);
    let sniff = SNIFF_BYTES as u64;
    if start < sniff && offset >= sniff && offset < upload.size {
        let head = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
            let mut head = vec![0; SNIFF_BYTES];
            std::fs::File::open(part)?.read_exact(&mut head)?;
            Ok(head)
        })
        .await
        .map_err(std::io::Error::other)??;
        if PhotoType::sniff(&head) != Some(upload.kind) {
            discard(app, &upload.hash).await?;
            return Err(PhotoError::TypeMismatch {
                declared: upload.kind,
            });
        }
    }
    if offset < upload.size {
        return Ok(PhotoUploadStatus {
            sha256: upload.hash.to_string(),
            offset,
            size: upload.size,
            complete: false,
        });
    }
    complete(app, upload, actor).await
}

/// Verifies the whole part, moves it into place and records it.
async fn complete(
    app: &App,
    upload: &Upload,
    actor: &Actor,
) -> Result<PhotoUploadStatus, PhotoError> {
    let store = &app.photos;
    let hash = &upload.hash;
    let (got, size, head) = inspect(store.part_path(hash)).await?;
    if got != *hash || size != upload.size {
        discard(app, hash).await?;
        return Err(PhotoError::HashMismatch);
    }
    if PhotoType::sniff(&head) != Some(upload.kind) {
        discard(app, hash).await?;
        return Err(PhotoError::TypeMismatch {
            declared: upload.kind,
        });
    }
    let dest = store.photo_path(hash);
    let dir = dest.parent().map(Path::to_path_buf).unwrap_or_default();
    let part = store.part_path(hash);
    let uploads = store.uploads_dir.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        // The part was synced by the request that wrote its last byte; the
        // rename is atomic, and syncing both directories makes it durable
        // before the row that promises the file is committed.
        std::fs::rename(&part, &dest)?;
        std::fs::File::open(&dir)?.sync_all()?;
        std::fs::File::open(&uploads)?.sync_all()?;
        Ok(())
    })
    .await
    .map_err(std::io::Error::other)??;
    record(app, upload, upload.kind.dimensions(&head), actor).await?;
    Ok(PhotoUploadStatus {
        sha256: hash.to_string(),
        offset: size,
        size,
        complete: true,
    })
}

/// Writes the `photos` row and its audit entry, and forgets the upload, in
/// one transaction. A second completion of the same hash (possible only if
/// two server processes shared a data directory) inserts nothing and
/// writes no second audit entry.
async fn record(
    app: &App,
    upload: &Upload,
    dims: Option<(u32, u32)>,
    actor: &Actor,
) -> Result<(), sqlx::Error> {
    let now = app.now_ms();
    let mut tx = app.db.begin_write().await?;
    let inserted = sqlx::query("INSERT INTO photos (sha256, size, content_type, width, height, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING")
        .bind(upload.hash.as_str())
        .bind(upload.size as i64)
        .bind(upload.kind.mime())
        .bind(dims.map(|d| i64::from(d.0)))
        .bind(dims.map(|d| i64::from(d.1)))
        .bind(actor.id.clone())
        .bind(now)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if inserted == 1 {
        audit::append(
            &mut tx,
            app.db.backend,
            now,
            actor,
            Event {
                action: "upload",
                entity_type: "photo",
                entity_id: Some(upload.hash.to_string()),
                before: None,
                after: Some(serde_json::json!({
                    "size": upload.size,
                    "content_type": upload.kind.mime(),
                    "width": dims.map(|d| d.0),
                    "height": dims.map(|d| d.1),
                })),
            },
        )
        .await?;
    }
    sqlx::query("DELETE FROM photo_uploads WHERE sha256 = $1")
        .bind(upload.hash.as_str())
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// Forgets an upload whose bytes turned out wrong: the client has to start
/// over, and a part that can never verify must not keep disk space.
async fn discard(app: &App, hash: &PhotoHash) -> Result<(), PhotoError> {
    match tokio::fs::remove_file(app.photos.part_path(hash)).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let mut tx = app.db.begin_write().await?;
    sqlx::query("DELETE FROM photo_uploads WHERE sha256 = $1")
        .bind(hash.as_str())
        .execute(tx.conn())
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Hashes a whole file and keeps its first [`HEAD_BYTES`]; on a blocking
/// thread, as a 25 MiB file takes a moment.
async fn inspect(path: PathBuf) -> std::io::Result<(PhotoHash, u64, Vec<u8>)> {
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(path)?;
        let mut hasher = Sha256::new();
        let mut head = Vec::with_capacity(HEAD_BYTES);
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            let keep = (HEAD_BYTES - head.len()).min(n);
            head.extend_from_slice(&buf[..keep]);
            size += n as u64;
        }
        Ok((PhotoHash::from_digest(hasher), size, head))
    })
    .await
    .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_newer_request_takes_the_turn_over_and_idle_slots_go() {
        let dir = std::env::temp_dir().join(format!("gozcu-turns-{}", uuid::Uuid::new_v4()));
        let store = PhotoStore::open(&dir).unwrap();
        let hash = PhotoHash::of(b"photo");
        let other = PhotoHash::of(b"another photo");

        let mut first = store.turn(&hash).await;
        // Nobody else wants the hash, nor is a turn on another hash in the way.
        let unrelated = store.turn(&other).await;
        let quiet = tokio::time::timeout(Duration::from_millis(20), first.taken_over()).await;
        assert!(quiet.is_err(), "taken over with nobody asking");

        // The holder notices the newcomer and lets go; the newcomer then
        // gets the turn, and is itself not taken over.
        let (_, mut second) = tokio::join!(
            async {
                first.taken_over().await;
                drop(first);
            },
            store.turn(&hash),
        );
        let quiet = tokio::time::timeout(Duration::from_millis(20), second.taken_over()).await;
        assert!(quiet.is_err(), "the newest request keeps its turn");
        drop(second);
        drop(unrelated);
        assert!(store.turns.lock().unwrap().is_empty(), "slots are freed");
        let _ = std::fs::remove_dir_all(dir);
    }
}
