//! API integration tests: the real router over real HTTP on loopback, against
//! real SQLite and real PostgreSQL. Every test that touches the database runs
//! on both through [`both!`].

#[macro_use]
mod support;

mod audit;
mod auth;
mod checklists;
mod faults;
mod faults_sync;
mod hostile;
mod inventory;
mod jobs;
mod permissions;
mod photos;
mod reports;
mod schedules;
mod scope;
mod secrets;
mod sync;
mod warranty;
