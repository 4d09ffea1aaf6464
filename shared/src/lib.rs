//! Gözcü's ground state: the types and rules that the server and the PWA must
//! agree on. Everything here is pure — no I/O, no clock reads, no randomness —
//! so it compiles for `wasm32-unknown-unknown` and runs the same on both sides.
//!
//! Layout:
//! - [`error`]: stable API error codes and their Turkish/English messages.
//! - [`i18n`]: the two UI languages.
//! - [`roles`]: roles and the permission matrix the server enforces.
//! - [`validate`]: field-level parsers (IP, MAC, serial, dates) — "parse, don't validate".
//! - [`inventory`]: sites, buildings, locations, cameras, recorders, switches and their rules.
//! - [`csv_import`]: the camera CSV format and its row-by-row checks.
//! - [`audit`]: the hash chain that makes the audit log tamper-evident.
//! - [`api`]: request and response bodies of `/api/v1`.
//! - [`api_fieldwork`]: bodies of the fault, schedule and maintenance endpoints.
//! - [`photos`]: photo hashes, accepted image types and the resumable upload protocol's bodies.
//! - [`sync`]: the offline sync core — hybrid logical clock, outbox, merge rules and push application.
//! - [`checklists`]: checklist templates, answer values, conditional items, completion and amendments.
//! - [`faults`]: fault severities, the status workflow and the checks on a new fault.
//! - [`schedules`]: maintenance every N days per device type or device, and the due list.
//! - [`probe`]: what a camera probe reports — its outcome and figures (docs/probe.md).

pub mod api;
pub mod api_fieldwork;
pub mod audit;
pub mod checklists;
pub mod csv_import;
pub mod error;
pub mod faults;
pub mod i18n;
pub mod inventory;
pub mod photos;
pub mod probe;
pub mod roles;
pub mod schedules;
pub mod sync;
pub mod validate;

pub use error::{ApiError, ErrorCode, FieldError};
pub use i18n::Lang;
pub use roles::{Permission, Role};
