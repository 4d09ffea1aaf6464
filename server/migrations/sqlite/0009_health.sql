-- Camera and recorder health (issue 5), SQLite. Twin of ../postgres/0009_health.sql.
--
-- Three parts of the server meet in these tables, so they are laid down
-- first and kept small: the probe scheduler writes `probe_results` and
-- `device_health`; the recorder checks write `recording_status`; the daily
-- report and the alerts only read them.

-- Every probe's report, kept for the health history chart and the clock and
-- bandwidth history until the retention limit removes it. `device_kind` is
-- 'camera' or 'recorder'. Times are Unix milliseconds.
CREATE TABLE probe_results (
    id              TEXT PRIMARY KEY,
    device_kind     TEXT NOT NULL,
    device_id       TEXT NOT NULL,
    at              INTEGER NOT NULL,
    outcome         TEXT NOT NULL,
    codec           TEXT,
    profile         TEXT,
    width           INTEGER,
    height          INTEGER,
    declared_fps    REAL,
    measured_fps    REAL,
    bitrate_kbps    REAL,
    first_frame_ms  INTEGER,
    rtsp_rtt_ms     INTEGER,
    clock_offset_ms INTEGER,
    error           TEXT
);
CREATE INDEX probe_results_device ON probe_results(device_id, at);
CREATE INDEX probe_results_at ON probe_results(at);

-- The current health of one device: its status derived with hysteresis
-- ('unknown', 'online', 'degraded', 'offline', 'auth_failed'), since when it
-- has had that status, and the latest figures. One row per probed device.
CREATE TABLE device_health (
    device_kind     TEXT NOT NULL,
    device_id       TEXT NOT NULL,
    site_id         TEXT NOT NULL,
    status          TEXT NOT NULL,
    status_since    INTEGER NOT NULL,
    last_probe_at   INTEGER,
    -- The last probe whose outcome was `ok`.
    last_seen_at    INTEGER,
    last_outcome    TEXT,
    last_error      TEXT,
    fail_streak     INTEGER NOT NULL DEFAULT 0,
    ok_streak       INTEGER NOT NULL DEFAULT 0,
    bitrate_kbps    REAL,
    measured_fps    REAL,
    clock_offset_ms INTEGER,
    PRIMARY KEY (device_kind, device_id)
);
CREATE INDEX device_health_site ON device_health(site_id, status);

-- Per recorder channel: did the recorder record in the last minutes, as
-- proven by playing the recording back. `failing_since` is set when the
-- first failed check follows a good one and cleared by the next good one.
CREATE TABLE recording_status (
    recorder_id     TEXT NOT NULL,
    channel         INTEGER NOT NULL,
    camera_id       TEXT,
    site_id         TEXT NOT NULL,
    ok              INTEGER NOT NULL,
    checked_at      INTEGER NOT NULL,
    last_ok_at      INTEGER,
    failing_since   INTEGER,
    outcome         TEXT NOT NULL,
    error           TEXT,
    PRIMARY KEY (recorder_id, channel)
);
CREATE INDEX recording_status_site ON recording_status(site_id);
