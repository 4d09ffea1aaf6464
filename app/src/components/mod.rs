//! Reusable pieces of the UI.
//!
//! - [`header`]: the top bar with navigation, user, language and logout.
//! - [`form`]: a form's state and its fields with inline, translated errors.
//! - [`pager`]: previous/next paging with the total count.
//! - [`alert`]: a translated error or success banner.

pub mod alert;
pub mod form;
pub mod header;
pub mod pager;
