//! PDF reports and QR label sheets, typeset with typst.
//!
//! The module is pure: plain structs and image bytes in, PDF bytes out. It
//! reads no database, no disk, no clock and no system font, so the routes
//! that call it decide what the user may see, and the same input always gives
//! the same bytes (the PDF's creation date is the report's date).
//!
//! - [`model`]: the typed inputs (`SurveyReport`, `HandoverReport`,
//!   `RunReport`, `Label`…), which are also the template data contract.
//! - [`render`]: typeset any template against a `data.json` value and
//!   virtual files; template errors come back with file, line and column.
//! - [`report_pdf`] / [`report_pdf_with`]: a typed report with the built-in
//!   template or an admin's edited copy of it.
//! - [`labels_pdf`]: an A4 sheet of QR labels; [`qr`] builds their payloads.
//! - [`sample_survey`]: a large generated survey for tests and benchmarks.
//!
//! Templates live in `server/assets/reports/` and are compiled in; see
//! `docs/reports.md` for the data each one reads.

mod model;
pub mod qr;
mod sample;
mod world;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use typst::diag::SourceDiagnostic;
use typst::ecow::EcoVec;
use typst::foundations::{Bytes, Datetime, Smart};
use typst::syntax::DiagSpanKind;
use typst::{World, WorldExt};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, Timestamp};

pub use model::{
    Amendment, Answer, Gps, HandoverDevice, HandoverReport, Label, LabelLayout, Lang, Photo,
    ReportDate, ReportHeader, RunReport, Section, Signature, SurveyReport,
};
pub use sample::sample_survey;

use world::{file_id, ReportWorld, COMMON_PATH, DATA_PATH, MAIN_PATH};

/// Images by the lowercase hex SHA-256 of their bytes, as the photo store
/// keeps them. JPEG, PNG, GIF, WebP and SVG are accepted.
pub type Images = BTreeMap<String, Vec<u8>>;

/// Virtual files by path relative to the root, besides `main.typ` and
/// `data.json`.
type VirtualFiles = Vec<(String, Bytes)>;

/// Turkey has kept UTC+3 all year since 2016; the PDF's creation time is
/// the report's date at midnight in that zone.
const TURKEY_UTC_OFFSET_MINUTES: i32 = 180;

/// Typst memoises work across compilations, decoded images included (about
/// 6 MB per 1600 × 1200 photo). A server renders unrelated reports, so
/// little of that cache would be reused while it held a whole report's
/// photos in memory: after each render, everything is dropped. Fonts and the
/// standard library are kept apart from this cache and stay loaded.
const CACHE_KEEP_RENDERS: usize = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    /// Keşif tutanağı.
    Survey,
    /// Demirbaş devir teslim tutanağı.
    Handover,
    /// A completed checklist run.
    Run,
    /// A QR label sheet.
    Labels,
}

impl ReportKind {
    pub const ALL: [ReportKind; 4] = [
        ReportKind::Survey,
        ReportKind::Handover,
        ReportKind::Run,
        ReportKind::Labels,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Survey => "survey",
            ReportKind::Handover => "handover",
            ReportKind::Run => "run",
            ReportKind::Labels => "labels",
        }
    }
}

/// The built-in template of a kind: the starting point an administrator
/// edits, and what is used while no edited copy is stored.
pub fn builtin_template(kind: ReportKind) -> &'static str {
    match kind {
        ReportKind::Survey => include_str!("../../assets/reports/survey.typ"),
        ReportKind::Handover => include_str!("../../assets/reports/handover.typ"),
        ReportKind::Run => include_str!("../../assets/reports/run.typ"),
        ReportKind::Labels => include_str!("../../assets/reports/labels.typ"),
    }
}

/// The shared functions every built-in template imports as `gozcu.typ`
/// (header, footer, answers, photo grid, signatures).
pub fn common_template() -> &'static str {
    world::COMMON_SOURCE
}

/// One problem typst found, located in the file a person can open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateDiagnostic {
    /// `main.typ` for the template itself, `gozcu.typ`, `data.json`, or an
    /// image's path; `None` when typst could not say where.
    pub file: Option<String>,
    /// 1-based.
    pub line: Option<usize>,
    /// 1-based, in characters.
    pub column: Option<usize>,
    pub message: String,
    pub hints: Vec<String>,
    /// Where the problem was reached from, innermost first, for an error
    /// inside a function of `gozcu.typ` called by the template.
    pub trace: Vec<String>,
}

impl fmt::Display for TemplateDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line, self.column) {
            (Some(file), Some(line), Some(column)) => write!(f, "{file}:{line}:{column}: ")?,
            (Some(file), _, _) => write!(f, "{file}: ")?,
            _ => {}
        }
        f.write_str(&self.message)?;
        for point in &self.trace {
            write!(f, "; {point}")?;
        }
        for hint in &self.hints {
            write!(f, " (hint: {hint})")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The template does not compile with this data: a syntax error, an
    /// unknown field, an image that cannot be decoded…
    #[error("the report template has {} error(s): {}", .0.len(), first(.0))]
    Template(Vec<TemplateDiagnostic>),
    /// The document was laid out but cannot be written as PDF.
    #[error("the report cannot be written as PDF: {}", first(.0))]
    Export(Vec<TemplateDiagnostic>),
    /// The caller's input is unusable (an image of an unknown format, a
    /// label layout that does not fit A4, a reserved file name…).
    #[error("invalid report input: {0}")]
    Input(String),
    /// Typst panicked. It is caught so that one odd template cannot take a
    /// worker thread down with it.
    #[error("the report renderer failed unexpectedly: {0}")]
    Internal(String),
}

fn first(diagnostics: &[TemplateDiagnostic]) -> String {
    diagnostics
        .first()
        .map(ToString::to_string)
        .unwrap_or_else(|| "no details".into())
}

/// Typesets `template_source` to PDF.
///
/// `data` is readable in the template as `json("data.json")`, and every
/// entry of `files` as a file at its path (`image("photos/0.jpg")`). If
/// `data.header.date` is a `YYYY-MM-DD` date, it is `datetime.today()` in
/// the template and the PDF's creation date; otherwise the PDF has none.
///
/// Typst keeps every file path it has seen for the life of the process and
/// panics after 65,535 of them, so callers name files by position, as
/// [`report_pdf`] does, not by content hash. Compilation is CPU-bound and
/// may take seconds: call it from a blocking thread.
pub fn render(
    template_source: &str,
    data: &Value,
    files: &BTreeMap<String, Vec<u8>>,
) -> Result<Vec<u8>, ReportError> {
    let files = files
        .iter()
        .map(|(path, bytes)| (path.clone(), Bytes::new(bytes.clone())))
        .collect();
    render_files(template_source, data, files)
}

fn render_files(
    template_source: &str,
    data: &Value,
    files: VirtualFiles,
) -> Result<Vec<u8>, ReportError> {
    let date = data
        .pointer("/header/date")
        .and_then(Value::as_str)
        .and_then(ReportDate::parse);
    let today = date.and_then(|d| Datetime::from_ymd(d.year, d.month, d.day));

    let data_json = serde_json::to_vec(data)
        .map_err(|e| ReportError::Input(format!("data cannot be written as JSON: {e}")))?;
    let mut virtual_files = vec![(
        file_id(DATA_PATH).map_err(ReportError::Input)?,
        Bytes::new(data_json),
    )];
    for (path, bytes) in files {
        let id = file_id(&path).map_err(ReportError::Input)?;
        let name = id.vpath().get_without_slash();
        if [MAIN_PATH, COMMON_PATH, DATA_PATH].contains(&name) {
            return Err(ReportError::Input(format!(
                "`{path}` is a reserved file name"
            )));
        }
        virtual_files.push((id, bytes));
    }
    let world =
        ReportWorld::new(template_source, virtual_files, today).map_err(ReportError::Input)?;

    let options = PdfOptions {
        creator: Smart::Custom(Some("Gözcü".into())),
        timestamp: today.and_then(|t| Timestamp::new_local(t, TURKEY_UTC_OFFSET_MINUTES)),
        ..PdfOptions::default()
    };

    let result = catch_unwind(AssertUnwindSafe(|| {
        let document = typst::compile::<PagedDocument>(&world).output.map_err(
            |errors: EcoVec<SourceDiagnostic>| ReportError::Template(diagnostics(&world, &errors)),
        )?;
        typst_pdf::pdf(&document, &options).map_err(|errors: EcoVec<SourceDiagnostic>| {
            ReportError::Export(diagnostics(&world, &errors))
        })
    }));
    typst::comemo::evict(CACHE_KEEP_RENDERS);
    result.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic without a message".into());
        Err(ReportError::Internal(message))
    })
}

fn diagnostics(world: &ReportWorld, errors: &[SourceDiagnostic]) -> Vec<TemplateDiagnostic> {
    errors
        .iter()
        .map(|error| {
            let (file, line, column) = locate(world, error.span);
            TemplateDiagnostic {
                file,
                line,
                column,
                message: error.message.to_string(),
                // Typst's hints are written for its command line; one that
                // names a command-line flag would only confuse an administrator.
                hints: error
                    .hints
                    .iter()
                    .map(|h| h.v.to_string())
                    .filter(|h| !h.contains("--root"))
                    .collect(),
                trace: error
                    .trace
                    .iter()
                    .map(|point| {
                        let (file, line, column) = locate(world, point.span.into());
                        match (file, line, column) {
                            (Some(f), Some(l), Some(c)) => format!("{} at {f}:{l}:{c}", point.v),
                            _ => point.v.to_string(),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// File, 1-based line and 1-based column of a diagnostic's span.
fn locate(
    world: &ReportWorld,
    span: typst::syntax::DiagSpan,
) -> (Option<String>, Option<usize>, Option<usize>) {
    let id = match span.get() {
        DiagSpanKind::Detached => return (None, None, None),
        DiagSpanKind::Number { id, .. } | DiagSpanKind::Range { id, .. } => id,
    };
    let file = Some(id.vpath().get_without_slash().to_owned());
    let (Some(range), Ok(bytes)) = (world.range(span), world.file(id)) else {
        return (file, None, None);
    };
    let before = &bytes[..range.start.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (file, Some(line), Some(column))
}

/// A typed report that a built-in template knows how to print.
pub trait Report: Serialize {
    const KIND: ReportKind;

    /// The header, whose date is the PDF's creation date.
    fn header(&self) -> &ReportHeader;

    /// The SHA-256 of every image the report shows: logo, photos, signatures.
    fn image_refs(&self) -> Vec<&str>;
}

fn section_refs(sections: &[Section]) -> impl Iterator<Item = &str> {
    sections
        .iter()
        .flat_map(|s| &s.answers)
        .flat_map(|a| &a.photos)
        .map(String::as_str)
}

fn common_refs<'a>(
    header: &'a ReportHeader,
    photos: &'a [Photo],
    signatures: &'a [Signature],
) -> impl Iterator<Item = &'a str> {
    header
        .logo_sha256
        .as_deref()
        .into_iter()
        .chain(photos.iter().map(|p| p.sha256.as_str()))
        .chain(signatures.iter().filter_map(|s| s.image_sha256.as_deref()))
}

impl Report for SurveyReport {
    const KIND: ReportKind = ReportKind::Survey;

    fn header(&self) -> &ReportHeader {
        &self.header
    }

    fn image_refs(&self) -> Vec<&str> {
        common_refs(&self.header, &self.photos, &self.signatures)
            .chain(section_refs(&self.sections))
            .collect()
    }
}

impl Report for HandoverReport {
    const KIND: ReportKind = ReportKind::Handover;

    fn header(&self) -> &ReportHeader {
        &self.header
    }

    fn image_refs(&self) -> Vec<&str> {
        common_refs(&self.header, &[], &self.signatures).collect()
    }
}

impl Report for RunReport {
    const KIND: ReportKind = ReportKind::Run;

    fn header(&self) -> &ReportHeader {
        &self.header
    }

    fn image_refs(&self) -> Vec<&str> {
        common_refs(&self.header, &self.photos, &self.signatures)
            .chain(section_refs(&self.sections))
            .collect()
    }
}

/// A report with its built-in template.
pub fn report_pdf<R: Report>(report: &R, images: &Images) -> Result<Vec<u8>, ReportError> {
    report_pdf_with(builtin_template(R::KIND), report, images)
}

/// A report with a template an administrator edited. `data.json` is the
/// report as serialised, plus `kind` and `files`, which maps each image's
/// SHA-256 to its virtual path; an image missing from `images` is absent
/// from `files`, and the built-in templates print a placeholder for it, so
/// a report can be printed before every photo has arrived from the tablet.
pub fn report_pdf_with<R: Report>(
    template_source: &str,
    report: &R,
    images: &Images,
) -> Result<Vec<u8>, ReportError> {
    let mut data = serde_json::to_value(report)
        .map_err(|e| ReportError::Input(format!("report cannot be written as JSON: {e}")))?;
    let (paths, files) = image_files(report.image_refs(), images)?;
    let object = data
        .as_object_mut()
        .ok_or_else(|| ReportError::Input("a report must serialise as a JSON object".into()))?;
    object.insert("kind".into(), json!(R::KIND.as_str()));
    object.insert("files".into(), json!(paths));
    render_files(template_source, &data, files)
}

/// Virtual files for the referenced images that exist, named by position
/// (`photos/0.jpg`, `photos/1.png`…) so that the set of paths typst ever sees
/// stays small, and the map from SHA-256 to path for `data.json`.
fn image_files(
    refs: Vec<&str>,
    images: &Images,
) -> Result<(BTreeMap<String, String>, VirtualFiles), ReportError> {
    let mut paths = BTreeMap::new();
    let mut files = Vec::new();
    for sha in refs {
        if paths.contains_key(sha) {
            continue;
        }
        let Some(bytes) = images.get(sha) else {
            continue;
        };
        let ext = image_extension(bytes).ok_or_else(|| {
            ReportError::Input(format!("image {sha} is not JPEG, PNG, GIF, WebP or SVG"))
        })?;
        let path = format!("photos/{}.{ext}", files.len());
        files.push((path.clone(), Bytes::new(bytes.clone())));
        paths.insert(sha.to_owned(), path);
    }
    Ok((paths, files))
}

/// The file extension that makes typst decode `bytes` with the right codec,
/// from the format's magic bytes rather than from what the uploader claimed.
fn image_extension(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]);
        head.contains("<svg").then_some("svg")
    }
}

/// An A4 sheet of QR labels with the built-in template.
pub fn labels_pdf(
    header: &ReportHeader,
    labels: &[Label],
    layout: &LabelLayout,
) -> Result<Vec<u8>, ReportError> {
    labels_pdf_with(builtin_template(ReportKind::Labels), header, labels, layout)
}

/// A QR label sheet with an edited template. Each label in `data.json` has
/// its `payload` (what the code encodes) and `qr`, the path of the code as
/// an SVG file.
pub fn labels_pdf_with(
    template_source: &str,
    header: &ReportHeader,
    labels: &[Label],
    layout: &LabelLayout,
) -> Result<Vec<u8>, ReportError> {
    if !layout.fits_a4() {
        return Err(ReportError::Input(
            "the label layout does not fit on an A4 page".into(),
        ));
    }
    let mut files = Vec::with_capacity(labels.len());
    let mut entries = Vec::with_capacity(labels.len());
    for (i, label) in labels.iter().enumerate() {
        let payload = qr::payload(label.device_id);
        let path = format!("qr/{i}.svg");
        files.push((path.clone(), Bytes::from_string(qr::svg(&payload))));
        entries.push(json!({
            "device_id": label.device_id,
            "title": label.title,
            "subtitle": label.subtitle,
            "payload": payload,
            "qr": path,
        }));
    }
    let data = json!({
        "kind": ReportKind::Labels.as_str(),
        "header": header,
        "layout": layout,
        "labels": entries,
        "files": {},
    });
    render_files(template_source, &data, files)
}
