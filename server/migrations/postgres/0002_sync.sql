-- Offline sync (docs/sync.md): the merged state of every synced record, the
-- server's change numbers that pulls page through, and each client's last
-- processed mutation. The inventory tables stay the query model; these
-- tables are what clients sync against.

CREATE TABLE sync_records (
    kind      TEXT NOT NULL,
    id        TEXT NOT NULL,
    -- The site the record belongs to (a site's own id), for scope filters.
    site_id   TEXT,
    -- Change number of the record's last change; unique and increasing.
    seq       BIGINT NOT NULL,
    deleted   BIGINT NOT NULL DEFAULT 0,
    -- Open conflicts, so the office can list records that need review.
    conflicts BIGINT NOT NULL DEFAULT 0,
    -- gozcu_shared::sync::RecordState as JSON.
    state     TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE UNIQUE INDEX sync_records_seq ON sync_records(seq);
CREATE INDEX sync_records_site ON sync_records(site_id, seq);

CREATE TABLE sync_clients (
    client_id      TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_processed BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
