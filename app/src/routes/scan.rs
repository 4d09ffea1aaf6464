//! `/scan`: open a device from the QR code on its label.
//!
//! A label carries `gozcu:device/<uuid>`. Three ways in, because tablets
//! differ: the live camera (decoded by the browser's `BarcodeDetector`
//! where there is one, Chrome on Android among them, else by `rqrr` in
//! WASM from canvas frames); a photo of the label picked from a file (for
//! a tablet that refuses the camera to the browser); and typing, which
//! always works. The id is looked up in the offline replica, so a label in
//! a basement opens its device with no signal; an id the replica does not
//! have is said so, in words, instead of opening an empty page.

use std::cell::{Cell, RefCell};

use gozcu_shared::inventory::DeviceKind;
use gozcu_shared::sync::EntityKind;
use js_sys::{Array, Function, Object, Promise, Reflect};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use leptos_router::NavigateOptions;
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, HtmlVideoElement, MediaStream};

use crate::i18n::{t, tr, use_lang, K};
use crate::photos::capture;
use crate::session::kind_path;
use crate::sync::{self, use_sync};

/// What a device label's QR code says before the device's id.
pub const DEVICE_QR_PREFIX: &str = "gozcu:device/";

/// Camera frames are decoded at most this wide (or high): a label held in
/// front of the camera fills enough of the frame, and WASM decodes a
/// smaller frame several times a second on a tablet.
const FRAME_SIDE: u32 = 800;
/// A picked photo is decoded at up to this size: a label photographed from
/// further away needs more pixels.
const PICKED_SIDE: u32 = 1600;
const FRAME_INTERVAL_MS: u64 = 250;

/// The device id in a scanned or typed code: a label's
/// `gozcu:device/<uuid>` (the prefix in any case) or the bare id.
pub fn parse_code(code: &str) -> Option<Uuid> {
    let code = code.trim();
    let id = match code.get(..DEVICE_QR_PREFIX.len()) {
        Some(p) if p.eq_ignore_ascii_case(DEVICE_QR_PREFIX) => &code[DEVICE_QR_PREFIX.len()..],
        _ => code,
    };
    Uuid::parse_str(id.trim().trim_end_matches('/')).ok()
}

/// What a code turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Found {
    Device(DeviceKind, Uuid),
    /// A device id the replica does not have.
    Unknown,
    /// Not a device code at all.
    Invalid,
    /// The replica is still being read.
    NotReady,
}

/// Reads nothing of a record: enough to learn that it exists, with the
/// smallest deserializer serde can make.
#[derive(serde::Deserialize)]
struct Exists {}

fn resolve(code: &str, ready: bool) -> Found {
    let Some(id) = parse_code(code) else {
        return Found::Invalid;
    };
    if !ready {
        return Found::NotReady;
    }
    for (entity, kind) in [
        (EntityKind::Camera, DeviceKind::Camera),
        (EntityKind::Recorder, DeviceKind::Recorder),
        (EntityKind::Switch, DeviceKind::Switch),
    ] {
        if sync::entity::<Exists>(entity, id).is_some() {
            return Found::Device(kind, id);
        }
    }
    Found::Unknown
}

/// A message with its test code.
fn message(found: Found) -> Option<(K, &'static str)> {
    match found {
        Found::Device(..) => None,
        Found::Unknown => Some((K::ScanUnknown, "unknown")),
        Found::Invalid => Some((K::ScanInvalid, "invalid")),
        Found::NotReady => Some((K::ScanNotReady, "not_ready")),
    }
}

thread_local! {
    /// The open camera, kept outside the component so that leaving the
    /// page (whose cleanup must be `Send`) can still stop it.
    static CAMERA: RefCell<Option<MediaStream>> = const { RefCell::new(None) };
    /// Bumped whenever the camera stops, so the frame loop of an older
    /// start ends.
    static CAMERA_RUN: Cell<u64> = const { Cell::new(0) };
}

fn stop_camera() {
    CAMERA_RUN.set(CAMERA_RUN.get() + 1);
    if let Some(stream) = CAMERA.with_borrow_mut(Option::take) {
        for track in stream.get_tracks().iter() {
            track.unchecked_into::<web_sys::MediaStreamTrack>().stop();
        }
    }
}

/// Opens the rear camera into `video`.
async fn start_camera(video: &HtmlVideoElement) -> Result<(), JsValue> {
    stop_camera();
    let devices = web_sys::window()
        .ok_or(JsValue::NULL)?
        .navigator()
        .media_devices()?;
    let constraints = web_sys::MediaStreamConstraints::new();
    let video_wanted = Object::new();
    Reflect::set(&video_wanted, &"facingMode".into(), &"environment".into())?;
    constraints.set_video(&video_wanted);
    constraints.set_audio_bool(false);
    let stream: MediaStream =
        JsFuture::from(devices.get_user_media_with_constraints(&constraints)?)
            .await?
            .dyn_into()?;
    video.set_src_object(Some(&stream));
    CAMERA.with_borrow_mut(|c| *c = Some(stream));
    JsFuture::from(video.play()?).await?;
    Ok(())
}

/// The browser's own QR reader, where it has one.
fn native_detector() -> Option<JsValue> {
    let window: JsValue = web_sys::window()?.into();
    let ctor = Reflect::get(&window, &"BarcodeDetector".into()).ok()?;
    let ctor: Function = ctor.dyn_into().ok()?;
    let opts = Object::new();
    Reflect::set(&opts, &"formats".into(), &Array::of1(&"qr_code".into())).ok()?;
    Reflect::construct(&ctor, &Array::of1(&opts)).ok()
}

/// The first QR code `detector` finds in `source` (a video, bitmap or
/// canvas); `Err` when the detector itself failed and WASM should take
/// over.
async fn detect_native(detector: &JsValue, source: &JsValue) -> Result<Option<String>, JsValue> {
    let detect: Function = Reflect::get(detector, &"detect".into())?.dyn_into()?;
    let found: Promise = detect.call1(detector, source)?.dyn_into()?;
    let codes: Array = JsFuture::from(found).await?.dyn_into()?;
    Ok(codes
        .iter()
        .find_map(|c| Reflect::get(&c, &"rawValue".into()).ok()?.as_string()))
}

/// A 2D context that the frame loop reads back often; the browser keeps
/// such a canvas in memory instead of on the GPU.
fn reading_canvas() -> Option<(HtmlCanvasElement, CanvasRenderingContext2d)> {
    let (canvas, _) = capture::canvas(1, 1).ok()?;
    let opts = Object::new();
    Reflect::set(&opts, &"willReadFrequently".into(), &true.into()).ok()?;
    let ctx = canvas
        .get_context_with_context_options("2d", &opts)
        .ok()??
        .dyn_into()
        .ok()?;
    Some((canvas, ctx))
}

/// Decodes the canvas's pixels with `rqrr`.
fn decode_wasm(ctx: &CanvasRenderingContext2d, w: u32, h: u32) -> Option<String> {
    let rgba = ctx
        .get_image_data(0.0, 0.0, f64::from(w), f64::from(h))
        .ok()?
        .data();
    let (w, h) = (w as usize, h as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| {
        let i = (y * w + x) * 4;
        // Integer BT.601 luma; QR codes are dark on light, any weighting
        // works, and this is cheap.
        let (r, g, b) = (
            u32::from(rgba[i]),
            u32::from(rgba[i + 1]),
            u32::from(rgba[i + 2]),
        );
        ((r * 77 + g * 150 + b * 29) >> 8) as u8
    });
    img.detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, content)| content))
}

/// Reads a QR code from a picked image file.
async fn decode_file(file: &web_sys::File) -> Option<String> {
    let bitmap = capture::decode(file).await.ok()?;
    if let Some(detector) = native_detector() {
        if let Ok(Some(code)) = detect_native(&detector, &bitmap).await {
            bitmap.close();
            return Some(code);
        }
    }
    let (w, h) = capture::fit(bitmap.width(), bitmap.height(), PICKED_SIDE);
    let found = reading_canvas().and_then(|(canvas, ctx)| {
        canvas.set_width(w);
        canvas.set_height(h);
        ctx.draw_image_with_image_bitmap_and_dw_and_dh(
            &bitmap,
            0.0,
            0.0,
            f64::from(w),
            f64::from(h),
        )
        .ok()?;
        decode_wasm(&ctx, w, h)
    });
    bitmap.close();
    found
}

#[component]
pub fn ScanPage() -> impl IntoView {
    let lang = use_lang();
    let status = use_sync().status;
    let navigate = use_navigate();
    let manual = RwSignal::new(String::new());
    // The message and its test code, and what was read.
    let problem = RwSignal::new(None::<(K, &'static str, String)>);
    let camera_on = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let video = NodeRef::<leptos::html::Video>::new();

    on_cleanup(stop_camera);

    let open = move |code: String| {
        let found = resolve(&code, status.with_untracked(|s| s.ready));
        match found {
            Found::Device(kind, id) => {
                stop_camera();
                problem.set(None);
                navigate(
                    &format!("/{}/{id}", kind_path(kind)),
                    NavigateOptions::default(),
                );
            }
            other => {
                if let Some((k, code_name)) = message(other) {
                    problem.set(Some((k, code_name, code.trim().to_owned())));
                }
            }
        }
    };

    let on_manual = {
        let open = open.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            open(manual.get_untracked());
        }
    };

    let on_file = {
        let open = open.clone();
        move |ev: leptos::ev::Event| {
            let input: Option<web_sys::HtmlInputElement> =
                ev.target().and_then(|t| t.dyn_into().ok());
            let Some(input) = input else { return };
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return;
            };
            input.set_value("");
            problem.set(None);
            busy.set(true);
            let open = open.clone();
            spawn_local(async move {
                let code = decode_file(&file).await;
                busy.set(false);
                match code {
                    Some(code) => open(code),
                    None => problem.set(Some((K::ScanNoCode, "no_code", String::new()))),
                }
            });
        }
    };

    let toggle_camera = move |_| {
        if camera_on.get_untracked() {
            stop_camera();
            camera_on.set(false);
            return;
        }
        let Some(v) = video.get_untracked() else {
            return;
        };
        problem.set(None);
        camera_on.set(true);
        let open = open.clone();
        spawn_local(async move {
            if let Err(e) = start_camera(&v).await {
                leptos::logging::warn!("camera: {}", crate::photos::js_text(&e));
                stop_camera();
                camera_on.set(false);
                problem.set(Some((K::ScanCameraFailed, "camera", String::new())));
                return;
            }
            let run = CAMERA_RUN.get();
            let mut native = native_detector();
            let Some((canvas, ctx)) = reading_canvas() else {
                return;
            };
            let mut last_seen = String::new();
            while CAMERA_RUN.get() == run {
                gloo_timers::future::sleep(std::time::Duration::from_millis(FRAME_INTERVAL_MS))
                    .await;
                // HAVE_CURRENT_DATA: a frame to look at.
                if CAMERA_RUN.get() != run || v.ready_state() < 2 {
                    continue;
                }
                let code = match &native {
                    Some(d) => match detect_native(d, &v).await {
                        Ok(code) => code,
                        Err(_) => {
                            // A detector that cannot read (some builds
                            // expose it without a QR engine): WASM from now.
                            native = None;
                            None
                        }
                    },
                    None => {
                        let (w, h) = capture::fit(v.video_width(), v.video_height(), FRAME_SIDE);
                        if canvas.width() != w || canvas.height() != h {
                            canvas.set_width(w);
                            canvas.set_height(h);
                        }
                        ctx.draw_image_with_html_video_element_and_dw_and_dh(
                            &v,
                            0.0,
                            0.0,
                            f64::from(w),
                            f64::from(h),
                        )
                        .ok()
                        .and_then(|()| decode_wasm(&ctx, w, h))
                    }
                };
                // The same wrong label in front of the camera is reported
                // once, not four times a second.
                if let Some(code) = code.filter(|c| *c != last_seen) {
                    last_seen = code.clone();
                    open(code);
                }
            }
            if CAMERA.with_borrow(Option::is_none) {
                camera_on.set(false);
            }
        });
    };

    view! {
        <div class="page-head">
            <h1>{tr(K::ScanTitle)}</h1>
        </div>
        <section class="scan card" data-test="scan-page">
            <p class="help">{tr(K::ScanHelp)}</p>
            <div class="scan-camera">
                <button type="button" class="primary" data-test="scan-camera" on:click=toggle_camera>
                    {move || t(lang.get(), if camera_on.get() { K::ScanStopCamera } else { K::ScanStartCamera })}
                </button>
                <video
                    node_ref=video
                    class="scan-video"
                    class:hidden=move || !camera_on.get()
                    playsinline=true
                    muted=true
                    prop:muted=true
                    data-test="scan-video"
                ></video>
                {move || camera_on.get().then(|| view! { <p class="help" role="status">{tr(K::ScanLooking)}</p> })}
            </div>
            <label class="button scan-file">
                {tr(K::ScanPickImage)}
                <input type="file" class="sr-only" accept="image/*" data-test="scan-file" on:change=on_file/>
            </label>
            {move || busy.get().then(|| view! { <p class="help" role="status" data-test="scan-busy">{tr(K::ScanLooking)}</p> })}
            <form class="scan-manual" on:submit=on_manual>
                <label for="scan-manual">{tr(K::ScanManual)}</label>
                <div class="row">
                    <input
                        id="scan-manual"
                        type="text"
                        data-test="scan-manual"
                        autocomplete="off"
                        autocapitalize="off"
                        spellcheck="false"
                        placeholder="gozcu:device/…"
                        prop:value=move || manual.get()
                        on:input=move |ev| manual.set(event_target_value(&ev))
                    />
                    <button type="submit" class="primary" data-test="scan-go">{tr(K::ScanGo)}</button>
                </div>
            </form>
            {move || problem.get().map(|(k, code, read)| view! {
                <p class="alert error" role="alert" data-test="scan-error" data-code=code>
                    {move || t(lang.get(), k)}
                    {(!read.is_empty()).then(|| view! { " " <span class="mono">{read.clone()}</span> })}
                </p>
            })}
        </section>
    }
}
