-- Field work (issue 4), SQLite. Twin of ../postgres/0005_fieldwork.sql.

-- Checklist templates, one row per version; `body` is the shared
-- `checklists::Template` JSON. Built-in templates are written at start and
-- marked, so that an admin's edit becomes a new version, never a change of
-- one a run already pinned.
CREATE TABLE checklist_templates (
    id         TEXT NOT NULL,
    version    INTEGER NOT NULL,
    key        TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    body       TEXT NOT NULL,
    builtin    INTEGER NOT NULL DEFAULT 0,
    created_by TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (id, version)
);

-- A run of one template version on a device or a site. Runs are created
-- offline too: the row is the projection of the run's sync record, written
-- through the same rules as the REST endpoints.
CREATE TABLE checklist_runs (
    id               TEXT PRIMARY KEY,
    template_id      TEXT NOT NULL,
    template_version INTEGER NOT NULL,
    purpose          TEXT NOT NULL,
    target_kind      TEXT NOT NULL,
    target_id        TEXT NOT NULL,
    site_id          TEXT NOT NULL REFERENCES sites(id),
    status           TEXT NOT NULL,
    started_by       TEXT,
    started_at       INTEGER NOT NULL,
    completed_by     TEXT,
    completed_at     INTEGER,
    -- {"lat", "lon", "accuracy_m"} when the tablet gave a position.
    gps              TEXT,
    fault_id         TEXT,
    updated_at       INTEGER NOT NULL,
    FOREIGN KEY (template_id, template_version) REFERENCES checklist_templates(id, version)
);
CREATE INDEX checklist_runs_target ON checklist_runs(target_id);
CREATE INDEX checklist_runs_site ON checklist_runs(site_id, status);
CREATE INDEX checklist_runs_fault ON checklist_runs(fault_id);

-- One row per answer (the projection of one sync record per answer).
CREATE TABLE checklist_answers (
    run_id     TEXT NOT NULL REFERENCES checklist_runs(id) ON DELETE CASCADE,
    item_id    TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (run_id, item_id)
);

-- Changes to a completed run: kept beside the answer they replaced.
CREATE TABLE checklist_amendments (
    id         TEXT PRIMARY KEY,
    run_id     TEXT NOT NULL REFERENCES checklist_runs(id) ON DELETE CASCADE,
    item_id    TEXT NOT NULL,
    old_value  TEXT NOT NULL,
    new_value  TEXT NOT NULL,
    reason     TEXT NOT NULL,
    by_user    TEXT NOT NULL,
    at         INTEGER NOT NULL
);
CREATE INDEX checklist_amendments_run ON checklist_amendments(run_id);

-- Faults (arıza kayıtları): opened from a device or a site; `device_kind`
-- and `device_id` are empty for a site-wide fault.
CREATE TABLE faults (
    id               TEXT PRIMARY KEY,
    number           INTEGER NOT NULL UNIQUE,
    site_id          TEXT NOT NULL REFERENCES sites(id),
    device_kind      TEXT,
    device_id        TEXT,
    title            TEXT NOT NULL,
    description      TEXT,
    severity         TEXT NOT NULL,
    status           TEXT NOT NULL,
    assignee_id      TEXT,
    vendor           TEXT,
    vendor_ticket    TEXT,
    -- The completed fault form (arıza formu) closing requires.
    fault_form_run_id TEXT,
    -- 'manual' or 'probe' (opened by a failed camera probe, issue 5).
    source           TEXT NOT NULL DEFAULT 'manual',
    opened_by        TEXT,
    opened_at        INTEGER NOT NULL,
    resolved_at      INTEGER,
    closed_at        INTEGER,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX faults_site ON faults(site_id, status);
CREATE INDEX faults_device ON faults(device_id);

-- The fault's timeline: notes and status changes, oldest first.
CREATE TABLE fault_events (
    id         TEXT PRIMARY KEY,
    fault_id   TEXT NOT NULL REFERENCES faults(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    from_status TEXT,
    to_status  TEXT,
    note       TEXT,
    by_user    TEXT,
    at         INTEGER NOT NULL
);
CREATE INDEX fault_events_fault ON fault_events(fault_id, at);

-- Maintenance every N days for a device type or one device.
CREATE TABLE maintenance_schedules (
    id          TEXT PRIMARY KEY,
    target_kind TEXT NOT NULL,
    device_kind TEXT,
    device_id   TEXT,
    every_days  INTEGER NOT NULL,
    template_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
