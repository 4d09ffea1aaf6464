-- Gözcü foundation schema (PostgreSQL). The SQLite twin lives in
-- ../sqlite/0001_foundation.sql and must stay column-for-column equal:
-- the server runs the same queries on both through sqlx's Any driver, so
-- integers are 64-bit, flags are 0/1 integers, times are Unix milliseconds
-- and ids are UUID text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active        BIGINT NOT NULL DEFAULT 1,
    -- Login throttling: consecutive failures and the lock they caused.
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until  BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- Only a hash of the session token is stored, so a database dump cannot be
-- replayed as a login.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ip         TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE sites (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    code       TEXT UNIQUE,
    address    TEXT,
    notes      TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A user limited to some sites; no rows means every site.
CREATE TABLE user_sites (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    site_id TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, site_id)
);

CREATE TABLE buildings (
    id         TEXT PRIMARY KEY,
    site_id    TEXT NOT NULL REFERENCES sites(id),
    name       TEXT NOT NULL,
    notes      TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (site_id, name)
);

CREATE TABLE locations (
    id          TEXT PRIMARY KEY,
    building_id TEXT NOT NULL REFERENCES buildings(id),
    name        TEXT NOT NULL,
    floor       TEXT,
    notes       TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (building_id, name)
);

-- The columns every device table shares are repeated in each; see
-- server/src/inventory/devices.rs for the one place that reads and writes them.
CREATE TABLE recorders (
    id               TEXT PRIMARY KEY,
    site_id          TEXT NOT NULL REFERENCES sites(id),
    location_id      TEXT REFERENCES locations(id),
    name             TEXT NOT NULL,
    make             TEXT NOT NULL,
    model            TEXT,
    serial           TEXT,
    mac              TEXT,
    ip               TEXT,
    firmware         TEXT,
    status           TEXT NOT NULL,
    install_date     TEXT,
    warranty_start   TEXT,
    warranty_end     TEXT,
    asset_number     TEXT,
    supplier         TEXT,
    purchase_date    TEXT,
    notes            TEXT,
    search           TEXT NOT NULL,
    cred_username    TEXT,
    cred_secret      TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    channels         BIGINT NOT NULL,
    storage_tb       DOUBLE PRECISION,
    retention_days   BIGINT
);
CREATE INDEX recorders_site ON recorders(site_id, name);

CREATE TABLE cameras (
    id               TEXT PRIMARY KEY,
    site_id          TEXT NOT NULL REFERENCES sites(id),
    location_id      TEXT REFERENCES locations(id),
    name             TEXT NOT NULL,
    make             TEXT NOT NULL,
    model            TEXT,
    serial           TEXT,
    mac              TEXT,
    ip               TEXT,
    firmware         TEXT,
    status           TEXT NOT NULL,
    install_date     TEXT,
    warranty_start   TEXT,
    warranty_end     TEXT,
    asset_number     TEXT,
    supplier         TEXT,
    purchase_date    TEXT,
    notes            TEXT,
    search           TEXT NOT NULL,
    cred_username    TEXT,
    -- AES-256-GCM ciphertext (nonce ‖ ciphertext, base64) of the password.
    cred_secret      TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    rtsp_main_path   TEXT,
    rtsp_sub_path    TEXT,
    recorder_id      TEXT REFERENCES recorders(id),
    recorder_channel BIGINT,
    public           BIGINT NOT NULL DEFAULT 0,
    tags             TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX cameras_site ON cameras(site_id, name);
CREATE INDEX cameras_name ON cameras(name);
CREATE INDEX cameras_recorder ON cameras(recorder_id);
CREATE INDEX cameras_warranty ON cameras(warranty_end);

CREATE TABLE switches (
    id               TEXT PRIMARY KEY,
    site_id          TEXT NOT NULL REFERENCES sites(id),
    location_id      TEXT REFERENCES locations(id),
    name             TEXT NOT NULL,
    make             TEXT NOT NULL,
    model            TEXT,
    serial           TEXT,
    mac              TEXT,
    ip               TEXT,
    firmware         TEXT,
    status           TEXT NOT NULL,
    install_date     TEXT,
    warranty_start   TEXT,
    warranty_end     TEXT,
    asset_number     TEXT,
    supplier         TEXT,
    purchase_date    TEXT,
    notes            TEXT,
    search           TEXT NOT NULL,
    cred_username    TEXT,
    cred_secret      TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    ports            BIGINT NOT NULL,
    poe_budget_w     DOUBLE PRECISION,
    uplink           TEXT
);
CREATE INDEX switches_site ON switches(site_id, name);

-- Identity keys that must be unique across every kind of device:
-- 'ip:<addr>', 'mac:<addr>', 'serial:<make>\x1f<SERIAL>'. One primary key
-- makes the database, not a racy check, the judge of duplicates.
CREATE TABLE device_identities (
    identity  TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,
    device_id TEXT NOT NULL
);
CREATE INDEX device_identities_device ON device_identities(device_id);

-- A warranty reminder acknowledged for one end date; changing the end date
-- brings the reminder back.
CREATE TABLE warranty_acks (
    kind         TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    warranty_end TEXT NOT NULL,
    acked_by     TEXT NOT NULL,
    acked_at     BIGINT NOT NULL,
    PRIMARY KEY (kind, device_id, warranty_end)
);

-- Append-only and hash-chained (shared/src/audit.rs). The triggers stop
-- casual edits; the chain catches the rest.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor_id    TEXT,
    actor_name  TEXT NOT NULL,
    action      TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id   TEXT,
    before      TEXT,
    after       TEXT,
    ip          TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_entity ON audit_log(entity_type, entity_id, seq);

CREATE FUNCTION audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();

-- Background work as rows (probes, snapshot comparisons, exports in later
-- issues), leased so that several server processes can share them.
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    run_at      BIGINT NOT NULL,
    lease_until BIGINT NOT NULL DEFAULT 0,
    leased_by   TEXT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(run_at);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
