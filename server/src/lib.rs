//! The Gözcü server: the HTTP API, the background jobs and the `gozcu`
//! command line.
//!
//! Layout:
//! - [`cli`]: `gozcu serve | audit verify | user …` — thin, calls into the rest.
//! - [`config`]: layered, typed settings (defaults → `gozcu.toml` → `GOZCU_*`).
//! - [`db`]: the pool (SQLite or PostgreSQL through sqlx's Any driver), migrations,
//!   and the write lock that keeps SQLite writers from tripping over each other.
//! - [`clock`]: the only place that reads the time, with a fake for tests.
//! - [`crypto`]: AES-256-GCM sealing of camera and recorder passwords.
//! - [`audit`]: appending to and verifying the hash-chained audit log.
//! - [`auth`]: password hashing, sessions, login throttling.
//! - [`inventory`]: sites, buildings, locations and the three device tables.
//! - [`checklists`]: checklist templates, runs, answers and amendments in the database.
//! - [`photos`]: content-addressed photo files and resumable uploads (docs/photos.md).
//! - [`fieldwork`]: faults with their timeline, maintenance schedules and the due list (docs/faults.md).
//! - [`reports`]: PDF reports (survey, hand-over, checklist run) and QR label
//!   sheets typeset with typst; pure, with no database access.
//! - [`probe`]: the RTSP camera probe — connect, describe, play, decode the
//!   first key frame, measure (docs/probe.md).
//! - [`http`]: the axum router, built from one route table that also drives the
//!   permission checks and the OpenAPI document.
//! - [`app`]: [`app::App`], the state every handler shares, and start-up.

pub mod app;
pub mod audit;
pub mod auth;
pub mod checklists;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod db;
pub mod fieldwork;
pub mod http;
pub mod inventory;
pub mod jobs;
pub mod photos;
pub mod probe;
pub mod reports;
pub mod sync;
