//! From a picked file to a stored photo: decode with `createImageBitmap`
//! (which applies the EXIF rotation, so a portrait photo stays upright
//! after the metadata is gone), draw onto a canvas at most
//! [`MAX_SIDE`](super::MAX_SIDE) pixels on its long side, re-encode as JPEG
//! and hash with `crypto.subtle`.
//!
//! Re-encoding every photo, even a small one, also strips its metadata:
//! phone photos carry the GPS position and the device's serial number in
//! EXIF, and what the server keeps should be only what the form recorded.
//! The benchmark (`xtask/src/bench_photos.rs`) times exactly these calls.

use gozcu_shared::checklists::PhotoRef;
use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, CanvasRenderingContext2d, HtmlCanvasElement, ImageBitmap};

use super::{PhotoError, JPEG_QUALITY, MAX_SIDE};

/// How many bytes at the start of a JPEG are searched for its EXIF block;
/// cameras write it right after the start marker, within the first 64 KiB
/// (the JPEG standard's segment limit).
const EXIF_BYTES: i32 = 64 * 1024;

/// The size an image of `w`×`h` is drawn at: scaled down so that its long
/// side is at most `max`, never up.
pub fn fit(w: u32, h: u32, max: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= max || long == 0 {
        return (w.max(1), h.max(1));
    }
    let scale = f64::from(max) / f64::from(long);
    let side = |s: u32| ((f64::from(s) * scale).round() as u32).clamp(1, max);
    (side(w), side(h))
}

fn window() -> Result<web_sys::Window, PhotoError> {
    web_sys::window().ok_or_else(|| PhotoError::Browser("no window".into()))
}

/// Decodes an image file. `imageOrientation: "from-image"` is the default
/// of current browsers; it is asked for explicitly for older ones, and an
/// old browser that does not know the value is asked again without it.
pub(crate) async fn decode(file: &Blob) -> Result<ImageBitmap, PhotoError> {
    let win = window()?;
    let opts = web_sys::ImageBitmapOptions::new();
    opts.set_image_orientation(web_sys::ImageOrientation::FromImage);
    let first = match win.create_image_bitmap_with_blob_and_image_bitmap_options(file, &opts) {
        Ok(p) => JsFuture::from(p).await,
        Err(e) => Err(e),
    };
    let bitmap = match first {
        Ok(b) => b,
        Err(_) => JsFuture::from(win.create_image_bitmap_with_blob(file)?)
            .await
            .map_err(|_| PhotoError::Unreadable)?,
    };
    bitmap.dyn_into().map_err(|_| PhotoError::Unreadable)
}

/// A canvas that is never put in the page.
pub(crate) fn canvas(
    w: u32,
    h: u32,
) -> Result<(HtmlCanvasElement, CanvasRenderingContext2d), PhotoError> {
    let doc = window()?
        .document()
        .ok_or_else(|| PhotoError::Browser("no document".into()))?;
    let canvas: HtmlCanvasElement = doc.create_element("canvas")?.unchecked_into();
    canvas.set_width(w);
    canvas.set_height(h);
    let ctx = context(&canvas)?;
    Ok((canvas, ctx))
}

pub(crate) fn context(canvas: &HtmlCanvasElement) -> Result<CanvasRenderingContext2d, PhotoError> {
    canvas
        .get_context("2d")?
        .ok_or_else(|| PhotoError::Browser("no 2d canvas".into()))?
        .dyn_into()
        .map_err(|_| PhotoError::Browser("no 2d canvas".into()))
}

/// The canvas encoded as `mime` (with `quality` for JPEG).
pub(crate) async fn encode(
    canvas: &HtmlCanvasElement,
    mime: &str,
    quality: Option<f64>,
) -> Result<Blob, PhotoError> {
    let promise = Promise::new(&mut |resolve, reject| {
        let done = Closure::once_into_js(move |blob: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &blob);
        });
        let started = match quality {
            Some(q) => canvas.to_blob_with_type_and_encoder_options(
                done.unchecked_ref(),
                mime,
                &JsValue::from_f64(q),
            ),
            None => canvas.to_blob_with_type(done.unchecked_ref(), mime),
        };
        if let Err(e) = started {
            let _ = reject.call1(&JsValue::NULL, &e);
        }
    });
    // `toBlob` hands over `null` when the canvas could not be encoded
    // (out of memory, or a zero-sized canvas).
    JsFuture::from(promise)
        .await?
        .dyn_into()
        .map_err(|_| PhotoError::Browser("the canvas could not be encoded".into()))
}

/// The SHA-256 of a blob's bytes as 64 lowercase hex digits, the name the
/// server stores it under.
pub async fn sha256_hex(blob: &Blob) -> Result<String, PhotoError> {
    let bytes = JsFuture::from(blob.array_buffer()).await?;
    let subtle = window()?.crypto()?.subtle();
    let digest =
        JsFuture::from(subtle.digest_with_str_and_buffer_source("SHA-256", bytes.unchecked_ref())?)
            .await?;
    let digest = Uint8Array::new(&digest).to_vec();
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push_str(&format!("{b:02x}"));
    }
    Ok(hex)
}

/// A downscaled, re-encoded photo, not yet stored.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub jpeg: Blob,
    pub width: u32,
    pub height: u32,
}

/// Decodes `file` and re-encodes it as a JPEG of at most
/// [`MAX_SIDE`](super::MAX_SIDE) pixels on its long side.
pub async fn downscale(file: &Blob) -> Result<Prepared, PhotoError> {
    let bitmap = decode(file).await?;
    let (width, height) = fit(bitmap.width(), bitmap.height(), MAX_SIDE);
    let (canvas, ctx) = canvas(width, height)?;
    // "high" makes Chrome and Safari filter over the whole source area
    // instead of sampling it, which a 2-3× reduction needs to stay sharp
    // without aliasing.
    let _ = Reflect::set(
        &ctx,
        &JsValue::from_str("imageSmoothingQuality"),
        &JsValue::from_str("high"),
    );
    // A transparent PNG would turn black in a JPEG.
    ctx.set_fill_style_str("#fff");
    ctx.fill_rect(0.0, 0.0, f64::from(width), f64::from(height));
    let drawn = ctx.draw_image_with_image_bitmap_and_dw_and_dh(
        &bitmap,
        0.0,
        0.0,
        f64::from(width),
        f64::from(height),
    );
    // A 12-megapixel bitmap holds 48 MB; a tablet adding several photos at
    // once must not keep them until the garbage collector runs.
    bitmap.close();
    drawn?;
    let jpeg = encode(&canvas, "image/jpeg", Some(JPEG_QUALITY)).await;
    canvas.set_width(0);
    canvas.set_height(0);
    Ok(Prepared {
        jpeg: jpeg?,
        width,
        height,
    })
}

/// When the photo in `file` was taken: its camera's EXIF date, else the
/// file's modification time (for a photo just taken, the same moment).
async fn taken_at(file: &web_sys::File) -> Option<i64> {
    let head = file.slice_with_i32_and_i32(0, EXIF_BYTES).ok()?;
    let from_exif = match JsFuture::from(head.array_buffer()).await {
        Ok(buf) => gozcu_shared::photos::exif::date_time_original(&Uint8Array::new(&buf).to_vec())
            .and_then(|[y, mo, d, h, mi, s]| {
                // EXIF dates carry no time zone: they are the camera's
                // local time, which on site is the tablet's.
                let date = js_sys::Date::new_with_year_month_day_hr_min_sec(
                    y,
                    mo as i32 - 1,
                    d as i32,
                    h as i32,
                    mi as i32,
                    s as i32,
                );
                let ms = date.get_time();
                ms.is_finite().then_some(ms as i64)
            }),
        Err(_) => None,
    };
    from_exif.or_else(|| {
        let ms = file.last_modified();
        (ms.is_finite() && ms > 0.0).then_some(ms as i64)
    })
}

/// Everything [`super::PhotoInput`] does with one picked file: downscale,
/// store, queue, and describe it as the answer will hold it (without its
/// GPS position, which the caller adds).
pub async fn capture(file: &web_sys::File) -> Result<PhotoRef, PhotoError> {
    let taken_at_ms = taken_at(file).await;
    let p = downscale(file).await?;
    let sha256 = super::save(p.jpeg, "image/jpeg", p.width, p.height, taken_at_ms).await?;
    Ok(PhotoRef {
        sha256,
        width: p.width,
        height: p.height,
        taken_at_ms,
        gps: None,
    })
}
