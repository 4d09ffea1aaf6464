//! The typed inputs of the built-in reports. Each one is serialised as it is
//! into `data.json`, so the field names here are the template data contract
//! (`docs/reports.md`); renaming a field breaks every template that reads it.
//!
//! Answers, times and device fields arrive as display text: the caller has
//! already turned checklist answers and timestamps into what a person reads,
//! so this module does not depend on checklist types or on a time zone.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

/// The language of a report's fixed wording (titles, column heads, "Sayfa").
/// The data itself is printed as given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Tr,
    En,
}

/// A calendar date, written `YYYY-MM-DD` in JSON. It is the report's date on
/// paper and also its PDF creation date, so that the same input always gives
/// the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportDate {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl ReportDate {
    /// Parses `YYYY-MM-DD`, rejecting impossible days such as 2025-02-30.
    pub fn parse(s: &str) -> Option<ReportDate> {
        let mut parts = s.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let date = ReportDate {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
            day: d.parse().ok()?,
        };
        let leap = date.year % 4 == 0 && (date.year % 100 != 0 || date.year % 400 == 0);
        let days_in_month = match date.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (1..=days_in_month).contains(&date.day).then_some(date)
    }
}

impl fmt::Display for ReportDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for ReportDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ReportDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ReportDate::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a YYYY-MM-DD date")))
    }
}

/// The institution block at the top of every page, and the document's
/// identity in the footer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportHeader {
    /// For example "T.C. İstanbul Büyükşehir Belediyesi".
    pub institution: String,
    /// For example "Bilgi İşlem Daire Başkanlığı — Güvenlik Teknolojileri Servisi".
    pub unit: String,
    pub document_no: String,
    pub date: ReportDate,
    /// The institution's logo among the report's images (JPEG, PNG or SVG).
    pub logo_sha256: Option<String>,
    /// A line printed at the bottom of every page, for example a
    /// confidentiality note. Templates print the document number without it.
    #[serde(default)]
    pub footer: Option<String>,
    #[serde(default)]
    pub lang: Lang,
}

/// A group of answers under one heading, as a checklist's section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub answers: Vec<Answer>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The question as the checklist asks it.
    pub label: String,
    /// The answer as a person reads it ("Evet", "3 adet", "12,5 V").
    pub value_text: String,
    /// Photos taken for this answer, shown small under it.
    #[serde(default)]
    pub photos: Vec<String>,
    /// Set when the answer was changed after the run was completed.
    #[serde(default)]
    pub amended: Option<Amendment>,
}

/// The earlier value of an amended answer and why it was changed: a signed
/// report must show that an answer was corrected, not only the new value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Amendment {
    pub old: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Photo {
    pub sha256: String,
    #[serde(default)]
    pub caption: String,
}

/// One signature block. An unsigned block (no signer, no image) prints empty
/// lines so that the paper can be signed by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// For example "Talep Eden Birim Amiri" or "Güvenlik Şube Müdürlüğü".
    pub role_label: String,
    pub signer: Option<String>,
    pub signed_at: Option<String>,
    pub image_sha256: Option<String>,
}

/// Keşif tutanağı: the site survey for a new installation, signed by the
/// requesting unit's head and by the security branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyReport {
    pub header: ReportHeader,
    pub site: String,
    /// Building, floor or address within the site.
    pub location: Option<String>,
    pub requesting_unit: String,
    /// When the survey was made, as display text.
    pub surveyed_at: String,
    /// Who took part, one name (and title) each.
    #[serde(default)]
    pub participants: Vec<String>,
    pub sections: Vec<Section>,
    pub photos: Vec<Photo>,
    /// The survey's conclusion, printed above the signatures.
    pub conclusion: Option<String>,
    pub signatures: Vec<Signature>,
}

/// One fixed asset in a hand-over record. Absent fields print as a dash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoverDevice {
    /// The kind as a person reads it ("Kamera", "Kayıt cihazı", "PoE switch").
    pub kind: String,
    pub make: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub mac: Option<String>,
    pub ip: Option<String>,
    /// The device's own name ("Giriş kamerası 2").
    #[serde(default)]
    pub name: Option<String>,
    /// Where it is: "Site / Building / Location", or the site alone for a
    /// device not placed in a location.
    pub location: Option<String>,
    /// The institution's fixed-asset (demirbaş) number, where it has one.
    #[serde(default)]
    pub asset_no: Option<String>,
}

/// Demirbaş devir teslim tutanağı: installed devices handed over to the
/// unit that will own them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoverReport {
    pub header: ReportHeader,
    pub site: String,
    pub location: Option<String>,
    pub handed_over_by: String,
    pub received_by: String,
    /// When the hand-over happened, as display text.
    pub handed_over_at: String,
    pub devices: Vec<HandoverDevice>,
    pub notes: Option<String>,
    pub signatures: Vec<Signature>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gps {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
}

/// Any completed checklist run: maintenance, cleaning, installation…
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub header: ReportHeader,
    pub template_title: String,
    pub template_version: u32,
    /// The device or site the run was about, as display text.
    pub target: String,
    pub technician: String,
    pub started_at: String,
    pub completed_at: Option<String>,
    pub gps: Option<Gps>,
    pub sections: Vec<Section>,
    pub photos: Vec<Photo>,
    pub signatures: Vec<Signature>,
}

/// One label on a QR label sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub device_id: Uuid,
    /// For example "KMR-0042 · Kütüphane giriş".
    pub title: String,
    pub subtitle: Option<String>,
}

/// The geometry of a label sheet, in millimetres, so that it can match the
/// sticker paper in the printer. The default is A4 with 3 × 8 labels of
/// 70 × 37 mm and no margins, the common "24 per sheet" paper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelLayout {
    pub columns: u32,
    pub rows: u32,
    pub label_width_mm: f64,
    pub label_height_mm: f64,
    pub margin_top_mm: f64,
    pub margin_left_mm: f64,
    /// Space between labels side by side and one above the other.
    pub gap_x_mm: f64,
    pub gap_y_mm: f64,
    /// Draws a thin outline around each label, for plain paper cut by hand.
    pub outline: bool,
}

impl Default for LabelLayout {
    fn default() -> Self {
        LabelLayout {
            columns: 3,
            rows: 8,
            label_width_mm: 70.0,
            label_height_mm: 37.0,
            margin_top_mm: 0.5,
            margin_left_mm: 0.0,
            gap_x_mm: 0.0,
            gap_y_mm: 0.0,
            outline: false,
        }
    }
}

impl LabelLayout {
    /// Whether the labels fit on A4 (210 × 297 mm) as laid out; a layout that
    /// does not would spill labels over page breaks in odd places.
    pub fn fits_a4(&self) -> bool {
        let cols = f64::from(self.columns);
        let rows = f64::from(self.rows);
        let width = self.margin_left_mm
            + cols * self.label_width_mm
            + (cols - 1.0).max(0.0) * self.gap_x_mm;
        let height = self.margin_top_mm
            + rows * self.label_height_mm
            + (rows - 1.0).max(0.0) * self.gap_y_mm;
        self.columns > 0
            && self.rows > 0
            && self.label_width_mm > 0.0
            && self.label_height_mm > 0.0
            && self.margin_left_mm >= 0.0
            && self.margin_top_mm >= 0.0
            && self.gap_x_mm >= 0.0
            && self.gap_y_mm >= 0.0
            && width <= 210.0 + 1e-6
            && height <= 297.0 + 1e-6
    }
}
