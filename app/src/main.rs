//! The Gözcü PWA: a client-side rendered Leptos app served by the Gözcü
//! server next to its API.
//!
//! Layout:
//! - [`api`]: the only code that fetches; typed calls per resource.
//! - [`i18n`]: Turkish and English strings and the language switch.
//! - [`routes`]: one module per page.
//! - [`components`]: header, form fields, tables and other shared pieces.
//! - [`session`]: the root component, the session and the router.
//! - [`store`]: the only code that touches IndexedDB (replica, outbox).
//! - [`sync`]: the only path an inventory change takes (outbox first), and
//!   the engine that pushes and pulls.
//! - [`photos`]: photos and signatures kept on the tablet (their own
//!   IndexedDB database) and their resumable upload.

mod api;
mod components;
mod i18n;
mod photos;
mod routes;
mod session;
mod store;
mod sync;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(session::App);
}
