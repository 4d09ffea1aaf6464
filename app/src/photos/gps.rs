//! The tablet's position for photos and signatures, when it has one.
//!
//! A position is a nice-to-have on a record, never a condition: in a
//! basement there is none, the technician may have refused the permission,
//! and a browser showing its permission prompt waits for an answer without
//! counting that time against the request's own timeout. So every request
//! is cut off by a timer of ours and answers `None`, and saving never waits
//! longer than [`TIMEOUT_MS`] for it. [`prefetch`] starts a request when a
//! form is opened or the camera is started, so that by the time a photo is
//! ready the position usually is too.

use std::cell::Cell;

use gozcu_shared::checklists::Gps;
use js_sys::{Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// The longest a photo waits for a position.
pub const TIMEOUT_MS: u32 = 4_000;
/// How old a position may be and still describe where a photo was taken:
/// a technician does not walk far in two minutes.
const MAX_AGE_MS: u32 = 120_000;
/// How long after a request found no position the next one is skipped.
const RETRY_AFTER_MS: u32 = 60_000;

thread_local! {
    /// The last position and when it was read (Unix ms).
    static LAST: Cell<Option<(Gps, i64)>> = const { Cell::new(None) };
    /// When the last request ended without a position.
    static FAILED_AT: Cell<Option<i64>> = const { Cell::new(None) };
    /// A request is running; others wait for it instead of starting their
    /// own.
    static ASKING: Cell<bool> = const { Cell::new(false) };
}

fn fresh_last(now: i64) -> Option<Gps> {
    LAST.get()
        .and_then(|(g, at)| (now - at <= i64::from(MAX_AGE_MS)).then_some(g))
}

/// Starts reading the position in the background, unless one is fresh or
/// being read.
pub fn prefetch() {
    if fresh_last(crate::sync::now_ms()).is_none() && !ASKING.get() {
        ASKING.set(true);
        leptos::task::spawn_local(async {
            let found = ask().await;
            let now = crate::sync::now_ms();
            match found {
                Some(g) => LAST.set(Some((g, now))),
                None => FAILED_AT.set(Some(now)),
            }
            ASKING.set(false);
        });
    }
}

/// The current position, or `None` when the browser has none to give
/// within [`TIMEOUT_MS`] (no fix, no permission, no geolocation at all).
/// After a request found nothing, the next [`RETRY_AFTER_MS`] answer `None`
/// at once, so a batch of photos taken in a basement waits once, not once
/// per photo.
pub async fn current() -> Option<Gps> {
    let now = crate::sync::now_ms();
    if let Some(g) = fresh_last(now) {
        return Some(g);
    }
    let failed_recently = FAILED_AT
        .get()
        .is_some_and(|at| now - at < i64::from(RETRY_AFTER_MS));
    if failed_recently && !ASKING.get() {
        return None;
    }
    prefetch();
    // The request ends by itself within TIMEOUT_MS (its own timer).
    while ASKING.get() {
        gloo_timers::future::sleep(std::time::Duration::from_millis(100)).await;
    }
    fresh_last(crate::sync::now_ms())
}

/// One request to the browser, cut off after [`TIMEOUT_MS`].
async fn ask() -> Option<Gps> {
    let geo = web_sys::window()?.navigator().geolocation().ok()?;
    let promise = Promise::new(&mut |resolve, _reject| {
        let ok = {
            let resolve = resolve.clone();
            Closure::once_into_js(move |pos: JsValue| {
                let _ = resolve.call1(&JsValue::NULL, &pos);
            })
        };
        let failed = {
            let resolve = resolve.clone();
            Closure::once_into_js(move |_: JsValue| {
                let _ = resolve.call1(&JsValue::NULL, &JsValue::NULL);
            })
        };
        let opts = web_sys::PositionOptions::new();
        opts.set_enable_high_accuracy(true);
        opts.set_timeout(TIMEOUT_MS);
        opts.set_maximum_age(MAX_AGE_MS);
        if geo
            .get_current_position_with_error_callback_and_options(
                ok.unchecked_ref(),
                Some(failed.unchecked_ref()),
                &opts,
            )
            .is_err()
        {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::NULL);
        }
        // A promise settles once: whichever of the answer and this timer
        // comes first wins.
        gloo_timers::callback::Timeout::new(TIMEOUT_MS, move || {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::NULL);
        })
        .forget();
    });
    let pos = JsFuture::from(promise).await.ok()?;
    // Read by name: web-sys only has these types behind its unstable APIs.
    let get = |o: &JsValue, k: &str| Reflect::get(o, &JsValue::from_str(k)).ok();
    let coords = get(&pos, "coords").filter(|c| c.is_object())?;
    let num = |k: &str| get(&coords, k).and_then(|v| v.as_f64());
    let accuracy = num("accuracy").unwrap_or(f64::NAN);
    let gps = Gps {
        lat: num("latitude")?,
        lon: num("longitude")?,
        accuracy_m: (accuracy.is_finite() && accuracy > 0.0).then_some(accuracy),
    };
    if !(gps.lat.is_finite() && gps.lon.is_finite()) {
        return None;
    }
    Some(gps)
}
