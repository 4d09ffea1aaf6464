-- Camera and recorder health (issue 5), PostgreSQL. Twin of ../sqlite/0009_health.sql.
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
    at              BIGINT NOT NULL,
    outcome         TEXT NOT NULL,
    codec           TEXT,
    profile         TEXT,
    width           BIGINT,
    height          BIGINT,
    declared_fps    DOUBLE PRECISION,
    measured_fps    DOUBLE PRECISION,
    bitrate_kbps    DOUBLE PRECISION,
    first_frame_ms  BIGINT,
    rtsp_rtt_ms     BIGINT,
    clock_offset_ms BIGINT,
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
    status_since    BIGINT NOT NULL,
    last_probe_at   BIGINT,
    -- The last probe whose outcome was `ok`.
    last_seen_at    BIGINT,
    last_outcome    TEXT,
    last_error      TEXT,
    fail_streak     BIGINT NOT NULL DEFAULT 0,
    ok_streak       BIGINT NOT NULL DEFAULT 0,
    bitrate_kbps    DOUBLE PRECISION,
    measured_fps    DOUBLE PRECISION,
    clock_offset_ms BIGINT,
    PRIMARY KEY (device_kind, device_id)
);
CREATE INDEX device_health_site ON device_health(site_id, status);

-- Per recorder channel: did the recorder record in the last minutes, as
-- proven by playing the recording back. `failing_since` is set when the
-- first failed check follows a good one and cleared by the next good one.
CREATE TABLE recording_status (
    recorder_id     TEXT NOT NULL,
    channel         BIGINT NOT NULL,
    camera_id       TEXT,
    site_id         TEXT NOT NULL,
    ok              BIGINT NOT NULL,
    checked_at      BIGINT NOT NULL,
    last_ok_at      BIGINT,
    failing_since   BIGINT,
    outcome         TEXT NOT NULL,
    error           TEXT,
    PRIMARY KEY (recorder_id, channel)
);
CREATE INDEX recording_status_site ON recording_status(site_id);
