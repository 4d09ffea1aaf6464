-- Photos taken on site (docs/photos.md). The bytes live in files under
-- <data_dir>/photos named by their SHA-256; these tables say which photos
-- are complete and which uploads are under way. The SQLite twin is
-- ../sqlite/0004_photos.sql.

-- A row is written only once the file has been verified against its hash
-- and moved into place, in the same transaction as its audit entry. Photos
-- are immutable: a hash names one content forever.
CREATE TABLE photos (
    sha256       TEXT PRIMARY KEY,
    size         BIGINT NOT NULL,
    -- Declared by the uploader and checked against the file's first bytes.
    content_type TEXT NOT NULL,
    -- Pixels as stored, before EXIF rotation; NULL when the header was not
    -- understood.
    width        BIGINT,
    height       BIGINT,
    -- No foreign key: a photo is evidence of work done and outlives the
    -- account that took it (users can be deleted); the audit entry keeps
    -- the name.
    uploaded_by  TEXT,
    created_at   BIGINT NOT NULL
);

-- An upload in progress: what the client declared. The bytes received so
-- far are <data_dir>/uploads/<sha256>.part, whose length is the offset; the
-- file is the truth, so a chunk cut mid-transfer needs no bookkeeping here.
CREATE TABLE photo_uploads (
    sha256       TEXT PRIMARY KEY,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    started_by   TEXT,
    created_at   BIGINT NOT NULL
);
