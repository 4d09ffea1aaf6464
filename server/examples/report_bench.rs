//! Times the survey report of the benchmark and leaves its inputs on disk
//! for the reference tool: run by `xtask/src/bench_reports.rs` as
//!
//! ```text
//! report_bench --pages 20 --photos 40 --runs 5 --out DIR
//! ```
//!
//! It writes `DIR/sample.json` (the report), `DIR/photos/<sha256>.jpg`,
//! `DIR/font.ttf` (DejaVu Sans Mono, the one TrueType font among the
//! embedded ones, for a reference that cannot read OpenType CFF fonts) and
//! `DIR/report.pdf`, then prints one JSON line with the timings.
//!
//! An example rather than a `gozcu` subcommand: the command line belongs to
//! the server's operators, and this is a measuring tool.

use std::{
    fs,
    path::PathBuf,
    process::ExitCode,
    time::{Duration, Instant},
};

use gozcu_server::reports::{report_pdf, sample_survey};
use typst::foundations::Bytes;
use typst::text::{Font, FontStyle, FontWeight};

struct Args {
    pages: usize,
    photos: usize,
    runs: usize,
    out: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        pages: 20,
        photos: 40,
        runs: 5,
        out: PathBuf::from("target/bench/reports"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--pages" => args.pages = number()?,
            "--photos" => args.photos = number()?,
            "--runs" => args.runs = number()?.max(1),
            "--out" => args.out = PathBuf::from(&value),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("report_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let io = |what: &str, e: std::io::Error| format!("{what}: {e}");

    let (report, images) = sample_survey(args.pages, args.photos);
    let photos_dir = args.out.join("photos");
    fs::create_dir_all(&photos_dir).map_err(|e| io("creating the output folder", e))?;
    for (sha, bytes) in &images {
        fs::write(photos_dir.join(format!("{sha}.jpg")), bytes)
            .map_err(|e| io("writing a photo", e))?;
    }
    let json = serde_json::to_vec_pretty(&report).map_err(|e| e.to_string())?;
    fs::write(args.out.join("sample.json"), json).map_err(|e| io("writing sample.json", e))?;
    fs::write(args.out.join("font.ttf"), truetype_font()?)
        .map_err(|e| io("writing font.ttf", e))?;

    // The first render also parses the embedded fonts and builds typst's
    // standard library; it is reported apart from the warm ones, which are
    // what a running server pays per report.
    let mut times = Vec::with_capacity(args.runs + 1);
    let mut pdf = Vec::new();
    for _ in 0..=args.runs {
        // Typst memoises layout across renders, and the module keeps what
        // the last two renders used, so a second render of the same report
        // takes a fraction of the first. A server renders different
        // reports one after the other: empty the cache so that every run
        // does the whole work (fonts and the standard library stay loaded,
        // as they do in a running server).
        typst::comemo::evict(0);
        let start = Instant::now();
        pdf = report_pdf(&report, &images).map_err(|e| e.to_string())?;
        times.push(start.elapsed());
    }
    fs::write(args.out.join("report.pdf"), &pdf).map_err(|e| io("writing report.pdf", e))?;

    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let line = serde_json::json!({
        "pages": args.pages,
        "photos": args.photos,
        "photo_bytes": images.values().map(Vec::len).sum::<usize>(),
        "pdf_bytes": pdf.len(),
        "cold_ms": ms(&times[0]),
        "runs_ms": times[1..].iter().map(ms).collect::<Vec<_>>(),
    });
    println!("{line}");
    Ok(())
}

fn truetype_font() -> Result<&'static [u8], String> {
    typst_assets::fonts()
        .find(|data| {
            Font::new(Bytes::new(*data), 0).is_some_and(|font| {
                let info = font.info();
                info.family == "DejaVu Sans Mono"
                    && info.variant.weight == FontWeight::REGULAR
                    && info.variant.style == FontStyle::Normal
            })
        })
        .ok_or_else(|| "DejaVu Sans Mono is not among the embedded fonts".to_owned())
}
