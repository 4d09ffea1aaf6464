//! Answer values: the typed parts (photos, signatures, positions) and
//! [`check_answer`], which turns a raw JSON answer into its canonical form.
//!
//! The canonical form matters because answers are synced, compared by
//! conditions and exported: `5.0` and `5`, `"  evet "` and `"evet"`, or a
//! multiple choice picked in a different order must all be stored the same way.

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};

use super::template::{Item, ItemKind};
use crate::validate::{Date, MAX_TEXT};
use crate::{ErrorCode, Lang};

/// The answer of a `pass_fail` item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PassFail {
    Pass,
    Fail,
    /// Not applicable: a camera without IR has no IR to test.
    Na,
}

/// Where a photo was taken or a form signed, as the tablet's browser reports it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Gps {
    pub lat: f64,
    pub lon: f64,
    /// Radius of the 95% confidence circle in metres; absent when typed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

/// One uploaded photo. The file itself is content-addressed: the answer
/// holds its hash, which is also how the server deduplicates an upload that
/// was retried after a lost connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PhotoRef {
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    /// When the photo was taken (Unix ms), from the camera's metadata if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<Gps>,
}

/// A signature: who signed, when, and the drawn image (a PNG uploaded like a
/// photo). Site surveys are signed reports (tutanak), so the signer's name is
/// typed, not read from the drawing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub signer: String,
    pub signed_at_ms: i64,
    pub image_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<Gps>,
}

/// Largest photo side we accept; anything beyond this is not a photo from a tablet.
const MAX_PIXELS_SIDE: u32 = 100_000;

/// Integers beyond this are not exactly representable as `f64`, which is
/// what JavaScript (and therefore the app) uses for every number.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Whether a value means "not answered": `null`, a blank string or an empty
/// array. This is how a technician clears an answer.
pub fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Checks an answer against its item and returns the canonical value, or
/// `null` for a blank answer (see [`is_blank`]). Whether a blank answer is
/// acceptable depends on the item being required and visible, which
/// [`super::check_completion`] decides; this function only judges the value.
pub fn check_answer(item: &Item, value: &Value) -> Result<Value, ErrorCode> {
    if is_blank(value) {
        return Ok(Value::Null);
    }
    match &item.kind {
        ItemKind::YesNo => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(ErrorCode::InvalidAnswer),
        },
        ItemKind::PassFail => {
            let v = PassFail::deserialize(value).map_err(|_| ErrorCode::InvalidAnswer)?;
            Ok(to_value(&v))
        }
        ItemKind::Number {
            min, max, integer, ..
        } => {
            let x = value.as_f64().ok_or(ErrorCode::InvalidAnswer)?;
            if *integer && x.fract() != 0.0 {
                return Err(ErrorCode::NotInteger);
            }
            if x.abs() > MAX_SAFE_INTEGER
                || matches!(min, Some(lo) if x < *lo)
                || matches!(max, Some(hi) if x > *hi)
            {
                return Err(ErrorCode::OutOfRange);
            }
            Ok(number(x))
        }
        ItemKind::Text { multiline, max_len } => {
            let Value::String(s) = value else {
                return Err(ErrorCode::InvalidAnswer);
            };
            let text = s.trim().replace("\r\n", "\n");
            // A single-line field cannot produce a newline; one here came from
            // a paste or a broken client, and would break CSV exports.
            if (!multiline && text.contains('\n'))
                || text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return Err(ErrorCode::InvalidAnswer);
            }
            if text.chars().count() > *max_len as usize {
                return Err(ErrorCode::TooLong);
            }
            Ok(Value::String(text))
        }
        ItemKind::SingleChoice { options } => {
            let key = value.as_str().ok_or(ErrorCode::InvalidAnswer)?;
            if options.iter().any(|o| o.key == key) {
                Ok(value.clone())
            } else {
                Err(ErrorCode::UnknownChoice)
            }
        }
        ItemKind::MultiChoice { options } => {
            let Value::Array(picked) = value else {
                return Err(ErrorCode::InvalidAnswer);
            };
            let mut keys = Vec::with_capacity(picked.len());
            for v in picked {
                let key = v.as_str().ok_or(ErrorCode::InvalidAnswer)?;
                if !options.iter().any(|o| o.key == key) {
                    return Err(ErrorCode::UnknownChoice);
                }
                if keys.contains(&key) {
                    return Err(ErrorCode::DuplicateValue);
                }
                keys.push(key);
            }
            // Stored in the template's option order, so the same choice made
            // in a different order is the same value.
            Ok(Value::Array(
                options
                    .iter()
                    .filter(|o| keys.contains(&o.key.as_str()))
                    .map(|o| Value::String(o.key.clone()))
                    .collect(),
            ))
        }
        ItemKind::Date => {
            let s = value.as_str().ok_or(ErrorCode::InvalidAnswer)?;
            Ok(Value::String(Date::parse(s)?.to_string()))
        }
        ItemKind::Photo { min, max } => {
            let photos =
                Vec::<PhotoRef>::deserialize(value).map_err(|_| ErrorCode::InvalidAnswer)?;
            if photos.len() > *max as usize {
                return Err(ErrorCode::TooManyPhotos);
            }
            if photos.len() < *min as usize {
                return Err(ErrorCode::TooFewPhotos);
            }
            let mut checked: Vec<PhotoRef> = Vec::with_capacity(photos.len());
            for photo in photos {
                let photo = check_photo(photo)?;
                if checked.iter().any(|p| p.sha256 == photo.sha256) {
                    return Err(ErrorCode::DuplicateValue);
                }
                checked.push(photo);
            }
            Ok(to_value(&checked))
        }
        ItemKind::Signature => {
            let s = Signature::deserialize(value).map_err(|_| ErrorCode::InvalidAnswer)?;
            Ok(to_value(&check_signature(s)?))
        }
    }
}

fn check_photo(p: PhotoRef) -> Result<PhotoRef, ErrorCode> {
    let size_ok = |side: u32| (1..=MAX_PIXELS_SIDE).contains(&side);
    if !size_ok(p.width) || !size_ok(p.height) {
        return Err(ErrorCode::InvalidAnswer);
    }
    Ok(PhotoRef {
        sha256: sha256_hex(&p.sha256)?,
        gps: p.gps.map(check_gps).transpose()?,
        ..p
    })
}

fn check_signature(s: Signature) -> Result<Signature, ErrorCode> {
    let signer = s.signer.trim();
    if signer.is_empty() {
        return Err(ErrorCode::Required);
    }
    if signer.chars().count() > MAX_TEXT {
        return Err(ErrorCode::TooLong);
    }
    if signer.chars().any(char::is_control) {
        return Err(ErrorCode::InvalidAnswer);
    }
    if s.signed_at_ms <= 0 {
        return Err(ErrorCode::InvalidAnswer);
    }
    Ok(Signature {
        signer: signer.to_owned(),
        signed_at_ms: s.signed_at_ms,
        image_sha256: sha256_hex(&s.image_sha256)?,
        gps: s.gps.map(check_gps).transpose()?,
    })
}

fn check_gps(g: Gps) -> Result<Gps, ErrorCode> {
    let ok = g.lat.is_finite()
        && g.lon.is_finite()
        && (-90.0..=90.0).contains(&g.lat)
        && (-180.0..=180.0).contains(&g.lon)
        && g.accuracy_m.is_none_or(|a| a.is_finite() && a >= 0.0);
    if ok {
        Ok(g)
    } else {
        Err(ErrorCode::InvalidAnswer)
    }
}

/// A SHA-256 in hex, lowercased: browsers and tools print it in either case.
fn sha256_hex(s: &str) -> Result<String, ErrorCode> {
    if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(ErrorCode::InvalidHash)
    }
}

/// Integral numbers are written without a fraction so that `5.0` and `5`
/// are one value.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() <= MAX_SAFE_INTEGER {
        Value::from(x as i64)
    } else {
        Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

fn to_value<T: Serialize>(v: &T) -> Value {
    // These types contain only strings, integers and finite floats, which
    // always serialise.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// An answer as words on paper (reports) or on screen: choice labels in the
/// reader's language, numbers with their unit, a signature by its signer.
/// Photos are listed by the caller; here they count. Blank answers are "—".
pub fn answer_text(item: &Item, value: &Value, lang: Lang) -> String {
    if is_blank(value) {
        return "—".into();
    }
    let word = |tr: &str, en: &str| match lang {
        Lang::Tr => tr.to_owned(),
        Lang::En => en.to_owned(),
    };
    let label_of = |options: &[super::template::Choice], key: &str| {
        options
            .iter()
            .find(|o| o.key == key)
            .map_or(key.to_owned(), |o| o.label.get(lang).to_owned())
    };
    match (&item.kind, value) {
        (ItemKind::YesNo, Value::Bool(true)) => word("Evet", "Yes"),
        (ItemKind::YesNo, Value::Bool(false)) => word("Hayır", "No"),
        (ItemKind::PassFail, Value::String(s)) => match s.as_str() {
            "pass" => word("Uygun", "Pass"),
            "fail" => word("Uygun değil", "Fail"),
            _ => word("Uygulanmaz", "Not applicable"),
        },
        (ItemKind::Number { unit, .. }, Value::Number(n)) => {
            format!("{n} {unit}").trim_end().to_owned()
        }
        (ItemKind::SingleChoice { options }, Value::String(key)) => label_of(options, key),
        (ItemKind::MultiChoice { options }, Value::Array(keys)) => keys
            .iter()
            .filter_map(Value::as_str)
            .map(|k| label_of(options, k))
            .collect::<Vec<_>>()
            .join(", "),
        (ItemKind::Photo { .. }, Value::Array(photos)) => match lang {
            Lang::Tr => format!("{} fotoğraf", photos.len()),
            Lang::En => format!("{} photo(s)", photos.len()),
        },
        (ItemKind::Signature, Value::Object(o)) => o
            .get("signer")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        (_, Value::String(s)) => s.clone(),
        (_, other) => other.to_string(),
    }
}
