//! One module per page.
//!
//! - [`login`]: the login form.
//! - [`sites`]: the site → building → location tree and its forms.
//! - [`devices`]: camera, recorder and switch lists (search, filter, sort, pages).
//! - [`device_edit`]: a device's detail and edit/create form, with credentials.
//! - [`history`]: a device's change history as field diffs.
//! - [`import`]: the camera CSV import with its dry run, and the export link.
//! - [`warranty`]: warranties ending soon.
//! - [`users`]: user administration.
//! - [`sync`]: rejected changes and conflicts to resolve.
//! - [`checklists`]: checklist runs on a device's page and `/runs/:id`.
//! - [`scan`]: open a device from the QR code on its label.
//! - [`faults`]: a device's faults panel, `/faults` and `/faults/:id`.
//! - [`maintenance`]: maintenance due per site, its calendar, and the schedules.

pub mod checklists;
pub mod device_edit;
pub mod devices;
pub mod faults;
pub mod history;
pub mod import;
pub mod login;
pub mod maintenance;
pub mod scan;
pub mod sites;
pub mod sync;
pub mod users;
pub mod warranty;
