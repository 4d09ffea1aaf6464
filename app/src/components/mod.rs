//! Reusable pieces of the UI.
//!
//! - [`header`]: the top bar with navigation, user, language and logout.
//! - [`form`]: a form's state and its fields with inline, translated errors.
//! - [`pager`]: previous/next paging with the total count.
//! - [`alert`]: a translated error or success banner.
//! - [`reauth`]: the password prompt when the session expired mid-work.
//! - [`update`]: the "new version ready" banner of the service worker.
//! - [`signature`]: the signature pad (drawn, named, stored like a photo).

pub mod alert;
pub mod form;
pub mod header;
pub mod pager;
pub mod reauth;
pub mod signature;
pub mod update;
