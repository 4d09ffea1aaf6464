//! Builds the PWA into `target/dist`: the app compiled to wasm32, bound with
//! wasm-bindgen, shrunk with wasm-opt, next to the static files of `public/`.
//! `test`, `run` and `bench` all use this one function, so the tests exercise
//! exactly what is shipped.

use std::{fs, io::Write as _, path::Path, process::Command};

use anyhow::{bail, Context, Result};
use flate2::{write::GzEncoder, Compression};

use crate::{install::PwaTools, util};

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// A separate target directory for wasm32 builds, so that switching between
/// host and wasm builds does not invalidate either's cache of dependencies
/// compiled with different features.
pub const WASM_TARGET_DIR: &str = "target/wasm";
pub const DIST_DIR: &str = "target/dist";
const PROFILE: &str = "wasm-release";
/// wasm-bindgen names its output `<out-name>_bg.wasm`.
const OUT_NAME: &str = "gozcu_app";

/// The WebAssembly features in rustc 1.95's default wasm32 output (LLVM's
/// `generic` CPU). wasm-opt must be told about each one it may keep or
/// rewrite, otherwise it rejects or breaks the module; all of them are
/// supported by every browser the PWA targets.
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-call-indirect-overlong",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
];

/// The built PWA and the size figures the benchmark reports.
#[derive(Debug)]
pub struct Pwa {
    pub wasm_bytes: u64,
    pub wasm_gz_bytes: u64,
}

pub fn build(root: &Path, tools: &PwaTools) -> Result<Pwa> {
    util::run(util::cargo(root).args([
        "build",
        "-p",
        "gozcu-app",
        "--target",
        WASM_TARGET,
        "--profile",
        PROFILE,
        "--target-dir",
        WASM_TARGET_DIR,
    ]))?;
    util::check_interrupted()?;
    let input = root
        .join(WASM_TARGET_DIR)
        .join(WASM_TARGET)
        .join(PROFILE)
        .join(format!("{OUT_NAME}.wasm"));
    if !input.is_file() {
        bail!("the app build did not produce {}", input.display());
    }

    // Start from an empty directory so that files removed from `public/` or
    // renamed by the build do not linger in what the server serves.
    let dist = root.join(DIST_DIR);
    if dist.exists() {
        fs::remove_dir_all(&dist).with_context(|| format!("removing {}", dist.display()))?;
    }
    let pkg = dist.join("pkg");
    fs::create_dir_all(&pkg).with_context(|| format!("creating {}", pkg.display()))?;

    util::run(
        Command::new(&tools.wasm_bindgen)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(&pkg)
            .args(["--out-name", OUT_NAME])
            .arg(&input),
    )?;
    let wasm = pkg.join(format!("{OUT_NAME}_bg.wasm"));
    if !wasm.is_file() {
        bail!("wasm-bindgen did not produce {}", wasm.display());
    }
    let unoptimised = file_len(&wasm)?;

    match &tools.wasm_opt {
        Some(wasm_opt) => optimise(wasm_opt, &wasm)?,
        None => eprintln!("warning: wasm-opt unavailable; shipping the unoptimised module"),
    }

    let public = root.join("public");
    if public.is_dir() {
        copy_dir(&public, &dist)?;
    } else {
        eprintln!(
            "warning: {} does not exist; the PWA has no index.html",
            public.display()
        );
    }

    stamp_service_worker(&dist)?;

    let wasm_bytes = file_len(&wasm)?;
    let wasm_gz_bytes = gzipped_len(&wasm)?;
    println!(
        "PWA in {}: wasm {} KB ({} KB before wasm-opt), {} KB gzipped",
        dist.display(),
        wasm_bytes / 1024,
        unoptimised / 1024,
        wasm_gz_bytes / 1024
    );
    Ok(Pwa {
        wasm_bytes,
        wasm_gz_bytes,
    })
}

/// Files whose change is a new version of the app shell.
const SHELL_FILES: [&str; 5] = [
    "index.html",
    "style.css",
    "sw.js",
    "pkg/gozcu_app.js",
    "pkg/gozcu_app_bg.wasm",
];

/// Replaces the service worker's `VERSION` with a hash of the shell, so every
/// build that changes the app installs a new worker, the open page offers
/// "new version ready", and the old cache is dropped, with nobody having to
/// remember to bump a number.
fn stamp_service_worker(dist: &Path) -> Result<()> {
    // FNV-1a: stable across Rust versions and machines, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for name in SHELL_FILES {
        let path = dist.join(name);
        let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        for b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let sw = dist.join("sw.js");
    let text = fs::read_to_string(&sw).with_context(|| format!("reading {}", sw.display()))?;
    let marker = text
        .lines()
        .find(|l| l.starts_with("const VERSION = "))
        .with_context(|| format!("{} has no `const VERSION = ` line", sw.display()))?;
    let stamped = text.replacen(marker, &format!("const VERSION = \"{hash:016x}\";"), 1);
    fs::write(&sw, stamped).with_context(|| format!("writing {}", sw.display()))
}

/// `wasm-opt -Oz` in place, then a check that the result still compiles in
/// V8 (node's engine, older than any supported Chromium) so that a binaryen
/// regression fails the build instead of blanking the app in the browser.
fn optimise(wasm_opt: &Path, wasm: &Path) -> Result<()> {
    let optimised = wasm.with_extension("opt.wasm");
    util::run(
        Command::new(wasm_opt)
            .arg("-Oz")
            .args(WASM_FEATURES)
            .arg(wasm)
            .arg("-o")
            .arg(&optimised),
    )?;
    if util::which("node").is_some() {
        let script = "const bytes = require('fs').readFileSync(process.argv[1]); new WebAssembly.Module(bytes);";
        util::run(Command::new("node").args(["-e", script]).arg(&optimised)).with_context(
            || {
                format!(
                    "the module optimised by wasm-opt ({}) does not compile in V8",
                    optimised.display()
                )
            },
        )?;
    }
    fs::rename(&optimised, wasm).with_context(|| format!("replacing {}", wasm.display()))
}

fn file_len(path: &Path) -> Result<u64> {
    Ok(fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len())
}

/// The size of the file gzipped at the best level, as a server with
/// precompressed assets would send it.
pub fn gzipped_len(path: &Path) -> Result<u64> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&bytes)?;
    Ok(gz.finish()?.len() as u64)
}

/// Copies `from`'s contents into `to`, recursively.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target).with_context(|| {
                format!("copying {} to {}", entry.path().display(), target.display())
            })?;
        }
    }
    Ok(())
}
