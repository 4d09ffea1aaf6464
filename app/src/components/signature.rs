//! A signature taken on the tablet: drawn with a finger, a pen or a mouse
//! on a canvas, with the signer's name typed beside it (a report is signed
//! by a named person; the drawing alone names no one).
//!
//! "Sign" keeps the drawing as a PNG through the same store and upload
//! queue as photos, then sets the [`Signature`] with the PNG's hash, the
//! time and the position if the tablet has one.

use gozcu_shared::checklists::Signature;
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, PointerEvent};

use crate::i18n::{format_ms, t, tr, use_lang, K};
use crate::photos::{self, capture, gps, PhotoImg};

/// The drawing's size in pixels; the canvas is scaled to the page's width
/// with this aspect ratio, and pointer positions are scaled back.
const WIDTH: u32 = 800;
const HEIGHT: u32 = 260;
const LINE_WIDTH: f64 = 3.0;

fn ctx(c: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    capture::context(c).ok()
}

/// A white page (a transparent PNG would show black on a dark viewer) and
/// the pen.
fn blank(c: &HtmlCanvasElement) {
    let Some(g) = ctx(c) else { return };
    g.set_fill_style_str("#fff");
    g.fill_rect(0.0, 0.0, f64::from(c.width()), f64::from(c.height()));
    g.set_fill_style_str("#111");
    g.set_stroke_style_str("#111");
    g.set_line_width(LINE_WIDTH);
    g.set_line_cap("round");
    g.set_line_join("round");
}

/// A pointer event's position in the drawing's own pixels.
fn point(c: &HtmlCanvasElement, ev: &PointerEvent) -> (f64, f64) {
    let r = c.get_bounding_client_rect();
    let sx = f64::from(c.width()) / r.width().max(1.0);
    let sy = f64::from(c.height()) / r.height().max(1.0);
    (
        (f64::from(ev.client_x()) - r.left()) * sx,
        (f64::from(ev.client_y()) - r.top()) * sy,
    )
}

/// The signature field. Shows the given signature (with "sign again"), or
/// the pad: canvas, clear, the signer's name (required) and "sign".
///
/// Test hooks: `[data-test=signature-canvas]`, `[data-test=signature-name]`,
/// `[data-test=signature-clear]`, `[data-test=signature-save]`,
/// `[data-test=signature-error]`, and once signed
/// `[data-test=signature-done][data-sha256=…]` with
/// `[data-test=signature-again]`.
#[component]
pub fn SignaturePad(
    /// The answer; set when the user signs.
    signature: RwSignal<Option<Signature>>,
    /// Called with the new signature after signing.
    #[prop(optional, into)]
    on_change: Option<Callback<Option<Signature>>>,
    /// The name the signer field starts with.
    #[prop(optional, into)]
    signer: String,
    #[prop(optional, into)] disabled: Signal<bool>,
) -> impl IntoView {
    let lang = use_lang();
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let name = RwSignal::new(signer);
    let has_ink = RwSignal::new(false);
    let error = RwSignal::new(None::<K>);
    let busy = RwSignal::new(false);
    let again = RwSignal::new(false);
    // The last point of the stroke being drawn; `None` between strokes.
    let last = StoredValue::new(None::<(f64, f64)>);

    Effect::new(move |_| {
        if let Some(c) = canvas.get() {
            blank(&c);
        }
    });

    let down = move |ev: PointerEvent| {
        let Some(c) = canvas.get_untracked() else {
            return;
        };
        if disabled.get_untracked() || busy.get_untracked() {
            return;
        }
        ev.prevent_default();
        // Keeps the stroke when the finger leaves the box for a moment.
        let _ = c.set_pointer_capture(ev.pointer_id());
        let (x, y) = point(&c, &ev);
        if let Some(g) = ctx(&c) {
            // A tap is a dot.
            g.begin_path();
            let _ = g.arc(x, y, LINE_WIDTH / 2.0, 0.0, std::f64::consts::TAU);
            g.fill();
        }
        last.set_value(Some((x, y)));
        if !has_ink.get_untracked() {
            has_ink.set(true);
            gps::prefetch();
        }
        error.set(None);
    };
    let moved = move |ev: PointerEvent| {
        let (Some(c), Some((x0, y0))) = (canvas.get_untracked(), last.get_value()) else {
            return;
        };
        ev.prevent_default();
        let (x, y) = point(&c, &ev);
        if let Some(g) = ctx(&c) {
            g.begin_path();
            g.move_to(x0, y0);
            g.line_to(x, y);
            g.stroke();
        }
        last.set_value(Some((x, y)));
    };
    let up = move |_: PointerEvent| last.set_value(None);

    let clear = move |_| {
        if let Some(c) = canvas.get_untracked() {
            blank(&c);
        }
        has_ink.set(false);
        error.set(None);
    };

    let sign = move |_| {
        let signer = name.get_untracked().trim().to_owned();
        if !has_ink.get_untracked() {
            error.set(Some(K::SignatureEmpty));
            return;
        }
        if signer.is_empty() {
            error.set(Some(K::SignatureNameMissing));
            return;
        }
        let Some(c) = canvas.get_untracked() else {
            return;
        };
        busy.set(true);
        spawn_local(async move {
            let signed_at_ms = crate::sync::now_ms();
            let saved = match capture::encode(&c, "image/png", None).await {
                Ok(png) => {
                    photos::save(png, "image/png", c.width(), c.height(), Some(signed_at_ms)).await
                }
                Err(e) => Err(e),
            };
            match saved {
                Ok(image_sha256) => {
                    let s = Signature {
                        signer,
                        signed_at_ms,
                        image_sha256,
                        gps: gps::current().await,
                    };
                    signature.set(Some(s.clone()));
                    again.set(false);
                    blank(&c);
                    has_ink.set(false);
                    if let Some(cb) = on_change {
                        cb.run(Some(s));
                    }
                }
                Err(e) => {
                    leptos::logging::warn!("signature not saved: {e:?}");
                    error.set(Some(K::PhotoStoreFailed));
                }
            }
            busy.set(false);
        });
    };

    let signed = move || signature.with(|s| s.is_some()) && !again.get();

    view! {
        <div class="signature">
            {move || signature.get().filter(|_| signed()).map(|s| view! {
                <figure class="signature-done" data-test="signature-done" data-sha256=s.image_sha256.clone()>
                    <PhotoImg sha256=s.image_sha256.clone() alt=s.signer.clone()/>
                    <figcaption>
                        {tr(K::SignedBy)}": "<strong>{s.signer.clone()}</strong>
                        " · "{move || format_ms(s.signed_at_ms, lang.get())}
                    </figcaption>
                    <button
                        type="button"
                        data-test="signature-again"
                        disabled=move || disabled.get()
                        on:click=move |_| again.set(true)
                    >
                        {tr(K::SignAgain)}
                    </button>
                </figure>
            })}
            <div class="signature-pad" class:hidden=signed>
                <p class="help">{tr(K::SignatureHint)}</p>
                <canvas
                    node_ref=canvas
                    class="signature-canvas"
                    data-test="signature-canvas"
                    data-ink=move || has_ink.get().to_string()
                    width=WIDTH.to_string()
                    height=HEIGHT.to_string()
                    on:pointerdown=down
                    on:pointermove=moved
                    on:pointerup=up
                    on:pointercancel=up
                ></canvas>
                <div class="signature-actions">
                    <label class="field">
                        <span>{tr(K::SignatureName)}" *"</span>
                        <input
                            type="text"
                            data-test="signature-name"
                            required
                            maxlength="200"
                            autocomplete="name"
                            prop:value=move || name.get()
                            on:input=move |ev| name.set(event_target_value(&ev))
                            on:change=move |ev| name.set(event_target_value(&ev))
                            disabled=move || disabled.get()
                        />
                    </label>
                    <button type="button" data-test="signature-clear" on:click=clear disabled=move || disabled.get() || busy.get()>
                        {tr(K::SignatureClear)}
                    </button>
                    <button type="button" class="primary" data-test="signature-save" on:click=sign disabled=move || disabled.get() || busy.get()>
                        {tr(K::SignatureSave)}
                    </button>
                </div>
                {move || error.get().map(|k| view! {
                    <p class="alert error" role="alert" data-test="signature-error">{move || t(lang.get(), k)}</p>
                })}
            </div>
        </div>
    }
}
