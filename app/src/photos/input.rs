//! The photo field of a form, an image that shows a stored photo, and the
//! upload queue's progress line.

use gozcu_shared::checklists::PhotoRef;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::{capture, gps, uploader, PhotoError, PhotoUrl};
use crate::i18n::{t, tr, use_lang, K};

/// A photo answer: "take photo" (the rear camera, where the tablet offers
/// it) and "choose" (the gallery; on Android an input with `capture` opens
/// only the camera), thumbnails with a remove button, and a count against
/// `min`/`max`.
///
/// Every picked image is downscaled, stored on the tablet and queued for
/// upload before it is added to `photos`, so whatever the page saves
/// refers to a photo that exists. `on_change` gets the new list after every
/// addition or removal, to save the answer. Removing a photo only takes it
/// out of the answer: the stored copy stays (it may be in another answer,
/// and a photo is evidence).
///
/// Test hooks: the camera input is `[data-test=photo-input]`, the gallery
/// input `[data-test=photo-gallery]` (both `multiple`), the field
/// `[data-test=photo-field]` with `data-count`, `data-min`, `data-max` and
/// `data-busy` (photos being prepared), thumbnails
/// `[data-test=photo-thumb][data-sha256=…]` with
/// `[data-test=photo-remove]`, a failure `[data-test=photo-error]`.
#[component]
pub fn PhotoInput(
    /// The answer's photos.
    photos: RwSignal<Vec<PhotoRef>>,
    /// Called with the new list after every change.
    #[prop(optional, into)]
    on_change: Option<Callback<Vec<PhotoRef>>>,
    /// At least this many photos are asked for (shown, not enforced: the
    /// form's completion check does that).
    #[prop(optional)]
    min: u32,
    /// No more than this many can be added.
    #[prop(default = 10)]
    max: u32,
    #[prop(optional)] required: bool,
    /// The camera input's id, for a `<label for>` around the field.
    #[prop(optional, into)]
    id: Option<String>,
    #[prop(optional, into)] disabled: Signal<bool>,
) -> impl IntoView {
    let lang = use_lang();
    let busy = RwSignal::new(0usize);
    let error = RwSignal::new(None::<K>);
    let min = if required { min.max(1) } else { min };
    let full = move || photos.with(Vec::len) as u32 >= max;

    let changed = move || {
        if let Some(cb) = on_change {
            cb.run(photos.get_untracked());
        }
    };

    let on_pick = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let files: Vec<web_sys::File> = input
            .files()
            .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
            .unwrap_or_default();
        // Cleared, so that picking the same file again is a change too.
        input.set_value("");
        if files.is_empty() {
            return;
        }
        error.set(None);
        let room =
            (max as usize).saturating_sub(photos.with_untracked(Vec::len) + busy.get_untracked());
        if files.len() > room {
            error.set(Some(K::PhotoTooMany));
        }
        let files: Vec<web_sys::File> = files.into_iter().take(room).collect();
        busy.update(|b| *b += files.len());
        gps::prefetch();
        spawn_local(async move {
            // One at a time: each decoded photo holds tens of megabytes
            // until it is downscaled.
            for file in files {
                let result = capture::capture(&file).await;
                let gps = match &result {
                    Ok(_) => gps::current().await,
                    Err(_) => None,
                };
                busy.update(|b| *b = b.saturating_sub(1));
                match result {
                    Ok(mut p) => {
                        p.gps = gps;
                        let added = photos.try_update(|list| {
                            let new = !list.iter().any(|x| x.sha256 == p.sha256);
                            if new {
                                list.push(p);
                            }
                            new
                        });
                        if added == Some(true) {
                            changed();
                        }
                    }
                    Err(e) => {
                        leptos::logging::warn!("photo not added: {e:?}");
                        error.set(Some(match e {
                            PhotoError::Unreadable => K::PhotoUnreadable,
                            _ => K::PhotoStoreFailed,
                        }));
                    }
                }
            }
        });
    };

    let remove = move |sha256: String| {
        photos.update(|list| list.retain(|p| p.sha256 != sha256));
        changed();
    };

    let range = move || {
        let l = lang.get();
        let n = photos.with(Vec::len);
        match (min, max) {
            (0, max) => format!("{n} / {max}"),
            (min, max) => format!("{n} / {max} ({} {min})", t(l, K::PhotoAtLeast)),
        }
    };
    let cant_add = move || disabled.get() || full();

    view! {
        <div
            class="photo-field"
            data-test="photo-field"
            data-count=move || photos.with(Vec::len).to_string()
            data-min=min.to_string()
            data-max=max.to_string()
            data-busy=move || busy.get().to_string()
        >
            <div class="photo-thumbs">
                <For
                    each=move || photos.get()
                    key=|p| p.sha256.clone()
                    children=move |p| {
                        let sha = p.sha256.clone();
                        view! {
                            <figure class="photo-thumb" data-test="photo-thumb" data-sha256=p.sha256.clone()>
                                <PhotoImg sha256=p.sha256.clone()/>
                                <button
                                    type="button"
                                    class="photo-remove"
                                    data-test="photo-remove"
                                    disabled=move || disabled.get()
                                    on:click=move |_| remove(sha.clone())
                                >
                                    {tr(K::PhotoRemove)}
                                </button>
                            </figure>
                        }
                    }
                />
                {move || (busy.get() > 0).then(|| view! {
                    <div class="photo-thumb busy" role="status">{tr(K::PhotoProcessing)}</div>
                })}
            </div>
            <div class="photo-actions">
                <label class="button primary" class:disabled=cant_add>
                    {tr(K::PhotoTake)}
                    <input
                        type="file"
                        class="sr-only"
                        accept="image/*"
                        capture="environment"
                        multiple
                        id=id
                        data-test="photo-input"
                        aria-required=required.to_string()
                        disabled=cant_add
                        on:click=move |_| gps::prefetch()
                        on:change=on_pick
                    />
                </label>
                <label class="button" class:disabled=cant_add>
                    {tr(K::PhotoChoose)}
                    <input
                        type="file"
                        class="sr-only"
                        accept="image/*"
                        multiple
                        data-test="photo-gallery"
                        disabled=cant_add
                        on:click=move |_| gps::prefetch()
                        on:change=on_pick
                    />
                </label>
                <span class="help photo-count">{range}</span>
            </div>
            {move || error.get().map(|k| view! {
                <p class="alert error" role="alert" data-test="photo-error">{move || t(lang.get(), k)}</p>
            })}
        </div>
    }
}

/// A stored photo as an `<img>`: the tablet's own copy when it has one,
/// else the server's. The object URL of a local copy is revoked when the
/// image leaves the page. `data-local` says which it is.
#[component]
pub fn PhotoImg(
    #[prop(into)] sha256: String,
    #[prop(optional, into)] alt: String,
) -> impl IntoView {
    let src = RwSignal::new(None::<(String, bool)>);
    // Dropping a `PhotoUrl` revokes it: held here, it lives as long as the
    // image.
    let held = StoredValue::new(None::<PhotoUrl>);
    let sha = sha256.clone();
    spawn_local(async move {
        let url = super::url(&sha).await;
        let shown = (url.as_str().to_owned(), url.is_local());
        // Gone from the page meanwhile: the value comes back and is dropped
        // (revoked) here.
        if held.try_set_value(Some(url)).is_none() {
            src.set(Some(shown));
        }
    });
    view! {
        <img
            class="photo"
            data-sha256=sha256
            data-local=move || src.with(|s| s.as_ref().map(|s| s.1.to_string()))
            src=move || src.with(|s| s.as_ref().map(|s| s.0.clone()))
            alt=alt
            loading="lazy"
            decoding="async"
        />
    }
}

/// The upload queue in one line: how many photos and how many megabytes
/// are still to be sent. Empty when nothing waits; the hooks
/// `[data-test=photo-queue]` with `data-pending`, `data-bytes-left`,
/// `data-refused` and `data-running` are always there.
#[component]
pub fn PhotoQueueStatus() -> impl IntoView {
    let p = uploader::progress();
    let (p1, p2, p3, p4, p5) = (p.clone(), p.clone(), p.clone(), p.clone(), p.clone());
    view! {
        <span
            class="photo-queue"
            data-test="photo-queue"
            data-pending=move || p1.with(|p| p.pending.to_string())
            data-bytes-left=move || p2.with(|p| p.bytes_left.to_string())
            data-refused=move || p3.with(|p| p.refused.to_string())
            data-running=move || p4.with(|p| p.running.to_string())
        >
            {move || p5.with(|p| (p.pending > 0).then(|| {
                let left = if p.bytes_left < 1024 * 1024 {
                    format!("{} KB", p.bytes_left.div_ceil(1024))
                } else {
                    format!("{:.1} MB", p.bytes_left as f64 / (1024.0 * 1024.0))
                };
                view! { {tr(K::PhotoQueue)}": "{p.pending}" ("{left}")" }
            }))}
        </span>
    }
}
