//! The login kept for working offline.
//!
//! When the app starts and the server cannot be reached, the last session
//! the server confirmed is used again, as long as that confirmation is no
//! older than the server's `offline_days`. Which user's database to look in
//! is remembered in `localStorage` (a user id is no secret; the session
//! itself stays in that user's IndexedDB). An explicit logout forgets the
//! offline login, never the outbox.

use std::cell::RefCell;

use gloo_storage::{LocalStorage, Storage};
use gozcu_shared::api::SessionInfo;
use uuid::Uuid;

use crate::store::Store;

const LAST_USER: &str = "gozcu.user";
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

thread_local! {
    static CURRENT: RefCell<Option<SessionInfo>> = const { RefCell::new(None) };
}

/// Tells the sync code which session the app runs with.
pub fn set_current(s: Option<SessionInfo>) {
    CURRENT.with_borrow_mut(|c| *c = s);
}

pub fn current() -> Option<SessionInfo> {
    CURRENT.with_borrow(Clone::clone)
}

pub fn remember_user(user: Uuid) {
    // Without storage the app still works online; only the offline start
    // is lost.
    let _ = LocalStorage::set(LAST_USER, user.to_string());
}

/// The stored session of the last user, if it may still be used offline.
pub async fn offline_session() -> Option<SessionInfo> {
    let user: String = LocalStorage::get(LAST_USER).ok()?;
    let user = Uuid::parse_str(&user).ok()?;
    let store = Store::open(user).await.ok()?;
    let login = store.login().await.ok()??;
    let age = super::now_ms() - login.last_contact_ms;
    let limit = i64::from(login.session.offline_days) * DAY_MS;
    (login.session.user.id == user && (0..=limit).contains(&age)).then_some(login.session)
}

/// An explicit logout: the next start without network shows the login page.
pub async fn forget(user: Uuid) {
    if let Ok(store) = Store::open(user).await {
        let _ = store.clear_login().await;
    }
}
