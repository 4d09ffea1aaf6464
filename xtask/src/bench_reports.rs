//! The PDF report benchmark: a 20-page site survey with 40 photos of
//! 1600 × 1200, typeset by the server's report module, against the same
//! document built with ReportLab (Python) in the same run on the same
//! machine.
//!
//! The server side runs as `gozcu-server`'s `report_bench` example, built in
//! release mode, so that xtask does not depend on the server crate: xtask
//! must still build when the server does not. The example writes the sample
//! report as JSON with its photos and a TrueType font, and the reference
//! script reads exactly those, so both tools lay out the same text and embed
//! the same JPEG files. Both time several renders in one process and report
//! the first (cold: fonts parsed, libraries loaded) apart from the median of
//! the rest, which is what a running server pays per report.
//!
//! ReportLab is installed from PyPI into a virtual environment under
//! `target/`; when that fails (no python3, no network to PyPI), the
//! reference is reported as unavailable with the reason and the server's
//! figures still stand.

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{ensure, Context, Result};
use serde_json::Value;

use crate::util::{self, cargo};

pub const PAGES: usize = 20;
pub const PHOTOS: usize = 40;
/// Timed renders after the cold one, on each side.
pub const RUNS: usize = 5;
/// Pinned so that the reference does not move between runs of the benchmark.
const REPORTLAB: &str = "reportlab==5.1.0";

/// The timings of one tool, in milliseconds.
#[derive(Debug, Clone)]
pub struct Timing {
    pub cold_ms: f64,
    pub median_ms: f64,
    pub min_ms: f64,
    pub max_ms: f64,
    pub pdf_bytes: u64,
}

impl Timing {
    fn from_json(v: &Value) -> Result<Timing> {
        let mut runs: Vec<f64> = v["runs_ms"]
            .as_array()
            .context("no runs_ms")?
            .iter()
            .filter_map(Value::as_f64)
            .collect();
        ensure!(!runs.is_empty(), "no timed runs");
        runs.sort_by(f64::total_cmp);
        Ok(Timing {
            cold_ms: v["cold_ms"].as_f64().context("no cold_ms")?,
            median_ms: runs[runs.len() / 2],
            min_ms: runs[0],
            max_ms: runs[runs.len() - 1],
            pdf_bytes: v["pdf_bytes"].as_u64().context("no pdf_bytes")?,
        })
    }

    fn show(&self) -> String {
        format!(
            "{:.0} ms ({:.0}–{:.0}; first {:.0} ms), {:.1} MB",
            self.median_ms,
            self.min_ms,
            self.max_ms,
            self.cold_ms,
            self.pdf_bytes as f64 / 1e6
        )
    }
}

#[derive(Debug)]
pub struct ReportBench {
    pub gozcu: Timing,
    /// ReportLab's timing, or why it could not be measured.
    pub reference: Result<Timing, String>,
    /// The JPEG files' total size, which both PDFs embed as they are.
    pub photo_bytes: u64,
}

impl ReportBench {
    /// Gözcü's median over the reference's: below 1 means faster.
    pub fn ratio(&self) -> Option<f64> {
        self.reference
            .as_ref()
            .ok()
            .map(|r| self.gozcu.median_ms / r.median_ms)
    }

    pub fn console(&self) -> String {
        let mut out = format!(
            "survey report, {PAGES} pages, {PHOTOS} photos ({:.1} MB of JPEG):\n  gozcu (typst):       {}\n",
            self.photo_bytes as f64 / 1e6,
            self.gozcu.show()
        );
        match &self.reference {
            Ok(r) => {
                let ratio = self.gozcu.median_ms / r.median_ms;
                let _ = writeln!(
                    out,
                    "  reference ReportLab: {}\n  ratio: {ratio:.2}×",
                    r.show()
                );
            }
            Err(e) => {
                let _ = writeln!(out, "  reference ReportLab: unavailable ({e})");
            }
        }
        out
    }

    /// A table row for `docs/benchmarks.md`, in the format of its other rows:
    /// figure | Gözcü | reference | ratio.
    pub fn markdown_row(&self) -> String {
        let reference = match &self.reference {
            Ok(r) => format!(
                "ReportLab {}: {}",
                REPORTLAB.trim_start_matches("reportlab=="),
                r.show()
            ),
            Err(e) => format!("ReportLab unavailable: {}", e.replace('|', "/")),
        };
        let ratio = self
            .ratio()
            .map_or_else(|| "—".to_owned(), |r| format!("{r:.2}×"));
        format!(
            "| PDF survey report, {PAGES} pages, {PHOTOS} photos 1600×1200 (median of {RUNS}) | {} | {reference} | {ratio} |",
            self.gozcu.show()
        )
    }
}

/// Builds and runs both sides; `work` is a scratch folder (its `reports/`
/// subfolder is replaced).
pub fn run(root: &Path, work: &Path) -> Result<ReportBench> {
    let dir = work.join("reports");
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;

    util::run(cargo(root).args([
        "build",
        "--release",
        "-p",
        "gozcu-server",
        "--example",
        "report_bench",
    ]))?;
    let example = root.join("target/release/examples/report_bench");
    let out = util::output(Command::new(&example).args([
        "--pages".as_ref(),
        PAGES.to_string().as_ref(),
        "--photos".as_ref(),
        PHOTOS.to_string().as_ref(),
        "--runs".as_ref(),
        RUNS.to_string().as_ref(),
        "--out".as_ref(),
        dir.as_os_str(),
    ]))?;
    let gozcu_json: Value =
        serde_json::from_str(out.trim()).context("report_bench printed invalid JSON")?;
    let gozcu = Timing::from_json(&gozcu_json)?;
    let photo_bytes = gozcu_json["photo_bytes"].as_u64().unwrap_or(0);

    let reference = reportlab(root, &dir).map_err(|e| {
        eprintln!("warning: ReportLab reference: {e:#}");
        format!("{e:#}")
    });
    Ok(ReportBench {
        gozcu,
        reference,
        photo_bytes,
    })
}

/// ReportLab in a virtual environment under `target/`, created on first use.
fn reportlab(root: &Path, dir: &Path) -> Result<Timing> {
    ensure!(util::which("python3").is_some(), "python3 is not installed");
    let venv = root.join("target/bench-venv");
    let python: PathBuf = venv.join("bin/python");
    if !python.exists() {
        util::run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    util::run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        REPORTLAB,
    ]))?;
    let script = dir.join("reference.py");
    fs::write(&script, REFERENCE_PY).with_context(|| format!("writing {}", script.display()))?;
    let out = util::output(
        Command::new(&python)
            .arg(&script)
            .arg(dir)
            .arg(RUNS.to_string()),
    )?;
    let v: Value =
        serde_json::from_str(out.trim()).context("the reference printed invalid JSON")?;
    Timing::from_json(&v)
}

/// The survey in ReportLab's Platypus, laid out like the built-in typst
/// template: header with institution, unit, document number and date on
/// every page, "Sayfa X / Y" footer (which takes ReportLab a second pass over
/// the pages, as it takes typst), facts table, sections of answers with
/// amendments, a two-column photo grid with captions, conclusion and
/// signature blocks. A TrueType font is embedded and subset, as typst does.
const REFERENCE_PY: &str = r#"
import io, json, os, sys, time
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (Image, KeepTogether, Paragraph, SimpleDocTemplate,
                                Spacer, Table, TableStyle)
from xml.sax.saxutils import escape

work, runs = sys.argv[1], int(sys.argv[2])
with open(os.path.join(work, "sample.json"), encoding="utf-8") as f:
    data = json.load(f)

def build():
    pdfmetrics.registerFont(TTFont("Body", os.path.join(work, "font.ttf")))
    # The monospaced font is wider than typst's serif: at 8.5 pt the same
    # text takes 24 pages against typst's 20.
    body = ParagraphStyle("body", fontName="Body", fontSize=8.5, leading=11)
    small = ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=colors.grey)
    h1 = ParagraphStyle("h1", parent=body, fontSize=14, leading=18, alignment=1, spaceAfter=12)
    h2 = ParagraphStyle("h2", parent=body, fontSize=11.5, leading=15, spaceBefore=10, spaceAfter=5)
    center = ParagraphStyle("center", parent=body, alignment=1)
    h = data["header"]
    y, m, d = h["date"].split("-")
    date = f"{d}.{m}.{y}"
    P = lambda text, style=body: Paragraph(escape(text), style)
    grid = TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                       ("VALIGN", (0, 0), (-1, -1), "TOP")])

    class NumberedCanvas(canvas.Canvas):
        # Keeps every page until the end, so that "Sayfa X / Y" knows Y.
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._saved = []
        def showPage(self):
            self._saved.append(dict(self.__dict__))
            self._startPage()
        def save(self):
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                self.setFont("Body", 8.5)
                self.drawString(2 * cm, 1.4 * cm, h["document_no"] + " · " + (h.get("footer") or ""))
                self.drawRightString(A4[0] - 2 * cm, 1.4 * cm, f"Sayfa {self._pageNumber} / {total}")
                super().showPage()
            super().save()

    def page_header(c, doc):
        c.saveState()
        c.setFont("Body", 12)
        c.drawString(2 * cm, A4[1] - 1.6 * cm, h["institution"])
        c.setFont("Body", 10)
        c.drawString(2 * cm, A4[1] - 2.1 * cm, h["unit"])
        c.setFont("Body", 9)
        c.drawRightString(A4[0] - 2 * cm, A4[1] - 1.6 * cm, "Belge No: " + h["document_no"])
        c.drawRightString(A4[0] - 2 * cm, A4[1] - 2.1 * cm, "Tarih: " + date)
        c.line(2 * cm, A4[1] - 2.4 * cm, A4[0] - 2 * cm, A4[1] - 2.4 * cm)
        c.restoreState()

    story = [P("KEŞİF TUTANAĞI", h1)]
    facts = [("Yerleşke / Saha", data["site"]), ("Konum", data.get("location")),
             ("Talep Eden Birim", data["requesting_unit"]), ("Keşif Tarihi", data["surveyed_at"]),
             ("Keşfe Katılanlar", ", ".join(data["participants"]))]
    story.append(Table([[P(k), P(v)] for k, v in facts if v], colWidths=[5.5 * cm, 11.5 * cm], style=grid))
    for section in data["sections"]:
        story.append(P(section["title"], h2))
        rows = []
        for a in section["answers"]:
            cell = [P(a["value_text"])]
            if a.get("amended"):
                am = a["amended"]
                cell.append(P(f'Değiştirildi: önceki değer "{am["old"]}"; gerekçe: {am["reason"]} ({am["by"]}, {am["at"]})', small))
            rows.append([P(a["label"]), cell])
        story.append(Table(rows, colWidths=[6 * cm, 11 * cm], style=grid))
    if data["photos"]:
        story.append(P("Fotoğraflar", h2))
        cells = []
        for p in data["photos"]:
            img = Image(os.path.join(work, "photos", p["sha256"] + ".jpg"), width=8 * cm, height=6 * cm, kind="proportional")
            cells.append([img, P(p["caption"], center)])
        rows = [cells[i:i + 2] + ([[""]] if len(cells[i:i + 2]) == 1 else []) for i in range(0, len(cells), 2)]
        story.append(Table(rows, colWidths=[8.5 * cm, 8.5 * cm]))
    if data.get("conclusion"):
        story.append(KeepTogether([P("Sonuç ve Öneri", h2), P(data["conclusion"])]))
    sigs = [[P(s["role_label"], center), Spacer(1, 2 * cm),
             P("Adı Soyadı: " + (s.get("signer") or "")), P("Tarih / Saat: " + (s.get("signed_at") or ""))]
            for s in data["signatures"]]
    if sigs:
        story.append(Spacer(1, 12))
        story.append(KeepTogether(Table([sigs], colWidths=[17 * cm / len(sigs)] * len(sigs), style=grid)))

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm,
                            topMargin=3.4 * cm, bottomMargin=2.2 * cm, title="KEŞİF TUTANAĞI")
    doc.build(story, onFirstPage=page_header, onLaterPages=page_header, canvasmaker=NumberedCanvas)
    return out.getvalue()

times = []
for _ in range(runs + 1):
    start = time.perf_counter()
    pdf = build()
    times.append((time.perf_counter() - start) * 1000)
with open(os.path.join(work, "reference.pdf"), "wb") as f:
    f.write(pdf)
print(json.dumps({"cold_ms": times[0], "runs_ms": times[1:], "pdf_bytes": len(pdf)}))
"#;
