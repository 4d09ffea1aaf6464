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

thread_local! {
    /// The last position and when it was read (Unix ms).
    static LAST: Cell<Option<(Gps, i64)>> = const { Cell::new(None) };
}

fn fresh_last(now: i64) -> Option<Gps> {
    LAST.get()
        .and_then(|(g, at)| (now - at <= i64::from(MAX_AGE_MS)).then_some(g))
}

/// Starts reading the position in the background, if none is fresh.
pub fn prefetch() {
    if fresh_last(crate::sync::now_ms()).is_none() {
        leptos::task::spawn_local(async {
            let _ = current().await;
        });
    }
}

/// The current position, or `None` when the browser has none to give
/// within [`TIMEOUT_MS`] (no fix, no permission, no geolocation at all).
pub async fn current() -> Option<Gps> {
    let now = crate::sync::now_ms();
    if let Some(g) = fresh_last(now) {
        return Some(g);
    }
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
    LAST.set(Some((gps, crate::sync::now_ms())));
    Some(gps)
}
